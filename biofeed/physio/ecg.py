"""Online ECG R-peak detection (causal, bounded look-ahead, chunk-size invariant).

Detection follows Pan & Tompkins (1985, IEEE Trans Biomed Eng 32:230) with the decision rules
of Hamilton & Tompkins (1986, IEEE Trans Biomed Eng 33:1157) and Hamilton (2002, Computers in
Cardiology 29:101, the OSEA detector): band-pass 8-20 Hz (the band Elgendi et al. 2010,
Biosignals, found best for QRS detection: it keeps small sharp QRSs above wide T waves and
motion better than Pan & Tompkins' 5-15 Hz), derivative, then a 150 ms moving average of its
absolute value (a linear measure, so a wide PVC with half the slope of a normal beat keeps
half its energy, not a quarter). Candidates are the largest energy peaks within +-200 ms (the
refractory period). A candidate is a beat when it exceeds a threshold 0.3125 of the way from
the noise level to the QRS level, the medians of the last 8 noise and QRS peaks, and passes
the timing rules (T waves; premature complexes of an unknown shape). When no beat comes within
1.5 mean RR intervals, the largest candidate since the last beat above half the threshold is
taken (search-back), and each search-back that finds nothing halves that threshold again.
Candidates below the threshold count as noise only once the next beat is found, so missed
beats never raise the noise level: medians and this rule keep the detector from locking onto
one beat shape or running away after a change of amplitude (details in :class:`_Levels`).

Each complex is located on the ECG itself, filtered by a 20 ms running median (which removes
pacemaker spikes) and a 20 ms linear-phase Hann kernel (which does not shift the peak), at an
extremum of its deviation from a local baseline (the line between the median ECG in the 60 ms
before and after the search window). Which extremum is decided per beat shape: complexes are
grouped into up to four templates by their correlation, and each template is marked at its
dominant deflection (details in :class:`_Morphologies`), so one morphology keeps one fiducial
point, a PVC of opposite polarity gets its own, and an inverted lead gives the same beats.
The extremum is looked for only where the complex is steep: within :data:`STEEP_S` (40 ms,
half a QRS) of a sample whose band-passed slope is at least :data:`STEEP_FRACTION` (70 %) of
the steepest in the search window. P and T waves are slow, so a P wave larger than a small
QRS (normal beats in V1) is not taken for its peak (on MIT-BIH 208 V1 this turned 33 beats
placed 90-150 ms early, each a miss and a false beat, into hits).

All filtering is stateful (``lfilter`` with carried state, carried cumulative sums) and
vectorised per chunk; only the threshold logic runs in Python, once per candidate peak.
"""
from __future__ import annotations

import functools
import math
from collections import deque

import numpy as np
from scipy import signal as sps

from .beats import BeatProcessor, detect_all
from .filters import (HoldLast, LinearFilter, MovingSum, SignalBuffer, hann_taps, smooth_rows,
                      windows)

__all__ = ["RPeakDetector", "RPeakProcessor", "ecg_peaks"]

#: The R-peak lies within this many seconds of a steep sample of its complex (half a QRS).
STEEP_S = 0.04
#: A sample is steep when its slope is at least this fraction of the search window's steepest.
STEEP_FRACTION = 0.7
#: Comparisons per window sample up to which a running median is computed by a network of
#: comparisons rather than by selecting in every window (:func:`_running_median`; measured on
#: the R-peak locator's rows: faster at up to 3.5, e.g. 9 and 33 samples, slower at 4 and at
#: 4.7-7, 15 and 27-61 samples).
_NETWORK_SIZE = 3.5


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
        Pass band of the QRS filter, Hz (8-20 Hz, Elgendi et al. 2010; Pan & Tompkins: 5-15).
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
        After the learning stretch, the longest delay in seconds between an R-peak above the
        detection threshold and the end of the data that reveals it (about 0.41 s).
    searchback : float
        The longest delay of any R-peak, seconds: one found by searching back waits until
        1.5 mean RR intervals (each at most 1.5 s) have passed without a beat (2.66 s).
    """

    def __init__(self, fs: float, *, band: tuple[float, float] = (8.0, 20.0),
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
        self._bp_delay = round(bp_delay)
        self._steep_half = max(1, round(STEEP_S * fs))
        self._search = (round(lag + 0.09 * fs), round(lag - 0.05 * fs))   # samples before i
        # local baseline: median ECG over this many samples before and after the search window
        self._anchor = 2 * round(0.03 * fs) + 1
        # what is read around an energy peak c, as (first sample - c, samples): the ECG the
        # locator filters, the baseline before and after the search window, the slope where
        # it looks for steep samples, the slope over the integration window ending at c
        (a, b), m, n = self._search, len(self._taps), self._anchor
        reads = [(-a - m // 2 * 2, a - b + 2 * m - 1), (-a - n, n), (1 - b, n),
                 (self._bp_delay - a, a - b + 1), (1 - self._integrate.n, self._integrate.n)]
        first = min(0, *(o for o, _ in reads))
        self._reach = -first                             # this far before c
        self._around = np.arange(first, max(1, *(o + w for o, w in reads)))
        self._ecg, left, right, self._steep, self._slopes = (slice(o - first, o - first + w)
                                                             for o, w in reads)
        self._ends = np.array([np.arange(len(self._around))[k] for k in (left, right)])
        self._half = max(1, round(refractory * fs))      # candidate: max within +-refractory
        self._twave = twave * fs
        self._learning = max(1, round(learning * fs))
        self._back = max(self._reach, self._integrate.n, self._half) + 2
        self.lookahead = (self._half + self._search[0] + 1) / fs
        self.searchback = self.lookahead + _Levels.SEARCH * _Levels.MAX_RR
        # integrated energy, |slope| and ECG, each addressed by absolute sample index (one
        # buffer each: contiguous, so the energy scan and the reads are not strided)
        self._bufs = (SignalBuffer(), SignalBuffer(), SignalBuffer())
        self._n = 0
        self._scan = 0
        self._levels = _Levels(fs, self._twave)

    def update(self, x: np.ndarray) -> np.ndarray:
        """Consume the next samples (mV; any unit works); return newly certain R-peak indices.

        Non-finite samples (dropouts) are replaced by the last finite one.
        """
        x = self._fill(np.asarray(x, dtype=np.float64).reshape(-1))
        if len(x):
            energy, slope, ecg = (buf.extend(len(x)) for buf in self._bufs)
            np.abs(self._slope(x), out=slope)
            np.divide(self._integrate(slope), self._integrate.n, out=energy)
            ecg[:] = x
            self._n += len(x)
        return self._detect(self._n - self._half)

    def flush(self) -> np.ndarray:
        """End of data: return the R-peaks still held back by the look-ahead."""
        return self._detect(self._n, final=True)

    @property
    def pending_from(self) -> int:
        """Smallest sample index an R-peak not yet reported can have."""
        return max(0, self._oldest() - self._search[0]) if self._levels.initialised else 0

    def _oldest(self) -> int:
        """Energy-peak index of the earliest complex that may still become a beat."""
        first = self._levels.first_waiting
        return self._scan if first is None else min(first, self._scan)

    def _detect(self, ready: int, final: bool = False) -> np.ndarray:
        none = np.empty(0, dtype=np.int64)
        if not self._levels.initialised:
            if self._n < self._learning and not final:
                return none
            self._levels.initialise(self._bufs[0].window(0, min(self._learning, self._n)))
        lo, hi, w = self._scan, ready, self._half
        if hi <= lo:
            return none
        self._scan = hi
        cand = _window_maxima(self._bufs[0].window(lo - w - 1, hi + w, fill=-np.inf), w) + lo
        beats = self._classify(cand)
        keep = self._oldest() - self._back
        for buf in self._bufs:
            buf.discard_before(keep)
        return beats

    def _classify(self, cand: np.ndarray) -> np.ndarray:
        """Threshold decisions on the candidate energy peaks ``cand``; R-peaks of the beats."""
        energy = self._bufs[0].data[cand - self._bufs[0].start]
        slope, ecg = self._read(cand)
        slopes = slope[:, self._slopes].max(axis=1, initial=0.0)
        # rounding residue of the filters on a flat signal is no complex
        keep = slopes > 1e-9 * np.abs(ecg[:, self._reach])
        # nor one cut by either end of the data (it cannot be located)
        a, b = self._search
        if len(cand) and (cand[0] < a or cand[-1] - b >= self._n):
            keep &= (cand >= a) & (cand - b < self._n)
        if not keep.all():
            cand, energy, slopes, slope, ecg = (v[keep] for v in (cand, energy, slopes, slope, ecg))
        dev, top, bottom = self._complexes(slope, ecg)
        return self._levels.decide(cand, energy, slopes, cand - a, _Morphologies.complexes(dev),
                                   top, bottom, self._scan)

    def _read(self, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """|slope| and ECG around each energy peak c in ``cand``, over
        ``[c - self._reach, c - self._reach + len(self._around))``: two arrays of shape
        (k, len(self._around)). Indices before the first or after the last sample read the
        first or last sample."""
        idx = cand[:, None] + self._around
        if len(cand) and (idx[0, 0] < 0 or idx[-1, -1] >= self._n):
            idx = np.clip(idx, 0, self._n - 1)
        idx -= self._bufs[1].start
        return self._bufs[1].data[idx], self._bufs[2].data[idx]

    def _complexes(self, slope: np.ndarray,
                   ecg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ECG over the QRS search window of each candidate (rows of :meth:`_read`) as the
        deviation from a local baseline (rows), and the positions in the window of the row's
        maximum and of its minimum where the complex is steep (within :data:`STEEP_S` of a
        slope of at least :data:`STEEP_FRACTION` of the row's steepest; the slope lags the
        ECG by the band-pass group delay)."""
        a, b = self._search
        # the ECG around each complex: a running median (which removes pacemaker spikes and
        # other spikes narrower than half of it), then a linear-phase Hann kernel, both 20 ms
        # and centred; the filters and the baseline may reach past the ends of the data
        r = len(self._taps) // 2
        smooth = smooth_rows(_running_median(ecg[:, self._ecg], 2 * r + 1), self._taps)
        # deviation from the line joining the median ECG before and after the window
        ends = ecg[:, self._ends]
        ends.partition(self._anchor // 2, axis=-1)
        left, right = ends[:, :1, self._anchor // 2], ends[:, 1:, self._anchor // 2]
        dev = smooth - (left + (right - left) * _ramp(a - b + 1, self._anchor))
        # steep: a sample at least STEEP_FRACTION of the row's steepest within +-h samples, i.e.
        # the largest slope within +-h reaches that (one running maximum over the rows laid
        # end to end, h samples of -inf before and after each)
        slope = slope[:, self._steep]
        h, (k, n) = self._steep_half, slope.shape
        flat = np.full(k * (n + 2 * h) + 2 * h, -np.inf)
        flat[:k * (n + 2 * h)].reshape(k, n + 2 * h)[:, h:h + n] = slope
        near = _running_max(flat, 2 * h + 1).reshape(k, n + 2 * h)[:, :n]
        steep = near >= STEEP_FRACTION * slope.max(axis=1, keepdims=True)
        return (dev, np.where(steep, dev, -np.inf).argmax(axis=1),
                np.where(steep, dev, np.inf).argmin(axis=1))


@functools.cache
def _ramp(n: int, anchor: int) -> np.ndarray:
    """Where ``n`` samples lie between the centres of two ``anchor``-sample stretches just
    before and just after them, as fractions of that distance."""
    return (np.arange(n) + (anchor + 1) / 2) / (n + anchor)


def _window_maxima(e: np.ndarray, w: int) -> np.ndarray:
    """Positions in ``e[w + 1 : -w]`` holding the largest value within +-w samples, > 0.

    A plateau counts once, at its first sample. Returns indices relative to ``e[w + 1]``.
    """
    n = len(e)
    core = e[w + 1:n - w]
    top = _running_max(e[1:], 2 * w + 1)                     # max of e[j - w, j + w]
    # the largest within +-w and larger than the sample before (the first of a plateau)
    j = np.flatnonzero((core >= top) & (core > e[w:n - w - 1]))
    return j[core[j] > 0]


def _running_max(x: np.ndarray, width: int) -> np.ndarray:
    """Maximum of every ``width`` consecutive samples of ``x`` (``len(x) - width + 1`` values).

    By doubling: after step k each value is the maximum of 2**k samples, and the last step
    joins two overlapping spans; about log2(width) vectorised maxima, exact, and cheaper than
    ``scipy.ndimage.maximum_filter1d`` on chunk-sized input.
    """
    m, span = x, 1
    while 2 * span <= width:
        m = np.maximum(m[:-span], m[span:])     # m[i] = max of x[i : i + 2 span]
        span *= 2
    if span < width:
        m = np.maximum(m[:len(m) - (width - span)], m[width - span:])
    return m


def _running_median(x: np.ndarray, width: int) -> np.ndarray:
    """Median of every ``width`` (odd) consecutive samples along the rows of ``x``, shape
    ``(k, n - width + 1)``: exactly the sample a sort would put in the middle.

    Short windows go through a network of comparisons (:func:`_median_network`) over the rows
    laid end to end, one vectorised minimum or maximum per comparison for all windows at once
    (18 for 9 samples, the 20 ms at 360 Hz); the windows that straddle two rows are computed
    and dropped. That is faster than selecting in every window (a partition, whose
    comparisons branch on the data) while the network has at most :data:`_NETWORK_SIZE`
    comparisons per window sample (all widths of 100-1000 Hz but 15 samples); other windows
    are partitioned.
    """
    network = _median_network(width)
    if len(network) > _NETWORK_SIZE * width:
        return np.partition(windows(x, width), width // 2, axis=-1)[..., width // 2]
    k, n = x.shape
    flat = np.empty(k * n + width - 1)
    flat[:k * n].reshape(k, n)[:] = x
    flat[k * n:] = 0.0
    values = [flat]
    for f, (a, shift_a), (b, shift_b), span, done in network:
        m = len(flat) - span + 1
        values.append(f(values[a][shift_a:shift_a + m], values[b][shift_b:shift_b + m]))
        for v in done:              # (so that the values in use stay in the cache)
            values[v] = None
    return values[-1].reshape(k, n)[:, :n - width + 1]


@functools.cache
def _median_network(width: int) -> tuple[tuple, ...]:
    """The comparisons of :func:`_running_median` for ``width`` (odd) samples.

    Each is ``(np.minimum or np.maximum, (a, shift_a), (b, shift_b), span, done)``: value
    k + 1 of the k-th (value 0 is the input) is computed wherever ``span`` samples fit, from
    values a and b read ``shift`` samples on, after which the values ``done`` are not needed
    any more. The last value is the median.

    Sorted runs of 1, 2, 4, ... samples starting at every position are merged from the runs
    half as long at every position and half a run later (Batcher's odd-even merge, Batcher
    1968, AFIPS Spring Joint Computer Conference 32:307), so all windows share them. A window
    is the longest such run followed by the sorted rest of it (runs merged the same way, the
    shorter one padded with samples larger than any), and its (width + 1) / 2-th smallest is
    the least, over every way of taking that many samples from the starts of the two sorted
    lists, of the largest sample taken. Only the comparisons the median depends on are kept.
    """
    ops: list[tuple] = []
    top = None                              # a padding sample, larger than any

    def compare(f, a, b, span):
        if a is top or b is top:
            return (b if a is top else a) if f is np.minimum else top
        ops.append((f, a, b, span))
        return len(ops), 0

    def merge(a, b, span):
        """Batcher's odd-even merge of the sorted lists ``a`` and ``b`` (equal powers of 2)."""
        if len(a) == 1:
            return [compare(np.minimum, a[0], b[0], span), compare(np.maximum, a[0], b[0], span)]
        even, odd = merge(a[::2], b[::2], span), merge(a[1::2], b[1::2], span)
        out = [even[0]]
        for w, v in zip(odd[:-1], even[1:]):
            out += [compare(np.minimum, w, v, span), compare(np.maximum, w, v, span)]
        return out + [odd[-1]]

    runs = [[(0, 0)]]                       # runs[j][r]: the r-th smallest of 2**j samples
    while 2 * len(runs[-1]) <= width:
        s = len(runs[-1])
        runs.append(merge(runs[-1], [(v, shift + s) for v, shift in runs[-1]], 2 * s))

    def window(size, offset):
        """The sorted ``size`` samples from ``offset`` on."""
        level = size.bit_length() - 1
        head = [(v, shift + offset) for v, shift in runs[level]]
        if size == len(head):
            return head
        tail = window(size - len(head), offset + len(head))
        return merge(head, tail + [top] * (len(head) - len(tail)), width)[:size]

    head = runs[width.bit_length() - 1]
    tail = window(width - len(head), len(head))
    rank = (width + 1) // 2
    median = None
    for c in range(max(0, rank - len(head)), min(rank, len(tail)) + 1):
        taken = ([head[rank - c - 1]] if c < rank else []) + ([tail[c - 1]] if c else [])
        term = taken[0] if len(taken) == 1 else compare(np.maximum, *taken, width)
        median = term if median is None else compare(np.minimum, median, term, width)
    # keep what the median depends on, numbered anew
    needed = {median[0]}
    for k in range(len(ops), 0, -1):
        if k in needed:
            needed.update(v for v, _ in ops[k - 1][1:3])
    number = {v: i for i, v in enumerate(sorted(needed | {0}))}
    kept = [(f, (number[a], shift_a), (number[b], shift_b), span)
            for k, (f, (a, shift_a), (b, shift_b), span) in enumerate(ops, 1) if k in needed]
    last = {}                               # value -> the last comparison that reads it
    for k, (_, (a, _), (b, _), _) in enumerate(kept):
        last[a] = last[b] = k
    return tuple(op + (tuple(v for v in {op[1][0], op[2][0]} if last[v] == k),)
                 for k, op in enumerate(kept))


class _Levels:
    """Adaptive QRS / noise peak levels, the per-candidate decision and the search-back.

    Levels are the medians of the last 8 QRS peaks and of the last 8 noise peaks, and the
    detection threshold lies 0.3125 of the way from the noise level to the QRS level (Hamilton
    & Tompkins 1986; Hamilton 2002). Medians cannot run away: one huge peak (a pacing spike, an
    electrode pop) moves them by one rank, and a new amplitude or shape takes over after 4-5
    beats. A candidate below the threshold is not counted as noise at once: it waits until the
    next beat is found. When no beat comes within 1.5 mean RR intervals of the last (the mean
    of the last 8, each counted as at most 1.5 s), the largest waiting candidate above half the
    threshold is taken as a beat (search-back; Pan & Tompkins 1985; Hamilton 2002), and the
    candidates after it are decided again. Every search-back that finds nothing halves the
    search-back threshold again (down to 1/16) for candidates of a known beat shape, so a
    sudden large drop of amplitude is recovered within a few beats while the P waves of a
    pause (blocked beats) are not taken for beats. Only then are the candidates before the new beat noise
    peaks, so beats that were missed never raise the noise level (which would lock the
    detector onto one beat shape).

    Timing rules: a candidate within 360 ms of the last beat with under half its slope is a T
    wave (Pan & Tompkins 1985; in the search-back the window is half the mean RR if longer);
    a candidate within 0.6 mean RR of the last beat must be of a beat shape seen before or
    reach the QRS level, since early complexes of a new shape are most often noise (real
    premature beats repeat their shape, or are found by the search-back in the compensatory
    pause that follows them).
    """

    TH = 0.3125        # threshold position between noise and QRS levels (Hamilton 2002)
    PREMATURE = 0.6    # a candidate this soon after a beat (x mean RR) must be of a known shape
    SEARCH = 1.5       # search back after this many mean RR intervals (Hamilton 2002)
    MAX_RR = 1.5       # s; longest RR interval counted in the mean (40 bpm)

    def __init__(self, fs: float, twave: float) -> None:
        self.fs = fs
        self.shapes = _Morphologies()
        self.twave = twave
        self.initialised = False
        self.qrs: deque[float] = deque(maxlen=8)
        self.noise: deque[float] = deque(maxlen=8)
        self._th: float | None = None      # threshold from qrs and noise, until they change
        self._noise_level: float | None = None    # median of noise, until it changes
        self.last: int | None = None       # energy-peak index of the previous beat
        self.last_slope = 0.0
        self.since = 0                     # where the current search-back interval starts
        self.misses = 0                    # search-backs in a row that found no beat
        self.rr: deque[float] = deque(maxlen=8)   # recent beat-to-beat intervals, samples
        self.mean_rr = 0.0                        # their mean (0 before the second beat)
        self.waiting: list[tuple] = []     # candidates below the threshold, as in decide()

    @property
    def first_waiting(self) -> int | None:
        """Index of the earliest candidate that may still become a beat."""
        return self.waiting[0][0] if self.waiting else None

    def initialise(self, energy: np.ndarray) -> None:
        """Initial levels from the learning stretch: QRS level half its largest peak, noise
        level its mean."""
        finite = energy[np.isfinite(energy)]
        if len(finite):
            self.qrs.append(float(finite.max()) / 2)
            self.noise.append(float(finite.mean()))
            self._th = self._noise_level = None
        self.initialised = True

    def threshold(self) -> float:
        if self._th is None:            # (once per change of the levels, not per candidate)
            if self._noise_level is None:
                self._noise_level = _median(self.noise)
            n = self._noise_level
            self._th = n + self.TH * (_median(self.qrs) - n)
        return self._th

    def _due(self) -> int:
        """Sample index after which the interval since the last beat is searched back."""
        return self.since + int(self.SEARCH * (self.mean_rr or self.MAX_RR * self.fs))

    def decide(self, cand: np.ndarray, energy: np.ndarray, slopes: np.ndarray,
               starts: np.ndarray, complexes: list[tuple], top: np.ndarray,
               bottom: np.ndarray, upto: int) -> np.ndarray:
        """Classify candidates in order, search back where due before ``upto`` (the first
        index not yet scanned); return the R-peak indices of the beats, increasing.

        ``cand``: energy-peak indices; ``energy``, ``slopes``: their integrated energy and
        maximal slope; ``starts``, ``complexes``, ``top``, ``bottom``: where each one's QRS
        search window starts, the ECG over it as the deviation from baseline (one item of
        :meth:`_Morphologies.complexes` each) and the positions of its steep maximum and
        minimum in the window.
        """
        out: list[int] = []
        queue = list(zip(cand.tolist(), energy.tolist(), slopes.tolist(), starts.tolist(),
                         complexes, top.tolist(), bottom.tolist()))
        k = 0
        while True:
            due = self._due()
            nxt = queue[k][0] if k < len(queue) else upto
            if due < nxt and due < upto:
                # no beat within 1.5 RR: the best waiting candidate becomes one, and those
                # after it are decided again
                queue[k:k] = self._search_back(due, out)
                continue
            if k == len(queue):
                break
            c = queue[k]
            k += 1
            if c[1] > self.threshold() and self._qrs(c, self.twave):
                self._beat(c, out)
            else:
                self.waiting.append(c)
        return np.asarray(out, dtype=np.int64)

    def _qrs(self, c: tuple, twave: float, premature: bool = True) -> bool:
        """Can candidate ``c`` be a QRS, judged by when it comes? Not a T wave (within
        ``twave`` samples of the last beat with under half its slope; Pan & Tompkins 1985),
        and, with ``premature``, when within 0.6 mean RR of the last beat, of a known shape or
        at least the QRS level."""
        if self.last is None:
            return True
        since = c[0] - self.last
        if since < twave and c[2] < 0.5 * self.last_slope:
            return False
        if not premature:
            return True
        return (since >= self.PREMATURE * self.mean_rr or c[1] >= _median(self.qrs)
                or self.shapes.known(c[4]))

    def _late(self) -> float:
        """T-wave window of the search-back, samples: 360 ms or half the mean RR interval if
        longer (a weak candidate found only by searching back, after a premature beat, is
        most often its T wave)."""
        return max(self.twave, 0.5 * self.mean_rr)

    def _beat(self, c: tuple, out: list[int]) -> None:
        """Accept candidate ``c``; the candidates waiting before it were noise."""
        i, e, s, start, complex_, top, bottom = c
        if self.waiting:
            noise = [w[1] for w in self.waiting if w[0] < i]
            if noise:
                self.noise.extend(noise)
                self._noise_level = None
            self.waiting = [w for w in self.waiting if w[0] > i]
        self.qrs.append(e)
        self._th = None
        if self.last is not None:
            self.rr.append(min(i - self.last, self.MAX_RR * self.fs))
            self.mean_rr = sum(self.rr) / len(self.rr)
        self.last = self.since = i
        self.last_slope = s
        self.misses = 0
        out.append(start + (top if self.shapes.add(complex_) else bottom))

    def _search_back(self, due: int, out: list[int]) -> list[tuple]:
        """Search the candidates waiting before ``due``; returns those to decide again."""
        floor = 0.5 ** (1 + min(self.misses, 3)) * self.threshold()
        before = [w for w in self.waiting if w[0] < due]
        # below half the threshold, only a complex of a known beat shape (a P wave in a pause
        # is not one; beats whose amplitude dropped keep their shape)
        fit = [w for w in before if w[1] > floor and self._qrs(w, self._late(), False)
               and (self.misses == 0 or self.shapes.known(w[4]))]
        if not fit:
            self.noise.extend(w[1] for w in before)
            self._th = self._noise_level = None
            self.waiting = [w for w in self.waiting if w[0] >= due]
            self.since = due
            self.misses += 1
            return []
        best = max(fit, key=lambda w: w[1])
        later = [w for w in self.waiting if w[0] > best[0]]
        self.waiting = [w for w in self.waiting if w[0] < best[0]]
        self._beat(best, out)
        return later


class _Morphologies:
    """Beat shapes seen so far and the deflection that marks each (its fiducial point).

    Each complex, as its deviation from the local baseline over the search window, joins the
    template it matches best (cosine similarity >= 0.8); a complex that matches none starts a
    new template in place of the one unused longest (at most 4: normal beats, PVCs, fusion,
    paced). A template is the mean of its first 8 beats; after that, every 8 beats it moves
    halfway to the mean of those 8, so it follows slow changes of shape. It is marked at its
    positive extremum when its asymmetry (max + min) / (max - min) is positive; once learnt it
    keeps its choice until the asymmetry passes 0.1 the other way. The template averages the
    noise out of the choice, so beats of one shape keep one fiducial point (even a biphasic
    QRS) and beats of another shape (a PVC of opposite polarity) get their own; an inverted
    lead gives the same beats.
    """

    MATCH = 0.8        # cosine similarity that makes a complex one of a template's beats
    LEARN = 8          # a template is the mean of its first 8 beats, then moves every 8 beats
    HYSTERESIS = 0.1   # asymmetry that flips a template's marked deflection
    SLOTS = 4

    def __init__(self) -> None:
        self.shapes = np.empty((0, 0))         # unit-norm templates, one a row
        self.recent = np.empty((0, 0))         # sum of each one's beats since it was set
        self.positive: list[bool] = []         # marked at the positive extremum?
        self.used: list[int] = []              # beat count when each was last matched
        self.beats: list[int] = []             # beats in each
        self.count = 0

    @staticmethod
    def complexes(dev: np.ndarray) -> list[tuple[np.ndarray, float, np.ndarray]]:
        """The complexes whose deviations from baseline are the rows of ``dev``, as
        :meth:`known` and :meth:`add` take them: each row, its norm (1 for a zero row) and
        the row times the reciprocal of the norm (all rows at once; ``dev @ dev`` row by row
        gives the same norms, to the bit)."""
        norms = np.sqrt(np.matmul(dev[:, None, :], dev[:, :, None])[:, 0, 0])
        norms[norms == 0] = 1.0
        return list(zip(dev, norms.tolist(), dev * (1 / norms)[:, None]))

    def _best(self, dev: np.ndarray, norm: float) -> tuple[int, float]:
        """The template most like ``dev`` of norm ``norm`` (index, cosine similarity; -1
        when there is none)."""
        if not len(self.shapes):
            return -1, -1.0
        sims = self.shapes.dot(dev).tolist()    # (ndarray.dot: the BLAS call of @, cheaper)
        sim = max(sims)
        return sims.index(sim), sim / norm

    def known(self, complex_: tuple[np.ndarray, float, np.ndarray]) -> bool:
        """Is the complex (an item of :meth:`complexes`) of a shape seen before?"""
        return self._best(*complex_[:2])[1] >= self.MATCH

    def add(self, complex_: tuple[np.ndarray, float, np.ndarray]) -> bool:
        """Count the complex (an item of :meth:`complexes`) as a beat of its shape; True
        when its R-peak is its positive extremum."""
        dev, norm, unit = complex_
        self.count += 1
        j, sim = self._best(dev, norm)
        if sim < self.MATCH:
            j = self._new(dev / norm)
        else:
            k = self.beats[j] = self.beats[j] + 1
            acc = self.recent[j]
            acc += unit
            if k <= self.LEARN:         # the mean of the first beats
                self._set(j, acc, False)
            elif k % self.LEARN == 0:   # halfway to the mean of the last 8
                self._set(j, self.shapes[j] + acc * (1 / self.LEARN), True)
            if k % self.LEARN == 0:
                acc[:] = 0.0
        self.used[j] = self.count
        return self.positive[j]

    def _set(self, j: int, t: np.ndarray, learnt: bool) -> None:
        """Template ``j`` becomes ``t`` (scaled to unit norm) and chooses its deflection."""
        self.shapes[j] = t / (math.sqrt(float(t.dot(t))) or 1.0)
        asym = _asymmetry(self.shapes[j])
        if not learnt:
            self.positive[j] = asym >= 0
        elif (asym < -self.HYSTERESIS) if self.positive[j] else (asym > self.HYSTERESIS):
            self.positive[j] = not self.positive[j]

    def _new(self, v: np.ndarray) -> int:
        if len(self.shapes) < self.SLOTS:
            self.shapes = np.vstack((self.shapes.reshape(-1, len(v)), v))
            self.recent = np.vstack((self.recent.reshape(-1, len(v)), v))
            self.positive.append(False)
            self.used.append(0)
            self.beats.append(0)
            j = len(self.shapes) - 1
        else:
            j = min(range(self.SLOTS), key=self.used.__getitem__)
        self.recent[j] = v
        self.beats[j] = 1
        self._set(j, v, False)
        return j


def _median(values) -> float:
    """Median of a few numbers (0 for none); for 8 values, faster than ``np.median``."""
    s = sorted(values)
    n = len(s)
    return (s[n // 2] + s[(n - 1) // 2]) / 2 if n else 0.0


def _asymmetry(v: np.ndarray) -> float:
    """(max + min) / (max - min) of a deviation from baseline: +1 all up, -1 all down."""
    hi, lo = float(v.max()), float(v.min())
    return (hi + lo) / (hi - lo) if hi > lo else 0.0


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
