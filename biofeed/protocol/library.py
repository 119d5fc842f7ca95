"""The built-in protocol library: the top-level ``protocols/`` folder.

In the source tree ``biofeed/protocol/builtin`` is a symlink to ``protocols/``; the wheel ships
the files as the package data ``biofeed/protocol/builtin/*.toml``. A protocol is named by its
file stem (``attachment-stress``) or given as a path to any ``.toml`` file.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from .loader import ProtocolError, ProtocolTemplate, read_template
from .schedule import Protocol


def library_dir() -> Path:
    """Folder of the built-in protocol files."""
    return Path(str(resources.files("biofeed.protocol") / "builtin"))


def library_names() -> list[str]:
    """Names of the built-in protocols, sorted."""
    return sorted(p.stem for p in library_dir().glob("*.toml"))


def resolve(name_or_path: str | Path) -> Path:
    """The file of a built-in protocol name, or the given path when it is a file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return path
    candidate = library_dir() / f"{name_or_path}.toml"
    if not candidate.is_file():
        raise ProtocolError(f"no built-in protocol {str(name_or_path)!r}; built-in: "
                            f"{', '.join(library_names())} (or give a path to a .toml file)")
    return candidate


def template(name_or_path: str | Path) -> ProtocolTemplate:
    """The validated template of a protocol name or file."""
    return read_template(resolve(name_or_path))


def load(name_or_path: str | Path, seed: int | None = None) -> Protocol:
    """A protocol by name or path, blocks ordered by ``seed`` (drawn and recorded when None)."""
    return template(name_or_path).build(seed)
