"""PPG pulse detector: synthetic PPG with known peaks, noise, chunk-size invariance, look-ahead,
and the engine processor."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal as sps

from biofeed.physio.ppg import PulseDetector, PulseProcessor, ppg_peaks
from biofeed.stream import Chunk, StreamInfo

nk = pytest.importorskip("neurokit2")


def match(detected: np.ndarray, reference: np.ndarray, tol: int) -> tuple[int, int, int]:
    """Greedy one-to-one matching within +-tol samples: (TP, FN, FP)."""
    detected = np.sort(detected)
    used = np.zeros(len(detected), bool)
    tp = 0
    for r in np.sort(reference):
        k = np.searchsorted(detected, r - tol)
        while k < len(detected) and detected[k] <= r + tol and used[k]:
            k += 1
        if k < len(detected) and detected[k] <= r + tol:
            used[k] = True
            tp += 1
    return tp, len(reference) - tp, len(detected) - tp


def simulate(fs: int, seed: int, noisy: bool, heart_rate: float = 70.0) -> np.ndarray:
    noise = dict(motion_amplitude=0.2, powerline_amplitude=0.05, drift=1.0) if noisy else \
        dict(motion_amplitude=0.0, powerline_amplitude=0.0, drift=0.0)
    return nk.ppg_simulate(duration=120, sampling_rate=fs, heart_rate=heart_rate,
                           random_state=seed, **noise)


def known_peaks(fs: int, seed: int, heart_rate: float = 70.0) -> np.ndarray:
    """Systolic peaks of the noise-free simulation (its prominent maxima), away from the edges."""
    clean = simulate(fs, seed, noisy=False, heart_rate=heart_rate)
    peaks, _ = sps.find_peaks(clean, distance=round(0.3 * fs), prominence=0.3 * np.ptp(clean))
    return interior(peaks, fs, len(clean))


def interior(p: np.ndarray, fs: int, n: int) -> np.ndarray:
    return p[(p >= fs) & (p < n - fs)]


def run_chunked(x: np.ndarray, fs: float, sizes) -> np.ndarray:
    det = PulseDetector(fs)
    out, i, k = [], 0, 0
    while i < len(x):
        n = sizes[k % len(sizes)]
        out.append(det.update(x[i:i + n]))
        i, k = i + n, k + 1
    out.append(det.flush())
    return np.concatenate(out)


@pytest.mark.parametrize("fs", [25, 100, 1000])
@pytest.mark.parametrize("seed, heart_rate", [(0, 55), (1, 70), (2, 100)])
def test_known_peaks_noise_free(fs, seed, heart_rate):
    """Every systolic peak found, none extra, within max(1 sample, 5 ms)."""
    truth = known_peaks(fs, seed, heart_rate)
    x = simulate(fs, seed, noisy=False, heart_rate=heart_rate)
    found = interior(ppg_peaks(x, fs), fs, len(x))
    assert match(found, truth, max(1, round(0.005 * fs))) == (len(truth), 0, 0)


@pytest.mark.parametrize("fs", [25, 100, 1000])
@pytest.mark.parametrize("seed, heart_rate", [(0, 55), (1, 70), (2, 100)])
def test_known_peaks_with_drift_motion_and_mains(fs, seed, heart_rate):
    """Drift, motion and 50 Hz mains: all peaks within +-50 ms, median error <= 1 sample / 5 ms."""
    truth = known_peaks(fs, seed, heart_rate)
    x = simulate(fs, seed, noisy=True, heart_rate=heart_rate)
    found = interior(ppg_peaks(x, fs), fs, len(x))
    tp, fn, fp = match(found, truth, round(0.05 * fs))
    assert fn == 0 and fp == 0
    error = np.array([np.abs(found - t).min() for t in truth])
    assert np.median(error) <= max(1, round(0.005 * fs))


def test_agrees_with_neurokit2_elgendi():
    """Same beats as ``nk.ppg_findpeaks(nk.ppg_clean(x))`` (Elgendi), within +-2 samples at 100 Hz
    (NeuroKit2 locates the peak on the zero-phase 0.5-8 Hz band-passed signal, we on the PPG)."""
    fs = 100
    x = simulate(fs, 3, noisy=True)
    theirs = nk.ppg_findpeaks(nk.ppg_clean(x, sampling_rate=fs), sampling_rate=fs)["PPG_Peaks"]
    ours, theirs = interior(ppg_peaks(x, fs), fs, len(x)), interior(np.asarray(theirs), fs, len(x))
    tp, fn, fp = match(ours, theirs, 2)
    assert tp / max(len(ours), len(theirs)) >= 0.99


@pytest.fixture(scope="module")
def noisy_100hz():
    x = simulate(100, 4, noisy=True)
    return x, ppg_peaks(x, 100)


def test_one_chunk_equals_ten_sample_chunks(noisy_100hz):
    x, whole = noisy_100hz
    assert len(whole) > 100
    np.testing.assert_array_equal(run_chunked(x, 100, [10]), whole)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 1500), min_size=1, max_size=20))
def test_random_chunk_sizes_give_the_same_peaks(noisy_100hz, sizes):
    x, whole = noisy_100hz
    np.testing.assert_array_equal(run_chunked(x, 100, sizes), whole)


def test_peaks_are_reported_within_the_lookahead(noisy_100hz):
    x, _ = noisy_100hz
    det = PulseDetector(100)
    assert det.lookahead <= 0.5
    late = [i + 1 - p for i in range(len(x)) for p in det.update(x[i:i + 1])]
    assert max(late) / 100 <= det.lookahead


def test_flat_and_short_signals():
    assert len(ppg_peaks(np.zeros(3000), 100)) == 0
    assert len(ppg_peaks(np.zeros(0), 100)) == 0
    with pytest.raises(ValueError):
        PulseDetector(10)


PPG = StreamInfo("ppg", "ppg", "a.u.", 100.0)


def test_processor_streams_and_chunk_invariance(noisy_100hz):
    x, peaks = noisy_100hz

    def run(size):
        proc = PulseProcessor(PPG)
        out = []
        for i in range(0, len(x), size):
            out += proc.update(Chunk(PPG, x[i:i + size], 3.0 + i / 100))
        out += proc.flush()
        return proc, {name: (np.concatenate([c.timestamps for c in out if c.info.name == name]),
                             np.concatenate([c.values[:, 0] for c in out if c.info.name == name]))
                      for name in ("ppg.peaks", "ppg.rr")}

    proc, a = run(len(x))
    _, b = run(13)
    info_peaks, info_rr = proc.outputs
    assert (info_peaks.name, info_peaks.kind, info_peaks.unit) == ("ppg.peaks", "rpeak", "a.u.")
    assert (info_rr.name, info_rr.kind, info_rr.unit) == ("ppg.rr", "rr", "ms")
    t, v = a["ppg.peaks"]
    np.testing.assert_allclose(t, 3.0 + peaks / 100, atol=1e-9)
    np.testing.assert_array_equal(v, x[peaks])
    np.testing.assert_allclose(a["ppg.rr"][1], np.diff(peaks) * 10.0, atol=1e-6)
    for name in a:
        for u, w in zip(a[name], b[name]):
            np.testing.assert_allclose(u, w, rtol=0, atol=1e-9)
    with pytest.raises(ValueError):
        PulseProcessor(StreamInfo("ecg", "ecg", "mV", 250.0))
