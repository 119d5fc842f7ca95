"""Per-phase summary of a recorded session: HR, RMSSD, SCL and SCR rate in every phase."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..physio.hrv import hrv
from ..record.reader import Recording, Signal
from .replay import derived_signals


def _first_of_kind(signals: dict[str, Signal], *kinds: str) -> Signal | None:
    for kind in kinds:
        for sig in signals.values():
            if sig.info.kind == kind:
                return sig
    return None


def _within(sig: Signal, start: float, end: float) -> np.ndarray:
    return (sig.times >= start) & (sig.times < end)


def phase_table(rec: Recording) -> pd.DataFrame:
    """One row per protocol phase.

    Columns: ``phase``, ``onset_s``, ``duration_s`` (seconds), ``hr_bpm`` (60000 / mean NN),
    ``rmssd_ms`` (artifact-corrected NN, see :func:`biofeed.physio.hrv.hrv`), ``scl_us``
    (mean skin conductance level), ``scr_per_min`` (SCR onsets in the phase per minute),
    ``arousal`` (mean arousal index, baseline SDs; :mod:`biofeed.physio.arousal`).
    Derived streams come from the recording, or from a replay when none were recorded.
    """
    signals = derived_signals(rec)
    nn = _first_of_kind(signals, "nn")
    scr = _first_of_kind(signals, "scr")
    scl = _first_of_kind(signals, "scl") or _first_of_kind(dict(rec.signals), "eda")
    arousal = _first_of_kind(signals, "arousal")
    rows = []
    for ev in rec.events[rec.events.kind == "phase"].itertuples():
        start, end = ev.onset, ev.onset + ev.duration
        row = {"phase": ev.label, "onset_s": start, "duration_s": ev.duration,
               "hr_bpm": np.nan, "rmssd_ms": np.nan, "scl_us": np.nan, "scr_per_min": np.nan,
               "arousal": np.nan}
        if nn is not None:
            values = nn.values[_within(nn, start, end)]
            nn_ms = values[:, 0] if values.ndim == 2 else values
            if len(nn_ms) >= 2:
                row["hr_bpm"] = 60000.0 / float(np.mean(nn_ms))
                row["rmssd_ms"] = hrv(nn_ms)["rmssd"]
        if scl is not None:
            values = scl.values[_within(scl, start, end)]
            if len(values):
                row["scl_us"] = float(np.mean(values if values.ndim == 1 else values[:, 0]))
        if scr is not None and ev.duration > 0:
            row["scr_per_min"] = int(_within(scr, start, end).sum()) / (ev.duration / 60.0)
        if arousal is not None:
            values = arousal.values[_within(arousal, start, end), 0]
            if np.isfinite(values).any():
                row["arousal"] = float(np.nanmean(values))
        rows.append(row)
    return pd.DataFrame(rows, columns=["phase", "onset_s", "duration_s", "hr_bpm", "rmssd_ms",
                                       "scl_us", "scr_per_min", "arousal"])
