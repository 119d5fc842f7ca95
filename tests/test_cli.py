"""The command line as a user runs it: real subprocesses, real signals, real session files."""
from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

import biofeed as bf

pytestmark = pytest.mark.slow


SEP = r"[\s│]+"   # between cells of a rich table


def _biofeed(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "biofeed", *args], capture_output=True, text=True,
                          timeout=timeout)


def _start_demo(out: Path, *args: str) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-m", "biofeed", "demo", "--headless", "--out", str(out),
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        m = re.match(r"recording to (.+\.biofeed)$", line.strip())
        if m:
            return proc, Path(m.group(1))
    raise AssertionError(f"demo never said where it records; stderr: {proc.stderr.read()}")


def test_demo_at_20x_then_info(tmp_path):
    t = time.monotonic()
    run = _biofeed("demo", "--headless", "--duration", "240", "--speed", "20", "--out", str(tmp_path))
    elapsed = time.monotonic() - t
    assert run.returncode == 0, run.stderr
    assert elapsed < 60
    path = Path(re.search(r"session file: (.+\.biofeed)", run.stdout).group(1))
    assert "Per-phase summary" in run.stdout
    assert re.search(r"phase stressor\s+HR", run.stdout)          # live status lines

    info = _biofeed("info", str(path))
    assert info.returncode == 0, info.stderr
    assert "complete" in info.stdout and "INCOMPLETE" not in info.stdout
    for name, rate in (("ecg", 250), ("eda", 32), ("resp", 32)):
        row = re.search(SEP.join([rf"│ {name}", name, r"\S+", str(rate), r"(\d+)"]), info.stdout)
        assert row, info.stdout
        assert abs(int(row.group(1)) - rate * 240) <= 0.005 * rate * 240
    for phase in ("baseline", "stressor", "recovery", "paced_breathing"):
        assert re.search(SEP.join(["phase", phase]), info.stdout)


def test_sigkill_leaves_a_readable_file_missing_at_most_2_s(tmp_path):
    proc, path = _start_demo(tmp_path, "--duration", "120")
    time.sleep(6.0)
    os.kill(proc.pid, signal.SIGKILL)
    killed_at = datetime.now(timezone.utc)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    rec = bf.read(path)
    assert not rec.complete
    t_kill = (killed_at - rec.start_utc).total_seconds()
    for name, rate in (("ecg", 250.0), ("eda", 32.0), ("resp", 32.0)):
        sig = rec.signals[name]
        assert sig.times[-1] >= t_kill - 2.0, (name, sig.times[-1], t_kill)
        assert len(sig) == round(sig.times[-1] * rate) + 1          # nothing lost before that
    assert "baseline" in rec.events.label.tolist()
    info = _biofeed("info", str(path))
    assert info.returncode == 0 and "INCOMPLETE" in info.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_stop_cleanly(tmp_path, sig):
    proc, path = _start_demo(tmp_path, "--speed", "10")
    time.sleep(3.0)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"stopped: {sig.name}" in out
    rec = bf.read(path)
    assert rec.complete and rec.meta["ended_by"] == f"stopped: {sig.name}"
    assert 10 < rec.meta["duration_s"] < 60 and rec.meta["end_utc"]
    ecg = rec.signals["ecg"]
    assert ecg.times[-1] >= rec.meta["duration_s"] - 1.0


def test_info_on_a_file_that_is_not_a_session(tmp_path):
    bad = tmp_path / "x.biofeed"
    bad.write_bytes(b"\x00" * 100)
    run = _biofeed("info", str(bad))
    assert run.returncode == 2 and "x.biofeed: not a biofeed session file" in run.stdout


def test_info_on_an_import_lists_what_was_not_imported_and_renders_names_as_text(tmp_path):
    """A CSV table in a folder, and with a column, whose names look like rich markup: the path
    and the skipped column print literally (no MarkupError, no markup applied), with the
    import's source and the streams' duration."""
    folder = tmp_path / "[bold]x [link=y]"
    folder.mkdir()
    t = np.arange(500) / 100.0
    path = folder / "rec.csv"
    path.write_text("time,ECG,[/oops]x\n" + "".join(f"{a:.2f},{np.sin(a):.4f},{a:.2f}\n" for a in t))
    run = _biofeed("info", str(path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "[bold]x [link=y]" in run.stdout and "[/oops]x" in run.stdout
    assert "Not imported (1)" in run.stdout and "(csv)" in run.stdout
    assert re.search(r"duration\s+│\s+5\.00 s", run.stdout)
