"""Coherence ratio and RSA amplitude (biofeed.physio.coherence)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.interpolate import CubicSpline

from biofeed.physio.coherence import CoherenceProcessor, coherence, coherence_peak, rsa_amplitude
from biofeed.physio.rr import RRCleaner

from beat_testing import rr_from, run_after_nn


def test_pure_0p1_hz_is_high():
    ratio, peak = coherence_peak(rr_from(lambda t: 900 + 50 * np.sin(2 * np.pi * 0.1 * t), 120))
    assert ratio > 5
    assert peak == pytest.approx(0.1, abs=0.003)


def test_white_noise_is_low():
    rng = np.random.default_rng(1)
    ratios = [coherence(900 + 30 * rng.standard_normal(120)) for _ in range(20)]
    assert max(ratios) < 0.6
    assert np.mean(ratios) < 0.3


def test_hand_computed():
    """Every step spelled out with numpy on a fixed series."""
    rng = np.random.default_rng(42)
    nn = rr_from(lambda t: 850 + 40 * np.sin(2 * np.pi * 0.09 * t)
                 + 15 * np.sin(2 * np.pi * 0.3 * t) + 10 * rng.standard_normal(), 100)
    t = np.cumsum(nn) / 1000
    grid = t[-1] - 64 + np.arange(1, 129) / 2.0                   # 2 Hz, last 64 s
    first = np.flatnonzero(t <= grid[0] - 0.5)[-1]                  # last beat before the window
    x = CubicSpline(t[first:], nn[first:], bc_type="natural")(grid)
    k = np.arange(128)
    x = x - np.polyval(np.polyfit(k, x, 1), k)                      # linear detrend
    w = 0.5 - 0.5 * np.cos(2 * np.pi * k / 128)                     # periodic Hann
    power = 2 * np.abs(np.fft.rfft(x * w, 1024)) ** 2 / (2.0 * np.sum(w ** 2))
    f = np.arange(513) * 2.0 / 1024
    df = 2.0 / 1024
    band = (f >= 0.04) & (f <= 0.26)
    fp = f[band][np.argmax(power[band])]
    peak = power[np.abs(f - fp) <= 0.015].sum() * df
    total = power[(f >= 0.0033) & (f < 0.4)].sum() * df
    expected = peak / (total - peak)
    ratio, peak_hz = coherence_peak(nn)
    assert peak_hz == fp == pytest.approx(0.09, abs=0.003)
    assert ratio == pytest.approx(expected, rel=1e-9)
    assert coherence(nn, squared=True) == pytest.approx(expected ** 2, rel=1e-9)
    assert coherence(nn) == pytest.approx(3.308, abs=0.001)  # pinned value of this series


def test_short_series_is_nan():
    assert math.isnan(coherence(np.full(70, 900.0)))  # 62.1 s from first to last beat
    assert not math.isnan(coherence(np.full(73, 900.0) + np.arange(73) % 2))


def test_rsa_amplitude():
    nn = rr_from(lambda t: 900 + 50 * np.sin(2 * np.pi * 0.1 * t), 120)
    bt = np.cumsum(nn) / 1000
    amp = rsa_amplitude(nn, bt, np.arange(0, 110, 10.0))
    # HR swings between 60000/950 and 60000/850 bpm; beats sample the extremes closely
    assert amp == pytest.approx(60000 / 850 - 60000 / 950, rel=0.03)
    out = rsa_amplitude(nn, bt, [0.0, 0.5, 10.0, 200.0, 300.0])
    assert math.isnan(out[0]) and not math.isnan(out[1]) and math.isnan(out[3])
    assert rsa_amplitude(nn, bt, [5.0]).size == 0
    with pytest.raises(ValueError):
        rsa_amplitude(nn, bt[:-1], [0.0, 10.0])




def test_processor_values():
    rr = rr_from(lambda t: 900 + 50 * np.sin(2 * np.pi * 0.1 * t), 150)
    times = np.cumsum(rr) / 1000
    proc = CoherenceProcessor("rr.nn")
    info = proc.outputs[0]
    assert info.kind == "coherence" and info.channels == ("coherence", "peak_hz")
    ts, v = run_after_nn(proc, rr, times, [])
    assert np.array_equal(ts, 5.0 * np.arange(1, times[-1] // 5 + 1))
    assert np.all(np.isnan(v[ts < 64, 0]))
    c = RRCleaner()
    a, b = c.update(rr, times), c.flush()
    bt, bn = np.concatenate((a.times_s, b.times_s)), np.concatenate((a.nn_ms, b.nn_ms))
    for T, row in zip(ts[ts >= 70], v[ts >= 70]):
        assert row == pytest.approx(coherence_peak(bn[(bt <= T) & (bt > T - 70)]), rel=1e-12)
        assert row[0] > 5 and row[1] == pytest.approx(0.1, abs=0.003)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), cuts=st.lists(st.integers(1, 160), max_size=30))
def test_processor_chunk_invariance(seed, cuts):
    rng = np.random.default_rng(seed)
    rr = rr_from(lambda t: 900 + 40 * np.sin(2 * np.pi * 0.1 * t) + 20 * rng.standard_normal(), 130)
    rr[rng.choice(rr.size, 4, replace=False)] *= 1.8  # missed beats
    times = 0.7 + np.cumsum(rr) / 1000
    cuts = [c for c in cuts if c < rr.size]
    ts1, v1 = run_after_nn(CoherenceProcessor("rr.nn"), rr, times, [])
    ts2, v2 = run_after_nn(CoherenceProcessor("rr.nn"), rr, times, cuts)
    assert np.array_equal(ts1, ts2)
    assert np.array_equal(v1, v2, equal_nan=True)
