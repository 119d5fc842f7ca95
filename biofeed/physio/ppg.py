"""Online PPG pulse (systolic peak) detection at 40-200 bpm, either polarity, causal and
chunk-size invariant.

Methods (the numbers are :class:`PulseDetector`'s defaults):

1. Low-pass 8 Hz (2nd-order Butterworth, causal) and the first difference. No high-pass: the
   derivative ignores the baseline, and the 0.5 Hz high-pass of Elgendi et al. (2013, PLoS ONE
   8:e76585) would bend 40 bpm pulses out of shape.
2. Polarity from the signal itself: the systolic upstroke is steeper than the decay, so the
   derivative of a PPG with its peaks up is positively skewed (the skewness signal-quality
   index of Elgendi 2016, Bioengineering 3:21, applied to the derivative). Each 1.5 s block
   (a beat at 40 bpm) votes with the sign of its derivative's skewness; the polarity flips
   when the last 8 votes (12 s) hold 3 more against it than for it (:class:`PolarityVote`),
   so a motion artefact sways a vote or two, not the polarity. Before the first vote, the
   skewness of all samples so far decides.
3. Slope sum function (Zong et al. 2003, Computers in Cardiology 30:259): the sum of the
   upward slopes (polarity applied) over the last 128 ms; each upstroke makes one hump, whose
   maximum is a pulse candidate. This is the front end of ``qppg`` (Vest et al. 2018, Physiol
   Meas 39:105004), among the best PPG beat detectors in the benchmark of Charlton et al.
   (2022, Physiol Meas 43:085007).
4. Candidates are chosen by relative height, with windows that follow the heart rate (the
   median of the last 3-5 pulse intervals) instead of a fixed refractory period. A candidate is
   a pulse unless
   - a larger candidate follows within 0.25 s, or a pulse precedes it within 0.25 s (one
     upstroke split by noise counts once; 240 bpm at most);
   - it is below 0.3 x the largest candidate from 1.5 pulse intervals before it (1-2.5 s;
     2.5 s until the rate is known) to 0.45 s after it, leaving out candidates over 3 x the
     median of the last 5 pulses (artefacts): the reference follows a loss of perfusion
     within that time;
   - it is below 0.5 x a candidate within 0.75 pulse intervals (at most 0.6 s) before it or
     (at most 0.45 s) after it: the diastolic wave after a dicrotic notch, a bump before the
     upstroke;
   - it comes at a phase (time since the last pulse / pulse interval) where the next pulse is
     not due and is small against the last or the recent pulse (:func:`early_ratio`), as the
     diastolic wave of a deep notch and motion between beats are.
5. The systolic peak: on the PPG (polarity applied) smoothed by a 40 ms Hann kernel (zero
   phase, nulls 50 Hz mains), the first maximum after the steepest point of the upstroke.

The look-ahead is about 0.65 s (0.72 s at 25 Hz): the 0.45 s a candidate waits for its
neighbours, the slope window and the filter delay before it.
"""
from __future__ import annotations

import bisect
from collections import deque
from operator import itemgetter

import numpy as np
from scipy import signal as sps

from .beats import BeatProcessor, detect_all
from .filters import HoldLast, LinearFilter, MovingSum, SignalBuffer, hann_taps, smooth_rows

__all__ = ["PolarityVote", "PulseDetector", "PulseProcessor", "early_ratio", "ppg_peaks",
           "vote_polarity"]


class PulseDetector:
    """Causal PPG systolic-peak detector for 40-200 bpm, peaks up or down (see module).

    Feed consecutive samples with :meth:`update`; each call returns the pulse peaks that became
    certain, as absolute sample indices (0 = first sample ever fed). :meth:`flush` returns the
    rest at the end of the data. Output does not depend on how the signal is cut into chunks.
    Any unit and scale: every threshold is relative to the signal itself. Cost per sample: a
    few vectorised numpy passes per chunk; Python work only per slope-sum maximum (a few per
    beat).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (at least 20 Hz; 25-1000 Hz typical).
    slope_window : float
        Window of the slope sum function, seconds (Zong et al. 2003: 128 ms).
    min_height : float
        A pulse's slope sum reaches at least this fraction of the largest recent one (0.3).
    neighbour_ratio : float
        ... and at least this fraction of every candidate within ``neighbour_window`` before
        it and up to 0.45 s after it, both at most 0.75 pulse intervals (0.5).
    neighbour_window : float
        Seconds before a candidate compared by ``neighbour_ratio`` (0.6 s: past the diastolic
        wave at 40 bpm).
    early_ratio : float
        Before 0.6 pulse intervals since the last pulse, a candidate reaches at least this
        fraction of that pulse or of the largest recent one, whichever is larger (0.7;
        :func:`early_ratio`).
    min_interval : float
        Shortest time between pulses, seconds (0.25 s: 240 bpm); of candidates closer than
        this, the larger one is kept.
    polarity_block : float
        Seconds per polarity vote (1.5 s; see :class:`PolarityVote`).

    Attributes
    ----------
    lookahead : float
        Longest delay in seconds between a peak and the end of the data that reveals it
        (0.64-0.72 s at 25-1000 Hz).
    """

    #: Seconds after a candidate in which its neighbours are looked at.
    NEIGHBOURS_AHEAD = 0.45

    def __init__(self, fs: float, *, slope_window: float = 0.128, min_height: float = 0.3,
                 neighbour_ratio: float = 0.5, neighbour_window: float = 0.6,
                 early_ratio: float = 0.7, min_interval: float = 0.25,
                 polarity_block: float = 1.5) -> None:
        if not fs >= 20:
            raise ValueError(f"sampling rate must be >= 20 Hz, got {fs!r}")
        self.fs = float(fs)
        self._fill = HoldLast()
        self._lowpass = LinearFilter(*sps.butter(2, min(8.0, 0.4 * fs), fs=fs))
        self._polarity = PolarityVote(max(1, round(polarity_block * fs)))
        self._ssf = MovingSum(max(1, round(slope_window * fs)))
        self._min_height = min_height
        self._ratio = neighbour_ratio
        self._early_ratio = early_ratio
        self._near = round(neighbour_window * fs)
        self._gap = max(1, round(min_interval * fs))
        self._recent, self._recent_min = round(2.5 * fs), round(1.0 * fs)
        self._taps = hann_taps(fs, 0.040)
        # the peak lies after the steepest point of the upstroke, which lies in the slope
        # window before the candidate, or up to the low-pass group delay (~30 ms) earlier
        self._back = self._ssf.n + round(0.06 * fs)
        self._ahead = round(0.25 * fs)                  # the peak is searched this far ahead
        # a candidate is decided once this many samples after it are in: every rule looks
        # no further ahead (so the output does not depend on the chunking)
        self._wait = max(self._gap, self._ahead + len(self._taps) // 2 + 1,
                         round(self.NEIGHBOURS_AHEAD * fs))
        self.lookahead = (self._back + self._wait + 2) / fs
        self._raw = SignalBuffer()
        self._n = 0
        self._last_lp: float | None = None             # last low-passed sample
        self._tail = np.array([np.inf, np.inf])       # last two slope sums
        self._pol_before = 1                            # polarity at the last sample
        self._cands: list[tuple[int, float, int]] = []   # (index, height, polarity), in order
        self._next = 0                                  # index in _cands of the next to decide
        self._intervals: deque[int] = deque(maxlen=5)   # the last 5 pulse intervals, samples
        self._heights: deque[float] = deque(maxlen=5)   # slope sums of the last 5 pulses
        self._artefact = 3.0        # candidates this many times the median pulse are artefacts
        self._last: tuple[int, float] | None = None     # last pulse: candidate index, height
        self._last_peak = -1

    def update(self, x: np.ndarray) -> np.ndarray:
        """Consume the next samples (any unit, either polarity); return newly certain peak
        indices. Non-finite samples (dropouts) are replaced by the last finite one."""
        x = self._fill(np.asarray(x, dtype=np.float64).reshape(-1))
        if not len(x):
            return np.empty(0, dtype=np.int64)
        lp = self._lowpass(x)
        d = np.diff(lp, prepend=lp[0] if self._last_lp is None else self._last_lp)
        self._last_lp = lp[-1]
        pol = self._polarity(d)
        ssf = self._ssf(np.maximum(pol * d, 0.0))
        ext = np.concatenate((self._tail, ssf))
        mid = ext[1:-1]
        top = np.flatnonzero((mid > ext[:-2]) & (mid >= ext[2:]))
        pol_ext = np.concatenate(([self._pol_before], pol))
        for j in top:      # candidate at absolute index self._n - 1 + j
            self._cands.append((self._n - 1 + int(j), float(mid[j]), int(pol_ext[j])))
        self._pol_before = int(pol[-1])
        self._tail = ext[-2:]
        self._raw.append(x)
        self._n += len(x)
        return self._decide(final=False)

    def flush(self) -> np.ndarray:
        """End of data: decide the candidates still waiting for their look-ahead."""
        return self._decide(final=True)

    @property
    def polarity(self) -> int:
        """Current polarity, +1 (peaks up) or -1 (peaks down)."""
        return self._polarity.polarity

    @property
    def pending_from(self) -> int:
        """Smallest sample index a peak not yet reported can have."""
        first = self._cands[self._next][0] if self._next < len(self._cands) else self._n - 1
        return max(0, min(first, self._n - 1) - self._back)

    def _decide(self, final: bool) -> np.ndarray:
        """Decide every candidate whose look-ahead has arrived; forget what no longer counts."""
        out: list[int] = []
        while self._next < len(self._cands):
            i, h, pol = self._cands[self._next]
            if not final and i + self._wait + 1 >= self._n:   # a candidate is known one
                break                                           # sample after it
            if self._is_pulse(self._next):
                peak = self._peak(i, pol)
                if self._last is not None:
                    self._intervals.append(i - self._last[0])
                self._last = (i, h)
                self._heights.append(h)
                if peak > self._last_peak:
                    out.append(peak)
                    self._last_peak = peak
            self._next += 1
        horizon = (self._cands[self._next][0] if self._next < len(self._cands) else self._n) \
            - max(self._near, self._recent)
        drop = bisect.bisect_left(self._cands, horizon, key=_index)
        del self._cands[:drop]
        self._next -= drop
        self._raw.discard_before(self.pending_from - len(self._taps))
        return np.asarray(out, dtype=np.int64)

    def _is_pulse(self, k: int) -> bool:
        """Candidate ``k`` of :attr:`_cands` against its neighbours and the last pulses."""
        i, h, _ = self._cands[k]
        known = sorted(self._intervals)
        interval = float(known[len(known) // 2]) if len(known) >= 3 else np.inf
        reach = min(self._near, 0.75 * interval)
        recent = min(self._recent, max(self._recent_min, 1.5 * interval))
        near = typical = 0.0
        heights = sorted(self._heights)
        cap = self._artefact * heights[len(heights) // 2] if len(heights) >= 3 else np.inf
        cands = self._cands
        first = bisect.bisect_left(cands, i - max(reach, recent), key=_index)
        for m in range(first, len(cands)):
            j, g, _ = cands[m]
            if j > i + self._wait:
                break
            if i < j <= i + self._gap and g > h:
                return False                  # a larger candidate follows closely
            if i - reach <= j <= i + min(reach, self._wait):
                near = max(near, g)
            if i - recent <= j <= i + self._wait and g <= cap:
                typical = max(typical, g)
        if h < self._ratio * near or h < self._min_height * typical:
            return False
        if self._last is not None:
            since, last_h = i - self._last[0], self._last[1]
            if since < self._gap:
                return False
            if np.isfinite(interval) and h < max(last_h, typical) * early_ratio(
                    since / interval, self._early_ratio):
                return False
        return True

    def _peak(self, i: int, pol: int) -> int:
        """Systolic peak of the upstroke whose slope sum peaks at ``i``: on the smoothed PPG,
        the first maximum after the steepest point."""
        m = len(self._taps)
        lo, hi = i - self._back, min(i + self._ahead, self._n - 1 - m // 2)
        idx = np.clip(np.arange(lo - m // 2, hi + m - m // 2), 0, self._n - 1)
        seg = pol * smooth_rows(self._raw.data[idx - self._raw.start][None, :], self._taps)[0]
        slope = np.diff(seg)
        if not len(slope):
            return i
        steep = int(np.argmax(slope[:max(1, i - lo + 1)]))
        down = np.flatnonzero(slope[steep:] <= 0)
        top = steep + int(down[0]) if len(down) else steep + int(np.argmax(seg[steep:]))
        return max(0, lo + top)


#: Sample index of a candidate tuple.
_index = itemgetter(0)


def early_ratio(phase: float, ratio: float = 0.7) -> float:
    """Fraction of the last (or typical) pulse a candidate must reach ``phase`` median pulse
    intervals after the last pulse: ``ratio`` before 0.6 (where a diastolic wave lies), then
    falling linearly to 0 at 0.9, where the next pulse is due."""
    return ratio if phase < 0.6 else ratio * max(0.0, 0.9 - phase) / 0.3


class PolarityVote:
    """Polarity of a PPG from its derivative, per block of samples, chunk-size invariant.

    Each complete block votes with the sign of the skewness of the derivative in it (+1: the
    upstrokes are the steep part, peaks up). The polarity flips when the last 8 votes hold at
    least ``min(3, number of votes)`` more against it than for it, so an artefact, whose skew
    is large but random, sways a block or two, not the polarity.

    Parameters
    ----------
    block : int
        Samples per block.
    """

    def __init__(self, block: int) -> None:
        self._block = np.empty(block)
        self._filled = 0
        self._votes: deque[int] = deque(maxlen=8)
        self.polarity = 1

    def __call__(self, d: np.ndarray) -> np.ndarray:
        """The polarity at each of the next derivative samples (the one in force when the
        sample's block began)."""
        out = np.empty(len(d), dtype=np.int64)
        pos, size = 0, len(self._block)
        while pos < len(d):
            take = min(size - self._filled, len(d) - pos)
            self._block[self._filled:self._filled + take] = d[pos:pos + take]
            if self._votes:
                out[pos:pos + take] = self.polarity
            else:       # before the first vote: the skew of everything so far
                so_far = np.cumsum(self._block[:self._filled + take] ** 3)[self._filled:]
                out[pos:pos + take] = np.where(so_far < 0, -1, 1)
            self._filled += take
            pos += take
            if self._filled == size:
                self._votes.append(int(np.sign(np.sum(self._block ** 3))))
                self.polarity = vote_polarity(list(self._votes), self.polarity)
                self._filled = 0
        return out


def vote_polarity(votes: list[int], polarity: int) -> int:
    """The polarity after ``votes`` (+1, -1 or 0 each): flipped when the votes against it
    outnumber those for it by at least ``min(3, len(votes))``."""
    margin = -polarity * sum(votes)
    return -polarity if votes and margin >= min(3, len(votes)) else polarity


def ppg_peaks(ppg: np.ndarray, fs: float, **kwargs) -> np.ndarray:
    """Systolic peak sample indices of a whole PPG record (either polarity).

    Runs :class:`PulseDetector` over the array, so the result is exactly what the online
    detector reports live.

    Parameters
    ----------
    ppg : array_like, shape (n,)
        PPG, any unit, peaks up or down.
    fs : float
        Sampling rate, Hz.
    **kwargs
        Passed to :class:`PulseDetector`.

    Returns
    -------
    ndarray of int
        Sample indices of the pulse peaks, increasing.
    """
    return detect_all(PulseDetector(fs, **kwargs), ppg)


class PulseProcessor(BeatProcessor):
    """Processor: PPG stream ``X`` (kind ``"ppg"``) -> systolic peaks ``X.peaks`` (kind
    ``"pulse"``, in the PPG's unit) and peak-to-peak intervals ``X.rr`` (ms); see
    :class:`~biofeed.physio.beats.BeatProcessor`.

    Takes the input stream ``info`` (regular), the ``channel`` to analyse (default 0) and
    keyword arguments of :class:`PulseDetector`.
    """

    detector_type = PulseDetector
    input_kind, peak_kind, peak_suffix = "ppg", "pulse", "peaks"
