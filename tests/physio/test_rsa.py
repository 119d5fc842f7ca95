"""Live RSA amplitude per breath (biofeed.physio.rsa): breath cycles from a breath stream or from
the pacer, chunking, and the simulated participant's RSA at rest and at 6 breaths/min."""
from __future__ import annotations

import asyncio
import itertools
import math

import numpy as np
import pytest

import biofeed as bf
from biofeed.analysis.replay import replay
from biofeed.devices.simulated import SimulatedSensor
from biofeed.physio.coherence import rsa_amplitude
from biofeed.physio.rr import NNProcessor, nn_stream_info
from biofeed.physio.rsa import MAX_CYCLE_S, RsaProcessor
from biofeed.pipeline import default_processors, raw_processors, rr_processors
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import Pacer, Phase, Protocol
from biofeed.session import Session
from biofeed.sim.physiology import SimConfig
from biofeed.stream import Chunk, Event, StreamInfo

NN = nn_stream_info("rr")
BREATHS = StreamInfo("resp.breaths", "breath", "s", 0.0, ("breath_s",), derived=True)


def beats(duration_s: float, breath_hz: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """NN intervals (ms) with HR swinging at the breathing rate, and their beat times (s)."""
    t, out = 0.3, []
    while t < duration_s:
        out.append(900.0 + 60.0 * math.sin(2 * math.pi * breath_hz * t))
        t += out[-1] / 1000.0
    nn = np.asarray(out)
    return nn, 0.3 + np.cumsum(nn) / 1000.0


def nn_chunks(nn: np.ndarray, times: np.ndarray, size: int) -> list[Chunk]:
    values = np.column_stack((nn, np.zeros_like(nn)))
    return [Chunk(NN, values[i:i + size], float(times[i]), times[i:i + size])
            for i in range(0, nn.size, size)]


def breath_chunk(onsets: np.ndarray, cycle: np.ndarray) -> Chunk:
    return Chunk(BREATHS, cycle, float(onsets[0]), onsets)


def collect(chunks: list[Chunk]) -> tuple[np.ndarray, np.ndarray]:
    rsa = [c for c in chunks if c.info.kind == "rsa"]
    if not rsa:
        return np.empty(0), np.empty((0, 2))
    return np.concatenate([c.timestamps for c in rsa]), np.vstack([c.values for c in rsa])


def phase(id: int, onset: float, duration: float, rate: float | None, **extra) -> Event:
    payload = {"phase_kind": "baseline" if rate is None else "paced_breathing"}
    if rate is not None:
        payload |= {"pacer_rate_bpm": rate, "inhale_fraction": 0.4,
                    "pacer": Pacer(rate, 0.4).to_dict()}
    return Event(id, onset, duration, "p", "phase", payload | extra)


def test_output_stream():
    proc = RsaProcessor("rr.nn", "resp.breaths", name="rr.rsa")
    assert proc.inputs == ("rr.nn", "resp.breaths")
    info = proc.outputs[0]
    assert (info.name, info.kind, info.unit, info.rate, info.channels, info.derived) == \
        ("rr.rsa", "rsa", "bpm", 0.0, ("rsa_bpm", "breath_s"), True)
    assert RsaProcessor("rr.nn").inputs == ("rr.nn",)


def test_breath_cycles_from_onsets():
    nn, t = beats(200.0)
    onsets = np.array([3.0, 13.0, 23.0, 33.0, 50.0, 60.0, 60.0 + MAX_CYCLE_S + 1.0, 131.0])
    cycle = np.diff(onsets, prepend=math.nan)
    cycle[4] = math.nan                         # 50 s: the first onset after a gap
    proc = RsaProcessor("rr.nn", "resp.breaths")
    assert proc.update(breath_chunk(onsets, cycle)) == []    # no beat yet
    times, values = collect([c for ch in nn_chunks(nn, t, 7) for c in proc.update(ch)])
    # no cycle across the gap (33-50 s) nor longer than a breath can be (60-121 s)
    np.testing.assert_array_equal(times, [13.0, 23.0, 33.0, 60.0, 131.0])
    np.testing.assert_array_equal(values[:, 1], [10.0] * 5)
    expect = rsa_amplitude(nn, t, onsets)[[0, 1, 2, 4, 6]]
    np.testing.assert_array_equal(values[:, 0], expect)
    # HR swings between 60000/960 and 60000/840 bpm once per 10 s cycle
    np.testing.assert_allclose(values[:, 0], 60000 / 840 - 60000 / 960, rtol=0.03)


def test_a_cycle_waits_for_the_beats_up_to_its_end():
    nn, t = beats(40.0)
    proc = RsaProcessor("rr.nn", "resp.breaths")
    proc.update(breath_chunk(np.array([5.0, 15.0]), np.array([math.nan, 10.0])))
    before = t <= 15.0
    values = np.column_stack((nn, np.zeros_like(nn)))
    assert proc.update(Chunk(NN, values[before], float(t[0]), t[before])) == []
    times, _ = collect(proc.update(Chunk(NN, values[~before][:1], float(t[~before][0]),
                                         t[~before][:1])))
    np.testing.assert_array_equal(times, [15.0])


def nn_via_cleaner(rr: np.ndarray, times: np.ndarray, cuts) -> list[Chunk]:
    """RR (ms) cut at ``cuts`` -> NNProcessor: the NN chunks as the engine would pass them on."""
    clean, info = NNProcessor("rr"), StreamInfo("rr", "rr", "ms", 0.0)
    bounds = [0, *sorted(set(cuts)), rr.size]
    out = [c for a, b in itertools.pairwise(bounds) if b > a
           for c in clean.update(Chunk(info, rr[a:b], float(times[a]), times[a:b]))]
    return out + clean.flush()


def feed(proc: RsaProcessor, items: list[Chunk]) -> tuple[np.ndarray, np.ndarray]:
    return collect([c for item in items for c in proc.update(item)] + proc.flush())


@pytest.mark.parametrize("order", ["breaths first", "beats first", "by time"])
def test_chunk_invariance_with_a_breath_stream(order):
    """NN from RR cut anywhere, breath onsets cut anywhere and arriving before, after or
    between the beats: the same samples."""
    rr, t = beats(300.0)
    k = np.arange(29)
    onsets = 2.0 + 10.0 * k + 0.3 * np.sin(k)
    cycle = np.diff(onsets, prepend=math.nan)
    whole = feed(RsaProcessor("rr.nn", "resp.breaths"),
                 [breath_chunk(onsets, cycle), *nn_via_cleaner(rr, t, [])])
    assert whole[0].size == 28 and np.isfinite(whole[1]).all()
    rng = np.random.default_rng(3)
    nn = nn_via_cleaner(rr, t, rng.integers(0, rr.size, 60))
    cuts = [0, *sorted(rng.choice(np.arange(1, 29), 8, replace=False)), 29]
    br = [breath_chunk(onsets[a:b], cycle[a:b]) for a, b in itertools.pairwise(cuts)]
    def arrival(c: Chunk) -> float:            # onsets 1 s after the onset, beats 4 s after
        return c.t_end + (4.0 if c.info.kind == "nn" else 1.0)

    items = {"breaths first": br + nn, "beats first": nn + br,
             "by time": sorted(br + nn, key=arrival)}
    again = feed(RsaProcessor("rr.nn", "resp.breaths"), items[order])
    np.testing.assert_array_equal(again[0], whole[0])
    np.testing.assert_array_equal(again[1], whole[1])


def test_pacer_cycles_last_exactly_60_over_the_rate():
    nn, t = beats(310.0)
    proc = RsaProcessor("rr.nn")
    for ev in (phase(1, 0.0, 60.0, None), phase(2, 60.0, 120.0, 6.0),
               phase(3, 180.0, 120.0, 5.5), phase(4, 300.0, 60.0, None)):
        assert proc.on_event(ev) == []
    times, values = feed(proc, nn_chunks(nn, t, 5))
    period = 60.0 / 5.5
    expect = np.concatenate((60.0 + 10.0 * np.arange(1, 13), 180.0 + period * np.arange(1, 12)))
    np.testing.assert_allclose(times, expect, rtol=0, atol=1e-9)
    np.testing.assert_allclose(values[:, 1], [10.0] * 12 + [period] * 11, rtol=0, atol=1e-9)
    edges = np.concatenate(([60.0], expect[:12], [180.0], expect[12:]))
    amp = rsa_amplitude(nn, t, edges)
    np.testing.assert_array_equal(values[:, 0], np.delete(amp, 12))   # [180, 180) is no cycle
    # the same beats one at a time or all at once
    whole = RsaProcessor("rr.nn")
    for ev in (phase(2, 60.0, 120.0, 6.0), phase(3, 180.0, 120.0, 5.5)):
        whole.on_event(ev)
    np.testing.assert_array_equal(feed(whole, nn_chunks(nn, t, nn.size))[1], values)


def test_pacer_pause_live_and_replayed():
    """A 120 s phase at 6/min paused from 34 s to 50 s: the pacer clock stops, the cycle the
    pause cuts is dropped, the phase runs to 136 s. Events as the runner emits them live
    (phase with its planned length, pause of length 0 re-written at resume, phase re-written at
    its end) give the same samples as the final events known up front (a replay)."""
    nn, t = beats(150.0)
    final = [phase(1, 0.0, 136.0, 6.0, planned_duration_s=120.0, ended="completed",
                   paused_s=16.0),
             Event(2, 34.0, 16.0, "pause", "pause", {"phase": "p", "note": ""}),
             Event(3, 50.0, 0.0, "resume", "resume", {"phase": "p", "paused_s": 16.0})]
    live = [(0.0, phase(1, 0.0, 120.0, 6.0)),
            (34.0, Event(2, 34.0, 0.0, "pause", "pause", {"phase": "p", "note": ""})),
            (50.0, final[1]), (50.0, final[2]), (136.0, final[0])]
    expect = [10.0, 20.0, 30.0, *np.arange(66.0, 137.0, 10.0)]

    replayed = RsaProcessor("rr.nn")
    for ev in final:
        replayed.on_event(ev)
    times, values = feed(replayed, nn_chunks(nn, t, nn.size))
    np.testing.assert_allclose(times, expect, rtol=0, atol=1e-9)
    np.testing.assert_allclose(values[:, 1], 10.0, rtol=0, atol=1e-9)

    proc, out, e = RsaProcessor("rr.nn"), [], 0
    for chunk in nn_chunks(nn, t, 1):          # each beat reaches the processor 4 s late
        while e < len(live) and live[e][0] <= chunk.t_end + 4.0:
            out += proc.on_event(live[e][1])
            e += 1
        out += proc.update(chunk)
    live_t, live_v = collect(out + proc.flush())
    np.testing.assert_array_equal(live_t, times)
    np.testing.assert_array_equal(live_v, values)


def test_no_pacer_no_cycles():
    nn, t = beats(100.0)
    proc = RsaProcessor("rr.nn")
    proc.on_event(phase(1, 0.0, 100.0, None))
    proc.on_event(Event(2, 10.0, 0.0, "marker", "marker", {"note": "x"}))
    assert feed(proc, nn_chunks(nn, t, 3))[0].size == 0


def test_pipeline_feeds_rsa_from_respiration_else_derived_else_from_the_pacer():
    ecg = StreamInfo("ecg", "ecg", "mV", 250.0)
    resp = StreamInfo("resp", "resp", "a.u.", 32.0)
    with_resp = [p for p in default_processors([ecg, resp]) if isinstance(p, RsaProcessor)]
    assert [(p.inputs, p.outputs[0].name) for p in with_resp] == \
        [(("ecg.rr.nn", "resp.breaths"), "ecg.rr.rsa")]
    # without a belt, breaths derived from the ECG (issue 18); from the pacer with RR only
    alone = [p for p in default_processors([ecg]) if isinstance(p, RsaProcessor)]
    assert [p.inputs for p in alone] == [("ecg.rr.nn", "ecg.edr.breaths")]
    rr = StreamInfo("strap.rr", "rr", "ms", 0.0)
    alone = [p for p in default_processors([rr]) if isinstance(p, RsaProcessor)]
    assert [p.inputs for p in alone] == [("strap.rr.nn",)]


#: Spontaneous breathing at 14/min, then the pacer at 6/min (the sim's RSA peaks at 5.5/min).
REST_THEN_PACED = Protocol("rsa", (
    Phase("baseline", "baseline", 120.0),
    Phase("paced", "paced_breathing", 120.0, pacer=Pacer(6.0, 0.4))))
#: The pacer at 14/min (the resting rate), then at 6/min.
FAST_THEN_SLOW = Protocol("rsa pacer", (
    Phase("paced 14", "paced_breathing", 120.0, pacer=Pacer(14.0, 0.4)),
    Phase("paced 6", "paced_breathing", 120.0, pacer=Pacer(6.0, 0.4))))


def pacer_only_processors(streams):
    """R-peaks, RR, NN and RSA with the pacer's cycles: a session without any breathing source
    (an RR-only strap: no belt, accelerometer or ECG/PPG waveform to derive breathing from)."""
    ecg = next(s for s in streams if s.kind == "ecg")
    return raw_processors(ecg) + rr_processors("ecg.rr", None)


def simulated_session(protocol: Protocol, tmp_path, with_resp: bool):
    runner = ProtocolRunner(protocol)
    sensor = SimulatedSensor(SimConfig(seed=4), runner.state_at)
    streams = list(sensor.streams)
    session = Session([sensor], runner, out_dir=tmp_path, speed=600.0,
                      processors=(default_processors(streams) if with_resp
                                  else pacer_only_processors(streams)))
    asyncio.run(session.run())
    return bf.read(session.path), streams


def test_rsa_rises_with_slow_paced_breathing(tmp_path):
    rec, _ = simulated_session(REST_THEN_PACED, tmp_path, with_resp=True)
    rsa = rec.signals["ecg.rr.rsa"]
    t, amp, cycle = rsa.times, rsa.values[:, 0], rsa.values[:, 1]
    rest, paced = (t > 30) & (t <= 120), (t > 150) & (t <= 240)
    assert rest.sum() >= 15 and paced.sum() >= 7
    assert np.nanmean(amp[paced]) > 2.0 * np.nanmean(amp[rest])
    assert np.median(cycle[rest]) == pytest.approx(60 / 14, rel=0.1)    # 14 breaths/min
    assert np.median(cycle[paced]) == pytest.approx(10.0, rel=0.05)     # the pacer's 6/min


def test_pacer_only_session(tmp_path):
    """Without a respiration stream the cycles come from the pacer: exactly 60/rate s; RSA is
    larger at 6/min than at 14/min; a replay gives the same samples."""
    rec, streams = simulated_session(FAST_THEN_SLOW, tmp_path, with_resp=False)
    rsa = rec.signals["ecg.rr.rsa"]
    t, amp, cycle = rsa.times, rsa.values[:, 0], rsa.values[:, 1]
    fast, slow = t <= 120.0 + 1e-9, t > 120.0 + 1e-9
    np.testing.assert_allclose(cycle[fast], 60 / 14, rtol=0, atol=1e-9)
    np.testing.assert_allclose(cycle[slow], 10.0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(t[slow], 120.0 + 10.0 * np.arange(1, slow.sum() + 1), atol=1e-9)
    assert fast.sum() == 28 and slow.sum() >= 11
    assert np.nanmean(amp[slow]) > 2.0 * np.nanmean(amp[fast][5:])
    again = replay(rec, pacer_only_processors(streams))["ecg.rr.rsa"]
    np.testing.assert_array_equal(again.times, t)
    np.testing.assert_array_equal(again.values, rsa.values)
