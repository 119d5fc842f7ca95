"""The protocol runner: a clock-driven state machine over a protocol's phases.

It emits one ``phase`` event per phase when the phase starts (onset on the schedule, planned
duration) and writes it again with the actual duration if the session ends inside the phase.
Prompt phases also emit a ``prompt`` event carrying the text. Its :meth:`state_at` tells the
simulated sensor, the pacer and the GUI what the participant is doing at any session time.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from itertools import accumulate
from typing import Callable

from ..clock import SessionClock
from ..stream import Event
from .schedule import Phase, Protocol

#: ``emit(onset, duration, label, kind, payload, id=None) -> Event``, provided by the engine.
EmitEvent = Callable[..., Event]


@dataclass(frozen=True)
class ProtocolState:
    """What the protocol asks for at one session time."""

    index: int          #: phase number, 0-based
    phase: Phase
    onset: float        #: session time the phase started, seconds
    elapsed: float      #: seconds since the phase started

    @property
    def pacer_volume(self) -> float | None:
        """Target lung volume 0..1 of the pacer, or None when the phase has no pacer."""
        return None if self.phase.pacer is None else self.phase.pacer.volume(self.elapsed)


class ProtocolRunner:
    """Runs a :class:`Protocol` on the session clock, starting at session time 0."""

    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self._onsets = [0.0, *accumulate(p.duration_s for p in protocol.phases)][:-1]
        self._events: list[Event] = []

    @property
    def duration_s(self) -> float:
        """Planned total length, seconds."""
        return self.protocol.duration_s

    def state_at(self, t: float) -> ProtocolState | None:
        """The phase running at session time ``t`` (seconds); None before 0 or after the end."""
        if t < 0 or t >= self.duration_s:
            return None
        i = bisect.bisect_right(self._onsets, t) - 1
        return ProtocolState(i, self.protocol.phases[i], self._onsets[i], t - self._onsets[i])

    async def run(self, clock: SessionClock, emit: EmitEvent, until: float) -> None:
        """Emit each phase's events at its scheduled onset, up to session time ``until`` (s)."""
        for onset, phase in zip(self._onsets, self.protocol.phases):
            if onset >= until:
                break
            await clock.sleep_until(onset)
            payload = {"phase_kind": phase.kind, "stressor": phase.stressor}
            if phase.pacer is not None:
                payload |= {"pacer_rate_bpm": phase.pacer.rate_bpm,
                            "inhale_fraction": phase.pacer.inhale_fraction}
            self._events.append(emit(onset, phase.duration_s, phase.label, "phase", payload))
            if phase.text:
                self._events.append(emit(onset, phase.duration_s, phase.label,
                                         "prompt" if phase.kind == "prompt" else "instruction",
                                         {"text": phase.text}))

    def finish(self, emit: EmitEvent, t_end: float) -> None:
        """Shorten the events of a phase still running at session end ``t_end`` (seconds)."""
        for ev in self._events:
            if ev.onset + ev.duration > t_end:
                emit(ev.onset, max(0.0, t_end - ev.onset), ev.label, ev.kind,
                     ev.payload | {"planned_duration_s": ev.duration, "truncated": True}, id=ev.id)
