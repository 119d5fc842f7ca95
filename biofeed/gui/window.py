"""The clinician's main window and the participant's window, and running a session in them."""
from __future__ import annotations

import concurrent.futures
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np

from PySide6.QtCore import QEventLoop, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QMainWindow, QProgressBar,
                               QVBoxLayout, QWidget)

from ..engine import SessionEnd
from ..protocol.runner import ProtocolState
from ..session import Session
from .indices import BaselineTracker, QualityTracker, breathing_rate_bpm, current_indices
from .pacer import PacerWidget
from .panels import ControlsPanel, EndPanel, IndicesPanel, PromptPanel, QualityPanel
from .plots import SignalPlots, SpectrumPlots
from .signals import SignalWatch

#: Milliseconds between frames (up to 33 frames per second).
FRAME_MS = 30
#: Frames between updates of the numbers (4 a second is easy to read).
NUMBERS_EVERY = 8
#: Real seconds between updates of the baseline values and of the HRV spectrum.
BASELINE_S = 1.0
#: Milliseconds between frames while the protocol is paused (the traces still move; the
#: pacer, the only animation, rests).
PAUSED_FRAME_MS = 1000


class _SessionView:
    """What both windows need: the session, its future, and the protocol state right now."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.future: concurrent.futures.Future[SessionEnd] | None = None

    def now(self) -> float:
        clock = self.session.clock
        return clock.now() if clock.started else 0.0

    def state(self) -> ProtocolState | None:
        runner = self.session.runner
        return None if runner is None else runner.state_at(self.now())


def device_status(device, status=None, now_s: float = math.nan) -> str:
    """One device's line: its state, drop-outs so far, battery when known, samples lost.

    ``status`` is the engine's :class:`~biofeed.devices.base.DeviceStatus` of the device
    (connecting, connected, or DISCONNECTED with how long, at session time ``now_s`` s, and
    why); without it, the device's own ``connected`` flag.
    """
    parts = [device.id]
    if status is not None:
        if status.state == "disconnected":
            down = f" for {now_s - status.since_s:.0f} s" if math.isfinite(now_s) else ""
            parts.append(f"DISCONNECTED{down}" + (f" ({status.reason})" if status.reason else ""))
        else:
            parts.append(status.state)
        if status.gaps:
            parts.append(f"{status.gaps} drop-outs ({status.disconnected_s:.0f} s)")
    else:
        connected = getattr(device, "connected", None)
        if connected is not None:
            parts.append("connected" if connected else "RECONNECTING")
        if getattr(device, "reconnects", 0):
            parts.append(f"{device.reconnects} drop-outs")
    if getattr(device, "battery_percent", None) is not None:
        parts.append(f"battery {device.battery_percent:.0f} %")
    lost = getattr(getattr(device, "stats", None), "lost", 0)
    if lost:
        parts.append(f"{lost} samples lost")
    return " ".join(parts)


def beat_quality(live) -> str:
    """Share of corrected beats over the last 60 s (artifact correction, Lipponen &
    Tarvainen 2019): a high share means a poor ECG/PPG signal or many ectopic beats."""
    names = live.of_kind("nn")
    if not names:
        return ""
    _, v = live.window(names[0], seconds=60.0)
    if not len(v):
        return ""
    share = 100.0 * float(np.mean(v[:, 1] > 0))
    return f"beats corrected {share:.0f} % (60 s){' - CHECK SIGNAL' if share > 10 else ''}"


class MainWindow(QMainWindow):
    """Live traces, indices against baseline, signal-quality lights, pacer, prompt and
    clinician controls.

    Parameters
    ----------
    session : Session
    on_end : callable, optional
        Called once with the :class:`SessionEnd` on the GUI thread when the session has
        ended, however it ended (its end, STOP, a signal, the window closed); the command line
        prints its summary there.
    close_at_end : bool
        Close the window when the session ends (``--exit-at-end``); otherwise it stays open
        in its ended state until closed.
    """

    #: Emitted (from the engine's thread, delivered on the GUI thread) when the session ended.
    session_ended = Signal()
    #: Emitted when the window has closed (the session is over by then).
    closed = Signal()

    def __init__(self, session: Session, on_end: Callable[[SessionEnd], None] | None = None,
                 close_at_end: bool = False) -> None:
        super().__init__()
        self.on_end, self.close_at_end = on_end, close_at_end
        self.end: SessionEnd | None = None
        self.error: BaseException | None = None
        self._closing = False
        self.view = _SessionView(session)
        self.session = session
        self.setWindowTitle("biofeed: live session")
        self.plots = SignalPlots(session.live, session.runner)
        self.spectrum = SpectrumPlots(session.live)
        self.indices = IndicesPanel()
        self.quality = QualityPanel()
        self.quality_tracker = QualityTracker()
        self.pacer = PacerWidget()
        runner = session.runner
        self.prompt = PromptPanel(
            on_rating=None if runner is None else (lambda v, who: runner.rate(v, participant=who)),
            participants=() if runner is None else runner.participants)
        self.controls = ControlsPanel(on_marker=session.add_marker if runner is None else runner.marker,
                                      on_stop=self.stop_session, runner=runner)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        # a device that stopped delivering: loud, above everything else on the side
        self.banner = QLabel("")
        self.banner.setTextFormat(Qt.PlainText)          # device ids and labels: never HTML
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #b00020; color: white; font-weight: bold; "
                                  "font-size: 13pt; padding: 6px; border-radius: 4px;")
        self.banner.hide()
        side = QVBoxLayout()
        side.addWidget(self.banner)
        side.addWidget(self.progress)
        side.addWidget(self.indices)
        side.addWidget(self.quality)
        side.addWidget(self.pacer, 1)
        side.addWidget(self.prompt)
        self.ended_panel = EndPanel(on_report=self.write_report, on_close=self.close)
        self.ended_panel.hide()
        side.addWidget(self.ended_panel, 1)
        side.addWidget(self.controls)
        central = QWidget()
        layout = QHBoxLayout(central)
        traces = QVBoxLayout()
        traces.addWidget(self.plots, 4)
        traces.addWidget(self.spectrum, 1)
        layout.addLayout(traces, 3)
        right = QWidget()
        right.setLayout(side)
        right.setMinimumWidth(460)
        layout.addWidget(right, 2)
        self.setCentralWidget(central)
        self.baseline = BaselineTracker()
        self._breathing = math.nan           # measured breathing rate, breaths/min
        self._report: Path | None = None     # the report's HTML page, once written
        self._baseline_at = -math.inf
        self.frames = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.session_ended.connect(self._on_ended, Qt.QueuedConnection)
        # a paused window draws once a second: show Pause / Resume at once
        self.controls.pause.clicked.connect(
            lambda: QTimer.singleShot(100, lambda: self.refresh(numbers=True)))

    def start(self) -> concurrent.futures.Future[SessionEnd]:
        """Start the session on its worker thread and the 30 fps refresh."""
        self.view.future = self.session.start_in_thread()
        self.view.future.add_done_callback(self._notify_ended)
        self.timer.start(FRAME_MS)
        return self.view.future

    def _notify_ended(self, _future) -> None:
        try:
            self.session_ended.emit()       # engine thread: queued to the GUI thread
        except RuntimeError:                # the window was deleted first (a test's teardown)
            pass

    def stop_session(self) -> None:
        self.session.stop("stopped from the window")

    def stop_by_signal(self, name: str) -> None:
        """SIGINT or SIGTERM: end the session as headless does (``stopped: SIGINT``), then
        close the window, whether the session was running or had ended already."""
        self.close_at_end = True
        if self.end is None and self.error is None:
            self.session.stop(f"stopped: {name}")
        else:
            self.close()

    def _on_ended(self) -> None:
        """The session is over: stop redrawing, show how it ended, tell ``on_end``; close
        when asked to. Runs once."""
        future = self.view.future
        if future is None or not future.done() or self.end is not None or self.error is not None:
            return
        self.timer.stop()
        try:
            self.end = future.result()
        except BaseException as exc:  # noqa: BLE001 - run_in_window re-raises it from the future
            self.error = exc
            self.controls.status.setText(f"Session failed: {exc!r}")
            if not self._closing:
                self.close()
            return
        self.refresh(numbers=True)          # the last data, once
        if not self.close_at_end:           # (a window about to close shows nothing more)
            self.show_ended(self.end)
        if self.on_end is not None:
            self.on_end(self.end)
        if self.close_at_end and not self._closing:
            self.close()

    #: Opens the written report (a test may replace it); returns whether it could.
    open_url = staticmethod(QDesktopServices.openUrl)
    #: The report has its PDF too (as ``biofeed analyze`` writes it).
    report_pdf = True

    def show_ended(self, end: SessionEnd) -> None:
        """The ended state: every control off but Close, the pacer and prompt replaced by the
        summary (:class:`~biofeed.gui.panels.EndPanel`: the phase table of the recorded file,
        its path and the report button). Nothing is redrawn after this."""
        from ..analysis.phases import phase_table
        from ..record.reader import read

        for button in (self.controls.pause, self.controls.skip, self.controls.abort,
                       self.controls.marker, self.controls.stop, *self.prompt.rating_buttons):
            button.setEnabled(False)
        self.controls.note.setEnabled(False)
        self.pacer.hide()
        self.prompt.hide()
        path = self.session.path
        try:
            phases = phase_table(read(path)) if path is not None else None
        except (ValueError, OSError) as exc:     # a damaged file: say so, keep the window
            phases = None
            self.ended_panel.note.setText(f"cannot read the session file: {exc}")
        self.ended_panel.show_end(end.t_end, end.ended_by, phases, path)
        self.ended_panel.show()
        self.controls.status.setText(f"Session ended: {end.ended_by}")
        self.setWindowTitle(f"biofeed: session ended ({end.ended_by})")

    def write_report(self) -> Path | None:
        """Write the analysis report of the session next to its file
        (:func:`biofeed.analysis.report.write_report`) and open it; an existing report of
        the session is opened as it is. Returns the HTML page's path."""
        from ..analysis.analyze import analyze
        from ..analysis.report import default_stem, write_report
        from ..record.reader import read

        path = self.session.path
        if path is None:
            return None
        note = self.ended_panel.note
        if self._report is not None and self._report.is_file():     # written already
            self.open_url(QUrl.fromLocalFile(str(self._report)))
            return self._report
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            analysis = analyze(read(path))
            try:
                page = write_report(analysis, path.parent, pdf=self.report_pdf).html
            except FileExistsError:
                page = path.parent / f"{default_stem(analysis)}_report.html"
                if not page.is_file():
                    raise
        except (ValueError, OSError) as exc:
            note.setText(f"could not write the report: {exc}")
            return None
        finally:
            QApplication.restoreOverrideCursor()
        self._report = page
        opened = self.open_url(QUrl.fromLocalFile(str(page)))
        note.setText(f"report: {page}" + ("" if opened else
                                          " (no browser could be started: open it yourself)"))
        return page

    def refresh(self, numbers: bool = False) -> None:
        """One frame: traces every frame, numbers and status a few times a second (or now).

        While the protocol is paused, a frame a second; a minimised window draws nothing."""
        live = self.session.live
        future = self.view.future
        if future is not None and future.done() and self.end is None and not numbers:
            self._on_ended()      # (session_ended is the prompt path; this one never misses)
            return
        if live.clock is None or (self.isMinimized() and not numbers):
            return
        names = live.of_kind("ecg") or live.of_kind("ppg") or list(live.streams)
        t, _ = live.window(names[0], samples=1) if names else ([], None)
        now = float(t[-1]) if len(t) else self.view.now()
        self.plots.refresh(now)
        state = self.view.state()
        if numbers or self.frames % NUMBERS_EVERY == 0:
            self._breathing = breathing_rate_bpm(live, now)
        self.pacer.show_state(state, self._breathing)
        paused = state is not None and state.paused
        if numbers or paused or self.frames % NUMBERS_EVERY == 0:
            self._numbers(state)
        if self.timer.isActive():
            interval = PAUSED_FRAME_MS if paused else FRAME_MS
            if self.timer.interval() != interval:
                self.timer.setInterval(interval)
        self.frames += 1

    def _numbers(self, state: ProtocolState | None) -> None:
        live = self.session.live
        tracker = self.baseline
        ended = self.view.future is not None and self.view.future.done()
        if ended or time.monotonic() - self._baseline_at >= BASELINE_S:   # once a second
            if not tracker.final:
                tracker.update(live, self.view.now(), ended)
            self.spectrum.refresh()
            self._baseline_at = time.monotonic()
        self.indices.show_values(current_indices(live), tracker.values, tracker.final)
        statuses = self.session.device_status() if hasattr(self.session, "device_status") else {}
        down = [st for st in statuses.values() if st.state == "disconnected"] if not ended else []
        self.quality.show_quality(self.quality_tracker.update(live), {st.device for st in down})
        remaining = None if state is None or state.paused else state.phase.duration_s - state.elapsed
        self.prompt.show_state(state, remaining)
        self.controls.pause.setText("Resume" if state is not None and state.paused else "Pause")
        end = live.end_s
        recent = list(live.lags_s)[-50:]
        lag = 1000.0 * max(recent) / self.session.clock.speed if recent else float("nan")
        now = self.view.now()
        self.banner.setVisible(bool(down))
        if down:
            self.banner.setText("\n".join(
                f"{st.device} DISCONNECTED for {now - st.since_s:.0f} s: retrying, the gap is "
                f"recorded" for st in down))
        numbers = " · ".join(part for part in (
            beat_quality(live), f"{live.samples:,} samples", f"lag {lag:.0f} ms",
            f"{now:.0f}{f' / {end:.0f}' if end else ''} s") if part)
        self.controls.status.setText(
            ("Session ended: " + (live.ended or "")) if ended else
            " · ".join(device_status(d, statuses.get(d.id), now)
                       for d in self.session.engine.devices) + "\n" + numbers)
        if end:
            self.progress.setValue(int(1000 * min(1.0, self.view.now() / end)))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Closing the window ends the session cleanly (``window closed``) before the window
        goes."""
        self._closing = True
        future = self.view.future
        if future is not None and not future.done():
            self.session.stop("window closed")
            concurrent.futures.wait([future], timeout=30)
        self.timer.stop()
        self._on_ended()
        event.accept()
        self.closed.emit()


class ParticipantWindow(QWidget):
    """What the participant sees (a second screen): the pacer, the prompt and a stop button."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.view = _SessionView(session)
        self.setWindowTitle("biofeed")
        self.setStyleSheet("background: #fafafa;")
        layout = QVBoxLayout(self)
        self.text = QLabel("")
        self.text.setTextFormat(Qt.PlainText)     # protocol text: never HTML
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignCenter)
        self.text.setStyleSheet("font-size: 22pt; color: #1a1a1a;")
        self.pacer = PacerWidget()
        controls = ControlsPanel(on_marker=lambda note: None, on_stop=lambda: session.stop(
            "stopped by the participant"))
        controls.note.hide()
        controls.marker.hide()
        controls.stop.setText("STOP")
        layout.addWidget(self.text)
        layout.addWidget(self.pacer, 1)
        layout.addWidget(controls)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(FRAME_MS)

    def refresh(self) -> None:
        if self.view.session.live.ended is not None:    # the session is over: stop drawing
            self.timer.stop()
            self.pacer.show_state(None)
            self.text.setText("The session has ended. Thank you.")
            return
        state = self.view.state()
        self.pacer.show_state(state, breathing_rate_bpm(self.view.session.live, self.view.now()))
        self.text.setText("" if state is None else state.phase.text)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.timer.stop()
        event.accept()


def run_in_window(session: Session, participant_window: bool = False,
                  exit_at_end: bool = False,
                  on_end: Callable[[SessionEnd], None] | None = None) -> SessionEnd:
    """Show the session in the main window (and the participant's), run it, return its end.

    The window stays open after the session ends, in its ended state, until it is closed;
    with ``exit_at_end`` it closes by itself. SIGINT and SIGTERM end the session cleanly
    (``stopped: SIGINT``) and close the window (:class:`~biofeed.gui.signals.SignalWatch`).
    ``on_end`` is called once with the end, on the GUI thread (see :class:`MainWindow`).
    """
    app = QApplication.instance() or QApplication([])
    window = MainWindow(session, on_end=on_end, close_at_end=exit_at_end)
    watch = SignalWatch(window.stop_by_signal)
    # The main window's own loop ends when it closes; the application is not quit (a caller
    # may go on using it: the start screen's, a test's).
    quit_on_last = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    loop = QEventLoop()
    try:
        window.resize(1500, 950)
        others = [ParticipantWindow(session)] if participant_window else []
        window.closed.connect(lambda: [w.close() for w in others])
        window.closed.connect(loop.quit)
        window.show()
        for w in others:
            w.resize(700, 800)
            w.show()
        future = window.start()
        loop.exec()
        if not future.done():               # the loop was left some other way
            session.stop("window closed")
    finally:
        watch.close()
        app.setQuitOnLastWindowClosed(quit_on_last)
    return future.result(timeout=30)
