"""The runner's controls and stop rules on a fast session clock, without devices."""
from __future__ import annotations

import asyncio

import pytest

from biofeed.clock import SessionClock
from biofeed.protocol.ratings import AutoRatings
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import Phase, Protocol, Rating, StopRule
from biofeed.stream import Event

SUDS = Rating("SUDS", "How distressed?")
PROTOCOL = Protocol("unit", (
    Phase("baseline", "baseline", 10.0),
    Phase("p1", "prompt", 10.0, "recall one", stressor=True, prompt_id="one"),
    Phase("suds1", "rating", 5.0, rating=SUDS),
    Phase("p2", "prompt", 10.0, "recall two", stressor=True),
    Phase("suds2", "rating", 5.0, rating=SUDS),
    Phase("recovery", "recovery", 10.0, "rest"),
    Phase("end", "rest", 5.0),
), stop_rules=(StopRule("rating", 8), StopRule("arousal", 2.0, 5.0)))
SPEED = 50.0        # session seconds per real second
TOL = 0.6           # session seconds of scheduling slack for controls (12 ms real)


class Bus:
    """Collects events like the engine does (a rewrite with the same id replaces the event)."""

    def __init__(self) -> None:
        self.events: dict[int, Event] = {}

    def emit(self, onset, duration, label, kind, payload=None, id=None) -> Event:
        ev = Event(len(self.events) + 1 if id is None else id, onset, duration, label, kind, dict(payload or {}))
        self.events[ev.id] = ev
        return ev

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events.values() if e.kind == kind]

    def phase(self, label: str) -> Event:
        return next(e for e in self.of("phase") if e.label == label)


def run(runner: ProtocolRunner, script=None, until: float = 1e9) -> Bus:
    """Run ``runner`` on a fast clock; ``script(runner, clock)`` drives the controls meanwhile."""
    bus, clock = Bus(), SessionClock(SPEED)

    async def main():
        clock.start()
        task = asyncio.create_task(runner.run(clock, bus.emit, until))
        if script is not None:
            await script(runner, clock)
        await asyncio.wait_for(task, 10.0)

    asyncio.run(main())
    return bus


def at(t: float):
    """Sleep until session time ``t``."""
    async def wait(clock):
        await clock.sleep_until(t)
    return wait


def test_uninterrupted_run_is_on_schedule_and_ends():
    ended = []
    bus = run(ProtocolRunner(PROTOCOL, auto_ratings=AutoRatings([3]), on_end=ended.append))
    assert [(e.label, e.onset, e.duration) for e in bus.of("phase")] == [
        ("baseline", 0, 10), ("p1", 10, 10), ("suds1", 20, 5), ("p2", 25, 10), ("suds2", 35, 5),
        ("recovery", 40, 10), ("end", 50, 5)]
    assert [(e.label, e.onset, e.payload["value"]) for e in bus.of("rating")] == [("suds1", 20, 3), ("suds2", 35, 3)]
    assert bus.of("prompt")[0].payload == {"text": "recall one", "prompt_id": "one"}
    assert bus.of("protocol_end")[0].onset == 55 and ended == ["end of protocol"]
    assert bus.of("protocol")[0].payload["order"][0] == "baseline"


def test_pause_and_resume_extend_the_phase_and_are_recorded():
    runner = ProtocolRunner(PROTOCOL, auto_ratings=AutoRatings([3]))
    seen = {}

    async def script(runner, clock):
        await at(3.0)(clock)
        runner.pause("participant coughing")
        await at(4.5)(clock)
        seen["paused"] = runner.state_at(clock.now())
        seen["future"] = runner.state_at(clock.now() + 100.0)
        await at(6.0)(clock)
        runner.resume()

    bus = run(runner, script)
    pause = bus.of("pause")[0]
    assert pause.onset == pytest.approx(3.0, abs=TOL) and pause.duration == pytest.approx(3.0, abs=2 * TOL)
    assert pause.payload == {"phase": "baseline", "note": "participant coughing"}
    assert bus.of("resume")[0].onset == pytest.approx(pause.onset + pause.duration)
    base = bus.phase("baseline")
    assert base.duration == pytest.approx(10.0 + pause.duration) and base.payload["ended"] == "completed"
    assert base.payload["paused_s"] == pytest.approx(pause.duration)
    assert bus.phase("p1").onset == pytest.approx(base.duration)
    assert seen["paused"].paused and seen["paused"].phase.label == "paused"
    assert seen["future"].paused                       # the plan as of now: still paused


def test_skip_abort_and_marker():
    runner = ProtocolRunner(PROTOCOL, auto_ratings=AutoRatings([3]))

    async def script(runner, clock):
        await at(2.0)(clock)
        runner.skip("already settled")
        await at(5.0)(clock)
        runner.marker("participant tearful")
        await at(8.0)(clock)
        runner.abort("participant asked to stop")

    bus = run(runner, script)
    skip, marker, abort = bus.of("skip")[0], bus.of("marker")[0], bus.of("abort")[0]
    assert skip.onset == pytest.approx(2.0, abs=TOL) and skip.payload["phase"] == "baseline"
    assert bus.phase("baseline").duration == pytest.approx(skip.onset)
    assert bus.phase("baseline").payload["ended"] == "skipped"
    assert bus.phase("p1").onset == skip.onset
    assert marker.payload == {"note": "participant tearful", "phase": "p1"}
    assert abort.payload["skipped"] == ["suds1", "p2", "suds2"] and abort.payload["to"] == "recovery"
    assert abort.payload["note"] == "participant asked to stop" and abort.payload["phase"] == "p1"
    assert bus.phase("p1").payload["ended"] == "aborted"
    assert bus.phase("recovery").onset == abort.onset
    assert [e.label for e in bus.of("phase")] == ["baseline", "p1", "recovery", "end"]


def test_rating_at_threshold_skips_remaining_stressors_to_recovery():
    alerts = []
    runner = ProtocolRunner(PROTOCOL, auto_ratings=AutoRatings([9]), alert=alerts.append)
    assert runner.state_at(26.0).phase.label == "p2"          # the plan before the run
    bus = run(runner)
    stop = bus.of("stop_rule")[0]
    assert stop.onset == 20.0 and stop.payload["skipped"] == ["p2", "suds2"]
    assert stop.payload["to"] == "recovery" and "SUDS rating 9 at or above the stop threshold 8" in stop.payload["reason"]
    assert bus.phase("recovery").onset == 20.0
    assert [e.label for e in bus.of("phase")] == ["baseline", "p1", "suds1", "recovery", "end"]
    assert len(alerts) == 1 and "stop rule" in alerts[0]
    assert runner.state_at(26.0).phase.label == "recovery"    # the plan after the jump
    assert runner.stopped_by == StopRule("rating", 8)


def test_rating_below_threshold_and_missing_ratings():
    async def script(runner, clock):
        await at(1.0)(clock)
        with pytest.raises(ValueError, match="no rating is being asked now"):
            runner.rate(3)
        await at(21.0)(clock)
        with pytest.raises(ValueError, match="SUDS rating must be 0-10, got 11"):
            runner.rate(11)
        runner.rate(4)

    bus = run(ProtocolRunner(PROTOCOL), script)
    ratings = bus.of("rating")
    assert [(r.label, r.payload["value"]) for r in ratings] == [("suds1", 4.0), ("suds2", None)]
    assert ratings[1].payload["missing"] and ratings[0].payload["source"] == "clinician"
    assert not bus.of("stop_rule")


def test_sustained_arousal_triggers_the_stop_rule():
    async def script(runner, clock):
        await at(12.0)(clock)
        for t in range(11):                    # above 2 SD at 0-3 s, a break at 4 s, above from 5 s
            runner.observe_arousal(float(t), 1.0 if t == 4 else 2.5)

    bus = run(ProtocolRunner(PROTOCOL, auto_ratings=AutoRatings([3])), script)
    stop = bus.of("stop_rule")[0]
    assert stop.onset == pytest.approx(12.0, abs=TOL) and stop.payload["rule"]["kind"] == "arousal"
    assert "above 2 SD for 5 s (from 5 s to 10 s)" in stop.payload["reason"]
    assert [e.label for e in bus.of("phase")] == ["baseline", "p1", "recovery", "end"]


def test_auto_ratings_formats():
    assert AutoRatings.parse("constant:7").values == [7.0]
    auto = AutoRatings.parse("2, 4,9")
    assert [auto(None) for _ in range(4)] == [2.0, 4.0, 9.0, 9.0]
    for bad in ("seven", "constant:1,2", ""):
        with pytest.raises(ValueError, match="allowed: constant:V"):
            AutoRatings.parse(bad)
    with pytest.raises(ValueError, match="SUDS rating must be 0-10, got 12"):
        AutoRatings.parse("12").check(PROTOCOL)


def test_terminal_commands_map_to_the_controls():
    from biofeed.protocol.terminal import handle

    answers = []

    async def script(runner, clock):
        await at(1.0)(clock)
        answers.extend([handle(runner, "m checked electrodes"), handle(runner, "m"),
                        handle(runner, "x"), handle(runner, "4")])
        await at(21.0)(clock)
        answers.append(handle(runner, "5"))
        await at(26.0)(clock)
        answers.append(handle(runner, "a enough"))

    bus = run(ProtocolRunner(PROTOCOL), script)
    assert answers[0] == "ok: m checked electrodes" and answers[1] == "a marker needs a note: m NOTE"
    assert answers[2].startswith("unknown command 'x'; type a rating")
    assert answers[3].startswith("no rating is being asked now") and answers[4] == "ok: 5"
    assert bus.of("marker")[0].payload["note"] == "checked electrodes"
    assert [(r.label, r.payload["value"], r.payload["source"]) for r in bus.of("rating")] == [("suds1", 5.0, "terminal")]
    assert bus.of("abort")[0].payload["note"] == "enough"
