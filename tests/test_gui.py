"""The live window, offscreen: it shows the session, records markers, and never costs a sample."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

import biofeed as bf
from biofeed.devices.simulated import SimulatedSensor
from biofeed.gui.window import MainWindow, ParticipantWindow
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import DEMO
from biofeed.session import Session
from biofeed.sim.physiology import SimConfig

pytestmark = pytest.mark.slow


@pytest.fixture
def window(qtbot, tmp_path):
    def make(speed: float, duration: float | None = None) -> MainWindow:
        runner = ProtocolRunner(DEMO)
        session = Session([SimulatedSensor(SimConfig(seed=4), runner.state_at)], runner,
                          out_dir=tmp_path, speed=speed, duration=duration)
        w = MainWindow(session)
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        return w
    return make


def test_window_shows_the_session_and_records_markers(window, qtbot):
    w = window(speed=20.0, duration=90.0)
    future = w.start()
    qtbot.waitUntil(lambda: w.view.now() > 30.0, timeout=20000)
    qtbot.keyClicks(w.controls.note, "participant coughed")
    qtbot.mouseClick(w.controls.marker, Qt.LeftButton)
    qtbot.waitUntil(future.done, timeout=20000)
    w.refresh(numbers=True)
    ecg_x, ecg_y = w.plots.curves["ecg"].getData()
    assert len(ecg_x) == 250 * 10 and np.isfinite(ecg_y).all()     # the last 10 s of ECG
    hr_x, hr_y = w.plots.curves["hr"].getData()
    assert len(hr_x) > 100 and 50 < np.median(hr_y) < 100
    assert w.indices.values["hr_bpm"].text() != "—"
    assert set(w.quality.rows) == {"ECG", "EDA"}                    # a light per sensor
    assert w.quality.rows["ECG"][2].text().endswith(" % session")
    assert w.controls.status.text().startswith("Session ended")
    rec = bf.read(w.session.path)
    markers = rec.events[rec.events.kind == "marker"]
    assert [p["note"] for p in markers.payload] == ["participant coughed"]
    assert 30.0 < markers.onset.iloc[0] < 60.0
    assert rec.complete


def test_closing_the_window_ends_the_session_cleanly(window, qtbot):
    w = window(speed=10.0)
    future = w.start()
    qtbot.waitUntil(lambda: w.view.now() > 20.0, timeout=20000)
    w.close()
    assert future.done()
    rec = bf.read(w.session.path)
    assert rec.complete and rec.meta["ended_by"] == "window closed"
    assert 20.0 < rec.meta["duration_s"] < 60.0


def test_a_blocked_gui_thread_loses_no_sample(window, qtbot):
    w = window(speed=1.0, duration=6.0)
    future = w.start()
    qtbot.waitUntil(lambda: w.view.now() > 1.0, timeout=10000)
    time.sleep(2.0)                     # the GUI thread is stuck for 2 s
    qtbot.waitUntil(future.done, timeout=20000)
    rec = bf.read(w.session.path)
    for name, rate in (("ecg", 250.0), ("eda", 32.0), ("resp", 32.0)):
        sig = rec.signals[name]
        assert len(sig) == int(rate * 6.0) and rec.gaps(name) == []


def test_participant_window_shows_pacer_and_prompt(qtbot, tmp_path):
    runner = ProtocolRunner(DEMO)
    session = Session([SimulatedSensor(SimConfig(seed=4), runner.state_at)], runner,
                      out_dir=tmp_path, speed=100.0)
    p = ParticipantWindow(session)
    qtbot.addWidget(p)
    future = session.start_in_thread()
    qtbot.waitUntil(lambda: session.clock.started and session.clock.now() > 190.0, timeout=20000)
    p.refresh()
    assert p.pacer.volume is not None and p.pacer.rate_bpm == 6.0
    assert "pacer" in p.text.text()
    future.result(timeout=20)


def test_run_in_window_runs_the_session_until_the_window_closes(qtbot, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from biofeed.gui.window import run_in_window

    runner = ProtocolRunner(DEMO)
    session = Session([SimulatedSensor(SimConfig(seed=4), runner.state_at)], runner,
                      out_dir=tmp_path, speed=40.0)
    QTimer.singleShot(2500, lambda: [w.close() for w in QApplication.topLevelWidgets()])
    end = run_in_window(session, participant_window=True)
    assert end.ended_by == "window closed" and 40.0 < end.t_end < 200.0
    assert bf.read(session.path).complete


def test_start_screen_collects_the_choices(qtbot, tmp_path):
    from biofeed.gui.start import StartDialog

    (tmp_path / "20260101T000000Z_aaaa.biofeed").write_bytes(b"")
    dialog = StartDialog(["demo"], ["simulated", "lsl:name=OpenSignals"], tmp_path)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.participant, "P017")
    dialog.devices.item(1).setSelected(True)
    choice = dialog.choice()
    assert choice.participant == "P017" and choice.protocol == "demo"
    assert choice.devices == ("simulated", "lsl:name=OpenSignals") and choice.out_dir == tmp_path
    assert dialog.recent.item(0).text() == "20260101T000000Z_aaaa.biofeed"


def test_clinician_drives_the_protocol_from_the_window(qtbot, tmp_path):
    from biofeed.protocol.schedule import Phase, Protocol, Rating

    protocol = Protocol("gui-drive", (
        Phase("baseline", "baseline", 20.0, "Rest."),
        Phase("separation", "prompt", 20.0, "Recall a separation.", stressor=True),
        Phase("suds", "rating", 20.0, "How distressed are you?",
              rating=Rating("SUDS", "How distressed are you now?", 0, 10)),
        Phase("recovery", "recovery", 20.0, "Rest again.")))
    runner = ProtocolRunner(protocol)
    session = Session([SimulatedSensor(SimConfig(seed=4), runner.state_at)], runner,
                      out_dir=tmp_path, speed=10.0)
    w = MainWindow(session)
    qtbot.addWidget(w)
    w.show()
    future = w.start()
    qtbot.waitUntil(lambda: w.view.now() > 5.0, timeout=20000)
    qtbot.mouseClick(w.controls.pause, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.view.state() is not None and w.view.state().paused, timeout=5000)
    w.refresh(numbers=True)
    assert w.controls.pause.text() == "Resume"
    qtbot.wait(500)                                          # 5 s of session time paused
    qtbot.mouseClick(w.controls.pause, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.view.state() is not None and not w.view.state().paused, timeout=5000)
    qtbot.mouseClick(w.controls.skip, Qt.LeftButton)          # baseline -> separation
    qtbot.waitUntil(lambda: w.view.state().phase.label == "suds", timeout=30000)
    w.refresh(numbers=True)
    assert w.prompt.rating.isVisible() and len(w.prompt.rating_buttons) == 11
    qtbot.mouseClick(w.prompt.rating_buttons[6], Qt.LeftButton)
    qtbot.waitUntil(future.done, timeout=60000)
    events = bf.read(session.path).events
    kinds = events.kind.tolist()
    assert {"pause", "resume", "skip"} <= set(kinds)
    rating = events[events.kind == "rating"]
    assert len(rating) == 1 and rating.payload.iloc[0]["value"] == 6
    skipped = events[events.kind == "skip"].payload.iloc[0]["phase"]
    assert skipped == "baseline"


def test_a_dyad_rates_each_person_in_the_window(qtbot, tmp_path):
    """A per-person rating shows a labelled row of buttons for each participant; each click is
    that person's rating (the session assembled as biofeed gui and run assemble it)."""
    from biofeed.devices.spec import open_devices
    from biofeed.protocol.assemble import protocol_session
    from biofeed.protocol.schedule import Phase, Protocol, Rating

    protocol = Protocol("gui-dyad", (
        Phase("baseline", "baseline", 10.0, "Rest."),
        Phase("suds", "rating", 30.0, "How distressed are you?",
              rating=Rating("SUDS", "How distressed are you now?", 0, 10, per_person=True)),
        Phase("recovery", "recovery", 10.0, "Rest again.")), participants=2)
    session = protocol_session(protocol, lambda runner: open_devices(
        ["a@simulated:seed=1", "b@simulated:seed=2"], runner.state_at), out_dir=tmp_path, speed=10.0)
    w = MainWindow(session)
    qtbot.addWidget(w)
    w.show()
    future = w.start()
    qtbot.waitUntil(lambda: w.view.state() is not None and w.view.state().phase.label == "suds",
                    timeout=30000)
    w.refresh(numbers=True)
    assert w.prompt.rating.isVisible() and len(w.prompt.rating_buttons) == 22   # two rows of 0-10
    qtbot.mouseClick(w.prompt.rating_buttons[11 + 3], Qt.LeftButton)           # b: 3
    qtbot.mouseClick(w.prompt.rating_buttons[7], Qt.LeftButton)                # a: 7
    qtbot.waitUntil(future.done, timeout=60000)
    ratings = bf.read(session.path).events.query("kind == 'rating'")
    got = sorted((p["participant"], p["value"]) for p in ratings.payload)
    assert got == [("a", 7), ("b", 3)]


def test_status_line_reports_corrected_beats_and_lost_samples(tmp_path):
    from types import SimpleNamespace

    from biofeed.gui.window import beat_quality, device_status
    from biofeed.live import LiveBuffers
    from biofeed.clock import SessionClock
    from biofeed.stream import Chunk, StreamInfo

    nn = StreamInfo("ecg.rr.nn", "nn", "ms", 0.0, ("nn_ms", "artifact"), "x", True)
    live = LiveBuffers()
    clock = SessionClock()
    clock.start()
    live.start(clock, [nn])
    codes = np.zeros(50)
    codes[:10] = 1                                           # 10 of 50 beats corrected
    live.write(Chunk(nn, np.column_stack([np.full(50, 800.0), codes]), 0.8,
                     timestamps=0.8 * np.arange(1, 51)))
    assert beat_quality(live) == "beats corrected 20 % (60 s) - CHECK SIGNAL"
    device = SimpleNamespace(id="gsr", connected=False, reconnects=2, battery_percent=None,
                             stats=SimpleNamespace(lost=7))
    assert device_status(device) == "gsr RECONNECTING 2 drop-outs 7 samples lost"
    from biofeed.devices.base import DeviceStatus                # the engine's view of it
    down = DeviceStatus("gsr", "disconnected", since_s=30.0, reason="no data for 5 s", gaps=1,
                        disconnected_s=4.0)
    assert (device_status(device, down, 42.0)
            == "gsr DISCONNECTED for 12 s (no data for 5 s) 1 drop-outs (4 s) 7 samples lost")
    assert device_status(device, DeviceStatus("gsr", "connected"), 42.0) == "gsr connected 7 samples lost"


def test_quality_lights_show_the_share_of_good_segments(qtbot):
    from biofeed.clock import SessionClock
    from biofeed.gui.indices import QualityTracker
    from biofeed.gui.panels import QualityPanel
    from biofeed.gui.style import QUALITY_COLOURS
    from biofeed.live import LiveBuffers
    from biofeed.physio.quality import ECG_CHANNELS, EDA_CHANNELS
    from biofeed.stream import Chunk, StreamInfo

    ecg = StreamInfo("child.ecg", "ecg", "mV", 250.0, device="child@sim")
    streams = [ecg, StreamInfo("child.ecg.quality", "quality", "a.u.", 0.0, ECG_CHANNELS,
                               derived=True),
               StreamInfo("eda.quality", "quality", "a.u.", 0.0, EDA_CHANNELS, derived=True),
               StreamInfo("ppg.quality", "quality", "a.u.", 0.0, ECG_CHANNELS, derived=True),
               StreamInfo("eda", "eda", "uS", 32.0)]      # (no raw stream for the PPG quality)
    live = LiveBuffers()
    live.start(SessionClock(), streams)
    tracker, panel = QualityTracker(), QualityPanel()
    qtbot.addWidget(panel)

    def segments(info, good, first_end):
        rows = np.zeros((len(good), len(info.channels)))
        rows[:, 0] = good
        live.write(Chunk(info, rows, first_end, timestamps=first_end + 5.0 * np.arange(len(good))))

    segments(streams[1], np.ones(12), 10.0)                  # a minute of good ECG: 10-65 s
    eda_good = np.ones(12)
    eda_good[[0, 1, 2, 3, 5]] = 0                             # 5 of the last 12 poor
    segments(streams[2], eda_good, 10.0)
    lights = tracker.update(live)
    assert [(q.sensor, q.state) for q in lights] == [("child ECG", "good"), ("EDA", "fair"),
                                                     ("ppg", "waiting")]
    assert lights[1].recent_pct == pytest.approx(100 * 7 / 12)
    segments(streams[1], np.array([1, 0]), 70.0)             # the electrode comes off
    lights = tracker.update(live)
    assert lights[0].state == "poor"
    assert lights[0].session_pct == pytest.approx(100 * 13 / 14)
    assert lights[0].recent_pct == pytest.approx(100 * 11 / 12)   # segments ending 20-75 s
    panel.show_quality(lights)
    light, name, text = panel.rows["child ECG"]
    assert QUALITY_COLOURS["poor"] in light.styleSheet()
    assert text.text() == "POOR  ·  92 % last min  ·  93 % session"
    assert QUALITY_COLOURS["fair"] in panel.rows["EDA"][0].styleSheet()
    assert panel.rows["ppg"][2].text() == "waiting for the first 10 s"
    assert panel.none.isHidden()


def test_an_ended_session_shows_its_summary_and_writes_the_report(qtbot, tmp_path):
    import stat

    from biofeed.analysis.phases import phase_table

    runner = ProtocolRunner(DEMO)
    session = Session([SimulatedSensor(SimConfig(seed=4), runner.state_at)], runner,
                      out_dir=tmp_path, speed=100.0, duration=75.0)
    ends = []
    w = MainWindow(session, on_end=ends.append)
    qtbot.addWidget(w)
    w.show()
    w.start()
    qtbot.waitUntil(lambda: w.end is not None, timeout=30000)
    assert [e.ended_by for e in ends] == ["end of session"]          # told once
    assert not w.timer.isActive()                                    # nothing redraws
    controls = w.controls
    assert not any(b.isEnabled() for b in (controls.pause, controls.skip, controls.abort,
                                           controls.marker, controls.stop, controls.note))
    panel = w.ended_panel
    assert panel.isVisible() and not w.pacer.isVisible() and panel.close_button.isEnabled()
    assert panel.title.text() == "Session ended at 75.0 s (end of session)"
    table = phase_table(bf.read(session.path))
    assert panel.table.rowCount() == len(table) == 2                 # baseline, stressor (part)
    assert panel.table.item(0, 0).text() == "baseline"
    assert panel.table.item(0, 2).text() == f"{table.hr_bpm.iloc[0]:.1f}"
    assert panel.path.text() == f"session file: {session.path}"
    opened = []
    w.open_url = lambda url: opened.append(url.toLocalFile()) or True
    w.report_pdf = False              # (the PDF's drawing is tested with the report)
    qtbot.mouseClick(panel.report, Qt.LeftButton)
    page = session.path.parent / f"{session.path.stem}_report.html"
    assert opened == [str(page)] and panel.note.text() == f"report: {page}"
    assert stat.S_IMODE(page.stat().st_mode) == 0o600 and "<html" in page.read_text()
    qtbot.mouseClick(panel.report, Qt.LeftButton)                    # again: the same page
    assert opened == [str(page)] * 2
    w.close()
    assert len(ends) == 1


def test_window_baselines_equal_the_report_phase_table(qtbot, tmp_path):
    from biofeed.analysis.analyze import analyze
    from biofeed.analysis.phases import MEASURES, QUALITY_COLUMNS, phase_table
    from biofeed.gui.indices import INDICES
    from biofeed.protocol.schedule import Phase, Protocol

    protocol = Protocol("baseline-check", (
        Phase("baseline", "baseline", 80.0, "Rest."),
        Phase("separation", "prompt", 40.0, "Recall a separation.", stressor=True)))
    runner = ProtocolRunner(protocol)
    session = Session([SimulatedSensor(SimConfig(seed=2), runner.state_at)], runner,
                      out_dir=tmp_path, speed=40.0)
    w = MainWindow(session)
    qtbot.addWidget(w)
    w.show()
    w.start()
    qtbot.waitUntil(lambda: w.baseline.values is not None, timeout=20000)
    w.refresh(numbers=True)
    if not w.baseline.final:                           # during the phase: the phase so far
        assert any(label.text().startswith("so far") for label in w.indices.baselines.values())
    qtbot.waitUntil(lambda: w.end is not None, timeout=30000)
    assert w.baseline.final
    live = w.baseline.values
    rec = bf.read(session.path)
    recorded = phase_table(rec).iloc[0]
    replayed = analyze(rec).phases.iloc[0]              # the report's table
    assert recorded.kind == "baseline"
    for column in (*MEASURES, *QUALITY_COLUMNS):
        assert live[column] == recorded[column] or (np.isnan(live[column])
                                                    and np.isnan(recorded[column])), column
    measures = [m for m in MEASURES if m != "lf_hf"]   # (NaN: a phase under 2 min)
    np.testing.assert_allclose([live[m] for m in measures], replayed[measures].to_numpy(float),
                               rtol=1e-9)
    for key, *_ in INDICES:                            # every tile has its baseline
        text = w.indices.baselines[key].text()
        assert text.startswith("baseline ") and "—" not in text and "none" not in text, key
    assert w.indices.baselines["hr_bpm"].text().startswith(f"baseline {live['hr_bpm']:.1f}")


def test_a_disconnected_device_is_loud_in_the_window(qtbot, tmp_path):
    from biofeed.devices.spec import open_devices

    runner = ProtocolRunner(DEMO)
    devices = open_devices(["gsr@serial:/nonexistent:grove-gsr", "simulated"], runner.state_at)
    session = Session(devices, runner, out_dir=tmp_path, duration=3.0, allow_missing=True)
    w = MainWindow(session)
    qtbot.addWidget(w)
    w.show()
    w.start()
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=10000)
    assert w.banner.text().startswith("gsr@grove-gsr DISCONNECTED for ")
    assert "gsr@grove-gsr DISCONNECTED" in w.controls.status.text()
    # the other device may still be connecting when the missing one is first shown
    qtbot.waitUntil(lambda: "simulated connected" in w.controls.status.text(), timeout=10000)
    assert "gsr@grove-gsr DISCONNECTED" in w.controls.status.text()
    qtbot.waitUntil(lambda: w.end is not None, timeout=20000)
    assert not w.banner.isVisible()                      # an ended session warns no more
