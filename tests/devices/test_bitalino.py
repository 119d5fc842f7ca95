"""BITalino (r)evolution: frame decoding against the spec, CRC against the reference table,
and a pty emulator that answers the protocol and streams frames with bad CRCs and gaps."""
from __future__ import annotations

import asyncio
import math
import os
import select
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from pty_emulators import PtyPort

import biofeed as bf
from biofeed.devices.bitalino import (Bitalino, BitalinoDecodeError, crc4, ecg_mv, eda_us,
                                      frame_size, parse_frames, parse_version)
from biofeed.engine import Engine
from biofeed.record.writer import SessionRecorder

#: CRC-4 table of the BITalino reference Python API (bitalino.py, _checkCRC4).
_REF_TABLE = [0, 3, 6, 5, 12, 15, 10, 9, 11, 8, 13, 14, 7, 4, 1, 2]
_WIDTHS = (10, 10, 10, 10, 6, 6)


def ref_crc(frame: bytes) -> int:
    crc = 0
    for b in frame[:-1]:
        crc = _REF_TABLE[crc] ^ (b >> 4)
        crc = _REF_TABLE[crc] ^ (b & 0x0F)
    crc = _REF_TABLE[crc] ^ (frame[-1] >> 4)
    return _REF_TABLE[crc]


def encode(seq: int, analog, digital=(0, 0, 0, 0), good: bool = True) -> bytes:
    """A frame as the device sends it (specs.md section 3), with a right (or wrong) CRC."""
    n = len(analog)
    size = math.ceil((12 + 10 * n) / 8) if n <= 4 else math.ceil((52 + 6 * (n - 4)) / 8)
    value, used = 0, 0
    for field, width in [(seq, 4), (0, 4), *((d, 1) for d in digital), *zip(analog, _WIDTHS)]:
        value, used = value << width | field, used + width
    frame = bytearray((value << (8 * size - used)).to_bytes(size, "big")[::-1])
    frame[-1] |= ref_crc(bytes(frame)) ^ (0 if good else 0x9)
    return bytes(frame)


def test_spec_example_frame():
    frames = parse_frames(bytes.fromhex("58023854"), 2)
    assert frames.seq.tolist() == [5] and frames.digital.tolist() == [[0, 0, 1, 1]]
    assert frames.analog.tolist() == [[512, 600]] and frames.consumed == 4
    assert crc4(bytes.fromhex("58023854")) == 4 == ref_crc(bytes.fromhex("58023854"))
    assert encode(5, [512, 600], (0, 0, 1, 1)) == bytes.fromhex("58023854")


def test_frame_sizes_and_transfer_functions():
    assert [frame_size(n) for n in range(1, 7)] == [3, 4, 6, 7, 8, 8]
    with pytest.raises(BitalinoDecodeError):
        frame_size(7)
    np.testing.assert_allclose(ecg_mv([0, 512, 1024]), [-1.5, 0.0, 1.5])
    np.testing.assert_allclose(eda_us([0, 512, 1023]), [0.0, 12.5, 1023 / 1024 * 25])
    np.testing.assert_allclose(eda_us([32], bits=6), [12.5])
    assert parse_version(b"BITalino_v5.2\n") == "BITalino_v5.2"
    assert parse_version(b"\x51\x0fBITalino_v5.2\r\n") == "BITalino_v5.2"   # frame bytes in flight
    with pytest.raises(BitalinoDecodeError):
        parse_version(b"\x00\x13garbage\n")


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200), n=st.integers(1, 6), synced=st.booleans())
def test_random_bytes_decode_or_are_counted(data, n, synced):
    frames = parse_frames(data, n, synced)
    size = frame_size(n)
    assert frames.consumed == size * (len(frames.seq) + frames.bad_crc) + frames.skipped <= len(data)
    assert len(data) - frames.consumed < 2 * size
    assert ((0 <= frames.analog) & (frames.analog < 1024)).all() and (frames.seq < 16).all()
    try:
        assert parse_version(data).startswith("BITalino")
    except BitalinoDecodeError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_valid_streams_decode_exactly_in_any_pieces(data):
    n = data.draw(st.integers(1, 6))
    frame = st.tuples(st.tuples(*(st.integers(0, 2 ** w - 1) for w in _WIDTHS[:n])),
                      st.tuples(*[st.integers(0, 1)] * 4))
    analog, digital = zip(*data.draw(st.lists(frame, min_size=3, max_size=30)))
    analog = [list(a) for a in analog]
    count = len(analog)
    drawn = data.draw(st.sets(st.integers(1, count - 2)))
    bad = {k for k in drawn if k - 1 not in drawn}         # isolated corruptions
    stream = b"".join(encode(k % 16, analog[k], digital[k], k not in bad) for k in range(count))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=5)))
    seq, an, dig, bad_crc, buf, synced = [], [], [], 0, b"", True
    for piece in (stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])):
        frames = parse_frames(buf + piece, n, synced)
        buf, synced = (buf + piece)[frames.consumed:], frames.synced
        seq += frames.seq.tolist()
        an += frames.analog.tolist()
        dig += frames.digital.tolist()
        bad_crc += frames.bad_crc
    good = [k for k in range(count) if k not in bad]
    assert seq == [k % 16 for k in good] and an == [analog[k] for k in good]
    assert dig == [list(digital[k]) for k in good] and bad_crc == len(bad)


def test_lost_alignment_is_regained():
    frames_in = [encode(k % 16, [(37 * k) % 1024, (91 * k) % 1024, k]) for k in range(50)]
    stream = b"".join(frames_in)
    cut = 20 * 6 + 2                                      # a byte of frame 20 lost on the wire
    frames = parse_frames(stream[:cut] + stream[cut + 1:], 3)
    decoded = [tuple(a) for a in frames.analog.tolist()]
    originals = [((37 * k) % 1024, (91 * k) % 1024, k) for k in range(50)]
    assert set(decoded) <= set(originals)                  # nothing invented
    assert decoded[:20] == originals[:20] and decoded[-28:] == originals[22:]
    assert frames.skipped > 0 and frames.synced


class BitalinoEmulator(threading.Thread):
    """Answers stop / version / rate / start on a pty and streams frames at the set rate."""

    def __init__(self, link, count: int, skip: set[int], bad: set[int]) -> None:
        super().__init__(daemon=True)
        self.port = PtyPort(link)
        self.count, self.skip, self.bad = count, skip, bad
        self.commands: list[int] = []
        self.ecg = [512 + int(300 * math.sin(2 * math.pi * k / 250)) for k in range(count)]
        self.eda = [200 + k % 300 for k in range(count)]
        self.finished = threading.Event()
        self._quit = threading.Event()

    def run(self) -> None:
        rate, k, start = 0, 0, None
        try:
            while not self._quit.is_set():
                if select.select([self.port.master], [], [], 0.002)[0]:
                    for cmd in os.read(self.port.master, 64):
                        self.commands.append(cmd)
                        if cmd == 0x07:
                            self.port.write(b"BITalino_v5.2\n")
                        elif cmd & 0x03 == 0x03:
                            rate = (1, 10, 100, 1000)[cmd >> 6]
                        elif cmd & 0x03 == 0x01:
                            start = time.monotonic()
                        elif cmd == 0x00:
                            start = None
                if start is None or k >= self.count:
                    continue
                due = min(self.count, int((time.monotonic() - start) * rate) + 1)
                data = b"".join(encode(i % 16, [self.ecg[i], self.eda[i]], good=i not in self.bad)
                                for i in range(k, due) if i not in self.skip)
                self.port.write(data)
                k = due
                if k >= self.count:
                    self.finished.set()
        finally:
            self.port.unplug(drain=False)

    def stop(self) -> None:
        self._quit.set()
        self.join(timeout=5)


def test_bitalino_session_over_a_pty(tmp_path):
    link = tmp_path / "rfcomm0"
    skip, bad = {100, 101, 102, 700, 701}, {300, 900, 1200}
    emulator = BitalinoEmulator(link, 1500, skip, bad)
    device = Bitalino(link, {"A2": "ecg", "A3": "eda"}, rate=1000)
    recorder = SessionRecorder(tmp_path)
    emulator.start()
    try:
        asyncio.run(Engine([device], sinks=[recorder], duration=2.5).run())
    finally:
        emulator.stop()
    assert emulator.finished.is_set()
    # handshake: stop, version, 1000 Hz (C3), start A2 + A3 (0x01 | 0b0110 << 2 = 0x19)
    assert emulator.commands[:4] == [0x00, 0x07, 0xC3, 0x19] and device.version == "BITalino_v5.2"
    rec = bf.read(recorder.path)
    good = [k for k in range(1500) if k not in skip | bad]
    ecg, eda = rec.signals["ecg"], rec.signals["eda"]
    assert ecg.unit == "mV" and eda.unit == "uS" and ecg.fs == 1000.0
    np.testing.assert_allclose(ecg.values, [((emulator.ecg[k] / 1024 - 0.5) * 3.3 / 1100) * 1000
                                            for k in good], rtol=1e-12)
    np.testing.assert_allclose(eda.values, [emulator.eda[k] / 1024 * 3.3 / 0.132 for k in good],
                               rtol=1e-12)
    np.testing.assert_allclose(ecg.times - ecg.times[0], np.array(good) / 1000.0, atol=1e-9)
    assert len(rec.gaps("ecg")) == 2                         # 3 and 2 frames lost in a row
    s = device.stats
    assert (s.frames, s.bad_crc, s.lost, s.skipped, s.resyncs) == (len(good), 3, 8, 0, 0)
