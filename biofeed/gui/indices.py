"""The numbers on screen: current indices from the live buffers, with their baseline values."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..analysis.phases import phase_measures, phase_sources
from ..live import LiveBuffers
from ..physio.hrv import HRV_KEYS
from ..physio.quality import MIN_GOOD_PCT
from ..record.reader import Signal
from ..stream import Event

#: (key, label, unit, format) of each index shown, in order.
INDICES = (("hr_bpm", "Heart rate", "bpm", "{:.0f}"), ("rmssd_ms", "RMSSD", "ms", "{:.0f}"),
           ("coherence", "Coherence", "ratio", "{:.2f}"), ("rsa_bpm", "RSA", "bpm", "{:.1f}"),
           ("scl_us", "SCL", "µS", "{:.2f}"),
           ("scr_per_min", "SCRs", "/min", "{:.0f}"), ("arousal", "Arousal", "SD", "{:+.1f}"))
#: Format of each index's baseline value: the precision of the printed phase table.
BASELINE_FORMATS = {"hr_bpm": "{:.1f}", "rmssd_ms": "{:.1f}", "coherence": "{:.2f}",
                    "rsa_bpm": "{:.1f}", "scl_us": "{:.2f}", "scr_per_min": "{:.1f}",
                    "arousal": "{:+.2f}"}


def _first(live: LiveBuffers, kind: str) -> str | None:
    names = live.of_kind(kind)
    return names[0] if names else None


def _last(live: LiveBuffers, kind: str, column: int = 0, before: float | None = None) -> float:
    name = _first(live, kind)
    if name is None:
        return math.nan
    t, v = live.window(name)
    if before is not None:
        keep = t < before
        t, v = t[keep], v[keep]
    finite = np.isfinite(v[:, column]) if len(v) else np.zeros(0, bool)
    return float(v[finite, column][-1]) if finite.any() else math.nan


def current_indices(live: LiveBuffers, before: float | None = None) -> dict[str, float]:
    """Latest value of each index in :data:`INDICES` (NaN while unknown).

    HR is 60000 / mean NN over the last 10 s; RMSSD from the HRV stream (60 s window);
    coherence from the coherence stream (64 s); RSA (peak-to-trough HR) of the last breath
    cycle from the RSA stream; SCL from the SCL stream; SCRs per minute over
    the last 60 s of SCR onsets; arousal from the arousal stream. With ``before`` (session s),
    the values as they were just before that time.
    """
    out = dict.fromkeys((k for k, *_ in INDICES), math.nan)
    nn = _first(live, "nn")
    if nn is not None:
        t, v = live.window(nn)
        if before is not None:
            v, t = v[t < before], t[t < before]
        if len(t):
            recent = t > t[-1] - 10.0
            out["hr_bpm"] = 60000.0 / float(np.mean(v[recent, 0]))
    out["rmssd_ms"] = _last(live, "hrv", HRV_KEYS.index("rmssd"), before)
    out["coherence"] = _last(live, "coherence", 0, before)
    out["rsa_bpm"] = _last(live, "rsa", 0, before)
    out["scl_us"] = _last(live, "scl", 0, before)
    out["arousal"] = _last(live, "arousal", 0, before)
    scr, scl = _first(live, "scr"), _first(live, "scl")
    if scr is not None and scl is not None:
        t_scl, _ = live.window(scl, samples=1)
        if len(t_scl):
            now = t_scl[-1] if before is None else min(before, t_scl[-1])
            if now >= 60.0:
                t, _ = live.window(scr)
                out["scr_per_min"] = float(np.count_nonzero((t > now - 60.0) & (t <= now)))
    return out


#: Kinds of the streams behind the baseline's measures (:func:`biofeed.analysis.phases.phase_sources`).
BASELINE_KINDS = ("nn", "scr", "scl", "eda", "arousal", "coherence", "rsa", "quality")
#: Session seconds after the baseline phase's end during which its last values still arrive
#: (an RSA cycle waits for the next breath and the NN look-ahead, a quality segment ends 5 s
#: after its middle, an SCR is found after its peak); the baseline is final after them.
SETTLE_S = 30.0


def baseline_phase(live: LiveBuffers) -> Event | None:
    """The session's first phase of kind ``baseline`` (its latest version), if it has begun."""
    return next((e for e in live.events if e.kind == "phase"
                 and e.payload.get("phase_kind") == "baseline"), None)


class BaselineTracker:
    """The baseline phase's measures exactly as the report's phase table has them
    (:func:`biofeed.analysis.phases.phase_measures` over the phase), from the live buffers.

    The buffers keep only the recent past, so the rows of the streams the measures use
    (:data:`BASELINE_KINDS`) are kept from the phase's onset on. While the phase runs the values
    are those of the phase so far; :data:`SETTLE_S` after its end they are final (equal to the
    recorded file's phase table) and the rows are dropped.
    """

    def __init__(self) -> None:
        self._rows: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._last: dict[str, float] = {}
        self.values: dict[str, float] | None = None   #: the measures (NaN: no data), or None
        self.final = False

    def update(self, live: LiveBuffers, now: float, ended: bool = False
               ) -> dict[str, float] | None:
        """Take in the new rows and return the baseline's measures at session time ``now``
        (s); None before the baseline phase has begun. ``ended``: the session is over (every
        value has arrived), so the values are final."""
        if self.final:
            return self.values
        phase = baseline_phase(live)
        if phase is None or now <= phase.onset:
            return None
        for kind in BASELINE_KINDS:
            for name in live.of_kind(kind):
                t, v = live.window(name)
                keep = (t >= phase.onset) & (t > self._last.get(name, -np.inf))
                if keep.any():
                    self._rows.setdefault(name, []).append((t[keep], v[keep]))
                    self._last[name] = float(t[keep][-1])
        signals = {}            # every stream of those kinds, as in the recording: empty ones too
        for name, info in live.streams.items():
            if info.kind not in BASELINE_KINDS:
                continue
            parts = self._rows.get(name, [])
            values = (np.concatenate([v for _, v in parts]) if parts
                      else np.empty((0, len(info.channels))))
            times = np.concatenate([t for t, _ in parts]) if parts else np.empty(0)
            signals[name] = Signal(values[:, 0] if values.shape[1] == 1 else values, times,
                                   info.rate, info.unit, info)
        raw = {n: sig for n, sig in signals.items() if not sig.info.derived}
        duration = min(phase.duration, now - phase.onset)
        self.values = phase_measures(phase_sources(signals, raw), phase.onset, duration)
        if ended or now > phase.onset + phase.duration + SETTLE_S:
            self.final = True
            self._rows.clear()
        return self.values


def format_index(key: str, value: float, baseline: bool = False) -> str:
    """The number as shown (a baseline with the phase table's precision), or an em dash
    while unknown."""
    fmt = BASELINE_FORMATS[key] if baseline else next(f for k, _, _, f in INDICES if k == key)
    return fmt.format(value) if math.isfinite(value) else "—"


#: Seconds of quality segments (by their end) behind a light's recent share.
RECENT_S = 60.0


@dataclass(frozen=True)
class SensorQuality:
    """What a sensor's quality light shows (:mod:`biofeed.physio.quality`).

    ``sensor``: e.g. ``"ECG"``, ``"child EDA"``; ``state``: ``"good"`` (newest segment good
    and at least :data:`~biofeed.physio.quality.MIN_GOOD_PCT` of the last minute's), ``"fair"``
    (newest good, fewer in the last minute), ``"poor"`` (newest segment poor), ``"waiting"``
    (no segment yet); ``recent_pct`` and ``session_pct``: good segments over the last
    :data:`RECENT_S` and over the session, % (NaN while none); ``device``: the id of the
    device whose stream it rates ("" when unknown).
    """

    sensor: str
    state: str
    recent_pct: float
    session_pct: float
    device: str = ""


class QualityTracker:
    """Per quality stream of the live buffers, the light to show; counts every segment of the
    session (the live buffers keep only the recent ones)."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[float, int, int]] = {}   # name -> (last end s, good, all)

    def update(self, live: LiveBuffers) -> list[SensorQuality]:
        """The lights now, one per quality stream in the order the streams were declared."""
        out = []
        for name in live.of_kind("quality"):
            t, v = live.window(name)
            last, good, total = self._counts.get(name, (-math.inf, 0, 0))
            new = t > last
            good += int(np.count_nonzero(v[new, 0] == 1))
            total += int(np.count_nonzero(new))
            self._counts[name] = (float(t[-1]) if len(t) else last, good, total)
            out.append(_light(live, name, t, v, good, total))
        return out


def _light(live: LiveBuffers, name: str, t: np.ndarray, v: np.ndarray, good: int,
           total: int) -> SensorQuality:
    source = name.removesuffix(".quality")
    info = live.streams.get(source)
    label = source.removesuffix(f".{info.kind}") if info and source != info.kind else ""
    sensor = f"{label} {info.kind.upper()}".strip() if info else source
    device = info.device if info else ""
    if not len(t):
        return SensorQuality(sensor, "waiting", math.nan, math.nan, device)
    recent = v[t > t[-1] - RECENT_S, 0] == 1
    recent_pct = 100.0 * float(recent.mean())
    state = ("poor" if v[-1, 0] != 1 else "good" if recent_pct >= MIN_GOOD_PCT else "fair")
    return SensorQuality(sensor, state, recent_pct, 100.0 * good / total, device)


#: Breath cycles averaged for the measured breathing rate.
BREATHS_AVERAGED = 3
#: A breath onset older than this (session s) makes the measured rate unknown (no breathing
#: detected: a loose belt, a held breath).
BREATH_STALE_S = 20.0


def breathing_rate_bpm(live: LiveBuffers, now: float) -> float:
    """Measured breathing rate, breaths/min: 60 over the mean length of the last
    :data:`BREATHS_AVERAGED` breath cycles of the first breath stream
    (:mod:`biofeed.physio.breath`, onsets at the start of inhalation); NaN without one or
    when the last onset is more than :data:`BREATH_STALE_S` before ``now`` (s)."""
    name = _first(live, "breath")
    if name is None:
        return math.nan
    t, v = live.window(name, samples=BREATHS_AVERAGED)
    cycles = v[:, 0][np.isfinite(v[:, 0]) & (v[:, 0] > 0)] if len(v) else v
    if not len(cycles) or now - float(t[-1]) > BREATH_STALE_S:
        return math.nan
    return 60.0 / float(np.mean(cycles))
