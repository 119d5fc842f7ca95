"""The report's tables as text cells: human headers with units, numbers formatted per column
(counts as integers), and every dash (a value that does not exist) with a footnote saying why.

A :class:`Table` is what the HTML page, the PDF and the terminal show; the DataFrames of
:class:`~biofeed.analysis.analyze.Analysis` keep the numbers (NaN where there is none).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..physio import rr as rr_method
from ..physio.quality import MIN_GOOD_PCT
from .analyze import Analysis
from .columns import header
from .phases import HALF_RECOVERY_SMOOTH_S
from .replay import rr_correction_of

#: Shown for a value that does not exist (always with a footnote).
DASH = "–"
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")

#: Number formats of the phase and reactivity columns (reactivity: signed, ``d_<column>``).
FORMATS = {"onset_s": ".0f", "duration_s": ".0f", "hr_bpm": ".1f", "rmssd_ms": ".1f",
           "sdnn_ms": ".1f", "lf_hf": ".2f", "coherence": ".2f", "rsa_bpm": ".1f",
           "scl_us": ".2f", "scr_per_min": ".1f", "scr_amp_us": ".2f", "arousal": "+.2f",
           "half_recovery_s": ".0f", "heart_good_pct": ".0f", "eda_good_pct": ".0f",
           "hr_change_bpm": "+.1f", "scr_us": ".2f"}
#: Heart-beat measures of the phase table: marked ``!`` on poor heart data.
HEART_COLUMNS = ("hr_bpm", "rmssd_ms", "sdnn_ms", "lf_hf")
#: The key numbers of the first page: the measure, and whether its change from baseline is shown.
KEY_MEASURES = (("hr_bpm", True), ("rmssd_ms", True), ("scl_us", True), ("scr_per_min", True),
                ("coherence", False), ("arousal", False))


def _formats() -> dict[str, str]:
    signed = {f"d_{k}": (v if v.startswith("+") else f"+{v}") for k, v in FORMATS.items()}
    return FORMATS | signed


def dash_reason(column: str, row: dict) -> str:
    """Why ``column`` has no value in the phase-table ``row`` (a dict of its columns)."""
    measure = column[2:] if column.startswith("d_") else column
    if column.startswith("d_") and np.isfinite(row.get(measure, np.nan)):
        return "the baseline phase has no value of this measure to compare with."
    duration = float(row.get("duration_s", np.nan))
    reasons = {
        "lf_hf": ("LF/HF needs at least 2 min of beats (Task Force 1996)"
                  + (f"; this phase lasted {duration:.0f} s." if np.isfinite(duration) else ".")),
        "half_recovery_s": ("half-recovery is measured only in a recovery phase after a stressor."
                            if row.get("kind") != "recovery" else
                            "the arousal index did not come halfway back to the baseline in "
                            f"this phase (or did not rise above it in the stressor; smoothed "
                            f"over {HALF_RECOVERY_SMOOTH_S:g} s)."),
        "coherence": "coherence needs 64 s of beats before its first value (McCraty et al. 2009).",
        "rsa_bpm": "no complete breath cycle with heart beats ended in this phase (or no "
                   "respiration signal).",
        "scr_amp_us": "no SCR in this phase, so no amplitude to average.",
        "scr_per_min": "no skin-conductance signal.", "scl_us": "no skin-conductance signal.",
        "arousal": "no arousal index here (it needs heart beats and skin conductance, and "
                   "starts once its inputs have a value).",
        "heart_good_pct": "no quality-rated heart-signal segment has its middle in this phase.",
        "eda_good_pct": "no quality-rated skin-conductance segment has its middle in this phase.",
    }
    if measure in ("hr_bpm", "rmssd_ms", "sdnn_ms"):
        return "fewer than 2 heart beats in this phase (or no heart signal)."
    if measure in ("hr_change_bpm", "scr_us"):
        return "no signal around this event (or the window runs past the recording)."
    return reasons.get(measure, "not available for this phase.")


@dataclass
class Table:
    """Text cells with human ``headers``; ``numeric`` per column (right-aligned); ``notes``:
    the footnotes, numbered from 1 (a dash's mark is its note's number)."""

    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> str:
        """The superscript mark of footnote ``text`` (added when new)."""
        if text not in self.notes:
            self.notes.append(text)
        return str(self.notes.index(text) + 1).translate(_SUPERSCRIPTS)

    def transposed(self) -> "Table":
        """Rows and columns swapped: the first column's cells become the headers, each other
        column a row named by its header (same footnotes)."""
        heads = [self.headers[0]] + [row[0] for row in self.rows]
        rows = [[h] + [row[j] for row in self.rows] for j, h in enumerate(self.headers) if j > 0]
        return Table(heads, rows, [False] + [True] * len(self.rows), self.notes)

    @classmethod
    def of(cls, frame: pd.DataFrame, formats: dict[str, str] | None = None,
           context: pd.DataFrame | None = None, marked: dict[str, np.ndarray] | None = None,
           mark_note: str | None = None, reason=None) -> "Table":
        """``frame`` as text: headers by :func:`~biofeed.analysis.columns.header`, numbers by
        ``formats`` (column -> format spec; default :data:`FORMATS`), booleans as yes/no,
        integers as integers, NaN as a dash with the footnote of :func:`dash_reason` (the row
        of ``context``, default ``frame``, giving the phase). ``marked``: column -> rows whose
        value gets `` !`` and the footnote ``mark_note``. ``reason(column, row)`` replaces
        :func:`dash_reason`."""
        formats = _formats() | (formats or {})
        context = frame if context is None else context
        numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
                   for c in frame.columns]
        t = cls([header(c) for c in frame.columns], [], numeric)
        t._reason = reason or dash_reason
        ctx_rows = context.to_dict("records")
        for i, row in enumerate(frame.itertuples(index=False)):
            cells = []
            for col, value in zip(frame.columns, row):
                cells.append(t._cell(col, value, ctx_rows[i] if i < len(ctx_rows) else {}, formats))
                if marked and col in marked and marked[col][i] and cells[-1] != DASH and \
                        not cells[-1].startswith(DASH):
                    cells[-1] += " !"
                    if mark_note:
                        t.note(mark_note)
            t.rows.append(cells)
        return t

    def _cell(self, col: str, value, row: dict, formats: dict[str, str]) -> str:
        if isinstance(value, (bool, np.bool_)):
            return "yes" if value else "no"
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        if isinstance(value, (float, np.floating)):
            if not np.isfinite(value):
                return DASH + self.note(getattr(self, "_reason", dash_reason)(col, row))
            spec = formats.get(col)
            if spec is None:
                return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"
            return format(float(value), spec)
        return "" if value is None else str(value)


def _poor(a: Analysis) -> np.ndarray:
    return a.phases["hrv_poor_data"].to_numpy(dtype=bool)


def _poor_note() -> str:
    return (f"! poor data: fewer than {MIN_GOOD_PCT:.0f} % of the heart signal's 10 s segments "
            "in the phase (or in the baseline it is compared with) were rated good, so its HR "
            "and HRV may rest on missed or false beats.")


def phase_table_view(a: Analysis) -> Table:
    """The per-phase summary (all measures), heart measures marked ``!`` on poor data."""
    frame = a.phases.drop(columns=["hrv_poor_data"])
    poor = _poor(a)
    return Table.of(frame, marked={c: poor for c in HEART_COLUMNS}, mark_note=_poor_note())


def _reactivity_poor(a: Analysis) -> np.ndarray:
    poor = _poor(a)
    baseline = (a.phases.kind == "baseline").to_numpy()
    return poor | (poor[baseline][0] if baseline.any() else False)


def reactivity_view(a: Analysis) -> Table | None:
    """Phase minus baseline, its heart changes marked where the phase or the baseline was poor;
    None without a baseline phase."""
    if a.reactivity.empty:
        return None
    poor = _reactivity_poor(a)
    return Table.of(a.reactivity, context=a.phases,
                    marked={f"d_{c}": poor for c in HEART_COLUMNS}, mark_note=_poor_note())


def key_numbers(a: Analysis) -> Table:
    """The first page's table: per phase its duration, HR, RMSSD, SCL, SCR rate (each with
    its change from the baseline when there is one), coherence, arousal and half-recovery."""
    p = a.phases
    frame = pd.DataFrame({"phase": p.phase, "duration_s": p.duration_s})
    has_changes = not a.reactivity.empty
    for measure, delta in KEY_MEASURES:
        frame[measure] = p[measure].to_numpy()
        if delta and has_changes:
            frame[f"d_{measure}"] = a.reactivity[f"d_{measure}"].to_numpy()
    frame["half_recovery_s"] = p.half_recovery_s.to_numpy()
    poor = _reactivity_poor(a) if has_changes else _poor(a)
    marked = {"hr_bpm": _poor(a), "rmssd_ms": _poor(a)}
    if has_changes:
        marked |= {"d_hr_bpm": poor, "d_rmssd_ms": poor}
    t = Table.of(frame, context=p, marked=marked, mark_note=_poor_note())
    if has_changes:
        base = p.phase[p.kind == "baseline"].iloc[0]
        t.note(f"Δ: the phase minus the baseline phase ({base}), same unit.")
    return t


def responses_view(a: Analysis) -> Table:
    """Event-related HR change and SCR per prompt or marker."""
    return Table.of(a.responses, {"onset_s": ".1f"})


#: How the artifact summary's values are shown, by their unit: counts (integers, the measure
#: names what is counted), percentages and seconds.
_COUNT_UNITS = ("beats", "gaps", "segments")


def artifacts_table(a: Analysis) -> Table:
    """Corrected beats, gaps, coverage and signal quality per stream (Stream, Measure, Value)."""
    t = Table(["Stream", "Measure", "Value"], [], [False, False, True])
    for row in a.artifacts.itertuples():
        measure = row.measure[:1].upper() + row.measure[1:]
        v = float(row.value)
        if not np.isfinite(v):
            cell = DASH + t.note(f"{measure}: nothing to count in {row.stream}.")
        elif row.unit in _COUNT_UNITS:
            cell = str(int(round(v)))
        elif row.unit == "%":
            cell = f"{v:.1f} %"
        else:
            cell = f"{v:.1f} {row.unit}"
        t.rows.append([row.stream, measure, cell])
    return t


def settings_rows(a: Analysis) -> list[tuple[str, str]]:
    """The RR artifact correction's method and settings, as ``(setting, value)`` rows."""
    level = rr_correction_of(a.recording)
    rows = [("Level", level.replace("_", " "))]
    if level == "automatic":
        rows += [("Method", "Lipponen & Tarvainen (2019), as Kubios' automatic correction"),
                 ("Threshold", f"{rr_method.ALPHA:g} x quartile deviation of the successive "
                               f"differences, over {rr_method.THRESHOLD_BEATS} beats"),
                 ("Local median", f"{rr_method.MEDIAN_BEATS} beats"),
                 ("Ectopic boundary", f"c1 = {rr_method.C1:g}, c2 = {rr_method.C2:g}"),
                 ("Threshold floor", f"{rr_method.MIN_THRESHOLD_MS:g} ms")]
    elif level in rr_method.THRESHOLD_MS:
        rows += [("Method", "Kubios threshold correction"),
                 ("Threshold", f"{rr_method.THRESHOLD_MS[level]:g} ms at 60 bpm, scaled with "
                               "the local median RR"),
                 ("Local median", f"{rr_method.MEDIAN_BEATS} beats")]
    else:
        rows += [("Method", "none: RR intervals analysed as recorded")]
    rows.append(("Corrected beats", "missed beats split, extra beats merged, ectopic, long "
                 "and short intervals replaced by the local median" if level == "automatic"
                 else "replaced by the local median" if level != "none" else "not applicable"))
    return rows


def quality_table(a: Analysis) -> Table:
    """Share of good segments per sensor and phase."""
    frame = pd.DataFrame({"phase": a.phases.phase, "heart_good_pct": a.phases.heart_good_pct,
                          "eda_good_pct": a.phases.eda_good_pct,
                          "hrv_poor_data": a.phases.hrv_poor_data.astype(bool)})
    return Table.of(frame, context=a.phases)
