"""Colours and sizes shared by the widgets: legible from across the room."""
from __future__ import annotations

#: Fill colours (RGBA) of protocol phases by kind; stressor prompts get their own.
PHASE_COLOURS = {
    "baseline": (160, 160, 160, 40), "rest": (160, 160, 160, 40), "recovery": (120, 190, 120, 45),
    "paced_breathing": (90, 150, 230, 45), "prompt": (230, 200, 90, 50),
    "stressor": (230, 110, 90, 55), "rating": (200, 160, 230, 50),
    "instruction": (200, 200, 200, 30), "assessment": (90, 150, 230, 45),
}
TRACE = {"ecg": "#1f3b73", "hr": "#b22222", "eda": "#2e7d32", "resp": "#6a1b9a",
         "pacer": "#1565c0", "scr": "#e65100", "artifact": "#212121", "spectrum": "#1f3b73",
         "peak": "#c62828", "coherence": "#00796b"}
#: Fill colours (RGBA) of the LF and HF bands on the spectrum.
BAND_COLOURS = {"LF": (90, 150, 230, 45), "HF": (120, 190, 120, 45)}
#: Colour of a sensor's quality light per state (biofeed.gui.indices.SensorQuality).
QUALITY_COLOURS = {"good": "#2e7d32", "fair": "#f9a825", "poor": "#c62828", "waiting": "#9e9e9e"}
FONT_VALUE_PT = 26
FONT_LABEL_PT = 11
FONT_PROMPT_PT = 18


def phase_colour(kind: str, stressor: bool) -> tuple[int, int, int, int]:
    """Fill colour of a phase band."""
    return PHASE_COLOURS["stressor"] if stressor else PHASE_COLOURS.get(kind, (200, 200, 200, 30))
