"""The start screen: who, which protocol, which sensors, where to save; recent sessions."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton,
                               QVBoxLayout, QWidget)

from ..record.schema import SUFFIX


@dataclass(frozen=True)
class StartChoice:
    """What the clinician chose on the start screen."""

    participant: str
    protocol: str
    devices: tuple[str, ...]
    out_dir: Path


def recent_sessions(folder: Path, limit: int = 10) -> list[Path]:
    """The newest session files in a folder, newest first."""
    if not folder.is_dir():
        return []
    files = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    return files[:limit]


class StartDialog(QDialog):
    """Pick participant id, protocol, devices and output folder, then start.

    Parameters
    ----------
    protocols : sequence of str
        Protocol names offered.
    devices : sequence of str
        Device specs offered (from a scan; ``simulated`` is always there).
    out_dir : Path
        Default output folder.
    """

    def __init__(self, protocols: Sequence[str], devices: Sequence[str], out_dir: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("biofeed: new session")
        self.setMinimumWidth(560)
        form = QFormLayout()
        self.participant = QLineEdit()
        self.participant.setPlaceholderText("pseudonymous id, e.g. P017 (never a name)")
        self.protocol = QComboBox()
        self.protocol.addItems(list(protocols))
        self.devices = QListWidget()
        self.devices.addItems(list(devices))
        self.devices.setSelectionMode(QListWidget.MultiSelection)
        if self.devices.count():
            self.devices.item(0).setSelected(True)
        self.devices.setMaximumHeight(110)
        self.folder = QLineEdit(str(out_dir))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form.addRow("Participant", self.participant)
        form.addRow("Protocol", self.protocol)
        form.addRow("Sensors", self.devices)
        form.addRow("Save to", folder_row)
        self.recent = QListWidget()
        self.recent.setMaximumHeight(120)
        self.folder.textChanged.connect(self._fill_recent)
        self._fill_recent()
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Start session")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Recent sessions in this folder"))
        layout.addWidget(self.recent)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save sessions to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _fill_recent(self) -> None:
        self.recent.clear()
        self.recent.addItems([p.name for p in recent_sessions(Path(self.folder.text()))] or
                             ["(none yet)"])

    def choice(self) -> StartChoice:
        """The current choices (valid once the dialog was accepted)."""
        return StartChoice(self.participant.text().strip(), self.protocol.currentText(),
                           tuple(i.text() for i in self.devices.selectedItems()),
                           Path(self.folder.text()))
