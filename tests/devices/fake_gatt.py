"""A fake GATT peer that replaces bleak's ``BleakClient`` at the transport boundary.

:class:`FakePeripheral` is the sensor: its characteristics, its link (with outages on the
session clock) and a script of notifications sent at session times. :meth:`FakePeripheral.client`
has the signature of the adapters' ``client_factory`` and returns a :class:`FakeBleakClient`
with the ``BleakClient`` methods the adapters use (same names, same async-ness, same
``callback(characteristic, bytearray)`` notifications, bleak's exceptions).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from bleak.exc import BleakCharacteristicNotFoundError, BleakDeviceNotFoundError, BleakError
from bumble.profiles.heart_rate_service import HeartRateService

from biofeed.clock import SessionClock
from biofeed.sim.waveforms import ecg_beats


@dataclass
class FakeCharacteristic:
    """One characteristic: ``read`` returns its value, ``write`` (if any) may return a reply
    that is indicated back on the same characteristic, as the Polar PMD control point does."""

    uuid: str
    properties: tuple[str, ...]
    value: bytes = b""
    write: Callable[[bytes], bytes | None] | None = None


class FakeServices:
    """``BleakClient.services``: lookup by UUID (any case)."""

    def __init__(self, chars: dict[str, FakeCharacteristic]) -> None:
        self._chars = chars

    def get_characteristic(self, specifier) -> FakeCharacteristic | None:
        return self._chars.get(str(specifier).lower())


class FakeBleakClient:
    """Client side of one connection attempt to a :class:`FakePeripheral`."""

    def __init__(self, peer: "FakePeripheral", address: str,
                 disconnected_callback: Callable | None = None) -> None:
        self.peer = peer
        self.address = address
        self._disconnected_callback = disconnected_callback
        self._connected = False
        self.subscriptions: dict[str, Callable] = {}

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def services(self) -> FakeServices:
        if not self._connected:
            raise BleakError("Service Discovery has not been performed yet")
        return FakeServices(self.peer.chars)

    async def connect(self, **kwargs) -> None:
        await asyncio.sleep(0)
        self.peer.connect_attempts += 1
        if self.address != self.peer.address or not self.peer.reachable():
            raise BleakDeviceNotFoundError(self.address, f"Device with address {self.address} was not found.")
        self._connected = True
        self.peer.link = self
        self.peer.connections += 1

    async def disconnect(self) -> None:
        await asyncio.sleep(0)
        self._lost()

    def _lost(self) -> None:
        if not self._connected:
            return
        self._connected = False
        self.subscriptions.clear()
        self.peer.link_down()
        if self._disconnected_callback is not None:
            self._disconnected_callback(self)

    def _char(self, specifier, need: str) -> FakeCharacteristic:
        if not self._connected:
            raise BleakError("Not connected")
        char = self.peer.chars.get(str(specifier).lower())
        if char is None:
            raise BleakCharacteristicNotFoundError(specifier)
        if need not in char.properties:
            raise BleakError(f"characteristic {char.uuid} does not support {need}")
        return char

    async def start_notify(self, char_specifier, callback: Callable, **kwargs) -> None:
        char = self._char(char_specifier, "notify")
        await asyncio.sleep(0)
        self.subscriptions[char.uuid] = callback

    async def stop_notify(self, char_specifier) -> None:
        char = self._char(char_specifier, "notify")
        self.subscriptions.pop(char.uuid, None)

    async def read_gatt_char(self, char_specifier, **kwargs) -> bytearray:
        char = self._char(char_specifier, "read")
        await asyncio.sleep(0)
        return bytearray(char.value)

    async def write_gatt_char(self, char_specifier, data, response: bool | None = None) -> None:
        char = self._char(char_specifier, "write")
        await asyncio.sleep(0)
        self.peer.writes.append((char.uuid, bytes(data)))
        reply = char.write(bytes(data))
        if reply is not None:       # an indication, delivered after the write returns
            asyncio.get_running_loop().call_soon(self.peer.notify, char.uuid, reply)


@dataclass
class Sent:
    """One scripted notification: when (session s), on which characteristic, what it says
    (``truth``: true beat times of an HR notification; true sample times and values of a PMD
    frame), and whether it was delivered."""

    t: float
    uuid: str
    data: bytes
    truth: tuple = ()
    delivered: bool = False


@dataclass
class FakePeripheral:
    """A BLE sensor on the session clock.

    ``outages`` are ``(start, end)`` session seconds: at ``start`` the link drops and until
    ``end`` the sensor cannot be found; notifications due meanwhile are lost (nothing buffers
    them, as with a real strap out of range).
    """

    address: str
    chars: dict[str, FakeCharacteristic]
    outages: list[tuple[float, float]] = field(default_factory=list)
    link: FakeBleakClient | None = None
    clock: SessionClock | None = None
    connect_attempts: int = 0
    connections: int = 0
    writes: list[tuple[str, bytes]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)

    def client(self, address: str, disconnected_callback: Callable | None = None) -> FakeBleakClient:
        """The adapters' ``client_factory``."""
        return FakeBleakClient(self, address, disconnected_callback)

    def reachable(self) -> bool:
        if self.clock is None or not self.clock.started:
            return True
        now = self.clock.now()
        return not any(start <= now < end for start, end in self.outages)

    def link_down(self) -> None:
        """Called when the link goes (either side); subclasses reset their state."""
        self.link = None

    def notify(self, uuid: str, data: bytes) -> bool:
        """Send a notification / indication now; True if a subscribed client got it."""
        link = self.link
        callback = link.subscriptions.get(uuid) if link is not None else None
        if callback is None:
            return False
        callback(self.chars[uuid], bytearray(data))
        return True

    def deliverable(self, item: Sent) -> bool:
        """Whether the sensor sends ``item`` now (a PMD sensor only sends what was started)."""
        return True

    async def run(self, clock: SessionClock, script: list[Sent]) -> None:
        """Play ``script`` (sorted by time) on ``clock``, dropping the link at each outage start."""
        self.clock = clock
        while not clock.started:
            await asyncio.sleep(0)
        drops = sorted(start for start, _ in self.outages)
        for item in script:
            while drops and drops[0] <= item.t:
                await clock.sleep_until(drops.pop(0))
                if self.link is not None:
                    self.link._lost()
            await clock.sleep_until(item.t)
            item.delivered = self.deliverable(item) and self.notify(item.uuid, item.data)
            self.sent.append(item)


# -- sensor profiles ---------------------------------------------------------------------------
# UUIDs written out from specs.md sections 1 and 2 (not imported from the code under test).
HRM_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
BATTERY_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
PMD_CP_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"


def strap_chars(battery: int | None = 87) -> dict[str, FakeCharacteristic]:
    """Heart Rate Measurement (notify) and, unless ``battery`` is None, Battery Level (read)."""
    chars = {HRM_UUID: FakeCharacteristic(HRM_UUID, ("notify",))}
    if battery is not None:
        chars[BATTERY_UUID] = FakeCharacteristic(BATTERY_UUID, ("read", "notify"), bytes([battery]))
    return chars


@dataclass
class FakePolarH10(FakePeripheral):
    """Heart-rate strap plus the PMD service: control point (read ``0F 05``, write commands,
    indicate ``F0 op type error``) and data notifications, only for measurements started on
    the current link (a dropped link stops streaming, as on the H10).

    ``refuse_start`` maps a number of start commands to refuse (error byte 5, invalid
    parameter) before accepting.
    """

    streaming: set[int] = field(default_factory=set)
    refuse_start: int = 0

    def __post_init__(self) -> None:
        self.chars[PMD_CP_UUID] = FakeCharacteristic(PMD_CP_UUID, ("read", "write", "notify"),
                                                     bytes([0x0F, 0x05]), self._control)
        self.chars[PMD_DATA_UUID] = FakeCharacteristic(PMD_DATA_UUID, ("notify",))

    def _control(self, data: bytes) -> bytes:
        op, measurement = data[0], data[1]
        error = 0
        if op == 0x02:
            if self.refuse_start:
                self.refuse_start -= 1
                error = 5
            else:
                self.streaming.add(measurement)
        elif op == 0x03:
            self.streaming.discard(measurement)
        return bytes([0xF0, op, measurement, error, 0])

    def link_down(self) -> None:
        super().link_down()
        self.streaming.clear()

    def deliverable(self, item: Sent) -> bool:
        return item.uuid != PMD_DATA_UUID or item.data[0] in self.streaming



# -- what the sensors send ----------------------------------------------------------------------
def encode_hrm(hr: int, rr_raw: list[int] | None = None, contact: bool | None = None,
               energy: int | None = None) -> bytes:
    """Heart Rate Measurement bytes from bumble's encoder (Google's BLE stack, independent of
    biofeed); ``rr_raw`` in 1/1024 s (bumble takes seconds and packs ``int(rr * 1024)``, exact
    for k / 1024)."""
    rr = None if rr_raw is None else [r / 1024 for r in rr_raw]
    return bytes(HeartRateService.HeartRateMeasurement(hr, contact, energy, rr))


def encode_pmd_frame(measurement: int, frame_type: int, timestamp_ns: int, samples,
                     sample_bytes: int) -> bytes:
    """A PMD data frame written from the text of specs.md section 2: type, uint64 LE timestamp
    of the last sample, frame type, then each value as a signed little-endian integer."""
    body = b"".join(int(v).to_bytes(sample_bytes, "little", signed=True)
                    for v in np.asarray(samples).reshape(-1))
    return bytes([measurement]) + int(timestamp_ns).to_bytes(8, "little") + bytes([frame_type]) + body


@dataclass
class Heart:
    """True beats on the session clock: ``beats[i] - beats[i-1] == rr_raw[i] / 1024`` s."""

    beats: np.ndarray
    rr_raw: np.ndarray

    @classmethod
    def random(cls, duration: float, seed: int) -> "Heart":
        rng = np.random.default_rng(seed)
        n = int(duration / 0.6) + 2
        rr_s = 0.85 + 0.08 * np.sin(2 * np.pi * 0.1 * np.arange(n) * 0.85) + rng.normal(0, 0.03, n)
        rr_raw = np.round(rr_s * 1024).astype(np.int64)
        beats = 0.3 + np.cumsum(rr_raw) / 1024
        keep = beats < duration
        return cls(beats[keep], rr_raw[keep])


def hr_script(heart: Heart, duration: float, seed: int, period: float = 1.0,
              latency: tuple[float, float] = (0.01, 0.08), contact=lambda t: True,
              uuid: str = HRM_UUID) -> list[Sent]:
    """A strap's notifications: every ``period`` s the beats since the previous one (HR in bpm
    from their RR, the RR values in 1/1024 s), sent after a random delay. ``contact(t)`` gives
    the contact flag (True / False / None = unsupported)."""
    rng = np.random.default_rng(seed)
    out, hr, prev = [], 60, 0.0
    for tick in np.arange(period, duration, period):
        new = (heart.beats > prev) & (heart.beats <= tick)
        rr = heart.rr_raw[new]
        if len(rr):
            hr = int(round(60 * 1024 / rr.mean()))
        out.append(Sent(float(tick + rng.uniform(*latency)), uuid,
                        encode_hrm(hr, [int(r) for r in rr], contact(tick)), (heart.beats[new],)))
        prev = tick
    return out


@dataclass
class SensorClock:
    """The sensor's clock: ns since 2000-01-01 = epoch_ns + (t * (1 + drift) + offset_s) * 1e9
    at session time t (s)."""

    epoch_ns: int = 599616023171427290
    offset_s: float = 12.5
    drift: float = 200e-6

    def session_time(self, sensor_ns) -> np.ndarray:
        return ((np.asarray(sensor_ns, dtype=np.float64) - self.epoch_ns) * 1e-9 - self.offset_s) / (1 + self.drift)

    def sensor_ns(self, t: float) -> int:
        return self.epoch_ns + int(round((t * (1 + self.drift) + self.offset_s) * 1e9))


def pmd_script(heart: Heart, duration: float, seed: int, clock: SensorClock,
               latency: tuple[float, float] = (0.01, 0.06)) -> tuple[list[Sent], list[Sent]]:
    """ECG frames (130 Hz, 73 samples, uV from the true beats) and ACC frames (200 Hz, 36
    samples, mG) stamped by the sensor clock, each sent after a random delay; ``truth`` is
    ``(timestamp_ns, samples, true session times of the samples)``."""
    rng = np.random.default_rng(seed)
    out = []
    for measurement, frame_type, rate, n, size in ((0, 0, 130, 73, 3), (2, 1, 200, 36, 2)):
        start_ns = clock.sensor_ns(0.05)
        k = np.arange(int(duration * rate))
        sensor_ns = start_ns + np.round(k * 1e9 / rate).astype(np.int64)
        times = clock.session_time(sensor_ns)
        if measurement == 0:
            values = np.round(1000 * ecg_beats(times, heart.beats, heart.rr_raw / 1024,
                                               np.zeros(len(heart.beats), bool),
                                               np.ones(len(heart.beats)))
                              + rng.normal(0, 5, len(times))).astype(np.int64)
        else:
            values = rng.integers(-2000, 2000, (len(times), 3))
        frames = []
        for i in range(0, len(k) - n + 1, n):
            sl = slice(i, i + n)
            ts = int(sensor_ns[i + n - 1])
            data = encode_pmd_frame(measurement, frame_type, ts, values[sl], size)
            frames.append(Sent(float(times[i + n - 1] + rng.uniform(*latency)), PMD_DATA_UUID,
                               data, (ts, values[sl], times[sl])))
        out.append(frames)
    return out[0], out[1]


def assert_delivered_around(items: list[Sent], drop: float, back: float, resume_s: float = 5.0) -> None:
    """Every scripted item from the first delivered one to the link drop, and from the first
    one after the drop on, reached the client, and delivery resumed within ``resume_s``
    session seconds of the sensor becoming reachable again at ``back``."""
    times = [s.t for s in items if s.delivered]
    first, first_after = min(times), min(t for t in times if t > drop)
    assert first < 2.0 and first_after - back < resume_s
    assert all(s.delivered for s in items if first <= s.t < drop or s.t >= first_after)
