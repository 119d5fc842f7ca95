"""Physiological synchrony of two participants: windowed cross-correlation with peak picking.

Method (Boker, Rotondo, Xu & King 2002, Psychological Methods 7(3):338-355): two evenly sampled
series ``x`` and ``y`` are cut into windows of ``window_s`` every ``step_s``; in each window the
segment of ``x`` is correlated (Pearson r) with the segment of ``y`` shifted by every lag from
``-max_lag_s`` to ``+max_lag_s`` in steps of one sample, the shifted segment always lying wholly
inside the data (so the first window starts at ``max_lag_s``). A positive lag means ``y``
follows ``x``: ``y``'s segment starting ``lag`` later matches ``x``'s.

Peak picking (Boker et al. 2002; their S-plus code, ported to R by Behrens & Boker in 2018): a
search region ``|lag| <= d`` grows from ``d = 0`` one lag step at a time; the peak is the
largest r in the region at the first ``d`` where widening it ``span`` more steps
(``peak_span_s``) finds nothing larger. Put otherwise, the peak is at the smallest ``|lag|``
whose r is the largest of all r with ``|lag|`` up to ``span`` steps further from 0: the
dominant local maximum nearest lag 0, not the global maximum. A window has no peak (NaN) when
the region reaches ``max_lag_s`` first (a peak must lie within ``max_lag_s - peak_span_s`` of
lag 0) or when any r is undefined (a constant segment). Unlike Boker's code, r(lag) is not
loess-smoothed and not interpolated to half-lag steps: the lag resolution is one sample. When
``r(-d)`` and ``r(+d)`` tie, the positive lag is taken. The default span, 1 s, is 4 lag steps
at 4 Hz, as Boker's default ``Lsize`` of 8 half-lag steps.

The series (:class:`SynchronyTracker`): each participant's samples (HR in bpm at the beats,
60000 / NN, or SCL in uS) are interpolated linearly onto the grid ``start + i / fs`` (4 Hz,
as the HRV spline; Task Force 1996), ``start`` being the later of the two first samples, so
a grid value needs only the samples either side of it (grid points between samples more
than :data:`MAX_GAP_S` apart, a drop-out, are left out: NaN); then low-passed at ``lowpass_hz``
(0.15 Hz by default, the LF/HF boundary of the Task Force 1996: a second-order Butterworth,
causal, the same for both participants, so lags are unchanged). The low-pass keeps breathing
out of the synchrony: two people breathing at similar rates have RSA oscillations that line
up at some lag within half a breath in any window, which peak picking, looking for the
maximum nearest lag 0, would report as synchrony. A window is computed once both grids reach
its end plus the largest lag, one window at a time, so the same samples give the same table
whether they come in one piece (offline) or beat by beat (live): :class:`SynchronyProcessor`
is that tracker on a session's streams, ``biofeed.analysis.synchrony`` runs it over a
recording.

Units: times and lags in s, rates in Hz, heart rate in bpm, skin conductance in uS.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal as sps

from ..processor import Processor
from ..stream import Chunk, StreamInfo
from .filters import LinearFilter

#: Sampling rate of the series that are cross-correlated, Hz (as the HRV spline, Task Force 1996).
FS = 4.0
#: Default peak span (see module notes), s.
PEAK_SPAN_S = 1.0
#: Default window length, step between windows and largest lag, s. The largest lag leaves room
#: beyond the lags of interest (a few seconds: one partner's heart following the other's):
#: a peak must lie within ``MAX_LAG_S - PEAK_SPAN_S`` of lag 0, and with 5 s the lags of a
#: pair 3 s apart came out 2 s or less in 2 of 20 simulated dyads
#: (``benchmarks/bench_synchrony.py``).
WINDOW_S, STEP_S, MAX_LAG_S = 30.0, 5.0, 8.0
#: Default low-pass of both series, Hz (the LF/HF boundary; module notes); 0 for none.
LOWPASS_HZ = 0.15
#: Grid points between samples further apart than this (s: a drop-out, beats missing) are
#: NaN, so the windows over them have no peak.
MAX_GAP_S = 3.0
#: Order of the Butterworth low-pass.
LOWPASS_ORDER = 2
#: Channels of the live synchrony stream: peak r and its lag (s; positive: b follows a).
CHANNELS = ("r", "lag_s")


def samples(seconds: float, fs: float, what: str, minimum: int) -> int:
    """``seconds`` as a whole number of samples at ``fs`` Hz; ValueError below ``minimum``."""
    n = round(seconds * fs)
    if n < minimum:
        raise ValueError(f"{what} = {seconds} s is {n} sample(s) at {fs:g} Hz; at least {minimum} needed")
    return n


def _zscored(segments: np.ndarray) -> np.ndarray:
    """Segments along the last axis minus their mean, over their SD (NaN for a constant one)."""
    centred = segments - segments.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return centred / centred.std(axis=-1, keepdims=True)


def lag_correlations(x: np.ndarray, y: np.ndarray, starts: np.ndarray, width: int,
                     lags: int) -> np.ndarray:
    """Pearson r of ``x[s:s+width]`` with ``y[s+k:s+k+width]`` for every ``s`` in ``starts``
    (rows) and every lag ``k`` from ``-lags`` to ``lags`` (columns, in samples)."""
    xz = _zscored(sliding_window_view(x, width)[starts])                      # (n, width)
    first, last = starts[0] - lags, starts[-1] + lags        # every y segment used, z-scored once
    yz = _zscored(sliding_window_view(y, width)[first:last + 1])
    ys = yz[starts[:, None] - first + np.arange(-lags, lags + 1)]              # (n, 2 lags + 1, width)
    return np.einsum("iw,ikw->ik", xz, ys) / width


def pick_peaks(r: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """Boker's peak per row of ``r`` (windows x lags ``-L..L``): peak r and its lag in samples
    (NaN when there is none; see the module notes)."""
    lags = (r.shape[1] - 1) // 2
    neg, pos = r[:, lags::-1], r[:, lags:]                  # column d: lag -d, +d
    reach = np.maximum.accumulate(np.maximum(neg, pos), axis=1)   # max r over |lag| <= d
    stands = reach[:, :lags + 1 - span] == reach[:, span:]  # not exceeded within span more steps
    found = stands.any(axis=1) & np.isfinite(r).all(axis=1)
    d = stands.argmax(axis=1)
    rows = np.arange(len(r))
    lag = np.where(pos[rows, d] >= neg[rows, d], d, -d).astype(float)
    return np.where(found, reach[rows, d], np.nan), np.where(found, lag, np.nan)


def _settings(fs: float, window_s: float, step_s: float, max_lag_s: float,
              peak_span_s: float) -> tuple[int, int, int, int]:
    """Window, step, largest lag and peak span in samples, checked."""
    width = samples(window_s, fs, "window_s", 3)
    step = samples(step_s, fs, "step_s", 1)
    lags = samples(max_lag_s, fs, "max_lag_s", 1)
    span = samples(peak_span_s, fs, "peak_span_s", 1)
    if span > lags:
        raise ValueError(f"peak_span_s = {peak_span_s} s is longer than max_lag_s = {max_lag_s} s")
    return width, step, lags, span


def windowed_xcorr(x, y, fs: float, window_s: float, step_s: float, max_lag_s: float,
                   peak_span_s: float = PEAK_SPAN_S) -> pd.DataFrame:
    """Windowed cross-correlation of ``x`` and ``y`` with Boker's peak picking (module notes).

    Parameters
    ----------
    x, y : array_like
        Evenly sampled series of the same length (e.g. HR in bpm), ``fs`` Hz, sample ``i`` at
        ``i / fs`` s.
    fs : float
        Sampling rate, Hz.
    window_s, step_s, max_lag_s : float
        Window length, step between window starts and largest lag, s (rounded to samples).
    peak_span_s : float
        How far beyond a local maximum of r(lag) nothing may be larger for it to be the peak, s
        (Boker's ``Lsize`` in time; at least one sample, at most ``max_lag_s``).

    Returns
    -------
    DataFrame
        A row per window: ``start_s`` (start of ``x``'s segment, s from the first sample),
        ``r`` (peak Pearson r, NaN without a peak), ``lag_s`` (its lag, s; positive: ``y``
        follows ``x``).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D and of the same length, got {x.shape} and {y.shape}")
    width, step, lags, span = _settings(fs, window_s, step_s, max_lag_s, peak_span_s)
    if width + 2 * lags > x.size:
        raise ValueError(f"window_s + 2 max_lag_s = {window_s + 2 * max_lag_s:g} s is longer than "
                         f"the data ({x.size / fs:g} s at {fs:g} Hz)")
    starts = np.arange(lags, x.size - width - lags + 1, step)
    peak_r, peak_lag = pick_peaks(lag_correlations(x, y, starts, width, lags), span)
    return pd.DataFrame({"start_s": starts / fs, "r": peak_r, "lag_s": peak_lag / fs})


class _Grid:
    """One participant's samples on the grid ``start + i / fs``: linear interpolation as soon
    as a sample at or after a grid time is known, then the causal low-pass."""

    def __init__(self, fs: float, lowpass_hz: float) -> None:
        self.fs = fs
        self._t, self._v = np.empty(0), np.empty(0)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []   # added, not yet gathered
        self.first: float | None = None
        self.last = -math.inf                            # time of the last finite sample, s
        self._next = 0                                   # next grid index
        self._filter = (LinearFilter(*sps.butter(LOWPASS_ORDER, lowpass_hz, fs=fs)) if lowpass_hz > 0
                        else None)

    def add(self, times: np.ndarray, values: np.ndarray) -> None:
        ok = np.isfinite(values)
        if not ok.all():
            times, values = times[ok], values[ok]
        if len(times):
            if self.first is None:
                self.first = float(times[0])
            self.last = float(times[-1])
            self._pending.append((times, values))

    def produce(self, start: float) -> np.ndarray:
        """Grid values from the next index up to the last sample time (filtered)."""
        if self._pending:
            self._t = np.concatenate([self._t, *(t for t, _ in self._pending)])
            self._v = np.concatenate([self._v, *(v for _, v in self._pending)])
            self._pending = []
        if not len(self._t):
            return np.empty(0)
        last = self._t[-1]
        i1 = self._next + max(0, math.floor((last - start) * self.fs) - self._next - 1)
        while start + i1 / self.fs <= last:              # the same test for every chunking
            i1 += 1
        if i1 <= self._next:
            return np.empty(0)
        grid = start + np.arange(self._next, i1) / self.fs
        values = np.interp(grid, self._t, self._v)
        after = np.searchsorted(self._t, grid)                 # first sample at or after
        bridged = ((self._t[after] - self._t[np.maximum(after - 1, 0)] > MAX_GAP_S)
                   & (self._t[after] != grid))
        self._next = i1
        keep = max(0, int(np.searchsorted(self._t, start + i1 / self.fs, side="right")) - 1)
        self._t, self._v = self._t[keep:], self._v[keep:]
        if self._filter is not None:          # the filter runs through gaps (interpolated)
            values = self._filter(values)
        values[bridged] = np.nan
        return values


class SynchronyTracker:
    """Windowed cross-correlation of two participants' series as their samples come
    (module notes); ``a`` is ``x``: a positive lag means ``b`` follows ``a``.

    Parameters
    ----------
    fs : float
        Grid rate, Hz.
    window_s, step_s, max_lag_s, peak_span_s : float
        As :func:`windowed_xcorr`, s.
    lowpass_hz : float
        Low-pass of both series, Hz (0: none).
    keep_grid : bool
        Keep both whole grid series (:meth:`grid`; for surrogates offline).
    """

    def __init__(self, fs: float = FS, window_s: float = WINDOW_S, step_s: float = STEP_S,
                 max_lag_s: float = MAX_LAG_S, peak_span_s: float = PEAK_SPAN_S,
                 lowpass_hz: float = LOWPASS_HZ, keep_grid: bool = False) -> None:
        self.fs = fs
        self.width, self.step, self.lags, self.span = _settings(fs, window_s, step_s, max_lag_s,
                                                                peak_span_s)
        if not lowpass_hz >= 0 or lowpass_hz >= fs / 2:
            raise ValueError(f"lowpass_hz must be 0 (none) or below {fs / 2:g} Hz, got {lowpass_hz!r}")
        self._grids = (_Grid(fs, lowpass_hz), _Grid(fs, lowpass_hz))
        self.start: float | None = None                  #: session time of grid sample 0, s
        self._buf = [np.empty(0), np.empty(0)]            # grid values from index _base
        self._base = 0
        self._window = 0                                  # next window number
        self._keep = keep_grid
        self._kept: list[list[np.ndarray]] = [[], []]

    def add(self, who: int, times, values) -> list[tuple[float, float, float]]:
        """Samples of participant ``who`` (0 = a, 1 = b): times s, values; returns the windows
        now complete as ``(start_s, r, lag_s)`` (session time; NaN r and lag without a peak)."""
        self._grids[who].add(np.asarray(times, dtype=float), np.asarray(values, dtype=float))
        if self.start is None:
            firsts = [g.first for g in self._grids]
            if None in firsts:
                return []
            self.start = max(firsts)
        # the next window needs both grids up to its end plus the largest lag: until then
        # samples only collect (the grid values come out the same, computed later)
        end = self.lags + self._window * self.step + self.width + self.lags - 1
        if min(g.last for g in self._grids) < self.start + end / self.fs and not self._keep:
            return []
        for i, g in enumerate(self._grids):
            new = g.produce(self.start)
            if len(new):
                self._buf[i] = np.concatenate([self._buf[i], new])
                if self._keep:
                    self._kept[i].append(new)
        return self._windows()

    def _windows(self) -> list[tuple[float, float, float]]:
        out = []
        n = self._base + min(len(b) for b in self._buf)
        width, lags = self.width, self.lags
        while (s := lags + self._window * self.step) + width + lags <= n:
            lo = s - lags - self._base
            x = self._buf[0][lo:lo + width + 2 * lags]
            y = self._buf[1][lo:lo + width + 2 * lags]
            r = lag_correlations(x, y, np.array([lags]), width, lags)
            peak_r, peak_lag = pick_peaks(r, self.span)
            out.append((self.start + s / self.fs, float(peak_r[0]), float(peak_lag[0]) / self.fs))
            self._window += 1
        drop = self._window * self.step - self._base      # first sample the next window uses
        if drop > 0:
            self._buf = [b[drop:] for b in self._buf]
            self._base += drop
        return out

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Both grid series over the samples both cover so far (``keep_grid=True``)."""
        if not self._keep:
            raise ValueError("the tracker keeps no grid (keep_grid=False)")
        a, b = (np.concatenate(k) if k else np.empty(0) for k in self._kept)
        n = min(len(a), len(b))
        return a[:n], b[:n]


class SynchronyProcessor(Processor):
    """Live synchrony of two participants: :class:`SynchronyTracker` on their HR (from NN
    streams, kind ``nn``, ms at the beats: HR = 60000 / NN bpm) or SCL streams (kind
    ``scl``, uS).

    Emits stream ``name`` (kind ``synchrony``, irregular, channels :data:`CHANNELS`: peak r
    and its lag in s, positive when ``b`` follows ``a``), one sample per window stamped at the
    window's start (as the offline table's ``start_s``), known once both series reach the
    window's end plus ``max_lag_s`` (and, for HR, once the NN stream's look-ahead lets those
    beats out).

    Parameters
    ----------
    a, b : str
        Input stream names (both ``nn`` or both ``scl``).
    kind : str
        ``"nn"`` or ``"scl"``.
    name : str
        Output stream name.
    **settings :
        Of :class:`SynchronyTracker` (``window_s``, ``step_s``, ``max_lag_s``,
        ``peak_span_s``, ``lowpass_hz``).
    """

    def __init__(self, a: str, b: str, kind: str, name: str, **settings) -> None:
        if kind not in ("nn", "scl"):
            raise ValueError(f"synchrony of kind 'nn' or 'scl' streams, got {kind!r}")
        if a == b:
            raise ValueError(f"synchrony needs two different streams, got {a!r} twice")
        self.inputs = (a, b)
        self.kind = kind
        self.tracker = SynchronyTracker(**settings)
        self.outputs = (StreamInfo(name, "synchrony", "", 0.0, CHANNELS, "biofeed", True),)

    def update(self, chunk: Chunk) -> list[Chunk]:
        values = chunk.values[:, 0]
        if self.kind == "nn":
            with np.errstate(divide="ignore", invalid="ignore"):
                values = 60000.0 / values
        rows = self.tracker.add(self.inputs.index(chunk.info.name), chunk.times, values)
        if not rows:
            return []
        data = np.array(rows)
        return [Chunk(self.outputs[0], data[:, 1:], float(data[0, 0]), data[:, 0])]
