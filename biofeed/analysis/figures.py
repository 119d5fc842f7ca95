"""The report's figures, drawn with matplotlib (Agg, no display) and returned as PNG bytes.

Every function takes an :class:`~biofeed.analysis.analyze.Analysis` and returns the PNG, or
None when the recording lacks what the figure shows.
"""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .analyze import Analysis, first_of_kind  # noqa: E402

#: Figure width and panel height, inches; resolution, dots per inch.
WIDTH_IN, PANEL_IN, DPI = 9.0, 2.4, 80
#: At most this many points are drawn per trace (longer traces are decimated by striding).
MAX_POINTS = 6000
#: Phases are labelled on time axes, and named under bars, only up to this many phases.
MAX_PHASE_LABELS = 16
#: Events are named in the event-related legend only up to this many.
MAX_LEGEND_EVENTS = 6


def _figure(ncols: int = 1):
    """A figure of ``ncols`` panels with fixed margins (cheaper than a tight bounding box)."""
    fig, axes = plt.subplots(1, ncols, figsize=(WIDTH_IN, PANEL_IN), squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.22, top=0.86, wspace=0.25)
    return fig, axes[0]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return buf.getvalue()


def _thin(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    step = max(1, len(times) // MAX_POINTS)
    return times[::step], values[::step]


def _shade_phases(ax, analysis: Analysis) -> None:
    """Alternate grey bands for the phases, labelled at the top when there are few."""
    label = len(analysis.phases) <= MAX_PHASE_LABELS
    for i, row in enumerate(analysis.phases.itertuples()):
        ax.axvspan(row.onset_s, row.onset_s + row.duration_s, color="0.9" if i % 2 else "0.97", zorder=0)
        if label:
            ax.text(row.onset_s, 1.0, f" {row.phase}", transform=ax.get_xaxis_transform(), va="top",
                    fontsize=7, color="0.3")


def _column(values: np.ndarray) -> np.ndarray:
    return values if values.ndim == 1 else values[:, 0]


def tachogram(analysis: Analysis) -> bytes | None:
    """Heart rate per beat (bpm, 60000 / NN ms) over session time with phases; corrected beats red."""
    nn = first_of_kind(analysis.recording, "nn")
    if nn is None or not len(nn):
        return None
    fig, (ax,) = _figure()
    _shade_phases(ax, analysis)
    hr = 60000.0 / nn.values[:, 0]
    ax.plot(*_thin(nn.times, hr), lw=0.8, color="tab:blue")
    fixed = nn.values[:, 1] != 0
    ax.plot(nn.times[fixed], hr[fixed], "o", ms=3, color="tab:red", label="corrected beat")
    ax.set(xlabel="session time (s)", ylabel="HR (bpm)", title="Tachogram")
    if fixed.any():
        ax.legend(loc="lower right", fontsize=7)
    return _png(fig)


def eda_scr(analysis: Analysis) -> bytes | None:
    """Skin conductance (uS) with its tonic level and the detected SCR onsets."""
    eda = first_of_kind(analysis.recording, "eda", derived=False)
    if eda is None or not len(eda):
        return None
    fig, (ax,) = _figure()
    _shade_phases(ax, analysis)
    ax.plot(*_thin(eda.times, _column(eda.values)), lw=0.8, color="tab:green", label="EDA")
    scl = first_of_kind(analysis.recording, "scl")
    if scl is not None and len(scl):
        ax.plot(*_thin(scl.times, _column(scl.values)), lw=1.0, color="0.4", label="SCL")
    scr = first_of_kind(analysis.recording, "scr")
    if scr is not None and len(scr):
        level = np.interp(scr.times, eda.times, _column(eda.values))
        ax.plot(scr.times, level, "v", ms=4, color="tab:orange", label="SCR onset")
    ax.set(xlabel="session time (s)", ylabel="EDA (uS)", title="Electrodermal activity")
    ax.legend(loc="upper right", fontsize=7)
    return _png(fig)


def hrv_per_phase(analysis: Analysis) -> bytes | None:
    """Mean HR (bpm) and RMSSD (ms) in each phase, as bars."""
    table = analysis.phases
    if not len(table) or table.hr_bpm.isna().all():
        return None
    fig, axes = _figure(2)
    x = np.arange(len(table))
    for ax, col, label, color in ((axes[0], "hr_bpm", "HR (bpm)", "tab:blue"),
                                  (axes[1], "rmssd_ms", "RMSSD (ms)", "tab:purple")):
        ax.bar(x, table[col].to_numpy(float), color=color)
        if len(table) <= MAX_PHASE_LABELS:
            ax.set_xticks(x, table.phase, rotation=20, fontsize=7)
        else:
            ax.set_xlabel("phase number")
        ax.set(ylabel=label)
    fig.suptitle("HR and HRV per phase")
    return _png(fig)


def arousal(analysis: Analysis) -> bytes | None:
    """The arousal index (baseline SDs) over session time with phases."""
    sig = first_of_kind(analysis.recording, "arousal")
    if sig is None or not len(sig) or not np.isfinite(sig.values[:, 0]).any():
        return None
    fig, (ax,) = _figure()
    _shade_phases(ax, analysis)
    ax.plot(*_thin(sig.times, sig.values[:, 0]), lw=1.0, color="tab:red")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set(xlabel="session time (s)", ylabel="arousal (SD)", title="Arousal index")
    return _png(fig)


def event_related(analysis: Analysis) -> bytes | None:
    """HR (bpm) and skin conductance (uS) change from baseline around each prompt or marker:
    one thin line an event, the mean thick (brown)."""
    panels = [(ep, title) for ep, title in ((analysis.hr, "HR change (bpm)"),
                                            (analysis.eda, "EDA change (uS)")) if ep is not None]
    if not panels:
        return None
    fig, axes = _figure(len(panels))
    for ax, (ep, title) in zip(axes, panels):
        named = len(ep.values) <= MAX_LEGEND_EVENTS
        for row, label in zip(ep.values, ep.labels):
            ax.plot(ep.times, row, lw=0.7, alpha=0.6, label=label if named else None)
        ax.plot(ep.times, ep.mean(), lw=2.2, color="tab:brown", label="mean")
        ax.axvline(0, color="0.5", lw=0.6)
        ax.set(xlabel="time from onset (s)", ylabel=title)
        ax.legend(fontsize=6, loc="upper left")
    fig.suptitle("Event-related responses (baseline -5 to 0 s)")
    return _png(fig)


#: The report's figures in order: (title, function).
FIGURES = (("Tachogram", tachogram), ("EDA and SCRs", eda_scr), ("HRV per phase", hrv_per_phase),
           ("Arousal", arousal), ("Event-related HR and SCR", event_related))
