"""The breathing pacer: a circle that grows as you breathe in and shrinks as you breathe out.

Its size follows the protocol pacer's target lung volume (sine-eased; Lehrer 2013), with the
instruction written inside ("breathe in" while it grows, "breathe out" while it shrinks) and,
under it, the pacer's rate beside the measured breathing rate. Outside paced phases it rests
small and says so.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..protocol.runner import ProtocolState


class PacerWidget(QWidget):
    """Draws the pacer for a :class:`ProtocolState`; call :meth:`show_state` every frame."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(220, 220)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.volume: float | None = None
        self.rising = True
        self.rate_bpm: float | None = None
        self.measured_bpm = math.nan

    def show_state(self, state: ProtocolState | None, measured_bpm: float = math.nan) -> None:
        """Draw the pacer for ``state``, with the measured breathing rate (breaths/min, NaN
        while unknown)."""
        volume = None if state is None else state.pacer_volume
        if volume is not None and self.volume is not None and volume != self.volume:
            self.rising = volume > self.volume
        self.volume = volume
        self.rate_bpm = None if volume is None else state.phase.pacer.rate_bpm
        self.measured_bpm = measured_bpm
        self.update()

    def rates(self) -> str:
        """The line under the circle: pacer rate and measured rate, breaths/min."""
        measured = (f"{self.measured_bpm:.1f}" if math.isfinite(self.measured_bpm) else "—")
        if self.rate_bpm is not None:
            return f"pacer {self.rate_bpm:g} · measured {measured} breaths/min"
        return f"measured {measured} breaths/min" if math.isfinite(self.measured_bpm) else ""

    def instruction(self) -> str:
        if self.volume is None:
            return "breathe naturally"
        return "breathe in" if self.rising else "breathe out"

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        rates = self.rates()
        below = 30 if rates else 0          # room for the rates line under the circle
        side = min(self.width(), self.height() - below) - 16
        centre = QPointF(self.width() / 2, (self.height() - below) / 2)
        painter.setPen(QPen(QColor(170, 190, 220), 2, Qt.DashLine))
        painter.drawEllipse(centre, side / 2, side / 2)
        paced = self.volume is not None
        radius = side / 2 * (0.25 + 0.75 * (self.volume if paced else 0.0))
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(66, 133, 214, 200) if paced else QColor(190, 190, 190, 160))
        painter.drawEllipse(centre, radius, radius)
        painter.setPen(QColor(20, 30, 50))
        font = QFont()
        font.setPointSize(16)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRectF(0, centre.y() - 20, self.width(), 40), Qt.AlignCenter,
                         self.instruction())
        if rates:
            font.setPointSize(12)
            font.setBold(False)
            painter.setFont(font)
            painter.drawText(QRectF(0, self.height() - 28, self.width(), 24),
                             Qt.AlignHCenter | Qt.AlignBottom, rates)
        painter.end()
