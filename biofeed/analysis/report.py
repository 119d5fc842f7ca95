"""The session report a clinician files: the per-phase table as CSV, an HTML page and a PDF.

The HTML page embeds its figures as SVG ``data:`` URIs (RFC 2397; vector, full width) and
its styles inline, and loads nothing from anywhere, so it opens offline and can be filed as
one document. The PDF (A4, drawn by matplotlib, no browser) holds the same content: a first
page with who, when and which protocol, the disclaimer and the key numbers per phase with
reactivity and recovery, then the figures, then the full tables and the methods. Tables show
human headers with units (:mod:`biofeed.analysis.columns`), counts as integers, text
left-aligned, and every dash (a value that does not exist) marked with a footnote saying why
(:mod:`biofeed.analysis.tables`). All files are owner-only (0600) and published atomically,
never over an existing file (:func:`write_report`).
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
from ..physio.rr import describe_level
from ..record.private import Staging, check_name, private_dir
from .analyze import Analysis
from .figures import FIGURES, figure, svg
from .pdf import PdfReport
from .replay import rr_correction_of
from .tables import Table, artifacts_table, key_numbers, settings_rows

#: The pages' style sheet (also the progress report's).
PAGE_STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 64em; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #bbb; margin-top: 1.8em; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.3em; }
table { border-collapse: collapse; font-size: 0.92em; margin: 0.5em 0; }
.scroll { overflow-x: auto; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 0.8em 0 1.6em; }
figure img { width: 100%; height: auto; display: block; }
figcaption, .note { color: #555; font-size: 0.9em; }
ol.notes { color: #555; font-size: 0.88em; margin-top: 0.2em; }
.disclaimer { border: 1px solid #c9a227; background: #fff8e1; padding: 0.6em 0.9em; }
"""

#: Shown on the first page of both documents.
DISCLAIMER = ("This report describes physiological measurements made during one session. It is "
              "not a diagnosis and not a medical device output: the numbers depend on the "
              "sensors, the signal quality and the protocol, and are to be interpreted by a "
              "qualified clinician together with the person's history.")


@dataclass(frozen=True)
class ReportFiles:
    """The files :func:`write_report` wrote: ``table`` (per-phase CSV), ``html`` and ``pdf``
    (None when left out)."""

    table: Path
    html: Path
    pdf: Path | None


#: Tables of at most this many phases are shown with a column per phase (measures as rows).
TRANSPOSE_PHASES = 8


def html_table(t: Table, transpose: bool = False) -> str:
    """A :class:`~biofeed.analysis.tables.Table` as HTML: numbers right-aligned (class
    ``num``), text left-aligned, its footnotes as a numbered list under it; ``transpose``:
    a column per row of ``t``."""
    t = t.transposed() if transpose and t.rows else t
    if not t.rows:
        return '<p class="note">none</p>'
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.headers)
    body = []
    for row in t.rows:
        cells = [f"<th>{html.escape(row[0])}</th>"] if transpose else []
        for cell, numeric in list(zip(row, t.numeric))[1 if transpose else 0:]:
            cls = ' class="num"' if numeric else ""
            cells.append(f"<td{cls}>{html.escape(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in t.notes)
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table></div>"
            + (f'<ol class="notes">{notes}</ol>' if notes else ""))


def _p(text: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{html.escape(text)}</p>'


def _when(iso: object) -> str | None:
    """An ISO 8601 time as ``YYYY-MM-DD HH:MM:SS`` (as given when it does not parse)."""
    if not iso:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(iso)).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return str(iso)


def session_rows(a: Analysis) -> list[tuple[str, str]]:
    """Who, when and which protocol: ``(field, value)`` rows (no value: "not recorded")."""
    m = a.recording.meta
    protocol = m.get("protocol") or {}
    devices = ", ".join(d.get("id", "?") for d in m.get("devices", []))
    duration = m.get("duration_s")
    rows = [("Participant", m.get("participant")), ("Session", m.get("session_id")),
            ("Start (UTC)", _when(m.get("start_utc"))),
            *([("Start (local time)", m["start_local"])] if m.get("start_local") else []),
            ("Duration", f"{float(duration):.0f} s ({float(duration) / 60:.1f} min)"
             if duration is not None else None),
            ("Ended by", m.get("ended_by")), ("Protocol", protocol.get("name")),
            ("Protocol description", protocol.get("description")),
            ("Devices", devices or None), ("Imported from", m.get("imported_from")),
            ("File", a.recording.path.name),
            ("Streams", ", ".join(f"{n} ({s.kind}, {s.rate:g} Hz)" if s.rate else f"{n} ({s.kind})"
                                  for n, s in a.recording.streams.items() if not s.derived))]
    return [(k, "not recorded" if v in (None, "") else str(v)) for k, v in rows]


def _session_table(a: Analysis) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                   for k, v in session_rows(a))
    return f'<div class="scroll"><table>{rows}</table></div>'


def arousal_note(a: Analysis) -> str | None:
    """Why the baseline's arousal is not 0, when it is not (None when it is, or absent)."""
    base = a.phases[a.phases.kind == "baseline"]
    if base.empty or not np.isfinite(base.arousal.iloc[0]):
        return None
    value = float(base.arousal.iloc[0])
    if abs(value) < 0.005:
        return None
    return (f"The arousal index of the baseline is {value:+.2f} SD, not 0: the participant's own "
            "baseline is measured over that phase and only known at its end, so during the "
            "baseline the index compares HR, SCL, SCR rate and RMSSD with population norms "
            "(Nunan et al. 2010; Boucsein 2012). It says how far this resting state was from "
            "the norms; from the end of the baseline on, the index is relative to the "
            "participant's own baseline (0 = as at rest).")


def _timeline(a: Analysis) -> Table:
    ev = a.recording.events
    shown = ev[ev.kind != "annotation"]
    frame = pd.DataFrame({"onset_s": shown.onset.to_numpy(), "duration_s": shown.duration.to_numpy(),
                          "kind": shown.kind.to_numpy(), "label": shown.label.to_numpy(),
                          "text": [p.get("text", "") if isinstance(p, dict) else ""
                                   for p in shown.payload]})
    t = Table.of(frame, {"onset_s": ".1f", "duration_s": ".1f"})
    hidden = len(ev) - len(shown)
    if hidden:
        t.notes.append(f"{hidden} annotations (beat labels, ...) are not listed.")
    return t


def _correction_text(a: Analysis) -> str:
    return f"RR artifact correction, {describe_level(rr_correction_of(a.recording))}"


QUALITY_NOTE = ("Signal quality: 10 s segments every 5 s. ECG: heart rate 40-180 bpm, no interval "
                "over 3 s, beat-to-template correlation >= 0.66 (Orphanidou et al. 2015), no "
                "stuck signal for 1 s. PPG: the same with correlation >= 0.86, and positive "
                "skewness (Elgendi 2016). EDA: 0.05-60 µS, under 10 µS/s, and 5 s from invalid "
                "data (Kleckner et al. 2018).")
REACTIVITY_NOTE = ("Each measure in each phase minus the baseline phase (Δ, same unit); "
                   "half-recovery: seconds after the end of the stressor until the arousal index "
                   "is halfway back to the baseline (Laborde et al. 2017).")
RESPONSES_NOTE = ("HR: mean change 0-10 s after onset; SCR: largest skin-conductance rise 1-5 s "
                  "after onset (Boucsein 2012); both from the mean of the 5 s before onset.")


def _resonance_text(a: Analysis) -> str | None:
    if a.resonance is None:
        return None
    end = {"faster": "fastest", "slower": "slowest", None: ""}[a.resonance.extend]
    extend = (f" It is the {end} rate tested: extend the range {a.resonance.extend} in a later "
              "session." if end else "")
    return (f"Chosen rate: {a.resonance.rate_bpm:g} breaths/min (lowest sum of criterion "
            f"ranks).{extend}")


@dataclass
class Sections:
    """Everything both documents show, computed once."""

    key: Table
    phases: Table
    reactivity: Table | None
    responses: Table
    artifacts: Table
    settings: list[tuple[str, str]]
    quality: Table
    timeline: Table
    resonance: Table | None
    figures: list[tuple[object, object]]     # (FigureSpec, Figure)
    left_out: str | None = None               # which figures are not drawn, and why


def sections(a: Analysis) -> Sections:
    """The tables and figures of the report of ``a``."""
    from .tables import phase_table_view, quality_table, reactivity_view, responses_view

    figs = [(spec, fig) for spec in FIGURES if (fig := figure(spec, a)) is not None]
    drawn = {spec.title for spec, _ in figs}
    missing = [f"{spec.title} (needs {spec.needs})" for spec in FIGURES if spec.title not in drawn]
    return Sections(
        key=key_numbers(a), phases=phase_table_view(a), reactivity=reactivity_view(a),
        responses=responses_view(a), artifacts=artifacts_table(a), settings=settings_rows(a),
        quality=quality_table(a), timeline=_timeline(a),
        resonance=None if a.resonance is None else Table.of(a.resonance.table, {"rate_bpm": "g"}),
        figures=figs,
        left_out="Not drawn, for lack of data: " + "; ".join(missing) + "." if missing else None)


def figure_html(spec, fig) -> str:
    """A figure as an HTML ``<figure>``: its title, the SVG as a ``data:`` URI, its caption."""
    data = base64.b64encode(svg(fig).encode("utf-8")).decode("ascii")
    title = html.escape(spec.title)
    return (f'<figure><h3>{title}</h3><img alt="{title}" src="data:image/svg+xml;base64,{data}">'
            f"<figcaption>{html.escape(spec.caption)}</figcaption></figure>")


def render_html(a: Analysis, s: Sections | None = None) -> str:
    """The report as one self-contained HTML document."""
    s = s or sections(a)
    who = a.recording.meta.get("participant") or "participant not recorded"
    title = f"Session report: {who}, {a.recording.path.name}"
    settings = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in s.settings)
    note = arousal_note(a)
    body = [f"<h1>{html.escape(title)}</h1>",
            _p(f"biofeed {__version__}: the recording was re-analysed with the same signal "
               "processing as live."),
            _p(DISCLAIMER, "disclaimer"),
            "<h2>Session</h2>", _session_table(a),
            "<h2>Key numbers per phase</h2>", html_table(s.key),
            *([_p(note)] if note else []),
            "<h2>Figures</h2>",
            "\n".join(figure_html(spec, fig) for spec, fig in s.figures)
            or _p("no figures: no heart or skin signal"),
            *([_p(s.left_out)] if s.left_out else []),
            "<h2>Per-phase summary</h2>",
            html_table(s.phases, len(s.phases.rows) <= TRANSPOSE_PHASES),
            "<h2>Reactivity and recovery</h2>", _p(REACTIVITY_NOTE),
            html_table(s.reactivity, len(s.reactivity.rows) <= TRANSPOSE_PHASES)
            if s.reactivity is not None
            else _p("no baseline phase: no reactivity"),
            "<h2>Event-related responses</h2>", _p(RESPONSES_NOTE), html_table(s.responses),
            "<h2>Artifacts and signal quality</h2>", html_table(s.artifacts),
            "<h3>Artifact correction: method and settings</h3>",
            _p(_correction_text(a)), f'<div class="scroll"><table>{settings}</table></div>',
            "<h3>Signal quality per phase</h3>", html_table(s.quality), _p(QUALITY_NOTE),
            *(["<h2>Resonance assessment</h2>", _p(_resonance_text(a), "plain"),
               html_table(s.resonance)] if s.resonance is not None else []),
            "<h2>Protocol timeline</h2>", html_table(s.timeline),
            "<h2>About this report</h2>", _p(DISCLAIMER)]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def render_pdf(a: Analysis, f, s: Sections | None = None) -> None:
    """The report as an A4 PDF written to the binary file ``f`` (matplotlib's PDF backend)."""
    s = s or sections(a)
    who = a.recording.meta.get("participant") or "participant not recorded"
    with PdfReport(f, title=f"Session report: {who}") as doc:
        doc.heading(f"Session report: {who}", size=16)
        doc.paragraph(f"biofeed {__version__}, {a.recording.path.name}", colour="0.4")
        doc.paragraph(DISCLAIMER, box=True)
        doc.pairs(session_rows(a))
        doc.heading("Key numbers per phase")
        doc.table(s.key, transpose=len(s.key.rows) <= TRANSPOSE_PHASES)
        note = arousal_note(a)
        if note:
            doc.paragraph(note)
        doc.new_page()
        for spec, _ in s.figures:           # the same figures, drawn again for the page
            doc.figure(spec, a)
        doc.new_page()
        if s.left_out:
            doc.paragraph(s.left_out)
        doc.heading("Per-phase summary")
        doc.table(s.phases, transpose=True)
        if s.reactivity is not None:
            doc.heading("Reactivity and recovery")
            doc.paragraph(REACTIVITY_NOTE)
            doc.table(s.reactivity, transpose=True)
        doc.heading("Event-related responses")
        doc.paragraph(RESPONSES_NOTE)
        doc.table(s.responses)
        doc.heading("Artifacts and signal quality")
        doc.table(s.artifacts)
        doc.heading("Artifact correction: method and settings", size=11)
        doc.paragraph(_correction_text(a))
        doc.pairs(s.settings)
        doc.heading("Signal quality per phase", size=11)
        doc.table(s.quality)
        doc.paragraph(QUALITY_NOTE)
        if s.resonance is not None:
            doc.heading("Resonance assessment")
            doc.paragraph(_resonance_text(a))
            doc.table(s.resonance)
        doc.heading("Protocol timeline")
        doc.table(s.timeline)


#: What to do when a report file exists already (ends the ``FileExistsError``).
IF_EXISTS = "an earlier report? Write to another folder (--out) or remove it"


def default_stem(a: Analysis) -> str:
    """The recording's file stem as a file-name part (``..`` runs and leading dots dropped)."""
    return re.sub(r"\.{2,}", ".", a.recording.path.stem).lstrip(".") or "recording"


def write_report(a: Analysis, out_dir: str | os.PathLike, stem: str | None = None,
                 pdf: bool = True) -> ReportFiles:
    """Write ``<stem>_phases.csv``, ``<stem>_report.html`` and ``<stem>_report.pdf`` into
    ``out_dir`` (created 0700 when missing); ``stem`` defaults to the recording's file stem
    (:func:`default_stem`). ``pdf=False`` leaves the PDF out (its drawing is most of the
    time; ``ReportFiles.pdf`` is then None).

    The files are 0600, never over existing ones or through a symbolic link, and appear
    together only when all are complete (:class:`~biofeed.record.private.Staging`): a killed
    run leaves none under its name (only hidden ``.part`` temporaries, removed by the next
    report of that name), and a rerun works. A stem with a path separator or ``..`` is refused.
    """
    out = Path(out_dir)
    stem = check_name(stem, out) if stem is not None else default_stem(a)
    content = sections(a)
    page_text = render_html(a, content)        # the slow parts, before any file is created
    private_dir(out)
    table, page = out / f"{stem}_phases.csv", out / f"{stem}_report.html"
    document = out / f"{stem}_report.pdf" if pdf else None
    with Staging(IF_EXISTS) as stage:
        with stage.open(table) as f:
            a.phases.to_csv(f, index=False)
        with stage.open(page) as f:
            f.write(page_text)
        if document is not None:
            with stage.open(document, binary=True) as f:
                render_pdf(a, f, content)
    return ReportFiles(table, page, document)
