"""Protocol files: the library validates; malformed files give one-line errors with key paths."""
from __future__ import annotations

import re

import pytest

from biofeed.protocol.library import library_dir, library_names, load, resolve
from biofeed.protocol.loader import ProtocolError, parse, read_template
from biofeed.protocol.schedule import Pacer, with_pacer_rate

LIBRARY = ["attachment-stress", "hrv-biofeedback", "resonance-frequency-assessment",
           "resting-baseline", "stress-recovery"]


def test_library_holds_the_protocols_and_each_validates():
    assert set(LIBRARY) <= set(library_names())
    for name in library_names():
        protocol = load(name, seed=1)
        assert protocol.references and protocol.safety_notes, name
        assert protocol.duration_s > 0


def test_attachment_stress_follows_the_issue():
    p = load("attachment-stress", seed=5)
    kinds = {ph.label: ph for ph in p.phases}
    assert kinds["baseline"].duration_s == 300 and kinds["recovery"].duration_s == 300
    stressors = [ph for ph in p.phases if ph.stressor]
    assert sorted(ph.prompt_id for ph in stressors) == ["threat-rejection", "threat-separation",
                                                        "threat-unavailability"]
    assert all(ph.duration_s == 120 for ph in stressors)
    for ph in stressors:            # each prompt is followed by a SUDS rating and a 2 min rest
        i = p.phases.index(ph)
        assert p.phases[i + 1].rating.scale == "SUDS" and p.phases[i + 2].kind == "rest"
    assert kinds["security-priming"].kind == "prompt" and not kinds["security-priming"].stressor
    assert kinds["paced-breathing"].pacer.rate_bpm == 6.0 and kinds["paced-breathing"].duration_s == 300
    assert [r.threshold for r in p.stop_rules if r.kind == "rating"] == [8]
    assert p.phases[-1].label == "debrief" and p.phases[-2].rating is not None


def test_resonance_assessment_steps_through_five_rates_with_rest_between():
    p = load("resonance-frequency-assessment")
    paced = [ph for ph in p.phases if ph.kind == "assessment"]
    assert [ph.pacer.rate_bpm for ph in paced] == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert all(ph.duration_s == 120 for ph in paced)
    rests = [p.phases[p.phases.index(ph) + 1].kind for ph in paced[:-1]]
    assert rests == ["rest"] * 4


def test_random_order_reproduces_from_its_seed_and_differs_between_seeds():
    orders = {seed: [ph.label for ph in load("attachment-stress", seed=seed).phases] for seed in range(8)}
    assert orders[3] == [ph.label for ph in load("attachment-stress", seed=3).phases]
    assert len({tuple(o) for o in orders.values()}) > 1
    drawn = load("attachment-stress")            # no seed: one is drawn and kept
    assert drawn.seed is not None
    assert [ph.label for ph in load("attachment-stress", seed=drawn.seed).phases] == \
        [ph.label for ph in drawn.phases]
    assert load("resting-baseline").seed is None  # nothing random, no seed


def test_unknown_name_lists_the_library(tmp_path):
    with pytest.raises(ProtocolError, match="no built-in protocol 'nope'; built-in: attachment-stress"):
        resolve("nope")
    assert resolve("attachment-stress").parent == library_dir()


def test_pacer_rate_override_and_holds():
    p = with_pacer_rate(load("hrv-biofeedback"), 5.5)
    assert [ph.pacer.rate_bpm for ph in p.phases if ph.pacer] == [5.5]
    with pytest.raises(ValueError, match="no paced_breathing phase"):
        with_pacer_rate(load("resting-baseline"), 5.5)
    pacer = Pacer(6.0, 0.5, hold_in_s=1.0, hold_out_s=1.0)     # 4 s in, 1 s hold, 4 s out, 1 s hold
    assert pacer.volume(4.5) == 1.0 and pacer.volume(9.5) == 0.0
    assert pacer.volume(2.0) == pytest.approx(0.5) and pacer.volume(7.0) == pytest.approx(0.5)


def _break(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# (how to break the valid file, expected message after "FILE: ")
MALFORMED = {
    "toml-syntax": (("duration_s = 60\n", "duration_s = = 60\n"),
                    r"invalid TOML: .*line \d+, column \d+"),
    "wrong-type": (("duration_s = 60\n", 'duration_s = "60"\n'),
                   r"phases\[0\]\.duration_s: expected a number, got a string '60'"),
    "unknown-top-key": (('name = "mini"', 'nmae = "mini"'),
                        r"nmae: unknown key; allowed keys here: blocks, description"),
    "unknown-phase-key": (("label = \"baseline\"\nkind = \"baseline\"\nduration_s = 60",
                           "label = \"baseline\"\nkind = \"baseline\"\ndurration_s = 60"),
                          r"phases\[0\]\.durration_s: unknown key; allowed keys here: duration_s, kind"),
    "negative-duration": (("duration_s = 60\n", "duration_s = -5\n"),
                          r"phases\[0\]\.duration_s: -5 is not allowed; must be > 0 seconds"),
    "unknown-kind": (('kind = "baseline"', 'kind = "stress"'),
                     r"phases\[0\]\.kind: unknown phase kind 'stress'; allowed: assessment, baseline"),
    "impossible-ratio": (('ratio = "4:6"', 'ratio = "0:6"'),
                         r"phases\[3\]\.pacer\.ratio: impossible inhale:exhale ratio '0:6'; allowed:"),
    "rate-out-of-range": (("rate_bpm = 6.0", "rate_bpm = 45"),
                          r"phases\[3\]\.pacer\.rate_bpm: 45 breaths/min is out of range; allowed: 1-30"),
    "missing-text": (('text = "recall two"', 'text = ""'),
                     r"blocks\.b\.items\[1\]\.text: missing participant text for a 'prompt' phase"),
    "missing-name": (('name = "mini"\n', ""), r"name: missing; required: a string"),
    "threshold-off-scale": (("threshold = 8\n", "threshold = 12\n"),
                            r"stop_rules\[0\]\.threshold: 12 is off the rating scale; allowed: 0-10"),
    "unknown-block": (('block = "b"', 'block = "x"'),
                      r"phases\[1\]\.block: no block named 'x'; defined blocks: b"),
    "bad-order": (('order = "random"', 'order = "shuffle"'),
                  r"blocks\.b\.order: 'shuffle' is not an order; allowed: fixed, random"),
    "duplicate-label": (('label = "p2"', 'label = "p1"'), r"phases: two phases are labelled 'p1'"),
    "stressor-not-prompt": (('kind = "recovery"\nduration_s = 60', 'kind = "recovery"\nduration_s = 60\nstressor = true'),
                            r"phases\[2\]\.stressor: only a 'prompt' phase can be a stressor"),
    "rating-missing": (("[blocks.b.after_each.rating]\nscale = \"SUDS\"\nquestion = \"How distressed?\"\n", ""),
                       r"blocks\.b\.after_each\[0\]\.rating: missing; required: a table"),
    "holds-too-long": (('ratio = "4:6"', 'ratio = "4:6"\nhold_in_s = 4\nhold_out_s = 4'),
                       r"phases\[3\]\.pacer\.hold_in_s: holds of 8 s do not fit a 10 s breath"),
    "no-recovery-after-stressors": (('label = "recovery"\nkind = "recovery"', 'label = "recovery"\nkind = "rest"'),
                                    r"stop_rules\[0\]: no recovery phase follows the last stressor"),
    "arousal-rule-without-duration": (("for_s = 30\n", ""),
                                      r"stop_rules\[1\]\.for_s: missing; required: a number"),
    "empty-references": (('references = ["Laborde 2017"]', "references = []"),
                         r"references: is empty or has an empty entry"),
    "zero-repetitions": (("repetitions = 1", "repetitions = 0"),
                         r"blocks\.b\.repetitions: 0 is not allowed; must be a whole number >= 1"),
    "unused-block": (("[blocks.b]", "[blocks.c]\norder = \"fixed\"\nitems = [{label = \"z\", kind = \"rest\", duration_s = 1}]\n\n[blocks.b]"),
                     r"blocks\.c: is defined but never used"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_gives_one_line_error_with_file_and_key_path(tmp_path, valid_text, case):
    (old, new), expected = MALFORMED[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(_break(valid_text, old, new))
    with pytest.raises(ProtocolError) as info:
        read_template(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: "), message
    assert re.search(expected, message), message


def test_the_valid_file_is_valid(valid_text):
    p = parse(valid_text, "mini.toml").build(1)
    assert len(p.phases) == 1 + 3 * 2 + 2 and p.seed == 1


def test_stepped_pacer_expands_into_one_phase_per_rate(valid_text):
    text = _break(valid_text, "rate_bpm = 6.0", "steps_bpm = [6.5, 5.5]\nstep_rest_s = 20")
    p = parse(text, "mini.toml").build(1)
    labels = [ph.label for ph in p.phases][-3:]
    assert labels == ["paced 6.5/min", "rest after 6.5/min", "paced 5.5/min"]
    assert p.phases[-1].pacer.rate_bpm == 5.5 and p.phases[-2].duration_s == 20


def test_unreadable_file_names_it(tmp_path):
    with pytest.raises(ProtocolError, match=r"missing\.toml: cannot read the protocol file"):
        read_template(tmp_path / "missing.toml")
