"""Files of health data: created readable and writable by their owner only (0600, whatever the
umask) and never over an existing file."""
from __future__ import annotations

import os
from pathlib import Path
from typing import IO


def create_private(path: Path, if_exists: str, binary: bool = False) -> IO:
    """A new file at ``path``, open for writing (text: UTF-8, newlines as written).

    Raises ``FileExistsError`` naming ``path`` and saying ``if_exists`` (what to do instead)
    when a file is there already.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        raise FileExistsError(f"{path}: exists already; {if_exists}") from None
    os.fchmod(fd, 0o600)  # whatever the umask
    return os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
