"""Command line: a thin layer over the public API; one module a command group.

``biofeed demo``            a session on the built-in simulated sensor with the demo sequence
``biofeed record``          record any devices until the duration is up or Ctrl-C
``biofeed info``            describe a recorded session
``biofeed verify``          check a session file for damage
``biofeed devices scan``    list Bluetooth heart-rate sensors, serial ports and LSL streams
``biofeed devices test``    stream from one device for a few seconds and report its quality
``biofeed run``             run a protocol (library name or file) on any devices
``biofeed protocols``       list, show and validate protocols
``biofeed gui``             the start screen, then the live window
``biofeed analyze``         per-phase table and the session report (HTML and PDF) of any recording
``biofeed progress``        a participant's trend over their sessions (CSV, HTML and PDF)
``biofeed import/export``   other tools' formats in; BIDS physio, EDF+, CSV out
``biofeed batch``           analyse many recordings (local processes or a dask scheduler)
``biofeed synchrony``       physiological synchrony of two participants in one recording

Each command module has ``register(subparsers)``; add a module to :data:`COMMANDS` to add
commands.
"""
from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from . import analysis, devices, gui, info, progress, protocols, run, session, synchrony, verify

COMMANDS = (session, run, protocols, info, verify, devices, analysis, progress, synchrony, gui)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="biofeed", description="Live HRV and EDA biofeedback, "
                                     "stress-response protocols, crash-safe recording.")
    parser.add_argument("--version", action="version", version=f"biofeed {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rich.errors import MarkupError

    from ..console import SafeConsole, plain

    # Piped output (logs, tests) gets wide tables instead of rich's 80-column default, unless
    # COLUMNS says how wide (rich reads it; tables then fit it). No
    # emoji codes: ``:name:`` in a file name or label is printed as written. No control
    # character from a name, label or path reaches the terminal (SafeConsole).
    console = SafeConsole(highlight=False, emoji=False,
                          width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160)
    try:
        return args.func(args, console)
    except (ValueError, OSError) as exc:
        # messages quote paths, ids and labels: never markup; kept whole (the terminal wraps
        # them), so a path in one can be copied
        console.print(f"[red]biofeed {args.command}: {plain(exc)}[/red]", soft_wrap=True)
        return 2
    except MarkupError as exc:    # a message that was not escaped: say so instead of a traceback
        console.print(f"[red]biofeed {args.command}: could not show a message (a bug, please "
                      f"report it): {plain(exc)}[/red]", soft_wrap=True)
        return 2
