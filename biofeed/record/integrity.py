"""Checking a session file as it is read: the CRC of every row (schema 2,
:mod:`biofeed.record.schema`), the file's length against its SQLite header, and SQLite's own
errors, each reported as a :class:`Damage` instead of a traceback or silently different numbers.

A damaged chunk is left out of its stream (a gap where it was), a damaged event or metadata
row is left out, and what stays is exactly what was written.
"""
from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

#: Bytes of the SQLite file header read for the length check.
_HEADER = 100


@dataclass(frozen=True)
class Damage:
    """A part of a session file that failed its check.

    Attributes
    ----------
    where : str
        ``"file"``, ``"meta"``, ``"streams"``, ``"events"`` or ``"stream <name>"``.
    start_s, end_s : float
        Session seconds the damaged part covers (NaN when unknown, ``end_s`` NaN to the end).
    what : str
        What failed, e.g. ``"chunks 12-13 fail their CRC"``.
    """

    where: str
    start_s: float
    end_s: float
    what: str


def damage_table(damage: list[Damage]) -> pd.DataFrame:
    """Damage reports as a table: ``where``, ``start_s``, ``end_s``, ``what``."""
    return pd.DataFrame([(d.where, d.start_s, d.end_s, d.what) for d in damage],
                        columns=["where", "start_s", "end_s", "what"])


def truncation(path: Path) -> Damage | None:
    """A report when the file is shorter than its SQLite header says (a cut-off copy or a
    truncated disk write; SQLite itself reads the missing pages as zeros), else None. Not
    checked while a ``-wal`` file is beside it (the database size there is the WAL's), nor for
    a file that is no SQLite file."""
    if path.with_name(path.name + "-wal").exists():
        return None
    with open(path, "rb") as f:
        head = f.read(_HEADER)
    if len(head) < _HEADER or not head.startswith(b"SQLite format 3\x00"):
        return None                    # not a SQLite file at all: opening it says so
    page, pages = _geometry(head)
    size = path.stat().st_size
    if page and pages and size * MAX_PADDING + (1 << 20) < page * pages:
        return Damage("file", math.nan, math.nan, f"the header says {page * pages} bytes, the "
                      f"file has {size}: its header is damaged (or the file was cut to a sliver)")
    if page and pages and size < page * pages:
        return Damage("file", math.nan, math.nan, f"{page * pages - size} bytes missing at the end "
                      f"(the header says {pages} pages of {page} bytes)")
    return None


#: A header claiming more than this many times the file's bytes is taken as damaged, not the
#: file as truncated (padding it would need that much memory).
MAX_PADDING = 16


def _geometry(head: bytes) -> tuple[int, int]:
    """Page size (bytes) and page count of a SQLite header; ``(0, 0)`` when the page size is
    not one SQLite writes (a power of two, 512-65536)."""
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    if page < 512 or page & (page - 1):
        return 0, 0
    return page, int.from_bytes(head[28:32], "big")


def padded(path: Path) -> bytes:
    """The file's bytes, zero-padded to the length its SQLite header states, marked as a
    rollback-journal database (bytes 18-19; an in-memory image cannot be in WAL mode, and
    there is no WAL file beside it)."""
    data = bytearray(path.read_bytes())
    if len(data) < _HEADER:
        return bytes(data)
    page, pages = _geometry(bytes(data[:_HEADER]))
    data[18:20] = b"\x01\x01"
    return bytes(data) + bytes(max(0, page * pages - len(data)))


def structure(path: Path, limit: int = 20) -> list[Damage]:
    """SQLite's own check of the file's structure (``PRAGMA integrity_check``: pages, indexes,
    free lists), up to ``limit`` problems."""
    from urllib.parse import quote

    try:
        con = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
        try:
            found = [r[0] for r in con.execute(f"PRAGMA integrity_check({int(limit)})")]
        finally:
            con.close()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        return [Damage("file", math.nan, math.nan, f"SQLite cannot check it: {exc}")]
    return [Damage("file", math.nan, math.nan, f"SQLite: {text}") for text in found if text != "ok"]


def rows(con: sqlite3.Connection, sql: str, args: tuple, where: str,
         damage: list[Damage]) -> Iterator[tuple]:
    """The rows of a query; a SQLite error (a damaged page) ends them with a report in ``damage``."""
    try:
        for row in con.execute(sql, args):
            yield row
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:    # a damaged page or schema text
        damage.append(Damage(where, math.nan, math.nan, f"rows unreadable from here on (SQLite: {exc})"))


def runs(seqs: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs ``(first, last)`` of sorted integers."""
    out: list[tuple[int, int]] = []
    for s in seqs:
        if out and s == out[-1][1] + 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out
