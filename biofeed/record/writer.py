"""The recorder: appends every chunk and event to the session file, committing every 0.25 s.

It is an engine sink. The engine thread only puts items on a queue; a writer thread owns the
SQLite connection, so slow disks never stall acquisition. The writer commits whatever it holds
when :data:`COMMIT_INTERVAL_S` has passed since the last commit, whether or not more items
arrive (the queue wait ends at that deadline), so a crash or ``kill -9`` loses at most the
items of the last 0.25 s plus the time they took to reach the recorder (a device's batch,
0.1 s for the serial sensors and the simulation): under 0.5 s of data, measured in
``tests/test_device_loss.py``. It never corrupts the file (WAL, see
:mod:`biofeed.record.schema`).
"""
from __future__ import annotations

import json
import os
import platform
import queue
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import __version__
from ..clock import SessionClock
from ..stream import Chunk, Event, StreamInfo
from .private import create_private
from .schema import APPLICATION_ID, BLOB_DTYPE, DDL, SCHEMA_VERSION, SUFFIX, chunk_crc, row_crc

_CLOSE = object()

#: Real seconds between commits of the session file (the data a crash can lose, plus their
#: way to the recorder: see the module docstring).
COMMIT_INTERVAL_S = 0.25


class RecorderError(RuntimeError):
    """The session file could not be written (what was committed before stays readable)."""


def new_session_path(out_dir: Path, session_id: str, when: datetime) -> Path:
    """``<out_dir>/<UTC start>_<session id>.biofeed``: no participant information in the name."""
    return Path(out_dir) / f"{when:%Y%m%dT%H%M%SZ}_{session_id[:8]}{SUFFIX}"


def _create_private_file(path: Path) -> None:
    """Create the empty session file, owner-only (0600); never overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        create_private(path, "biofeed never overwrites a recording").close()
    except FileExistsError as exc:
        raise RecorderError(str(exc)) from None


def _put_meta(con: sqlite3.Connection, items: dict) -> None:
    """Insert or replace meta rows, each value as JSON with its CRC."""
    rows = [(k, json.dumps(v)) for k, v in items.items()]
    con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?, ?)",
                    [(k, v, row_crc(k, v)) for k, v in rows])


class SessionRecorder:
    """Engine sink writing one session file.

    Parameters
    ----------
    out_dir : path
        Folder for the session file (created 0700 when missing).
    participant : str
        Pseudonymous participant id (never a name); stored in the metadata, not the file name.
    protocol : dict
        The protocol that runs (its plain-data form).
    devices : list of dict
        Device descriptions.
    rr_correction : str
        Artifact-correction level of the session's NN streams
        (:data:`biofeed.physio.rr.LEVELS`); replays use it again.
    commit_interval_s : float
        Real seconds between commits (:data:`COMMIT_INTERVAL_S`): what reached the recorder
        more than this long ago is on disk.
    """

    def __init__(self, out_dir: str | os.PathLike, participant: str = "", protocol: dict | None = None,
                 devices: Sequence[dict] = (), rr_correction: str = "automatic",
                 commit_interval_s: float = COMMIT_INTERVAL_S) -> None:
        self.out_dir = Path(out_dir)
        self.session_id = uuid.uuid4().hex
        self.path: Path | None = None
        self._meta = {
            "format": "biofeed-session", "session_id": self.session_id, "participant": participant,
            "protocol": protocol, "devices": list(devices), "rr_correction": rr_correction,
            "software": {"biofeed": __version__, "python": platform.python_version(),
                         "numpy": np.__version__, "platform": platform.platform()},
            "completed": False,
        }
        self.commit_interval_s = commit_interval_s
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self.samples_written: dict[str, int] = {}

    # -- sink interface (engine thread) ------------------------------------------------------
    def start(self, clock: SessionClock, streams: Sequence[StreamInfo]) -> None:
        start = clock.start_utc or datetime.now(timezone.utc)
        self.path = new_session_path(self.out_dir, self.session_id, start)
        _create_private_file(self.path)
        meta = self._meta | {"start_utc": start.isoformat(), "time_scale": clock.speed}
        self.samples_written = {s.name: 0 for s in streams}
        self._thread = threading.Thread(target=self._run, args=(meta, tuple(streams)),
                                        name="biofeed-recorder", daemon=True)
        self._thread.start()
        self._ready.wait()
        self._raise_if_failed()

    def write(self, chunk: Chunk) -> None:
        self._raise_if_failed()
        self.samples_written[chunk.info.name] += len(chunk)
        self._queue.put(("chunk", chunk))

    def event(self, event: Event) -> None:
        self._raise_if_failed()
        self._queue.put(("event", event))

    def add_meta(self, items: dict) -> None:
        """Store metadata known only at the end (the engine's ``device_errors``); keys the
        recorder writes itself are refused (ValueError)."""
        taken = set(self._meta) | {"start_utc", "time_scale", "duration_s", "ended_by", "end_utc",
                                   "chunks_written", "events_written"}
        if taken & set(items):
            raise ValueError(f"metadata keys {sorted(taken & set(items))} are the recorder's own")
        self._queue.put(("meta", dict(items)))      # a failed recorder says so at close()

    def close(self, t_end: float, ended_by: str) -> None:
        if self._thread is None:
            return
        self._queue.put(("end", (t_end, ended_by)))
        self._queue.put((_CLOSE, None))
        self._thread.join()
        self._thread = None
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise RecorderError(f"{self.path}: recording failed: {self._error}") from self._error

    # -- writer thread -----------------------------------------------------------------------
    def _run(self, meta: dict, streams: tuple[StreamInfo, ...]) -> None:
        try:
            con = sqlite3.connect(self.path, isolation_level=None)
        except BaseException as exc:  # noqa: BLE001 - reported to the engine thread
            self._error = exc
            self._ready.set()
            return
        try:
            self._setup(con, meta, streams)
            self._ready.set()
            self._loop(con)
        except BaseException as exc:  # noqa: BLE001 - reported to the engine thread
            self._error = exc
            self._ready.set()
        finally:
            con.close()

    def _setup(self, con: sqlite3.Connection, meta: dict, streams: tuple[StreamInfo, ...]) -> None:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute(f"PRAGMA application_id={APPLICATION_ID}")
        con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        con.execute("BEGIN")
        for stmt in filter(str.strip, DDL.split(";")):
            con.execute(stmt)
        _put_meta(con, meta)
        self._ids = {}
        for i, s in enumerate(streams, 1):
            row = (i, s.name, s.kind, s.unit, float(s.rate), json.dumps(list(s.channels)), s.device,
                   int(s.derived))
            con.execute("INSERT INTO streams VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (*row, row_crc(*row)))
            self._ids[s.name] = i
        con.execute("COMMIT")

    def _loop(self, con: sqlite3.Connection) -> None:
        seq = dict.fromkeys(self._ids.values(), 0)
        event_ids: set[int] = set()
        con.execute("BEGIN")
        last_commit = time.monotonic()
        pending = False                 # rows written since the last commit
        while True:
            # wait at most until the commit is due (forever's stand-in when nothing is pending)
            wait = (last_commit + self.commit_interval_s - time.monotonic() if pending
                    else self.commit_interval_s)
            try:
                what, item = self._queue.get(timeout=max(wait, 0.0))
            except queue.Empty:
                what, item = None, None
            if what is _CLOSE:
                break
            if what == "chunk":
                sid = self._ids[item.info.name]
                ts = None if item.timestamps is None else item.timestamps.astype(BLOB_DTYPE).tobytes()
                row = (sid, seq[sid], float(item.t0), len(item), ts,
                       np.ascontiguousarray(item.values, dtype=BLOB_DTYPE).tobytes())
                con.execute("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)", (*row, chunk_crc(*row)))
                seq[sid] += 1
            elif what == "event":
                row = (int(item.id), float(item.onset), float(item.duration), item.label, item.kind,
                       json.dumps(item.payload))
                con.execute("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (*row, row_crc(*row)))
                event_ids.add(row[0])
            elif what == "end":
                t_end, ended_by = item
                # the counts let a reader see rows that are gone altogether, not only damaged ones
                counts = {name: seq[sid] for name, sid in self._ids.items()}
                _put_meta(con, {"completed": True, "duration_s": t_end, "ended_by": ended_by,
                                "end_utc": datetime.now(timezone.utc).isoformat(),
                                "chunks_written": counts, "events_written": len(event_ids)})
            elif what == "meta":
                _put_meta(con, item)
            pending = pending or what is not None
            if time.monotonic() - last_commit >= self.commit_interval_s:
                if pending:
                    con.execute("COMMIT")
                    con.execute("BEGIN")
                    pending = False
                last_commit = time.monotonic()
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:        # a closed session is one file: readers then put no -wal/-shm beside it
            con.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.OperationalError:    # another connection has it open: it stays WAL
            pass
