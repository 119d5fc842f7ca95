"""The analysis report: the per-phase table as CSV and a self-contained HTML page.

The HTML page embeds its figures as PNG ``data:`` URIs (RFC 2397) and its styles inline, and
loads nothing from anywhere, so it opens offline and can be filed as one document. Both
files are owner-only (0600) and published atomically (:func:`write_report`).
"""
from __future__ import annotations

import base64
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from .analyze import Analysis
from .figures import FIGURES
from ..physio.quality import MIN_GOOD_PCT
from ..physio.rr import describe_level
from .replay import rr_correction_of
from ..record.private import Staging, check_name, private_dir

_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.8em; margin: 0.5em 0; }
.scroll { overflow-x: auto; }
td, th { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 0.6em 0; }
.note { color: #666; font-size: 0.85em; }
"""


@dataclass(frozen=True)
class ReportFiles:
    """The files :func:`write_report` wrote: ``table`` (per-phase CSV) and ``html``."""

    table: Path
    html: Path


def _table(frame: pd.DataFrame, digits: int = 2) -> str:
    if frame.empty:
        return '<p class="note">none</p>'
    return '<div class="scroll">' + frame.to_html(index=False, float_format=lambda x: f"{x:.{digits}f}",
                                                  na_rep="-", border=0, escape=True) + "</div>"


def _pairs(rows: list[tuple[str, object]]) -> str:
    return _table(pd.DataFrame([(k, "-" if v in (None, "") else str(v)) for k, v in rows],
                               columns=["field", "value"]))


def _metadata(a: Analysis) -> str:
    m = a.recording.meta
    protocol = m.get("protocol") or {}
    devices = ", ".join(d.get("id", "?") for d in m.get("devices", []))
    return _pairs([("file", a.recording.path.name), ("session id", m.get("session_id")),
                   ("participant", m.get("participant")), ("start (UTC)", m.get("start_utc")),
                   *([("start (local)", m["start_local"])] if m.get("start_local") else []),
                   ("duration (s)", m.get("duration_s")), ("ended by", m.get("ended_by")),
                   ("protocol", protocol.get("name")), ("devices", devices or None),
                   ("imported from", m.get("imported_from")),
                   ("streams", ", ".join(f"{n} ({s.kind}, {s.rate:g} Hz)" for n, s in
                                         a.recording.streams.items() if not s.derived))])


def _timeline(a: Analysis) -> str:
    ev = a.recording.events
    shown = ev[ev.kind != "annotation"]
    table = pd.DataFrame({"onset (s)": shown.onset, "duration (s)": shown.duration,
                          "kind": shown.kind, "label": shown.label,
                          "text": [p.get("text", "") if isinstance(p, dict) else "" for p in shown.payload]})
    hidden = len(ev) - len(shown)
    note = f'<p class="note">{hidden} annotations (beat labels, ...) not listed.</p>' if hidden else ""
    return _table(table, 1) + note


def _figures(a: Analysis) -> str:
    parts = []
    for title, draw in FIGURES:
        png = draw(a)
        if png is not None:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f'<h3>{html.escape(title)}</h3><img alt="{html.escape(title)}" '
                         f'src="data:image/png;base64,{data}">')
    return "\n".join(parts) or '<p class="note">no figures: no heart or skin signal</p>'


#: Columns of the phase table computed from the heart beats: flagged on poor data.
_HEART_COLUMNS = ("hr_bpm", "rmssd_ms", "sdnn_ms", "lf_hf")


def _marked(frame: pd.DataFrame, columns: list[str], poor: np.ndarray) -> pd.DataFrame:
    """``frame`` with the finite values of ``columns`` in the ``poor`` rows shown as ``x.xx !``."""
    shown = frame.copy()
    for col in columns:
        shown[col] = [f"{v:.2f} !" if bad and np.isfinite(v) else v
                      for v, bad in zip(shown[col], poor)]
    return shown


def _poor_note() -> str:
    return (f'<p class="note">! poor data: fewer than {MIN_GOOD_PCT:.0f} % of the heart '
            "signal's 10 s segments in the phase (or in the baseline it is compared with) were "
            "rated good (heart_good_pct), so its HR and HRV may rest on missed or false "
            "beats.</p>")


def _phase_summary(a: Analysis) -> str:
    """The phase table, its heart-beat measures marked ``!`` where the heart signal was poor."""
    poor = a.phases["hrv_poor_data"].to_numpy(dtype=bool)
    return (_table(_marked(a.phases, list(_HEART_COLUMNS), poor))
            + (_poor_note() if poor.any() else ""))


def _reactivity(a: Analysis) -> str:
    """Reactivity, its heart-beat changes marked where the phase or the baseline was poor."""
    if a.reactivity.empty:
        return _table(a.reactivity)
    poor = a.phases["hrv_poor_data"].to_numpy(dtype=bool)
    baseline = (a.phases.kind == "baseline").to_numpy()
    poor = poor | poor[baseline][0]
    shown = _marked(a.reactivity, [f"d_{c}" for c in _HEART_COLUMNS], poor)
    return _table(shown) + (_poor_note() if poor.any() else "")


def _quality_by_phase(a: Analysis) -> str:
    """Share of good segments per sensor and phase (the quality columns of the phase table)."""
    table = pd.DataFrame({
        "phase": a.phases.phase, "heart signal good (%)": a.phases.heart_good_pct,
        "EDA good (%)": a.phases.eda_good_pct,
        "HR/HRV on poor data": ["yes" if p else "no" for p in a.phases.hrv_poor_data]})
    return "<h3>Signal quality per phase</h3>" + _table(table, 0)


def _quality_note() -> str:
    return ('<p class="note">Signal quality: 10 s segments every 5 s. ECG: heart rate '
            "40-180 bpm, no interval over 3 s, beat-to-template correlation >= 0.66 "
            "(Orphanidou et al. 2015), no stuck signal for 1 s. PPG: the same with correlation "
            ">= 0.86, and positive skewness (Elgendi 2016). EDA: 0.05-60 uS, under 10 uS/s, "
            "and 5 s from invalid data (Kleckner et al. 2018).</p>")


def _resonance(a: Analysis) -> str:
    """The resonance assessment: criteria per paced rate and the chosen rate, when present."""
    if a.resonance is None:
        return ""
    end = {"faster": "fastest", "slower": "slowest", None: ""}[a.resonance.extend]
    extend = (f" It is the {end} rate tested: extend the range {a.resonance.extend} in a later "
              "session." if end else "")
    return ("<h2>Resonance assessment</h2>"
            f"<p>Chosen rate: <b>{a.resonance.rate_bpm:g} breaths/min</b> (lowest sum of criterion "
            f"ranks).{html.escape(extend)}</p>" + _table(a.resonance.table))


def render_html(a: Analysis) -> str:
    """The report as one self-contained HTML document."""
    title = f"biofeed report: {a.recording.path.name}"
    body = [f"<h1>{html.escape(title)}</h1>",
            f'<p class="note">biofeed {__version__}: the recording was re-analysed with the same '
            "signal processing as live.</p>",
            "<h2>Session</h2>", _metadata(a),
            "<h2>Protocol timeline</h2>", _timeline(a),
            "<h2>Figures</h2>", _figures(a),
            "<h2>Per-phase summary</h2>", _phase_summary(a),
            "<h2>Reactivity and recovery</h2>",
            '<p class="note">Each measure in each phase minus the baseline phase; half-recovery: '
            "seconds after the stressor until the arousal index is halfway back to baseline.</p>",
            _reactivity(a),
            "<h2>Event-related responses</h2>",
            '<p class="note">HR: mean change 0-10 s after onset; SCR: largest skin-conductance '
            "rise 1-5 s after onset; both from the mean of the 5 s before onset.</p>",
            _table(a.responses),
            "<h2>Artifacts and signal quality</h2>", _table(a.artifacts),
            f'<p class="note">RR artifact correction, '
            f'{html.escape(describe_level(rr_correction_of(a.recording)))}</p>', _quality_note(),
            _quality_by_phase(a),
            _resonance(a)]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


#: What to do when a report file exists already (ends the ``FileExistsError``).
IF_EXISTS = "an earlier report? Write to another folder (--out) or remove it"


def default_stem(a: Analysis) -> str:
    """The recording's file stem as a file-name part (``..`` runs and leading dots dropped)."""
    return re.sub(r"\.{2,}", ".", a.recording.path.stem).lstrip(".") or "recording"


def write_report(a: Analysis, out_dir: str | os.PathLike, stem: str | None = None) -> ReportFiles:
    """Write ``<stem>_phases.csv`` and ``<stem>_report.html`` into ``out_dir`` (created 0700
    when missing); ``stem`` defaults to the recording's file stem (:func:`default_stem`).

    Both files are 0600, never over existing ones or through a symbolic link, and appear
    together only when both are complete (:class:`~biofeed.record.private.Staging`): a killed
    run leaves neither under its name (only hidden ``.part`` temporaries, removed by the next
    report of that name), and a rerun works. A stem with a path separator or ``..`` is refused.
    """
    out = Path(out_dir)
    stem = check_name(stem, out) if stem is not None else default_stem(a)
    page_text = render_html(a)        # the slow part, before any file is created
    private_dir(out)
    table, page = out / f"{stem}_phases.csv", out / f"{stem}_report.html"
    with Staging(IF_EXISTS) as stage:
        with stage.open(table) as f:
            a.phases.to_csv(f, index=False)
        with stage.open(page) as f:
            f.write(page_text)
    return ReportFiles(table, page)
