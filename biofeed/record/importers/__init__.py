"""Importers of other tools' recordings, one module a format; each returns a
:class:`~biofeed.record.reader.Recording` held in memory that ``biofeed analyze`` accepts.

:func:`importer_for` recognises the format from the file's content (its first bytes and
lines), the name only where the content cannot tell; :func:`biofeed.read` uses it.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from ..reader import Recording
from .common import FormatError

Importer = Callable[..., Recording]

#: Bytes read to recognise a format.
HEAD_BYTES = 8192

_SQLITE = b"SQLite format 3\x00"
_GZIP = b"\x1f\x8b"
_ZIP = b"PK\x03\x04"
#: The first line of a WFDB record header: name[/segments] signals [rate[/counter[(base)]] [length ...]]
_WFDB_RECORD_LINE = re.compile(r"^[A-Za-z0-9_.-]+(/\d+)?\s+\d+(\s+[\d.]+(/[\d.]+)?(\([\d.+-]+\))?)?(\s|$)")

#: What :func:`importer_for` recognises, for error messages.
KNOWN = ("a biofeed session file, WFDB (.hea), EDF/EDF+/BDF(+), XDF, BIDS physio "
         "(*_physio.tsv.gz or a dataset folder), an Empatica E4 folder or .zip, OpenSignals text, "
         "Polar Sensor Logger text, plain RR-interval text, or a CSV/TSV table")


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES)


def _text_lines(head: bytes) -> list[str] | None:
    """The head's lines when it is text (no NUL byte, decodes as UTF-8 or Latin-1), else None."""
    if b"\x00" in head:
        return None
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    lines = text.splitlines()
    if len(head) == HEAD_BYTES and lines:
        lines = lines[:-1]            # the last line may be cut
    return lines


def _table_header(line: str) -> bool:
    """Whether ``line`` is the header of a table the CSV importer reads: it names a time column
    (``time_s``, as biofeed's CSV export writes, or ``time``)."""
    from .table import TIME_COLUMNS
    return bool(set(re.split(r"[,;\t]", line.strip().lower())) & set(TIME_COLUMNS))


def _importer(name: str) -> Importer:
    """The importer function of the module ``name`` (imported when needed)."""
    if name == "wfdb":
        from .wfdb import read_wfdb as fn
    elif name == "edf":
        from .edf import read_edf as fn
    elif name == "xdf":
        from .xdf import read_xdf as fn
    elif name == "bids":
        from .bids import read_bids as fn
    elif name == "empatica":
        from .empatica import read_empatica as fn
    elif name == "opensignals":
        from .opensignals import read_opensignals as fn
    elif name == "polar":
        from .polar import read_polar as fn
    elif name == "rrtext":
        from .rrtext import read_rr_text as fn
    else:
        from .table import read_table as fn
    return fn


def format_of(path: Path) -> str | None:
    """The format of ``path`` by its content: ``"session"`` for a biofeed session file, or the
    importer module's name (``wfdb``, ``edf``, ``xdf``, ``bids``, ``empatica``,
    ``opensignals``, ``polar``, ``rrtext``, ``table``); None when it is none of them.

    A folder is a BIDS dataset when it holds ``dataset_description.json`` or physio files, an
    Empatica E4 export otherwise. A file is recognised by its magic bytes (SQLite, XDF
    ``XDF:``, EDF ``0`` + 7 spaces, BDF ``\\xffBIOSEMI``, gzip for BIDS physio, zip for E4),
    else by its first text lines: OpenSignals' and Polar Sensor Logger's header lines, a WFDB
    record line, lines of one or two numbers (RR intervals; with a header naming an interval,
    not a table's time column), or delimited columns (a table).
    A WFDB signal or annotation file (``.dat``, ``.atr``, ...) is read through the header
    beside it.
    """
    if path.is_dir():
        from .bids import is_dataset
        return "bids" if is_dataset(path) else "empatica"
    head = _head(path)
    if head.startswith(_SQLITE):
        return "session"
    if head.startswith(b"XDF:"):
        return "xdf"
    if head.startswith(b"0       ") or head.startswith(b"\xffBIOSEMI"):
        return "edf"
    if head.startswith(_GZIP):
        return "bids" if path.name.lower().endswith("_physio.tsv.gz") else None
    if head.startswith(_ZIP):
        return "empatica"
    if path.with_suffix(".hea").is_file():
        return "wfdb"
    lines = _text_lines(head)
    if lines is None:
        return None
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("# OpenSignals"):
        return "opensignals"
    from . import polar, rrtext
    if polar.sniff(first):
        return "polar"
    records = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if records and _WFDB_RECORD_LINE.match(records[0]) and not rrtext.sniff(lines):
        return "wfdb"
    if rrtext.sniff(lines) and not _table_header(first):
        return "rrtext"
    if first and any(sep in first for sep in (",", "\t", ";")):
        return "table"
    return None


def importer_for(path: Path) -> Importer | None:
    """The importer of ``path`` (:func:`format_of`), or None for a biofeed session file.

    A path that does not exist gets the importer its name suggests, which says so; a file of
    no known format raises :class:`FormatError` naming what it starts with and what was expected.
    """
    if not path.exists():
        if path.suffix.lower() == ".txt":
            raise FormatError(f"{path}: no such file")
        return _by_name(path)
    try:
        fmt = format_of(path)
    except OSError as exc:
        raise FormatError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if fmt == "session" or (fmt is None and path.suffix.lower() == ".biofeed"):
        return None                   # the session reader says what is wrong with the file
    if fmt is None:
        named = _by_name(path)
        if named is not None:         # its content is not what its name says: let it say so
            return named
        start = _head(path)[:24] if path.is_file() else b""
        raise FormatError(f"{path}: not a recording biofeed reads (it starts with {start!r}); "
                          f"expected {KNOWN}")
    return _importer(fmt)


def _by_name(path: Path) -> Importer | None:
    """The importer a name suggests, for a file whose content says nothing (a missing file, a
    one-column table) or something else (its importer's error then names what is wrong)."""
    name, suffix = path.name.lower(), path.suffix.lower()
    if name.endswith("_physio.tsv.gz"):
        return _importer("bids")
    by_suffix = {".hea": "wfdb", ".edf": "edf", ".bdf": "edf", ".xdf": "xdf", ".zip": "empatica",
                 ".csv": "table", ".tsv": "table"}
    return _importer(by_suffix[suffix]) if suffix in by_suffix else None
