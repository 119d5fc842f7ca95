"""What a clinician saw live is what the report says: replaying a recording through the same
processors, in one chunk per stream, gives the derived streams that were recorded live."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

import biofeed as bf
from biofeed.analysis.replay import replay
from biofeed.devices.simulated import SimulatedSensor
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import DEMO
from biofeed.session import Session
from biofeed.sim.physiology import SimConfig


@pytest.fixture(scope="module")
def live_recording(tmp_path_factory):
    runner = ProtocolRunner(DEMO)
    sensor = SimulatedSensor(SimConfig(seed=11, artifact_per_min=1.0, ectopic_per_min=1.0),
                             runner.state_at)
    session = Session([sensor], runner, out_dir=tmp_path_factory.mktemp("live"), speed=300.0)
    asyncio.run(session.run())
    return bf.read(session.path)


def test_every_derived_stream_is_recorded(live_recording):
    kinds = {s.kind for s in live_recording.streams.values() if s.derived}
    assert kinds == {"rpeak", "rr", "nn", "hrv", "coherence", "rsa", "breath", "scl", "scr",
                     "arousal", "quality", "beat_quality", "pacing"}
    quality = {n for n, s in live_recording.streams.items() if s.kind == "quality"}
    assert quality == {"ecg.quality", "eda.quality"}


def test_the_simulated_participant_is_rated_good(live_recording):
    # 10 s segments every 5 s over the 240 s demo; a motion artifact a minute
    # (SimConfig(artifact_per_min=1.0)) may spoil a few
    for name in ("ecg.quality", "eda.quality"):
        good = live_recording.signals[name].values[:, 0]
        assert len(good) == 47 and good.mean() >= 0.7, (name, good.mean())


def test_replay_reproduces_the_live_derived_streams(live_recording):
    replayed = replay(live_recording)
    derived = [n for n, s in live_recording.streams.items() if s.derived]
    assert sorted(replayed) == sorted(derived)
    for name in derived:
        live, again = live_recording.signals[name], replayed[name]
        assert len(live) > 0, name
        np.testing.assert_allclose(live.times, again.times, rtol=0, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(live.values, again.values, rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=name)


def test_arousal_rises_in_the_stressor_phase(live_recording):
    arousal = live_recording.signals["arousal"]
    t, a = arousal.times, arousal.values[:, 0]
    baseline = np.nanmean(a[(t >= 30) & (t < 60)])
    stressor = np.nanmean(a[(t >= 90) & (t < 120)])
    assert stressor > baseline + 0.5
    assert np.isfinite(a[t >= 100]).all()


def test_batching_changes_no_output(live_recording):
    from biofeed.physio.eda import EdaProcessor
    from biofeed.processor import Batched
    from biofeed.stream import Chunk

    info, sig = live_recording.streams["eda"], live_recording.signals["eda"]

    def run(proc, size):
        out = []
        for i in range(0, len(sig), size):
            out += proc.update(Chunk(info, sig.values[i:i + size], t0=i / info.rate))
        out += proc.flush()
        return {name: np.concatenate([c.values for c in out if c.info.name == name])
                for name in {c.info.name for c in out}}

    whole = run(EdaProcessor(info), len(sig))
    batched = run(Batched(EdaProcessor(info), 1.0), 7)
    assert whole.keys() == batched.keys() == {"eda.scl", "eda.scr"}
    for name in whole:
        np.testing.assert_array_equal(whole[name], batched[name])
