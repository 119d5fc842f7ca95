"""The protocol runner: a clock-driven state machine over a protocol's phases.

Phases follow each other at their planned ends on the session clock, so a run without
interventions puts every onset exactly on the schedule. Controls change the plan at the current
session time and are recorded as events:

- :meth:`pause` / :meth:`resume`: the phase stops and later continues where it was (a paused
  pacer phase continues its breath cycle); ``pause`` (duration = length of the pause) and
  ``resume`` events; the phase event's duration then spans the pause (``paused_s`` in it);
- :meth:`skip`: the current phase ends now and the next one starts (``skip`` event);
- :meth:`abort`: remaining stressors are dropped and the next ``recovery`` phase starts now;
  without a recovery phase ahead the protocol ends (``abort`` event with the note);
- :meth:`marker`: a clinician marker with a note (``marker`` event);
- :meth:`rate`: a rating in a ``rating`` phase (``rating`` event). With ``auto_ratings`` the
  runner answers each rating phase itself at its onset; a rating phase that ends unanswered
  records a rating with ``value`` None (``missing``). A per-person rating
  (:attr:`~biofeed.protocol.schedule.Rating.per_person`, a dyad) is asked of each of
  :attr:`ProtocolRunner.participants` (device labels): one ``rating`` event each, with
  ``participant`` in its payload, and a missing one for each who did not answer;
- stop rules (:class:`~biofeed.protocol.schedule.StopRule`): a rating at or above the threshold,
  or the arousal index above its threshold for ``for_s`` s (fed by
  :class:`biofeed.protocol.watch.ArousalWatch`, one per participant), while stressors remain,
  skip to the recovery phase after the last stressor, drop every stressor left, record a
  ``stop_rule`` event with the reason and call ``alert`` (the clinician's attention). Rules
  are per person: in a dyad either participant's rating or arousal stops the task for both,
  and the event names who (``participant``) and what (``reason``, ``value``).

Events: ``protocol`` at 0 (seed and run order), ``phase`` at each onset (planned duration,
re-written with the actual duration when a phase ends early or is paused), ``prompt`` /
``instruction`` with the participant text, and the control events above. Safety logic follows
the domain notes (SUDS after each prompt, recovery after stressors; no published numeric stop
threshold exists, so it is the protocol's documented choice).

:meth:`state_at` answers for any session time from the plan as it stands now (the past as it
happened, the future as scheduled), which drives the simulated sensor, the pacer and the GUI.
Controls are thread-safe: they queue a command that the runner's task applies on its loop.
"""
from __future__ import annotations

import asyncio
import bisect
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ..clock import SessionClock
from ..stream import Event
from .schedule import Phase, Protocol, StopRule

#: ``emit(onset, duration, label, kind, payload, id=None) -> Event``, provided by the engine.
EmitEvent = Callable[..., Event]

#: What :meth:`ProtocolRunner.state_at` reports during a pause (the participant rests).
PAUSED = Phase("paused", "rest", math.inf, "The session is paused.")


@dataclass(frozen=True)
class ProtocolState:
    """What the protocol asks for at one session time."""

    index: int          #: phase number, 0-based
    phase: Phase        #: the phase (:data:`PAUSED` during a pause)
    onset: float        #: session time the phase started, seconds
    elapsed: float      #: seconds of the phase run so far (pauses excluded)
    paused: bool = False

    @property
    def pacer_volume(self) -> float | None:
        """Target lung volume 0..1 of the pacer, or None when the phase has no pacer."""
        return None if self.phase.pacer is None else self.phase.pacer.volume(self.elapsed)


@dataclass(frozen=True)
class _Segment:
    start: float        #: session time, s
    index: int          #: phase index; -1 once the protocol has ended
    offset: float       #: seconds of the phase already run before this segment
    paused: bool = False


class ProtocolRunner:
    """Runs a :class:`Protocol` on the session clock, starting at session time 0.

    Parameters
    ----------
    protocol : Protocol
    auto_ratings : callable, optional
        ``auto_ratings(phase) -> value``: answers every rating phase at its onset (unattended
        runs; see :mod:`biofeed.protocol.ratings`).
    alert : callable, optional
        ``alert(message)``: told when a stop rule fires (terminal, GUI).
    on_end : callable, optional
        ``on_end(reason)``: called when the last phase is over (a session of open length stops
        there).
    participants : sequence of str
        Device labels of the session's participants ("" for an unlabelled one), who answer
        per-person ratings; ``auto_ratings(phase, participant)`` answers for each.
    """

    def __init__(self, protocol: Protocol, *, auto_ratings: Callable[..., float] | None = None,
                 alert: Callable[[str], None] | None = None,
                 on_end: Callable[[str], None] | None = None,
                 participants: Sequence[str] = ("",)) -> None:
        self.protocol = protocol
        self.auto_ratings, self.alert, self.on_end = auto_ratings, alert, on_end
        self.participants = tuple(participants)
        phases = protocol.phases
        self._lock = threading.Lock()
        self._segments = [_Segment(0.0, 0, 0.0)]
        self._starts = [0.0]
        self._queue = list(range(1, len(phases)))
        stressors = [i for i, p in enumerate(phases) if p.stressor]
        self._first_stressor = stressors[0] if stressors else len(phases)
        self._safe = next((i for i in range(stressors[-1] + 1, len(phases))
                           if phases[i].kind == "recovery"), None) if stressors else None
        self.stopped_by: StopRule | None = None
        self._above_since: dict[str, float] = {}       # participant -> since, s
        self._events: dict[int, Event] = {}
        self._current: list[int] = []           # ids of the running phase's events
        self._onset = 0.0                       # session time the running phase started
        self._rated: set[str | None] = set()      # who answered the running rating phase
        self._pause: Event | None = None
        self._commands: list[Callable[[float], None]] = []
        self._clock: SessionClock | None = None
        self._emit: EmitEvent | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    @property
    def duration_s(self) -> float:
        """Planned total length, seconds."""
        return self.protocol.duration_s

    @property
    def ended(self) -> bool:
        """True once the last phase is over (or an abort ended the protocol)."""
        return self._segments[-1].index < 0

    # -- the plan --------------------------------------------------------------------------
    def state_at(self, t: float) -> ProtocolState | None:
        """The phase running at session time ``t`` (seconds); None before 0 or after the end."""
        if t < 0:
            return None
        with self._lock:
            k = bisect.bisect_right(self._starts, t) - 1
            seg = self._segments[k]
            last = k == len(self._segments) - 1
            queue = list(self._queue) if last else []
        phases = self.protocol.phases
        if seg.index < 0:
            return None
        if seg.paused:
            return ProtocolState(seg.index, PAUSED, seg.start, t - seg.start, paused=True)
        onset, elapsed = seg.start - seg.offset, t - seg.start + seg.offset
        if not last or elapsed < phases[seg.index].duration_s:
            return ProtocolState(seg.index, phases[seg.index], onset, elapsed)
        onset = seg.start + phases[seg.index].duration_s - seg.offset
        for i in queue:
            if t < onset + phases[i].duration_s:
                return ProtocolState(i, phases[i], onset, t - onset)
            onset += phases[i].duration_s
        return None

    def _set_segment(self, seg: _Segment) -> None:
        with self._lock:
            if self._starts[-1] == seg.start:       # nothing happened in the old segment
                self._segments[-1] = seg
            else:
                self._segments.append(seg)
                self._starts.append(seg.start)

    def _planned_end(self) -> float:
        seg = self._segments[-1]
        if seg.paused or seg.index < 0:
            return math.inf
        return seg.start + self.protocol.phases[seg.index].duration_s - seg.offset

    # -- running ---------------------------------------------------------------------------
    async def run(self, clock: SessionClock, emit: EmitEvent, until: float) -> None:
        """Run the phases on ``clock`` up to session time ``until`` (s), emitting events."""
        self._clock, self._emit = clock, emit
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        self._record(0.0, 0.0, self.protocol.name, "protocol",
                     {"version": self.protocol.version, "seed": self.protocol.seed,
                      "source": self.protocol.source,
                      "order": [p.label for p in self.protocol.phases]})
        self._begin(0, 0.0)
        while not self.ended:
            end = self._planned_end()
            sleeper = asyncio.ensure_future(clock.sleep_until(min(end, until)))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                done, _ = await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()
            if waker in done:
                self._wake.clear()
                self._apply_commands()
            elif end >= until:
                return
            else:
                self._advance(end)

    def _apply_commands(self) -> None:
        now = self._clock.now()
        while self._planned_end() <= now:          # phases that ended before the command came
            self._advance(self._planned_end())
        with self._lock:
            commands, self._commands = self._commands, []
        for command in commands:
            command(now)

    def _submit(self, command: Callable[[float], None]) -> None:
        if self._loop is None:
            raise RuntimeError("the protocol is not running")
        with self._lock:
            self._commands.append(command)
        self._loop.call_soon_threadsafe(self._wake.set)

    def _record(self, onset: float, duration: float, label: str, kind: str, payload: dict,
                id: int | None = None) -> Event:
        ev = self._emit(onset, duration, label, kind, payload, id=id)
        self._events[ev.id] = ev
        return ev

    def _begin(self, index: int, at: float) -> None:
        """Start phase ``index`` at session time ``at`` (s)."""
        phase = self.protocol.phases[index]
        self._set_segment(_Segment(at, index, 0.0))
        self._onset, self._rated = at, set()
        payload = {"index": index, "phase_kind": phase.kind, "stressor": phase.stressor}
        if phase.prompt_id:
            payload["prompt_id"] = phase.prompt_id
        if phase.notes:
            payload["notes"] = phase.notes
        if phase.pacer is not None:
            payload |= {"pacer_rate_bpm": phase.pacer.rate_bpm,
                        "inhale_fraction": phase.pacer.inhale_fraction, "pacer": phase.pacer.to_dict()}
        if phase.rating is not None:
            payload["rating"] = phase.rating.to_dict()
        self._current = [self._record(at, phase.duration_s, phase.label, "phase", payload).id]
        if phase.text:
            kind = "prompt" if phase.kind == "prompt" else "instruction"
            extra = {"prompt_id": phase.prompt_id} if phase.prompt_id else {}
            self._current.append(self._record(at, phase.duration_s, phase.label, kind,
                                              {"text": phase.text} | extra).id)
        if phase.rating is not None and self.auto_ratings is not None:
            if phase.rating.per_person:     # everyone answers, then the stop rules look
                given = [(who, self._record_rating(self.auto_ratings(phase, who), "auto", at, who))
                         for who in self.participants]
                for who, value in given:
                    self._rating_rules(phase, value, at, who)
            else:
                self._rating(self.auto_ratings(phase), "auto", at)

    def _close(self, at: float, ended: str) -> None:
        """End the running phase at ``at`` (s); re-write its events when it did not run as planned."""
        index = self._segments[-1].index
        phase = self.protocol.phases[index]
        if phase.rating is not None:
            for who in self._askees(phase):
                if who not in self._rated:
                    self._record(at, 0.0, phase.label, "rating",
                                 {"value": None, "missing": True, **phase.rating.to_dict()}
                                 | ({} if who is None else {"participant": who}))
        span = at - self._onset
        segs = self._segments
        paused = sum(b.start - a.start for a, b in pairwise(segs) if a.paused and a.start >= self._onset)
        if ended == "completed" and not paused:
            return
        for id in self._current:
            ev = self._events[id]
            self._record(ev.onset, span, ev.label, ev.kind,
                         ev.payload | {"planned_duration_s": phase.duration_s, "ended": ended,
                                       "paused_s": paused}, id=id)

    def _advance(self, at: float) -> None:
        """The running phase reached its planned end at ``at`` (s): start the next one."""
        self._close(at, "completed")
        self._next(at)

    def _next(self, at: float) -> None:
        if self._queue:
            self._begin(self._queue.pop(0), at)
        else:
            self._finish_protocol(at)

    def _finish_protocol(self, at: float) -> None:
        self._set_segment(_Segment(at, -1, 0.0))
        self._record(at, 0.0, self.protocol.name, "protocol_end", {})
        if self.on_end is not None:
            self.on_end("end of protocol")

    def _jump_to_recovery(self, at: float, target: int | None, ended: str) -> list[str]:
        """Drop the phases before ``target`` and every stressor left; start ``target`` at ``at``."""
        phases = self.protocol.phases
        keep = [i for i in self._queue if target is not None and i >= target and not phases[i].stressor]
        skipped = [phases[i].label for i in self._queue if i not in keep]
        self._close(at, ended)
        with self._lock:
            self._queue = keep
        self._next(at)
        return skipped

    # -- controls (any thread) -------------------------------------------------------------
    def pause(self, note: str = "") -> None:
        """Pause the running phase now; :meth:`resume` continues it."""
        self._submit(lambda now: self._do_pause(now, note))

    def resume(self) -> None:
        """Continue the paused phase where it stopped."""
        self._submit(self._do_resume)

    def skip(self, note: str = "") -> None:
        """End the running phase now and start the next one."""
        self._submit(lambda now: self._do_skip(now, note))

    def abort(self, note: str = "") -> None:
        """Drop the remaining stressors and go to the next recovery phase now (or end)."""
        self._submit(lambda now: self._do_abort(now, note))

    def marker(self, note: str) -> None:
        """Record a clinician marker with a note, now."""
        self._submit(lambda now: self._record(now, 0.0, "marker", "marker",
                                              {"note": note, "phase": self._label()}))

    def _askees(self, phase: Phase) -> tuple[str | None, ...]:
        """Who answers a rating phase: each participant (per-person ratings), or None (one
        rating for the session)."""
        return self.participants if phase.rating.per_person else (None,)

    def rate(self, value: float, source: str = "clinician", participant: str | None = None) -> None:
        """Record a rating for the running rating phase (checked against its scale); for a
        per-person rating, ``participant`` (a device label of :attr:`participants`) says whose."""
        if self._clock is None:
            raise RuntimeError("the protocol is not running")
        state = self.state_at(self._clock.now())
        if state is None or state.phase.rating is None:
            raise ValueError(f"no rating is being asked now (phase {state.phase.label if state else '-'!r})")
        rating = state.phase.rating
        if rating.per_person and participant is None and len(self.participants) == 1:
            participant = self.participants[0]           # one participant: theirs
        if rating.per_person and participant not in self.participants:
            raise ValueError(f"{rating.scale} in {state.phase.label!r} is asked of each participant: "
                             f"say whose rating ({', '.join(map(repr, self.participants))}), got "
                             f"{participant!r}")
        if not rating.per_person and participant is not None:
            raise ValueError(f"{rating.scale} in {state.phase.label!r} is one rating for the "
                             f"session, not per participant (got participant {participant!r})")
        rating.check(value)
        self._submit(lambda now: self._rating(value, source, now, participant))

    def observe_arousal(self, t: float, value: float, participant: str = "") -> None:
        """One arousal-index sample (session time ``t`` s, baseline SDs) of ``participant``
        (device label, "" when unlabelled) for the arousal stop rules."""
        rules = [r for r in self.protocol.stop_rules if r.kind == "arousal"]
        if not rules or not self._rules_active():
            self._above_since.pop(participant, None)
            return
        rule = min(rules, key=lambda r: r.for_s)
        if not (math.isfinite(value) and value > rule.threshold):
            self._above_since.pop(participant, None)
            return
        since = self._above_since.setdefault(participant, t)
        if t - since >= rule.for_s:
            del self._above_since[participant]
            whose = f"{participant}'s " if participant else ""
            self._submit(lambda now: self._stop_rule(
                now, rule, value, f"{whose}arousal index above {rule.threshold:g} SD for "
                f"{t - since:.0f} s (from {since:.0f} s to {t:.0f} s)", participant or None))

    # -- applied on the loop ---------------------------------------------------------------
    def _label(self) -> str:
        seg = self._segments[-1]
        return "-" if seg.index < 0 else self.protocol.phases[seg.index].label

    def _do_pause(self, now: float, note: str) -> None:
        seg = self._segments[-1]
        if seg.paused or seg.index < 0:
            return
        self._set_segment(_Segment(now, seg.index, seg.offset + now - seg.start, paused=True))
        self._pause = self._record(now, 0.0, "pause", "pause", {"phase": self._label(), "note": note})

    def _do_resume(self, now: float) -> None:
        seg = self._segments[-1]
        if not seg.paused:
            return
        self._set_segment(_Segment(now, seg.index, seg.offset))
        ev, self._pause = self._pause, None
        self._record(ev.onset, now - ev.onset, ev.label, ev.kind, ev.payload, id=ev.id)
        self._record(now, 0.0, "resume", "resume", {"phase": self._label(), "paused_s": now - ev.onset})

    def _end_pause(self, now: float) -> None:
        if self._segments[-1].paused:
            self._do_resume(now)

    def _do_skip(self, now: float, note: str) -> None:
        if self.ended:
            return
        self._end_pause(now)
        label = self._label()
        self._record(now, 0.0, "skip", "skip", {"phase": label, "note": note,
                                                "elapsed_s": now - self._onset})
        self._close(now, "skipped")
        self._next(now)

    def _do_abort(self, now: float, note: str) -> None:
        if self.ended:
            return
        self._end_pause(now)
        index = self._segments[-1].index
        phases = self.protocol.phases
        target = next((i for i in self._queue if phases[i].kind == "recovery"), None)
        label = self._label()
        skipped = self._jump_to_recovery(now, target, "aborted")
        self._record(now, 0.0, "abort", "abort",
                     {"phase": label, "index": index, "note": note, "skipped": skipped,
                      "to": None if target is None else phases[target].label})

    def _rating(self, value: float, source: str, at: float, participant: str | None = None) -> None:
        phase = self.protocol.phases[self._segments[-1].index]
        self._rating_rules(phase, self._record_rating(value, source, at, participant), at,
                           participant)

    def _record_rating(self, value: float, source: str, at: float,
                       participant: str | None) -> float:
        """Record a rating of the running phase (``participant``: whose, per-person ratings)."""
        phase = self.protocol.phases[self._segments[-1].index]
        value = phase.rating.check(value)
        self._rated.add(participant)
        self._record(at, 0.0, phase.label, "rating",
                     {"value": value, "source": source, **phase.rating.to_dict()}
                     | ({} if participant is None else {"participant": participant}))
        return value

    def _rating_rules(self, phase: Phase, value: float, at: float,
                      participant: str | None) -> None:
        """The rating stop rules, for a rating ``value`` given in ``phase``."""
        for rule in self.protocol.stop_rules:
            if rule.kind == "rating" and value >= rule.threshold and self._rules_active():
                by = f" by {participant}" if participant else ""
                self._stop_rule(at, rule, value, f"{phase.rating.scale} rating {value:g}{by} at "
                                f"or above the stop threshold {rule.threshold:g}", participant)
                break

    def _rules_active(self) -> bool:
        seg = self._segments[-1]
        return (self.stopped_by is None and self._safe is not None and seg.index >= 0
                and self._first_stressor <= seg.index < self._safe)

    def _stop_rule(self, at: float, rule: StopRule, value: float, reason: str,
                   participant: str | None = None) -> None:
        if not self._rules_active():
            return
        self.stopped_by = rule
        self._end_pause(at)
        label, target = self._label(), self._safe
        skipped = self._jump_to_recovery(at, target, "stop rule")
        self._record(at, 0.0, "stop_rule", "stop_rule",
                     {"rule": rule.to_dict(), "value": value, "reason": reason, "phase": label,
                      "skipped": skipped, "to": self.protocol.phases[target].label}
                     | ({} if participant is None else {"participant": participant}))
        if self.alert is not None:
            self.alert(f"stop rule at {at:.1f} s: {reason}; skipped {len(skipped)} phase(s), "
                       f"now {self.protocol.phases[target].label!r}")

    def finish(self, emit: EmitEvent, t_end: float) -> None:
        """Shorten the events still running at session end ``t_end`` (seconds)."""
        if self._pause is not None:
            ev = self._pause
            emit(ev.onset, t_end - ev.onset, ev.label, ev.kind, ev.payload | {"truncated": True}, id=ev.id)
        for ev in self._events.values():
            if ev.onset + ev.duration > t_end:
                emit(ev.onset, max(0.0, t_end - ev.onset), ev.label, ev.kind,
                     ev.payload | {"planned_duration_s": ev.duration, "truncated": True}, id=ev.id)
