"""Input hygiene (issue 14): participant ids are validated where they enter, and every
user-controlled string (ids, labels, paths, protocol names, notes) reaches the terminal as
plain text: rich markup shown literally, control characters (ANSI escapes) never sent.

The command-line tests run the real CLI in subprocesses, as a user would.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st
from rich.console import Console

from biofeed.clock import SessionClock
from biofeed.console import clean, dataframe_table, plain, text
from biofeed.record.writer import SessionRecorder
from biofeed.session import PARTICIPANT_MAX, validate_participant
from biofeed.stream import Chunk, Event, StreamInfo

CLOSE = "[/x]"
LINK = "[link=https://evil]x[/link]"
ANSI = "\x1b[31m"
NASTY = f"{CLOSE}{LINK}{ANSI}red"
#: in a path each '/' separates folders (``[`` then ``x]``): a path whose text holds it all
NASTY_PATH = NASTY.replace("//", "/")


def _biofeed(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "biofeed", *args], capture_output=True, text=True,
                          timeout=timeout)


def _assert_safe(run: subprocess.CompletedProcess) -> None:
    """No traceback, no raw control character, no hyperlink escape in what was printed."""
    out = run.stdout + run.stderr
    assert "Traceback" not in out and "MarkupError" not in out, out
    assert "\x1b" not in out, repr(out)
    assert "\x9b" not in out, repr(out)


# -- the helper ----------------------------------------------------------------------------

def _render(renderable) -> str:
    console = Console(file=None, width=200, force_terminal=True, color_system="truecolor",
                      highlight=False, emoji=False, record=True)
    with console.capture() as cap:
        console.print(renderable)
    return cap.get()


def test_plain_and_text_print_exactly_what_was_written_without_controls():
    for value in (CLOSE, LINK, NASTY, "a\\", "[bold]x[/bold]", "x [red]y"):
        shown = _render(f"[green]{plain(value)}[/green]")
        assert f"\x1b[32m{clean(value)}\x1b[0m" in shown       # literally, markup not applied
        assert "\x1b]8;" not in shown                           # no OSC 8 hyperlink
        assert _render(text(value)) == clean(value) + "\n"      # no style at all
    assert clean("a\x1b[31mb") == "a\\x1b[31mb"
    assert clean("x\x9by\x07z\rw\u202e") == "x\\x9by\\x07z\\x0dw\\u202e"
    assert clean("line\nnext\tcol") == "line\nnext\tcol"    # newline and tab kept


@given(st.text())
def test_plain_never_raises_and_removes_every_control(value):
    out = plain(value)
    assert not any(ord(ch) < 32 and ch not in "\t\n" or 0x7f <= ord(ch) <= 0x9f for ch in out)
    _render(f"[red]{out}[/red]")                             # never a MarkupError


def test_safe_console_never_sends_a_control_character_it_was_given():
    from rich.table import Table

    from biofeed.console import SafeConsole

    console = SafeConsole(width=200, force_terminal=False, highlight=False, emoji=False)
    table = Table(title=f"t {ANSI}")
    table.add_column(f"c {ANSI}")
    table.add_row(f"cell {ANSI}\x9b2J")
    with console.capture() as cap:
        console.print(f"[bold]raw {ANSI} line[/bold]", table)
    out = cap.get()
    assert "\x1b" not in out and "\x9b" not in out
    assert out.count("\\x1b[31m") == 4 and "\\x9b2J" in out


def test_dataframe_table_title_headers_and_cells_are_plain():
    import pandas as pd

    df = pd.DataFrame({NASTY: [NASTY, 1.5]})
    shown = _render(dataframe_table(df, f"title {NASTY}"))
    # rich styles table borders itself; the only ESC sequences are its own SGR codes
    assert "\x1b]8;" not in shown and "[31m" in shown and "\\x1b[31m" in shown
    assert shown.count(CLOSE) >= 3 and shown.count(LINK) >= 3


# -- participant ids -----------------------------------------------------------------------

@pytest.mark.parametrize("good", ["", "P017", "child-2_b", "x" * PARTICIPANT_MAX])
def test_participant_ids_allowed(good):
    assert validate_participant(good) == good


@pytest.mark.parametrize("bad", [CLOSE, LINK, ANSI, "Jane Doe", "é", "a/b", "..", "x" * 65, "a\n"])
def test_participant_ids_refused_with_the_rule(bad):
    with pytest.raises(ValueError, match="letters A-Z/a-z, digits, '-' and '_' only, at most 64"):
        validate_participant(bad)


def test_session_refuses_a_bad_participant(tmp_path):
    from biofeed.devices.simulated import SimulatedSensor
    from biofeed.session import Session
    from biofeed.sim.physiology import SimConfig

    with pytest.raises(ValueError, match="participant id"):
        Session([SimulatedSensor(SimConfig(seed=0))], out_dir=tmp_path, participant=CLOSE)


@pytest.mark.slow
@pytest.mark.parametrize("bad", [CLOSE, LINK, ANSI + "P1"])
def test_cli_refuses_a_bad_participant(tmp_path, bad):
    run = _biofeed("run", "resting-baseline", "--headless", "--duration", "1", "--speed", "20",
                   "--out", str(tmp_path), "--participant", bad)
    assert run.returncode == 2
    assert "argument --participant: participant id" in run.stderr
    assert not list(tmp_path.iterdir())                        # nothing recorded
    assert "Traceback" not in run.stderr


def test_start_screen_refuses_a_bad_participant(qtbot, tmp_path):
    from biofeed.gui.start import StartDialog

    dialog = StartDialog(["demo"], ["simulated"], tmp_path)
    qtbot.addWidget(dialog)
    dialog.participant.setText("Jane Doe")
    dialog.accept()
    assert dialog.result() == 0 and "participant id" in dialog.spec_error.text()
    dialog.participant.setText("P017")
    dialog.accept()
    assert dialog.result() == 1


# -- the real CLI with nasty ids, labels, names and paths ----------------------------------

@pytest.fixture
def nasty_session(tmp_path) -> Path:
    """A session file (as another tool or an old version could write it) whose folder, participant,
    protocol name, device id, stream-free labels and notes all hold markup and ANSI escapes."""
    folder = tmp_path / f"out {NASTY_PATH}"
    ecg = StreamInfo("ecg", "ecg", "mV", 250.0, ("ECG",), "test")
    clock = SessionClock()
    clock.start()
    rec = SessionRecorder(folder, participant=NASTY, protocol={"name": NASTY, "phases": []},
                          devices=[{"id": NASTY}])
    rec.start(clock, [ecg])
    rec.write(Chunk(ecg, np.zeros(250), t0=0.0))
    rec.event(Event(1, 0.5, 0.0, NASTY, "marker", {"note": NASTY}))
    rec.close(1.0, f"stopped {NASTY}")
    return rec.path


@pytest.mark.slow
def test_info_with_markup_and_ansi_everywhere(nasty_session):
    run = _biofeed("info", str(nasty_session))
    assert run.returncode == 0, run.stderr
    _assert_safe(run)
    assert run.stdout.count(CLOSE) >= 4 and LINK in run.stdout     # shown literally
    assert "\\x1b[31m" in run.stdout


@pytest.mark.slow
def test_errors_quoting_nasty_paths_are_plain(tmp_path):
    missing = tmp_path / f"{NASTY_PATH}.biofeed"
    run = _biofeed("info", str(missing))
    assert run.returncode == 2
    _assert_safe(run)
    assert clean(missing) in run.stdout


NASTY_TOML = NASTY.replace(ANSI, "\\u001b[31m")      # TOML strings escape control characters
PROTOCOL = f'''
name = "{NASTY_TOML}"
version = "1 {CLOSE}"
description = "desc {LINK}"
intended_use = "tests \\u001b]0;title\\u0007"
references = ["ref {CLOSE}"]
safety_notes = ["note {LINK}"]

[[phases]]
label = "base {CLOSE}\\u001b[2J"
kind = "baseline"
duration_s = 10
notes = "{LINK}"

[[phases]]
label = "prompt {LINK}"
kind = "prompt"
duration_s = 10
text = "think \\u001b[31m{CLOSE}"
stressor = true
'''


@pytest.mark.slow
def test_protocols_show_and_validate_with_nasty_names_and_path(tmp_path):
    folder = tmp_path / f"p {NASTY_PATH}"
    folder.mkdir(parents=True)
    good = folder / f"{LINK.replace('//', '/')}{ANSI}.toml"
    good.parent.mkdir(parents=True)
    good.write_text(PROTOCOL, encoding="utf-8")
    show = _biofeed("protocols", "show", str(good))
    assert show.returncode == 0, show.stdout + show.stderr
    _assert_safe(show)
    assert "base [/x]" in show.stdout and "prompt [link=https://evil]x[/link]" in show.stdout
    assert "(stressor)" in show.stdout
    bad = folder / f"bad {ANSI}.toml"
    bad.write_text(PROTOCOL.replace("duration_s = 10\nnotes", "duration_s = -1\nnotes"), encoding="utf-8")
    validate = _biofeed("protocols", "validate", str(good), str(bad))
    assert validate.returncode == 1
    _assert_safe(validate)
    assert ": ok (" in validate.stdout
    assert f"{clean(bad)}: phases[0].duration_s: -1 is not allowed" in validate.stdout


@pytest.mark.slow
def test_run_with_nasty_protocol_path_and_labels(tmp_path):
    folder = tmp_path / f"p {NASTY_PATH}"
    folder.mkdir(parents=True)
    path = folder / f"{CLOSE}.toml"
    path.parent.mkdir()
    path.write_text(PROTOCOL, encoding="utf-8")
    run = _biofeed("run", str(path), "--headless", "--speed", "20", "--out", str(tmp_path / "out"),
                   "--participant", "P1")
    _assert_safe(run)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "protocol [/x][link=https://evil]x[/link]\\x1b[31mred" in run.stdout
