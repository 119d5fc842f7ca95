"""Dyad protocols: the library's conflict, support and co-regulation protocols, per-person
ratings (runner, --auto-ratings, terminal), per-person stop rules that stop the task for both
and say who, and a headless run with two simulated participants."""
from __future__ import annotations

import re

import numpy as np
import pytest

import biofeed as bf
from biofeed.cli import main
from biofeed.protocol.library import load
from biofeed.protocol.loader import ProtocolError, parse
from biofeed.protocol.ratings import AutoRatings
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import Phase, Protocol, Rating, StopRule
from biofeed.protocol.terminal import handle

from test_runner import TOL, run

DYADS = ("dyad-conflict-discussion", "dyad-support", "dyad-co-regulation")


@pytest.mark.parametrize("name", DYADS)
def test_the_dyad_protocols_in_the_library(name):
    p = load(name)
    assert p.participants == 2 and len(p.references) >= 4
    assert p.phases[0].label == "consent" and p.phases[-1].label == "debrief"
    assert any("consent" in note for note in p.safety_notes)
    assert p.phases[1].kind == "baseline" and p.phases[1].duration_s == 300
    ratings = [ph.rating for ph in p.phases if ph.rating is not None]
    assert ratings and all(r.per_person for r in ratings)
    stressors = [i for i, ph in enumerate(p.phases) if ph.stressor]
    for i in stressors:                           # a rating of each person after each task
        assert p.phases[i + 1].rating.per_person and p.phases[i + 1].rating.scale == "SUDS"
    if stressors:                                 # stop rules and a recovery after the tasks
        assert [r.threshold for r in p.stop_rules if r.kind == "rating"] == [8]
        assert any(ph.kind == "recovery" for ph in p.phases[stressors[-1] + 1:])
    else:
        assert not p.stop_rules and any(ph.kind == "paced_breathing" for ph in p.phases)


def test_the_conflict_discussion_follows_the_issue():
    p = load("dyad-conflict-discussion")
    talk = [ph for ph in p.phases if ph.stressor]
    assert sum(ph.duration_s for ph in talk) == 600                 # 10 min of discussion
    labels = [ph.label for ph in p.phases]
    assert labels.index("baseline") < labels.index("conflict-1") < labels.index("recovery")
    assert p.phases[labels.index("conflict-1") + 1].rating.per_person
    assert p.phases[labels.index("co-regulation")].pacer.rate_bpm == 6.0
    assert {r.kind for r in p.stop_rules} == {"rating", "arousal"}
    support = load("dyad-support")
    assert [ph.prompt_id for ph in support.phases if ph.stressor] == ["support-seeking-a",
                                                                      "support-seeking-b"]


@pytest.mark.parametrize("body, message", [
    ("participants = 3\n", "participants: 3 is not allowed; allowed: 1 (one participant) or 2"),
    ("participants = \"two\"\n", "participants: expected a whole number, got a string"),
])
def test_participants_is_checked(body, message):
    text = ('name = "x"\nversion = "1"\ndescription = "d"\nintended_use = "u"\nreferences = ["r"]\n'
            'safety_notes = ["s"]\n' + body + '[[phases]]\nlabel = "rest"\nkind = "rest"\n'
            'duration_s = 10\n')
    with pytest.raises(ProtocolError, match=re.escape(message)):
        parse(text, "x.toml")


def test_per_person_is_a_boolean_of_ratings():
    text = ('name = "x"\nversion = "1"\ndescription = "d"\nintended_use = "u"\nreferences = ["r"]\n'
            'safety_notes = ["s"]\n[[phases]]\nlabel = "suds"\nkind = "rating"\nduration_s = 10\n'
            '[phases.rating]\nscale = "SUDS"\nquestion = "q"\nper_person = "yes"\n')
    with pytest.raises(ProtocolError, match=r"phases\[0\]\.rating\.per_person: expected true or false"):
        parse(text, "x.toml")
    rating = parse(text.replace('"yes"', "true"), "x.toml").build().phases[0].rating
    assert rating.per_person and rating.to_dict()["per_person"] is True
    assert "per_person" not in Rating("SUDS", "q").to_dict()      # files as before without it


def test_auto_ratings_per_person():
    auto = AutoRatings.parse("a=2,3;b=constant:9")
    phase = Phase("suds", "rating", 5.0, rating=Rating("SUDS", "q", per_person=True))
    assert [auto(phase, "a") for _ in range(3)] == [2.0, 3.0, 3.0]
    assert [auto(phase, "b") for _ in range(2)] == [9.0, 9.0]
    with pytest.raises(ValueError, match=r"no values for participant 'c' \(lists for \['a', 'b'\]\)"):
        auto(phase, "c")
    mixed = AutoRatings.parse("constant:2;b=2,9")
    assert [mixed(phase, "b"), mixed(phase, "b"), mixed(phase, "a"), mixed(phase)] == [2, 9, 2, 2]
    for bad, why in (("a=1;a=2", "a repeated participant label 'a'"), ("=3", "an empty"),
                     ("1;2", "two lists for everyone"), ("a=x", "is not understood")):
        with pytest.raises(ValueError, match=why):
            AutoRatings.parse(bad)
    with pytest.raises(ValueError, match="SUDS rating must be 0-10, got 11"):
        AutoRatings.parse("a=1;b=11").check(Protocol("p", (phase,)))


EACH = Rating("SUDS", "How distressed are you?", per_person=True)
DYAD = Protocol("dyad", (
    Phase("baseline", "baseline", 10.0),
    Phase("talk-1", "prompt", 10.0, "talk", stressor=True),
    Phase("suds-1", "rating", 5.0, rating=EACH),
    Phase("talk-2", "prompt", 10.0, "talk on", stressor=True),
    Phase("suds-2", "rating", 5.0, rating=EACH),
    Phase("recovery", "recovery", 10.0, "rest"),
), stop_rules=(StopRule("rating", 8), StopRule("arousal", 2.0, 5.0)), participants=2)


def test_either_persons_rating_stops_the_task_for_both_and_says_who():
    runner = ProtocolRunner(DYAD, auto_ratings=AutoRatings.parse("a=1;b=9"), participants=("a", "b"))
    bus = run(runner)
    ratings = bus.of("rating")
    assert [(e.label, e.payload["participant"], e.payload["value"]) for e in ratings] == [
        ("suds-1", "a", 1.0), ("suds-1", "b", 9.0)]                 # both answered, then the rule
    (stop,) = bus.of("stop_rule")
    assert stop.payload["participant"] == "b" and stop.onset == 20.0
    assert stop.payload["reason"] == "SUDS rating 9 by b at or above the stop threshold 8"
    assert stop.payload["skipped"] == ["talk-2", "suds-2"] and stop.payload["to"] == "recovery"
    assert [e.label for e in bus.of("phase")] == ["baseline", "talk-1", "suds-1", "recovery"]
    assert bus.phase("recovery").onset == 20.0


def test_per_person_ratings_at_the_terminal_and_missing_ones():
    async def script(runner, clock):
        await clock.sleep_until(21.0)
        assert "say whose rating ('a', 'b'), got None" in handle(runner, "4")
        assert handle(runner, "a=4") == "ok: a=4"
        assert "got 'c'" in handle(runner, "c=4")

    bus = run(ProtocolRunner(DYAD, participants=("a", "b")), script)
    first = [e for e in bus.of("rating") if e.label == "suds-1"]
    assert [(e.payload["participant"], e.payload["value"], e.payload.get("source")) for e in first] \
        == [("a", 4.0, "terminal"), ("b", None, None)]               # b never answered
    assert first[1].payload["missing"] and abs(first[0].onset - 21.0) < TOL
    one = Protocol("one", (Phase("suds", "rating", 5.0, rating=Rating("SUDS", "q")),))

    async def session_rating(runner, clock):
        await clock.sleep_until(1.0)
        assert "one rating for the session, not per participant" in handle(runner, "a=3")

    run(ProtocolRunner(one, participants=("a", "b")), session_rating)
    alone = Protocol("alone", (Phase("suds", "rating", 5.0, rating=EACH),))

    async def single(runner, clock):
        await clock.sleep_until(1.0)
        assert handle(runner, "3") == "ok: 3"                      # the one participant's

    (only,) = run(ProtocolRunner(alone), single).of("rating")
    assert only.payload["participant"] == "" and only.payload["value"] == 3.0


def test_either_persons_arousal_stops_the_task_for_both():
    async def script(runner, clock):
        await clock.sleep_until(11.0)
        for t in np.arange(11.0, 17.5, 0.5):
            runner.observe_arousal(float(t), 1.0, "a")                # a stays below 2 SD
            runner.observe_arousal(float(t), 3.0, "b")                # b is above it for 5 s
        await clock.sleep_until(18.0)

    bus = run(ProtocolRunner(DYAD, participants=("a", "b")), script)
    (stop,) = bus.of("stop_rule")
    assert stop.payload["participant"] == "b"
    assert stop.payload["reason"] == "b's arousal index above 2 SD for 5 s (from 11 s to 16 s)"
    assert "talk-2" in stop.payload["skipped"]


@pytest.mark.slow
def test_a_dyad_protocol_headless_with_two_simulated_participants(tmp_path, capsys):
    args = ["run", "dyad-conflict-discussion", "--headless", "--speed", "2000",
            "--device", "a@simulated:seed=1", "--device",
            "b@simulated:seed=2,follow=a,lag=3,strength=0.5", "--auto-ratings", "a=2;b=9",
            "--out", str(tmp_path)]
    code = main(args)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "stop rule at 720.0 s: SUDS rating 9 by b at or above the stop threshold 8" in out
    rec = bf.read(next(tmp_path.glob("*.biofeed")))
    ev = rec.events
    ratings = ev[ev.kind == "rating"]
    assert [(r.label, r.payload["participant"], r.payload["value"]) for r in ratings.itertuples()] \
        == [("check-in-suds", "a", 2.0), ("check-in-suds", "b", 9.0),
            ("closing-suds", "a", 2.0), ("closing-suds", "b", 9.0)]
    (stop,) = ev[ev.kind == "stop_rule"].payload
    assert stop["participant"] == "b" and stop["skipped"] == ["conflict-2", "discussion-suds"]
    phases = ev[ev.kind == "phase"].label.tolist()
    assert phases == ["consent", "baseline", "topic", "conflict-1", "check-in-suds", "recovery",
                      "co-regulation", "closing-suds", "debrief"]
    assert rec.meta["protocol"]["participants"] == 2
    for who in "ab":                                # both participants recorded and processed
        assert len(rec.signals[f"{who}.ecg.rr.nn"]) > 1000
    sync = rec.signals["synchrony.a.b.hr"]
    assert len(sync) > 250 and np.nanmedian(sync.values[:, 1]) > 1.0   # b follows a
    one = main(["run", "dyad-support", "--headless", "--speed", "2000", "--out", str(tmp_path)])
    assert one == 2 and "is for two participants: give two labelled devices" in " ".join(
        capsys.readouterr().out.split())
