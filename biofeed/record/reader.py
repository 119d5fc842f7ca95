"""Reading recordings: :func:`read` opens a session file, or imports another tool's recording,
as a :class:`Recording`."""
from __future__ import annotations

import bisect
import inspect
import json
import math
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import quote

import numpy as np
import pandas as pd

from ..stream import StreamInfo
from .integrity import Damage, padded, rows, runs, truncation
from .recover import Recovered, recover
from .schema import APPLICATION_ID, BLOB_DTYPE, CRC_SINCE, SCHEMA_VERSION, chunk_crc, row_crc


#: Chunks looked up one by one past a damaged page when the session did not say how many it
#: wrote (it did not end cleanly).
PROBE_CHUNKS = 4096


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


def _connect(path: Path, image: bytes | None = None) -> sqlite3.Connection:
    """A read-only connection to a biofeed session file (its schema version checked), or to
    ``image``, the file's bytes held in memory (a truncated file, padded)."""
    if not path.is_file():
        raise SessionFileError(f"{path}: no such session file")
    try:
        if image is None:
            con = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
        else:
            con = sqlite3.connect(":memory:")
            con.deserialize(image)
        # text that is not UTF-8 (a damaged row) reads as text that fails its CRC, not as an error
        con.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        version = con.execute("PRAGMA user_version").fetchone()[0]
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
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


def _checked(con: sqlite3.Connection, table: str, columns: str, crc: bool, damage: list[Damage],
             order: str = "") -> Iterator[tuple]:
    """The rows of ``table`` whose CRC holds (every row of a schema 1 file); the others are
    reported in ``damage``."""
    sql = f"SELECT {columns}{', crc' if crc else ''} FROM {table}{order}"
    for row in rows(con, sql, (), table, damage):
        if crc and row[-1] != row_crc(*row[:-1]):
            damage.append(Damage(table, math.nan, math.nan, f"row {row[0]!r} fails its CRC: left out"))
            continue
        yield row[:-1] if crc else row


def _has_crc_columns(con: sqlite3.Connection) -> bool:
    """True when the chunks table has a ``crc`` column (schema 2 and later), whatever the
    header's version field says."""
    try:
        return any(row[1] == "crc" for row in con.execute("PRAGMA table_info(chunks)"))
    except sqlite3.DatabaseError:
        return False


def _stream_info(row: tuple) -> StreamInfo:
    """A streams row as a StreamInfo; ValueError when a field has the wrong type or value."""
    sid, name, kind, unit, rate, channels, device, derived = row
    channels = json.loads(channels)
    if not (isinstance(name, str) and isinstance(kind, str) and isinstance(unit, str)
            and isinstance(device, str) and isinstance(rate, (int, float)) and rate >= 0
            and isinstance(channels, list) and channels and all(isinstance(c, str) for c in channels)):
        raise ValueError(f"stream row {sid!r} has fields of the wrong type")
    return StreamInfo(name, kind, unit, float(rate), tuple(channels), device, bool(derived))


def _event_row(row: tuple) -> tuple:
    """An events row as ``(onset, duration, label, kind, payload, id)``; ValueError when damaged."""
    eid, onset, duration, label, kind, payload = row
    payload = json.loads(payload)
    if not (isinstance(eid, int) and isinstance(onset, (int, float)) and math.isfinite(onset)
            and isinstance(duration, (int, float)) and isinstance(label, str)
            and isinstance(kind, str) and isinstance(payload, dict)):
        raise ValueError(f"event row {eid!r} has fields of the wrong type")
    return float(onset), float(duration), label, kind, payload, eid


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
    damage : list of Damage
        What failed its check so far (:mod:`biofeed.record.integrity`): the file, metadata,
        stream and event rows at opening, each stream's chunks when it is first read;
        :meth:`verify` reads them all. Damaged rows are left out, never read as other numbers.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._own: dict[str, Signal] = {}
        self._base: Recording | None = None
        self._damage: list[Damage] = []
        self._stream_damage: dict[str, list[Damage]] = {}
        self._tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._recovered: Recovered | None = None
        if not self.path.is_file():
            raise SessionFileError(f"{self.path}: no such session file")
        cut = truncation(self.path)
        self._damage += [cut] if cut else []
        # SQLite refuses a file shorter than its header says: read it padded to that length,
        # the missing pages zeros (their rows fail their checks, the rest reads)
        self._image = padded(self.path) if cut and "bytes missing" in cut.what else None
        con = _connect(self.path, self._image)
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            self._crc = version >= CRC_SINCE or _has_crc_columns(con)
            if version < CRC_SINCE and self._crc:      # a damaged header: the rows still say
                self._damage.append(Damage("file", math.nan, math.nan, (
                    f"the header's schema version is {version}, but the tables carry the CRCs "
                    f"of version {CRC_SINCE} or later: the header is damaged; rows checked")))
            self.meta = {}
            for key, value in _checked(con, "meta", "key, value", self._crc, self._damage):
                try:
                    self.meta[key] = json.loads(value)
                except (TypeError, ValueError):
                    self._damage.append(Damage("meta", math.nan, math.nan, f"{key!r} is not JSON: left out"))
            self._ids, self.streams = {}, {}
            for row in _checked(con, "streams", "id, name, kind, unit, rate, channels, device, derived",
                                self._crc, self._damage, " ORDER BY id"):
                try:
                    info = _stream_info(row)
                except (TypeError, ValueError) as exc:
                    self._damage.append(Damage("streams", math.nan, math.nan, f"{exc}: left out"))
                    continue
                self._ids[info.name], self.streams[info.name] = row[0], info
            events, before = [], len(self._damage)
            for row in _checked(con, "events", "id, onset, duration, label, kind, payload", self._crc,
                                self._damage, " ORDER BY onset, id"):
                try:
                    events.append(_event_row(row))
                except (TypeError, ValueError) as exc:
                    self._damage.append(Damage("events", math.nan, math.nan, f"{exc}: left out"))
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise SessionFileError(f"{self.path}: damaged session file (SQLite says: {exc})") from None
        finally:
            con.close()
        self._recover_meta_and_streams()
        if self._damage and not self.streams and not self.meta:
            raise SessionFileError(f"{self.path}: damaged session file, nothing in it reads "
                                   f"({self._damage[0].what})")
        written = self.meta.get("events_written")
        damaged = sum(d.where == "events" for d in self._damage)
        if len(self._damage) > before or (isinstance(written, int) and written > len(events) + damaged):
            self._recover_events(events)
        self.events = events_frame(events)
        missing = (written - len(events) - damaged if isinstance(written, int) else 0)
        if missing > 0:       # rows gone altogether, not only damaged ones
            self._damage.append(Damage("events", math.nan, math.nan,
                                       f"{missing} of {written} events missing"))
        self.signals: Mapping[str, Signal] = _Signals(self)

    def _recover(self) -> Recovered:
        """The rows on the file's pages whose CRC holds (:mod:`biofeed.record.recover`), read
        once, and only for a damaged file."""
        if self._recovered is None:
            try:
                data = self._image if self._image is not None else self.path.read_bytes()
            except OSError:
                data = b""
            self._recovered = recover(data) if self._crc else Recovered()
        return self._recovered

    def _recover_meta_and_streams(self) -> None:
        """Add the meta and streams rows SQLite did not return (a damaged page: a cut cell
        count, a lost interior page) that are recovered from the file's pages; looked for only
        when the file shows it (a damaged row, no session id, a stream the chunk counts name
        missing). A stream still missing then is reported: its chunks cannot be read."""
        where = {d.where for d in self._damage}
        written = self.meta.get("chunks_written")
        if ("meta" in where or "session_id" not in self.meta) and self._may_recover():
            found = []
            for key, (_, value) in sorted(self._recover().meta.items()):
                if key in self.meta:
                    continue
                try:
                    self.meta[key] = json.loads(value)
                except (TypeError, ValueError):
                    continue
                found.append(key)
            if found:
                self._damage.append(Damage("meta", math.nan, math.nan, (
                    f"meta {', '.join(found)} unreachable by SQLite (a damaged page): recovered "
                    "from the table's leaf pages, their CRC holds")))
            written = self.meta.get("chunks_written")
        named = set(written) if isinstance(written, dict) else set()
        if ("streams" in where or not self.streams or named - set(self.streams)) and self._may_recover():
            found = []
            for sid, row in sorted(self._recover().streams.items()):
                try:
                    info = _stream_info(row)
                except (TypeError, ValueError):
                    continue
                if sid in self._ids.values() or info.name in self.streams:
                    continue
                self._ids[info.name], self.streams[info.name] = sid, info
                found.append(info.name)
            if found:
                self._damage.append(Damage("streams", math.nan, math.nan, (
                    f"streams {', '.join(found)} unreachable by SQLite (a damaged page): "
                    "recovered from the table's leaf pages, their CRC holds")))
        for name in sorted(named - set(self.streams)):
            self._damage.append(Damage(f"stream {name}", math.nan, math.nan, (
                f"its description is lost ({written[name]} chunks written): its data cannot "
                "be read")))

    def _may_recover(self) -> bool:
        """Rows may be taken from the file's pages: they carry CRCs, and no ``-wal`` file is
        beside it (a row replaced since may be newer there and older in the file)."""
        return self._crc and not self.path.with_name(self.path.name + "-wal").exists()

    def _recover_events(self, events: list[tuple]) -> None:
        """Add to ``events`` the events SQLite did not return that are recovered from the
        file's pages. Not while a ``-wal`` file is beside it: the newer version of an event
        replaced since may be there, an older one in the file."""
        if not self._may_recover():
            return
        have = {e[5] for e in events}
        found = []
        for eid, row in sorted(self._recover().events.items()):
            if eid in have:
                continue
            try:
                found.append(_event_row(row))
            except (TypeError, ValueError):
                continue
        if found:
            events += found
            ids = ", ".join(str(e[5]) for e in found)
            self._damage.append(Damage("events", math.nan, math.nan,
                                       f"events {ids} unreachable by SQLite (a damaged page): "
                                       f"recovered from the table's leaf pages, their CRC holds"))

    @property
    def damage(self) -> list[Damage]:
        own = getattr(self, "_damage", [])
        streams = getattr(self, "_stream_damage", {})
        base = self._base.damage if self._base is not None else []
        return [*base, *own, *(d for name in self.streams for d in streams.get(name, []))]

    def verify(self) -> list[Damage]:
        """Check every chunk of every stream (reading them, keeping none) and return all damage."""
        if self._base is not None:
            self._base.verify()
        for name in self.streams:
            if name not in self._own and self._base is None:
                self.chunk_table(name)
        return self.damage

    @property
    def integrity_checked(self) -> bool:
        """False for files written before rows carried CRCs (schema 1): damage inside a row
        cannot be seen there."""
        return getattr(self, "_crc", True)

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
        if name not in self._tables:
            self._chunks(name, keep=False)
        return self._tables[name]

    def gaps(self, name: str) -> list[tuple[float, float]]:
        """Gaps in a regular stream as ``(start, end)`` session seconds."""
        t0, n = self.chunk_table(name)
        return find_gaps(t0, n, self.streams[name].rate)

    def _chunks(self, name: str, keep: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        """The stream's chunks that pass their checks, in order, as ``(times, values)`` when
        ``keep`` (else empty); their start times and counts go to the chunk table, the others
        to the damage list (a gap where they were).

        Chunks are scanned in order; where SQLite cannot read on (a damaged page), the scan
        resumes at the next chunk it can read, found by looking chunks up one by one up to the
        count written at the end of the session (or :data:`PROBE_CHUNKS` past the last one read).
        When chunks are missing or damaged, the ones SQLite cannot reach (under a damaged
        interior page) are recovered from the file's pages (:mod:`biofeed.record.recover`)."""
        info, sid = self.streams[name], self._ids[name]
        nch, regular = len(info.channels), info.rate > 0
        columns = f"seq, t0, n, timestamps, vals{', crc' if self._crc else ''}"
        scan = f"SELECT {columns} FROM chunks WHERE stream_id = ? AND seq >= ? ORDER BY seq"
        one = f"SELECT {columns} FROM chunks WHERE stream_id = ? AND seq = ?"
        written = self.meta.get("chunks_written")
        written = written.get(name) if isinstance(written, dict) else None
        good, bad, kept = [], [], []
        expected, tail = 0, None

        def take(row) -> None:
            """Use a row that passed its CRC (or has none) as the chunk ``seq``."""
            nonlocal expected
            seq, t0, n, ts, vals = row[:5]
            bad.extend(range(expected, seq))                # rows missing or damaged
            expected = seq + 1
            checked = _chunk_arrays(t0, n, ts, vals, nch, info.rate)
            if checked is None:
                bad.append(seq)
                return
            good.append((seq, float(t0), int(n), float(checked[0][-1]) if n else float(t0)))
            if keep:
                kept.append(checked)

        def sound(row) -> bool:
            # a row failing its CRC has no trustworthy seq: the next good row (or the count
            # written) shows it as missing
            return (isinstance(row[0], int) and expected <= row[0] < expected + 10**6
                    and (not self._crc or row[5] == chunk_crc(sid, *row[:5])))

        con = _connect(self.path, self._image)
        try:
            while True:
                try:
                    for row in con.execute(scan, (sid, expected)):
                        if sound(row):
                            take(row)
                    break
                except (sqlite3.DatabaseError, UnicodeDecodeError):
                    # a damaged page: look chunks up one by one to the next that reads and
                    # checks out, take it (so every round moves on), and scan on after it
                    limit = written if isinstance(written, int) else expected + PROBE_CHUNKS
                    found = None
                    for probe in range(expected, limit):
                        try:
                            row = con.execute(one, (sid, probe)).fetchone()
                        except (sqlite3.DatabaseError, UnicodeDecodeError):
                            continue
                        if row is not None and sound(row):
                            found = row
                            break
                    if found is None:
                        if isinstance(written, int):
                            bad.extend(range(expected, limit))
                            expected = limit
                        else:
                            tail = expected           # how many there were is not known
                        break
                    take(found)
        finally:
            con.close()
        if isinstance(written, int):
            bad += range(expected, written)                          # the last rows are gone
        damage = []
        if bad or tail is not None:
            have = {g[0] for g in good}
            extra = []
            for (s, seq), row in sorted(self._recover().chunks.items()):
                checked = None if s != sid or seq in have else _chunk_arrays(*row[2:], nch, info.rate)
                if checked is not None:
                    t0, n = float(row[2]), int(row[3])
                    extra.append(((seq, t0, n, float(checked[0][-1]) if n else t0), checked))
            if extra:
                order = sorted([*zip(good, kept if keep else [None] * len(good)), *extra],
                               key=lambda pair: pair[0][0])
                good = [pair[0] for pair in order]
                kept = [pair[1] for pair in order] if keep else []
                found = {e[0][0] for e in extra}
                bad = [s for s in bad if s not in found]
                ends = {e[0][0]: e[0] for e in extra}
                for first, last in runs(sorted(found)):
                    what = f"chunk {first}" if first == last else f"chunks {first}-{last}"
                    damage.append(Damage(f"stream {name}", ends[first][1], ends[last][3],
                                         f"{what} unreachable by SQLite (a damaged page): recovered "
                                         f"from the table's pages (leaf-page recovery), their CRC holds"))
        seqs = [g[0] for g in good]
        for first, last in runs(sorted(set(bad))):
            i = bisect.bisect_left(seqs, first)
            start = good[i - 1][3] + (1 / info.rate if regular else 0.0) if i else math.nan
            end = good[i][1] if i < len(good) else math.nan
            what = f"chunk {first}" if first == last else f"chunks {first}-{last}"
            damage.append(Damage(f"stream {name}", start, end, f"{what} fail their checks: left out (a gap)"))
        damage.sort(key=lambda d: (math.isnan(d.start_s), d.start_s))
        if tail is not None:
            i = bisect.bisect_left(seqs, tail)
            start = good[i - 1][3] + (1 / info.rate if regular else 0.0) if i else math.nan
            damage.append(Damage(f"stream {name}", start, math.nan, f"chunks from {tail} on are unreadable"))
        self._stream_damage[name] = damage
        self._tables[name] = (np.array([g[1] for g in good], dtype=float),
                              np.array([g[2] for g in good], dtype=np.int64))
        return kept

    def _load(self, name: str) -> Signal:
        if name in self._own:
            return self._own[name]
        if self._base is not None:
            return self._base.signals[name]
        info = self.streams[name]
        nch = len(info.channels)
        parts = self._chunks(name, keep=True)
        parts_t, parts_v = [p[0] for p in parts], [p[1] for p in parts]
        values = np.concatenate(parts_v) if parts_v else np.empty((0, nch))
        times = np.concatenate(parts_t) if parts_t else np.empty(0)
        if nch == 1:
            values = values[:, 0]
        return Signal(values.astype(np.float64), times.astype(np.float64), info.rate, info.unit, info)


def _chunk_arrays(t0, n, ts, vals, nch: int, rate: float) -> tuple[np.ndarray, np.ndarray] | None:
    """A chunk's sample times (s) and values ``(n, nch)``, or None when its fields do not fit
    together (a damaged row of a file without CRCs)."""
    if not (isinstance(n, int) and n >= 0 and isinstance(t0, (int, float)) and math.isfinite(t0)
            and isinstance(vals, bytes) and len(vals) == 8 * n * nch):
        return None
    values = np.frombuffer(vals, dtype=BLOB_DTYPE).reshape(n, nch)
    if rate > 0:
        return t0 + np.arange(n) / rate, values
    if not isinstance(ts, bytes) or len(ts) != 8 * n:
        return None
    return np.frombuffer(ts, dtype=BLOB_DTYPE), values


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
