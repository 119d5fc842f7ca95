"""The report's figures, drawn with matplotlib (object API, no display, no pyplot state).

Each figure is a :class:`FigureSpec`: a title, a height (inches, at :data:`WIDTH_IN` wide)
and a function ``draw(analysis, fig) -> bool`` that draws into ``fig`` (a matplotlib
``Figure`` or ``SubFigure``) and returns False when the recording lacks what the figure shows.
:func:`svg` gives one figure as an SVG document (vector, for the HTML page); the PDF report
draws the same functions into sub-figures of its A4 pages (:mod:`biofeed.analysis.report`).
Text sizes are set by :data:`STYLE` (10 pt at a 10 in width: readable at 100 % zoom when the
figure fills the page's width).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

import matplotlib
from matplotlib.figure import Figure
import numpy as np

from ..physio.hrv import BANDS
from ..physio.spectrum import RESAMPLE_HZ, resample_nn, welch_psd
from .analyze import Analysis, first_of_kind

#: Figure width, inches (the HTML shows it at the page's full width).
WIDTH_IN = 10.0
#: At most this many points are drawn per trace (longer traces are decimated by striding).
MAX_POINTS = 4000
#: Phases are labelled on time axes, and named under bars, only up to this many phases.
MAX_PHASE_LABELS = 16
#: Events are named in the event-related legend only up to this many.
MAX_LEGEND_EVENTS = 6
#: Phases get a Poincaré panel each up to this many (more: one panel of all beats).
MAX_POINCARE_PANELS = 6
#: A phase needs this many seconds of beats for its spectrum to be drawn.
MIN_SPECTRUM_S = 50.0
#: Text sizes and line widths of every figure.
STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": 9,
         "ytick.labelsize": 9, "legend.fontsize": 9, "figure.titlesize": 11,
         "axes.spines.top": False, "axes.spines.right": False, "svg.fonttype": "none",
         "svg.hashsalt": "biofeed", "pdf.fonttype": 42}
#: Colours: heart rate / RR (blue), EDA (green), corrected beats (red), the pacer (orange).
HEART, SKIN, FIXED, PACER = "tab:blue", "tab:green", "tab:red", "tab:orange"


@dataclass(frozen=True)
class FigureSpec:
    """One report figure: ``title``, ``height_in`` (inches at :data:`WIDTH_IN` wide), ``draw``
    (``draw(analysis, fig) -> bool``), a one-line ``caption`` and what it ``needs`` (said in
    the report when the figure is left out)."""

    title: str
    height_in: float
    draw: Callable[[Analysis, object], bool]
    caption: str
    needs: str = ""


def _thin(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    step = max(1, len(times) // MAX_POINTS)
    return times[::step], values[::step]


def _column(values: np.ndarray) -> np.ndarray:
    return values if values.ndim == 1 else values[:, 0]


def _shade_phases(ax, analysis: Analysis, label: bool = True) -> None:
    """Alternate grey bands for the phases, named at the top when there are few."""
    label = label and len(analysis.phases) <= MAX_PHASE_LABELS
    for i, row in enumerate(analysis.phases.itertuples()):
        ax.axvspan(row.onset_s, row.onset_s + row.duration_s, color="0.88" if i % 2 else "0.95",
                   zorder=0, lw=0)
        if label:
            ax.text(row.onset_s, 1.0, f" {row.phase}", transform=ax.get_xaxis_transform(),
                    va="bottom", fontsize=9, color="0.25", clip_on=False)


def _time_axis(ax, analysis: Analysis) -> None:
    end = max((r.onset_s + r.duration_s for r in analysis.phases.itertuples()), default=None)
    if end:
        ax.set_xlim(0, end)
    ax.set_xlabel("session time (s)")


def _legend_below(ax, ncols: int = 4) -> None:
    """The axes' legend in one row at the bottom of its figure, under the x axis label (never
    over the data; the constrained layout makes room for it)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.get_figure(root=False).legend(handles, labels, loc="outside lower left", ncols=ncols,
                                         frameon=False, handlelength=1.5)


def _nn(analysis: Analysis):
    nn = first_of_kind(analysis.recording, "nn")
    return nn if nn is not None and len(nn) >= 2 else None


def tachogram(analysis: Analysis, fig) -> bool:
    """RR tachogram: NN interval (ms) per beat over session time with the phases; beats the
    artifact correction changed are marked red, with the recorded RR interval as a hollow
    circle where it differed."""
    nn = _nn(analysis)
    if nn is None:
        return False
    ax = fig.subplots()
    _shade_phases(ax, analysis)
    nn_ms = nn.values[:, 0]
    ax.plot(*_thin(nn.times, nn_ms), lw=0.9, color=HEART, label="NN interval")
    fixed = nn.values[:, 1] != 0
    rr = first_of_kind(analysis.recording, "rr", derived=True)
    if fixed.any():
        ax.plot(nn.times[fixed], nn_ms[fixed], "o", ms=4, color=FIXED,
                label=f"corrected beat ({int(fixed.sum())})")
        if rr is not None and len(rr):
            at = np.searchsorted(rr.times, nn.times[fixed])
            ok = (at < len(rr)) & (rr.times[np.minimum(at, len(rr) - 1)] == nn.times[fixed])
            recorded = _column(rr.values)[at[ok]]
            ax.plot(nn.times[fixed][ok], recorded, "o", ms=5, mfc="none", color="0.35",
                    label="recorded RR at a corrected beat")
    ax.set_ylabel("RR interval (ms)")
    _time_axis(ax, analysis)
    _legend_below(ax)
    return True


def hr_scl(analysis: Analysis, fig) -> bool:
    """Heart rate (bpm) per beat, and skin conductance (µS) with its tonic level (SCL) and the
    SCR onsets, one above the other over the phase bands."""
    nn = _nn(analysis)
    eda = first_of_kind(analysis.recording, "eda", derived=False)
    eda = eda if eda is not None and len(eda) else None
    if nn is None and eda is None:
        return False
    axes = fig.subplots(2 if nn is not None and eda is not None else 1, 1, sharex=True,
                        squeeze=False)[:, 0]
    i = 0
    if nn is not None:
        ax = axes[i]
        _shade_phases(ax, analysis)
        ax.plot(*_thin(nn.times, 60000.0 / nn.values[:, 0]), lw=0.9, color=HEART)
        ax.set_ylabel("HR (bpm)")
        i += 1
    if eda is not None:
        ax = axes[i]
        _shade_phases(ax, analysis, label=i == 0)
        level = _column(eda.values)
        ax.plot(*_thin(eda.times, level), lw=0.7, color=SKIN, alpha=0.6, label="skin conductance")
        scl = first_of_kind(analysis.recording, "scl")
        if scl is not None and len(scl):
            ax.plot(*_thin(scl.times, _column(scl.values)), lw=1.6, color="darkgreen",
                    label="SCL (tonic level)")
        scr = first_of_kind(analysis.recording, "scr")
        if scr is not None and len(scr):
            ax.plot(scr.times, np.interp(scr.times, eda.times, level), "v", ms=6, color=PACER,
                    label=f"SCR onset ({len(scr)})")
        ax.set_ylabel("EDA (µS)")
    _time_axis(axes[-1], analysis)
    _legend_below(axes[-1])
    return True


def _phase_nn(analysis: Analysis, nn) -> list[tuple[str, np.ndarray]]:
    out = []
    for row in analysis.phases.itertuples():
        inside = (nn.times >= row.onset_s) & (nn.times < row.onset_s + row.duration_s)
        out.append((row.phase, nn.values[inside, 0]))
    return out


def spectrum(analysis: Analysis, fig) -> bool:
    """Welch power spectrum (ms²/Hz) of the NN series of each phase of at least
    :data:`MIN_SPECTRUM_S` of beats (resampled at 4 Hz by a cubic spline; Task Force 1996),
    with the VLF, LF and HF bands (:data:`biofeed.physio.hrv.BANDS`)."""
    nn = _nn(analysis)
    if nn is None:
        return False
    curves = []
    for phase, values in _phase_nn(analysis, nn):
        if values.size >= 4 and values.sum() / 1000.0 >= MIN_SPECTRUM_S:
            f, p = welch_psd(resample_nn(values, RESAMPLE_HZ), RESAMPLE_HZ)
            keep = f <= 0.5
            curves.append((phase, f[keep], p[keep]))
    if not curves:
        return False
    ax = fig.subplots()
    for (name, (lo, hi)), shade in zip(BANDS.items(), ("0.95", "0.88", "0.95")):
        ax.axvspan(lo, hi, color=shade, zorder=0, lw=0)
        ax.text((lo + hi) / 2, 1.0, name.upper(), transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=9, color="0.25")
    for phase, f, p in curves:
        ax.plot(f, p, lw=1.4, label=phase)
    ax.set(xlim=(0, 0.5), xlabel="frequency (Hz)", ylabel="power density (ms²/Hz)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", title="phase", framealpha=0.9, ncols=2 if len(curves) > 4 else 1)
    return True


def poincare(analysis: Analysis, fig) -> bool:
    """Poincaré plot: each NN interval (ms) against the next, a panel per phase, with SD1 and
    SD2 (ms; Brennan et al. 2001) and the line of identity."""
    nn = _nn(analysis)
    if nn is None:
        return False
    groups = _phase_nn(analysis, nn)
    if len(groups) > MAX_POINCARE_PANELS:
        groups = [("all beats", nn.values[:, 0])]
    groups = [(p, v) for p, v in groups if v.size >= 3]
    if not groups:
        return False
    every = np.concatenate([v for _, v in groups])
    lo, hi = float(np.percentile(every, 0.5)) - 20, float(np.percentile(every, 99.5)) + 20
    axes = fig.subplots(1, max(len(groups), 3), squeeze=False)[0]
    for ax in axes[len(groups):]:
        ax.axis("off")
    for ax, (phase, v) in zip(axes, groups):
        x, y = v[:-1], v[1:]
        d = np.diff(v)
        sd1 = float(np.std(d, ddof=1) / np.sqrt(2))
        sd2 = float(np.sqrt(max(2 * np.var(v, ddof=1) - sd1 ** 2, 0.0)))
        ax.plot([lo, hi], [lo, hi], color="0.6", lw=0.8)
        ax.plot(x, y, "o", ms=3, alpha=0.6, color=HEART)
        ax.set(xlim=(lo, hi), ylim=(lo, hi), aspect="equal",
               xlabel=f"NN n (ms)\nSD1 {sd1:.1f} ms\nSD2 {sd2:.1f} ms")
        ax.set_title(phase, fontsize=10)
    axes[0].set_ylabel("NN n+1 (ms)")
    return True


def _pacer_segments(analysis: Analysis) -> list[tuple[float, float, float]]:
    """``(start s, end s, rate breaths/min)`` of every paced phase."""
    ev = analysis.recording.events
    out = []
    for row in ev[ev.kind == "phase"].itertuples():
        rate = row.payload.get("pacer_rate_bpm") if isinstance(row.payload, dict) else None
        if rate is not None:
            out.append((float(row.onset), float(row.onset + row.duration), float(rate)))
    return out


def breathing(analysis: Analysis, fig) -> bool:
    """Breathing rate (breaths/min, 60 / breath length) at each breath onset, against the
    pacer's rate in the paced phases."""
    breath = first_of_kind(analysis.recording, "breath")
    if breath is None or len(breath) < 2:
        return False
    ax = fig.subplots()
    _shade_phases(ax, analysis)
    length = _column(breath.values)
    ok = np.isfinite(length) & (length > 0)
    ax.plot(breath.times[ok], 60.0 / length[ok], "o-", ms=3, lw=0.9, color=SKIN,
            label="breathing rate")
    for i, (a, b, rate) in enumerate(_pacer_segments(analysis)):
        ax.plot([a, b], [rate, rate], lw=3, color=PACER, label="pacer rate" if i == 0 else None)
    ax.set_ylabel("breaths/min")
    ax.set_ylim(bottom=0)
    _time_axis(ax, analysis)
    _legend_below(ax)
    return True


def _ratings(analysis: Analysis) -> list[tuple[float, str, float | None, dict]]:
    ev = analysis.recording.events
    return [(float(r.onset), r.label, r.payload.get("value"), r.payload)
            for r in ev[ev.kind == "rating"].itertuples()]


def ratings(analysis: Analysis, fig) -> bool:
    """Self-report ratings (e.g. SUDS 0-100) over session time, on their scale; a missing
    rating is marked where it was asked."""
    rows = _ratings(analysis)
    if not rows:
        return False
    ax = fig.subplots()
    _shade_phases(ax, analysis)
    given = [(t, v) for t, _, v, _ in rows if v is not None]
    if given:
        t, v = np.array(given).T
        ax.plot(t, v, "o-", ms=7, lw=1.2, color="tab:purple", label="rating")
        for ti, vi in given:
            ax.annotate(f"{vi:g}", (ti, vi), textcoords="offset points", xytext=(0, 7),
                        ha="center", fontsize=9)
    missing = [t for t, _, v, _ in rows if v is None]
    if missing:
        ax.plot(missing, [0] * len(missing), "x", ms=8, color="0.3", label="not given")
    scales = {p.get("scale") for *_, p in rows if p.get("scale")}
    low = min((p["min"] for *_, p in rows if "min" in p), default=0)
    high = max((p["max"] for *_, p in rows if "max" in p), default=None)
    name = " / ".join(sorted(scales)) or "rating"
    if high is not None:
        ax.set_ylim(low, high * 1.12)
        name += f" ({low:g}-{high:g})"
    ax.set_ylabel(name)
    _time_axis(ax, analysis)
    _legend_below(ax)
    return True


def quality(analysis: Analysis, fig) -> bool:
    """Signal quality over time, a row per sensor: the share of criteria met (%) of each
    10 s segment (:mod:`biofeed.physio.quality`), segments rated poor marked."""
    streams = [(n, analysis.recording.signals[n]) for n, s in analysis.recording.streams.items()
               if s.kind == "quality" and len(analysis.recording.signals[n])]
    if not streams:
        return False
    axes = fig.subplots(len(streams), 1, sharex=True, squeeze=False)[:, 0]
    for i, (ax, (name, sig)) in enumerate(zip(axes, streams)):
        _shade_phases(ax, analysis, label=i == 0)
        score = 100.0 * sig.values[:, 1]
        poor = sig.values[:, 0] != 1
        ax.step(sig.times, score, where="post", lw=1.4, color=(HEART, SKIN, "tab:purple")[i % 3])
        if poor.any():
            ax.plot(sig.times[poor], score[poor], "x", ms=7, color=FIXED,
                    label=f"poor segment ({int(poor.sum())})")
            ax.legend(loc="lower right", framealpha=0.9)
        ax.set_ylim(-5, 110)
        ax.set_yticks([0, 50, 100])
        ax.set_ylabel(f"{name.removesuffix('.quality')} (%)")
    _time_axis(axes[-1], analysis)
    return True


def hrv_per_phase(analysis: Analysis, fig) -> bool:
    """Mean HR (bpm) and RMSSD (ms) in each phase, as bars."""
    table = analysis.phases
    if not len(table) or table.hr_bpm.isna().all():
        return False
    axes = fig.subplots(1, 2)
    x = np.arange(len(table))
    for ax, col, label, colour in ((axes[0], "hr_bpm", "HR (bpm)", HEART),
                                   (axes[1], "rmssd_ms", "RMSSD (ms)", "tab:purple")):
        ax.bar(x, table[col].to_numpy(float), color=colour)
        if len(table) <= MAX_PHASE_LABELS:
            crowded = sum(len(str(p)) for p in table.phase) > 36
            ax.set_xticks(x, table.phase, rotation=20 if crowded else 0,
                          ha="right" if crowded else "center")
        else:
            ax.set_xlabel("phase number")
        ax.set(ylabel=label)
    return True


def arousal(analysis: Analysis, fig) -> bool:
    """The arousal index (baseline SDs) over session time with the phases."""
    sig = first_of_kind(analysis.recording, "arousal")
    if sig is None or not len(sig) or not np.isfinite(sig.values[:, 0]).any():
        return False
    ax = fig.subplots()
    _shade_phases(ax, analysis)
    ax.plot(*_thin(sig.times, sig.values[:, 0]), lw=1.2, color=FIXED)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_ylabel("arousal (SD)")
    _time_axis(ax, analysis)
    return True


def event_related(analysis: Analysis, fig) -> bool:
    """HR (bpm) and skin conductance (µS) change from the 5 s before each prompt or marker:
    a line an event; the mean (thick, brown) only over two events or more."""
    panels = [(ep, title) for ep, title in ((analysis.hr, "HR change (bpm)"),
                                            (analysis.eda, "EDA change (µS)")) if ep is not None]
    if not panels:
        return False
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (ep, title) in zip(axes, panels):
        named = len(ep.values) <= MAX_LEGEND_EVENTS
        for row, label in zip(ep.values, ep.labels):
            ax.plot(ep.times, row, lw=1.2 if len(ep.values) == 1 else 0.8,
                    alpha=1.0 if len(ep.values) == 1 else 0.6, label=label if named else None)
        if len(ep.values) >= 2:
            ax.plot(ep.times, ep.mean(), lw=2.4, color="tab:brown",
                    label=f"mean of {len(ep.values)} events")
        ax.axvline(0, color="0.5", lw=0.8)
        ax.axhline(0, color="0.8", lw=0.6)
        ax.set(xlabel="time from onset (s)", ylabel=title)
        if named or len(ep.values) >= 2:
            ax.legend(loc="upper left", framealpha=0.9)
    return True


#: The report's figures in order.
FIGURES = (
    FigureSpec("RR tachogram", 3.6, tachogram,
               "NN intervals (ms) per beat after artifact correction; red: corrected beats.",
               "heart beats"),
    FigureSpec("Heart rate and skin conductance", 5.0, hr_scl,
               "HR (bpm) per beat; skin conductance (µS), its tonic level (SCL) and the SCR onsets.",
               "heart beats or skin conductance"),
    FigureSpec("Power spectrum per phase", 3.6, spectrum,
               f"Welch spectrum of the NN series of each phase of at least {MIN_SPECTRUM_S:g} s "
               "(4 Hz cubic-spline resampling) with the VLF, LF and HF bands.",
               f"a phase with at least {MIN_SPECTRUM_S:g} s of heart beats"),
    FigureSpec("Poincaré plot", 3.8, poincare,
               "Each NN interval against the next, per phase; SD1: short-term, SD2: long-term "
               "variability.", "a phase with at least 3 heart beats"),
    FigureSpec("Breathing rate and pacer", 3.2, breathing,
               "Breathing rate at each breath (breaths/min) against the pacer's rate.",
               "detected breaths (a respiration signal)"),
    FigureSpec("Ratings over time", 3.0, ratings, "Self-report ratings on their scale.",
               "ratings asked by the protocol"),
    FigureSpec("Signal quality over time", 3.4, quality,
               "Share of each sensor's quality criteria met per 10 s segment (%); x: a segment "
               "rated poor.", "signal-quality streams"),
    FigureSpec("HR and HRV per phase", 3.0, hrv_per_phase, "Mean HR (bpm) and RMSSD (ms) per phase.",
               "heart beats"),
    FigureSpec("Arousal index", 3.0, arousal,
               "Mean of the z-scores of HR, SCL, SCR rate and -RMSSD against the baseline.",
               "the arousal index (heart beats and skin conductance)"),
    FigureSpec("Event-related HR and skin conductance", 3.4, event_related,
               "Change from the 5 s before each prompt or marker.", "prompts or markers"),
)


def figure(spec: FigureSpec, analysis: Analysis) -> Figure | None:
    """``spec`` drawn on its own figure (:data:`WIDTH_IN` x ``spec.height_in``), or None."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH_IN, spec.height_in), layout="constrained")
        return fig if spec.draw(analysis, fig) else None


def svg(fig: Figure) -> str:
    """``fig`` as an SVG document (text as text, so it stays sharp and selectable)."""
    buf = io.StringIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()
