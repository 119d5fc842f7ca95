"""Any standard Bluetooth LE heart-rate strap (Polar, Garmin, Wahoo, ...) through bleak.

Wire format: ``shared/docs/specs.md`` section 1 (Bluetooth SIG Heart Rate Service 0x180D,
Heart Rate Measurement 0x2A37, Battery Level 0x2A19).

Decoding (:func:`parse_heart_rate_measurement`), flag by flag:

* bit 0 - heart rate is uint8 (0) or uint16 little-endian (1), in bpm.
* bits 1-2 - sensor contact: 0 or 1 = feature not supported (``contact=None``), 2 = supported
  but no skin contact (``False``), 3 = in contact (``True``).
* bit 3 - energy expended present: uint16, kJ (``energy_kj``; ``None`` when absent).
* bit 4 - RR intervals present: every remaining uint16 is one RR interval, oldest first, in
  units of 1/1024 s, converted to ms as ``raw * 1000 / 1024`` (never taken as ms). The flag with
  no values left is valid (no beat since the last notification).
* bits 5-7 - reserved for future use: ignored, as Bluetooth receivers must ignore RFU bits.
* Bytes left over after the flagged fields while bit 4 is clear are an error: the flags do not
  describe the payload, so nothing in it can be trusted.

Malformed input raises :class:`HeartRateDecodeError`, naming the byte offset and field.

Beat times (:class:`RRBeatTimes`): a strap reports RR intervals, not beat times, typically in
one notification a second holding the beats since the previous one. Beat times are the running
sum of the RR intervals (so consecutive beats lie exactly one reported RR apart), mapped to the
session clock by a :class:`ClockMap`: the sum at the last beat of a notification is paired with
the notification's arrival time, and the offset is the lower envelope of those pairs - the
notification that arrived with the least delay puts its last beat exactly at its arrival, every
other beat lies earlier than the arrival of the notification that carried it. Beat times are
therefore late by the smallest beat-to-arrival delay seen (with one notification a second,
typically a few tens of ms), never early. The envelope is taken over a trailing 60 s window, so
it follows strap clock drift and, within a window, RR values the strap never sent; where the
offset changes (about 3 % of beats in simulations), that beat's spacing differs from its RR
by the change. When the offset falls (a faster arrival was seen), the first beat of the
notification still lies at least half its RR after the previous beat and the rest of the
correction is left to later notifications, so beat times never go backwards.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import AsyncIterator, Callable

import numpy as np
from bleak import BleakClient
from bleak.exc import BleakError

from ..clock import SessionClock
from ..stream import Chunk, StreamInfo
from .reconnect import ReconnectingDevice

__all__ = ["HEART_RATE_MEASUREMENT", "BATTERY_LEVEL", "HeartRateDecodeError",
           "HeartRateMeasurement", "parse_heart_rate_measurement", "ClockMap", "RRBeatTimes",
           "BleHeartRate", "ble_uuid"]

log = logging.getLogger(__name__)


def ble_uuid(short: int) -> str:
    """Full 128-bit form of a 16-bit Bluetooth SIG UUID (specs.md section 1)."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


#: Heart Rate Measurement characteristic (notify), specs.md section 1.
HEART_RATE_MEASUREMENT = ble_uuid(0x2A37)
#: Battery Level characteristic (read, percent), specs.md section 1.
BATTERY_LEVEL = ble_uuid(0x2A19)

_HR_UINT16 = 0x01
_ENERGY = 0x08
_RR = 0x10


class HeartRateDecodeError(ValueError):
    """A Heart Rate Measurement notification does not follow specs.md section 1.

    The message names the byte offset, the field and what was expected.
    """


@dataclass(frozen=True)
class HeartRateMeasurement:
    """One decoded Heart Rate Measurement notification (specs.md section 1).

    Attributes
    ----------
    hr_bpm : int
        Heart rate as computed by the sensor, bpm.
    rr_ms : list of float
        RR intervals, oldest first, ms (sent in 1/1024 s units); empty when none were sent.
    contact : bool or None
        Skin contact; ``None`` when the sensor does not support contact detection.
    energy_kj : int or None
        Cumulative energy expended, kJ; ``None`` when not sent.
    """

    hr_bpm: int
    rr_ms: list[float]
    contact: bool | None
    energy_kj: int | None


def _uint16(data: bytes, offset: int, field: str) -> int:
    left = len(data) - offset
    if left < 2:
        raise HeartRateDecodeError(f"offset {offset}: {field} is a uint16 (2 bytes) but only "
                                   f"{left} byte(s) are left in the {len(data)}-byte notification")
    return data[offset] | data[offset + 1] << 8


def parse_heart_rate_measurement(data: bytes) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement (0x2A37) notification; see the module notes.

    Raises
    ------
    HeartRateDecodeError
        Empty payload, a heart rate, energy or RR field cut short, an odd byte after the RR
        intervals, or bytes after the flagged fields when no RR intervals are flagged.
    """
    data = bytes(data)
    if not data:
        raise HeartRateDecodeError("offset 0: empty notification, expected the flags byte")
    flags = data[0]
    if flags & _HR_UINT16:
        hr = _uint16(data, 1, "heart rate (flags bit 0 = 1)")
        offset = 3
    else:
        if len(data) < 2:
            raise HeartRateDecodeError("offset 1: heart rate is a uint8 (flags bit 0 = 0) but "
                                       "the notification ends after the flags byte")
        hr = data[1]
        offset = 2
    contact_bits = (flags >> 1) & 0b11
    contact = None if contact_bits < 2 else contact_bits == 3
    energy = None
    if flags & _ENERGY:
        energy = _uint16(data, offset, "energy expended (flags bit 3)")
        offset += 2
    left = len(data) - offset
    if not flags & _RR:
        if left:
            raise HeartRateDecodeError(
                f"offset {offset}: {left} byte(s) after the last flagged field, but the RR-interval "
                f"flag (bit 4) is clear in flags 0x{flags:02x}")
        return HeartRateMeasurement(hr, [], contact, energy)
    if left % 2:
        raise HeartRateDecodeError(
            f"offset {len(data) - 1}: RR intervals are uint16 (2 bytes each) but {left} byte(s) "
            f"follow offset {offset}, leaving one odd byte")
    raw = np.frombuffer(data, dtype="<u2", offset=offset) if left else np.empty(0)
    return HeartRateMeasurement(hr, (raw * (1000.0 / 1024.0)).tolist(), contact, energy)


class ClockMap:
    """Map a sensor's clock to the session clock, both in seconds: offset and drift.

    Each observation pairs a sensor time ``s`` with the session time ``a`` at which the host
    received something the sensor stamped ``s``: ``a = offset + rate * s + delay``, where the
    delay (radio connection interval, operating system, sensor batching) is never negative and
    varies. Over a trailing window of ``window_s`` session seconds:

    * ``rate`` is the slope of that lower envelope: the least-squares line through the
      least-delayed observation of each quarter of the window, once the observations span half
      the window, clipped to ``1 +- max_drift`` (crystals are off by tens of ppm, so a larger
      slope is jitter, not drift); it is 1 before that and always 1 with ``max_drift=0``;
    * ``offset`` is the lower envelope ``min(a - rate * s)``: the least-delayed observation, so
      arrival jitter only ever makes the map later by the smallest delay seen, never noisier.

    Parameters
    ----------
    window_s : float
        Trailing window of observations, session seconds.
    max_drift : float
        Largest clock-rate difference fitted (dimensionless; 500e-6 = 500 ppm).
    """

    def __init__(self, window_s: float = 60.0, max_drift: float = 500e-6) -> None:
        if not window_s > 0 or not max_drift >= 0:
            raise ValueError(f"need window_s > 0 s and max_drift >= 0, got {window_s!r}, {max_drift!r}")
        self.window_s = float(window_s)
        self.max_drift = float(max_drift)
        self._obs: deque[tuple[float, float]] = deque()
        self.rate = 1.0
        self.offset = math.nan

    def add(self, s: float, a: float) -> None:
        """Observe that data stamped ``s`` (sensor seconds) arrived at ``a`` (session seconds)."""
        self._obs.append((float(s), float(a)))
        while self._obs[0][1] < a - self.window_s:
            self._obs.popleft()
        s_obs, a_obs = np.array(self._obs).T
        self.rate = 1.0
        if self.max_drift > 0 and s_obs[-1] - s_obs[0] >= self.window_s / 2:
            # the least-delayed observation of each quarter of the window lies on the envelope
            quarter = np.minimum((4 * (s_obs - s_obs[0]) / (s_obs[-1] - s_obs[0])).astype(int), 3)
            delay = a_obs - s_obs
            groups = (np.flatnonzero(quarter == q) for q in range(4))   # first, last never empty
            low = [i[np.argmin(delay[i])] for i in groups if len(i)]
            slope = np.polyfit(s_obs[low] - s_obs[0], a_obs[low], 1)[0]
            self.rate = float(np.clip(slope, 1 - self.max_drift, 1 + self.max_drift))
        self.offset = float(np.min(a_obs - self.rate * s_obs))

    def __call__(self, s):
        """Session time (seconds) of sensor time ``s`` (seconds; scalar or array)."""
        if not self._obs:
            raise RuntimeError("ClockMap has no observation yet")
        return self.offset + self.rate * np.asarray(s, dtype=np.float64)


class RRBeatTimes:
    """Session times of the beats that end reported RR intervals (method in the module notes).

    Parameters
    ----------
    window_s : float
        Trailing window (session seconds) of the :class:`ClockMap` anchoring the RR sum.
    """

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self.last_beat: float | None = None
        self.restart()

    def restart(self) -> None:
        """Start a new RR sequence (after a reconnection: beats in between were lost).

        Beat times stay after :attr:`last_beat`.
        """
        self._map = ClockMap(self.window_s, max_drift=0.0)
        self._sum = 0.0            # RR sum at the last beat, s (strap time)
        self._offset: float | None = None   # offset used for the last beat

    def update(self, rr_ms, arrival: float) -> np.ndarray:
        """Beat times (session s) for RR intervals ``rr_ms`` (ms) of a notification at ``arrival`` (s)."""
        rr = np.asarray(rr_ms, dtype=np.float64) / 1000.0
        if not len(rr):
            return np.empty(0)
        sums = self._sum + np.cumsum(rr)
        self._sum = float(sums[-1])
        self._map.add(self._sum, arrival)
        offset = self._map.offset
        if self._offset is not None:
            offset = max(offset, self._offset - rr[0] / 2)
        times = offset + sums
        if self.last_beat is not None and times[0] < self.last_beat + rr[0] / 2:
            times += self.last_beat + rr[0] / 2 - times[0]
            offset = float(times[-1] - sums[-1])
        self._offset = offset
        self.last_beat = float(times[-1])
        return times


_DISCONNECTED = object()

ClientFactory = Callable[..., BleakClient]


class BleHeartRate(ReconnectingDevice):
    """A standard Bluetooth LE heart-rate strap (specs.md section 1) as a biofeed device.

    Streams (``<name>`` is the device id):

    * ``<name>.hr`` - kind ``"hr"``, unit bpm, irregular: one sample per notification, stamped
      with its arrival on the session clock. Channels ``hr`` (bpm as sent) and ``contact``
      (1 = skin contact, 0 = contact lost, NaN = the strap cannot tell), so contact loss is
      recorded sample by sample without interrupting the stream.
    * ``<name>.rr`` - kind ``"rr"``, unit ms, irregular: one sample per RR interval, stamped with
      the session time of the beat that ends it (see the module notes).

    The Battery Level (0x2A19, percent) is read on every connection when the strap has it and
    kept in :attr:`battery_percent`. A notification that does not decode is skipped and counted
    in :attr:`decode_errors`. A dropped link, a connection that fails, or any bleak error counts
    as a drop-out (:class:`~biofeed.devices.reconnect.ReconnectingDevice` reconnects and records
    a gap); a peripheral without the Heart Rate Measurement characteristic ends the session.

    Parameters
    ----------
    address : str
        Bluetooth address (or platform id) of the strap.
    name : str
        Device id and stream-name prefix.
    client_factory : callable
        ``client_factory(address, disconnected_callback=cb)`` returns a client with bleak's
        ``BleakClient`` interface; the tests pass a fake GATT peer here.
    """

    def __init__(self, address: str, name: str = "hrstrap",
                 client_factory: ClientFactory = BleakClient) -> None:
        super().__init__()
        self.address = address
        self.id = name
        self.client_factory = client_factory
        self.hr_info = StreamInfo(f"{name}.hr", "hr", "bpm", 0.0, ("hr", "contact"), name)
        self.rr_info = StreamInfo(f"{name}.rr", "rr", "ms", 0.0, ("rr",), name)
        self.streams = (self.hr_info, self.rr_info)
        self.beats = RRBeatTimes()
        self.battery_percent: int | None = None
        self.decode_errors = 0
        self.last_decode_error = ""

    def describe(self) -> dict:
        return super().describe() | {"address": self.address}

    def error_counts(self) -> dict[str, int]:
        """Notifications that did not decode (``decode_errors``) and failed connections."""
        return super().error_counts() | {"decode_errors": self.decode_errors}

    async def connection(self, clock: SessionClock) -> AsyncIterator[Chunk]:
        inbox: asyncio.Queue = asyncio.Queue()
        client = self.client_factory(self.address,
                                     disconnected_callback=lambda _c: inbox.put_nowait(_DISCONNECTED))
        try:
            await client.connect()
            await self._subscribe(client, inbox, clock)
            while True:
                item = await inbox.get()
                if item is _DISCONNECTED:
                    raise ConnectionError(f"{self.address} disconnected")
                handler, arrival, data = item
                for chunk in handler(arrival, data):
                    yield chunk
        except BleakError as exc:
            raise ConnectionError(f"{self.address}: {type(exc).__name__}: {exc}") from exc
        finally:
            await self._close(client)

    async def _subscribe(self, client, inbox: asyncio.Queue, clock: SessionClock) -> None:
        """Set up a fresh connection: subscribe to 0x2A37, read the battery."""
        if client.services.get_characteristic(HEART_RATE_MEASUREMENT) is None:
            raise RuntimeError(f"{self.address} has no Heart Rate Measurement characteristic "
                               f"(0x2A37): not a heart-rate sensor")
        self.beats.restart()
        await client.start_notify(HEART_RATE_MEASUREMENT, self._forward(inbox, clock, self._on_hr))
        if client.services.get_characteristic(BATTERY_LEVEL) is not None:
            level = await client.read_gatt_char(BATTERY_LEVEL)
            self.battery_percent = level[0] if level else None

    async def _close(self, client) -> None:
        """End a connection; a link that is already gone is not an error."""
        if not client.is_connected:
            return
        try:
            await client.disconnect()
        except (BleakError, OSError) as exc:
            log.info("%s: disconnect failed: %s", self.address, exc)

    @staticmethod
    def _forward(inbox: asyncio.Queue, clock: SessionClock, handler):
        """A bleak notification callback queueing ``(handler, arrival time, bytes)``."""
        def callback(_characteristic, data: bytearray) -> None:
            inbox.put_nowait((handler, clock.now(), bytes(data)))
        return callback

    def _on_hr(self, arrival: float, data: bytes) -> list[Chunk]:
        """Chunks of one Heart Rate Measurement notification received at ``arrival`` (s)."""
        try:
            m = parse_heart_rate_measurement(data)
        except HeartRateDecodeError as exc:
            self._decode_failed(exc, data)
            return []
        contact = math.nan if m.contact is None else float(m.contact)
        out = [Chunk(self.hr_info, [[m.hr_bpm, contact]], arrival, timestamps=[arrival])]
        if m.rr_ms:
            times = self.beats.update(m.rr_ms, arrival)
            out.append(Chunk(self.rr_info, m.rr_ms, float(times[0]), timestamps=times))
        return out

    def _decode_failed(self, exc: ValueError, data: bytes) -> None:
        self.decode_errors += 1
        self.last_decode_error = str(exc)
        log.warning("%s: skipped a notification that does not decode (%s): %s",
                    self.id, data.hex(" "), exc)
