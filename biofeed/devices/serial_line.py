"""DIY serial sensors (specs.md section 4): one text line per sample, driven by a device profile.

:class:`SerialSensor` opens a serial port with pyserial, reads it on a thread
(:class:`PortReader`, so the asyncio loop never blocks), splits the bytes into lines, parses
each line per its profile (:class:`LineParser`: CSV columns, ``key:value`` pairs or PulseSensor
``S``/``B``/``Q`` prefixes, optional checksum), converts units (EDA to uS, see
:mod:`biofeed.devices.profiles`) and yields chunks on the session clock. The Grove GSR,
PulseSensor and biofeed-Arduino formats all go through this one path; the BITalino driver
reuses :class:`PortReader`, :class:`SampleClock` and :func:`build_chunks`.

Timestamps (:class:`SampleClock`):

- With a device sample counter: sample time = offset + counter / rate, the offset fixed at the
  first sample of a connection (its host arrival time). A counter jump means lost samples:
  they are counted and the next chunk starts later (a gap in ``t0``). A jump that would put a
  sample more than ``max_lead_s`` ahead of its arrival, or a counter that does not advance, is a
  device reset: the clock re-anchors at the arrival time. Device-clock drift is not corrected.
- Without a counter: host arrival times smoothed against the nominal rate. Sample k of a run
  is placed on the nominal grid, anchor + k / rate, where the anchor is the arrival time of the
  run's first line, so USB/OS delivery jitter (lines arrive in bursts) never enters the
  timestamps. While a line arrives within ``resync_s`` of its grid time the grid stands; when it
  arrives later (the sensor paused or lines were lost) or earlier (the sensor clock runs faster
  than nominal) a new run starts anchored at that line's arrival time (a new chunk ``t0``).

Garbage, partial lines and bad checksums are counted in :attr:`SerialSensor.stats` and logged;
they never end the session. An unplugged port raises ``OSError`` (pyserial's
``SerialException``), which :class:`~biofeed.devices.reconnect.ReconnectingDevice` turns into a
retry and a ``gap`` event; the stream resumes when the port comes back.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import AsyncIterator

import numpy as np
import serial

from ..clock import SessionClock
from ..stream import Chunk, StreamInfo
from .profiles import LineFormat, Profile, load_profile
from .reconnect import ReconnectingDevice

log = logging.getLogger(__name__)

#: Longest accepted line, bytes; longer runs without a newline are garbage.
MAX_LINE = 256
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")


class LineError(ValueError):
    """A line that is not a valid record.

    Attributes
    ----------
    reason : str
        ``"garbage"`` (not text, unknown key or prefix, not a number, too many fields, too
        long), ``"partial"`` (empty, too few fields, missing keys or checksum: a cut line) or
        ``"bad_checksum"``.
    line : bytes
    """

    def __init__(self, reason: str, line: bytes, detail: str) -> None:
        super().__init__(f"{reason} line {line[:60]!r}: {detail}")
        self.reason, self.line = reason, line


def xor8(payload: bytes) -> int:
    """The line checksum of the ``xor8`` profiles: XOR of all payload bytes (0-255)."""
    value = 0
    for b in payload:
        value ^= b
    return value


@dataclass(frozen=True)
class Record:
    """One parsed line: raw field values, the sample counter, and whether it is a sample line."""

    values: dict[str, float]
    counter: int | None
    sample: bool


class LineParser:
    """Parses lines of one :class:`~biofeed.devices.profiles.LineFormat`."""

    def __init__(self, fmt: LineFormat) -> None:
        self.fmt = fmt
        self._prefixes = dict(fmt.prefixes)

    def parse(self, line: bytes) -> Record:
        """Parse one line (without its newline; a trailing ``\\r`` is ignored).

        Raises
        ------
        LineError
            For any line that is not a valid record (the only exception raised).
        """
        raw = line
        line = line.rstrip(b"\r")
        if not line:
            raise LineError("partial", raw, "empty line")
        if len(line) > MAX_LINE or not line.isascii():
            raise LineError("garbage", raw, "not a short ASCII line")
        text = line.decode("ascii")
        if not text.isprintable():
            raise LineError("garbage", raw, "control characters")
        if self.fmt.checksum:
            text = self._check(text, raw)
            if not text:
                raise LineError("partial", raw, "empty payload")
        if self.fmt.type == "prefixed":
            return self._prefixed(text, raw)
        fields = self._csv(text, raw) if self.fmt.type == "csv" else self._keyvalue(text, raw)
        counter = None
        if self.fmt.counter:
            c = fields.pop(self.fmt.counter)
            if not c.isdigit():
                raise LineError("garbage", raw, f"counter {c!r} is not a non-negative integer")
            counter = int(c)
        return Record({k: self._number(v, raw) for k, v in fields.items()}, counter, True)

    def _check(self, text: str, raw: bytes) -> str:
        payload, star, hh = text.rpartition("*")
        if not star:
            raise LineError("partial", raw, "no '*' checksum")
        if not _HEX2.fullmatch(hh):
            raise LineError("bad_checksum", raw, f"checksum {hh!r} is not two hex digits")
        if int(hh, 16) != xor8(payload.encode("ascii")):
            raise LineError("bad_checksum", raw, f"checksum {hh} != {xor8(payload.encode('ascii')):02X}")
        return payload

    def _csv(self, text: str, raw: bytes) -> dict[str, str]:
        parts = text.split(self.fmt.separator)
        if len(parts) != len(self.fmt.columns):
            reason = "partial" if len(parts) < len(self.fmt.columns) else "garbage"
            raise LineError(reason, raw, f"{len(parts)} fields, expected {len(self.fmt.columns)}")
        return {k: v.strip() for k, v in zip(self.fmt.columns, parts)}

    def _keyvalue(self, text: str, raw: bytes) -> dict[str, str]:
        fields: dict[str, str] = {}
        for pair in text.split(self.fmt.separator):
            key, sep, value = pair.partition(self.fmt.kv_separator)
            key = key.strip()
            if not sep or key in fields:
                raise LineError("garbage", raw, f"bad pair {pair!r}")
            if key in self.fmt.columns:      # other keys (extra firmware fields) are ignored
                fields[key] = value.strip()
        missing = [k for k in self.fmt.columns if k not in fields]
        if missing:
            raise LineError("partial", raw, f"missing key(s) {missing}")
        return fields

    def _prefixed(self, text: str, raw: bytes) -> Record:
        field = self._prefixes.get(text[0])
        if field is None:
            raise LineError("garbage", raw, f"unknown prefix {text[0]!r}")
        if len(text) == 1:
            raise LineError("partial", raw, "no value")
        return Record({field: self._number(text[1:], raw)}, None, text[0] == self.fmt.sample_prefix)

    @staticmethod
    def _number(text: str, raw: bytes) -> float:
        if not _NUMBER.fullmatch(text):
            raise LineError("partial" if not text else "garbage", raw, f"{text!r} is not a number")
        value = float(text)
        if not np.isfinite(value):
            raise LineError("garbage", raw, f"{text!r} is not finite")
        return value


class LineSplitter:
    """Bytes in, complete lines out (split at ``\\n``); a longer run than :data:`MAX_LINE`
    without a newline comes out as one (garbage) line."""

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        *lines, self.pending = (self.pending + data).split(b"\n")
        if len(self.pending) > MAX_LINE:
            lines.append(self.pending)
            self.pending = b""
        return lines


class SampleClock:
    """Session time of each sample of one connection (see the module docstring for the method).

    Parameters
    ----------
    rate : float
        Nominal sample rate, Hz.
    stats : object
        Gets ``lost`` (samples missing per the counter) and ``resyncs`` (re-anchorings) added.
    modulo : int
        The counter wraps to 0 at this value (0: never wraps).
    resync_s : float, optional
        Without a counter: largest deviation, seconds, of an arrival from its grid time before a
        new run starts; default max(0.25 s, 3 sample periods).
    max_lead_s : float
        With a counter: largest lead, seconds, of a sample's time over its arrival after a jump.
    """

    def __init__(self, rate: float, stats, modulo: int = 0, resync_s: float | None = None,
                 max_lead_s: float = 1.0) -> None:
        self.rate, self.stats, self.modulo = rate, stats, modulo
        self.resync_s = max(0.25, 3.0 / rate) if resync_s is None else resync_s
        self.max_lead_s = max_lead_s
        self.last_time: float | None = None
        self._anchor = 0.0
        self._k = 0
        self._counter: int | None = None

    def place(self, arrival: float, counter: int | None = None) -> tuple[float, bool]:
        """Time (session s) of the next sample that arrived at ``arrival`` (session s), and whether
        it starts a new run (first sample, lost samples or a resync: the next chunk's ``t0``)."""
        if self.last_time is None:
            return self._start(arrival, counter)
        if counter is None:
            k = self._k + 1
            if abs(arrival - (self._anchor + k / self.rate)) > self.resync_s:
                self.stats.resyncs += 1
                return self._start(arrival, None)
            return self._advance(1, None), False
        step = counter - self._counter
        if self.modulo:
            step %= self.modulo
        if step <= 0 or self._anchor + (self._k + step) / self.rate > arrival + self.max_lead_s:
            self.stats.resyncs += 1
            return self._start(arrival, counter)
        self.stats.lost += step - 1
        return self._advance(step, counter), step > 1

    def _start(self, arrival: float, counter: int | None) -> tuple[float, bool]:
        self._anchor, self._k, self._counter = arrival, 0, counter
        self.last_time = arrival
        return arrival, True

    def _advance(self, step: int, counter: int | None) -> float:
        self._k += step
        self._counter = counter
        self.last_time = self._anchor + self._k / self.rate
        return self.last_time


def build_chunks(info: StreamInfo, times: np.ndarray, starts: np.ndarray,
                 values: np.ndarray) -> list[Chunk]:
    """Chunks of one stream from per-sample session times (s), run starts and values.

    Non-finite values (invalid readings) are dropped; a regular stream starts a new chunk at
    each run start and after each dropped sample, so every chunk is contiguous at the rate.
    """
    times, values = np.asarray(times, dtype=np.float64), np.asarray(values, dtype=np.float64)
    idx = np.flatnonzero(np.isfinite(values))
    if idx.size == 0:
        return []
    if not info.regular:
        return [Chunk(info, values[idx], t0=float(times[idx[0]]), timestamps=times[idx])]
    cuts = np.flatnonzero((np.diff(idx) != 1) | np.asarray(starts, dtype=bool)[idx[1:]]) + 1
    return [Chunk(info, values[seg], t0=float(times[seg[0]])) for seg in np.split(idx, cuts)]


def check_port(path: str) -> None:
    """Raise ``OSError`` saying why serial port ``path`` cannot be opened now (missing, not
    permitted, busy with another program); return quietly when it can.

    On POSIX the port is opened without configuring it (no baud rate set, nothing read) and a
    non-blocking exclusive lock is tried, as pyserial's ``exclusive=True`` takes, then both
    are released: a sensor that resets when its port opens (an Arduino) sees one more reset,
    and nothing it sends is consumed. Elsewhere pyserial opens and closes the port.
    """
    if os.name != "posix":
        serial.Serial(path).close()
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot open serial port {path}: {exc.strerror}") from None
    try:
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OSError(errno.EBUSY, f"serial port {path} is busy: another program has it "
                                       "open") from None
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


async def open_port(path: str, baud: int) -> serial.Serial:
    """Open a serial port (exclusively; 0.1 s read timeout) without blocking the loop.

    Raises ``serial.SerialException`` (an ``OSError``) when the port is missing or busy."""
    return await asyncio.to_thread(serial.Serial, path, baud, timeout=0.1, exclusive=True)


class PortReader:
    """Reads an open port on a thread; the loop gets ``(arrival session time s, bytes)`` items.

    The port's error (an unplug: ``OSError``) is raised by :meth:`batch` after every byte that
    arrived before it has been delivered.
    """

    def __init__(self, port: serial.Serial, clock: SessionClock) -> None:
        self.port = port
        self._clock = clock
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue = asyncio.Queue()
        self._stopping = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"serial reader {port.port}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                data = self.port.read(max(1, self.port.in_waiting))
                if data:
                    self._put((self._clock.now(), data))
        except Exception as exc:  # noqa: BLE001 - handed to the loop, which raises it
            if not self._stopping.is_set():
                self._put(exc)

    def _put(self, item) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:        # the loop has closed: nobody is listening any more
            self._stopping.set()

    async def batch(self, window_s: float) -> list[tuple[float, bytes]]:
        """Wait for data, collect for ``window_s`` real seconds more, return what arrived."""
        if self._error is not None:
            raise self._error
        items = [await self._queue.get()]
        await asyncio.sleep(window_s)
        while not self._queue.empty():
            items.append(self._queue.get_nowait())
        data = []
        for item in items:
            if isinstance(item, BaseException):
                self._error = item
                break
            data.append(item)
        if not data:
            raise self._error
        return data

    def stop(self) -> None:
        """Stop the thread (the caller closes the port)."""
        self._stopping.set()
        self.port.cancel_read()
        self._thread.join(timeout=1.0)


@dataclass
class SerialStats:
    """Counters of a :class:`SerialSensor` over the whole session (all connections)."""

    lines: int = 0          #: valid lines
    samples: int = 0        #: valid sample lines
    garbage: int = 0        #: lines that are not records of the format
    partial: int = 0        #: cut lines (including one cut by an unplug)
    bad_checksum: int = 0   #: lines whose checksum does not match
    invalid: int = 0        #: converted values outside the valid range (dropped), e.g. GSR ADC >= calibration
    lost: int = 0           #: samples missing per the device counter
    resyncs: int = 0        #: times the sample clock re-anchored (see :class:`SampleClock`)


class SerialSensor(ReconnectingDevice):
    """A DIY serial sensor read per its device profile (specs.md section 4).

    Parameters
    ----------
    profile : Profile, str or path
        A profile, a built-in profile name (``"grove-gsr"``, ``"pulsesensor"``,
        ``"biofeed-arduino"``) or the path of a ``.toml`` profile.
    port : str or path
        Serial port path (``/dev/ttyACM0``, ``COM3``, a symlink); opened again after an unplug.
    device_id : str, optional
        Device id for the streams; the profile's name by default.
    chunk_s : float
        Real seconds of data collected into each batch of chunks.

    Attributes
    ----------
    stats : SerialStats
    """

    #: Reopening a port is cheap: retry after 0.25 s, at most every 2 s.
    backoff_s = (0.25, 2.0)

    def __init__(self, profile: Profile | str | os.PathLike, port: str | os.PathLike,
                 device_id: str | None = None, chunk_s: float = 0.1) -> None:
        super().__init__()
        self.profile = profile if isinstance(profile, Profile) else load_profile(profile)
        self.port = os.fspath(port)
        self.id = device_id or self.profile.name
        self.streams = self.profile.stream_infos(self.id)
        self.chunk_s = chunk_s
        self.stats = SerialStats()
        self._parser = LineParser(self.profile.format)

    def describe(self) -> dict:
        return super().describe() | {"profile": self.profile.name, "profile_source": self.profile.source,
                                     "port": self.port, "baud": self.profile.baud}

    async def probe(self) -> None:
        """The port can be opened (:func:`check_port`)."""
        await asyncio.to_thread(check_port, self.port)

    def error_counts(self) -> dict[str, int]:
        """Line errors (``decode_errors`` = garbage + partial + bad-checksum lines), dropped
        values, samples lost per the counter, clock re-anchorings and failed connections."""
        st = self.stats
        return super().error_counts() | {
            "decode_errors": st.garbage + st.partial + st.bad_checksum,
            "garbage_lines": st.garbage, "partial_lines": st.partial,
            "bad_checksum_lines": st.bad_checksum, "invalid_values": st.invalid,
            "lost_samples": st.lost, "resyncs": st.resyncs}

    async def connection(self, clock: SessionClock) -> AsyncIterator[Chunk]:
        port = await open_port(self.port, self.profile.baud)
        reader = PortReader(port, clock)
        splitter = LineSplitter()
        sclock = SampleClock(self.profile.rate, self.stats, self.profile.format.counter_modulo)
        try:
            while True:
                for chunk in self._decode(await reader.batch(self.chunk_s), splitter, sclock):
                    yield chunk
        finally:
            reader.stop()
            port.close()
            if splitter.pending:
                self._bad(LineError("partial", splitter.pending, "cut when the connection ended"))

    def _decode(self, batch: list[tuple[float, bytes]], splitter: LineSplitter,
                sclock: SampleClock) -> list[Chunk]:
        cols: dict[str, tuple[list, list, list]] = {s.name: ([], [], []) for s in self.profile.streams}
        for arrival, data in batch:
            for line in splitter.feed(data):
                try:
                    rec = self._parser.parse(line)
                except LineError as err:
                    self._bad(err)
                    continue
                self.stats.lines += 1
                if rec.sample:
                    self.stats.samples += 1
                    t, start = sclock.place(arrival, rec.counter)
                else:     # a beat value: at the last sample before it
                    t, start = (arrival if sclock.last_time is None else sclock.last_time), False
                for spec in self.profile.streams:
                    if spec.field in rec.values:
                        times, starts, values = cols[spec.name]
                        times.append(t)
                        starts.append(start)
                        values.append(rec.values[spec.field])
        chunks = []
        for spec, info in zip(self.profile.streams, self.streams):
            times, starts, raw = cols[spec.name]
            if times:
                values = spec.conversion.apply(raw)
                self.stats.invalid += int(np.count_nonzero(~np.isfinite(values)))
                chunks += build_chunks(info, times, starts, values)
        return chunks

    def _bad(self, err: LineError) -> None:
        count = getattr(self.stats, err.reason) + 1
        setattr(self.stats, err.reason, count)
        level = logging.WARNING if count == 1 or count % 100 == 0 else logging.DEBUG
        log.log(level, "%s on %s: %s (%d %s so far)", self.id, self.port, err, count, err.reason)
