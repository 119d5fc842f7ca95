"""Protocol definitions: phases on a timeline, and the breathing pacer.

A :class:`Protocol` is a named sequence of :class:`Phase` objects. Times are seconds, breathing
rates breaths per minute.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Phase kinds (what the phase asks of the participant).
PHASE_KINDS = frozenset({"instruction", "baseline", "prompt", "rating", "rest", "recovery",
                         "paced_breathing", "assessment"})


@dataclass(frozen=True)
class Pacer:
    """A breathing pacer.

    Parameters
    ----------
    rate_bpm : float
        Breathing rate, breaths per minute (6/min = a 10 s cycle).
    inhale_fraction : float
        Share of each cycle spent breathing in (0.5 = 1:1, 0.4 = 4:6).

    Notes
    -----
    The target lung volume follows a sine easing on each half of the cycle (a linear fill does
    not match how lungs fill; Lehrer 2013).
    """

    rate_bpm: float
    inhale_fraction: float = 0.4

    def __post_init__(self) -> None:
        if not 1.0 <= self.rate_bpm <= 30.0:
            raise ValueError(f"pacer rate must be 1-30 breaths/min, got {self.rate_bpm!r}")
        if not 0.2 <= self.inhale_fraction <= 0.8:
            raise ValueError(f"pacer inhale fraction must be 0.2-0.8, got {self.inhale_fraction!r}")

    @property
    def period_s(self) -> float:
        """Length of one breath cycle, seconds."""
        return 60.0 / self.rate_bpm

    def cycle_position(self, t: float) -> float:
        """Position in the breath cycle (0 = start of inhale, 1 = end of exhale) ``t`` s into pacing."""
        return (t / self.period_s) % 1.0

    def volume(self, t: float) -> float:
        """Target lung volume (0 = empty, 1 = full) ``t`` seconds into pacing."""
        return breath_volume(self.cycle_position(t), self.inhale_fraction)


def breath_volume(position, inhale_fraction: float):
    """Lung volume 0..1 at a cycle position 0..1 with sine easing on inhale and exhale.

    Works element-wise on numpy arrays as well as on floats.
    """
    p = np.asarray(position, dtype=float) % 1.0
    fi = inhale_fraction
    inhale = 0.5 - 0.5 * np.cos(math.pi * np.minimum(p / fi, 1.0))
    exhale = 0.5 + 0.5 * np.cos(math.pi * np.clip((p - fi) / (1.0 - fi), 0.0, 1.0))
    out = np.where(p < fi, inhale, exhale)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class Phase:
    """One phase of a protocol.

    Parameters
    ----------
    label : str
        Short name recorded in the events table, e.g. ``"baseline"``.
    kind : str
        One of :data:`PHASE_KINDS`.
    duration_s : float
        Planned length, seconds.
    text : str
        What the participant is told or shown (empty when nothing).
    pacer : Pacer, optional
        Breathing guidance during the phase.
    stressor : bool
        True for prompts meant to raise arousal (separation, rejection, unavailability recall);
        False for contrast prompts such as security priming.
    """

    label: str
    kind: str
    duration_s: float
    text: str = ""
    pacer: Pacer | None = None
    stressor: bool = False

    def __post_init__(self) -> None:
        if self.kind not in PHASE_KINDS:
            raise ValueError(f"phase {self.label!r}: kind {self.kind!r} is not one of {sorted(PHASE_KINDS)}")
        if not self.duration_s > 0:
            raise ValueError(f"phase {self.label!r}: duration must be > 0 s, got {self.duration_s!r}")


@dataclass(frozen=True)
class Protocol:
    """A named, ordered sequence of phases."""

    name: str
    phases: tuple[Phase, ...]
    description: str = ""
    references: tuple[str, ...] = field(default=())

    @property
    def duration_s(self) -> float:
        """Planned total length, seconds."""
        return sum(p.duration_s for p in self.phases)

    def to_dict(self) -> dict:
        """Plain-data form stored in the session file."""
        return {
            "name": self.name, "description": self.description, "references": list(self.references),
            "phases": [{"label": p.label, "kind": p.kind, "duration_s": p.duration_s, "text": p.text,
                        "stressor": p.stressor,
                        "pacer": None if p.pacer is None else
                        {"rate_bpm": p.pacer.rate_bpm, "inhale_fraction": p.pacer.inhale_fraction}}
                       for p in self.phases],
        }


#: The built-in demo sequence: baseline, an attachment stressor prompt, recovery, paced breathing.
DEMO = Protocol(
    name="demo",
    description="Built-in demo: 60 s baseline, 60 s attachment stressor prompt, 60 s recovery, "
                "60 s paced breathing at 6 breaths/min.",
    phases=(
        Phase("baseline", "baseline", 60.0, "Sit comfortably and breathe normally."),
        Phase("stressor", "prompt", 60.0,
              "Think of a time when you needed someone close to you and they were not there. "
              "Picture where you were and what you felt.", stressor=True),
        Phase("recovery", "recovery", 60.0, "Let that memory go. Rest and breathe normally."),
        Phase("paced_breathing", "paced_breathing", 60.0,
              "Breathe with the pacer: in as it rises, out as it falls.", pacer=Pacer(6.0, 0.4)),
    ),
    references=("Laborde, Mosley & Thayer 2017 (rest-reactivity-recovery)",
                "Lehrer & Gevirtz 2014 (paced breathing near 6/min)"),
)
