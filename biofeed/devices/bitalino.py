"""BITalino (r)evolution over serial or Bluetooth serial (specs.md section 3).

Protocol: 115200 baud, single-byte commands: stop ``00``, version ``07`` (ASCII reply line
containing "BITalino"), sample rate ``(code << 6) | 0x03`` (1, 10, 100, 1000 Hz = code 0..3),
start ``0x01 | mask << 2`` (A1 = bit 2 ... A6 = bit 7). The device then streams fixed-size
frames (:func:`frame_size`) of the active analog channels in A1..A6 order.

Frame layout: read the frame's bytes from the LAST to the first as one MSB-first bit string:
seq (4 bits), CRC-4 (4), digital I1 I2 O1 O2 (1 each), then the analog channels: 10 bits for
the first four, 6 bits for the fifth and sixth. The CRC-4 (x^4 + x + 1) covers all bytes MSB
first with the CRC nibble zeroed. Example (2 channels): ``58 02 38 54`` -> seq 5, CRC 4,
digital [0, 0, 1, 1], A1 512, A2 600.

Transfer functions (n = channel bits): ECG mV = ((ADC / 2^n - 0.5) * 3.3 / 1100) * 1000;
EDA uS = (ADC / 2^n) * 3.3 / 0.132 (current EDA sensor).

Frames are timed by their 4-bit sequence number through the shared
:class:`~biofeed.devices.serial_line.SampleClock` (offset fixed at the first frame); a jump in
the sequence counts lost frames (a frame dropped for a bad CRC is lost too) and starts a new
chunk. Losses of 16 frames or more alias and are under-counted.
"""
from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import AsyncIterator, Mapping

import numpy as np
import serial

from ..clock import SessionClock
from ..stream import Chunk, StreamInfo
from .reconnect import ReconnectingDevice
from .serial_line import PortReader, SampleClock, build_chunks, check_port, open_port

BAUD = 115200
CMD_STOP = 0x00
CMD_VERSION = 0x07
#: Sample rate, Hz -> rate code of the sample-rate command.
RATE_CODES = {1: 0, 10: 1, 100: 2, 1000: 3}
ANALOG = ("A1", "A2", "A3", "A4", "A5", "A6")
_WIDTHS = (10, 10, 10, 10, 6, 6)
_POLY = 0b10011  # x^4 + x + 1


class BitalinoDecodeError(ValueError):
    """Bytes from a BITalino that cannot be decoded (a version reply without "BITalino", an
    impossible channel count). Corrupted frames never raise: they are counted."""


def _mod_poly(value: int) -> int:
    """``value`` (a GF(2) polynomial) modulo x^4 + x + 1."""
    for bit in range(value.bit_length() - 1, 3, -1):
        if value >> bit & 1:
            value ^= _POLY << (bit - 4)
    return value


_NIBBLE_STEP = [_mod_poly(c << 4) for c in range(16)]


def crc4(frame: bytes) -> int:
    """CRC-4 (x^4 + x + 1, MSB first) of a frame with its CRC nibble (low nibble of the last
    byte) taken as zero."""
    crc = 0
    for byte in frame[:-1]:
        crc = _NIBBLE_STEP[crc] ^ (byte >> 4)
        crc = _NIBBLE_STEP[crc] ^ (byte & 0x0F)
    crc = _NIBBLE_STEP[crc] ^ (frame[-1] >> 4)
    return _NIBBLE_STEP[crc]


def frame_size(n_channels: int) -> int:
    """Bytes per frame for ``n_channels`` (1-6) analog channels."""
    if not 1 <= n_channels <= 6:
        raise BitalinoDecodeError(f"a BITalino frame holds 1 to 6 analog channels, not {n_channels}")
    bits = 12 + 10 * n_channels if n_channels <= 4 else 52 + 6 * (n_channels - 4)
    return -(-bits // 8)


@dataclass(frozen=True)
class Frames:
    """Frames decoded from a byte buffer by :func:`parse_frames`.

    Attributes
    ----------
    seq : ndarray of int, shape (k,)
        4-bit sequence numbers.
    digital : ndarray of int, shape (k, 4)
        I1, I2, O1, O2.
    analog : ndarray of int, shape (k, n_channels)
        Raw ADC values (10 bits for the first four channels, 6 bits for the fifth and sixth).
    consumed : int
        Bytes used; keep ``data[consumed:]`` and prepend it to the next bytes.
    bad_crc : int
        Frames dropped for a bad CRC while in frame alignment.
    skipped : int
        Bytes skipped to regain frame alignment.
    synced : bool
        Frame alignment at the end; pass it to the next call.
    """

    seq: np.ndarray
    digital: np.ndarray
    analog: np.ndarray
    consumed: int
    bad_crc: int
    skipped: int
    synced: bool


def _decode(frame: bytes, n_channels: int) -> list[int]:
    bits = int.from_bytes(frame[::-1], "big")
    pos = 8 * len(frame)
    out = []
    for width in (4, 4, 1, 1, 1, 1, *_WIDTHS[:n_channels]):
        pos -= width
        out.append(bits >> pos & ((1 << width) - 1))
    return out


def parse_frames(data: bytes, n_channels: int, synced: bool = True) -> Frames:
    """Decode every complete frame in ``data``.

    While in alignment (``synced``) a frame with a valid CRC is accepted; a frame with a bad CRC
    followed by a valid one is dropped (``bad_crc``). Otherwise alignment is lost: the decoder
    moves on byte by byte (``skipped``) until two consecutive frames have valid CRCs. A frame
    whose fate depends on the next one stays unconsumed until that one arrives.

    Raises
    ------
    BitalinoDecodeError
        Only for an impossible ``n_channels``; any byte string decodes.
    """
    size = frame_size(n_channels)
    rows: list[list[int]] = []
    i = bad = skipped = 0
    while len(data) - i >= size:
        ok = crc4(data[i:i + size]) == data[i + size - 1] & 0x0F
        if ok and synced:
            rows.append(_decode(data[i:i + size], n_channels))
            i += size
            continue
        if len(data) - i < 2 * size:
            break
        next_ok = crc4(data[i + size:i + 2 * size]) == data[i + 2 * size - 1] & 0x0F
        if next_ok and (ok or synced):
            if ok:
                rows.append(_decode(data[i:i + size], n_channels))
            else:
                bad += 1
            synced = True
            i += size
        else:
            synced = False
            skipped += 1
            i += 1
    table = np.array(rows, dtype=np.int64).reshape(len(rows), 6 + n_channels)
    return Frames(table[:, 0], table[:, 2:6], table[:, 6:], i, bad, skipped, synced)


def parse_version(reply: bytes) -> str:
    """The version string from the reply to the version command (e.g. ``"BITalino_v5.2"``).

    Raises
    ------
    BitalinoDecodeError
        The reply does not contain "BITalino".
    """
    text = reply.decode("ascii", errors="replace")
    if "BITalino" not in text:
        raise BitalinoDecodeError(f"not a BITalino version reply: {reply[:60]!r}")
    return text[text.index("BITalino"):].strip()      # without bytes still in flight before it


def ecg_mv(adc: np.ndarray, bits: int = 10) -> np.ndarray:
    """ECG sensor transfer function: ADC -> mV (specs.md section 3)."""
    return (np.asarray(adc, dtype=np.float64) / 2 ** bits - 0.5) * 3.3 / 1100 * 1000


def eda_us(adc: np.ndarray, bits: int = 10) -> np.ndarray:
    """EDA sensor transfer function: ADC -> uS (specs.md section 3; current sensor revision)."""
    return np.asarray(adc, dtype=np.float64) / 2 ** bits * 3.3 / 0.132


#: Supported sensor kinds: unit and transfer function.
TRANSFER = {"ecg": ("mV", ecg_mv), "eda": ("uS", eda_us)}


@dataclass
class BitalinoStats:
    """Counters over the whole session (all connections)."""

    frames: int = 0     #: frames decoded
    bad_crc: int = 0    #: frames dropped for a bad CRC
    skipped: int = 0    #: bytes skipped to regain frame alignment
    lost: int = 0       #: frames missing per the sequence numbers (bad-CRC drops included)
    resyncs: int = 0    #: times the sample clock re-anchored


class Bitalino(ReconnectingDevice):
    """A BITalino (r)evolution on a serial port (USB dongle or ``/dev/rfcomm*`` Bluetooth).

    Parameters
    ----------
    port : str or path
        Serial port path.
    channels : mapping
        Analog port -> sensor kind, e.g. ``{"A2": "ecg", "A3": "eda"}``; streams are named by
        kind (ECG in mV, EDA in uS).
    rate : int
        Sample rate, Hz: 1, 10, 100 or 1000.
    device_id : str
    chunk_s : float
        Real seconds of data collected into each batch of chunks.

    Attributes
    ----------
    version : str
        The device's version string from the last handshake.
    stats : BitalinoStats
    """

    backoff_s = (0.25, 2.0)

    def __init__(self, port: str | os.PathLike, channels: Mapping[str, str] | None = None,
                 rate: int = 1000, device_id: str = "bitalino", chunk_s: float = 0.1) -> None:
        super().__init__()
        channels = dict(channels or {"A2": "ecg", "A3": "eda"})
        if rate not in RATE_CODES:
            raise ValueError(f"BITalino sample rate must be one of {list(RATE_CODES)} Hz, got {rate!r}")
        bad = {p: k for p, k in channels.items() if p not in ANALOG or k not in TRANSFER}
        if bad or not channels:
            raise ValueError(f"BITalino channels map ports {list(ANALOG)} to kinds {list(TRANSFER)}, "
                             f"got {channels!r}")
        if len(set(channels.values())) != len(channels):
            raise ValueError(f"one BITalino channel per kind (streams are named by kind), got {channels!r}")
        self.port = os.fspath(port)
        self.rate = rate
        self.id = device_id
        self.chunk_s = chunk_s
        self.ports = tuple(p for p in ANALOG if p in channels)
        self.kinds = tuple(channels[p] for p in self.ports)
        self.mask = sum(1 << ANALOG.index(p) for p in self.ports)
        self.streams = tuple(StreamInfo(k, k, TRANSFER[k][0], float(rate), (p,), device_id)
                             for p, k in zip(self.ports, self.kinds))
        self.version = ""
        self.stats = BitalinoStats()

    def describe(self) -> dict:
        return super().describe() | {"port": self.port, "rate": self.rate,
                                     "channels": dict(zip(self.ports, self.kinds))}

    async def probe(self) -> None:
        """The port can be opened (:func:`~biofeed.devices.serial_line.check_port`)."""
        await asyncio.to_thread(check_port, self.port)

    def error_counts(self) -> dict[str, int]:
        """Frames dropped for a bad CRC (``decode_errors``), bytes skipped to regain frame
        alignment, frames lost per the sequence numbers, clock re-anchorings, failed
        connections."""
        st = self.stats
        return super().error_counts() | {"decode_errors": st.bad_crc, "skipped_bytes": st.skipped,
                                         "lost_samples": st.lost, "resyncs": st.resyncs}

    def _handshake(self, port: serial.Serial) -> str:
        """Stop, flush, ask the version, set the rate and start (blocking; on a thread)."""
        port.write(bytes([CMD_STOP]))
        port.reset_input_buffer()
        port.write(bytes([CMD_VERSION]))
        port.timeout = 1.0
        reply = port.read_until(b"\n", 80)
        port.timeout = 0.1
        try:
            version = parse_version(reply)
        except BitalinoDecodeError as exc:
            raise ConnectionError(f"{self.port}: {exc}") from None
        port.reset_input_buffer()
        port.write(bytes([RATE_CODES[self.rate] << 6 | 0x03, 0x01 | self.mask << 2]))
        return version

    async def connection(self, clock: SessionClock) -> AsyncIterator[Chunk]:
        port = await open_port(self.port, BAUD)
        reader = None
        try:
            self.version = await asyncio.to_thread(self._handshake, port)
            reader = PortReader(port, clock)
            sclock = SampleClock(self.rate, self.stats, modulo=16)
            buf, synced = b"", True
            while True:
                times, starts, analog = [], [], []
                for arrival, data in await reader.batch(self.chunk_s):
                    buf += data
                    frames = parse_frames(buf, len(self.ports), synced)
                    buf, synced = buf[frames.consumed:], frames.synced
                    self.stats.frames += len(frames.seq)
                    self.stats.bad_crc += frames.bad_crc
                    self.stats.skipped += frames.skipped
                    for seq in frames.seq:
                        t, start = sclock.place(arrival, int(seq))
                        times.append(t)
                        starts.append(start)
                    analog.append(frames.analog)
                adc = np.concatenate(analog)
                for i, info in enumerate(self.streams):
                    values = TRANSFER[info.kind][1](adc[:, i], _WIDTHS[i])
                    for chunk in build_chunks(info, times, starts, values):
                        yield chunk
        finally:
            if reader is not None:
                reader.stop()
            try:
                port.write(bytes([CMD_STOP]))
            except OSError:
                pass        # unplugged: nothing to stop
            port.close()
