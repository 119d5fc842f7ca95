"""``biofeed gui``: the start screen, then the live window."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console


def register(sub) -> None:
    gui = sub.add_parser("gui", help="open the start screen, then run the session in the live window")
    gui.add_argument("--out", type=Path, default=Path("sessions"), metavar="DIR",
                     help="default folder for session files (default: ./sessions)")
    gui.add_argument("--participant-window", action="store_true",
                     help="also open the participant's window (pacer and prompt only)")
    gui.add_argument("--exit-at-end", action="store_true",
                     help="close the live window when the session ends (it stays open, in its "
                          "ended state, by default)")
    gui.set_defaults(func=cmd_gui)


def cmd_gui(args: argparse.Namespace, console: Console) -> int:
    """The start screen, then the session in the live window; its summary is printed when it
    ends (as ``biofeed run`` prints it). Exit 2 when Qt cannot open a window here (which
    library is missing, or no display), before Qt would abort."""
    from ..console import text
    from ..gui.platform import window_problem

    problem = window_problem()
    if problem is not None:
        console.print(text(f"biofeed gui: no window: {problem}. Without a window: biofeed run "
                           f"PROTOCOL or biofeed demo --headless.", "red"), soft_wrap=True)
        return 2

    from PySide6.QtWidgets import QApplication, QDialog

    from ..devices.scan import scan_lsl
    from ..devices.spec import open_devices
    from ..gui.signals import SignalWatch
    from ..gui.start import StartDialog
    from ..gui.window import run_in_window
    from ..protocol.assemble import protocol_session
    from ..protocol.library import library_names, load
    from ..protocol.schedule import DEMO
    from ..record.reader import read
    from .run import report
    from .session import say

    app = QApplication.instance() or QApplication([])
    names = [DEMO.name, *library_names()]
    found = ["simulated"] + [row[1] for row in scan_lsl(1.0, "machine")]
    dialog = StartDialog(names, found, args.out)
    watch = SignalWatch(lambda name: dialog.reject())     # Ctrl-C / SIGTERM: no session
    try:
        accepted = dialog.exec() == QDialog.Accepted
    finally:
        watch.close()
    if not accepted:
        return 0
    choice = dialog.choice()
    # as biofeed run assembles it: the runner learns the participants (per-person ratings, a
    # protocol for two), and the arousal stop rules watch each participant's arousal
    protocol = DEMO if choice.protocol == DEMO.name else load(choice.protocol)
    session = protocol_session(
        protocol, lambda runner: open_devices(choice.devices, runner.state_at, notify=say(console)),
        alert=say(console), out_dir=choice.out_dir, participant=choice.participant)

    def ended(end) -> None:
        console.print(text(f"session ended at {end.t_end:.1f} s ({end.ended_by})"))
        report(read(session.path), console)

    run_in_window(session, participant_window=args.participant_window,
                  exit_at_end=args.exit_at_end, on_end=ended)
    return 0
