"""Save PNG screenshots of the windows during a simulated session (offscreen is fine).

    python -m biofeed.gui.screenshot OUTDIR [--speed X]

Runs a short tour (baseline, an attachment stressor prompt, a SUDS rating, recovery, paced
breathing) at 10x on the simulated sensor and grabs the main window during baseline, during
the rating after the prompt and during paced breathing, plus the participant window, and the
main window once the session has ended.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QEventLoop, QIODevice, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from ..devices.simulated import SimulatedSensor  # noqa: E402
from ..protocol.runner import ProtocolRunner  # noqa: E402
from ..protocol.schedule import DEMO, Phase, Protocol, Rating  # noqa: E402
from ..record.private import Staging, private_dir  # noqa: E402
from ..session import Session  # noqa: E402
from ..sim.physiology import SimConfig  # noqa: E402
from .window import MainWindow, ParticipantWindow  # noqa: E402

_base, _stressor, _recovery, _paced = DEMO.phases
#: The demo sequence with a SUDS rating after the stressor prompt.
TOUR = Protocol("screenshot-tour", (
    _base, _stressor,
    Phase("suds", "rating", 20.0, "Please rate how distressed you feel right now.",
          rating=Rating("SUDS", "How distressed do you feel right now?", 0, 10)),
    Phase("recovery", "recovery", 40.0, _recovery.text), _paced))
#: (file name, session second at which to grab)
SHOTS = (("main-baseline.png", 55.0), ("main-prompt-rating.png", 130.0),
         ("main-paced-breathing.png", 215.0))


def _wait_until(app: QApplication, condition, timeout_s: float = 60.0) -> None:
    loop = QEventLoop()
    timer = QTimer()
    timer.timeout.connect(lambda: loop.quit() if condition() else None)
    timer.start(20)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    timer.stop()


def _save(widget, path: Path) -> Path:
    """The widget as a PNG at ``path``: 0600, atomically, never over a file
    (:class:`~biofeed.record.private.Staging`)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    widget.grab().save(buffer, "PNG")
    with Staging("an earlier screenshot? Use another OUTDIR or remove it") as stage:
        with stage.open(path, binary=True) as f:
            f.write(bytes(data))
    return path


def take(out_dir: Path, speed: float = 10.0) -> list[Path]:
    """Run a demo session and save the screenshots (0600, never over existing files); returns
    their paths."""
    private_dir(out_dir)
    app = QApplication.instance() or QApplication([])
    runner = ProtocolRunner(TOUR)
    session = Session([SimulatedSensor(SimConfig(seed=0), runner.state_at)], runner,
                      out_dir=tempfile.mkdtemp(prefix="biofeed-shots-"), speed=speed)
    window = MainWindow(session)
    window.resize(1500, 950)
    participant = ParticipantWindow(session)
    participant.resize(700, 800)
    window.show()
    participant.show()
    future = window.start()
    saved = []
    for name, t in SHOTS:
        _wait_until(app, lambda: window.view.now() >= t)
        if name == "main-paced-breathing.png":
            participant.refresh()
            saved.append(_save(participant, out_dir / "participant-paced-breathing.png"))
        window.refresh(numbers=True)
        saved.append(_save(window, out_dir / name))
    _wait_until(app, lambda: window.end is not None)
    saved.append(_save(window, out_dir / "main-ended.png"))
    window.close()
    participant.close()
    future.result(timeout=30)
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m biofeed.gui.screenshot",
        description="Run a simulated tour session and save PNG screenshots of the live window "
                    "(baseline, a rating after a prompt, paced breathing, ended) and the "
                    "participant window.")
    parser.add_argument("out_dir", type=Path, nargs="?", default=Path("screenshots"),
                        metavar="OUTDIR", help="folder for the PNG files (default: ./screenshots)")
    parser.add_argument("--speed", type=float, default=10.0, metavar="X",
                        help="simulated session seconds per real second (default 10)")
    args = parser.parse_args(argv)
    if not args.speed > 0:
        parser.error("--speed must be > 0")
    for path in take(args.out_dir, args.speed):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
