"""`biofeed demo` with its window on a real X server (Xvfb): signals, the end of a session,
and what a finished window costs."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import biofeed as bf
from biofeed.gui.platform import display_opens

pytestmark = pytest.mark.slow

#: Seconds a signalled session may take to finish its file, print its summary and exit.
EXIT_S = 5.0


@pytest.fixture(scope="module")
def display():
    """A private X server (Xvfb) on a free display number; its ``DISPLAY`` value."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb; .ci/run installs it)")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp",
                               "-screen", "0", "1600x1000x24"], pass_fds=(write,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        server.kill()
        pytest.skip("Xvfb could not start")
    display = f":{number}"
    deadline = time.monotonic() + 10.0
    while not display_opens(display):          # accepting clients (a loaded machine is slow)
        assert time.monotonic() < deadline, f"Xvfb {display} accepts no connection"
        time.sleep(0.1)
    yield display
    server.terminate()
    server.wait(10)


def _demo(display: str, out: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "DISPLAY": display}
    env.pop("QT_QPA_PLATFORM", None)          # the real X11 platform, not offscreen
    return subprocess.Popen([sys.executable, "-m", "biofeed", "demo", "--out", str(out), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _cpu_s(pid: int) -> float:
    """User + system CPU time of a process so far, s (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for_file(out: Path, proc: subprocess.Popen, timeout_s: float = 30.0) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        files = list(out.glob("*.biofeed"))
        if files:
            return files[0]
        time.sleep(0.05)
    raise AssertionError(f"no session file (rc {proc.poll()}): {proc.communicate()}")


def _start(display: str, root: Path, args: dict[str, tuple[str, ...]]):
    runs = {name: (_demo(display, root / name, *a), root / name) for name, a in args.items()}
    yield runs
    for proc, _ in runs.values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture
def signalled(display, tmp_path):
    """Two windowed demos started at once (one wait for both), to be signalled mid-session."""
    yield from _start(display, tmp_path, {"SIGINT": (), "SIGTERM": ()})


@pytest.fixture(scope="module")
def ending(display, tmp_path_factory):
    """Two windowed demos that reach their end: one stays open, one has --exit-at-end."""
    yield from _start(display, tmp_path_factory.mktemp("ending"),
                      {"ended": ("--duration", "8", "--speed", "8"),
                       "exit": ("--duration", "10", "--speed", "10", "--exit-at-end")})


def test_sigint_and_sigterm_end_the_windowed_session_cleanly(signalled):
    runs = {sig: signalled[sig.name] for sig in (signal.SIGINT, signal.SIGTERM)}
    paths = {sig: _wait_for_file(out, proc) for sig, (proc, out) in runs.items()}
    time.sleep(1.0)                                     # mid-session, the windows drawing
    sent = time.monotonic()
    for sig, (proc, _) in runs.items():
        proc.send_signal(sig)
    for sig, (proc, _) in runs.items():
        out, err = proc.communicate(timeout=EXIT_S + 5)
        took = time.monotonic() - sent
        assert proc.returncode == 0, err
        assert took < EXIT_S, f"{sig.name}: exit {took:.1f} s after the signal"
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        assert "opening the live window" in out
        assert f"(stopped: {sig.name})" in out
        assert "Per-phase summary" in out and f"session file: {paths[sig]}" in out
        rec = bf.read(paths[sig])
        assert rec.complete and rec.meta["ended_by"] == f"stopped: {sig.name}"
        assert 0.5 < rec.meta["duration_s"] < 60.0


def test_an_ended_session_prints_its_summary_and_its_window_idles(ending):
    proc, _ = ending["ended"]
    lines = []
    for line in proc.stdout:                           # printed at the end, the window open
        lines.append(line)
        if line.startswith("session file:"):
            break
    assert any("(end of session)" in line for line in lines), lines
    assert any("Per-phase summary" in line for line in lines), lines
    time.sleep(0.3)
    before, t0 = _cpu_s(proc.pid), time.monotonic()
    time.sleep(2.0)
    share = (_cpu_s(proc.pid) - before) / (time.monotonic() - t0)
    assert proc.poll() is None                         # the window stays open when ended
    assert share < 0.10, f"an ended window used {share:.0%} of a core"
    proc.send_signal(signal.SIGINT)                    # Ctrl-C closes an ended window too
    _, err = proc.communicate(timeout=EXIT_S)
    assert proc.returncode == 0 and "Traceback" not in err, err
    rec = bf.read(Path(lines[-1].split(":", 1)[1].strip()))
    assert rec.complete and rec.meta["ended_by"] == "end of session"


def test_exit_at_end_closes_the_window(ending):
    proc, _ = ending["exit"]
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert "opening the live window" in out and "(end of session)" in out
    assert "Per-phase summary" in out and "session file:" in out
