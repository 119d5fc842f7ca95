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

Chance level (Moulder, Boker, Ramseyer & Tschacher 2018, Psychological Methods 23(4):757-773):
the same statistic on surrogate pairs in which ``y`` is cut into segments of one window and
the segments are shuffled; this keeps each series' own dynamics within a window and breaks
their alignment. Windowed cross-correlation with short windows separates real synchrony from
such pseudo-synchrony better than long windows do (Behrens, Moulder, Boker & Kret 2020,
bioRxiv 10.1101/2020.08.27.269746).

Units: times and lags in s, rates in Hz, heart rate in bpm, skin conductance in uS.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from ..devices.labels import belongs, participants
from ..physio.spectrum import cubic_spline
from ..record.reader import Recording, Signal
from .replay import derived_signals

#: Sampling rate of the series that are cross-correlated, Hz (as the HRV spline, Task Force 1996).
FS = 4.0
#: Default peak span (see module notes), s.
PEAK_SPAN_S = 1.0
#: Signals :func:`synchrony` compares: HR from the NN stream (bpm), or SCL (uS).
SIGNALS = ("hr", "scl")


def _samples(seconds: float, fs: float, what: str, minimum: int) -> int:
    n = round(seconds * fs)
    if n < minimum:
        raise ValueError(f"{what} = {seconds} s is {n} sample(s) at {fs:g} Hz; at least {minimum} needed")
    return n


def _zscored(segments: np.ndarray) -> np.ndarray:
    """Rows minus their mean, over their SD (NaN for a constant row)."""
    centred = segments - segments.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return centred / centred.std(axis=1, keepdims=True)


def _mean(values: np.ndarray) -> float:
    """Mean of the finite values (NaN when there are none)."""
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else np.nan


def _pick_peaks(r: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
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
    width = _samples(window_s, fs, "window_s", 3)
    step = _samples(step_s, fs, "step_s", 1)
    lags = _samples(max_lag_s, fs, "max_lag_s", 1)
    span = _samples(peak_span_s, fs, "peak_span_s", 1)
    if span > lags:
        raise ValueError(f"peak_span_s = {peak_span_s} s is longer than max_lag_s = {max_lag_s} s")
    if width + 2 * lags > x.size:
        raise ValueError(f"window_s + 2 max_lag_s = {window_s + 2 * max_lag_s:g} s is longer than "
                         f"the data ({x.size / fs:g} s at {fs:g} Hz)")
    starts = np.arange(lags, x.size - width - lags + 1, step)
    xz = _zscored(sliding_window_view(x, width)[starts])
    ys = sliding_window_view(y, width)
    r = np.empty((starts.size, 2 * lags + 1))
    for j, k in enumerate(range(-lags, lags + 1)):
        r[:, j] = np.einsum("ij,ij->i", xz, _zscored(ys[starts + k])) / width
    peak_r, peak_lag = _pick_peaks(r, span)
    return pd.DataFrame({"start_s": starts / fs, "r": peak_r, "lag_s": peak_lag / fs})


@dataclass(frozen=True)
class SurrogateTest:
    """Mean peak r of the real pair against shuffled-segment surrogates (Moulder et al. 2018).

    ``real_r``: mean peak r of the real pair; ``surrogate_r``: the same for each surrogate;
    ``surrogate_mean`` / ``surrogate_sd``: their mean and SD; ``p``: share of surrogates whose
    mean peak r is at least ``real_r``, with the +1 correction, ``(1 + count) / (1 + n)``.
    """

    real_r: float
    surrogate_r: np.ndarray = field(repr=False)
    surrogate_mean: float
    surrogate_sd: float
    p: float


def surrogate_peak_r(x, y, fs: float, window_s: float, step_s: float, max_lag_s: float,
                     n_surrogates: int = 200, seed: int = 0,
                     peak_span_s: float = PEAK_SPAN_S) -> SurrogateTest:
    """Mean peak r of :func:`windowed_xcorr` for ``(x, y)`` and for ``n_surrogates`` pairs
    ``(x, y')``, ``y'`` being ``y`` cut into segments of one window (the last one shorter) put
    in a random order (``numpy.random.default_rng(seed)``). Arguments as for
    :func:`windowed_xcorr`."""
    if n_surrogates < 1:
        raise ValueError(f"n_surrogates must be >= 1, got {n_surrogates}")
    args = (fs, window_s, step_s, max_lag_s, peak_span_s)
    real = _mean(windowed_xcorr(x, y, *args).r.to_numpy())
    y = np.asarray(y, dtype=float)
    width = round(window_s * fs)
    segments = [y[i:i + width] for i in range(0, y.size, width)]
    rng = np.random.default_rng(seed)
    means = np.array([_mean(windowed_xcorr(
        x, np.concatenate([segments[i] for i in rng.permutation(len(segments))]), *args).r.to_numpy())
        for _ in range(n_surrogates)])
    finite = means[np.isfinite(means)]
    return SurrogateTest(real, means, _mean(finite),
                         float(finite.std(ddof=1)) if finite.size > 1 else np.nan,
                         (1 + int(np.sum(means >= real))) / (1 + n_surrogates)
                         if np.isfinite(real) else np.nan)


@dataclass(frozen=True)
class SynchronyResult:
    """What :func:`synchrony` found.

    ``windows``: :func:`windowed_xcorr`'s table, ``start_s`` in session time. ``summary``: one
    row, ``windows`` (count), ``peaks`` (windows with a peak), ``mean_r``, ``sd_r`` (peak r),
    ``mean_lag_s``, ``sd_lag_s``, ``surrogate_mean_r``, ``surrogate_sd_r``, ``p``
    (:class:`SurrogateTest`). ``phases``: a row per protocol phase, ``phase``, ``kind``,
    ``onset_s``, ``duration_s``, ``windows`` (count of windows starting in the phase),
    ``mean_r``, ``mean_lag_s`` over them.
    """

    a: str
    b: str
    signal: str
    windows: pd.DataFrame
    summary: pd.DataFrame
    phases: pd.DataFrame


def _series(rec: Recording, derived: dict[str, Signal], label: str, signal: str,
            labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and values (HR in bpm at the beats, or SCL / EDA in uS) of one participant."""
    streams = {n: s.info for n, s in derived.items()} | \
        {n: s for n, s in rec.streams.items() if not s.derived}
    kinds = ("nn",) if signal == "hr" else ("scl", "eda")
    for kind in kinds:
        name = next((n for n, info in streams.items()
                     if info.kind == kind and belongs(n, label, labels)), None)
        if name is not None:
            sig = derived[name] if name in derived else rec.signals[name]
            values = sig.values[:, 0] if sig.values.ndim == 2 else sig.values
            ok = np.isfinite(values)
            if ok.sum() >= 2:
                times, values = sig.times[ok], values[ok]
                return times, 60000.0 / values if kind == "nn" else values
    raise ValueError(f"{rec.path}: participant {label or '(unlabelled)'!r} has no "
                     f"{' or '.join(kinds).upper()} stream with 2 or more samples (participants: "
                     f"{[other or '(unlabelled)' for other in labels]})")


def synchrony(rec: Recording, a: str, b: str, signal: str = "hr", window_s: float = 30.0,
              step_s: float = 5.0, max_lag_s: float = 5.0, n_surrogates: int = 200, seed: int = 0,
              peak_span_s: float = PEAK_SPAN_S) -> SynchronyResult:
    """Physiological synchrony of participants ``a`` and ``b`` (device labels) of a recording.

    ``signal="hr"``: instantaneous heart rate, 60000 / NN (bpm) at each beat of the
    participant's NN stream; ``"scl"``: the participant's SCL stream (uS), or the raw EDA
    without one. Both series are resampled at :data:`FS` (4 Hz) over the span both cover (HR
    with the natural cubic spline of :func:`biofeed.physio.hrv.cubic_spline`, SCL linearly),
    then :func:`windowed_xcorr` (``a`` is ``x``: a positive lag means ``b`` follows ``a``) and
    :func:`surrogate_peak_r`. Derived streams come from the recording, or from a replay when
    none were recorded. Windows count towards the phase in which they start.
    """
    if signal not in SIGNALS:
        raise ValueError(f"signal must be one of {SIGNALS}, got {signal!r}")
    labels = participants(rec.streams.values())
    for who in (a, b):
        if who not in labels:
            raise ValueError(f"{rec.path}: no participant {who!r}; the recording has "
                             f"{[label or '(unlabelled)' for label in labels]}")
    if a == b:
        raise ValueError(f"synchrony needs two different participants, got {a!r} twice")
    derived = derived_signals(rec)
    (ta, va), (tb, vb) = (_series(rec, derived, who, signal, labels) for who in (a, b))
    start, end = max(ta[0], tb[0]), min(ta[-1], tb[-1])
    grid = start + np.arange(int((end - start) * FS) + 1 if end > start else 0) / FS
    if signal == "hr":
        xa, xb = cubic_spline(ta, va, grid), cubic_spline(tb, vb, grid)
    else:
        xa, xb = np.interp(grid, ta, va), np.interp(grid, tb, vb)
    try:
        windows = windowed_xcorr(xa, xb, FS, window_s, step_s, max_lag_s, peak_span_s)
    except ValueError as exc:
        raise ValueError(f"{rec.path}: {a} and {b}: {exc}") from None
    windows["start_s"] += start
    test = surrogate_peak_r(xa, xb, FS, window_s, step_s, max_lag_s, n_surrogates, seed, peak_span_s)
    summary = pd.DataFrame([{
        "windows": len(windows), "peaks": int(windows.r.notna().sum()),
        "mean_r": test.real_r, "sd_r": windows.r.std(), "mean_lag_s": windows.lag_s.mean(),
        "sd_lag_s": windows.lag_s.std(), "surrogate_mean_r": test.surrogate_mean,
        "surrogate_sd_r": test.surrogate_sd, "p": test.p}])
    rows = []
    for ev in rec.events[rec.events.kind == "phase"].itertuples():
        inside = windows[(windows.start_s >= ev.onset) & (windows.start_s < ev.onset + ev.duration)]
        rows.append({"phase": ev.label, "kind": ev.payload.get("phase_kind", ""),
                     "onset_s": ev.onset, "duration_s": ev.duration, "windows": len(inside),
                     "mean_r": inside.r.mean(), "mean_lag_s": inside.lag_s.mean()})
    phases = pd.DataFrame(rows, columns=["phase", "kind", "onset_s", "duration_s", "windows",
                                         "mean_r", "mean_lag_s"])
    return SynchronyResult(a, b, signal, windows, summary, phases)
