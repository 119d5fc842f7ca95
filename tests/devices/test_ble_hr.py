"""Standard BLE heart-rate strap: decoder against specs.md section 1 and bumble's encoder,
RR beat timing, and the bleak adapter against a fake GATT peer in a recorded session."""
from __future__ import annotations

import asyncio
import math
import re

import numpy as np
import pytest
from bumble.profiles.heart_rate_service import HeartRateService
from hypothesis import given, settings, strategies as st

import biofeed as bf
from biofeed.clock import SessionClock
from biofeed.devices.ble_hr import (BleHeartRate, ClockMap, HeartRateDecodeError, RRBeatTimes,
                                    parse_heart_rate_measurement)
from biofeed.engine import Engine
from biofeed.record.writer import SessionRecorder

from fake_gatt import (FakePeripheral, Heart, Sent, HRM_UUID, assert_delivered_around, encode_hrm,
                       hr_script, strap_chars)


# -- decoder -------------------------------------------------------------------------------------
@pytest.mark.parametrize("hexdata, hr, rr_ms, contact, energy", [
    ("04 48", 72, [], False, None),
    ("16 3C 00 04 D4 03", 60, [1000.0, 957.03125], True, None),
    ("19 96 00 F4 01 9A 01", 150, [400.390625], None, 500),
])
def test_worked_examples_of_the_spec(hexdata, hr, rr_ms, contact, energy):
    m = parse_heart_rate_measurement(bytes.fromhex(hexdata))
    assert (m.hr_bpm, m.rr_ms, m.contact, m.energy_kj) == (hr, rr_ms, contact, energy)


@pytest.mark.parametrize("hexdata, where", [
    ("", "offset 0: empty"),
    ("00", "offset 1: heart rate is a uint8"),
    ("01 3C", "offset 1: heart rate (flags bit 0 = 1) is a uint16"),
    ("08 3C F4", "offset 2: energy expended"),
    ("10 3C 00 04 D4", "offset 4: RR intervals are uint16"),
    ("00 3C 00", "offset 2: 1 byte(s) after the last flagged field"),
])
def test_malformed_notifications_name_offset_and_field(hexdata, where):
    with pytest.raises(HeartRateDecodeError, match=re.escape(where)):
        parse_heart_rate_measurement(bytes.fromhex(hexdata))


rr_lists = st.lists(st.integers(0, 0xFFFF), max_size=9)


@settings(max_examples=300, deadline=None)
@given(hr=st.integers(0, 0xFFFF), rr=st.none() | rr_lists, contact=st.sampled_from([None, True, False]),
       energy=st.none() | st.integers(0, 0xFFFF))
def test_decodes_what_bumble_encodes(hr, rr, contact, energy):
    data = encode_hrm(hr, rr, contact, energy)
    m = parse_heart_rate_measurement(data)
    assert m.hr_bpm == hr and m.contact is contact and m.energy_kj == energy
    assert m.rr_ms == [r * 1000 / 1024 for r in (rr or [])]
    # and bumble's own decoder agrees (it gives RR in seconds)
    ref = HeartRateService.HeartRateMeasurement.from_bytes(data)
    assert [1000 * r for r in (ref.rr_intervals or ())] == m.rr_ms


@settings(max_examples=100, deadline=None)
@given(hr=st.integers(0, 0xFF), rr=rr_lists, reserved=st.integers(0, 7))
def test_flag_variants_bumble_does_not_emit(hr, rr, reserved):
    """uint16 format for a small HR, contact bits 01 (also 'unsupported'), reserved bits set."""
    data = bytearray(encode_hrm(hr, rr, None, None))
    wide = bytes([data[0] | 0x01 | 0x02 | reserved << 5, hr, 0]) + bytes(data[2:])
    m = parse_heart_rate_measurement(wide)
    assert (m.hr_bpm, m.contact, m.energy_kj) == (hr, None, None)
    assert m.rr_ms == [r * 1000 / 1024 for r in rr]


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=24))
def test_random_bytes_raise_only_the_documented_error(data):
    try:
        m = parse_heart_rate_measurement(data)
    except HeartRateDecodeError:
        return
    assert 0 <= m.hr_bpm <= 0xFFFF and all(0 <= r < 64000 for r in m.rr_ms)


# -- timing --------------------------------------------------------------------------------------
def test_clock_map_follows_offset_and_drift_despite_arrival_jitter():
    rng = np.random.default_rng(1)
    s = np.arange(0, 300, 0.5)                       # sensor seconds
    true = 4.0 + (1 + 300e-6) * s                    # session seconds of each stamp
    arrival = true + rng.exponential(0.03, len(s)) + 0.005
    m = ClockMap(window_s=60, max_drift=500e-6)
    err = []
    for si, ai, ti in zip(s, arrival, true):
        m.add(si, ai)
        err.append(float(m(si)) - ti)
    err = np.array(err) - 0.005                      # minus the smallest possible delay
    assert np.max(np.abs(err[120:])) < 0.006          # a few ms once a window has passed
    assert abs(m.rate - (1 + 300e-6)) < 100e-6
    # a fixed rate of 1 (no drift fit) would be off by 300 ppm * 60 s = 18 ms by now
    assert abs(float(m(s[-1]) - (m.offset + s[-1])) - 300e-6 * s[-1]) < 0.05


def test_clock_map_clips_implausible_drift():
    m = ClockMap(window_s=10, max_drift=500e-6)
    for s in np.arange(0, 10, 0.1):
        m.add(s, 1.01 * s)                           # 1 % is not a crystal
    assert m.rate == pytest.approx(1 + 500e-6)


def test_clock_map_with_a_long_pause_in_the_observations():
    m = ClockMap(window_s=60, max_drift=500e-6)
    for s in (0.0, 0.5, 1.0, 50.0, 50.5):            # nothing in the middle quarters
        m.add(s, 3.0 + s + 0.01)
    assert m.rate == pytest.approx(1.0) and float(m(60.0)) == pytest.approx(63.01)


def _deliver(heart: Heart, beats: RRBeatTimes, rng, period=1.0, skip=()):
    """Feed RRBeatTimes like a strap: every period the beats since the last notification."""
    out_t, out_true = [], []
    prev = 0.0
    for k, tick in enumerate(np.arange(period, heart.beats[-1], period)):
        new = np.flatnonzero((heart.beats > prev) & (heart.beats <= tick))
        prev = tick
        new = new[~np.isin(new, skip)]
        if not len(new):
            continue
        times = beats.update(heart.rr_raw[new] * 1000 / 1024, tick + rng.uniform(0.01, 0.1))
        out_t.append(times)
        out_true.append(heart.beats[new])
    return np.concatenate(out_t), np.concatenate(out_true)


def test_beat_times_from_rr_track_the_true_beats():
    heart = Heart.random(300, seed=2)
    t, true = _deliver(heart, RRBeatTimes(), np.random.default_rng(3))
    assert np.all(np.diff(t) > 0)
    err = t - true
    # never before the true beat; late by the smallest beat-to-arrival delay in the window
    assert np.all(err[10:] > 0.0) and np.max(err[10:]) < 0.2 and np.median(err) < 0.1
    # the spacing is the reported RR itself except where the offset was corrected
    same = np.isclose(np.diff(t), np.diff(true), rtol=0, atol=1e-9)
    assert np.mean(same[20:]) > 0.95


def test_beat_times_recover_from_rr_values_the_strap_never_sent():
    heart = Heart.random(200, seed=4)
    beats = RRBeatTimes(window_s=20)
    t, true = _deliver(heart, beats, np.random.default_rng(5), skip=(100, 101))
    assert np.all(np.diff(t) > 0)
    after = true > true[100] + 25                    # one window after the loss
    assert np.all((t - true)[after] > 0) and np.max((t - true)[after]) < 0.25


def test_beat_times_stay_monotonic_across_a_restart():
    beats = RRBeatTimes()
    first = beats.update([800.0, 800.0], 10.0)
    beats.restart()
    second = beats.update([900.0, 900.0, 900.0], 10.5)   # would start before the last beat
    assert second[0] >= first[-1] + 0.45 and np.all(np.diff(second) > 0)


# -- adapter -------------------------------------------------------------------------------------
def _session(devices, peers_scripts, tmp_path, duration, speed):
    recorder = SessionRecorder(tmp_path)
    clock = SessionClock(speed=speed)
    engine = Engine(devices, sinks=[recorder], clock=clock, duration=duration)

    async def main():
        runs = [asyncio.create_task(peer.run(clock, script)) for peer, script in peers_scripts]
        end = await engine.run()
        for r in runs:
            r.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        return end

    end = asyncio.run(main())
    return end, bf.read(recorder.path)


def _fast(device):
    device.stale_s, device.backoff_s = 2.0, (0.05, 0.2)     # real seconds
    return device


def test_contact_battery_and_bad_notifications(tmp_path):
    heart = Heart.random(20, seed=6)
    script = hr_script(heart, 20, seed=7, contact=lambda t: not 8 <= t < 12)
    bad = bytes.fromhex("10 3C 00 04 D4")                                   # odd RR byte
    script.insert(5, Sent(script[4].t + 0.2, HRM_UUID, bad))
    peer = FakePeripheral("AA:BB", strap_chars(battery=42))
    strap = _fast(BleHeartRate("AA:BB", name="strap", client_factory=peer.client))
    end, rec = _session([strap], [(peer, script)], tmp_path, 20.0, speed=10)
    assert end.ended_by == "end of session"
    assert strap.battery_percent == 42 and strap.decode_errors == 1
    assert "offset 4: RR intervals" in strap.last_decode_error
    hr = rec.signals["strap.hr"]
    good = [s for s in peer.sent if s.delivered and s.data != bad]
    assert len(hr) == len(good)
    contact = hr.values[:, 1]
    lost = (hr.times >= 8.05) & (hr.times < 12)
    assert np.all(contact[lost] == 0) and np.all(contact[~lost & (hr.times > 1)] == 1)
    assert strap.reconnects == 0 and not len(rec.events[rec.events.kind == "gap"])


def test_peripheral_without_heart_rate_ends_the_session(tmp_path):
    peer = FakePeripheral("AA:BB", {})
    strap = _fast(BleHeartRate("AA:BB", client_factory=peer.client))
    with pytest.raises(RuntimeError, match="0x2A37"):
        _session([strap], [(peer, [])], tmp_path, 5.0, speed=10)


def test_two_minute_session_survives_a_dropout(tmp_path):
    """Link drops at 50 s, the strap cannot be found until 65 s, then comes back."""
    duration, drop, back = 120.0, 50.0, 65.0
    heart = Heart.random(duration, seed=8)
    script = hr_script(heart, duration, seed=9)
    peer = FakePeripheral("AA:BB", strap_chars(), outages=[(drop, back)])
    strap = _fast(BleHeartRate("AA:BB", name="strap", client_factory=peer.client))
    end, rec = _session([strap], [(peer, script)], tmp_path, duration, speed=15)
    assert end.ended_by == "end of session" and rec.meta["completed"]
    delivered = [s for s in peer.sent if s.delivered]
    # every notification before the drop and after the reconnection was delivered and recorded
    assert_delivered_around(peer.sent, drop, back)
    hr = rec.signals["strap.hr"]
    assert len(hr) == len(delivered)
    np.testing.assert_array_equal(hr.values[:, 0],
                                  [parse_heart_rate_measurement(s.data).hr_bpm for s in delivered])
    np.testing.assert_allclose(hr.times, [s.t for s in delivered], atol=1.0)
    rr = rec.signals["strap.rr"]
    sent_rr = [r for s in delivered for r in parse_heart_rate_measurement(s.data).rr_ms]
    np.testing.assert_array_equal(rr.values, sent_rr)
    assert np.all(np.diff(rr.times) > 0)
    # beat times: never before the true beat, late by the smallest beat-to-arrival delay (plus
    # event-loop latency, 15x in session time); mostly exactly one reported RR apart
    err = rr.times - np.concatenate([s.truth[0] for s in delivered])
    assert np.all(err > -0.01) and np.median(err) < 0.3 and np.max(err) < 1.5
    assert np.mean(np.isclose(np.diff(rr.times), rr.values[1:] / 1000, rtol=0, atol=1e-6)) > 0.85
    gaps = rec.events[rec.events.kind == "gap"]
    assert len(gaps) == 1
    gap = gaps.iloc[0]
    assert drop <= gap.onset < drop + 1 and back - drop <= gap.duration < back - drop + 5.0
    assert "disconnected" in gap.payload["reason"] or "not found" in gap.payload["reason"]
    assert strap.reconnects >= 2 and peer.connect_attempts > peer.connections >= 2
    assert math.isfinite(rec.meta["duration_s"])
