"""PPG pulse detector: synthetic PPG with known peaks, noise, look-ahead, the processor's input
check (chunk-size invariance and the processor's streams: test_beats.py)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from beat_testing import match, simulate_ppg
from biofeed.physio.ppg import PulseDetector, PulseProcessor, ppg_peaks
from biofeed.stream import StreamInfo

nk = pytest.importorskip("neurokit2")


def known_peaks(fs: int, seed: int, heart_rate: float = 70.0) -> np.ndarray:
    """Systolic peaks of the noise-free simulation (its prominent maxima), away from the edges."""
    clean = simulate_ppg(fs, seed, noisy=False, heart_rate=heart_rate)
    peaks, _ = sps.find_peaks(clean, distance=round(0.3 * fs), prominence=0.3 * np.ptp(clean))
    return interior(peaks, fs, len(clean))


def interior(p: np.ndarray, fs: int, n: int) -> np.ndarray:
    return p[(p >= fs) & (p < n - fs)]


@pytest.mark.parametrize("fs", [25, 100, 1000])
@pytest.mark.parametrize("seed, heart_rate", [(0, 55), (1, 70), (2, 100)])
@pytest.mark.parametrize("noisy", [False, True], ids=["noise-free", "drift-motion-mains"])
def test_known_peaks(fs, seed, heart_rate, noisy):
    """Every systolic peak found and none extra. Noise-free: each within max(1 sample, 5 ms).
    With drift, motion and 50 Hz mains: each within +-50 ms, median error <= max(1 sample,
    5 ms)."""
    truth = known_peaks(fs, seed, heart_rate)
    x = simulate_ppg(fs, seed, noisy=noisy, heart_rate=heart_rate)
    found = interior(ppg_peaks(x, fs), fs, len(x))
    close = max(1, round(0.005 * fs))
    assert match(found, truth, round(0.05 * fs) if noisy else close) == (len(truth), 0, 0)
    error = np.array([np.abs(found - t).min() for t in truth])
    assert np.median(error) <= close


def test_agrees_with_neurokit2_elgendi():
    """Same beats as ``nk.ppg_findpeaks(nk.ppg_clean(x))`` (Elgendi), within +-2 samples at 100 Hz
    (NeuroKit2 locates the peak on the zero-phase 0.5-8 Hz band-passed signal, we on the PPG)."""
    fs = 100
    x = simulate_ppg(fs, 3, noisy=True)
    theirs = nk.ppg_findpeaks(nk.ppg_clean(x, sampling_rate=fs), sampling_rate=fs)["PPG_Peaks"]
    ours, theirs = interior(ppg_peaks(x, fs), fs, len(x)), interior(np.asarray(theirs), fs, len(x))
    tp, fn, fp = match(ours, theirs, 2)
    assert tp / max(len(ours), len(theirs)) >= 0.99


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


def test_processor_rejects_wrong_streams():
    with pytest.raises(ValueError):
        PulseProcessor(StreamInfo("ecg", "ecg", "mV", 250.0))
