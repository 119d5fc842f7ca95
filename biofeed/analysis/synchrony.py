"""Physiological synchrony of two participants of a recording, against surrogates.

The windowed cross-correlation with Boker's peak picking (Boker, Rotondo, Xu & King 2002), the
4 Hz grid and its low-pass are :mod:`biofeed.physio.synchrony`; :func:`synchrony` runs its
:class:`~biofeed.physio.synchrony.SynchronyTracker` over a recording's series, the very code
the live ``synchrony.A.B.hr`` / ``.scl`` streams come from, so the windows table equals them.

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

from ..devices.labels import belongs, participants
from ..physio.synchrony import (FS, LOWPASS_HZ, MAX_LAG_S, PEAK_SPAN_S, STEP_S, WINDOW_S,
                                SynchronyTracker, lag_correlations, pick_peaks, windowed_xcorr)
from ..record.reader import Recording, Signal
from .replay import derived_signals

__all__ = ["FS", "LOWPASS_HZ", "PEAK_SPAN_S", "SIGNALS", "SURROGATES", "SurrogateTest",
           "SynchronyResult", "lag_correlations", "p_of", "pick_peaks", "surrogate_peak_r",
           "synchrony", "windowed_xcorr"]

#: Signals :func:`synchrony` compares: HR from the NN stream (bpm), or SCL (uS).
SIGNALS = ("hr", "scl")


def _mean(values: np.ndarray) -> float:
    """Mean of the finite values (NaN when there are none)."""
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else np.nan


@dataclass(frozen=True)
class SurrogateTest:
    """Mean peak r of the real pair against surrogates (:func:`surrogate_peak_r`).

    ``real_r``: mean peak r of the real pair; ``surrogate_r``: the same for each surrogate;
    ``surrogate_mean`` / ``surrogate_sd``: their mean and SD; ``p``: share of surrogates whose
    mean peak r is at least ``real_r``, with the +1 correction, ``(1 + count) / (1 + n)``;
    ``surrogate_windows``: each surrogate's peak r per window (surrogates x windows, the
    windows of :func:`windowed_xcorr`), for tests over a part of the windows (:func:`p_of`).
    """

    real_r: float
    surrogate_r: np.ndarray = field(repr=False)
    surrogate_mean: float
    surrogate_sd: float
    p: float
    surrogate_windows: np.ndarray = field(repr=False, default=None)


def p_of(real: np.ndarray, surrogates: np.ndarray) -> tuple[float, float]:
    """Mean of the real windows' peak r (``real``, NaN without a peak) against the same
    windows of each surrogate (``surrogates``, surrogates x windows): the surrogates' mean and
    the p with the +1 correction (NaN when the real windows have no peak)."""
    real_mean = _mean(real)
    means = np.array([_mean(row) for row in surrogates])
    finite = means[np.isfinite(means)]
    p = ((1 + int(np.sum(means >= real_mean))) / (1 + len(means))
         if np.isfinite(real_mean) and len(means) else np.nan)
    return _mean(finite), p


#: Surrogate methods of :func:`surrogate_peak_r`.
SURROGATES = ("shift", "shuffle")


def surrogate_peak_r(x, y, fs: float, window_s: float, step_s: float, max_lag_s: float,
                     n_surrogates: int = 200, seed: int = 0,
                     peak_span_s: float = PEAK_SPAN_S, method: str = "shift") -> SurrogateTest:
    """Mean peak r of :func:`windowed_xcorr` for ``(x, y)`` and for ``n_surrogates`` pairs
    ``(x, y')`` (``numpy.random.default_rng(seed)``); arguments as for :func:`windowed_xcorr`.

    ``method="shift"`` (default): ``y`` is shifted circularly by a random whole number of
    samples, at least one window plus twice the largest lag from either end (time-shift
    surrogates, Andrzejak et al. 2003, Physical Review E 68:066202): each series keeps all of
    its own dynamics, slower ones than a window included, and only the alignment is broken.
    ``"shuffle"``: ``y`` is cut into segments of one window (the last one shorter) put in a
    random order (Moulder et al. 2018), which also breaks ``y``'s dynamics beyond a window.
    On 20 uncoupled simulated dyads (10 min, heart rates wandering over tens of seconds;
    ``benchmarks/bench_synchrony.py``) p < 0.05 came out for 1 with time shifts and for 2
    with shuffled segments (3 with a largest lag of 5 s).
    """
    if n_surrogates < 1:
        raise ValueError(f"n_surrogates must be >= 1, got {n_surrogates}")
    if method not in SURROGATES:
        raise ValueError(f"surrogate method must be one of {SURROGATES}, got {method!r}")
    args = (fs, window_s, step_s, max_lag_s, peak_span_s)
    real = _mean(windowed_xcorr(x, y, *args).r.to_numpy())
    y = np.asarray(y, dtype=float)
    width = round(window_s * fs)
    rng = np.random.default_rng(seed)
    if method == "shift":
        least = width + 2 * round(max_lag_s * fs)
        if y.size - least < least:
            raise ValueError(f"time-shift surrogates need at least 2 (window_s + 2 max_lag_s) = "
                             f"{2 * least / fs:g} s of data, got {y.size / fs:g} s")
        surrogates = (np.roll(y, k) for k in rng.integers(least, y.size - least + 1, n_surrogates))
    else:
        segments = [y[i:i + width] for i in range(0, y.size, width)]
        surrogates = (np.concatenate([segments[i] for i in rng.permutation(len(segments))])
                      for _ in range(n_surrogates))
    rows = np.array([windowed_xcorr(x, other, *args).r.to_numpy() for other in surrogates])
    means = np.array([_mean(row) for row in rows])
    finite = means[np.isfinite(means)]
    return SurrogateTest(real, means, _mean(finite),
                         float(finite.std(ddof=1)) if finite.size > 1 else np.nan,
                         (1 + int(np.sum(means >= real))) / (1 + n_surrogates)
                         if np.isfinite(real) else np.nan, rows)


@dataclass(frozen=True)
class SynchronyResult:
    """What :func:`synchrony` found.

    ``windows``: :func:`windowed_xcorr`'s table, ``start_s`` in session time. ``summary``: one
    row, ``windows`` (count), ``peaks`` (windows with a peak), ``mean_r``, ``sd_r`` (peak r),
    ``mean_lag_s``, ``median_lag_s``, ``sd_lag_s`` (of the peaks' lags), ``surrogate_mean_r``,
    ``surrogate_sd_r``, ``p`` (:class:`SurrogateTest`). ``phases``: a row per protocol phase, ``phase``, ``kind``,
    ``onset_s``, ``duration_s``, ``windows`` (count of windows starting in the phase),
    ``mean_r``, ``mean_lag_s``, ``median_lag_s`` over them, and against the same windows of
    the surrogates ``surrogate_mean_r`` and ``p`` (:func:`p_of`).
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


def synchrony(rec: Recording, a: str, b: str, signal: str = "hr", window_s: float = WINDOW_S,
              step_s: float = STEP_S, max_lag_s: float = MAX_LAG_S, n_surrogates: int = 200,
              seed: int = 0,
              peak_span_s: float = PEAK_SPAN_S, lowpass_hz: float = LOWPASS_HZ,
              surrogates: str = "shift") -> SynchronyResult:
    """Physiological synchrony of participants ``a`` and ``b`` (device labels) of a recording.

    ``signal="hr"``: instantaneous heart rate, 60000 / NN (bpm) at each beat of the
    participant's NN stream; ``"scl"``: the participant's SCL stream (uS), or the raw EDA
    without one. Both series go through :class:`~biofeed.physio.synchrony.SynchronyTracker`
    (linear interpolation at :data:`FS`, 4 Hz, from the later first sample; a causal
    low-pass at ``lowpass_hz``, 0 for none; :func:`windowed_xcorr`'s windows, ``a`` is ``x``:
    a positive lag means ``b`` follows ``a``), as the live synchrony streams do, then
    :func:`surrogate_peak_r` on the same grid series (``surrogates``: its ``method``). Derived streams come from the
    recording, or from a replay when none were recorded. Windows count towards the phase in
    which they start.
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
    tracker = SynchronyTracker(FS, window_s, step_s, max_lag_s, peak_span_s, lowpass_hz,
                               keep_grid=True)
    rows = []
    for i, who in enumerate((a, b)):
        rows += tracker.add(i, *_series(rec, derived, who, signal, labels))
    windows = pd.DataFrame(rows, columns=["start_s", "r", "lag_s"])
    xa, xb = tracker.grid()
    try:
        test = surrogate_peak_r(xa, xb, FS, window_s, step_s, max_lag_s, n_surrogates, seed,
                                peak_span_s, surrogates)
    except ValueError as exc:
        raise ValueError(f"{rec.path}: {a} and {b}: {exc}") from None
    summary = pd.DataFrame([{
        "windows": len(windows), "peaks": int(windows.r.notna().sum()),
        "mean_r": test.real_r, "sd_r": windows.r.std(), "mean_lag_s": windows.lag_s.mean(),
        "median_lag_s": windows.lag_s.median(), "sd_lag_s": windows.lag_s.std(),
        "surrogate_mean_r": test.surrogate_mean, "surrogate_sd_r": test.surrogate_sd,
        "p": test.p}])
    rows = []
    for ev in rec.events[rec.events.kind == "phase"].itertuples():
        mask = ((windows.start_s >= ev.onset) & (windows.start_s < ev.onset + ev.duration)).to_numpy()
        inside = windows[mask]
        surrogate_mean, p = p_of(inside.r.to_numpy(), test.surrogate_windows[:, mask])
        rows.append({"phase": ev.label, "kind": ev.payload.get("phase_kind", ""),
                     "onset_s": ev.onset, "duration_s": ev.duration, "windows": len(inside),
                     "mean_r": inside.r.mean(), "mean_lag_s": inside.lag_s.mean(),
                     "median_lag_s": inside.lag_s.median(), "surrogate_mean_r": surrogate_mean,
                     "p": p})
    phases = pd.DataFrame(rows, columns=["phase", "kind", "onset_s", "duration_s", "windows",
                                         "mean_r", "mean_lag_s", "median_lag_s",
                                         "surrogate_mean_r", "p"])
    return SynchronyResult(a, b, signal, windows, summary, phases)
