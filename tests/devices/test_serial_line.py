"""DIY serial sensors on real ptys: every profile's line format at its real rate, bad lines
counted, counter and host timestamping, unplug and replug, through Engine + SessionRecorder."""
from __future__ import annotations

import asyncio
import math
from functools import reduce
from operator import xor
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from pty_emulators import LineEmulator

import biofeed as bf
from biofeed.devices.profiles import builtin_profiles, load_profile, parse_profile
from biofeed.devices.serial_line import LineError, LineParser, SampleClock, SerialSensor, build_chunks
from biofeed.engine import Engine
from biofeed.record.writer import SessionRecorder
from biofeed.stream import StreamInfo

KEYVALUE = parse_profile({
    "device": {"name": "kv", "rate": 50.0},
    "transport": {"type": "serial", "baud": 115200},
    "format": {"type": "keyvalue", "columns": ["n", "gsr"], "counter": "n", "checksum": "xor8"},
    "streams": [{"name": "eda", "kind": "eda", "unit": "uS", "field": "gsr",
                 "conversion": {"type": "linear", "scale": 0.01}}],
}, "keyvalue-test")


def grove_us(adc, calibration=512.0):
    """specs.md section 4, written out: R = ((1024 + 2 ADC) * 10000) / (cal - ADC), G = 1e6 / R."""
    return np.array([1e6 / (((1024 + 2 * a) * 10000) / (calibration - a)) for a in adc])


def fw_line(n: int, gsr: int, pulse: int, good: bool = True) -> bytes:
    payload = f"{n},{gsr},{pulse}".encode()
    check = reduce(xor, payload, 0) ^ (0 if good else 0x5A)
    return payload + b"*%02X\r\n" % check


def run_session(device, duration: float, tmp_path, emulator: LineEmulator):
    recorder = SessionRecorder(tmp_path)
    emulator.start()
    try:
        asyncio.run(Engine([device], sinks=[recorder], duration=duration).run())
    finally:
        emulator.stop()
    assert emulator.error is None, emulator.error
    assert emulator.finished.is_set(), "the session ended before the emulator had sent everything"
    return bf.read(recorder.path)


def test_firmware_lines_arrive_complete_in_order_and_timed_by_the_counter(tmp_path):
    n = 150
    gsr = [100 + (i * 37) % 400 for i in range(n)]
    pulse = [400 + (i * 13) % 300 for i in range(n)]
    corrupt = {50, 51, 120, 121}
    extra = {30: b"\xff\xfe\xfd\r\n", 80: b"\x1b[2J\r\n", 90: b"37,4\r\n", 140: b"\r\n"}
    ticks = [fw_line(i, gsr[i], pulse[i], i not in corrupt) + extra.get(i, b"") for i in range(n)]
    link = tmp_path / "ttyFW"
    sensor = SerialSensor("biofeed-arduino", link)
    rec = run_session(sensor, 2.3, tmp_path, LineEmulator(link, 115200, 100.0, [ticks]))

    good = [i for i in range(n) if i not in corrupt]
    eda, ppg = rec.signals["eda"], rec.signals["ppg"]
    assert eda.unit == "uS" and ppg.unit == "a.u." and eda.fs == 100.0
    np.testing.assert_allclose(eda.values, grove_us([gsr[i] for i in good]), rtol=1e-12)
    np.testing.assert_array_equal(ppg.values, [pulse[i] for i in good])
    # counter timing: sample i at t_first + i / 100 s exactly, across the lost samples
    np.testing.assert_allclose(eda.times - eda.times[0], np.array(good) / 100.0, atol=1e-9)
    np.testing.assert_allclose(ppg.times, eda.times, atol=1e-12)
    np.testing.assert_allclose(rec.gaps("eda"), eda.times[0] + np.array([[0.50, 0.52], [1.20, 1.22]]))
    s = sensor.stats
    assert (s.samples, s.garbage, s.partial, s.bad_checksum, s.lost, s.resyncs, s.invalid) == \
        (146, 2, 2, 4, 4, 0, 0)
    assert sensor.reconnects == 0 and not (rec.events.kind == "gap").any()


def test_grove_gsr_host_timing_bad_lines_and_no_contact(tmp_path):
    n = 30
    adc = [200 + 5 * i for i in range(n)]
    adc[20] = adc[21] = 600                               # >= calibration: no skin contact
    extra = {5: b"Grove GSR\r\n", 10: b"\x00\x01\r\n", 15: b"\r\n", 25: b"12,13\r\n"}
    ticks = [f"{adc[i]}\r\n".encode() + extra.get(i, b"") for i in range(n)]
    link = tmp_path / "ttyGSR"
    sensor = SerialSensor("grove-gsr", link)
    rec = run_session(sensor, 2.3, tmp_path, LineEmulator(link, 9600, 20.0, [ticks]))

    valid = [i for i in range(n) if adc[i] < 512]
    eda = rec.signals["eda"]
    np.testing.assert_allclose(eda.values, grove_us([adc[i] for i in valid]), rtol=1e-12)
    # arrival jitter stays off the timestamps: sample i at t_first + i / 20 s on the nominal grid
    np.testing.assert_allclose(eda.times - eda.times[0], np.array(valid) / 20.0, atol=1e-9)
    assert len(rec.gaps("eda")) == 1
    s = sensor.stats
    assert (s.samples, s.garbage, s.partial, s.invalid, s.resyncs, s.lost) == (30, 3, 1, 2, 0, 0)


def test_pulsesensor_samples_and_beats(tmp_path):
    n = 75
    signal = [512 + int(200 * math.sin(2 * math.pi * i / 40)) for i in range(n)]
    beats = {i: (70 + i // 40, 850 - i // 4) for i in range(10, n, 40)}
    ticks = []
    for i in range(n):
        line = f"S{signal[i]}\r\n".encode()
        if i in beats:
            line += f"B{beats[i][0]}\r\nQ{beats[i][1]}\r\n".encode()
        ticks.append(line + {33: b"X99\r\n", 66: b"S\r\n"}.get(i, b""))
    link = tmp_path / "ttyPULSE"
    sensor = SerialSensor("pulsesensor", link)
    rec = run_session(sensor, 2.3, tmp_path, LineEmulator(link, 115200, 50.0, [ticks]))

    ppg, hr, rr = rec.signals["ppg"], rec.signals["hr"], rec.signals["rr"]
    np.testing.assert_array_equal(ppg.values, signal)
    np.testing.assert_allclose(ppg.times - ppg.times[0], np.arange(n) / 50.0, atol=1e-9)
    np.testing.assert_array_equal(hr.values, [b[0] for b in beats.values()])
    np.testing.assert_array_equal(rr.values, [b[1] for b in beats.values()])
    assert hr.unit == "bpm" and rr.unit == "ms" and hr.fs == 0
    # a beat is timed at the sample line just before it
    np.testing.assert_allclose(hr.times, ppg.times[list(beats)], atol=1e-12)
    np.testing.assert_allclose(rr.times, hr.times, atol=1e-12)
    assert (sensor.stats.garbage, sensor.stats.partial, sensor.stats.lines) == (1, 1, n + 2 * len(beats))


def test_unplug_is_survived_and_the_stream_resumes(tmp_path):
    n = 60
    values = [(150 + i, 300 + 2 * i) for i in range(2 * n)]
    first = [fw_line(i, *values[i]) for i in range(n)]
    first[-1] += b"59,1"                                  # a line cut by the unplug
    second = [fw_line(i, *values[n + i]) for i in range(n)]  # the Arduino reset: counter from 0
    link = tmp_path / "ttyACM"
    sensor = SerialSensor("biofeed-arduino", link)
    emulator = LineEmulator(link, 115200, 100.0, [first, second], down_s=1.0)
    rec = run_session(sensor, 4.0, tmp_path, emulator)

    eda, ppg = rec.signals["eda"], rec.signals["ppg"]
    np.testing.assert_array_equal(ppg.values, [p for _, p in values])      # nothing lost
    np.testing.assert_allclose(eda.values, grove_us([g for g, _ in values]), rtol=1e-12)
    gaps = rec.events[rec.events.kind == "gap"]
    assert len(gaps) == 1 and sensor.reconnects >= 1
    gap = gaps.iloc[0]
    assert 1.0 <= gap.duration < 5.0 and gap.payload["device"] == "biofeed-arduino"
    assert "SerialException" in gap.payload["reason"]
    assert emulator.opened_at[1] - emulator.replugged_at[0] < 5.0          # resumed within 5 s
    (start, end), = rec.gaps("eda")
    assert end - start >= 1.0 and end == pytest.approx(eda.times[n])
    np.testing.assert_allclose(np.diff(eda.times[:n]), 0.01, atol=1e-9)
    np.testing.assert_allclose(np.diff(eda.times[n:]), 0.01, atol=1e-9)
    assert (sensor.stats.partial, sensor.stats.lost, sensor.stats.samples) == (1, 0, 2 * n)


# -- timestamping and chunking without a port -------------------------------------------------
def test_counter_clock_wraps_counts_losses_and_reanchors_on_reset():
    stats = SimpleNamespace(lost=0, resyncs=0)
    clock = SampleClock(100.0, stats, modulo=65536)
    got = [clock.place(5.0 + 0.01 * k + 0.03 * (k % 3), c) for k, c in
           enumerate([65534, 65535, 0, 1, 4])]
    np.testing.assert_allclose([t for t, _ in got], [5.0, 5.01, 5.02, 5.03, 5.06])
    assert [s for _, s in got] == [True, False, False, False, True] and stats.lost == 2
    assert clock.place(5.07, 3) == (5.07, True) and stats.resyncs == 1      # went backwards
    assert clock.place(5.08, 3000) == (5.08, True) and stats.resyncs == 2   # 30 s ahead of arrival


def test_host_clock_ignores_jitter_and_restarts_after_a_pause():
    stats = SimpleNamespace(lost=0, resyncs=0)
    clock = SampleClock(20.0, stats)
    rng = np.random.default_rng(1)
    arrivals = 2.0 + np.arange(60) / 20.0 + rng.uniform(0, 0.08, 60)        # USB/OS delivery jitter
    times = [clock.place(a)[0] for a in arrivals]
    np.testing.assert_allclose(np.array(times) - times[0], np.arange(60) / 20.0, atol=1e-12)
    assert stats.resyncs == 0
    assert clock.place(arrivals[-1] + 1.0) == (arrivals[-1] + 1.0, True)     # paused 1 s
    assert clock.place(arrivals[-1] + 1.05)[1] is False and stats.resyncs == 1


def test_build_chunks_cuts_at_runs_and_dropped_values():
    info = StreamInfo("eda", "eda", "uS", 10.0)
    times = np.arange(8) / 10.0
    starts = np.array([1, 0, 0, 0, 0, 1, 0, 0], bool)
    values = np.array([1, 2, np.nan, 4, 5, 6, 7, 8.0])
    chunks = build_chunks(info, times, starts, values)
    assert [(c.t0, list(c.values[:, 0])) for c in chunks] == \
        [(0.0, [1, 2]), (0.3, [4, 5]), (0.5, [6, 7, 8])]


# -- parsers: only a counted LineError ever comes out -----------------------------------------
PARSERS = {name: LineParser(load_profile(name).format) for name in builtin_profiles()}
PARSERS["keyvalue"] = LineParser(KEYVALUE.format)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(max_size=300),
                      st.lists(st.sampled_from(list(b"0123456789,.:*-+eSBQngsr \r\x00\xff")),
                               max_size=40).map(bytes)))
def test_random_bytes_give_a_record_or_a_line_error(name, data):
    try:
        rec = PARSERS[name].parse(data)
    except LineError as err:
        assert err.reason in ("garbage", "partial", "bad_checksum")
    else:
        assert all(math.isfinite(v) for v in rec.values.values())


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 65535), gsr=st.integers(0, 1023), pulse=st.integers(0, 1023))
def test_firmware_and_keyvalue_lines_round_trip(n, gsr, pulse):
    rec = PARSERS["biofeed-arduino"].parse(fw_line(n, gsr, pulse)[:-1])
    assert (rec.counter, rec.values, rec.sample) == (n, {"gsr": gsr, "pulse": pulse}, True)
    payload = f"gsr:{gsr}, extra:1, n:{n}".encode()
    rec = PARSERS["keyvalue"].parse(payload + b"*%02X" % reduce(xor, payload, 0))
    assert (rec.counter, rec.values) == (n, {"gsr": gsr})
    assert KEYVALUE.streams[0].conversion.apply([gsr])[0] == pytest.approx(gsr * 0.01)


def test_line_errors_name_their_reason():
    def ck(payload: bytes) -> bytes:
        return payload + b"*%02X" % reduce(xor, payload, 0)

    cases = {b"": "partial", b"1,2": "partial", b"1,2,3": "partial", ck(b"1,2"): "partial",
             b"1,2,3*00": "bad_checksum", b"1,2,3*G1": "bad_checksum", ck(b"1,2,3,4"): "garbage",
             ck(b"1,x,3"): "garbage", ck(b"-1,2,3"): "garbage", ck(b"1,2,1e999"): "garbage",
             b"\x1b[0m": "garbage", b"\xc3\xa9": "garbage"}
    for line, reason in cases.items():
        with pytest.raises(LineError) as err:
            PARSERS["biofeed-arduino"].parse(line)
        assert err.value.reason == reason, line
    for line, reason in {b"S": "partial", b"Z12": "garbage", b"B7 2": "garbage"}.items():
        with pytest.raises(LineError) as err:
            PARSERS["pulsesensor"].parse(line)
        assert err.value.reason == reason, line
    for line, reason in {ck(b"gsr:1"): "partial", ck(b"gsr:1,gsr:2,n:3"): "garbage",
                         ck(b"gsr=1,n:3"): "garbage"}.items():
        with pytest.raises(LineError) as err:
            PARSERS["keyvalue"].parse(line)
        assert err.value.reason == reason, line
