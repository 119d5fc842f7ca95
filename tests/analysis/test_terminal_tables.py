"""Terminal tables fit the terminal: at 80 columns (and narrower or wider) no table is cut;
they are transposed or split instead, with human headers (never ``rmssd_ms``)."""
from __future__ import annotations

import os
import pty
import re
import select
import sys
import time

import numpy as np
import pandas as pd
import pytest

import biofeed as bf
from biofeed.analysis.columns import header
from biofeed.analysis.phases import phase_table, reactivity
from biofeed.cli.session import PHASE_FORMATS
from biofeed.console import SafeConsole, dataframe_table

BOX = re.compile(r"[│┃┏┓┗┛┡┩└┘━─]")


def _render(table, width: int) -> str:
    console = SafeConsole(width=width, highlight=False, emoji=False, record=True,
                          file=open("/dev/null", "w"))
    console.print(table)
    return console.export_text()


@pytest.mark.parametrize("width", [50, 80, 120, 200])
def test_the_phase_tables_fit_every_width_and_lose_nothing(demo_session, width):
    table = phase_table(bf.read(demo_session))
    for frame, formats in ((table, PHASE_FORMATS),
                           (reactivity(table), {c: "+.2f" for c in reactivity(table).columns
                                                if c.startswith("d_")})):
        out = _render(dataframe_table(frame, "Per-phase summary", formats), width)
        lines = out.splitlines()
        assert max(len(line) for line in lines) <= width
        assert "…" not in out
        words = set(re.split(r"[\s│┃]+", out))
        for col in frame.columns:                          # every header, word by word
            assert set(header(col).split()) <= words, (col, width)
            assert col not in words or col in set(frame.phase) | set(frame.kind)
        for value in frame.hr_bpm if "hr_bpm" in frame else frame.d_hr_bpm:
            assert format(value, PHASE_FORMATS.get("hr_bpm", "+.2f") if "hr_bpm" in frame
                          else "+.2f") in words            # numbers whole, never cut
        assert set(frame.phase) <= words


def _in_terminal(args: list[str], columns: int, timeout: float = 60) -> str:
    """``python -m biofeed ARGS`` on a real pseudo-terminal ``columns`` wide (COLUMNS, as a
    shell sets it); its output without the terminal's escape sequences."""
    pid, fd = pty.fork()
    if pid == 0:                                                       # the child
        os.environ["COLUMNS"] = str(columns)
        os.execv(sys.executable, [sys.executable, "-m", "biofeed", *args])
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:                                                # EIO: the child closed it
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    out = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return re.sub(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-B])", "", out)


@pytest.mark.slow
def test_demo_at_80_columns_prints_whole_tables(tmp_path):
    out = _in_terminal(["demo", "--headless", "--speed", "2000", "--out", str(tmp_path)], 80)
    rows = [line for line in out.splitlines() if BOX.search(line)]
    assert len(rows) > 15 and max(len(line.rstrip()) for line in rows) <= 80, out
    assert "…" not in out
    for head in ("RMSSD (ms)", "SCR amplitude (µS)", "Half-recovery (s)", "HR/HRV on poor data",
                 "Heart signal good (%)"):
        assert head in out
    assert not re.search(r"\b(hr_bpm|rmssd_ms|scr_amp_us|half_recovery_s)\b", out)


def test_wide_text_folds_instead_of_being_cut():
    frame = pd.DataFrame({"field": ["notes", "file"],
                          "value": ["a long note " * 12, "/" + "x" * 150 + ".biofeed"]})
    out = _render(dataframe_table(frame, "Session"), 60)
    assert max(len(line) for line in out.splitlines()) <= 60 and "…" not in out
    assert "".join(re.findall(r"x+", out)) == "x" * 150                   # every character kept
    assert len(re.findall(r"\bnote\b", out)) == 12 and "│ notes │" in out
    numbers = pd.DataFrame({"n": [1, 2], "ok": [True, False], "v": [np.nan, 2.5]})
    out = _render(dataframe_table(numbers, "Counts"), 80)
    assert re.search(r"│\s+1 │ yes\s+│\s+- │", out) and re.search(r"│\s+2 │ no\s+│\s+2.5 │", out)


@pytest.mark.parametrize("columns", ["80", None])
def test_piped_output_is_as_wide_as_columns_says(demo_session, columns):
    """Piped (a log, ``| less``): as wide as ``COLUMNS`` when it is set, else 160 columns."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | ({"COLUMNS": columns}
                                                                      if columns else {})
    run = subprocess.run([sys.executable, "-m", "biofeed", "info", str(demo_session)],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    rows = [line for line in run.stdout.splitlines() if BOX.search(line)]
    widest = max(len(line.rstrip()) for line in rows)
    assert "…" not in run.stdout and len(rows) > 10
    assert widest <= 80 if columns else 80 < widest <= 160, run.stdout
