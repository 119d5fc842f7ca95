"""Side panels: the indices (large numbers against baseline), the prompt, the clinician controls."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import pandas as pd

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QGridLayout, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from ..protocol.runner import ProtocolState
from .indices import INDICES, SensorQuality, format_index
from .style import FONT_LABEL_PT, FONT_PROMPT_PT, FONT_VALUE_PT, QUALITY_COLOURS

#: Index tiles per row: the cardiac indices (HR, RMSSD, coherence, RSA) on the first row.
TILES_PER_ROW = 4


def _font(points: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSize(points)
    font.setBold(bold)
    return font


class IndicesPanel(QFrame):
    """A tile per index: the value, its unit, and the baseline value with the change."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.StyledPanel)
        grid = QGridLayout(self)
        self.values: dict[str, QLabel] = {}
        self.baselines: dict[str, QLabel] = {}
        for i, (key, label, unit, _) in enumerate(INDICES):
            tile = QVBoxLayout()
            name = QLabel(f"{label} ({unit})")
            name.setFont(_font(FONT_LABEL_PT))
            value = QLabel("—")
            value.setFont(_font(FONT_VALUE_PT, bold=True))
            baseline = QLabel("baseline —")
            baseline.setFont(_font(FONT_LABEL_PT - 1))
            baseline.setStyleSheet("color: #555")
            for w in (name, value, baseline):
                w.setAlignment(Qt.AlignCenter)
                tile.addWidget(w)
            grid.addLayout(tile, i // TILES_PER_ROW, i % TILES_PER_ROW)
            self.values[key], self.baselines[key] = value, baseline

    def show_values(self, current: dict[str, float], baseline: dict[str, float] | None,
                    final: bool = True) -> None:
        """The current values and, under each, the baseline phase's value (as the report's
        phase table has it; "so far" while the baseline phase runs, "none" when the phase has
        no value of that index, "—" before it began) with an arrow for the change."""
        for key, label in self.values.items():
            label.setText(format_index(key, current[key]))
            b = None if baseline is None else baseline.get(key, math.nan)
            if b is None:
                self.baselines[key].setText("baseline —")
            elif not math.isfinite(b):
                self.baselines[key].setText("baseline: none" if final else "so far: none")
            else:
                delta = current[key] - b
                arrow = "" if not math.isfinite(delta) else ("▲" if delta > 0 else "▼" if delta < 0 else "")
                self.baselines[key].setText(f"{'baseline' if final else 'so far'} "
                                            f"{format_index(key, b, baseline=True)} {arrow}".rstrip())


class QualityPanel(QFrame):
    """A light per sensor: green / amber / red with the word, and the share of good 10 s
    segments over the last minute and the session (:class:`~biofeed.gui.indices.SensorQuality`)."""

    #: Diameter of a light, pixels.
    LIGHT_PX = 18

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.StyledPanel)
        self.grid = QGridLayout(self)
        title = QLabel("Signal quality (good 10 s segments)")
        title.setFont(_font(FONT_LABEL_PT))
        self.grid.addWidget(title, 0, 0, 1, 4)
        self.rows: dict[str, tuple[QLabel, QLabel, QLabel]] = {}
        self.none = QLabel("no ECG, PPG or EDA stream")
        self.none.setStyleSheet("color: #555")
        self.grid.addWidget(self.none, 1, 0, 1, 4)
        self.grid.setColumnStretch(2, 1)

    def show_quality(self, sensors: list[SensorQuality],
                     disconnected: frozenset[str] | set[str] = frozenset()) -> None:
        """A row per sensor; a sensor of a device in ``disconnected`` (device ids) is red and
        says so, whatever its last segments were."""
        self.none.setVisible(not sensors)
        for q in sensors:
            if q.sensor not in self.rows:
                light, name, text = QLabel(), QLabel(q.sensor), QLabel()
                name.setTextFormat(Qt.PlainText)      # a device label: never HTML
                light.setFixedSize(self.LIGHT_PX, self.LIGHT_PX)
                name.setFont(_font(FONT_LABEL_PT + 1, bold=True))
                text.setFont(_font(FONT_LABEL_PT))
                row = len(self.rows) + 1
                for col, w in enumerate((light, name, text)):
                    self.grid.addWidget(w, row, col)
                self.rows[q.sensor] = (light, name, text)
            light, _, text = self.rows[q.sensor]
            down = bool(q.device) and q.device in disconnected
            light.setStyleSheet(f"background: {QUALITY_COLOURS['poor' if down else q.state]}; "
                                f"border-radius: {self.LIGHT_PX // 2}px;")
            if down:
                text.setText("NO DATA: device disconnected")
            elif q.state == "waiting":
                text.setText("waiting for the first 10 s")
            else:
                text.setText(f"{q.state.upper()}  ·  {q.recent_pct:.0f} % last min  ·  "
                             f"{q.session_pct:.0f} % session")


class PromptPanel(QFrame):
    """The phase, the participant-facing text, and a rating control when the phase asks: one
    row of buttons, or one labelled row per participant for a per-person rating (a dyad).
    ``on_rating(value, participant)`` gets the participant's device label, or None for a
    rating of the session."""

    def __init__(self, on_rating: Callable[[int, str | None], None] | None = None,
                 participants: tuple[str, ...] = ("",), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.StyledPanel)
        layout = QVBoxLayout(self)
        self.phase = QLabel("—")
        self.phase.setFont(_font(FONT_LABEL_PT + 2, bold=True))
        self.text = QLabel("")
        for label in (self.phase, self.text):
            label.setTextFormat(Qt.PlainText)         # protocol text: never HTML
        self.text.setWordWrap(True)
        self.text.setFont(_font(FONT_PROMPT_PT))
        self.text.setMinimumHeight(90)
        layout.addWidget(self.phase)
        layout.addWidget(self.text, 1)
        self.rating = QWidget()
        self._rating_layout = QVBoxLayout(self.rating)
        self.rating_question = QLabel("")
        self.rating_question.setTextFormat(Qt.PlainText)
        self.rating_question.setWordWrap(True)
        self.rating_question.setFont(_font(FONT_LABEL_PT + 1, bold=True))
        self._rating_layout.addWidget(self.rating_question)
        self._rows: list[QWidget] = []
        self.rating_buttons: list[QPushButton] = []
        self._scale: tuple[int, int, tuple] | None = None
        self._on_rating = on_rating
        self._participants = tuple(participants)
        layout.addWidget(self.rating)
        self.rating.setVisible(False)

    def _set_scale(self, low: int, high: int, askees: tuple[str | None, ...]) -> None:
        if self._scale == (low, high, askees):
            return
        for row in self._rows:
            row.deleteLater()
        self._rows, self.rating_buttons = [], []
        for who in askees:
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            if who is not None:
                name = QLabel(who or "participant")
                name.setTextFormat(Qt.PlainText)
                name.setMinimumWidth(70)
                line.addWidget(name)
            for value in range(low, high + 1):
                button = QPushButton(str(value))
                button.setFixedWidth(34)
                button.clicked.connect(lambda _=False, v=value, w=who:
                                       self._on_rating(v, w) if self._on_rating else None)
                line.addWidget(button)
                self.rating_buttons.append(button)
            line.addStretch(1)
            self._rating_layout.addWidget(row)
            self._rows.append(row)
        self._scale = (low, high, askees)

    def show_state(self, state: ProtocolState | None, remaining_s: float | None) -> None:
        if state is None:
            self.phase.setText("no protocol phase")
            self.text.setText("")
            self.rating.setVisible(False)
            return
        left = "" if remaining_s is None else f"  ·  {remaining_s:4.0f} s left"
        self.phase.setText(f"{state.phase.label.replace('_', ' ')} ({state.phase.kind}){left}")
        self.text.setText(state.phase.text)
        rating = state.phase.rating
        self.rating.setVisible(rating is not None)
        if rating is not None:
            self.rating_question.setText(f"{rating.question} ({rating.scale} {rating.min}-{rating.max})")
            askees = self._participants if rating.per_person else (None,)
            self._set_scale(rating.min, rating.max, askees)


class ControlsPanel(QFrame):
    """Clinician controls: pause/resume, skip, stop to recovery (with a protocol), marker with a
    note, and the stop button always in reach."""

    def __init__(self, on_marker: Callable[[str], None], on_stop: Callable[[], None],
                 runner=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.StyledPanel)
        layout = QVBoxLayout(self)
        self.pause = QPushButton("Pause")
        self.skip = QPushButton("Skip phase")
        self.abort = QPushButton("Stop to recovery")
        if runner is not None:
            row = QHBoxLayout()
            self.pause.clicked.connect(lambda: runner.resume() if self.pause.text() == "Resume"
                                       else runner.pause())
            self.skip.clicked.connect(lambda: runner.skip())
            self.abort.clicked.connect(lambda: runner.abort("stopped to recovery by the clinician"))
            for button in (self.pause, self.skip, self.abort):
                row.addWidget(button)
            layout.addLayout(row)
        marker_row = QHBoxLayout()
        self.note = QLineEdit()
        self.note.setPlaceholderText("marker note (optional)")
        self.marker = QPushButton("Add marker")
        self.marker.clicked.connect(lambda: (on_marker(self.note.text()), self.note.clear()))
        marker_row.addWidget(self.note, 1)
        marker_row.addWidget(self.marker)
        layout.addLayout(marker_row)
        self.stop = QPushButton("STOP SESSION")
        self.stop.setFont(_font(14, bold=True))
        self.stop.setMinimumHeight(48)
        self.stop.setStyleSheet("QPushButton { background: #c62828; color: white; border-radius: 6px; }"
                                "QPushButton:disabled { background: #d6d6d6; color: #8a8a8a; }")
        self.stop.clicked.connect(on_stop)
        layout.addWidget(self.stop)
        self.status = QLabel("")
        self.status.setTextFormat(Qt.PlainText)       # device ids and labels: never HTML
        self.status.setWordWrap(True)
        layout.addWidget(self.status)


#: Columns of the phase table in the ended window: (phase_table column, header, format).
END_COLUMNS = (("phase", "phase", "{}"), ("duration_s", "length\ns", "{:.0f}"),
               ("hr_bpm", "HR\nbpm", "{:.1f}"), ("rmssd_ms", "RMSSD\nms", "{:.1f}"),
               ("coherence", "coher.\nratio", "{:.2f}"), ("rsa_bpm", "RSA\nbpm", "{:.1f}"),
               ("scl_us", "SCL\nµS", "{:.2f}"), ("scr_per_min", "SCRs\n/min", "{:.1f}"),
               ("arousal", "arousal\nSD", "{:+.2f}"))


def _cell(value, fmt: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    return fmt.format(value.replace("_", " ") if isinstance(value, str) else value)


class EndPanel(QFrame):
    """The ended session: how it ended, the per-phase summary
    (:func:`biofeed.analysis.phases.phase_table`), the session file, a button that writes and
    opens the report, and Close."""

    def __init__(self, on_report: Callable[[], None], on_close: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.StyledPanel)
        layout = QVBoxLayout(self)
        self.title = QLabel("")
        self.title.setFont(_font(FONT_LABEL_PT + 3, bold=True))
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, len(END_COLUMNS))
        self.table.setHorizontalHeaderLabels([h for _, h, _ in END_COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.path = QLabel("")
        self.path.setWordWrap(True)
        self.path.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.report = QPushButton("Write and open the report")
        self.report.clicked.connect(on_report)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(on_close)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextSelectableByMouse)
        for label in (self.title, self.path, self.note):
            label.setTextFormat(Qt.PlainText)         # paths, reasons, phase labels: never HTML
        buttons = QHBoxLayout()
        buttons.addWidget(self.report, 1)
        buttons.addWidget(self.close_button)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.path)
        layout.addLayout(buttons)
        layout.addWidget(self.note)

    def show_end(self, t_end_s: float, ended_by: str, phases: pd.DataFrame | None,
                 path: Path | None) -> None:
        """How the session ended (session seconds, reason), its phase table and file."""
        self.title.setText(f"Session ended at {t_end_s:.1f} s ({ended_by})")
        rows = [] if phases is None else list(phases.itertuples(index=False))
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            values = row._asdict()
            for j, (column, _, fmt) in enumerate(END_COLUMNS):
                item = QTableWidgetItem(_cell(values[column], fmt))
                item.setTextAlignment(Qt.AlignLeft | Qt.AlignVCenter if j == 0
                                      else Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(i, j, item)
        self.path.setText(f"session file: {path}" if path is not None else "no session file")
        self.report.setEnabled(path is not None)
