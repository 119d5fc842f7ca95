"""Per-phase summary of a recorded session: cardiac, electrodermal and arousal measures in every
phase, reactivity (phase minus baseline) and half-recovery time, from the signal core's streams."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..devices.labels import belongs, participants
from ..physio.hrv import hrv
from ..physio.quality import MIN_GOOD_PCT, SEGMENT_S
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


#: Columns of :func:`phase_table` that hold measures (reactivity is computed for these).
MEASURES = ("hr_bpm", "rmssd_ms", "sdnn_ms", "lf_hf", "coherence", "rsa_bpm", "scl_us",
            "scr_per_min", "scr_amp_us", "arousal")
#: Columns of :func:`phase_table` on signal quality (:mod:`biofeed.physio.quality`).
QUALITY_COLUMNS = ("heart_good_pct", "eda_good_pct", "hrv_poor_data")
#: Moving-average window of the arousal index for the half-recovery time, seconds.
HALF_RECOVERY_SMOOTH_S = 10.0


def _mean(sig: Signal | None, start: float, end: float, channel: int = 0) -> float:
    if sig is None:
        return np.nan
    values = sig.values[_within(sig, start, end)]
    values = values if values.ndim == 1 else values[:, channel]
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else np.nan


def good_pct(quality: Signal | None, start: float, end: float) -> float:
    """Share of the segments of a quality stream whose middle lies in ``[start, end)`` that
    were rated good, % (NaN without segments there)."""
    if quality is None:
        return np.nan
    middle = quality.times - SEGMENT_S / 2
    good = quality.values[(middle >= start) & (middle < end), 0]
    return 100.0 * float(np.mean(good == 1)) if good.size else np.nan


def _quality_of(signals: dict[str, Signal], source: str | None) -> Signal | None:
    """The quality stream of raw stream ``source`` (``source.quality``), if recorded."""
    sig = signals.get(f"{source}.quality") if source else None
    return sig if sig is not None and sig.info.kind == "quality" else None


def phase_table(rec: Recording, participant: str | None = None) -> pd.DataFrame:
    """One row per protocol phase, for one participant.

    Columns: ``phase``, ``kind`` (phase kind), ``onset_s``, ``duration_s`` (seconds),
    ``hr_bpm`` (60000 / mean NN), ``rmssd_ms`` and ``sdnn_ms`` (artifact-corrected NN, see
    :func:`biofeed.physio.hrv.hrv`), ``lf_hf`` (LF/HF power ratio; NaN for phases under
    2 min, Task Force 1996), ``coherence`` (mean of the live coherence ratio; McCraty et al.
    2009), ``rsa_bpm`` (mean peak-to-trough HR of the breath cycles ending in the phase, from
    the live RSA stream; Grossman et al. 1990), ``scl_us`` (mean skin conductance level),
    ``scr_per_min`` (SCR onsets in the phase per minute), ``scr_amp_us`` (mean SCR amplitude,
    uS; Boucsein et al. 2012), ``arousal`` (mean arousal index, baseline SDs;
    :mod:`biofeed.physio.arousal`), ``half_recovery_s`` (recovery phases, see
    :func:`half_recovery_s`), ``heart_good_pct`` (% of the 10 s segments of the heart signal
    behind the NN stream rated good, each segment counted in the phase its middle lies in;
    :mod:`biofeed.physio.quality`), ``eda_good_pct`` (the same for the EDA), ``hrv_poor_data``
    (True when ``heart_good_pct`` <
    :data:`~biofeed.physio.quality.MIN_GOOD_PCT` (80 %): the phase's HR and HRV rest on
    poor data). Derived streams come from the recording, or from a replay when none were
    recorded.

    ``participant`` is a device label (:func:`biofeed.devices.labels.participants`; "" for the
    unlabelled devices): only that participant's streams are used. By default the first
    stream of each kind is, whoever it belongs to.
    """
    signals, raw = derived_signals(rec), dict(rec.signals)
    if participant is not None:
        labels = participants(rec.streams.values())
        if participant not in labels:
            raise ValueError(f"{rec.path}: no participant {participant!r}; the recording has "
                             f"{[label or '(unlabelled)' for label in labels]}")
        signals = {n: s for n, s in signals.items() if belongs(n, participant, labels)}
        raw = {n: s for n, s in raw.items() if belongs(n, participant, labels)}
    sources = phase_sources(signals, raw)
    phases = rec.events[rec.events.kind == "phase"]
    rows = []
    for ev in phases.itertuples():
        start, end = ev.onset, ev.onset + ev.duration
        row = {"phase": ev.label, "kind": ev.payload.get("phase_kind", ""), "onset_s": start,
               "duration_s": ev.duration, **phase_measures(sources, start, ev.duration),
               "half_recovery_s": np.nan}
        if sources.arousal is not None and row["kind"] == "recovery":
            row["half_recovery_s"] = half_recovery_s(sources.arousal, phases, start, end)
        rows.append(row)
    return pd.DataFrame(rows, columns=["phase", "kind", "onset_s", "duration_s", *MEASURES,
                                       "half_recovery_s", *QUALITY_COLUMNS])


@dataclass(frozen=True)
class PhaseSources:
    """The streams a phase's measures come from (:func:`phase_sources`); None when absent."""

    nn: Signal | None
    scr: Signal | None
    scl: Signal | None
    arousal: Signal | None
    coherence: Signal | None
    rsa: Signal | None
    heart_quality: Signal | None
    eda_quality: Signal | None


def phase_sources(signals: dict[str, Signal], raw: dict[str, Signal]) -> PhaseSources:
    """The streams :func:`phase_measures` uses, from a participant's streams by name
    (``signals``: derived and raw, ``raw``: raw only): the first of each kind; SCL from the
    raw EDA when no SCL stream exists; the quality streams of the heart signal behind the NN
    stream and of the EDA."""
    nn = _first_of_kind(signals, "nn")
    scl = _first_of_kind(signals, "scl") or _first_of_kind(raw, "eda")
    # the heart signal behind the NN stream: NN "X.rr.nn" comes from beats of raw stream "X"
    heart = _quality_of(signals, nn.info.name.removesuffix(".rr.nn") if nn is not None else None)
    eda_source = scl.info.name.removesuffix(".scl") if scl is not None else None
    return PhaseSources(nn, _first_of_kind(signals, "scr"), scl,
                        _first_of_kind(signals, "arousal"), _first_of_kind(signals, "coherence"),
                        _first_of_kind(signals, "rsa"), heart, _quality_of(signals, eda_source))


def phase_measures(sources: PhaseSources, onset_s: float, duration_s: float) -> dict[str, float]:
    """Every measure of :data:`MEASURES` and :data:`QUALITY_COLUMNS` over the span
    ``[onset_s, onset_s + duration_s)`` (session seconds), as :func:`phase_table` computes
    them for a phase (see there for the definitions); NaN where a stream is missing or has no
    data there. The live window's baseline values come from here too."""
    start, end = onset_s, onset_s + duration_s
    row = dict.fromkeys(MEASURES, np.nan)
    row["heart_good_pct"] = good_pct(sources.heart_quality, start, end)
    row["eda_good_pct"] = good_pct(sources.eda_quality, start, end)
    row["hrv_poor_data"] = bool(row["heart_good_pct"] < MIN_GOOD_PCT)
    nn = sources.nn
    if nn is not None:
        values = nn.values[_within(nn, start, end)]
        nn_ms = values[:, 0] if values.ndim == 2 else values
        if len(nn_ms) >= 2:
            h = hrv(nn_ms)
            row |= {"hr_bpm": 60000.0 / float(np.mean(nn_ms)), "rmssd_ms": h["rmssd"],
                    "sdnn_ms": h["sdnn"], "lf_hf": h["lf_hf"]}
    row["scl_us"] = _mean(sources.scl, start, end)
    if sources.scr is not None and duration_s > 0:
        row["scr_per_min"] = int(_within(sources.scr, start, end).sum()) / (duration_s / 60.0)
        row["scr_amp_us"] = _mean(sources.scr, start, end)
    row["arousal"] = _mean(sources.arousal, start, end)
    row["coherence"] = _mean(sources.coherence, start, end)
    row["rsa_bpm"] = _mean(sources.rsa, start, end)
    return row


def half_recovery_s(arousal: Signal, phases: pd.DataFrame, start: float, end: float) -> float:
    """Half-recovery time of the arousal index for a recovery phase ``[start, end)`` (s).

    Seconds from the end of the last stressor phase before ``start`` until the arousal index
    (moving average over :data:`HALF_RECOVERY_SMOOTH_S`) first falls to halfway between its peak
    in that stressor and the baseline phase's mean; searched up to ``end``. NaN without a
    stressor or a baseline, or when the level is not reached (Laborde et al. 2017; domain notes,
    recovery = half-recovery time).
    """
    stressor = np.array([bool(p.get("stressor", False)) for p in phases.payload], dtype=bool)
    stressors = phases[stressor & (phases.onset < start).to_numpy()]
    baseline = phases[np.array([p.get("phase_kind") == "baseline" for p in phases.payload], dtype=bool)]
    if stressors.empty or baseline.empty:
        return np.nan
    times, values = arousal.times, arousal.values[:, 0]
    ok = np.isfinite(values)
    times, values = times[ok], values[ok]
    if values.size < 2:
        return np.nan
    k = max(1, round(HALF_RECOVERY_SMOOTH_S / max(float(np.median(np.diff(times))), 1e-9)))
    smooth = np.convolve(values, np.ones(k) / k, mode="full")[:values.size]   # causal mean
    smooth[:k - 1] = np.nan
    b = baseline.iloc[0]
    base = np.nanmean(values[(times >= b.onset) & (times < b.onset + b.duration)])
    s = stressors.iloc[-1]
    offset = s.onset + s.duration
    during = smooth[(times >= s.onset) & (times < offset)]
    if not np.isfinite(base) or not np.isfinite(during).any():
        return np.nan
    peak = float(np.nanmax(during))
    if peak <= base:
        return np.nan
    after = (times >= offset) & (times < end) & (smooth <= base + (peak - base) / 2)
    return float(times[after][0] - offset) if after.any() else np.nan


def reactivity(table: pd.DataFrame, baseline: str | None = None) -> pd.DataFrame:
    """Phase minus baseline for every measure of a :func:`phase_table` (Laborde et al. 2017).

    ``baseline`` names the reference phase (the first phase of kind ``baseline`` by default).
    Columns: ``phase``, ``kind``, ``d_<measure>`` for each of :data:`MEASURES` (same units as the
    measure), and ``half_recovery_s``.
    """
    if baseline is None:
        rows = table[table.kind == "baseline"]
        if rows.empty:
            raise ValueError("no baseline phase to compute reactivity against")
        ref = rows.iloc[0]
    else:
        rows = table[table.phase == baseline]
        if rows.empty:
            raise ValueError(f"no phase {baseline!r}; phases: {table.phase.tolist()}")
        ref = rows.iloc[0]
    out = table[["phase", "kind"]].copy()
    for m in MEASURES:
        out[f"d_{m}"] = table[m] - ref[m]
    out["half_recovery_s"] = table["half_recovery_s"]
    return out
