"""Human column headers and units for the analysis tables (reports and the terminal).

The tables keep their machine column names (``rmssd_ms``, ``d_hr_bpm``: what the CSV files
and the API use); what a reader sees is :func:`header`: ``RMSSD (ms)``, ``Δ HR (bpm)``. Known
names come from :data:`HEADERS`; any other ``snake_case`` name is turned into words, its
unit suffix (``_s``, ``_ms``, ``_bpm``, ``_us``, ``_pct``, ``_hz``, ...) into a unit in
parentheses, so no header is ever shown in snake case.
"""
from __future__ import annotations

import re

#: Machine column name -> (header, unit or None). Units: s, ms (RR/NN), bpm, µS (EDA).
HEADERS: dict[str, tuple[str, str | None]] = {
    "phase": ("Phase", None), "kind": ("Kind", None), "onset_s": ("Start", "s"),
    "duration_s": ("Duration", "s"), "hr_bpm": ("HR", "bpm"), "rmssd_ms": ("RMSSD", "ms"),
    "sdnn_ms": ("SDNN", "ms"), "lf_hf": ("LF/HF", None), "coherence": ("Coherence", None),
    "rsa_bpm": ("RSA", "bpm"), "scl_us": ("SCL", "µS"), "scr_per_min": ("SCRs", "/min"),
    "scr_amp_us": ("SCR amplitude", "µS"), "arousal": ("Arousal", "SD"),
    "half_recovery_s": ("Half-recovery", "s"), "heart_good_pct": ("Heart signal good", "%"),
    "eda_good_pct": ("EDA good", "%"), "hrv_poor_data": ("HR/HRV on poor data", None),
    "label": ("Label", None), "hr_change_bpm": ("HR change", "bpm"),
    "scr_us": ("SCR", "µS"), "rate_bpm": ("Rate", "breaths/min"),
    "phase_deg": ("HR-breath phase", "°"), "peak_trough_bpm": ("Peak-trough HR", "bpm"),
    "lf_ms2": ("LF power", "ms²"), "lf_peak_ms2_hz": ("LF peak", "ms²/Hz"),
    "smoothness": ("Smoothness", None), "rank_sum": ("Rank sum", None),
    "rate_hz": ("Rate", "Hz"), "end_s": ("End", "s"), "start_s": ("Start", "s"),
    "onset": ("Onset", "s"), "duration": ("Duration", "s"),
}
#: Unit suffixes of machine names -> the unit shown.
UNIT_SUFFIXES = {"s": "s", "ms": "ms", "bpm": "bpm", "us": "µS", "pct": "%", "hz": "Hz",
                 "per_min": "/min", "deg": "°", "ms2": "ms²", "min": "min"}
#: Words shown in capitals.
ACRONYMS = {"hr", "hrv", "rr", "nn", "rmssd", "sdnn", "lf", "hf", "vlf", "scl", "scr", "eda",
            "ecg", "ppg", "rsa", "suds", "id", "utc", "csv", "lsl"}


def _words(name: str) -> str:
    words = [w.upper() if w in ACRONYMS else w for w in name.split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else name


def split_unit(name: str) -> tuple[str, str | None]:
    """``(header, unit)`` of a machine column name (``"rmssd_ms"`` -> ``("RMSSD", "ms")``;
    reactivity columns ``d_<measure>`` -> ``("Δ <header>", unit)``). Other names: words from
    the snake case, a known unit suffix as the unit."""
    if name in HEADERS:
        return HEADERS[name]
    if name.startswith("d_") and name[2:] in HEADERS:
        head, unit = HEADERS[name[2:]]
        return f"Δ {head}", unit
    if not re.fullmatch(r"[a-z0-9_]+", name) or "_" not in name:
        return (_words(name) if re.fullmatch(r"[a-z0-9_]+", name) else name), None
    for suffix in sorted(UNIT_SUFFIXES, key=len, reverse=True):
        if name.endswith(f"_{suffix}") and len(name) > len(suffix) + 1:
            return _words(name[:-len(suffix) - 1]), UNIT_SUFFIXES[suffix]
    return _words(name), None


def header(name: str) -> str:
    """The header a reader sees: ``"HR (bpm)"``, ``"Δ RMSSD (ms)"``, ``"Phase"``."""
    head, unit = split_unit(str(name))
    return f"{head} ({unit})" if unit else head
