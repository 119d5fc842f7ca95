"""Two identical sensors in one session (a dyad): labelled or automatically labelled streams,
recorded into real session files by real sessions, the command line, real ptys and the window."""
from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import biofeed as bf
from biofeed.analysis.phases import phase_table
from biofeed.console import current_status
from biofeed.devices.spec import open_devices
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import DEMO
from biofeed.session import Session

sys.path.insert(0, str(Path(__file__).parent / "devices"))
from pty_emulators import LineEmulator  # noqa: E402

pytestmark = pytest.mark.slow

SPEED, DURATION = 50.0, 120.0
RATES = {"ecg": 250.0, "eda": 32.0, "resp": 32.0, "acc": 50.0}
#: Derived streams of one simulated participant whose input is that participant's alone.
OWN_DERIVED = ("ecg.rpeaks", "ecg.rr", "ecg.rr.nn", "ecg.rr.hrv", "ecg.rr.coherence", "eda.scl",
               "eda.scr", "resp.breaths")


def _session(specs, tmp_path, duration=DURATION, notify=None):
    """A DEMO session on the devices ``specs`` at 50x; returns the session and its recording."""
    runner = ProtocolRunner(DEMO)
    devices = open_devices(specs, runner.state_at, notify=notify)
    session = Session(devices, runner, out_dir=tmp_path, speed=SPEED, duration=duration)
    end = asyncio.run(session.run())
    assert end.ended_by == "end of session" and end.t_end == duration
    return session, bf.read(session.path)


@pytest.fixture(scope="module")
def dyad(tmp_path_factory):
    return _session(["parent@simulated:seed=1", "child@simulated:seed=2"],
                    tmp_path_factory.mktemp("dyad"))


@pytest.fixture(scope="module")
def solo_child(tmp_path_factory):
    return _session(["simulated:seed=2"], tmp_path_factory.mktemp("solo"))[1]


def test_both_participants_raw_and_derived_streams_are_recorded(dyad):
    session, rec = dyad
    assert rec.complete
    for who in ("parent", "child"):
        for kind, rate in RATES.items():
            sig = rec.signals[f"{who}.{kind}"]
            assert len(sig) == rate * DURATION and sig.fs == rate
            assert rec.streams[f"{who}.{kind}"].device == f"{who}@simulated"
            np.testing.assert_allclose(sig.times, np.arange(len(sig)) / rate, atol=1e-9)
        for name in OWN_DERIVED + ("ecg.rr.rsa",):
            assert rec.streams[f"{who}.{name}"].derived and len(rec.signals[f"{who}.{name}"]) > 0
        beats = len(rec.signals[f"{who}.ecg.rr"])
        assert 120 < beats < 180                                    # 60-90 bpm over 2 min
        assert len(rec.signals[f"{who}.ecg.rr.nn"]) == beats
        assert len(rec.signals[f"{who}.eda.scl"]) == RATES["eda"] * DURATION
    assert not np.array_equal(rec.signals["parent.ecg"].values, rec.signals["child.ecg"].values)
    assert [d["id"] for d in rec.meta["devices"]] == ["parent@simulated", "child@simulated"]
    assert [d["label"] for d in rec.meta["devices"]] == ["parent", "child"]
    assert [d["config"]["seed"] for d in rec.meta["devices"]] == [1, 2]
    assert rec.meta["devices"][1]["streams"] == ["child.ecg", "child.eda", "child.resp",
                                                    "child.acc"]
    # the terminal status follows the first participant's heart
    rr = rec.signals["parent.ecg.rr"]
    status = current_status(session.live, session.runner)
    assert status["hr_bpm"] == pytest.approx(60000.0 / np.mean(rr.values[-5:]))


def test_a_labelled_participant_records_exactly_what_they_would_record_alone(dyad, solo_child):
    rec = dyad[1]
    for name in ("ecg", "eda", "resp") + OWN_DERIVED:
        together, alone = rec.signals[f"child.{name}"], solo_child.signals[name]
        assert together.values.shape == alone.values.shape, name
        # equal up to the simulator's float rounding, which depends on where the session's chunks
        # fall (~1e-11 in the signal, up to a few 1e-9 in derived values); another person differs
        # by percents
        np.testing.assert_allclose(together.values, alone.values, rtol=1e-6, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(together.times, alone.times, rtol=0, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("name, alone_name", [("child.ecg.rr.rsa", "ecg.rr.rsa"),
                                             ("child.arousal", "arousal")])
def test_each_participants_indices_use_only_their_own_signals(dyad, solo_child, name, alone_name):
    """RSA from the child's own breathing, the arousal index from the child's own NN, HRV,
    SCL and SCRs: what the child alone gives."""
    rec = dyad[1]
    assert "arousal" not in rec.streams and "parent.arousal" in rec.streams
    together, alone = rec.signals[name], solo_child.signals[alone_name]
    assert together.values.shape == alone.values.shape and len(alone) > 0
    np.testing.assert_allclose(together.values, alone.values, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(together.times, alone.times, rtol=0, atol=1e-9)


def test_phase_table_per_participant(dyad, solo_child):
    rec = dyad[1]
    child, alone = phase_table(rec, "child"), phase_table(solo_child)
    assert child.phase.tolist() == ["baseline", "stressor"]
    measures = child.columns[2:]
    np.testing.assert_allclose(child[measures].to_numpy(float), alone[measures].to_numpy(float),
                               rtol=1e-6, equal_nan=True)
    parent = phase_table(rec, "parent")
    assert not np.allclose(parent.hr_bpm, child.hr_bpm)
    pd.testing.assert_frame_equal(phase_table(rec), parent)     # by default: the first
    with pytest.raises(ValueError, match=r"no participant 'nobody'; the recording has \['parent', 'child'\]"):
        phase_table(rec, "nobody")


def test_unlabelled_twins_are_labelled_automatically_and_recorded_the_same(dyad, tmp_path):
    said = []
    _, rec = _session(["simulated:seed=1", "simulated:seed=2"], tmp_path, duration=40.0,
                      notify=said.append)
    assert len(said) == 1 and "simulated:seed=1 as simulated-1, simulated:seed=2 as simulated-2" in said[0]
    raw = sorted(n for n, s in rec.streams.items() if not s.derived)
    assert raw == [f"simulated-{i}.{k}" for i in (1, 2)
                   for k in ("acc", "ecg", "eda", "resp")]
    labelled = dyad[1]
    for auto, given in (("simulated-1", "parent"), ("simulated-2", "child")):
        for kind, rate in RATES.items():
            sig = rec.signals[f"{auto}.{kind}"]
            assert len(sig) == rate * 40.0
            np.testing.assert_allclose(sig.values, labelled.signals[f"{given}.{kind}"].values[:len(sig)],
                                       rtol=1e-6, atol=1e-9)
        assert len(rec.signals[f"{auto}.ecg.rr.nn"]) > 35


# -- the command line -------------------------------------------------------------------------

def _biofeed(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "biofeed", *args], capture_output=True, text=True,
                          timeout=120)


def test_record_two_labelled_simulated_participants(tmp_path):
    run = _biofeed("record", "--device", "a@simulated:seed=1", "--device", "b@simulated:seed=2",
                   "--duration", "4", "--headless", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "recording a@simulated, b@simulated for 4 s" in run.stdout
    assert "labelled devices" not in run.stdout
    for who in ("a", "b"):
        for kind, n in (("ecg", 1000), ("eda", 128), ("resp", 128)):
            assert re.search(rf"│ {who}\.{kind}\s+│ {kind}\s+│ \S+\s+│\s+\d+ │\s+{n} │", run.stdout), run.stdout
        assert re.search(rf"│ {who}\.ecg\.rr\.nn\s+│ nn ", run.stdout)
    path = Path(re.search(r"session file: (.+\.biofeed)", run.stdout).group(1))
    rec = bf.read(path)
    assert rec.complete and [d["id"] for d in rec.meta["devices"]] == ["a@simulated", "b@simulated"]
    assert len(rec.signals["a.ecg"]) == len(rec.signals["b.ecg"]) == 1000
    assert len(rec.signals["b.eda.scl"]) == 128
    info = _biofeed("info", str(path))
    assert info.returncode == 0 and "a@simulated, b@simulated" in info.stdout
    assert re.search(r"│ b\.resp\s+│ resp\s+│ a\.u\.\s+│\s+32 │\s+128 │", info.stdout), info.stdout


def test_record_two_unlabelled_simulated_sensors_says_how_it_labelled_them(tmp_path):
    run = _biofeed("record", "--device", "simulated:seed=1", "--device", "simulated:seed=2",
                   "--duration", "2", "--headless", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    notice = [line for line in run.stdout.splitlines() if line.startswith("labelled")]
    assert notice == ["labelled devices whose stream names clash (acc, ecg, eda, resp): simulated:seed=1 "
                      "as simulated-1, simulated:seed=2 as simulated-2, so streams are named "
                      "simulated-1.ecg, ...; to choose labels, write LABEL@SPEC, e.g. parent@simulated"]
    rec = bf.read(Path(re.search(r"session file: (.+\.biofeed)", run.stdout).group(1)))
    assert len(rec.signals["simulated-1.ecg"]) == len(rec.signals["simulated-2.ecg"]) == 500


def test_record_with_a_bad_label_names_the_spec_and_what_is_allowed(tmp_path):
    run = _biofeed("record", "--device", "a@simulated", "--device", "Mary Smith@simulated",
                   "--duration", "2", "--headless", "--out", str(tmp_path))
    assert run.returncode == 2
    assert ("device 'Mary Smith@simulated': label 'Mary Smith' before '@': expected 1-32 letters, "
            "digits, '-' or '_' (a role such as parent/child or a/b, not a participant's name)"
            ) in " ".join(run.stdout.split())
    assert not list(tmp_path.iterdir())                      # nothing was recorded


# -- two serial sensors with the same profile on two real ptys --------------------------------

def _grove_us(adc, calibration=512.0):
    """specs.md section 4: R = ((1024 + 2 ADC) * 10000) / (cal - ADC) ohm, G = 1e6 / R uS."""
    return np.array([1e6 / (((1024 + 2 * a) * 10000) / (calibration - a)) for a in adc])


def test_two_grove_gsr_sensors_on_two_ptys_are_labelled_and_recorded_apart(tmp_path):
    left = [200 + 3 * i for i in range(50)]                     # 2.5 s at 20 Hz, one connection
    right = [100 + 2 * i for i in range(40)]                    # unplugged after 20 lines
    ports = [tmp_path / "ttyUSB0", tmp_path / "ttyUSB1"]
    emulators = [
        LineEmulator(ports[0], 9600, 20.0, [[f"{a}\r\n".encode() for a in left]]),
        LineEmulator(ports[1], 9600, 20.0, [[f"{a}\r\n".encode() for a in right[:20]],
                                            [f"{a}\r\n".encode() for a in right[20:]]], down_s=0.5)]
    said = []
    devices = open_devices([f"serial:{p}:grove-gsr" for p in ports], notify=said.append)
    assert [d.id for d in devices] == ["serial-1@grove-gsr", "serial-2@grove-gsr"]
    assert len(said) == 1 and f"serial:{ports[1]}:grove-gsr as serial-2, so" in said[0]
    session = Session(devices, out_dir=tmp_path, duration=5.0)
    for emulator in emulators:
        emulator.start()
    try:
        asyncio.run(session.run())
    finally:
        for emulator in emulators:
            emulator.stop()
    for emulator in emulators:
        assert emulator.error is None, emulator.error
        assert emulator.finished.is_set(), "the session ended before an emulator had sent everything"

    rec = bf.read(session.path)
    for label, adc in (("serial-1", left), ("serial-2", right)):
        eda = rec.signals[f"{label}.eda"]
        assert len(eda) == len(adc) and eda.fs == 20.0 and eda.unit == "uS"
        np.testing.assert_allclose(eda.values, _grove_us(adc), rtol=1e-12)
        assert len(rec.signals[f"{label}.eda.scl"]) == len(adc)
        assert rec.streams[f"{label}.eda"].device == f"{label}@grove-gsr"
    assert [d["port"] for d in rec.meta["devices"]] == [str(p) for p in ports]
    gaps = rec.events[rec.events.kind == "gap"]
    assert gaps.label.tolist() == ["serial-2@grove-gsr gap"]
    assert gaps.payload.iloc[0]["device"] == "serial-2@grove-gsr"
    assert len(rec.gaps("serial-2.eda")) == 1 and len(rec.gaps("serial-1.eda")) == 0
    # the status line's counters are read through the labels
    assert devices[0].stats.samples == 50 and devices[1].stats.samples == 40
    assert devices[0].reconnects == 0 and devices[1].reconnects >= 1


# -- the live window and the start screen -----------------------------------------------------

def test_the_window_shows_the_first_participant_and_both_devices(qtbot, tmp_path):
    from biofeed.gui.window import MainWindow

    runner = ProtocolRunner(DEMO)
    devices = open_devices(["parent@simulated:seed=1", "child@simulated:seed=2"], runner.state_at)
    session = Session(devices, runner, out_dir=tmp_path, speed=20.0, duration=40.0)
    w = MainWindow(session)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    future = w.start()
    qtbot.waitUntil(lambda: w.view.now() > 15.0, timeout=20000)
    w.refresh(numbers=True)
    assert w.controls.status.text().startswith("parent@simulated connected · child@simulated connected")
    qtbot.waitUntil(future.done, timeout=30000)
    w.refresh(numbers=True)
    rec = bf.read(session.path)
    _, ecg_y = w.plots.curves["ecg"].getData()
    np.testing.assert_array_equal(ecg_y, rec.signals["parent.ecg"].values[-2500:])
    assert w.indices.values["hr_bpm"].text() != "—"


def test_the_start_screen_adds_labelled_sensors_and_refuses_bad_labels(qtbot, tmp_path):
    from PySide6.QtWidgets import QDialog

    from biofeed.gui.start import StartDialog

    dialog = StartDialog(["demo"], ["simulated", "lsl:name=OpenSignals"], tmp_path)
    qtbot.addWidget(dialog)
    dialog.devices.item(0).setSelected(False)
    for spec in ("parent@simulated:seed=1", "Ann B@simulated", "child@simulated:seed=2"):
        qtbot.keyClicks(dialog.spec, spec)
        dialog.add_spec()
        if " " in spec:
            assert "label 'Ann B' before '@'" in dialog.spec_error.text()
            dialog.spec.clear()
    assert dialog.spec_error.text() == ""
    assert dialog.choice().devices == ("parent@simulated:seed=1", "child@simulated:seed=2")
    dialog.devices.item(3).setText("child@simulated:seed=x")          # edited in the list
    dialog.accept()
    assert dialog.result() != QDialog.Accepted and "seed must be a whole number" in dialog.spec_error.text()
    dialog.devices.item(3).setText("child@simulated:seed=2")
    qtbot.keyClicks(dialog.spec, "sibling@simulated:seed=3")
    dialog.accept()                           # Enter in the field: the spec is added, no start
    assert dialog.result() != QDialog.Accepted and dialog.devices.count() == 5
    dialog.accept()
    assert dialog.result() == QDialog.Accepted
    assert dialog.choice().devices == ("parent@simulated:seed=1", "child@simulated:seed=2",
                                       "sibling@simulated:seed=3")
