"""Small things from the live-window issue (15): the Bluetooth-unavailable line of
``devices scan``, liblsl's own log kept quiet, and the screenshot script's arguments."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_bluetooth_problems_say_what_is_wrong():
    from bleak.exc import BleakError

    from biofeed.devices.scan import bluetooth_problem

    no_bus = bluetooth_problem(FileNotFoundError(2, "No such file or directory"))
    assert no_bus.startswith("Bluetooth unavailable: the D-Bus system bus is not running")
    assert "bluez" in no_bus and "[Errno" not in no_bus
    assert (bluetooth_problem(BleakError("No Bluetooth adapters found."))
            == "Bluetooth unavailable: no Bluetooth adapter (No Bluetooth adapters found)")
    assert "permission denied" in bluetooth_problem(PermissionError(13, "denied"))
    assert bluetooth_problem(BleakError("")) == "Bluetooth unavailable: BleakError (BleakError)"


@pytest.mark.skipif(Path("/run/dbus/system_bus_socket").exists(),
                    reason="this machine has a D-Bus system bus: Bluetooth may well be available")
def test_devices_scan_without_bluez_prints_one_clear_line(capsys):
    from biofeed.cli import main

    assert main(["devices", "scan", "--timeout", "0.3"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Bluetooth unavailable: the D-Bus system bus is not running" in out
    assert "[Errno" not in out


def test_liblsl_logs_only_warnings_unless_asked(monkeypatch):
    from biofeed.lsl.config import LOG_LEVEL, config_text, log_level

    clean = {k: v for k, v in os.environ.items() if k not in ("LSLAPICFG", "BIOFEED_LSL_LOG_LEVEL")}
    code = ("from biofeed.lsl.config import pylsl_module\n"
            "pylsl_module('machine').resolve_streams(wait_time=0.1)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=clean, timeout=60)
    assert run.returncode == 0 and "INFO|" not in run.stderr, run.stderr   # liblsl was loud
    monkeypatch.delenv("BIOFEED_LSL_LOG_LEVEL", raising=False)
    assert log_level() == LOG_LEVEL == -1 and "[log]\nlevel = -1\n" in config_text("link")
    monkeypatch.setenv("BIOFEED_LSL_LOG_LEVEL", "0")                       # asked: INFO again
    assert "[log]\nlevel = 0\n" in config_text("machine")
    monkeypatch.setenv("BIOFEED_LSL_LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="BIOFEED_LSL_LOG_LEVEL='loud'"):
        log_level()


def test_screenshot_help_creates_nothing(tmp_path, monkeypatch, capsys):
    from biofeed.gui.screenshot import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0 and "OUTDIR" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["shots", "--speed", "0"])
    assert exit_.value.code == 2
    assert list(tmp_path.iterdir()) == []
