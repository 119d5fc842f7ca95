"""Progress over a participant's sessions: the trend report a clinician reviews at session 10.

:func:`find_sessions` finds the session files of one participant in a folder (recursively)
by the ``participant`` stored in each file's metadata, never by the file name, and orders them
by their start time. :func:`progress` summarises each in one row (:data:`COLUMNS`):

* ``date`` (local start when recorded, else UTC), ``protocol``, ``session_id``, ``file``;
* ``baseline_hr_bpm`` and ``baseline_rmssd_ms``: the first ``baseline`` phase
  (:func:`biofeed.analysis.phases.phase_table`);
* ``paced_rmssd_ms`` and ``paced_coherence``: RMSSD and the coherence ratio (McCraty et al.
  2009) over the paced phases (``paced_breathing`` and resonance ``assessment`` phases),
  each phase weighted by its duration: HRV during paced breathing (Lehrer & Gevirtz 2014);
* ``resonance_rate_bpm``: the resonance frequency (breaths/min) when the session assessed it
  (:func:`biofeed.analysis.resonance.resonance`; Lehrer et al. 2000);
* ``peak_suds``: the highest SUDS rating given (Wolpe 1969);
* ``reactivity_hr_bpm`` and ``reactivity_scl_us``: the largest stressor-phase change from
  the baseline in HR and SCL (Laborde et al. 2017); ``half_recovery_s``: the first recovery
  phase's half-recovery time of the arousal index.

:func:`write_progress` writes the table as CSV and a trend report as HTML and PDF (a figure
per measure over the sessions), all 0600 and never over existing files.
"""
from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..record.private import Staging, check_name, private_dir
from ..record.reader import Recording, SessionFileError
from .figures import FigureSpec, figure
from .pdf import PdfReport
from .phases import phase_table
from .tables import Table

#: Session files looked at (hidden files, such as unfinished ``.part`` outputs, are not).
SESSION_SUFFIX = ".biofeed"
#: Phase kinds whose breathing is paced.
PACED_KINDS = ("paced_breathing", "assessment")
#: The table's columns, in order.
COLUMNS = ("session", "date", "protocol", "baseline_hr_bpm", "baseline_rmssd_ms",
           "paced_rmssd_ms", "paced_coherence", "resonance_rate_bpm", "peak_suds",
           "reactivity_hr_bpm", "reactivity_scl_us", "half_recovery_s", "session_id", "file")
#: Headers of the progress columns (with their units); the other columns go by
#: :func:`biofeed.analysis.columns.header`.
HEADERS = {"session": "Session", "date": "Date", "protocol": "Protocol",
           "baseline_hr_bpm": "Baseline HR (bpm)", "baseline_rmssd_ms": "Baseline RMSSD (ms)",
           "paced_rmssd_ms": "Paced RMSSD (ms)", "paced_coherence": "Paced coherence",
           "resonance_rate_bpm": "Resonance rate (breaths/min)", "peak_suds": "Peak SUDS",
           "reactivity_hr_bpm": "Stressor Δ HR (bpm)", "reactivity_scl_us": "Stressor Δ SCL (µS)",
           "half_recovery_s": "Half-recovery (s)", "session_id": "Session id", "file": "File"}
FORMATS = {"baseline_hr_bpm": ".1f", "baseline_rmssd_ms": ".1f", "paced_rmssd_ms": ".1f",
           "paced_coherence": ".2f", "resonance_rate_bpm": "g", "peak_suds": "g",
           "reactivity_hr_bpm": "+.1f", "reactivity_scl_us": "+.2f", "half_recovery_s": ".0f"}
#: Why a session has no value in a column.
REASONS = {
    "baseline_hr_bpm": "no baseline phase with heart beats in this session.",
    "baseline_rmssd_ms": "no baseline phase with heart beats in this session.",
    "paced_rmssd_ms": "no paced-breathing phase with heart beats in this session.",
    "paced_coherence": "no paced-breathing phase with a coherence value (it needs 64 s of beats).",
    "resonance_rate_bpm": "the resonance frequency was not assessed in this session.",
    "peak_suds": "no SUDS rating was given in this session.",
    "reactivity_hr_bpm": "no stressor phase, or no baseline to compare it with.",
    "reactivity_scl_us": "no stressor phase with skin conductance, or no baseline.",
    "half_recovery_s": "no recovery phase after a stressor, or the arousal index did not come "
                       "halfway back to the baseline in it.",
}
DISCLAIMER = ("This report follows physiological measurements over sessions. It is not a "
              "diagnosis: changes between sessions also depend on the sensors, the time of day, "
              "the protocol and signal quality, and are to be interpreted by a qualified clinician.")


@dataclass
class Progress:
    """One participant's sessions: ``table`` (a row per session, :data:`COLUMNS`), the
    session files in order, and the files that could not be read (path -> reason)."""

    participant: str
    table: pd.DataFrame
    sessions: list[Path]
    skipped: dict[Path, str] = field(default_factory=dict)


def _start(rec: Recording) -> str:
    """The session's start as ``YYYY-MM-DD HH:MM`` (local time when recorded, else UTC)."""
    from datetime import datetime

    local, utc = rec.meta.get("start_local"), rec.meta.get("start_utc")
    try:
        if local:
            return datetime.fromisoformat(str(local)).strftime("%Y-%m-%d %H:%M")
        if utc:
            return datetime.fromisoformat(str(utc)).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return str(local or utc)
    return ""


def find_sessions(participant: str, folder: str | os.PathLike,
                  skipped: dict[Path, str] | None = None) -> list[Recording]:
    """The sessions under ``folder`` whose metadata name ``participant``, opened, oldest
    first (by the recorded start time). Files that do not open are added to ``skipped``."""
    found = []
    for path in sorted(Path(folder).rglob(f"*{SESSION_SUFFIX}")):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            rec = Recording(path)
        except (SessionFileError, OSError) as exc:
            if skipped is not None:
                skipped[path] = str(exc)
            continue
        if rec.meta.get("participant") == participant:
            found.append((str(rec.meta.get("start_utc") or ""), path, rec))
    return [rec for *_, rec in sorted(found, key=lambda f: f[:2])]


def _weighted(values: pd.Series, weights: pd.Series) -> float:
    ok = np.isfinite(values.to_numpy(float)) & (weights.to_numpy(float) > 0)
    if not ok.any():
        return np.nan
    return float(np.average(values.to_numpy(float)[ok], weights=weights.to_numpy(float)[ok]))


def _peak_suds(rec: Recording) -> float:
    ev = rec.events
    values = [float(p["value"]) for p in ev[ev.kind == "rating"].payload
              if str(p.get("scale", "")).upper() == "SUDS" and p.get("value") is not None]
    return max(values) if values else np.nan


def _resonance_rate(rec: Recording) -> float:
    from .resonance import resonance

    try:
        return float(resonance(rec).rate_bpm)
    except ValueError:         # no paced assessment phases (or no beats)
        return np.nan


def session_row(rec: Recording) -> dict:
    """The progress measures of one recording (module notes)."""
    phases = phase_table(rec)
    ev = rec.events[rec.events.kind == "phase"]
    stressor = np.array([bool(p.get("stressor", False)) for p in ev.payload], dtype=bool)
    base = phases[phases.kind == "baseline"]
    paced = phases[phases.kind.isin(PACED_KINDS)]
    row = {"date": _start(rec), "protocol": (rec.meta.get("protocol") or {}).get("name", ""),
           "baseline_hr_bpm": np.nan, "baseline_rmssd_ms": np.nan,
           "paced_rmssd_ms": _weighted(paced.rmssd_ms, paced.duration_s),
           "paced_coherence": _weighted(paced.coherence, paced.duration_s),
           "resonance_rate_bpm": _resonance_rate(rec), "peak_suds": _peak_suds(rec),
           "reactivity_hr_bpm": np.nan, "reactivity_scl_us": np.nan, "half_recovery_s": np.nan,
           "session_id": str(rec.meta.get("session_id", "")), "file": rec.path.name}
    if not base.empty:
        b = base.iloc[0]
        row |= {"baseline_hr_bpm": b.hr_bpm, "baseline_rmssd_ms": b.rmssd_ms}
        stress = phases[stressor[:len(phases)]] if len(stressor) >= len(phases) else phases.iloc[:0]
        for col, measure in (("reactivity_hr_bpm", "hr_bpm"), ("reactivity_scl_us", "scl_us")):
            change = (stress[measure] - b[measure]).to_numpy(float)
            if np.isfinite(change).any():
                row[col] = float(np.nanmax(change))
    recovery = phases[(phases.kind == "recovery") & np.isfinite(phases.half_recovery_s)]
    if not recovery.empty:
        row["half_recovery_s"] = float(recovery.half_recovery_s.iloc[0])
    return row


def progress(participant: str, folder: str | os.PathLike) -> Progress:
    """The progress table of ``participant`` over the session files under ``folder``;
    ``ValueError`` when there is none."""
    skipped: dict[Path, str] = {}
    recs = find_sessions(participant, folder, skipped)
    if not recs:
        raise ValueError(f"{folder}: no session file of participant {participant!r} "
                         f"(looked at the participant stored in every *{SESSION_SUFFIX} file)")
    rows = []
    for i, rec in enumerate(recs, 1):
        rows.append({"session": i, **session_row(rec)})
    return Progress(participant, pd.DataFrame(rows, columns=list(COLUMNS)),
                    [rec.path for rec in recs], skipped)


# -- the report ------------------------------------------------------------------------------


def view(p: Progress, columns: tuple[str, ...] = COLUMNS[:-2]) -> Table:
    """The table as text: human headers, dashes with their reasons as footnotes."""
    frame = p.table[list(columns)]
    t = Table.of(frame, FORMATS, reason=lambda col, row: REASONS.get(col, "not available."))
    t.headers = [HEADERS.get(c, h) for c, h in zip(columns, t.headers)]
    return t


#: The measures plotted over sessions: (column, axis label), per figure.
TRENDS = (("Heart rate variability", (("baseline_hr_bpm", "baseline HR (bpm)"),
                                      ("baseline_rmssd_ms", "baseline RMSSD (ms)"),
                                      ("paced_rmssd_ms", "paced RMSSD (ms)"),
                                      ("paced_coherence", "paced coherence"),
                                      ("resonance_rate_bpm", "resonance (breaths/min)"))),
          ("Stress response", (("peak_suds", "peak SUDS"),
                               ("reactivity_hr_bpm", "stressor Δ HR (bpm)"),
                               ("reactivity_scl_us", "stressor Δ SCL (µS)"),
                               ("half_recovery_s", "half-recovery (s)"))))


#: Trend panels per row.
TREND_COLUMNS = 3


def _trend_drawer(measures):
    def draw(p: Progress, fig) -> bool:
        table = p.table
        rows = -(-len(measures) // TREND_COLUMNS)
        grid = fig.subplots(rows, TREND_COLUMNS, squeeze=False)
        axes = grid.ravel()[:len(measures)]
        for ax in grid.ravel()[len(measures):]:
            ax.axis("off")
        x = table.session.to_numpy()
        ticks = [f"{n}\n{str(d)[5:10]}" for n, d in zip(x, table.date)]
        for ax, (col, label) in zip(axes, measures):
            y = table[col].to_numpy(float)
            ax.plot(x, y, "o-", ms=6, lw=1.4, color="tab:blue")
            ax.set_xticks(x, ticks, fontsize=8)
            ax.set_xlim(x.min() - 0.5, x.max() + 0.5)
            ax.set_title(label, fontsize=10)
            if not np.isfinite(y).any():
                ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center",
                        color="0.4")
                ax.set_yticks([])
        grid[-1, 0].set_xlabel("session (number, month-day)", fontsize=9, loc="left")
        return True
    return draw


def trend_figures() -> tuple[FigureSpec, ...]:
    """The trend figures: a panel per measure of :data:`TRENDS`, sessions on the x axis."""
    return tuple(FigureSpec(title, 2.7 * -(-len(measures) // TREND_COLUMNS), _trend_drawer(measures),
                            "One point per session, in the order recorded; a gap: not measured.")
                 for title, measures in TRENDS)


def render_html(p: Progress, figs) -> str:
    """The trend report as one self-contained HTML document."""
    from .report import PAGE_STYLE, figure_html, html_table

    title = f"Progress report: {p.participant}"
    parts = [figure_html(spec, fig) for spec, fig in figs]
    files = view(p, ("session", "date", "file", "session_id"))
    body = [f"<h1>{html.escape(title)}</h1>",
            f'<p class="note">biofeed {__version__}: {len(p.sessions)} session(s) found by the '
            "participant stored in each session file.</p>",
            f'<p class="disclaimer">{html.escape(DISCLAIMER)}</p>',
            "<h2>Sessions</h2>", html_table(view(p)),
            "<h2>Trends</h2>", "\n".join(parts),
            "<h2>Session files</h2>", html_table(files)]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def render_pdf(p: Progress, f) -> None:
    """The trend report as an A4 PDF written to the binary file ``f``."""
    with PdfReport(f, title=f"Progress report: {p.participant}") as doc:
        doc.heading(f"Progress report: {p.participant}", size=16)
        doc.paragraph(f"biofeed {__version__}: {len(p.sessions)} session(s)", colour="0.4")
        doc.paragraph(DISCLAIMER, box=True)
        doc.heading("Sessions")
        t = view(p)
        doc.table(t, transpose=len(t.rows) <= 6)
        for spec in trend_figures():
            doc.figure(spec, p)
        doc.heading("Session files")
        doc.table(view(p, ("session", "date", "file", "session_id")))


@dataclass(frozen=True)
class ProgressFiles:
    """What :func:`write_progress` wrote."""

    table: Path
    html: Path
    pdf: Path


IF_EXISTS = "an earlier progress report? Write to another folder (--out) or remove it"


def write_progress(p: Progress, out_dir: str | os.PathLike, stem: str | None = None) -> ProgressFiles:
    """Write ``<stem>.csv``, ``<stem>.html`` and ``<stem>.pdf`` (default stem
    ``<participant>_progress``) into ``out_dir``: 0600, never over existing files, published
    together when all are complete (:class:`~biofeed.record.private.Staging`)."""
    out = Path(out_dir)
    stem = check_name(stem or f"{p.participant}_progress", out)
    figs = [(spec, fig) for spec in trend_figures() if (fig := figure(spec, p)) is not None]
    page = render_html(p, figs)
    private_dir(out)
    files = ProgressFiles(out / f"{stem}.csv", out / f"{stem}.html", out / f"{stem}.pdf")
    with Staging(IF_EXISTS) as stage:
        with stage.open(files.table) as f:
            p.table.to_csv(f, index=False)
        with stage.open(files.html) as f:
            f.write(page)
        with stage.open(files.pdf, binary=True) as f:
            render_pdf(p, f)
    return files
