"""The start screen: who, which protocol, which sensors, where to save; recent sessions."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)

from ..devices.spec import DeviceSpecError, parse_spec
from ..record.schema import SUFFIX
from ..session import PARTICIPANT_MAX, validate_participant


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
        Device specs offered (from a scan; ``simulated`` is always there). More can be added
        and any can be edited (double-click), e.g. to label two participants' sensors
        (``parent@simulated:seed=1``, ``child@simulated:seed=2``); specs are checked on
        start.
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
        self.participant.setMaxLength(PARTICIPANT_MAX)
        self.protocol = QComboBox()
        self.protocol.addItems(list(protocols))
        self.devices = QListWidget()
        self.devices.setSelectionMode(QListWidget.MultiSelection)
        for spec in devices:
            self._add_item(spec, selected=not self.devices.count())
        self.devices.setMaximumHeight(110)
        self.spec = QLineEdit()
        self.spec.setPlaceholderText("add a device, e.g. child@simulated:seed=2 "
                                     "(LABEL@ = a role such as parent/child or a/b, not a name)")
        add = QPushButton("Add")
        add.setAutoDefault(False)
        add.clicked.connect(self.add_spec)
        spec_row = QHBoxLayout()
        spec_row.addWidget(self.spec, 1)
        spec_row.addWidget(add)
        self.spec_error = QLabel("")
        self.spec_error.setWordWrap(True)
        self.spec_error.setTextFormat(Qt.PlainText)   # messages quote typed text: never HTML
        self.spec_error.setStyleSheet("color: #b00020;")
        self.folder = QLineEdit(str(out_dir))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form.addRow("Participant", self.participant)
        form.addRow("Protocol", self.protocol)
        form.addRow("Sensors", self.devices)
        form.addRow("", spec_row)
        form.addRow("", self.spec_error)
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

    def _add_item(self, spec: str, selected: bool) -> None:
        item = QListWidgetItem(spec)
        item.setFlags(item.flags() | Qt.ItemIsEditable)
        self.devices.addItem(item)
        item.setSelected(selected)

    def _chosen(self) -> list[QListWidgetItem]:
        """The selected sensors in list order (the order that numbers automatic labels)."""
        items = (self.devices.item(i) for i in range(self.devices.count()))
        return [item for item in items if item.isSelected()]

    def add_spec(self) -> None:
        """Add the typed device spec to the sensors (selected), or say what is wrong with it."""
        text = self.spec.text().strip()
        if not text:
            return
        try:
            parse_spec(text)
        except DeviceSpecError as exc:
            self.spec_error.setText(str(exc))
            return
        self._add_item(text, selected=True)
        self.spec.clear()
        self.spec_error.clear()

    def accept(self) -> None:
        """Start only when the participant id (:func:`~biofeed.session.validate_participant`)
        and every chosen device spec are well formed; otherwise say why.

        Enter in the add-a-device field lands here too: it adds the spec and starts nothing.
        """
        if self.spec.text().strip():
            self.add_spec()
            return
        try:
            validate_participant(self.participant.text().strip())
        except ValueError as exc:
            self.spec_error.setText(str(exc))
            self.participant.setFocus()
            return
        for item in self._chosen():
            try:
                parse_spec(item.text().strip())
            except DeviceSpecError as exc:
                self.spec_error.setText(str(exc))
                return
        super().accept()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save sessions to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _fill_recent(self) -> None:
        self.recent.clear()
        self.recent.addItems([p.name for p in recent_sessions(Path(self.folder.text()))] or
                             ["(none yet)"])

    def choice(self) -> StartChoice:
        """The current choices (valid once the dialog was accepted); devices in list order."""
        return StartChoice(self.participant.text().strip(), self.protocol.currentText(),
                           tuple(i.text().strip() for i in self._chosen()),
                           Path(self.folder.text()))
