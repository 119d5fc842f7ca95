"""Reading recordings: :func:`read` opens a session file, or imports another tool's recording,
as a :class:`Recording`."""
from __future__ import annotations

import inspect
import json
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from ..stream import StreamInfo
from .schema import APPLICATION_ID, BLOB_DTYPE, SCHEMA_VERSION


class SessionFileError(ValueError):
    """A file is not a readable biofeed session file; the message names the file and the problem."""


@dataclass(frozen=True)
class Signal:
    """All samples of one stream.

    Attributes
    ----------
    values : ndarray
        Shape ``(n,)`` for one channel, ``(n, channels)`` otherwise, in :attr:`unit`.
    times : ndarray
        Session time of every sample, seconds.
    fs : float
        Nominal sampling rate, Hz (0 for irregular streams).
    unit : str
    info : StreamInfo
    """

    values: np.ndarray
    times: np.ndarray
    fs: float
    unit: str
    info: StreamInfo

    @property
    def channels(self) -> tuple[str, ...]:
        return self.info.channels

    def __len__(self) -> int:
        return len(self.times)

    def to_frame(self) -> pd.DataFrame:
        """The samples as a DataFrame indexed by session time (``time_s``), one column a channel."""
        values = self.values.reshape(len(self.times), -1)
        return pd.DataFrame(values, index=pd.Index(self.times, name="time_s"), columns=list(self.channels))


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise SessionFileError(f"{path}: no such session file")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        version = con.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise SessionFileError(f"{path}: not a biofeed session file (SQLite says: {exc})") from None
    if app_id != APPLICATION_ID:
        con.close()
        raise SessionFileError(f"{path}: not a biofeed session file "
                               f"(application_id {app_id:#x}, expected {APPLICATION_ID:#x})")
    if version > SCHEMA_VERSION:
        con.close()
        raise SessionFileError(f"{path}: schema version {version} is newer than this biofeed "
                               f"reads ({SCHEMA_VERSION}); upgrade biofeed")
    return con


def find_gaps(t0: np.ndarray, n: np.ndarray, rate: float, tolerance: float = 1.5) -> list[tuple[float, float]]:
    """Gaps in a regular stream from its chunks' start times (s) and sample counts.

    A gap is where a chunk starts more than ``tolerance`` sample periods after the previous
    chunk's last sample. Returns ``(start, end)`` pairs in session seconds.
    """
    if rate <= 0 or len(t0) < 2:
        return []
    expected = t0[:-1] + n[:-1] / rate
    idx = np.flatnonzero(t0[1:] - expected > tolerance / rate)
    return [(float(expected[i]), float(t0[i + 1])) for i in idx]


class _Signals(Mapping):
    """Lazy mapping stream name -> :class:`Signal`; each stream is read on first access."""

    def __init__(self, rec: "Recording") -> None:
        self._rec = rec
        self._cache: dict[str, Signal] = {}

    def __getitem__(self, name: str) -> Signal:
        if name not in self._cache:
            if name not in self._rec.streams:
                raise KeyError(f"{self._rec.path}: no stream {name!r} (has {sorted(self._rec.streams)})")
            self._cache[name] = self._rec._load(name)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rec.streams)

    def __len__(self) -> int:
        return len(self._rec.streams)


class Recording:
    """A recorded session, opened read-only, or one built in memory (:meth:`from_signals`).

    Attributes
    ----------
    path : Path
        The session file, or the file the recording was imported from.
    meta : dict
        Session metadata (see :mod:`biofeed.record.schema`).
    streams : dict of str to StreamInfo
    signals : Mapping of str to Signal
        Loaded on first access of each stream.
    events : pandas.DataFrame
        Columns ``onset``, ``duration`` (session seconds), ``label``, ``kind``, ``payload`` (dict),
        ``id``, sorted by onset.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._own: dict[str, Signal] = {}
        self._base: Recording | None = None
        con = _connect(self.path)
        try:
            self.meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
            rows = con.execute("SELECT id, name, kind, unit, rate, channels, device, derived "
                               "FROM streams ORDER BY id").fetchall()
            self._ids = {r[1]: r[0] for r in rows}
            self.streams = {r[1]: StreamInfo(r[1], r[2], r[3], r[4], tuple(json.loads(r[5])), r[6],
                                             bool(r[7])) for r in rows}
            ev = con.execute("SELECT id, onset, duration, label, kind, payload FROM events "
                             "ORDER BY onset, id").fetchall()
        except sqlite3.DatabaseError as exc:
            raise SessionFileError(f"{self.path}: damaged session file ({exc})") from None
        finally:
            con.close()
        self.events = events_frame([(r[1], r[2], r[3], r[4], json.loads(r[5]), r[0]) for r in ev])
        self.signals: Mapping[str, Signal] = _Signals(self)

    @classmethod
    def from_signals(cls, signals: Iterable[Signal], events: pd.DataFrame | None = None,
                     meta: dict | None = None, path: str | os.PathLike = "") -> "Recording":
        """A recording held in memory (imported data, or analysis results).

        ``signals`` are keyed by their stream name; ``events`` has the columns of
        :attr:`events` (:func:`events_frame` builds one); ``meta`` as in a session file.
        """
        rec = cls.__new__(cls)
        rec.path = Path(path)
        rec._own = {s.info.name: s for s in signals}
        rec._base = None
        rec.meta = dict(meta or {})
        rec.streams = {name: s.info for name, s in rec._own.items()}
        rec.events = events_frame([]) if events is None else events
        rec.signals = _Signals(rec)
        return rec

    def with_signals(self, signals: Iterable[Signal]) -> "Recording":
        """This recording plus (or with replaced) ``signals``, e.g. streams derived by a replay.

        The streams of this recording stay lazily loaded from it.
        """
        extra = {s.info.name: s for s in signals}
        rec = Recording.from_signals(extra.values(), self.events, self.meta, self.path)
        rec._base = self
        rec.streams = {n: s for n, s in self.streams.items() if n not in extra} | rec.streams
        return rec

    @property
    def complete(self) -> bool:
        """True when the recording process closed the file (not killed or crashed)."""
        return bool(self.meta.get("completed"))

    @property
    def start_utc(self) -> datetime:
        return datetime.fromisoformat(self.meta["start_utc"])

    def chunk_table(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Start times (session s) and sample counts of a stream's chunks, in order.

        A stream held in memory counts as one chunk per stretch without gaps.
        """
        if name in self._own:
            return _segments(self._own[name])
        if self._base is not None:
            return self._base.chunk_table(name)
        con = _connect(self.path)
        try:
            rows = con.execute("SELECT t0, n FROM chunks WHERE stream_id = ? ORDER BY seq",
                               (self._ids[name],)).fetchall()
        finally:
            con.close()
        arr = np.array(rows, dtype=float).reshape(-1, 2)
        return arr[:, 0], arr[:, 1].astype(np.int64)

    def gaps(self, name: str) -> list[tuple[float, float]]:
        """Gaps in a regular stream as ``(start, end)`` session seconds."""
        t0, n = self.chunk_table(name)
        return find_gaps(t0, n, self.streams[name].rate)

    def _load(self, name: str) -> Signal:
        if name in self._own:
            return self._own[name]
        if self._base is not None:
            return self._base.signals[name]
        info = self.streams[name]
        con = _connect(self.path)
        try:
            rows = con.execute("SELECT t0, n, timestamps, vals FROM chunks WHERE stream_id = ? "
                               "ORDER BY seq", (self._ids[name],)).fetchall()
        finally:
            con.close()
        nch = len(info.channels)
        parts_v, parts_t = [], []
        for t0, n, ts, vals in rows:
            v = np.frombuffer(vals, dtype=BLOB_DTYPE)
            if v.size != n * nch:
                raise SessionFileError(f"{self.path}: stream {name!r} chunk at t0={t0} s holds "
                                       f"{v.size} values, expected {n} x {nch}")
            parts_v.append(v.reshape(n, nch))
            parts_t.append(np.frombuffer(ts, dtype=BLOB_DTYPE) if ts is not None
                           else t0 + np.arange(n) / info.rate)
        values = np.concatenate(parts_v) if parts_v else np.empty((0, nch))
        times = np.concatenate(parts_t) if parts_t else np.empty(0)
        if nch == 1:
            values = values[:, 0]
        return Signal(values.astype(np.float64), times.astype(np.float64), info.rate, info.unit, info)


def _segments(sig: Signal) -> tuple[np.ndarray, np.ndarray]:
    """Start times (s) and sample counts of the gap-free stretches of an in-memory signal."""
    if len(sig) == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    if sig.fs <= 0:
        return sig.times[:1].copy(), np.array([len(sig)], dtype=np.int64)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(sig.times) > 1.5 / sig.fs) + 1))
    counts = np.diff(np.concatenate((starts, [len(sig)])))
    return sig.times[starts], counts.astype(np.int64)


def events_frame(rows: Iterable[tuple]) -> pd.DataFrame:
    """The events table from ``(onset, duration, label, kind, payload, id)`` rows, sorted by onset
    (s) then id."""
    frame = pd.DataFrame(list(rows), columns=["onset", "duration", "label", "kind", "payload", "id"])
    frame = frame.astype({"onset": float, "duration": float, "id": np.int64})
    return frame.sort_values(["onset", "id"], kind="stable").reset_index(drop=True)


def read(path: str | os.PathLike, **options) -> Recording:
    """Open a recording as a :class:`Recording`, by its file type.

    ``.biofeed`` session files open directly (and any file that is none of the types below is
    taken as one). Other tools' recordings are imported (:mod:`biofeed.record.importers`):
    WFDB ``.hea``, EDF/BDF(+) ``.edf``/``.bdf``, XDF ``.xdf``, BIDS ``*_physio.tsv.gz``,
    an Empatica E4 folder or ``.zip``, OpenSignals ``.txt`` and ``.csv``/``.tsv`` tables.
    ``options`` go to the importer, e.g. ``rate=100.0`` (Hz) for a CSV without a time column.
    """
    from .importers import importer_for

    importer = importer_for(Path(path))
    accepted = [] if importer is None else list(inspect.signature(importer).parameters)[1:]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"{path}: option(s) {unknown} do not apply to this type of file "
                         f"(it takes {accepted or 'none'})")
    return Recording(path) if importer is None else importer(Path(path), **options)
