"""The session file format: one SQLite file per session (suffix ``.biofeed``).

SQLite serves as the application file format (single file, atomic commits, no "save" step).
The file runs in WAL mode with ``synchronous=NORMAL``: every committed transaction survives a
crash or ``kill -9`` of the recording process, and a crash never corrupts the file.

Tables
------
meta(key, value)
    Session metadata, values JSON: ``session_id``, ``participant`` (pseudonymous id),
    ``protocol``, ``devices``, ``rr_correction`` (artifact-correction level of the NN
    streams, :data:`biofeed.physio.rr.LEVELS`; absent in older files: ``"automatic"``),
    ``software``, ``start_utc``, ``time_scale``, ``completed``, ``end_utc``, ``duration_s``,
    ``ended_by``.
streams(id, name, kind, unit, rate, channels, device, derived)
    One row per stream (:class:`biofeed.stream.StreamInfo`); ``rate`` in Hz, 0 = irregular.
chunks(stream_id, seq, t0, n, timestamps, vals)
    Samples in arrival order. ``t0`` session seconds of the first sample, ``n`` samples;
    ``vals`` little-endian float64, row-major ``(n, channels)``; ``timestamps`` little-endian
    float64 session seconds for irregular streams, NULL for regular ones (sample ``i`` at
    ``t0 + i / rate``).
events(id, onset, duration, label, kind, payload)
    Onset and duration in session seconds; payload JSON.
"""
from __future__ import annotations

#: ``PRAGMA application_id`` of a biofeed session file (ASCII "bfed").
APPLICATION_ID = 0x62666564
#: ``PRAGMA user_version``: the schema version this code writes and reads.
SCHEMA_VERSION = 1
SUFFIX = ".biofeed"
#: Sample values and timestamps are stored as this numpy dtype.
BLOB_DTYPE = "<f8"

DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE streams (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, unit TEXT NOT NULL,
    rate REAL NOT NULL, channels TEXT NOT NULL, device TEXT NOT NULL, derived INTEGER NOT NULL);
CREATE TABLE chunks (
    stream_id INTEGER NOT NULL REFERENCES streams(id), seq INTEGER NOT NULL, t0 REAL NOT NULL,
    n INTEGER NOT NULL, timestamps BLOB, vals BLOB NOT NULL,
    PRIMARY KEY (stream_id, seq)) WITHOUT ROWID;
CREATE TABLE events (
    id INTEGER PRIMARY KEY, onset REAL NOT NULL, duration REAL NOT NULL, label TEXT NOT NULL,
    kind TEXT NOT NULL, payload TEXT NOT NULL);
"""
