"""Offline analysis of one recording: replay through the signal core, then the per-phase table,
event-related HR and SCR around prompts and markers, and an artifact and signal-quality summary.

:func:`analyze` gives an :class:`Analysis`; :mod:`biofeed.analysis.report` writes it out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..record.reader import Recording, Signal, events_frame
from .epochs import Epochs, eda_epochs, hr_epochs
from .phases import phase_table, reactivity
from .resonance import ResonanceResult, resonance
from .replay import replay, rr_correction_of

#: Event kinds whose onsets get event-related epochs.
EPOCH_EVENT_KINDS = ("prompt", "marker")
#: Epoch window and baseline, s relative to onset; HR response = mean change over
#: HR_RESPONSE_S, SCR = max EDA change over SCR_RESPONSE_S (Boucsein 2012: 1-5 s latency window).
EPOCH_WINDOW_S = (-5.0, 15.0)
BASELINE_S = (-5.0, 0.0)
HR_RESPONSE_S = (0.0, 10.0)
SCR_RESPONSE_S = (1.0, 5.0)
#: Plausible skin conductance, uS; samples outside count as implausible.
EDA_PLAUSIBLE_US = (0.05, 100.0)


@dataclass
class Analysis:
    """Everything the report shows.

    Attributes
    ----------
    recording : Recording
        The recording with the replayed derived streams (and a whole-recording ``phase`` event
        when it had no phases).
    phases : DataFrame
        :func:`biofeed.analysis.phases.phase_table`.
    reactivity : DataFrame
        :func:`biofeed.analysis.phases.reactivity` (phase minus baseline, half-recovery time);
        empty when no phase is of kind ``baseline``.
    hr : Epochs or None
        Event-related heart rate (bpm change from baseline).
    eda : Epochs or None
        Event-related skin conductance (uS change from baseline).
    responses : DataFrame
        Per event: ``onset_s``, ``label``, ``hr_change_bpm``, ``scr_us``.
    artifacts : DataFrame
        ``stream``, ``measure``, ``value``, ``unit``: corrected beats, gaps, signal quality.
    resonance : ResonanceResult or None
        :func:`biofeed.analysis.resonance.resonance` when the recording holds a paced
        resonance-frequency assessment.
    """

    recording: Recording
    phases: pd.DataFrame
    reactivity: pd.DataFrame
    hr: Epochs | None
    eda: Epochs | None
    responses: pd.DataFrame
    artifacts: pd.DataFrame
    resonance: ResonanceResult | None


def first_of_kind(rec: Recording, kind: str, derived: bool | None = None) -> Signal | None:
    """The first stream of ``kind`` (raw only, derived only or either), or None."""
    for name, info in rec.streams.items():
        if info.kind == kind and (derived is None or info.derived == derived):
            return rec.signals[name]
    return None


def _end_s(rec: Recording) -> float:
    ends = [float(rec.signals[n].times[-1]) for n, s in rec.streams.items() if not s.derived
            and len(rec.signals[n])]
    return max(ends, default=0.0)


def _with_whole_phase(rec: Recording) -> pd.DataFrame:
    """The events, plus one ``phase`` event over the whole recording when there is no phase."""
    ev = rec.events
    if (ev.kind == "phase").any():
        return ev
    new_id = int(ev.id.max()) + 1 if len(ev) else 0
    whole = (0.0, _end_s(rec), "recording", "phase", {"whole_recording": True}, new_id)
    return events_frame([*ev.itertuples(index=False, name=None), whole])


def artifact_summary(rec: Recording) -> pd.DataFrame:
    """Corrected beats (% of NN), gaps per raw stream (count, s), coverage (% of the recording),
    implausible EDA samples (% outside :data:`EDA_PLAUSIBLE_US`), per quality stream, its
    segments and the share rated good (%; :mod:`biofeed.physio.quality`), and each damaged part
    of the file (:mod:`biofeed.record.integrity`) with its span (s)."""
    rows, end = [], _end_s(rec)
    for name, info in rec.streams.items():
        if info.kind == "quality":
            good = rec.signals[name].values[:, 0]
            rows += [(name, "segments (10 s)", float(len(good)), "segments"),
                     (name, "good segments", 100.0 * float(np.mean(good == 1)) if len(good)
                      else np.nan, "%")]
        if info.kind == "nn":
            artifact = rec.signals[name].values[:, 1]
            rows += [(name, "beats", float(len(artifact)), "beats"),
                     (name, "corrected beats", 100.0 * float(np.mean(artifact != 0)) if len(artifact)
                      else np.nan, "%")]
        if info.derived or not info.regular:
            continue
        gaps = rec.gaps(name)
        gap_s = float(sum(b - a for a, b in gaps))
        sig = rec.signals[name]
        covered = len(sig) / info.rate
        rows += [(name, "gaps", float(len(gaps)), "gaps"), (name, "gap time", gap_s, "s"),
                 (name, "coverage", 100.0 * min(covered / end, 1.0) if end > 0 else np.nan, "%")]
        if info.kind == "eda" and len(sig):
            v = sig.values if sig.values.ndim == 1 else sig.values[:, 0]
            lo, hi = EDA_PLAUSIBLE_US
            rows.append((name, "implausible EDA", 100.0 * float(np.mean((v < lo) | (v > hi))), "%"))
    # damaged parts of the file (left out, never read as other numbers): their span, s
    rows += [(d.where, f"damaged: {d.what}", d.end_s - d.start_s, "s") for d in rec.verify()]
    return pd.DataFrame(rows, columns=["stream", "measure", "value", "unit"])


def _resonance(rec: Recording) -> ResonanceResult | None:
    """The resonance assessment, or None when ``rec`` has no paced assessment phases (or no
    heart beats): the condition under which :func:`resonance` raises ValueError."""
    try:
        return resonance(rec)
    except ValueError:
        return None


def analyze(rec: Recording, rr_correction: str | None = None) -> Analysis:
    """Re-run the signal core over ``rec`` (the same processors as live) and summarise it.

    RR artifacts are corrected at level ``rr_correction`` (:data:`biofeed.physio.rr.LEVELS`),
    by default the recorded one (:func:`~biofeed.analysis.replay.rr_correction_of`); the
    level used is ``meta["rr_correction"]`` of the analysed recording.
    """
    level = rr_correction_of(rec) if rr_correction is None else rr_correction
    derived = replay(rec, rr_correction=level)
    full = rec.with_signals(derived.values())
    full.meta["rr_correction"] = level
    full.events = _with_whole_phase(full)
    phases = phase_table(full)
    changes = reactivity(phases) if (phases.kind == "baseline").any() else pd.DataFrame()
    onsets = full.events[full.events.kind.isin(EPOCH_EVENT_KINDS)]
    nn, eda = first_of_kind(full, "nn"), first_of_kind(full, "eda", derived=False)
    opts = {"window": EPOCH_WINDOW_S, "baseline": BASELINE_S, "labels": list(onsets.label)}
    hr_ep = hr_epochs(nn, onsets.onset, **opts) if nn is not None and len(onsets) else None
    eda_ep = eda_epochs(eda, onsets.onset, **opts) if eda is not None and len(onsets) else None
    none = np.full(len(onsets), np.nan)
    responses = pd.DataFrame({
        "onset_s": onsets.onset.to_numpy(), "label": onsets.label.to_numpy(),
        "hr_change_bpm": none if hr_ep is None else hr_ep.response(*HR_RESPONSE_S),
        "scr_us": none if eda_ep is None else eda_ep.response(*SCR_RESPONSE_S, stat="max")})
    return Analysis(full, phases, changes, hr_ep, eda_ep, responses, artifact_summary(full),
                    _resonance(full))
