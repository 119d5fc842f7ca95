"""Protocol definitions: phases on a timeline, and the breathing pacer.

A :class:`Protocol` is a named sequence of :class:`Phase` objects. Times are seconds, breathing
rates breaths per minute.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

#: Phase kinds (what the phase asks of the participant).
PHASE_KINDS = frozenset({"instruction", "baseline", "prompt", "rating", "rest", "recovery",
                         "paced_breathing", "assessment"})
#: Allowed pacer rates, breaths/min.
RATE_RANGE_BPM = (1.0, 30.0)
#: Allowed inhale share of the breathing part of a cycle (1:4 to 4:1).
INHALE_RANGE = (0.2, 0.8)
#: Holds may take at most this share of a breath cycle.
MAX_HOLD_SHARE = 0.5


@dataclass(frozen=True)
class Pacer:
    """A breathing pacer.

    Parameters
    ----------
    rate_bpm : float
        Breathing rate, breaths per minute (6/min = a 10 s cycle), holds included.
    inhale_fraction : float
        Share of the breathing (non-hold) part of each cycle spent breathing in
        (0.5 = 1:1, 0.4 = 4:6).
    hold_in_s, hold_out_s : float
        Optional holds after inhaling (lungs full) and after exhaling (lungs empty), seconds.
        Keep them optional: holds and over-breathing cause dizziness in the first sessions
        (Lehrer 2013). The simulated participant breathes without holds.

    Notes
    -----
    The target lung volume follows a sine easing on each half of the cycle (a linear fill does
    not match how lungs fill; Lehrer 2013).
    """

    rate_bpm: float
    inhale_fraction: float = 0.4
    hold_in_s: float = 0.0
    hold_out_s: float = 0.0

    def __post_init__(self) -> None:
        if not RATE_RANGE_BPM[0] <= self.rate_bpm <= RATE_RANGE_BPM[1]:
            raise ValueError(f"pacer rate must be {RATE_RANGE_BPM[0]:g}-{RATE_RANGE_BPM[1]:g} "
                             f"breaths/min, got {self.rate_bpm!r}")
        if not INHALE_RANGE[0] <= self.inhale_fraction <= INHALE_RANGE[1]:
            raise ValueError(f"pacer inhale fraction must be {INHALE_RANGE[0]:g}-{INHALE_RANGE[1]:g}, "
                             f"got {self.inhale_fraction!r}")
        if self.hold_in_s < 0 or self.hold_out_s < 0:
            raise ValueError(f"pacer holds must be >= 0 s, got {self.hold_in_s!r}, {self.hold_out_s!r}")
        if self.hold_in_s + self.hold_out_s > MAX_HOLD_SHARE * self.period_s:
            raise ValueError(f"pacer holds ({self.hold_in_s + self.hold_out_s:g} s) must take at most "
                             f"{MAX_HOLD_SHARE:.0%} of the {self.period_s:g} s breath cycle")

    @property
    def period_s(self) -> float:
        """Length of one breath cycle, seconds."""
        return 60.0 / self.rate_bpm

    def cycle_position(self, t: float) -> float:
        """Position in the breath cycle (0 = start of inhale, 1 = end of exhale) ``t`` s into pacing."""
        return (t / self.period_s) % 1.0

    def volume(self, t: float) -> float:
        """Target lung volume (0 = empty, 1 = full) ``t`` seconds into pacing."""
        if not (self.hold_in_s or self.hold_out_s):
            return breath_volume(self.cycle_position(t), self.inhale_fraction)
        period = self.period_s
        breathing = period - self.hold_in_s - self.hold_out_s
        inhale = self.inhale_fraction * breathing
        s = t % period
        if s < inhale:
            return breath_volume(self.inhale_fraction * s / inhale, self.inhale_fraction)
        if s < inhale + self.hold_in_s:
            return 1.0
        s -= inhale + self.hold_in_s
        if s < breathing - inhale:
            fi = self.inhale_fraction
            return breath_volume(fi + (1 - fi) * s / (breathing - inhale), fi)
        return 0.0

    def to_dict(self) -> dict:
        """Plain-data form (the keys of the session file's protocol record)."""
        return {"rate_bpm": self.rate_bpm, "inhale_fraction": self.inhale_fraction,
                "hold_in_s": self.hold_in_s, "hold_out_s": self.hold_out_s}


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
class Rating:
    """A self-report rating asked in a ``rating`` phase.

    Parameters
    ----------
    scale : str
        Name of the scale, e.g. ``"SUDS"`` (Subjective Units of Distress, 0-10).
    question : str
        What the participant is asked.
    min, max : int
        Lowest and highest allowed answer (whole numbers).
    per_person : bool
        Asked of each participant of a dyad (one rating each, recorded with the participant's
        device label); otherwise one rating for the session.
    """

    scale: str
    question: str
    min: int = 0
    max: int = 10
    per_person: bool = False

    def __post_init__(self) -> None:
        if not self.min < self.max:
            raise ValueError(f"rating scale {self.scale!r}: min ({self.min}) must be below max ({self.max})")

    def check(self, value: float) -> float:
        """``value`` if it lies on the scale, else ValueError naming the allowed range."""
        if not self.min <= value <= self.max:
            raise ValueError(f"{self.scale} rating must be {self.min}-{self.max}, got {value:g}")
        return float(value)

    def to_dict(self) -> dict:
        out = {"scale": self.scale, "question": self.question, "min": self.min, "max": self.max}
        return out | {"per_person": True} if self.per_person else out


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
    notes : str
        Clinician-facing notes (never shown to the participant).
    rating : Rating, optional
        The rating asked in a ``rating`` phase.
    prompt_id : str
        Identifier of a prompt, recorded with its events (the label when not given).
    """

    label: str
    kind: str
    duration_s: float
    text: str = ""
    pacer: Pacer | None = None
    stressor: bool = False
    notes: str = ""
    rating: Rating | None = None
    prompt_id: str = ""

    def __post_init__(self) -> None:
        if self.kind not in PHASE_KINDS:
            raise ValueError(f"phase {self.label!r}: kind {self.kind!r} is not one of {sorted(PHASE_KINDS)}")
        if not self.duration_s > 0:
            raise ValueError(f"phase {self.label!r}: duration must be > 0 s, got {self.duration_s!r}")
        if (self.kind == "rating") != (self.rating is not None):
            raise ValueError(f"phase {self.label!r}: a rating belongs to (and only to) a 'rating' phase")

    def to_dict(self) -> dict:
        return {"label": self.label, "kind": self.kind, "duration_s": self.duration_s,
                "text": self.text, "stressor": self.stressor, "notes": self.notes,
                "prompt_id": self.prompt_id,
                "pacer": None if self.pacer is None else self.pacer.to_dict(),
                "rating": None if self.rating is None else self.rating.to_dict()}


@dataclass(frozen=True)
class StopRule:
    """A safety rule: when it fires, remaining stressors are skipped and recovery starts.

    Parameters
    ----------
    kind : str
        ``"rating"``: a rating at or above ``threshold`` (scale units, e.g. SUDS >= 8);
        ``"arousal"``: the arousal index (baseline SDs, :mod:`biofeed.physio.arousal`) above
        ``threshold`` for ``for_s`` seconds without a break.
    threshold : float
    for_s : float
        Seconds (arousal rules only).

    Notes
    -----
    No published numeric standard exists for a distress stop rule (domain notes, safety):
    the threshold is the protocol author's documented choice.
    """

    kind: str
    threshold: float
    for_s: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in STOP_RULE_KINDS:
            raise ValueError(f"stop rule kind {self.kind!r} is not one of {sorted(STOP_RULE_KINDS)}")
        if self.kind == "arousal" and not self.for_s > 0:
            raise ValueError(f"an arousal stop rule needs for_s > 0 s, got {self.for_s!r}")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "threshold": self.threshold, "for_s": self.for_s}


#: Kinds of stop rule.
STOP_RULE_KINDS = frozenset({"rating", "arousal"})


@dataclass(frozen=True)
class Protocol:
    """A named, ordered sequence of phases (blocks already expanded in their run order).

    ``seed`` is the seed that ordered randomised blocks (None when nothing was randomised);
    it is stored in the session file so the order can be reproduced.
    """

    name: str
    phases: tuple[Phase, ...]
    description: str = ""
    references: tuple[str, ...] = field(default=())
    version: str = ""
    intended_use: str = ""
    safety_notes: tuple[str, ...] = field(default=())
    stop_rules: tuple[StopRule, ...] = field(default=())
    seed: int | None = None
    source: str = ""    #: file the protocol was loaded from ("" when built in code)
    participants: int = 1   #: people the protocol is written for (2: a dyad, labelled devices)

    def __post_init__(self) -> None:
        if not self.phases:
            raise ValueError(f"protocol {self.name!r} has no phases")
        if self.participants not in (1, 2):
            raise ValueError(f"protocol {self.name!r}: participants must be 1 or 2, got "
                             f"{self.participants!r}")

    @property
    def duration_s(self) -> float:
        """Planned total length, seconds."""
        return sum(p.duration_s for p in self.phases)

    def to_dict(self) -> dict:
        """Plain-data form stored in the session file."""
        return {
            "name": self.name, "version": self.version, "description": self.description,
            "intended_use": self.intended_use, "references": list(self.references),
            "safety_notes": list(self.safety_notes), "source": self.source, "seed": self.seed,
            "participants": self.participants,
            "stop_rules": [r.to_dict() for r in self.stop_rules],
            "phases": [p.to_dict() for p in self.phases],
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
              "Breathe with the pacer: in as it grows, out as it shrinks.", pacer=Pacer(6.0, 0.4)),
    ),
    references=("Laborde, Mosley & Thayer 2017 (rest-reactivity-recovery)",
                "Lehrer & Gevirtz 2014 (paced breathing near 6/min)"),
)


def with_pacer_rate(protocol: Protocol, rate_bpm: float) -> Protocol:
    """``protocol`` with every ``paced_breathing`` pacer set to ``rate_bpm`` (breaths/min).

    Used to train at the rate a resonance-frequency assessment chose (Lehrer 2013).
    """
    phases = tuple(replace(p, pacer=replace(p.pacer, rate_bpm=float(rate_bpm)))
                   if p.kind == "paced_breathing" and p.pacer is not None else p
                   for p in protocol.phases)
    if phases == protocol.phases and not any(p.kind == "paced_breathing" for p in phases):
        raise ValueError(f"protocol {protocol.name!r} has no paced_breathing phase to set a rate for")
    return replace(protocol, phases=phases)
