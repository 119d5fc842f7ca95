"""Rows read straight from the B-tree pages of a session file, past damaged interior pages.

When an interior page of a table's B-tree is damaged, SQLite cannot reach the intact pages
under it, though their rows are still in the file. Like the ``.recover`` command of the
``sqlite3`` shell, :func:`recover` scans every page of the file, parses the cells of the pages
that hold rows and decodes their records, following the SQLite file format (SQLite
documentation, "Database File Format", sections 1.3, 1.6 and 2.1):

* table leaf pages (type 0x0D) hold the rows of rowid tables (``events``, ``streams``,
  ``meta``);
* index pages (leaf 0x0A, interior 0x02) hold the rows of ``WITHOUT ROWID`` tables
  (``chunks``): there every row is a key, stored once, on a leaf or an interior page.

Only rows whose CRC (:mod:`biofeed.record.schema`) holds are kept, so nothing is read as other
numbers. Pages on the free list are skipped (they may hold rows since replaced). Every
check is defensive: a damaged page, cell, record or overflow chain yields no rows, never an
exception.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterator

from .schema import chunk_crc, row_crc

_MAGIC = b"SQLite format 3\x00"
_TABLE_LEAF, _INDEX_LEAF, _INDEX_INTERIOR = 0x0D, 0x0A, 0x02
#: Bytes a record (payload) may have at most: larger sizes are a damaged cell.
MAX_PAYLOAD = 1 << 28


@dataclass
class Recovered:
    """Rows recovered from the pages of a session file.

    Attributes
    ----------
    pages : int
        Pages scanned.
    chunks : dict
        ``(stream_id, seq)`` -> ``(stream_id, seq, t0, n, timestamps, vals)``, ``t0`` in
        session seconds, rows whose CRC holds.
    events : dict
        ``id`` -> ``(id, onset, duration, label, kind, payload)``, onset and duration in
        session seconds, rows whose CRC holds.
    streams : dict
        ``id`` -> ``(id, name, kind, unit, rate, channels, device, derived)``, rate in Hz,
        rows whose CRC holds.
    meta : dict
        ``key`` -> ``(key, value)``, value JSON text, rows whose CRC holds.
    """

    pages: int = 0
    chunks: dict = field(default_factory=dict)
    events: dict = field(default_factory=dict)
    streams: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


def geometry(data: bytes) -> tuple[int, int]:
    """Page size and usable size (bytes) from a SQLite header; ``(0, 0)`` when it is none."""
    if len(data) < 100 or not data.startswith(_MAGIC):
        return 0, 0
    page = int.from_bytes(data[16:18], "big")
    page = 65536 if page == 1 else page
    if page < 512 or page & (page - 1):
        return 0, 0
    usable = page - data[20]
    return (page, usable) if usable >= 480 else (0, 0)


def varint(buf: bytes, at: int, end: int) -> tuple[int, int] | None:
    """A SQLite varint (1-9 bytes, big-endian, 7 bits a byte, all 8 of the 9th) at ``at``
    before ``end``: ``(value, next offset)``, or None when it runs past ``end``."""
    value = 0
    for i in range(9):
        if at + i >= end:
            return None
        b = buf[at + i]
        if i == 8:
            return (value << 8) | b, at + 9
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, at + i + 1
    return None                                        # not reached


_INT_BYTES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def record(payload: bytes) -> list | None:
    """The fields of a SQLite record (header-size varint, serial types, values), or None when
    it does not parse exactly."""
    head = varint(payload, 0, len(payload))
    if head is None or not head[1] <= head[0] <= len(payload):
        return None
    size, at = head
    types = []
    while at < size:
        got = varint(payload, at, size)
        if got is None:
            return None
        types.append(got[0])
        at = got[1]
    fields, at = [], size
    for t in types:
        if t in _INT_BYTES:
            n = _INT_BYTES[t]
            if at + n > len(payload):
                return None
            fields.append(int.from_bytes(payload[at:at + n], "big", signed=True))
            at += n
        elif t == 0:
            fields.append(None)
        elif t == 7:
            if at + 8 > len(payload):
                return None
            fields.append(struct.unpack(">d", payload[at:at + 8])[0])
            at += 8
        elif t in (8, 9):
            fields.append(t - 8)
        elif t >= 12:
            n = (t - 12) // 2
            if at + n > len(payload):
                return None
            blob = bytes(payload[at:at + n])
            fields.append(blob if t % 2 == 0 else blob.decode("utf-8", "surrogateescape"))
            at += n
        else:                                          # 10, 11: reserved
            return None
    return fields if at == len(payload) else None


def _payload(data: bytes, at: int, end: int, size: int, max_local: int, page: int,
             usable: int, pages: int) -> bytes | None:
    """A cell's payload of ``size`` bytes whose local part starts at ``at`` (before ``end``,
    the page's end), followed along its overflow chain; None when it does not fit."""
    if size > MAX_PAYLOAD or size > pages * usable:
        return None
    min_local = (usable - 12) * 32 // 255 - 23
    if size <= max_local:
        local = size
    else:
        k = min_local + (size - min_local) % (usable - 4)
        local = k if k <= max_local else min_local
    if at + local > end:
        return None
    out = bytearray(data[at:at + local])
    if local == size:
        return bytes(out)
    if at + local + 4 > end:
        return None
    nxt = int.from_bytes(data[at + local:at + local + 4], "big")
    seen: set[int] = set()
    while len(out) < size:
        if not 1 <= nxt <= pages or nxt in seen:
            return None                                # off the file, or a loop
        seen.add(nxt)
        base = (nxt - 1) * page
        take = min(usable - 4, size - len(out))
        out += data[base + 4:base + 4 + take]
        nxt = int.from_bytes(data[base:base + 4], "big")
    return bytes(out)


def page_cells(data: bytes, pgno: int, page: int, usable: int,
               pages: int) -> Iterator[tuple[int, int | None, list]]:
    """The decoded records on page ``pgno`` (1-based) as ``(page type, rowid or None,
    fields)``; cells that do not parse are left out."""
    base = (pgno - 1) * page
    hdr = base + (100 if pgno == 1 else 0)
    end = base + usable
    if end > len(data) or hdr + 8 > end:
        return
    kind = data[hdr]
    if kind == _TABLE_LEAF:
        max_local, head = usable - 35, 8
    elif kind in (_INDEX_LEAF, _INDEX_INTERIOR):
        max_local, head = (usable - 12) * 64 // 255 - 23, 8 if kind == _INDEX_LEAF else 12
    else:
        return
    ncells = int.from_bytes(data[hdr + 3:hdr + 5], "big")
    if hdr + head + 2 * ncells > end:
        return
    for i in range(ncells):
        ptr = int.from_bytes(data[hdr + head + 2 * i:hdr + head + 2 * i + 2], "big")
        at = base + ptr
        if not hdr + head + 2 * ncells <= at < end:
            continue                                   # a pointer off the cell area
        if kind == _INDEX_INTERIOR:
            at += 4                                    # the left child's page number
        got = varint(data, at, end)
        if got is None:
            continue
        size, at = got
        rowid = None
        if kind == _TABLE_LEAF:
            got = varint(data, at, end)
            if got is None:
                continue
            rowid, at = got
        payload = _payload(data, at, end, size, max_local, page, usable, pages)
        fields = record(payload) if payload is not None else None
        if fields is not None:
            yield kind, rowid, fields


def _free_pages(data: bytes, page: int, pages: int) -> set[int]:
    """The pages on the free list (trunk and leaf pages), as far as it reads."""
    free: set[int] = set()
    trunk = int.from_bytes(data[32:36], "big")
    while 1 <= trunk <= pages and trunk not in free:
        free.add(trunk)
        base = (trunk - 1) * page
        count = int.from_bytes(data[base + 4:base + 8], "big")
        for i in range(min(count, page // 4 - 2)):
            leaf = int.from_bytes(data[base + 8 + 4 * i:base + 12 + 4 * i], "big")
            if 1 <= leaf <= pages:
                free.add(leaf)
        trunk = int.from_bytes(data[base:base + 4], "big")
    return free


def _real(v):
    """A REAL column's value as read back (SQLite stores integral reals as integers)."""
    return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


def _as_chunk(fields: list) -> tuple | None:
    """A chunks row ``(stream_id, seq, t0, n, timestamps, vals)`` whose CRC holds, else None."""
    if len(fields) != 7 or not all(isinstance(fields[i], int) for i in (0, 1, 3, 6)):
        return None
    row = (fields[0], fields[1], _real(fields[2]), fields[3], fields[4], fields[5])
    if not isinstance(row[2], float) or not isinstance(row[5], bytes):
        return None
    return row if chunk_crc(*row) == fields[6] else None


def _as_event(rowid: int | None, fields: list) -> tuple | None:
    """An events row ``(id, onset, duration, label, kind, payload)`` whose CRC holds, else None."""
    if len(fields) != 7 or rowid is None or not isinstance(fields[6], int):
        return None
    eid = rowid if fields[0] is None else fields[0]     # INTEGER PRIMARY KEY is the rowid
    row = (eid, _real(fields[1]), _real(fields[2]), *fields[3:6])
    if not (isinstance(row[1], float) and isinstance(row[2], float)
            and all(isinstance(v, str) for v in row[3:])):
        return None
    return row if row_crc(*row) == fields[6] else None


def _as_stream(rowid: int | None, fields: list) -> tuple | None:
    """A streams row ``(id, name, kind, unit, rate, channels, device, derived)`` whose CRC
    holds, else None."""
    if len(fields) != 9 or rowid is None or not isinstance(fields[8], int):
        return None
    sid = rowid if fields[0] is None else fields[0]     # INTEGER PRIMARY KEY is the rowid
    row = (sid, *fields[1:4], _real(fields[4]), *fields[5:8])
    if not (all(isinstance(v, str) for v in (*row[1:4], *row[5:7])) and isinstance(row[4], float)
            and isinstance(row[7], int)):
        return None
    return row if row_crc(*row) == fields[8] else None


def _as_meta(fields: list) -> tuple | None:
    """A meta row ``(key, value)`` whose CRC holds, else None."""
    if len(fields) != 3 or not (isinstance(fields[0], str) and isinstance(fields[1], str)
                                and isinstance(fields[2], int)):
        return None
    return tuple(fields[:2]) if row_crc(*fields[:2]) == fields[2] else None


def recover(data: bytes) -> Recovered:
    """Every chunks, events, streams and meta row on the pages of ``data`` (a session file's
    bytes) whose CRC holds. A key found twice with different rows is left out (which one is right is not known)."""
    out = Recovered()
    page, usable = geometry(data)
    if not page:
        return out
    pages = len(data) // page
    free = _free_pages(data, page, pages)
    found: dict[str, dict] = {"chunks": {}, "events": {}, "streams": {}, "meta": {}}
    for pgno in range(1, pages + 1):
        if pgno in free:
            continue
        out.pages += 1
        for kind, rowid, fields in page_cells(data, pgno, page, usable, pages):
            if kind == _TABLE_LEAF:
                for table, row in (("events", _as_event(rowid, fields)),
                                   ("streams", _as_stream(rowid, fields)),
                                   ("meta", _as_meta(fields))):
                    if row is not None:
                        found[table].setdefault(row[0], set()).add(row)
            else:
                row = _as_chunk(fields)
                if row is not None:
                    found["chunks"].setdefault(row[:2], set()).add(row)
    for table, rows_of in found.items():
        setattr(out, table, {key: next(iter(rows)) for key, rows in rows_of.items() if len(rows) == 1})
    return out
