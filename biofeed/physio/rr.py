"""RR-interval artifact detection and correction (Lipponen & Tarvainen 2019; Kubios levels).

One correction :data:`LEVELS` entry per call (:func:`clean_rr`, :func:`detect_artifacts`), per
cleaner (:class:`RRCleaner`, :class:`NNProcessor`) and per session (``rr_correction``):

* ``"automatic"`` (the default): the beat classification of Lipponen & Tarvainen (2019,
  J Med Eng Technol 43:173-181), which Kubios HRV calls automatic correction. Each interval is
  classified from time-varying thresholds on the successive differences of the RR series
  (dRR) and on its deviation from a local median (mRR), then corrected: missed beats are split,
  extra beats merged, ectopic, long and short intervals replaced by the local median.
* ``"very_low"`` ... ``"very_strong"``: Kubios' threshold-based correction (Kubios HRV user's
  guide, "artefact correction"): an interval is corrected when it differs from the local
  median of the RR series by more than 450, 350, 250, 150 or 50 ms (:data:`THRESHOLD_MS`),
  thresholds stated for 60 bpm and scaled with the heart rate (here: times the local median
  RR / 1000 ms, so 250 ms at 60 bpm is 200 ms at 75 bpm). Corrected intervals are long (4) or
  short (5) and replaced by the local median.
* ``"none"``: the NN series is the RR series, every code 0.

The local median is the centred 11-beat median of the RR series in every level.

Differences of the automatic level from the published method, so that one definition serves
offline analysis and live feedback with a bounded look-ahead of 5 beats (:class:`RRCleaner`):

* **Where the thresholds look.** The paper's dRR threshold is 5.2 quartile deviations (QD) of
  ``|dRR|`` over the 91 beats centred on the beat: 45 beats (about 40 s) of look-ahead. A
  trailing or past-heavy window is late wherever the size of the beat-to-beat variability
  changes, and it changes fast: on the clean simulated ECG of issue 12 (``nk.ecg_simulate(
  duration=300, sampling_rate=1000, heart_rate=70, heart_rate_std=5, random_state=42)``, 350
  beats) the 15-beat median of ``|dRR|`` moves between 14 and 102 ms within 50 beats. Where a
  livelier stretch begins, a window that has not reached it yields a low threshold, and the
  large alternating differences of respiratory sinus arrhythmia match the long/short
  patterns. That was the main cause of the old over-correction (14 of those 350 beats,
  neurokit2's implementation of the paper 2): with the old trailing 91-beat window replaced
  by a centred one the same estimator corrected 6. Here each threshold is the larger of two
  spread estimates: over the paper's 91 beats, placed to use all the look-ahead there is
  (dRR ``j - 85 .. j + 5``, 40 beats behind the paper's window; mRR ``j - 90 .. j``, since an
  mRR value needs 5 beats of look-ahead itself), and over the 15-17 beats near ``j`` (dRR
  ``j - 15 .. j + 5`` without ``j - 1 .. j + 2``, mRR ``j - 15 .. j - 1``: without the values
  the decision on beat ``j`` reads, so an artifact does not raise its own threshold), which
  follows a rise in variability within a few beats. The larger of two estimates is larger on
  average than either: on stationary Gaussian data it averages :data:`TWO_SCALE_BIAS`
  (1.135) times the paper's centred QD, so thresholds are divided by that and equal the
  paper's there.
* **Spread estimators.** The 91-beat dRR spread is the paper's quartile deviation of
  ``|dRR|`` (quartiles with linear interpolation, as neurokit2's). The old estimate of it,
  0.6165 times the median (exact for Gaussian data), runs low wherever a window mixes calm
  and lively stretches (on the centred window it gave 6 corrections instead of 2). Quartiles
  break down when more than a quarter of a window is disturbed, though, which the near
  windows and, with artifacts in clusters, even 91 beats can be; the near-beat spreads and
  the 91-beat mRR spread are therefore :data:`QD_PER_MEDIAN` times the median (which
  tolerates half). The mRR rule (``|mRR| > 3`` thresholds) is what still catches a premature
  beat when the dRR threshold is inflated: with quartiles for mRR too, 5 % of injected
  artifacts left RMSSD up to 13 % high on the synthetic series of the tests (where 26 % of a
  91-beat window was disturbed), against 3 %.
* **One threshold per beat**: the four differences ``dRR[j-1 .. j+2]`` that classify beat
  ``j`` are all divided by beat ``j``'s threshold (the paper divides each by its own; on the
  paper's centred threshold this moved the share of clean beats corrected from 0.64 to
  0.61 % and detection rates by under half a percentage point on the data below).
* During the first :data:`WARMUP_BEATS` beats every threshold is that of beat
  ``WARMUP_BEATS`` (its windows reach beat 25), so thresholds are never estimated from a
  handful of intervals; thresholds have a floor of :data:`MIN_THRESHOLD_MS` (5 ms) so a
  perfectly regular series does not divide by zero.
* One detection pass on the raw series, no iteration (neurokit2 iterates until the artifact
  count stops falling).
* Ectopic, long and short intervals are replaced by the local median (Kubios interpolates with
  a cubic spline). On MIT-BIH 100 normal beats with 5 % injected artifacts, linear
  interpolation between normal neighbours lowered RMSSD by 2.6-4.9 % (it smooths the
  beat-to-beat alternation), the median by 1.3-3.3 %; it also needs no look-ahead beyond the
  median's 5 beats.

Measured against neurokit2's implementation of the paper (``signal_fixpeaks(method="Kubios")``
without iterations) and the old thresholds, on 54 clean ECGs simulated by neurokit2 (300 s,
60/70/90 bpm, heart-rate SD 3/5/8 bpm, 6 seeds; its R-peaks): 0.23 % of beats corrected on
average (neurokit2 0.57 %, old 0.98 %); issue 12's ECG 2 of 350 beats with neurokit2's
R-peaks, 3 with biofeed's (neurokit2 2, old 14 and 15). With 2 % of beats corrupted in those
54 series, the issue's, MIT-BIH 100's normal beats and 3 synthetic ones (567 events of each
kind): 82.5 % of ectopic beats 10-20 % premature detected (neurokit2 84.8 %, old 82.0 %),
95.6 % of 20-35 % premature ones (97.5 %, 96.8 %), 99.5 % of missed beats (99.8 %, 99.3 %)
and 96.5 % of extra beats (96.6 %, 96.6 %); apart from the subtle ectopic beats the misses
are nearly all (44 of 48) in the simulations with an RMSSD over 100 ms. MIT-BIH 100: all 34
ectopic beats (A, V), 10 corrections elsewhere in its 2272 intervals (neurokit2 9).

Artifact codes (``ARTIFACT_TYPES[code]``): 0 normal, 1 ectopic, 2 missed (interval split in two
halves), 3 extra (interval merged with the next one), 4 long, 5 short.
"""
from __future__ import annotations

import functools
import math
from abc import abstractmethod
from typing import NamedTuple

import numpy as np

from ..processor import Processor
from ..stream import Chunk, StreamInfo

#: Names of the artifact codes returned by :func:`detect_artifacts` and :func:`clean_rr`.
ARTIFACT_TYPES = ("normal", "ectopic", "missed", "extra", "long", "short")
NORMAL, ECTOPIC, MISSED, EXTRA, LONG, SHORT = range(6)

#: Kubios' threshold-based correction levels: largest deviation from the local median RR at
#: 60 bpm, ms (scaled with the local median RR / 1000 ms).
THRESHOLD_MS = {"very_low": 450.0, "low": 350.0, "medium": 250.0, "strong": 150.0,
                "very_strong": 50.0}
#: Correction levels, from none to the strongest threshold, then Lipponen & Tarvainen (2019).
LEVELS = ("none", *THRESHOLD_MS, "automatic")

#: Threshold scale: threshold = ALPHA * quartile deviation (Lipponen & Tarvainen 2019).
ALPHA = 5.2
#: Ectopic decision-boundary slope and offset (Lipponen & Tarvainen 2019).
C1, C2 = 0.13, 0.17
#: Beats in the quartile-deviation windows of the thresholds.
THRESHOLD_BEATS = 91
#: Beats in the centred median window of the local median RR (look-ahead of 5 beats).
MEDIAN_BEATS = 11
#: Beats before beat ``j`` in the near-beat windows of its thresholds.
NEAR_BEATS = 15
#: Thresholds of beats ``0 .. WARMUP_BEATS - 1`` are that of beat ``WARMUP_BEATS``.
WARMUP_BEATS = 20
#: Quartile deviation of ``|x|`` per median of ``|x|`` for Gaussian x: ``|x|`` is half-normal
#: with quartiles 0.3186 sigma, 1.1503 sigma and median 0.6745 sigma -> 0.8317 / 2 / 0.6745.
QD_PER_MEDIAN = 0.6165
#: Mean of the larger of a threshold's two spread estimates per mean 91-beat quartile
#: deviation, on stationary Gaussian data: 1.1345 for dRR, 1.1354 for mRR (10^6 samples,
#: three seeds; tests/physio/test_rr.py checks it).
TWO_SCALE_BIAS = 1.135
#: Floor of both thresholds, ms.
MIN_THRESHOLD_MS = 5.0

_AHEAD = MEDIAN_BEATS // 2
#: Beats kept before the first unfinished beat: the mRR window reaches 90 beats back, the
#: median of its first beat 5 more.
_HISTORY = THRESHOLD_BEATS - 1 + _AHEAD


class NNBeats(NamedTuple):
    """Corrected beats: NN intervals (ms), artifact codes, and beat times (s)."""

    nn_ms: np.ndarray
    artifact: np.ndarray
    times_s: np.ndarray


def describe_level(level: str) -> str:
    """One sentence saying what correction level ``level`` does (for reports)."""
    check_level(level)
    if level == "none":
        return "none: RR intervals analysed as recorded."
    if level == "automatic":
        return ("automatic: ectopic, missed and extra beats detected from time-varying "
                "thresholds on successive differences and on the deviation from the local "
                "median (Lipponen & Tarvainen 2019, as Kubios' automatic correction).")
    return (f"Kubios threshold '{level.replace('_', ' ')}': intervals more than "
            f"{THRESHOLD_MS[level]:g} ms (at 60 bpm, scaled with heart rate) from the local "
            "11-beat median replaced by it.")


def check_level(level: str) -> str:
    """``level`` if it is one of :data:`LEVELS`, else ``ValueError``."""
    if level not in LEVELS:
        raise ValueError(f"RR correction level {level!r} is not one of {', '.join(LEVELS)}")
    return level


class _Window(NamedTuple):
    """Window offsets from a row, increasing: the first, the span from first to last, the
    columns of the span that belong to the window (None: all), and how many do."""

    first: int
    span: int
    cols: np.ndarray | None
    width: int


def _window(offsets: np.ndarray) -> _Window:
    """The :class:`_Window` of increasing ``offsets``."""
    offsets = np.asarray(offsets)
    span = int(offsets[-1] - offsets[0]) + 1
    return _Window(int(offsets[0]), span, None if span == offsets.size else offsets - offsets[0],
                   int(offsets.size))


@functools.lru_cache(maxsize=None)
def _positions(width: int, probs: tuple[float, ...]) -> tuple[tuple[int, int, float], ...]:
    """Order statistics (lower, upper) and weight of the upper one for quantiles ``probs`` of
    ``width`` values, linear interpolation."""
    out = []
    for p in probs:
        h = p * (width - 1)
        out.append((math.floor(h), min(math.floor(h) + 1, width - 1), h - math.floor(h)))
    return tuple(out)


#: Windows of beat j's thresholds: dRR over 91 beats and near beat j (without the differences
#: j-1 .. j+2 that classify j), mRR over 91 beats and near beat j (without mRR of j); and the
#: window of the local median.
_WIDE_D = _window(np.arange(_AHEAD - THRESHOLD_BEATS + 1, _AHEAD + 1))
_NEAR_D = _window(np.array([o for o in range(-NEAR_BEATS, _AHEAD + 1) if not -1 <= o <= 2]))
_WIDE_M = _window(np.arange(1 - THRESHOLD_BEATS, 1))
_NEAR_M = _window(np.arange(-NEAR_BEATS, 0))
_MEDIAN = _window(np.arange(-_AHEAD, _AHEAD + 1))


def _quantiles(x: np.ndarray, start: int, stop: int, window: _Window,
               probs: tuple[float, ...]) -> list[np.ndarray]:
    """Quantiles ``probs`` of ``x`` over ``window`` of each row ``start .. stop - 1``, ignoring
    indices outside ``x`` (NaN where none is inside); linear interpolation between order
    statistics (numpy's and pandas' default).

    The windows are rows of a strided view of the values they read (padded with +inf where
    they reach past ``x``), sorted; a row's value does not depend on the other rows.
    """
    first, span, cols, width = window
    n_rows = stop - start
    lo, hi = start + first, stop - 1 + first + span  # x[lo:hi] is read
    pad0, pad1 = max(0, -lo), max(0, hi - x.size)
    a = x[max(lo, 0):min(hi, x.size)]
    a = (np.concatenate((np.full(pad0, np.inf), a, np.full(pad1, np.inf))) if pad0 or pad1
         else np.ascontiguousarray(a))
    windows = np.ndarray((n_rows, span), a.dtype, a, 0, (a.itemsize, a.itemsize))
    vals = windows.copy() if cols is None else windows[:, cols]
    vals.sort(axis=1)
    if not (pad0 or pad1):  # every window complete
        return [vals[:, i] + (vals[:, j] - vals[:, i]) * t if t else vals[:, i]
                for i, j, t in _positions(width, probs)]
    count = np.count_nonzero(vals < np.inf, axis=1)
    vals[count == 0] = np.nan  # windows with no value inside x
    m = np.maximum(count, 1)
    at = np.arange(n_rows)
    out = []
    for p in probs:
        h = p * (m - 1)
        i = h.astype(np.int64)  # floor: h >= 0
        j = np.minimum(i + 1, m - 1)
        v0, v1 = vals[at, i], vals[at, j]
        out.append(v0 + (v1 - v0) * (h - i))
    return out


def _qd(x: np.ndarray, start: int, stop: int, window: _Window) -> np.ndarray:
    """Quartile deviation (half the interquartile range) of the windows of
    :func:`_quantiles`."""
    q1, q3 = _quantiles(x, start, stop, window, (0.25, 0.75))
    return (q3 - q1) / 2


def _median_qd(x: np.ndarray, start: int, stop: int, window: _Window) -> np.ndarray:
    """Quartile deviation of the windows of :func:`_quantiles` estimated as
    :data:`QD_PER_MEDIAN` times their median (exact for the absolute values of Gaussian
    data)."""
    return QD_PER_MEDIAN * _quantiles(x, start, stop, window, (0.5,))[0]


def _threshold(x: np.ndarray, start: int, stop: int, wide: _Window, wide_qd,
               near: _Window) -> np.ndarray:
    """Threshold (ms) of rows ``start .. stop - 1`` from the absolute values ``x`` of dRR or
    mRR: ALPHA times the larger of the spread over the 91-beat window ``wide`` (estimated by
    ``wide_qd``) and the median-based spread over the near-beat window ``near``, divided by
    :data:`TWO_SCALE_BIAS`; at least :data:`MIN_THRESHOLD_MS` (see module notes)."""
    qd = np.fmax(wide_qd(x, start, stop, wide), _median_qd(x, start, stop, near))
    return np.maximum(ALPHA / TWO_SCALE_BIAS * qd, MIN_THRESHOLD_MS)  # near: NaN if empty


def _classify(rr: np.ndarray, level: str, offset: int = 0, first: int = 0,
              stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Artifact code and local median RR (ms) of intervals ``first .. stop - 1`` at a
    threshold ``level`` or ``"automatic"``.

    Parameters
    ----------
    rr : ndarray
        RR intervals, ms.
    level : str
        One of :data:`LEVELS` except ``"none"``.
    offset : int
        Global index of ``rr[0]`` (for the warm-up rule).
    first : int
        First row to classify; earlier rows are history for the windows (rows
        ``first - 95 ..`` are read).
    stop : int, optional
        End of the rows to classify (default ``len(rr)``; ``> first``). Row ``i`` also reads
        rows up to ``i + 5``: ``rr`` must hold 5 rows after ``stop - 1`` or end where the
        series ends (and 5 rows after global row 20 while rows before it are classified).

    Returns
    -------
    codes : ndarray of int8, ``stop - first``
    med : ndarray, ``stop - first``
        Centred 11-beat median of ``rr`` (ms).

    Only the rows that are classified are computed (a live update classifies a beat or two
    with 95 beats of history), so the cost is a fixed number of numpy calls on short arrays.
    """
    n = rr.size
    stop = n if stop is None else stop
    k = stop - first
    if level != "automatic":
        med = _quantiles(rr, first, stop, _MEDIAN, (0.5,))[0]
        dev = rr[first:stop] - med
        odd = np.abs(dev) > THRESHOLD_MS[level] / 1000.0 * med
        return np.where(odd, np.where(dev > 0, LONG, SHORT), NORMAL).astype(np.int8), med
    # thresholds of rows r0 .. top - 1; rows before global row 20 take that row's
    warm = WARMUP_BEATS - offset
    r0 = min(warm, n - 1) if warm > first else first
    top = max(stop, r0 + 1)
    # dRR (0 for the first interval of the series) on rows h .. e - 1: the windows of the
    # thresholds and the differences first - 1 .. stop + 1 that classify the rows
    h = max(first + _WIDE_D.first, 0)
    e = min(max(stop + 2, top + _AHEAD), n)
    drr = rr[h:e] - (rr[h - 1:e - 1] if h else np.concatenate((rr[:1], rr[:e - 1])))
    th1 = _threshold(np.abs(drr), r0 - h, top - h, _WIDE_D, _qd, _NEAR_D)
    d = np.zeros(k + 3)  # rows first - 1 .. stop + 1, 0 outside the series
    a, b = max(first - 1, h), min(stop + 2, e)
    d[a - first + 1:b - first + 1] = drr[a - h:b - h]
    # mRR (negative deviations count double) on rows fm .. top - 1
    fm = max(first + _WIDE_M.first, 0)
    med = _quantiles(rr, fm, top, _MEDIAN, (0.5,))[0]
    mrr = rr[fm:top] - med
    mrr += np.minimum(mrr, 0.0)
    th2 = _threshold(np.abs(mrr), r0 - fm, top - fm, _WIDE_M, _median_qd, _NEAR_M)
    if r0 != first:  # warm-up (or a series shorter than it): one threshold for these rows
        at = np.clip(np.arange(first, stop) - r0, 0, None)
        th1, th2 = th1[at], th2[at]
    else:
        th1, th2 = th1[:k], th2[:k]
    cur = d[1:k + 1] / th1
    med = med[first - fm:stop - fm]
    m = mrr[first - fm:stop - fm] / th2
    if np.abs(cur).max() <= 1 and np.abs(m).max() <= 3:  # every code needs |d| > 1 or |m| > 3
        return np.zeros(k, np.int8), med
    prev1, next1, next2 = d[:k] / th1, d[2:k + 2] / th1, d[3:] / th1
    up, down = cur > 1, cur < -1
    ectopic = ((up & (np.maximum(prev1, next1) < -C1 * cur - C2))
               | (down & (np.minimum(prev1, next1) > -C1 * cur + C2)))
    long_ = up & (np.minimum(next1, next2) < -1)
    short = down & (np.maximum(next1, next2) > 1)
    odd = long_ | short | (np.abs(m) > 3)
    r = rr[first:stop]
    r_next = rr[first + 1:stop + 1]
    if r_next.size < k:  # the last interval of a series has no next one to merge with
        r_next = np.append(r_next, np.inf)
    codes = np.where(odd, np.where(r > med, LONG, SHORT), NORMAL).astype(np.int8)
    codes[long_ & (np.abs(r / 2.0 - med) < th2)] = MISSED
    codes[short & (np.abs(r + r_next - med) < th2)] = EXTRA
    codes[ectopic] = ECTOPIC
    return codes, med


#: Beats classified per pass: :meth:`RRCleaner.update` splits longer inputs into blocks of
#: this many beats, and :func:`clean_rr` and :func:`detect_artifacts` walk the series in such
#: blocks, so the classification's temporaries (windows of 91 beats for each beat of a
#: block, ~10 MB) do not grow with the length of the series. Output does not depend on it
#: (the cleaner is chunk invariant).
BLOCK_BEATS = 4096


class RRCleaner:
    """Online artifact correction with bounded look-ahead.

    Feed RR intervals as they arrive; every :meth:`update` returns the beats whose correction
    is final. A beat ``j`` (0-based) is final once beat ``max(j, 20) + 5`` has arrived at the
    automatic level, i.e. a look-ahead of 5 beats (25 beats at the start of a series); beat
    ``j + 5`` at a threshold level; at once at ``"none"``. Output does not depend on how the
    input is chunked, and ``update(all); flush()`` is exactly :func:`clean_rr`. The cleaner
    keeps the last 95 beats; longer inputs are processed in blocks of :data:`BLOCK_BEATS`.

    Parameters
    ----------
    level : str
        Correction level, one of :data:`LEVELS` (see module notes).

    Examples
    --------
    >>> cleaner = RRCleaner()
    >>> beats = cleaner.update(rr_ms, times_s)  # doctest: +SKIP
    >>> rest = cleaner.flush()                   # doctest: +SKIP
    """

    def __init__(self, level: str = "automatic") -> None:
        self.level = check_level(level)
        self._ahead = 0 if level == "none" else _AHEAD
        self._warmup = WARMUP_BEATS if level == "automatic" else 0
        self._rr = np.empty(0)
        self._t = np.empty(0)
        self._offset = 0      # global index of self._rr[0]
        self._done = 0        # global index of the first beat not yet emitted
        self._merged = False  # beat self._done was merged into the previous output

    def update(self, rr_ms, times_s) -> NNBeats:
        """Add RR intervals; return the newly final corrected beats.

        Parameters
        ----------
        rr_ms : array_like
            RR intervals, ms (finite, > 0).
        times_s : array_like
            Time of the beat that ends each interval, s.

        Returns
        -------
        NNBeats
            ``nn_ms`` (ms), ``artifact`` (codes, see :data:`ARTIFACT_TYPES`; a corrected beat
            is one with a non-zero code) and ``times_s`` (s). A split (missed) interval yields
            two beats, the first at the midpoint; a merged (extra) pair yields one beat at the
            time of the second.
        """
        rr = np.asarray(rr_ms, dtype=np.float64).reshape(-1)
        t = np.asarray(times_s, dtype=np.float64).reshape(-1)
        if rr.shape != t.shape:
            raise ValueError(f"{rr.size} RR intervals but {t.size} times")
        if rr.size and not (rr.min() > 0 and rr.max() < math.inf):  # NaN fails the first test
            raise ValueError("RR intervals must be finite and > 0 ms")
        parts = [self._add(rr[i:i + BLOCK_BEATS], t[i:i + BLOCK_BEATS])
                 for i in range(0, rr.size, BLOCK_BEATS)]
        return parts[0] if len(parts) == 1 else _join(parts)

    def flush(self) -> NNBeats:
        """End of data: return the beats still held by the look-ahead."""
        return self._emit(self._offset + self._rr.size)

    def _add(self, rr: np.ndarray, t: np.ndarray) -> NNBeats:
        self._rr = np.concatenate((self._rr, rr))
        self._t = np.concatenate((self._t, t))
        # beat j is final when the beats known reach max(j, warm-up) + look-ahead
        last = self._offset + self._rr.size - self._ahead - 1
        return self._emit(last + 1 if last >= self._warmup else 0)

    def _emit(self, stop: int) -> NNBeats:
        """Beats ``done .. stop - 1`` (global indices); ``rr`` holds 5 more or ends the series."""
        if stop <= self._done:
            return _join([])
        rr, t, off = self._rr, self._t, self._offset
        lo, hi = self._done - off, stop - off
        if self.level == "none":
            beats = NNBeats(rr[lo:hi].copy(), np.zeros(hi - lo, np.int8), t[lo:hi].copy())
        else:
            codes, med = _classify(rr, self.level, off, lo, hi)
            beats, self._merged = _correct(rr, t, codes, med, lo, hi, self._merged)
        self._done = stop
        cut = max(0, self._done - _HISTORY - off)
        if cut:
            self._rr, self._t, self._offset = rr[cut:], t[cut:], off + cut
        return beats


def _join(parts: list[NNBeats]) -> NNBeats:
    """Consecutive :class:`NNBeats` as one (empty arrays for no parts)."""
    if not parts:
        return NNBeats(np.empty(0), np.empty(0, np.int8), np.empty(0))
    return NNBeats(*(np.concatenate(field) for field in zip(*parts)))


def _correct(rr, t, codes, med, lo, hi, merged_first):
    """Corrected beats for rows ``lo .. hi - 1`` (``codes``, ``med``: of those rows); also
    whether row ``hi`` was merged."""
    if not merged_first and not codes.any():
        return NNBeats(rr[lo:hi].copy(), codes, t[lo:hi].copy()), False
    merged = np.zeros(hi - lo + 1, dtype=bool)
    merged[0] = merged_first
    for k in np.flatnonzero(codes == EXTRA):  # never the last beat of a series
        if not merged[k]:
            merged[k + 1] = True
    keep = ~merged[:-1]
    r = rr[lo:hi]
    value = r.copy()
    times = t[lo:hi].copy()
    fix = (codes == ECTOPIC) | (codes == LONG) | (codes == SHORT)
    value[fix] = med[fix]
    join = (codes == EXTRA) & merged[1:]
    if join.any():
        nxt = np.flatnonzero(join) + lo + 1
        value[join] = r[join] + rr[nxt]
        times[join] = t[nxt]
    split = codes == MISSED
    value[split] /= 2.0
    count = np.where(keep, np.where(split, 2, 1), 0)
    nn = np.repeat(value, count)
    art = np.repeat(codes, count)
    out_t = np.repeat(times, count)
    first_half = np.cumsum(count)[split & keep] - 2
    out_t[first_half] -= value[split & keep] / 1000.0
    return NNBeats(nn, art, out_t), bool(merged[-1])


def detect_artifacts(rr_ms, level: str = "automatic") -> np.ndarray:
    """Classify every RR interval at a correction level (see module notes).

    The series is classified in blocks of :data:`BLOCK_BEATS` beats (same codes, bounded
    temporaries).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms.
    level : str
        One of :data:`LEVELS`: ``"automatic"`` (Lipponen & Tarvainen 2019, the default),
        Kubios' thresholds ``"very_low"`` ... ``"very_strong"``, or ``"none"``.

    Returns
    -------
    ndarray of int8, same length as ``rr_ms``
        Artifact code per interval, see :data:`ARTIFACT_TYPES`.
    """
    check_level(level)
    rr = np.asarray(rr_ms, dtype=np.float64).reshape(-1)
    if rr.size and not (rr.min() > 0 and rr.max() < math.inf):  # NaN fails the first test
        raise ValueError("RR intervals must be finite and > 0 ms")
    codes = np.zeros(rr.size, np.int8)
    first = 0
    while first < rr.size and level != "none":
        # the first block reaches row WARMUP_BEATS, whose thresholds the rows before it take
        stop = min(max(first + BLOCK_BEATS, WARMUP_BEATS + 1), rr.size)
        lo = max(first - _HISTORY, 0)
        codes[first:stop] = _classify(rr[lo:stop + _AHEAD], level, lo, first - lo, stop - lo)[0]
        first = stop
    return codes


def clean_rr(rr_ms, level: str = "automatic") -> tuple[np.ndarray, np.ndarray]:
    """Detect and correct artifacts in an RR series (Lipponen & Tarvainen 2019 or Kubios'
    threshold levels).

    Parameters
    ----------
    rr_ms : array_like
        Successive RR intervals, ms.
    level : str
        One of :data:`LEVELS`: ``"automatic"`` (Lipponen & Tarvainen 2019, the default);
        ``"very_low"``, ``"low"``, ``"medium"``, ``"strong"``, ``"very_strong"`` (an interval
        more than 450, 350, 250, 150 or 50 ms from the local median at 60 bpm, scaled with
        the heart rate, is replaced by that median); ``"none"`` (nothing changes).

    Returns
    -------
    nn_ms : ndarray
        Corrected NN intervals, ms. Its length differs from the input when missed beats were
        inserted or extra beats removed.
    artifact : ndarray of int8, same length as ``nn_ms``
        0 for an unchanged interval, else the code of the correction applied
        (``ARTIFACT_TYPES[code]``: ectopic, missed, extra, long, short); ``artifact > 0`` is
        the "is artifact" mask.

    Notes
    -----
    Identical to :class:`RRCleaner` run on the whole series; the series is fed to it in blocks
    of :data:`BLOCK_BEATS` beats, so apart from the result the memory used does not grow with
    the length of the series.
    """
    rr = np.asarray(rr_ms, dtype=np.float64).reshape(-1)
    cleaner = RRCleaner(level)
    nn, artifact = [], []
    end_s = 0.0  # time of the last beat fed, s (beat times do not affect nn or artifact)
    for i in range(0, rr.size, BLOCK_BEATS):
        block = rr[i:i + BLOCK_BEATS]
        times = end_s + np.cumsum(block) / 1000.0
        end_s = times[-1]
        beats = cleaner.update(block, times)
        nn.append(beats.nn_ms)
        artifact.append(beats.artifact)
    rest = cleaner.flush()
    return np.concatenate(nn + [rest.nn_ms]), np.concatenate(artifact + [rest.artifact])


def nn_stream_info(source: str, level: str = "automatic") -> StreamInfo:
    """Description of the NN stream derived from RR stream ``source`` at correction ``level``
    (recorded as the stream's producer, ``RRCleaner(level=...)``)."""
    return StreamInfo(name=f"{source}.nn", kind="nn", unit="ms", rate=0.0,
                      channels=("nn_ms", "artifact"), device=f"RRCleaner(level={level})",
                      derived=True)


class NNProcessor(Processor):
    """Live artifact correction: RR stream ``source`` -> NN stream ``source.nn``.

    Input: kind ``"rr"``, unit ms, irregular, timestamp = beat time (s), value = RR (ms).
    Output: kind ``"nn"``, irregular, channels ``("nn_ms", "artifact")`` where ``artifact`` is
    the code of :data:`ARTIFACT_TYPES` (0 = unchanged); its ``device`` names the correction
    level. Look-ahead: see :class:`RRCleaner`.

    Parameters
    ----------
    source : str
        Name of the RR stream.
    level : str
        Correction level, one of :data:`LEVELS` (default ``"automatic"``).
    """

    def __init__(self, source: str = "rr", level: str = "automatic") -> None:
        self._cleaner = RRCleaner(level)
        self.inputs = (source,)
        self.outputs = (nn_stream_info(source, level),)

    def update(self, chunk: Chunk) -> list[Chunk]:
        return self._chunks(self._cleaner.update(chunk.values[:, 0], chunk.times))

    def flush(self) -> list[Chunk]:
        return self._chunks(self._cleaner.flush())

    def _chunks(self, beats: NNBeats) -> list[Chunk]:
        if beats.nn_ms.size == 0:
            return []
        values = np.empty((beats.nn_ms.size, 2))
        values[:, 0] = beats.nn_ms
        values[:, 1] = beats.artifact
        return [Chunk(self.outputs[0], values, float(beats.times_s[0]), beats.times_s)]


class GridProcessor(Processor):
    """Base of live NN-window indices emitted on a fixed session-time grid.

    Consumes the NN stream ``source`` emitted by :class:`NNProcessor` (kind ``"nn"``,
    irregular, timestamp = beat time in s, channels ``("nn_ms", "artifact")``; only ``nn_ms``
    is read), so one :class:`RRCleaner` per RR stream serves every index. At every grid time
    ``T = k * period_s`` from the first NN beat on, it emits one sample computed from the NN
    beats with time in ``(T - history_s, T]``. ``T`` is emitted as soon as an NN beat at or
    after ``T`` is known, so grid points and values depend only on the NN stream (which does
    not depend on chunking), and nothing is left for :meth:`flush`. Latency: the cleaner's
    look-ahead (5 beats) plus the wait for the first beat at or after ``T``.

    Subclasses set :attr:`outputs` and implement :meth:`_compute`.
    """

    def __init__(self, source: str, period_s: float, history_s: float) -> None:
        self.inputs = (source,)
        self._period = float(period_s)
        self._history = float(history_s)
        self._t = np.empty(0)
        self._nn = np.empty(0)
        self._k: int | None = None  # index of the next grid time

    @abstractmethod
    def _compute(self, t: float, times: np.ndarray, nn: np.ndarray) -> np.ndarray | list[float]:
        """Output row (a 1-D array or list of floats) at grid time ``t`` (s) from NN beats
        ``nn`` (ms) at ``times`` (s), increasing, ``<= t``."""

    def update(self, chunk: Chunk) -> list[Chunk]:
        times = chunk.times
        if not times.size:
            return []
        self._t = np.concatenate((self._t, times))
        self._nn = np.concatenate((self._nn, chunk.values[:, 0]))
        if self._k is None:
            self._k = math.ceil(self._t[0] / self._period)
        stop = math.floor(times[-1] / self._period)
        if stop < self._k:
            return []
        # grid times k * period, k = self._k .. stop, and the next one (the start of its
        # window is where the buffers are cut)
        grid = np.arange(self._k, stop + 2) * self._period
        starts = self._t.searchsorted(grid - self._history, "right").tolist()
        ends = self._t.searchsorted(grid[:-1], "right").tolist()
        rows = [self._compute(tk, self._t[a:b], self._nn[a:b])
                for tk, a, b in zip(grid.tolist(), starts, ends)]
        self._k = stop + 1
        self._t, self._nn = self._t[starts[-1]:], self._nn[starts[-1]:]
        return [Chunk(self.outputs[0], np.array(rows), float(grid[0]), grid[:-1])]
