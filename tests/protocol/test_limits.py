"""Protocol limits (issue 14): no file can exhaust the machine. Every limit is checked before
anything is expanded and gives the usual one-line error naming the file, the key path, what is
wrong and what is allowed."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from biofeed.protocol.loader import (MAX_DEPTH, MAX_FILE_BYTES, MAX_PHASES, MAX_REPETITIONS,
                                     MAX_TOTAL_S, ProtocolError, parse, read_template)



def _valid() -> str:
    """The small valid protocol of this folder's conftest (the file tests break one key at a time)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_protocol_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VALID


VALID = _valid()


def _break(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _error(text: str) -> str:
    with pytest.raises(ProtocolError) as info:
        parse(text, "my.toml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("my.toml: "), message
    return message


def test_a_billion_repetitions_is_refused_before_expanding(monkeypatch):
    from biofeed.protocol import loader

    def no_build(*args, **kwargs):
        raise AssertionError("expanded before the limits were checked")

    monkeypatch.setattr(loader.ProtocolTemplate, "build", no_build)
    message = _error(_break(VALID, "repetitions = 1", "repetitions = 1000000000"))
    assert message == ("my.toml: blocks.b.repetitions: 1000000000 is not allowed; must be a whole "
                       "number >= 1 and at most 1,000")


def test_repetitions_up_to_the_limit_are_allowed_within_the_other_limits():
    assert MAX_REPETITIONS == 1000
    short = _break(_break(_break(VALID, "repetitions = 1", "repetitions = 1000"),
                          "duration_s = 30\ntext = \"recall one\"", "duration_s = 1\ntext = \"recall one\""),
                   "duration_s = 30\ntext = \"recall two\"", "duration_s = 1\ntext = \"recall two\"")
    short = short.replace("duration_s = 30\ntext = \"recall comfort\"", "duration_s = 1\ntext = \"recall comfort\"")
    short = short.replace("duration_s = 10\n[blocks.b.after_each.rating]", "duration_s = 1\n[blocks.b.after_each.rating]")
    p = parse(short, "my.toml").build(3)
    assert len(p.phases) == 3 + 1000 * 3 * 2
    assert p.phases[-3].label.endswith("#1000")


def test_more_than_ten_thousand_phases_after_expansion():
    items = "\n".join(f'[[blocks.b.items]]\nlabel = "x{i}"\nkind = "rest"\nduration_s = 0.5\n'
                      for i in range(4, 10))
    text = _break(VALID, "repetitions = 1", "repetitions = 800") + items
    message = _error(text)
    assert re.search(r"blocks\.b\.repetitions: expands the protocol to 1[0-9],\d{3} phases; allowed: at "
                     r"most 10,000 phases after expanding blocks, repetitions and stepped pacers", message)


def test_the_total_duration_is_at_most_24_hours():
    message = _error(_break(VALID, "repetitions = 1", "repetitions = 1000"))
    assert message == ("my.toml: blocks.b.repetitions: makes the expanded protocol 120,060 s (33.35 h) "
                       "long; allowed: at most 86400 s (24 h) in total")
    many = _break(VALID, 'label = "baseline"\nkind = "baseline"\nduration_s = 60',
                  'label = "baseline"\nkind = "baseline"\nduration_s = 86300')
    assert _error(many) == ("my.toml: blocks.b: makes the expanded protocol 86,420 s (24.01 h) long; "
                            "allowed: at most 86400 s (24 h) in total")
    steps = _break(VALID, "rate_bpm = 6.0", "steps_bpm = [6.0, 5.0, 4.0]\nstep_rest_s = 43000")
    assert "phases[3]: makes the expanded protocol" in _error(steps)


@pytest.mark.parametrize("value, expected", [
    ("1.7e308", r"phases\[0\]\.duration_s: 1\.7e\+308 is not allowed; must be > 0 seconds and at most 86400 s \(24 h\)"),
    ("86401", r"phases\[0\]\.duration_s: 86401 is not allowed; must be > 0 seconds and at most 86400 s"),
    ("inf", r"phases\[0\]\.duration_s: expected a finite number, got inf; allowed: finite numbers only"),
    ("nan", r"phases\[0\]\.duration_s: expected a finite number, got nan"),
    ("-inf", r"phases\[0\]\.duration_s: expected a finite number, got -inf"),
])
def test_durations_are_finite_and_bounded(value, expected):
    assert re.search(expected, _error(_break(VALID, "duration_s = 60\n", f"duration_s = {value}\n")))


@pytest.mark.parametrize("old, new, expected", [
    ("threshold = 6.0", "threshold = inf", r"stop_rules\[1\]\.threshold: expected a finite number, got inf"),
    ("for_s = 30", "for_s = 1e300", r"stop_rules\[1\]\.for_s: 1e\+300 is not allowed"),
    ("rate_bpm = 6.0", "rate_bpm = nan", r"phases\[3\]\.pacer\.rate_bpm: expected a finite number, got nan"),
    ("rate_bpm = 6.0", "steps_bpm = [6.0, inf]", r"phases\[3\]\.pacer\.steps_bpm\[1\]: expected a finite number, got inf"),
    ("rate_bpm = 6.0", "rate_bpm = 6.0\nhold_in_s = 1.7e308", r"phases\[3\]\.pacer\.hold_in_s: 1\.7e\+308 is not allowed"),
    ("rate_bpm = 6.0", "steps_bpm = [6.0, 5.0]\nstep_rest_s = inf", r"phases\[3\]\.pacer\.step_rest_s: expected a finite number"),
])
def test_every_number_is_finite_and_bounded(old, new, expected):
    assert re.search(expected, _error(_break(VALID, old, new)))


def test_stepped_pacers_count_as_phases():
    steps = ", ".join(["6.0"] * (MAX_PHASES + 1))
    message = _error(_break(VALID, "rate_bpm = 6.0", f"steps_bpm = [{steps}]"))
    assert "phases[3].pacer.steps_bpm: 10,001 rates make as many phases; allowed: at most 10,000" in message


def test_deep_nesting_is_a_protocol_error_never_a_recursion_error():
    for depth in (MAX_DEPTH + 1, 50, 900, 100_000):
        text = VALID.replace('safety_notes = ["stop at any time"]',
                             "safety_notes = " + "[" * depth + '"x"' + "]" * depth)
        message = _error(text)
        assert re.search(r"(safety_notes(\[0\])+: nested more than 8 levels deep; allowed: tables and "
                         r"arrays nested at most 8 levels|invalid TOML: arrays or inline tables nested "
                         r"too deeply; allowed: at most 8 levels)", message), message
    inline = VALID + "\nx = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n"
    assert "nested too deeply" in _error(inline)
    tables = VALID + "\n[" + ".".join(["t"] * (MAX_DEPTH + 1)) + "]\nv = 1\n"
    assert "t.t.t.t.t.t.t.t.t: nested more than 8 levels deep" in _error(tables)


def test_a_very_long_dotted_key_is_refused_before_parsing():
    message = _error("a." * 100_000 + "b = 1\n" + VALID)
    assert message.startswith("my.toml: line 1: a key of more than 16 dotted parts")
    assert "allowed: keys of at most 16 dotted parts" in message
    quoted = '"a".' * 50 + 'b = 1\n' + VALID
    assert "a key of more than 16 dotted parts" in _error(quoted)


def test_the_file_size_is_bounded(tmp_path):
    assert "the file is" in _error(VALID + "#" * MAX_FILE_BYTES)
    path = tmp_path / "huge.toml"
    with open(path, "wb") as f:
        f.write(VALID.encode())
        f.seek(50 * 2**20)          # 50 MB, sparse: read_template never reads it all
        f.write(b"#")
    with pytest.raises(ProtocolError, match=r"huge\.toml: the file is larger than 262,144 bytes; "
                                            r"allowed: at most 262,144 bytes"):
        read_template(path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"name = \"\xff\"\n")
    with pytest.raises(ProtocolError, match=r"binary\.toml: not UTF-8 text \(byte 8\)"):
        read_template(binary)


def test_the_limits_are_documented():
    readme = (Path(__file__).parents[2] / "protocols" / "README.md").read_text()
    for fact in ("1,000", "10,000", "24 h", "256 KiB", "finite", f"{MAX_DEPTH} levels"):
        assert fact in readme, fact
    assert MAX_TOTAL_S == 86400


@settings(max_examples=60, deadline=None)
@given(reps=st.integers(1, 5000), items=st.integers(1, 12), after=st.integers(0, 3),
       duration=st.floats(0.001, 1e6, allow_nan=False, allow_infinity=False))
def test_a_valid_file_expands_within_the_limits_or_is_refused(reps, items, after, duration):
    body = "".join(f'[[blocks.b.items]]\nlabel = "i{i}"\nkind = "rest"\nduration_s = {duration!r}\n'
                   for i in range(items))
    body += "".join(f'[[blocks.b.after_each]]\nlabel = "a{i}"\nkind = "rest"\nduration_s = 1\n'
                    for i in range(after))
    text = ('name = "n"\nversion = "1"\ndescription = "d"\nintended_use = "u"\nreferences = ["r"]\n'
            'safety_notes = ["s"]\nphases = [{ block = "b" }]\n'
            f'[blocks.b]\nrepetitions = {reps}\n' + body)
    n = reps * items * (1 + after)
    total = reps * items * (duration + after)
    try:
        p = parse(text, "my.toml").build(0)
    except ProtocolError as exc:
        assert str(exc).startswith("my.toml: blocks.b")
        assert reps > MAX_REPETITIONS or n > MAX_PHASES or total > MAX_TOTAL_S * (1 - 1e-9) or duration > MAX_TOTAL_S
    else:
        assert len(p.phases) == n <= MAX_PHASES
        assert p.duration_s <= MAX_TOTAL_S * (1 + 1e-9)


def test_validation_expands_once_however_many_stop_rules(monkeypatch):
    from biofeed.protocol import loader

    calls = []
    build = loader.ProtocolTemplate.build
    monkeypatch.setattr(loader.ProtocolTemplate, "build",
                        lambda self, seed=None: calls.append(seed) or build(self, seed))
    rules = '[[stop_rules]]\nkind = "rating"\nthreshold = 8\n' * 500
    template = parse(VALID.replace("[[stop_rules]]", rules + "[[stop_rules]]", 1), "my.toml")
    assert len(template.stop_rules) == 502 and len(calls) == 1
