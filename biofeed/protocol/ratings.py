"""Unattended ratings for headless runs: ``--auto-ratings`` answers every rating phase.

Formats (one string):

- ``constant:V``: every rating is ``V`` (e.g. ``constant:3``);
- ``V1,V2,...``: ratings in the order the rating phases come; the last value repeats once the
  list is used up (e.g. ``2,4,9`` gives 2, 4, 9, 9, ...);
- per participant of a dyad, for per-person ratings: ``LABEL=VALUES`` parts joined by ``;``,
  each ``VALUES`` in one of the forms above, e.g. ``a=2,3;b=constant:9``; a part without
  ``LABEL=`` answers for everyone without a list of their own and for ratings of the whole
  session (``constant:2;b=2,9``: b answers 2 then 9, anyone else 2). Each list runs on by
  itself: the n-th rating a participant gives is the n-th value of their list.

Values are numbers on the rating scales of the protocol (SUDS 0-10: Subjective Units of
Distress; see the domain notes, safety).
"""
from __future__ import annotations

from .schedule import Phase, Protocol

_FORMATS = ("allowed: constant:V (e.g. constant:3), a list V1,V2,... (e.g. 2,4,9), or per "
            "participant LABEL=VALUES joined by ';' (e.g. a=2,3;b=constant:9)")


def _values(text: str, whole: str) -> list[float]:
    body = text.strip()
    if body.startswith("constant:"):
        body = body[len("constant:"):]
        if "," in body:
            raise ValueError(f"auto-ratings {whole!r}: constant takes one value; {_FORMATS}")
    try:
        return [float(v) for v in body.split(",")]
    except ValueError:
        raise ValueError(f"auto-ratings {whole!r} is not understood; {_FORMATS}") from None


class AutoRatings:
    """A callable ``auto(phase, participant=None) -> value`` giving the next unattended rating:
    of ``participant`` (a device label) for per-person ratings, else of the session.

    Parameters
    ----------
    values : list of float
        The list for everyone without one of their own (may be empty when every participant
        has one and no rating is for the whole session).
    by_participant : dict, optional
        Device label -> that participant's list.
    """

    def __init__(self, values: list[float], by_participant: dict[str, list[float]] | None = None) -> None:
        self.values = [float(v) for v in values]
        self.by_participant = {k: [float(v) for v in vs] for k, vs in (by_participant or {}).items()}
        if not self.values and not self.by_participant:
            raise ValueError("auto-ratings need at least one value")
        self._next: dict[str | None, int] = {}

    @classmethod
    def parse(cls, text: str) -> AutoRatings:
        """Read the formats of the module notes; ValueError naming them."""
        everyone: list[float] = []
        own: dict[str, list[float]] = {}
        for part in text.split(";"):
            label, sep, body = part.partition("=")
            if not sep:
                if everyone:
                    raise ValueError(f"auto-ratings {text!r}: two lists for everyone; {_FORMATS}")
                everyone = _values(part, text)
                continue
            label = label.strip()
            if not label or label in own:
                raise ValueError(f"auto-ratings {text!r}: {'an empty' if not label else 'a repeated'} "
                                 f"participant label {label!r}; {_FORMATS}")
            own[label] = _values(body, text)
        return cls(everyone, own)

    def check(self, protocol: Protocol) -> None:
        """ValueError unless every value lies on every rating scale of ``protocol``."""
        values = self.values + [v for vs in self.by_participant.values() for v in vs]
        for phase in protocol.phases:
            if phase.rating is not None:
                for value in values:
                    phase.rating.check(value)

    def __call__(self, phase: Phase, participant: str | None = None) -> float:
        key = participant if participant in self.by_participant else None
        values = self.values if key is None else self.by_participant[key]
        if not values:
            raise ValueError(f"auto-ratings have no values for participant {participant!r} "
                             f"(lists for {sorted(self.by_participant)}); add {participant}=V "
                             "or a list for everyone")
        i = self._next.get(participant, 0)
        self._next[participant] = i + 1
        return values[min(i, len(values) - 1)]
