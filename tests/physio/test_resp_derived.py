"""Respiration without a belt (issue 18): chest accelerometer, ECG- and PPG-derived, fusion,
pacer adherence and the pipeline's choice of source."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from biofeed.devices.simulated import SimulatedSensor
from biofeed.physio.acc_resp import AccRespProcessor, acc_resp
from biofeed.physio.ecg import RPeakProcessor
from biofeed.physio.edr import EdrProcessor, edr
from biofeed.physio.pdr import pdr
from biofeed.physio.resp_derived import fuse_rates, run_offline, window_rate
from biofeed.physio.rr import NNProcessor
from biofeed.physio.rsa import PacingProcessor
from biofeed.pipeline import default_processors
from biofeed.sim.physiology import SimConfig
from biofeed.stream import Chunk, Event, StreamInfo

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "neurokit"


def _sim(seconds: float, breath_bpm: float = 12.0, **kw) -> dict[str, np.ndarray]:
    s = SimulatedSensor(SimConfig(seed=4, breath_bpm=breath_bpm), **kw)
    raw: dict[str, list] = {}
    for t in np.arange(10.0, seconds + 1e-9, 10.0):
        for c in s.read_until(float(t)):
            raw.setdefault(c.info.name, []).append(c.values)
    return {k: np.concatenate(v) for k, v in raw.items()}


def test_window_rate_of_a_sinusoid_and_of_noise():
    fs = 4.0
    t = np.arange(240) / fs
    rate, q = window_rate(np.sin(2 * np.pi * 0.2 * t), fs)
    assert abs(rate - 12.0) < 0.1 and q > 0.9
    rate, q = window_rate(np.random.default_rng(0).standard_normal(240), fs)
    assert q < 0.25


def test_smart_fusion_uses_the_agreeing_modulations():
    rate, mask = fuse_rates([12.0, 13.0, 30.0], [0.8, 0.7, 0.9])
    assert rate == pytest.approx(12.5) and mask == 0b011
    assert fuse_rates([12.0, 30.0], [0.8, 0.9]) == (math.nan, 0) or \
        math.isnan(fuse_rates([12.0, 30.0], [0.8, 0.9])[0])
    rate, mask = fuse_rates([12.0, 12.5, 12.2], [0.8, 0.1, 0.9])   # a poor one is left out
    assert mask == 0b101


@pytest.mark.parametrize("bpm", [6.0, 15.0])
def test_accelerometer_rate_follows_the_simulated_breathing(bpm):
    raw = _sim(240.0, bpm)
    resp, fs = acc_resp(raw["acc"], 50.0)
    assert fs == pytest.approx(50.0 / 6)
    rate, q = window_rate(resp[-round(60 * fs):], fs)
    assert abs(rate - bpm) < 1.5 and q > 0.3


def test_accelerometer_processor_is_chunk_size_invariant():
    raw = _sim(120.0)["acc"]
    info = StreamInfo("acc", "acc", "mG", 50.0, ("x", "y", "z"))
    outs = []
    for step in (len(raw), 7, 333):
        p = AccRespProcessor(info)
        got = [c for i in range(0, len(raw), step)
               for c in p.update(Chunk(info, raw[i:i + step], i / 50.0))] + p.flush()
        resp = np.concatenate([c.values[:, 0] for c in got if c.info.kind == "resp"])
        rates = np.concatenate([c.values for c in got if c.info.kind == "resp_rate"])
        outs.append((resp, rates))
    whole, _ = acc_resp(raw, 50.0)
    for resp, rates in outs:
        np.testing.assert_array_equal(resp, outs[0][0])
        np.testing.assert_array_equal(rates, outs[0][1])
    np.testing.assert_allclose(outs[0][0], whole, rtol=0, atol=1e-9)


def test_edr_is_chunk_size_invariant_and_equals_the_whole_record_function():
    ecg = _sim(150.0)["ecg"][:, 0]
    info = StreamInfo("ecg", "ecg", "mV", 250.0)
    results = []
    for step in (len(ecg), 25, 1013):
        procs = [RPeakProcessor(info), NNProcessor("ecg.rr"),
                 EdrProcessor(info, "ecg.rpeaks", "ecg.rr.nn")]
        chunks = [Chunk(info, ecg[i:i + step], i / 250.0) for i in range(0, len(ecg), step)]
        got = run_offline(procs, chunks)
        results.append(np.concatenate([c.values for c in got["ecg.edr"]]))
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    resp, fs = edr(ecg, 250.0)
    np.testing.assert_array_equal(resp[np.isfinite(resp)], results[0][:, 0])


@pytest.mark.parametrize("bpm", [8.0, 16.0])
def test_ppg_and_ecg_derived_rates_on_the_simulated_sensor(bpm):
    raw = _sim(200.0, bpm, ppg_rate_hz=64.0)
    for x, fs, fn in ((raw["ppg"][:, 0], 64.0, pdr), (raw["ecg"][:, 0], 250.0, edr)):
        _, _, table = fn(x, fs, rates=True)
        err = np.abs(table.rate_per_min - bpm)
        assert np.nanmean(err) < 1.5 and np.isfinite(table.rate_per_min).mean() >= 0.8, table


@pytest.mark.skipif(not (DATA / "bio_resting_8min_100hz.csv").exists(),
                    reason="NeuroKit example data not found (../shared/data/neurokit)")
def test_edr_rate_against_the_belt_on_a_real_resting_recording():
    import pandas as pd

    d = pd.read_csv(DATA / "bio_resting_8min_100hz.csv")
    _, _, table = edr(d.ECG.to_numpy(), 100.0, rates=True)
    belt = d.RSP.to_numpy()
    ref = [window_rate(belt[round((e - 60) * 100):round(e * 100)], 100.0)[0]
           for e in table.t_end_s]
    assert np.nanmean(np.abs(table.rate_per_min - ref)) < 1.5


def test_pacing_locks_when_breaths_follow_the_pacer():
    p = PacingProcessor("resp.breaths")
    p.on_event(Event(1, 10.0, 120.0, "pace", "phase", {"pacer_rate_bpm": 6.0}))
    info = StreamInfo("resp.breaths", "breath", "s", 0.0, ("breath_s",))
    onsets = np.arange(11.0, 140.0, 10.0)
    out = p.update(Chunk(info, np.full(len(onsets), 10.0), onsets[0], onsets))[0]
    # the onset at 10 s has no breath onset before it; every later one is 1 s before a breath
    np.testing.assert_allclose(out.timestamps, np.arange(20.0, 130.0, 10.0))
    np.testing.assert_allclose(out.values[:, 0], 324.0)          # 1 s before each breath
    np.testing.assert_allclose(out.values[:, 1], 1.0)
    np.testing.assert_allclose(out.values[:, 2:], 6.0)
    # breathing at another rate does not lock
    q = PacingProcessor("resp.breaths")
    q.on_event(Event(1, 10.0, 120.0, "pace", "phase", {"pacer_rate_bpm": 6.0}))
    onsets = np.arange(11.0, 140.0, 7.3)
    out = q.update(Chunk(info, np.full(len(onsets), 7.3), onsets[0], onsets))[0]
    assert out.values[-1, 1] < 0.5


def test_pipeline_takes_the_best_breathing_source_and_names_it():
    def chosen(**kw):
        procs = default_processors(SimulatedSensor(SimConfig(), **kw).streams)
        outs = {o.name: o for p in procs for o in p.outputs}
        return outs["ecg.rr.rsa"].device, [n for n, o in outs.items() if o.kind == "pacing"]

    assert chosen() == ("RSA(breaths resp.breaths)", ["resp.breaths.pacing"])
    assert chosen(belt=False) == ("RSA(breaths acc.resp.breaths)", ["acc.resp.breaths.pacing"])
    assert chosen(belt=False, acc_rate_hz=0) == ("RSA(breaths ecg.edr.breaths)",
                                                 ["ecg.edr.breaths.pacing"])


@pytest.mark.parametrize("sensor, source", [({"belt": False}, "acc.resp"),
                                            ({"belt": False, "acc_rate_hz": 0.0}, "ecg.edr")])
def test_demo_without_a_belt_runs_the_chain_live_as_offline(tmp_path, sensor, source):
    """A demo session with no belt: breaths, RSA and pacing from the accelerometer or the ECG;
    what was recorded live equals a replay of the raw streams (another chunking)."""
    import asyncio

    import biofeed as bf
    from biofeed.analysis.replay import replay
    from biofeed.protocol.runner import ProtocolRunner
    from biofeed.protocol.schedule import DEMO
    from biofeed.session import Session

    runner = ProtocolRunner(DEMO)
    session = Session([SimulatedSensor(SimConfig(seed=3), runner.state_at, **sensor)], runner,
                      out_dir=tmp_path, speed=200.0)
    asyncio.run(session.run())
    rec = bf.read(session.path)
    assert "resp" not in rec.streams and rec.streams[source].kind == "resp"
    assert rec.streams["ecg.rr.rsa"].device == f"RSA(breaths {source}.breaths)"
    again = replay(rec)
    for name in (source, f"{source}.breaths", "ecg.rr.rsa", f"{source}.breaths.pacing"):
        live = rec.signals[name]
        # regular streams' times are t0 + i / rate of each chunk: equal to rounding
        np.testing.assert_allclose(again[name].times, live.times, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(again[name].values, live.values)
    pacing = rec.signals[f"{source}.breaths.pacing"]
    paced = rec.events[(rec.events.kind == "phase") & (rec.events.label == "paced_breathing")]
    onset = float(paced.onset.iloc[0])
    late = pacing.times >= onset + 20.0
    assert late.sum() >= 3 and pacing.values[late, 1][-1] > 0.8      # locked to the pacer
    assert np.all(np.abs(pacing.values[late, 3] - 6.0) < 1e-9)


def test_cli_demo_without_a_belt_records_where_its_breathing_came_from(tmp_path):
    import subprocess
    import sys

    import biofeed as bf

    run = subprocess.run([sys.executable, "-m", "biofeed", "demo", "--no-belt", "--no-acc",
                          "--headless", "--duration", "90", "--speed", "100",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    rec = bf.read(next(tmp_path.glob("*.biofeed")))
    assert "resp" not in rec.streams and "acc" not in rec.streams
    assert rec.streams["ecg.edr"].device == "EDR(ecg; beats ecg.rpeaks; nn ecg.rr.nn)"
    assert rec.streams["ecg.rr.rsa"].device == "RSA(breaths ecg.edr.breaths)"
    rate = rec.signals["ecg.edr.rate"]
    assert len(rate) >= 2 and np.all(np.abs(rate.values[:, 0] - 14.0) < 3.0)   # 14/min at rest


def test_an_accelerometer_without_ecg_on_its_device_is_not_taken_for_a_chest_strap():
    wrist = [StreamInfo("e4.acc", "acc", "g", 32.0, ("x", "y", "z"), "e4"),
             StreamInfo("e4.bvp", "ppg", "a.u.", 64.0, ("BVP",), "e4")]
    outs = {o.name: o for p in default_processors(wrist) for o in p.outputs}
    assert "e4.bvp.pdr" in outs and "e4.acc.resp" not in outs
    assert outs["e4.bvp.rr.rsa"].device == "RSA(breaths e4.bvp.pdr.breaths)"
    strap = [StreamInfo("h10.ecg", "ecg", "uV", 130.0, ("ecg",), "h10"),
             StreamInfo("h10.acc", "acc", "mG", 200.0, ("x", "y", "z"), "h10")]
    outs = {o.name: o for p in default_processors(strap) for o in p.outputs}
    assert "h10.acc.resp" in outs and "h10.ecg.edr" not in outs
