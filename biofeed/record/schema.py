"""The session file format: one SQLite file per session (suffix ``.biofeed``).

SQLite serves as the application file format (single file, atomic commits, no "save" step).
The file runs in WAL mode with ``synchronous=NORMAL`` while it is recorded: every committed
transaction survives a crash or ``kill -9`` of the recording process, and a crash never
corrupts the file. A clean close leaves WAL mode, so a closed session is a single file.

Tables
------
meta(key, value)
    Session metadata, values JSON: ``session_id``, ``participant`` (pseudonymous id),
    ``protocol``, ``devices``, ``rr_correction`` (artifact-correction level of the NN
    streams, :data:`biofeed.physio.rr.LEVELS`; absent in older files: ``"automatic"``),
    ``software``, ``start_utc``, ``time_scale``, ``completed``, ``end_utc``, ``duration_s``,
    ``ended_by``, ``chunks_written`` (stream name -> chunks) and ``events_written`` (schema 2,
    written at the end: a reader sees rows that are missing altogether).
streams(id, name, kind, unit, rate, channels, device, derived)
    One row per stream (:class:`biofeed.stream.StreamInfo`); ``rate`` in Hz, 0 = irregular.
chunks(stream_id, seq, t0, n, timestamps, vals)
    Samples in arrival order. ``t0`` session seconds of the first sample, ``n`` samples;
    ``vals`` little-endian float64, row-major ``(n, channels)``; ``timestamps`` little-endian
    float64 session seconds for irregular streams, NULL for regular ones (sample ``i`` at
    ``t0 + i / rate``).
events(id, onset, duration, label, kind, payload)
    Onset and duration in session seconds; payload JSON.

Integrity (schema 2): every row of every table ends with ``crc``, the CRC-32 (ISO-HDLC, as
zlib computes it) of the row's other fields (:func:`chunk_crc`, :func:`row_crc`), written with
the row in the same transaction. The reader checks every row it uses: a chunk whose CRC fails
is left out and reported as damage (a gap in its stream), never read as different numbers.
Schema 1 files (no ``crc``) still read; their integrity cannot be checked.
"""
from __future__ import annotations

import json
import struct
import zlib

#: ``PRAGMA application_id`` of a biofeed session file (ASCII "bfed").
APPLICATION_ID = 0x62666564
#: ``PRAGMA user_version``: the schema version this code writes and reads.
SCHEMA_VERSION = 2
#: The first schema version whose rows carry a ``crc``.
CRC_SINCE = 2
SUFFIX = ".biofeed"
#: Sample values and timestamps are stored as this numpy dtype.
BLOB_DTYPE = "<f8"

DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, crc INTEGER NOT NULL);
CREATE TABLE streams (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, unit TEXT NOT NULL,
    rate REAL NOT NULL, channels TEXT NOT NULL, device TEXT NOT NULL, derived INTEGER NOT NULL,
    crc INTEGER NOT NULL);
CREATE TABLE chunks (
    stream_id INTEGER NOT NULL REFERENCES streams(id), seq INTEGER NOT NULL, t0 REAL NOT NULL,
    n INTEGER NOT NULL, timestamps BLOB, vals BLOB NOT NULL, crc INTEGER NOT NULL,
    PRIMARY KEY (stream_id, seq)) WITHOUT ROWID;
CREATE TABLE events (
    id INTEGER PRIMARY KEY, onset REAL NOT NULL, duration REAL NOT NULL, label TEXT NOT NULL,
    kind TEXT NOT NULL, payload TEXT NOT NULL, crc INTEGER NOT NULL);
"""


def chunk_crc(stream_id, seq, t0, n, timestamps, vals) -> int:
    """CRC-32 of a chunk row: its key, start time (s) and count packed little-endian, then the
    timestamp and value bytes. Fields of another type than written (a damaged row) give
    another CRC, never an error."""
    try:
        head = struct.pack("<qqdq", stream_id, seq, t0, n)
    except (struct.error, TypeError):
        head = repr((stream_id, seq, t0, n)).encode()
    crc = zlib.crc32(head)
    for blob in (timestamps, vals):
        crc = zlib.crc32(blob if isinstance(blob, bytes) else repr(blob).encode(), crc)
    return crc


def row_crc(*fields) -> int:
    """CRC-32 of a meta, streams or events row: its fields as one JSON array (numbers in
    shortest round-trip form, so the same row read back gives the same CRC). A field that
    reads back as bytes (a damaged row whose text became a blob) gives another CRC, never an
    error: no written row holds bytes."""
    text = json.dumps(fields, ensure_ascii=False, default=lambda o: {"bytes": bytes(o).hex()})
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))
