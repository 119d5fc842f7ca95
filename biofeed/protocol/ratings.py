"""Unattended ratings for headless runs: ``--auto-ratings`` answers every rating phase.

Formats (one string):

- ``constant:V``: every rating is ``V`` (e.g. ``constant:3``);
- ``V1,V2,...``: ratings in the order the rating phases come; the last value repeats once the
  list is used up (e.g. ``2,4,9`` gives 2, 4, 9, 9, ...).

Values are numbers on the rating scales of the protocol (SUDS 0-10: Subjective Units of
Distress; see the domain notes, safety).
"""
from __future__ import annotations

from .schedule import Phase, Protocol


class AutoRatings:
    """A callable ``auto(phase) -> value`` that gives the next unattended rating."""

    def __init__(self, values: list[float]) -> None:
        if not values:
            raise ValueError("auto-ratings need at least one value")
        self.values = [float(v) for v in values]
        self._next = 0

    @classmethod
    def parse(cls, text: str) -> AutoRatings:
        """Read ``constant:V`` or ``V1,V2,...``; ValueError naming the allowed formats."""
        body = text.strip()
        if body.startswith("constant:"):
            body = body[len("constant:"):]
            if "," in body:
                raise ValueError(f"auto-ratings {text!r}: constant takes one value; "
                                 "allowed: constant:V or V1,V2,...")
        try:
            return cls([float(v) for v in body.split(",")])
        except ValueError:
            raise ValueError(f"auto-ratings {text!r} is not understood; allowed: constant:V "
                             "(e.g. constant:3) or a list V1,V2,... (e.g. 2,4,9)") from None

    def check(self, protocol: Protocol) -> None:
        """ValueError unless every value lies on every rating scale of ``protocol``."""
        for phase in protocol.phases:
            if phase.rating is not None:
                for value in self.values:
                    phase.rating.check(value)

    def __call__(self, phase: Phase) -> float:
        value = self.values[min(self._next, len(self.values) - 1)]
        self._next += 1
        return value
