"""Polar H10: raw ECG and accelerometer over the Polar Measurement Data (PMD) service.

Wire format: ``shared/docs/specs.md`` section 2 (service ``FB005C80-...``, control point
``FB005C81-...`` read/write/indicate, data ``FB005C82-...`` notify). The H10 is also a standard
heart-rate strap, so :class:`PolarH10` extends :class:`~biofeed.devices.ble_hr.BleHeartRate`
and shares its Heart Rate Measurement decoding and RR beat timing.

Commands are ``op code, measurement type, settings`` where each setting is ``id, count 1,
uint16 LE value`` (:func:`pmd_start_command`). ECG: :data:`ECG_START` is exactly
``02 00 00 01 82 00 01 01 0E 00`` (130 Hz, 14 bit), :data:`ECG_STOP` ``03 00``. The control point
answers each command with an indication ``F0 <op> <type> <error> ...`` (error 0 = success).

Data frames: ``[0]`` measurement type, ``[1..8]`` uint64 LE timestamp (ns since
2000-01-01T00:00:00Z, sensor clock) of the LAST sample, ``[9]`` frame type, ``[10..]`` samples.
ECG (type 0, frame type 0): signed 24-bit LE samples in uV (:func:`parse_ecg_frame`).

The accelerometer is not specified in specs.md; its layout follows the open implementations
that specs.md cites (bleakheart, polar-ble-sdk): measurement type 2, frame type 1 = x, y, z as
signed 16-bit LE in mG (milli-g, 1 mG = 9.80665e-3 m/s^2) per sample (:func:`parse_acc_frame`);
settings id 2 is the range in g. :data:`ACC_START` asks for 200 Hz, 16 bit, 8 g.

Timing: frames carry sensor-clock timestamps. A :class:`~biofeed.devices.ble_hr.ClockMap`
(offset by the lower envelope of arrival times, drift by a clipped least-squares slope, 60 s
window) maps the sensor clock to the session clock; ECG and ACC frames feed the same map. Per
specs.md section 2 the interval between consecutive frame timestamps is spread over the frame's
samples and a first frame steps back ``1/fs`` per sample from its timestamp. Chunks are regular
at the nominal rate: a frame that continues the previous one starts where it ended, nudged by
at most one sample period towards the mapped time when they differ by more than half a sample
(so drift and the map's settling never open a gap of 1.5 samples or more, and never reorder
samples); when frames are missing (the timestamp advanced by more than the frame's samples plus
half a frame) or on a new connection, the chunk starts at its mapped time (a gap).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from bleak import BleakClient
from bleak.exc import BleakError

from ..clock import SessionClock
from ..stream import Chunk, StreamInfo
from .ble_hr import BleHeartRate, ClientFactory, ClockMap

__all__ = ["PMD_CONTROL", "PMD_DATA", "ECG", "ACC", "ECG_RATE_HZ", "ACC_RATE_HZ",
           "ECG_START", "ECG_STOP", "ACC_START", "ACC_STOP", "PmdDecodeError", "PmdCommandError",
           "PmdResponse", "pmd_start_command", "pmd_stop_command", "parse_pmd_features",
           "parse_pmd_response", "parse_ecg_frame", "parse_acc_frame", "SensorTimeline",
           "PolarH10"]

#: PMD control point and data characteristics (specs.md section 2).
PMD_CONTROL = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: Measurement types (specs.md section 2).
ECG, ACC = 0, 2
_OP_START, _OP_STOP = 0x02, 0x03
_SAMPLE_RATE, _RESOLUTION, _RANGE = 0, 1, 2
_FEATURES, _RESPONSE = 0x0F, 0xF0
_HEADER = 10

#: ECG and accelerometer sampling rates asked for, Hz.
ECG_RATE_HZ, ACC_RATE_HZ = 130, 200


class PmdDecodeError(ValueError):
    """A PMD control-point reply or data frame does not follow specs.md section 2.

    The message names the byte offset, the field and what was expected.
    """


class PmdCommandError(ConnectionError):
    """The sensor refused a PMD command (non-zero error byte): the connection is retried."""


def pmd_start_command(measurement: int, settings: Sequence[tuple[int, int]]) -> bytes:
    """``02 <type>`` then ``<setting id> 01 <uint16 LE value>`` per setting (specs.md section 2)."""
    out = bytearray((_OP_START, measurement))
    for setting, value in settings:
        out += bytes((setting, 1)) + int(value).to_bytes(2, "little")
    return bytes(out)


def pmd_stop_command(measurement: int) -> bytes:
    """``03 <type>`` (specs.md section 2)."""
    return bytes((_OP_STOP, measurement))


#: Start ECG at 130 Hz, 14 bit: ``02 00 00 01 82 00 01 01 0E 00`` (specs.md section 2).
ECG_START = pmd_start_command(ECG, ((_SAMPLE_RATE, ECG_RATE_HZ), (_RESOLUTION, 14)))
ECG_STOP = pmd_stop_command(ECG)
#: Start ACC at 200 Hz, 16 bit, range 8 g: ``02 02 00 01 C8 00 01 01 10 00 02 01 08 00``.
ACC_START = pmd_start_command(ACC, ((_SAMPLE_RATE, ACC_RATE_HZ), (_RESOLUTION, 16), (_RANGE, 8)))
ACC_STOP = pmd_stop_command(ACC)


@dataclass(frozen=True)
class PmdResponse:
    """A control-point reply ``F0 <op> <type> <error> <rest...>`` (specs.md section 2)."""

    op: int
    measurement: int
    error: int
    rest: bytes


def parse_pmd_features(data: bytes) -> frozenset[int]:
    """Measurement types a sensor offers, from reading the control point: ``0F`` + bitmask.

    Bit ``k`` of the mask set means measurement type ``k`` (H10: ``0F 05`` -> {ECG, ACC}).
    """
    data = bytes(data)
    if len(data) < 2 or data[0] != _FEATURES:
        raise PmdDecodeError(f"offset 0: control-point read must be 0F + feature bitmask, got "
                             f"{data.hex(' ') or 'nothing'}")
    mask = int.from_bytes(data[1:], "little")
    return frozenset(k for k in range(8 * (len(data) - 1)) if mask >> k & 1)


def parse_pmd_response(data: bytes) -> PmdResponse:
    """Decode a control-point indication ``F0 <op> <type> <error> ...`` (specs.md section 2)."""
    data = bytes(data)
    if len(data) < 4:
        raise PmdDecodeError(f"offset {len(data)}: a control-point reply has at least 4 bytes "
                             f"(F0 op type error), got {len(data)}")
    if data[0] != _RESPONSE:
        raise PmdDecodeError(f"offset 0: a control-point reply starts with F0, got {data[0]:02X}")
    return PmdResponse(data[1], data[2], data[3], data[4:])


def _frame(data: bytes, measurement: int, frame_type: int, sample_bytes: int, what: str):
    """Header checks shared by the data-frame decoders; returns (timestamp_ns, sample bytes)."""
    data = bytes(data)
    if len(data) < _HEADER:
        raise PmdDecodeError(f"offset {len(data)}: a PMD data frame has a {_HEADER}-byte header "
                             f"(type, uint64 timestamp, frame type), got {len(data)} byte(s)")
    if data[0] != measurement:
        raise PmdDecodeError(f"offset 0: measurement type {data[0]}, expected {measurement} ({what})")
    if data[9] != frame_type:
        raise PmdDecodeError(f"offset 9: frame type {data[9]}, expected {frame_type} ({what})")
    body = len(data) - _HEADER
    if body == 0 or body % sample_bytes:
        raise PmdDecodeError(f"offset {_HEADER}: {what} samples are {sample_bytes} bytes each, "
                             f"got {body} byte(s) of samples")
    return int.from_bytes(data[1:9], "little"), np.frombuffer(data, np.uint8, offset=_HEADER)


def parse_ecg_frame(data: bytes) -> tuple[int, np.ndarray]:
    """Decode a PMD ECG data frame (specs.md section 2).

    Returns
    -------
    timestamp_ns : int
        Sensor time of the LAST sample as sent, ns since 2000-01-01T00:00:00Z.
    samples_uv : ndarray of int64
        ECG samples, oldest first, uV.

    Raises
    ------
    PmdDecodeError
        Short header, not an ECG frame (type 0, frame type 0), or no / partial 3-byte samples.
    """
    timestamp, raw = _frame(data, ECG, 0, 3, "ECG")
    b = raw.reshape(-1, 3).astype(np.int64)
    v = b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16
    return timestamp, (v ^ 0x800000) - 0x800000


def parse_acc_frame(data: bytes) -> tuple[int, np.ndarray]:
    """Decode a PMD accelerometer frame, frame type 1 (see the module notes; not in specs.md).

    Returns
    -------
    timestamp_ns : int
        Sensor time of the LAST sample as sent, ns since 2000-01-01T00:00:00Z.
    samples_mg : ndarray of int64, shape (n, 3)
        x, y, z acceleration, oldest first, mG.

    Raises
    ------
    PmdDecodeError
        Short header, not an ACC frame of type 1, or no / partial 6-byte samples.
    """
    timestamp, raw = _frame(data, ACC, 1, 6, "ACC")
    return timestamp, raw.view("<i2").reshape(-1, 3).astype(np.int64)


class SensorTimeline:
    """Session-time start of each frame of one regular PMD stream (method in the module notes).

    Parameters
    ----------
    rate : float
        Nominal sampling rate, Hz.
    clock_map : ClockMap
        Sensor seconds -> session seconds, shared by the streams of one sensor.
    """

    def __init__(self, rate: float, clock_map: ClockMap) -> None:
        self.rate = float(rate)
        self.map = clock_map
        self._prev_ns: int | None = None
        self._t_end = 0.0

    def place(self, timestamp_ns: int, n: int, arrival: float) -> float:
        """``t0`` (session s) of a frame of ``n`` samples received at ``arrival`` (session s)
        whose last sample the sensor stamped ``timestamp_ns`` (ns).

        Raises ConnectionError when the sensor clock went back (reconnecting resynchronises).
        """
        prev_ns = self._prev_ns
        if prev_ns is not None and timestamp_ns <= prev_ns:
            raise ConnectionError(f"sensor clock went back from {prev_ns} to {timestamp_ns} ns")
        s_last = timestamp_ns * 1e-9
        self.map.add(s_last, arrival)
        step = 1.0 / self.rate
        if prev_ns is not None and (timestamp_ns - prev_ns) * 1e-9 * self.rate - n <= max(1.5, n / 2):
            skew = float(self.map(prev_ns * 1e-9 + (timestamp_ns - prev_ns) * 1e-9 / n)) - self._t_end
            t0 = self._t_end if abs(skew) <= step / 2 else self._t_end + float(np.clip(skew, -step, step))
        else:
            t0 = float(self.map(s_last - (n - 1) * step))
        self._prev_ns = timestamp_ns
        self._t_end = t0 + n * step
        return t0


class PolarH10(BleHeartRate):
    """Polar H10 chest strap: ECG and accelerometer (PMD) plus heart rate and RR intervals.

    Streams (``<name>`` is the device id): ``<name>.hr`` and ``<name>.rr`` as
    :class:`~biofeed.devices.ble_hr.BleHeartRate`; ``<name>.ecg`` - kind ``"ecg"``, uV,
    130 Hz, channel ``ecg``; ``<name>.acc`` - kind ``"acc"``, mG, 200 Hz, channels ``x, y, z``
    (empty when the sensor does not offer ACC). Timing and gaps: see the module notes.

    On each connection: subscribe to heart rate (and read the battery), read the PMD features,
    enable control-point indications and data notifications, then start ECG and ACC, checking
    each reply. A refused command (:class:`PmdCommandError`) or a reply that does not come
    within :attr:`command_timeout_s` real seconds is a drop-out (retried); a peripheral without
    PMD ECG ends the session.

    Parameters
    ----------
    address : str
        Bluetooth address (or platform id) of the H10.
    name : str
        Device id and stream-name prefix.
    client_factory : callable
        As for :class:`~biofeed.devices.ble_hr.BleHeartRate`.
    """

    #: Real seconds to wait for a control-point reply.
    command_timeout_s: float = 5.0

    def __init__(self, address: str, name: str = "polar-h10",
                 client_factory: ClientFactory = BleakClient) -> None:
        super().__init__(address, name, client_factory)
        self.ecg_info = StreamInfo(f"{name}.ecg", "ecg", "uV", float(ECG_RATE_HZ), ("ecg",), name)
        self.acc_info = StreamInfo(f"{name}.acc", "acc", "mG", float(ACC_RATE_HZ), ("x", "y", "z"), name)
        self.streams = (*self.streams, self.ecg_info, self.acc_info)
        self._decoders = {ECG: (parse_ecg_frame, self.ecg_info), ACC: (parse_acc_frame, self.acc_info)}
        self._timelines: dict[int, SensorTimeline] = {}
        self._running: tuple[int, ...] = ()

    async def _subscribe(self, client, inbox: asyncio.Queue, clock: SessionClock) -> None:
        await super()._subscribe(client, inbox, clock)
        if client.services.get_characteristic(PMD_CONTROL) is None:
            raise RuntimeError(f"{self.address} has no Polar PMD control point ({PMD_CONTROL})")
        features = parse_pmd_features(await client.read_gatt_char(PMD_CONTROL))
        if ECG not in features:
            raise RuntimeError(f"{self.address}: PMD offers measurement types {sorted(features)}, "
                               f"no ECG ({ECG})")
        clock_map = ClockMap(window_s=60.0, max_drift=500e-6)
        self._timelines = {ECG: SensorTimeline(ECG_RATE_HZ, clock_map),
                           ACC: SensorTimeline(ACC_RATE_HZ, clock_map)}
        replies: asyncio.Queue = asyncio.Queue()
        await client.start_notify(PMD_CONTROL, lambda _c, data: replies.put_nowait(bytes(data)))
        await client.start_notify(PMD_DATA, self._forward(inbox, clock, self._on_pmd))
        self._running = ()
        for measurement, command in ((ECG, ECG_START), (ACC, ACC_START)):
            if measurement in features:
                await client.write_gatt_char(PMD_CONTROL, command, response=True)
                async with asyncio.timeout(self.command_timeout_s):   # not wait_for (3.11)
                    reply = await replies.get()
                self._check_reply(reply, command)
                self._running += (measurement,)

    @staticmethod
    def _check_reply(data: bytes, command: bytes) -> None:
        try:
            reply = parse_pmd_response(data)
        except PmdDecodeError as exc:
            raise ConnectionError(f"reply to PMD command {command.hex(' ')}: {exc}") from exc
        if (reply.op, reply.measurement) != (command[0], command[1]) or reply.error:
            raise PmdCommandError(f"PMD command {command.hex(' ')} answered {bytes(data).hex(' ')} "
                                  f"(error {reply.error})")

    async def _close(self, client) -> None:
        if client.is_connected:
            for measurement in self._running:
                try:
                    await client.write_gatt_char(PMD_CONTROL, pmd_stop_command(measurement),
                                                 response=True)
                except (BleakError, OSError):
                    break        # the link is going down anyway; disconnect stops streaming too
        self._running = ()
        await super()._close(client)

    def _on_pmd(self, arrival: float, data: bytes) -> list[Chunk]:
        """The chunk of one PMD data frame received at ``arrival`` (session s)."""
        if not data or data[0] not in self._decoders:
            self._decode_failed(PmdDecodeError(f"offset 0: measurement type "
                                               f"{data[0] if data else 'missing'}, expected ECG "
                                               f"({ECG}) or ACC ({ACC})"), data)
            return []
        decode, info = self._decoders[data[0]]
        try:
            timestamp, samples = decode(data)
        except PmdDecodeError as exc:
            self._decode_failed(exc, data)
            return []
        t0 = self._timelines[data[0]].place(timestamp, len(samples), arrival)
        return [Chunk(info, samples, t0)]
