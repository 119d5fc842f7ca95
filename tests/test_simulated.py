"""The simulated sensor: deterministic, chunk-invariant, reacting to the protocol."""
from __future__ import annotations

import numpy as np
import pytest

from biofeed.devices.simulated import SimulatedSensor
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import DEMO
from biofeed.sim.physiology import SimConfig


def _read(seed: int, steps: np.ndarray, **config) -> dict[str, np.ndarray]:
    runner = ProtocolRunner(DEMO)
    sensor = SimulatedSensor(SimConfig(seed=seed, **config), runner.state_at)
    parts: dict[str, list] = {}
    for t in steps:
        for chunk in sensor.read_until(float(t)):
            parts.setdefault(chunk.info.name, []).append(chunk.values[:, 0])
    return {k: np.concatenate(v) for k, v in parts.items()}


def test_same_seed_same_signals_whatever_the_chunking():
    fine = _read(5, np.arange(1, 901) * 0.1)                            # 100 ms chunks
    rng = np.random.default_rng(0)
    coarse = _read(5, np.append(np.cumsum(rng.uniform(0.01, 7.0, 40)), 90.0))
    coarse = {k: v[: len(fine[k])] for k, v in coarse.items()}
    for name in ("ecg", "eda", "resp"):
        assert len(fine[name]) == len(coarse[name])
        np.testing.assert_allclose(fine[name], coarse[name], rtol=0, atol=1e-9)


def test_different_seeds_differ():
    a, b = _read(1, [30.0]), _read(2, [30.0])
    assert not np.allclose(a["ecg"], b["ecg"])


def test_sample_counts_match_rate_times_duration():
    out = _read(0, [10.0, 10.0, 33.3])
    assert len(out["ecg"]) == 250 * 33.3 and len(out["eda"]) == int(np.ceil(32 * 33.3))


def test_noise_free_signals_are_physiological():
    out = _read(0, [60.0], noise=0.0, ectopic_per_min=0.0, artifact_per_min=0.0)
    ecg, eda = out["ecg"], out["eda"]
    assert 0.9 < ecg.max() < 1.6            # R waves about 1 mV
    assert 3.0 < eda.min() and eda.max() < 6.0      # skin conductance in uS
    assert np.all(np.isfinite(ecg)) and np.all(eda >= 0)


@pytest.mark.parametrize("field,value", [("ecg_rate_hz", 0.0), ("noise", -1.0), ("breath_bpm", -3)])
def test_bad_config_is_rejected_by_name(field, value):
    with pytest.raises(ValueError, match=field):
        SimConfig(**{field: value})
