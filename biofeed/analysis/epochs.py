"""Event-related analysis: epochs of heart rate and skin conductance around events, with
baseline correction.

Each epoch is the signal interpolated linearly onto a regular grid of times relative to the
event onset (``window``, seconds), minus its mean over the ``baseline`` interval (seconds,
relative to onset; the pre-event rest by default), the usual correction for event-related HR
and SCR (Boucsein 2012, ch. 3; Dawson, Schell & Filion 2017). Grid points outside the
recorded data are NaN, and so is an epoch whose baseline holds no data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..record.reader import Signal


@dataclass(frozen=True)
class Epochs:
    """Baseline-corrected epochs.

    Attributes
    ----------
    times : ndarray, shape (n_times,)
        Seconds relative to the event onset.
    values : ndarray, shape (n_events, n_times)
        Change from the baseline level, in :attr:`unit`.
    baseline : ndarray, shape (n_events,)
        The baseline level of each event, in :attr:`unit`.
    onsets : ndarray, shape (n_events,)
        Event onsets, session seconds.
    labels : tuple of str
    unit : str
        ``"bpm"`` for heart rate, ``"uS"`` for skin conductance.
    """

    times: np.ndarray
    values: np.ndarray
    baseline: np.ndarray
    onsets: np.ndarray
    labels: tuple[str, ...]
    unit: str

    def mean(self) -> np.ndarray:
        """The average epoch over events (NaN where no event has data), :attr:`unit`."""
        out = np.full(len(self.times), np.nan)
        ok = np.isfinite(self.values).any(axis=0)
        out[ok] = np.nanmean(self.values[:, ok], axis=0)
        return out

    def response(self, start: float, end: float, stat: str = "mean") -> np.ndarray:
        """Per event, the ``"mean"`` or ``"max"`` change over ``[start, end)`` s after onset
        (e.g. the SCR amplitude as the max EDA change 1-5 s after a prompt)."""
        if stat not in ("mean", "max"):
            raise ValueError(f"stat must be 'mean' or 'max', got {stat!r}")
        inside = (self.times >= start) & (self.times < end)
        part = self.values[:, inside]
        out = np.full(len(self.values), np.nan)
        ok = np.isfinite(part).any(axis=1)
        out[ok] = (np.nanmean if stat == "mean" else np.nanmax)(part[ok], axis=1)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``event`` (index), ``label``, ``onset_s``, ``time_s``, ``value`` (change)."""
        n, m = self.values.shape
        return pd.DataFrame({"event": np.repeat(np.arange(n), m),
                             "label": np.repeat(np.asarray(self.labels, dtype=object), m),
                             "onset_s": np.repeat(self.onsets, m), "time_s": np.tile(self.times, n),
                             "value": self.values.reshape(-1)})


def epochs(times: np.ndarray, values: np.ndarray, onsets: Sequence[float], unit: str,
           window: tuple[float, float] = (-5.0, 15.0), baseline: tuple[float, float] = (-5.0, 0.0),
           fs: float = 4.0, labels: Sequence[str] = ()) -> Epochs:
    """Epochs of a signal given as sample ``times`` (s) and ``values`` around ``onsets`` (s).

    ``window`` and ``baseline`` are (start, end) seconds relative to onset; ``fs`` is the rate
    of the epoch grid, Hz. ``labels`` name the events (empty strings by default).
    """
    if not window[0] < window[1] or not baseline[0] < baseline[1]:
        raise ValueError(f"window {window} and baseline {baseline} must each be (start, end) with start < end")
    if not fs > 0:
        raise ValueError(f"fs must be > 0 Hz, got {fs}")
    times, values = np.asarray(times, dtype=float), np.asarray(values, dtype=float)
    onsets = np.asarray(onsets, dtype=float).reshape(-1)
    labels = tuple(labels) or ("",) * len(onsets)
    if len(labels) != len(onsets):
        raise ValueError(f"{len(labels)} labels for {len(onsets)} onsets")
    grid = np.arange(np.ceil(window[0] * fs), np.floor(window[1] * fs) + 1) / fs
    finite = np.isfinite(values)
    t, v = times[finite], values[finite]
    out = np.full((len(onsets), len(grid)), np.nan)
    if len(t) >= 2:
        for i, onset in enumerate(onsets):
            at = onset + grid
            inside = (at >= t[0]) & (at <= t[-1])
            out[i, inside] = np.interp(at[inside], t, v)
    in_base = (grid >= baseline[0]) & (grid < baseline[1])
    base = out[:, in_base]
    ok = np.isfinite(base).any(axis=1)
    level = np.full(len(onsets), np.nan)
    level[ok] = np.nanmean(base[ok], axis=1)
    return Epochs(grid, out - level[:, None], level, onsets, labels, unit)


def hr_epochs(nn: Signal, onsets: Sequence[float], **kwargs) -> Epochs:
    """Heart-rate epochs (bpm) from an NN stream (ms, beat times in s), e.g. ``ecg.rr.nn``:
    instantaneous HR ``60000 / NN`` at each beat, interpolated between beats. ``kwargs`` as in
    :func:`epochs`."""
    nn_ms = nn.values[:, 0] if nn.values.ndim == 2 else nn.values
    with np.errstate(divide="ignore"):
        hr = np.where(nn_ms > 0, 60000.0 / nn_ms, np.nan)
    return epochs(nn.times, hr, onsets, "bpm", **kwargs)


def eda_epochs(eda: Signal, onsets: Sequence[float], **kwargs) -> Epochs:
    """Skin-conductance epochs (uS) from an EDA or SCL stream; the change after onset shows the
    event-related SCR. ``kwargs`` as in :func:`epochs`."""
    values = eda.values[:, 0] if eda.values.ndim == 2 else eda.values
    return epochs(eda.times, values, onsets, "uS", **kwargs)
