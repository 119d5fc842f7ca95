"""Online ECG R-peak detection (causal, bounded look-ahead, chunk-size invariant).

The detector follows Pan & Tompkins (1985, IEEE Trans Biomed Eng 32:230): band-pass 5-15 Hz,
derivative, squaring, 150 ms moving-window integration, and adaptive signal / noise peak levels
with a threshold a quarter of the way between them (levels initialised from a 2 s learning
stretch), a 200 ms refractory period and T-wave discrimination by slope within 360 ms of the
previous beat. Two changes make it causal with a look-ahead below 0.5 s: PT's search-back is
replaced by halving the threshold for every 1.66 mean RR intervals without a beat (down to
1/16), so recovering from missed beats never waits for future data; and a peak counts at most
twice the current level when the levels are updated, so a noise burst cannot lock the detector
out for long. Each detected complex is then located on the ECG itself, smoothed by a 20 ms
linear-phase Hann kernel (which does not shift the peak), at the extremum of the lead's dominant
polarity. The polarity is the sign of the QRS asymmetry (max + min) / (max - min) about the
local median baseline, summed over the last 8 beats, so an inverted lead gives the same beats.

All filtering is stateful (``lfilter`` with carried state, carried cumulative sums) and
vectorised per chunk; only the threshold logic runs in Python, once per candidate peak.
"""
from __future__ import annotations

import functools
from collections import deque

import numpy as np
from scipy import signal as sps

from .beats import BeatProcessor, detect_all
from .filters import HoldLast, LinearFilter, MovingSum, SignalBuffer, hann_taps, smooth_rows

__all__ = ["RPeakDetector", "RPeakProcessor", "ecg_peaks"]


class RPeakDetector:
    """Causal R-peak detector for one ECG lead (Pan & Tompkins 1985, adapted; see module).

    Feed consecutive samples with :meth:`update`; each call returns the R-peaks that became
    certain, as absolute sample indices (0 = first sample ever fed). :meth:`flush` returns the
    rest at the end of the data. Output does not depend on how the signal is cut into chunks.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (100-1000 Hz tested; at least 40 Hz).
    band : tuple of float
        Pass band of the QRS filter, Hz (Pan & Tompkins: about 5-15 Hz).
    integration : float
        Moving-window integration length, seconds (150 ms).
    refractory : float
        Minimum time between beats, seconds (200 ms).
    twave : float
        A candidate closer than this to the previous beat (seconds) must have at least half the
        previous beat's maximal slope to count as a beat (360 ms).
    learning : float
        Seconds of signal used to initialise the peak levels (2 s). Beats in this first stretch
        are reported once it is complete.

    Attributes
    ----------
    lookahead : float
        After the learning stretch, the longest delay in seconds between an R-peak and the
        end of the data that reveals it (about 0.41 s).
    """

    def __init__(self, fs: float, *, band: tuple[float, float] = (5.0, 15.0),
                 integration: float = 0.150, refractory: float = 0.200, twave: float = 0.360,
                 learning: float = 2.0) -> None:
        if not fs >= 40:
            raise ValueError(f"sampling rate must be >= 40 Hz, got {fs!r}")
        if not 0 < band[0] < band[1] < fs / 2:
            raise ValueError(f"band {band} Hz must lie inside (0, {fs / 2}) Hz")
        self.fs = float(fs)
        b, a = sps.butter(2, band, "bandpass", fs=fs)
        self._fill = HoldLast()
        self._slope = LinearFilter(np.convolve(b, [1.0, -1.0]), a)    # band-pass, derivative
        self._integrate = MovingSum(max(1, round(integration * fs)))
        self._taps = hann_taps(fs, 0.020)
        # The integrated energy peaks after the R-peak by about half the integration window
        # plus the band-pass group delay at the QRS frequencies; search the ECG around there.
        bp_delay = float(sps.group_delay((b, a), w=[np.sqrt(band[0] * band[1])], fs=fs)[1][0])
        lag = self._integrate.n / 2 + bp_delay
        self._search = (round(lag + 0.09 * fs), round(lag - 0.05 * fs))   # samples before i
        # baseline: median of ECG[i - base, i] (an odd count of samples)
        self._base = 2 * ((self._search[0] + round(0.15 * fs)) // 2)
        self._half = max(1, round(refractory * fs))      # candidate: max within +-refractory
        self._twave = twave * fs
        self._learning = max(1, round(learning * fs))
        self._back = max(self._base, self._search[0] + len(self._taps), self._integrate.n,
                         self._half) + 2
        self.lookahead = (self._half + self._search[0] + 1) / fs
        # columns: integrated energy, |slope|, ECG; rows addressed by absolute sample index
        self._buf = SignalBuffer(columns=3)
        self._n = 0
        self._scan = 0
        self._levels = _Levels(fs, self._twave)

    def update(self, x: np.ndarray) -> np.ndarray:
        """Consume the next samples (mV; any unit works); return newly certain R-peak indices.

        Non-finite samples (dropouts) are replaced by the last finite one.
        """
        x = self._fill(np.asarray(x, dtype=np.float64).reshape(-1))
        if len(x):
            slope = self._slope(x)
            rows = self._buf.extend(len(x))
            rows[:, 0] = self._integrate(slope * slope)
            rows[:, 1] = np.abs(slope)
            rows[:, 2] = x
            self._n += len(x)
        return self._detect(self._n - self._half)

    def flush(self) -> np.ndarray:
        """End of data: return the R-peaks still held back by the look-ahead."""
        return self._detect(self._n, final=True)

    @property
    def pending_from(self) -> int:
        """Smallest sample index an R-peak not yet reported can have."""
        return max(0, self._scan - self._search[0]) if self._levels.initialised else 0

    def _detect(self, ready: int, final: bool = False) -> np.ndarray:
        none = np.empty(0, dtype=np.int64)
        if not self._levels.initialised:
            if self._n < self._learning and not final:
                return none
            self._levels.initialise(self._buf.window(0, min(self._learning, self._n))[:, 0])
        lo, hi, w = self._scan, ready, self._half
        if hi <= lo:
            return none
        self._scan = hi
        cand = _window_maxima(self._buf.window(lo - w - 1, hi + w, fill=-np.inf)[:, 0], w) + lo
        beats = self._classify(cand, final) if len(cand) else none
        self._buf.discard_before(self._scan - self._back)
        return beats

    def _classify(self, cand: np.ndarray, final: bool) -> np.ndarray:
        """Threshold decisions on the candidate energy peaks ``cand``; R-peaks of the beats."""
        energy = self._buf.data[cand - self._buf.start, 0]
        slopes = self._rows(cand - self._integrate.n + 1, self._integrate.n, 1,
                            cand[0] < self._integrate.n).max(axis=1)
        # rounding residue of the filters on a flat signal is no complex
        real = slopes > 1e-9 * np.abs(self._buf.data[cand - self._buf.start, 2])
        beats = self._levels.decide(cand[real], energy[real], slopes[real])
        return self._locate(beats, final) if len(beats) else beats

    def _locate(self, beats: np.ndarray, final: bool) -> np.ndarray:
        """R-peak of each accepted complex (energy-peak indices ``beats``) on the ECG."""
        a, b = self._search
        starts = beats - a
        if final:   # a complex cut off by the end of data: search up to the last sample
            starts[beats == self._n - 1] = self._n - 1 - (a - b)
        # the ECG around each complex, smoothed by a linear-phase Hann kernel (kept centred)
        m = len(self._taps)
        edge = final or beats[0] < self._base
        ecg = smooth_rows(self._rows(starts - m // 2, a - b + m, 2, edge), self._taps)
        half = self._base // 2
        base = np.partition(self._rows(beats - self._base, self._base + 1, 2, edge), half)[:, half]
        top, bottom = ecg.argmax(axis=1), ecg.argmin(axis=1)
        rows = np.arange(len(beats))
        up, down = ecg[rows, top] - base, ecg[rows, bottom] - base
        span = up - down
        own = np.divide(up + down, span, out=np.zeros_like(span), where=span > 0)
        # complexes without a full baseline window (at the very start) do not vote on polarity
        vote = np.where(beats >= self._base, own, 0.0)
        at = np.where(self._levels.polarity(vote, own), starts + top, starts + bottom)
        return np.clip(at, 0, self._n - 1) if edge else at

    def _rows(self, starts: np.ndarray, width: int, column: int, edge: bool) -> np.ndarray:
        """``column`` of the buffer over ``[starts[k], starts[k] + width)``, shape (k, width).

        With ``edge``, indices before the first or after the last sample read the first or
        last sample; without, all of them must lie in the buffer.
        """
        idx = starts[:, None] + _arange(width)
        if edge:
            idx = np.clip(idx, 0, self._n - 1)
        return self._buf.data[idx - self._buf.start, column]


@functools.cache
def _arange(n: int) -> np.ndarray:
    return np.arange(n)


def _window_maxima(e: np.ndarray, w: int) -> np.ndarray:
    """Positions in ``e[w + 1 : -w]`` holding the largest value within +-w samples, > 0.

    A plateau counts once, at its first sample. Only local maxima are compared with their
    window (a smooth envelope has few). Returns indices relative to ``e[w + 1]``.
    """
    n = len(e)
    core = e[w + 1:n - w]
    i = np.flatnonzero((core > e[w:n - w - 1]) & (core >= e[w + 2:n - w + 1]) & (core > 0))
    if len(i):
        span = e[(i + 1)[:, None] + _arange(2 * w + 1)]     # core[i] is e[i + w + 1]
        i = i[core[i] >= span.max(axis=1)]
    return i


class _Levels:
    """Adaptive signal/noise peak levels and the per-candidate decision (Pan & Tompkins 1985)."""

    def __init__(self, fs: float, twave: float) -> None:
        self.fs = fs
        self.twave = twave
        self.initialised = False
        self.spk = self.npk = 0.0
        self.last: int | None = None       # energy-peak index of the previous beat
        self.last_slope = 0.0
        self.rr = deque(maxlen=8)          # recent beat-to-beat intervals, samples
        self.asym = deque(maxlen=8)        # recent QRS polarity asymmetries in [-1, 1]

    def initialise(self, energy: np.ndarray) -> None:
        """Initial levels from the learning stretch (PT: 1/3 of max, 1/2 of mean)."""
        finite = energy[np.isfinite(energy)]
        self.spk = float(finite.max()) / 3 if len(finite) else 0.0
        self.npk = float(finite.mean()) / 2 if len(finite) else 0.0
        self.initialised = True

    def decide(self, cand: np.ndarray, energy: np.ndarray, slopes: np.ndarray) -> np.ndarray:
        """Classify candidates in order; return the energy-peak indices of the beats.

        ``cand``: energy-peak indices; ``energy``, ``slopes``: their integrated energy and
        maximal slope.
        """
        out = []
        spk, npk, last, last_slope = self.spk, self.npk, self.last, self.last_slope
        rr = self.rr
        for i, e, s in zip(cand.tolist(), energy.tolist(), slopes.tolist()):
            thr = npk + 0.25 * (spk - npk)
            relax = 0
            twave = False
            if last is not None:
                rr_mean = sum(rr) / len(rr) if rr else self.fs
                relax = min(int((i - last) / (1.66 * rr_mean)), 4)
                thr *= 0.5 ** relax
                # a T wave: too slow for a QRS this soon after a beat
                twave = i - last < self.twave and s < 0.5 * last_slope
            if e > thr and not twave:
                gain = 0.25 if relax else 0.125
                spk = gain * min(e, 2 * spk if spk > 0 else e) + (1 - gain) * spk
                if last is not None:
                    rr.append(i - last)
                last, last_slope = i, s
                out.append(i)
            else:
                npk = 0.125 * min(e, 2 * npk if npk > 0 else e) + 0.875 * npk
        self.spk, self.npk, self.last, self.last_slope = spk, npk, last, last_slope
        return np.asarray(out, dtype=np.int64)

    def polarity(self, vote: np.ndarray, own: np.ndarray) -> np.ndarray:
        """Per beat, True when the lead's dominant deflection is positive.

        ``vote``: each beat's QRS asymmetry (max + min) / (max - min) about the baseline, summed
        over the last 8 beats; ``own``: the beat's own asymmetry, used while the votes cancel.
        """
        out = np.empty(len(vote), dtype=bool)
        for k, (v, o) in enumerate(zip(vote.tolist(), own.tolist())):
            self.asym.append(v)
            out[k] = (sum(self.asym) or o) >= 0
        return out


def ecg_peaks(ecg: np.ndarray, fs: float, **kwargs) -> np.ndarray:
    """R-peak sample indices of a whole ECG record.

    Runs :class:`RPeakDetector` over the array, so the result is exactly what the online
    detector reports live.

    Parameters
    ----------
    ecg : array_like, shape (n,)
        One ECG lead (mV; polarity does not matter).
    fs : float
        Sampling rate, Hz.
    **kwargs
        Passed to :class:`RPeakDetector`.

    Returns
    -------
    ndarray of int
        Sample indices of the R-peaks, increasing.
    """
    return detect_all(RPeakDetector(fs, **kwargs), ecg)


class RPeakProcessor(BeatProcessor):
    """Processor: ECG stream ``X`` (kind ``"ecg"``) -> R-peaks ``X.rpeaks`` (kind ``"rpeak"``,
    mV) and RR intervals ``X.rr`` (ms); see :class:`~biofeed.physio.beats.BeatProcessor`.

    Takes the input stream ``info`` (regular), the ``channel`` to analyse (default 0) and
    keyword arguments of :class:`RPeakDetector`.
    """

    detector_type = RPeakDetector
    input_kind, peak_kind, peak_suffix = "ecg", "rpeak", "rpeaks"
