"""Polar H10 PMD: frames and commands against specs.md section 2, sensor-clock mapping, and a
recorded two-minute session with a drop-out through a fake GATT peer."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import biofeed as bf
from biofeed.clock import SessionClock
from biofeed.devices.ble_hr import ClockMap, parse_heart_rate_measurement
from biofeed.devices.polar_pmd import (ACC_START, ECG_START, ECG_STOP, PmdDecodeError, PolarH10,
                                       SensorTimeline, parse_acc_frame, parse_ecg_frame,
                                       parse_pmd_features, parse_pmd_response)
from biofeed.engine import Engine
from biofeed.physio.ecg import RPeakProcessor
from biofeed.pipeline import default_processors
from biofeed.record.writer import SessionRecorder

from fake_gatt import (PMD_CP_UUID, FakePeripheral, FakePolarH10, Heart, SensorClock,
                       assert_delivered_around, encode_pmd_frame, hr_script, pmd_script,
                       strap_chars)


def test_worked_example_frame():
    ts, uv = parse_ecg_frame(bytes.fromhex("00 DA EB C3 9E 98 43 52 08 00 9C FF FF FA 00 00"))
    assert ts == 0x085243989EC3EBDA == 599616023171427290      # 2019-01-01T00:00:23.171427290Z
    assert uv.tolist() == [-100, 250]


def test_command_bytes_are_exactly_the_spec():
    assert ECG_START == bytes.fromhex("02 00 00 01 82 00 01 01 0E 00")
    assert ECG_STOP == bytes.fromhex("03 00")
    assert ACC_START == bytes.fromhex("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")
    assert parse_pmd_features(bytes.fromhex("0F 05")) == {0, 2}
    reply = parse_pmd_response(bytes.fromhex("F0 02 00 00 00"))
    assert (reply.op, reply.measurement, reply.error) == (2, 0, 0)


@pytest.mark.parametrize("hexdata, where", [
    ("00 DA EB C3", "offset 4: a PMD data frame has a 10-byte header"),
    ("02 DA EB C3 9E 98 43 52 08 00 9C FF FF", "offset 0: measurement type 2, expected 0"),
    ("00 DA EB C3 9E 98 43 52 08 01 9C FF FF", "offset 9: frame type 1, expected 0"),
    ("00 DA EB C3 9E 98 43 52 08 00 9C FF", "offset 10: ECG samples are 3 bytes each, got 2"),
    ("00 DA EB C3 9E 98 43 52 08 00", "offset 10: ECG samples are 3 bytes each, got 0"),
])
def test_bad_ecg_frames_name_offset_and_field(hexdata, where):
    with pytest.raises(PmdDecodeError, match=where):
        parse_ecg_frame(bytes.fromhex(hexdata))


@settings(max_examples=200, deadline=None)
@given(ts=st.integers(0, 2**64 - 1), uv=st.lists(st.integers(-2**23, 2**23 - 1), min_size=1, max_size=80))
def test_ecg_frames_from_the_spec_encoder_decode_exactly(ts, uv):
    got_ts, got = parse_ecg_frame(encode_pmd_frame(0, 0, ts, uv, 3))
    assert got_ts == ts and got.tolist() == uv


@settings(max_examples=200, deadline=None)
@given(ts=st.integers(0, 2**64 - 1),
       mg=st.lists(st.tuples(*[st.integers(-2**15, 2**15 - 1)] * 3), min_size=1, max_size=40))
def test_acc_frames_decode_exactly(ts, mg):
    got_ts, got = parse_acc_frame(encode_pmd_frame(2, 1, ts, mg, 2))
    assert got_ts == ts and got.tolist() == [list(v) for v in mg]


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=40))
def test_random_bytes_raise_only_the_documented_error(data):
    for decode in (parse_ecg_frame, parse_acc_frame, parse_pmd_features, parse_pmd_response):
        try:
            decode(data)
        except PmdDecodeError:
            pass


# -- timing --------------------------------------------------------------------------------------
def _frames(sensor: SensorClock, rate, n, count, rng, skip=()):
    """(timestamp_ns, n, arrival, true t0) for consecutive frames, some left out."""
    out = []
    start = sensor.sensor_ns(1.0)
    for k in range(count):
        last = start + round(((k + 1) * n - 1) * 1e9 / rate)
        first_true = float(sensor.session_time(start + round(k * n * 1e9 / rate)))
        if k not in skip:
            out.append((last, n, float(sensor.session_time(last)) + rng.uniform(0.01, 0.05), first_true))
    return out


def test_timeline_is_contiguous_follows_drift_and_opens_gaps_for_missing_frames():
    sensor = SensorClock(drift=400e-6)
    rate, n = 130.0, 73
    timeline = SensorTimeline(rate, ClockMap(60.0, 500e-6))
    frames = _frames(sensor, rate, n, 600, np.random.default_rng(0), skip=(300, 301))
    t0 = np.array([timeline.place(ts, k, arrival) for ts, k, arrival, _ in frames])
    true = np.array([f[3] for f in frames])
    step = np.diff(t0) - n / rate
    jump = np.flatnonzero(np.abs(step) > 1e-9)
    assert np.all(np.abs(np.delete(step, 299)) <= 1 / rate + 1e-9)   # never a gap >= 1.5 samples
    assert step[299] == pytest.approx(2 * n / rate, abs=0.03)          # the two missing frames
    assert 0 < len(jump) < 80                                          # nudges, not every frame
    err = t0 - true
    assert np.all(err > 0) and np.max(err[100:]) < 0.02                # within the fastest delay
    assert np.max(np.abs(err[-50:] - np.median(err[-50:]))) < 1.5 / rate


def test_timeline_refuses_a_sensor_clock_that_goes_back():
    timeline = SensorTimeline(130.0, ClockMap())
    timeline.place(10**18, 73, 1.0)
    with pytest.raises(ConnectionError, match="went back"):
        timeline.place(10**18 - 1, 73, 1.6)


def test_ecg_in_microvolts_is_accepted_by_the_r_peak_processor():
    h10 = PolarH10("00:11")
    assert h10.ecg_info.unit == "uV" and RPeakProcessor(h10.ecg_info).inputs == (h10.ecg_info.name,)


# -- sessions ------------------------------------------------------------------------------------
def _run(h10, peer, script, tmp_path, duration, speed, processors=()):
    recorder = SessionRecorder(tmp_path)
    clock = SessionClock(speed=speed)
    engine = Engine([h10], processors, sinks=[recorder], clock=clock, duration=duration)

    async def main():
        player = asyncio.create_task(peer.run(clock, script))
        end = await engine.run()
        player.cancel()
        await asyncio.gather(player, return_exceptions=True)
        return end

    return asyncio.run(main()), bf.read(recorder.path)


def _h10(peer):
    h10 = PolarH10(peer.address, name="h10", client_factory=peer.client)
    h10.stale_s, h10.backoff_s = 2.0, (0.05, 0.2)     # real seconds
    return h10


def test_two_minute_session_with_a_dropout(tmp_path):
    """120 s at 15x: the link drops at 50 s, the H10 is unreachable until 65 s, then returns."""
    duration, drop, back = 120.0, 50.0, 65.0
    heart = Heart.random(duration, seed=11)
    sensor = SensorClock(drift=200e-6)
    ecg, acc = pmd_script(heart, duration, seed=12, clock=sensor)
    hr = hr_script(heart, duration, seed=13)
    script = sorted(ecg + acc + hr, key=lambda s: s.t)
    peer = FakePolarH10("C0:FF:EE", strap_chars(battery=64), outages=[(drop, back)])
    h10 = _h10(peer)
    procs = default_processors(h10.streams)
    end, rec = _run(h10, peer, script, tmp_path, duration, 15.0, procs)
    assert end.ended_by == "end of session" and rec.meta["completed"]
    assert h10.battery_percent == 64 and h10.decode_errors == 0

    # commands: ECG and ACC started on each connection, exactly as specified
    starts = [data for uuid, data in peer.writes if uuid == PMD_CP_UUID and data[0] == 2]
    assert starts == [ECG_START, ACC_START] * peer.connections and peer.connections == 2

    # ECG: every delivered frame, exact microvolts, one gap over the outage, times on the truth
    got = [f for f in ecg if f.delivered]
    assert_delivered_around(ecg, drop, back)
    sig = rec.signals["h10.ecg"]
    assert sig.unit == "uV" and sig.fs == 130
    np.testing.assert_array_equal(sig.values, np.concatenate([f.truth[1] for f in got]))
    true_t = np.concatenate([f.truth[2] for f in got])
    err = sig.times - true_t
    assert np.all(err > -1.5 / 130) and np.median(err) < 0.1 and np.max(err) < 0.3
    gaps = rec.gaps("h10.ecg")
    assert len(gaps) == 1 and gaps[0][0] == pytest.approx(drop, abs=1.0)
    assert back <= gaps[0][1] < back + 5.0                              # resumed within 5 s

    # ACC: exact mG, three channels
    assert_delivered_around(acc, drop, back)
    acc_sig = rec.signals["h10.acc"]
    np.testing.assert_array_equal(acc_sig.values,
                                  np.concatenate([f.truth[1] for f in acc if f.delivered]))
    assert acc_sig.unit == "mG" and acc_sig.info.channels == ("x", "y", "z")

    # HR / RR through the shared heart-rate code
    got_hr = [s for s in hr if s.delivered]
    assert_delivered_around(hr, drop, back)
    rr = rec.signals["h10.rr"]
    np.testing.assert_array_equal(
        rr.values, [r for s in got_hr for r in parse_heart_rate_measurement(s.data).rr_ms])
    assert np.all(np.diff(rr.times) > 0)

    # the gap event, and the R-peak detector found the beats in the uV ECG
    gap_events = rec.events[rec.events.kind == "gap"]
    assert len(gap_events) == 1
    assert back - drop <= gap_events.iloc[0].duration < back - drop + 5.0
    peaks = rec.signals["h10.ecg.rpeaks"].times
    beats = np.concatenate([s.truth[0] for s in got_hr])
    beats = beats[(beats > 5) & (beats < duration - 2) & ((beats < drop - 2) | (beats > back + 5))]
    nearest = np.abs(peaks[None, :] - beats[:, None]).min(axis=1)
    assert np.mean(nearest < 0.15) > 0.95


def test_a_refused_start_is_retried_and_recorded(tmp_path):
    heart = Heart.random(20, seed=14)
    ecg, _ = pmd_script(heart, 20, seed=15, clock=SensorClock())
    peer = FakePolarH10("C0:FF:EE", strap_chars(), refuse_start=1)
    h10 = _h10(peer)
    end, rec = _run(h10, peer, ecg, tmp_path, 20.0, 10.0)
    assert end.ended_by == "end of session" and peer.connections == 2
    gap = rec.events[rec.events.kind == "gap"].iloc[0]
    assert "PmdCommandError" in gap.payload["reason"] and "error 5" in gap.payload["reason"]
    assert len(rec.signals["h10.ecg"]) == sum(len(f.truth[1]) for f in ecg if f.delivered) > 0


def test_a_peripheral_without_pmd_ends_the_session(tmp_path):
    peer = FakePeripheral("C0:FF:EE", strap_chars())
    with pytest.raises(RuntimeError, match="no Polar PMD control point"):
        _run(_h10(peer), peer, [], tmp_path, 5.0, 10.0)
