"""``biofeed demo`` and ``biofeed record``: run and record a session."""
from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

from rich.console import Console

from .. import __version__
from .common import DEVICE_HELP, participant_id, positive, rr_correction_option
from .info import devices_table, disconnection_lines, streams_table

PHASE_FORMATS = {"onset_s": ".1f", "duration_s": ".1f", "hr_bpm": ".1f", "rmssd_ms": ".1f",
                 "sdnn_ms": ".1f", "lf_hf": ".2f", "coherence": ".2f", "rsa_bpm": ".1f",
                 "scl_us": ".2f", "scr_per_min": ".1f", "scr_amp_us": ".3f", "arousal": "+.2f",
                 "half_recovery_s": ".0f"}


def say(console: Console):
    """``print`` for one-line notices: the line is kept whole (the terminal wraps it); plain
    text (notices quote device labels and typed lines: never markup, no control characters)."""
    from ..console import text

    return lambda message: console.print(text(message), soft_wrap=True)


def _session_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--duration", type=positive, default=None, metavar="S",
                   help="session length in seconds")
    p.add_argument("--out", type=Path, default=Path("sessions"), metavar="DIR",
                   help="folder for the session file (default: ./sessions)")
    p.add_argument("--participant", type=participant_id, default="", metavar="ID",
                   help="pseudonymous participant id stored in the file (never a name): "
                        "letters, digits, '-' and '_', up to 64 characters")
    p.add_argument("--headless", action="store_true",
                   help="no window: live status in the terminal (the default when there is no "
                        "display)")
    p.add_argument("--exit-at-end", action="store_true",
                   help="close the live window when the session ends (it stays open, in its "
                        "ended state, by default)")
    p.add_argument("--lsl", action="store_true",
                   help="also publish every stream and event on Lab Streaming Layer")
    p.add_argument("--lsl-scope", choices=("machine", "link"), default="machine",
                   help="LSL discovery: programs on this computer only (default) or on the local "
                        "network; liblsl's data ports listen on every interface either way (the "
                        "command lists them)")
    rr_correction_option(p, "automatic", "automatic; recorded in the session file, so replays "
                         "and analyze use it again")


def allow_missing_option(p: argparse.ArgumentParser) -> None:
    """``--allow-missing`` for the commands that take ``--device``."""
    p.add_argument("--allow-missing", action="store_true",
                   help="start even when some devices cannot be reached (a loud warning; each "
                        "is recorded as disconnected from the start and retried); without it "
                        "such a device is an error and nothing is recorded")


def register(sub) -> None:
    demo = sub.add_parser("demo", help="run a demo session on the built-in simulated sensor")
    _session_options(demo)
    demo.set_defaults(participant="demo")
    demo.add_argument("--speed", type=positive, default=1.0, metavar="X",
                      help="run X times faster than real time (simulated time; default 1)")
    demo.add_argument("--seed", type=int, default=0, metavar="N",
                      help="seed of the simulated participant (default 0)")
    demo.add_argument("--no-belt", action="store_true",
                      help="leave out the simulated respiration belt: breathing comes from the "
                           "chest accelerometer (with --no-acc too: from the ECG)")
    demo.add_argument("--no-acc", action="store_true",
                      help="leave out the simulated chest accelerometer")
    demo.set_defaults(func=cmd_demo)

    record = sub.add_parser("record", help="record devices (no protocol) until the duration or Ctrl-C")
    _session_options(record)
    record.add_argument("--device", action="append", required=True, metavar="SPEC",
                        help=f"{DEVICE_HELP} Repeatable.")
    allow_missing_option(record)
    record.set_defaults(func=cmd_record)


def _extra_sinks(args: argparse.Namespace, console: Console) -> list:
    if not args.lsl:
        return []
    from ..lsl.outlet import LslOutlet

    return [LslOutlet(scope=args.lsl_scope, notify=say(console))]


def has_display() -> bool:
    """True when a window can be shown (an X11 or Wayland display, or a Qt platform set)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or platform not in ("", "offscreen", "minimal"))


def device_notice(old, new) -> tuple[str, str] | None:
    """The terminal notice (text, style) for a device whose
    :class:`~biofeed.devices.base.DeviceStatus` went from ``old`` to ``new``, or None."""
    if new.state == "disconnected" and (old is None or old.state != "disconnected"):
        if new.missing_at_start:
            return (f"WARNING: device {new.device} is not available ({new.reason}); recording "
                    f"the other devices and retrying it", "bold red")
        return (f"DEVICE {new.device} DISCONNECTED at {new.since_s:.1f} s: {new.reason} "
                "(retrying; the gap is recorded)", "bold red")
    if old is not None and old.state == "disconnected" and new.state == "connected":
        return (f"device {new.device} reconnected at {new.since_s:.1f} s after "
                f"{new.since_s - old.since_s:.1f} s disconnected", "bold green")
    return None


#: Real seconds between the reminders that a device is still disconnected.
REMIND_S = 10.0


async def watch_devices(session, console: Console, every_s: float = 0.2,
                        remind_s: float = REMIND_S) -> None:
    """Print a loud line whenever a device disconnects or comes back, and every ``remind_s``
    real seconds while it stays disconnected (how long so far), until cancelled."""
    from ..console import text

    seen: dict = {}
    reminded: dict = {}
    while True:
        now = time.monotonic()
        for device, status in session.device_status().items():
            notice = device_notice(seen.get(device), status)
            if notice is not None:
                console.print(text(*notice), soft_wrap=True)
                reminded[device] = now
            elif status.state == "disconnected" and now - reminded.get(device, now) >= remind_s:
                down = session.clock.now() - status.since_s
                console.print(text(f"device {device} still DISCONNECTED ({down:.0f} s so far): "
                                   f"{status.reason}", "bold red"), soft_wrap=True)
                reminded[device] = now
            seen[device] = status
        await asyncio.sleep(every_s)


def print_device_summary(rec, console: Console) -> None:
    """After a session: every disconnection (which device, when, for how long, why) and the
    devices with decode errors, from the session file ``rec`` (a Recording)."""
    from ..console import text

    for line in disconnection_lines(rec):
        console.print(text(line, "bold red"), soft_wrap=True)
    table = devices_table(rec)
    for row in table[table.decode_errors > 0].itertuples():
        detail = ", ".join(x for x in (f"garbage_lines {row.garbage_lines}" if row.garbage_lines
                                       else "", row.other if row.other != "-" else "") if x)
        console.print(text(f"device {row.device}: {row.decode_errors} decode errors"
                           + (f" ({detail})" if detail else "")), soft_wrap=True)


def _run(session, console: Console, headless: bool = True, exit_at_end: bool = False,
         summary=None) -> None:
    """Run a session in the live window, or headless with the live terminal status; print how
    it ended, then ``summary(rec)`` (the after-session tables of the recorded file ``rec``,
    read once), the same either way.

    In the window, that is printed as soon as the session ends (the window stays open in its
    ended state until closed, or closes with ``exit_at_end``). SIGINT and SIGTERM end the
    session cleanly in both. When Qt cannot open a window here
    (:func:`biofeed.gui.platform.window_problem`), it says why and runs headless.
    """
    from ..console import show_status, text
    from ..record.reader import read

    def ended(end) -> None:
        console.print(text(f"session ended at {end.t_end:.1f} s ({end.ended_by})"))
        rec = read(session.path)
        print_device_summary(rec, console)
        if summary is not None:
            summary(rec)

    if not headless and has_display():
        from ..gui.platform import window_problem

        problem = window_problem()
        if problem is None:
            from ..gui.window import run_in_window

            console.print("opening the live window (close it, press STOP or Ctrl-C to end the "
                          "session)")
            run_in_window(session, exit_at_end=exit_at_end, on_end=ended)
            return
        console.print(text(f"no live window: {problem}. Running headless instead."),
                      soft_wrap=True)

    async def main():
        run = asyncio.create_task(session.run())
        while session.path is None and not run.done():
            await asyncio.sleep(0.01)
        if session.path is not None:
            console.print(text(f"recording to {session.path}"), soft_wrap=True)
        status = asyncio.create_task(show_status(session.live, session.runner, console))
        devices = asyncio.create_task(watch_devices(session, console))
        try:
            return await run
        finally:
            status.cancel()
            devices.cancel()

    ended(asyncio.run(main()))


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from ..analysis.phases import phase_table
    from ..console import dataframe_table, text
    from ..devices.simulated import SimulatedSensor
    from ..protocol.runner import ProtocolRunner
    from ..protocol.schedule import DEMO
    from ..session import Session
    from ..sim.physiology import SimConfig

    runner = ProtocolRunner(DEMO)
    sensor = SimulatedSensor(SimConfig(seed=args.seed), runner.state_at, belt=not args.no_belt,
                             acc_rate_hz=0.0 if args.no_acc else 50.0)
    session = Session([sensor], runner, out_dir=args.out, participant=args.participant,
                      speed=args.speed, duration=args.duration, sinks=_extra_sinks(args, console),
                      rr_correction=args.rr_correction)
    console.print(f"biofeed {__version__}: demo session on the simulated sensor "
                  f"({args.duration or DEMO.duration_s:g} s at {args.speed:g}x). Ctrl-C stops.")

    def summary(rec) -> None:
        table = phase_table(rec)
        console.print(dataframe_table(table, "Per-phase summary", PHASE_FORMATS))
        console.print(text(f"session file: {session.path}"), soft_wrap=True)

    _run(session, console, args.headless, args.exit_at_end, summary)
    return 0


def cmd_record(args: argparse.Namespace, console: Console) -> int:
    from ..console import dataframe_table, text
    from ..devices.spec import open_devices
    from ..session import Session

    devices = open_devices(args.device, lsl_scope=args.lsl_scope, notify=say(console))
    session = Session(devices, out_dir=args.out, participant=args.participant,
                      duration=args.duration, sinks=_extra_sinks(args, console),
                      rr_correction=args.rr_correction, allow_missing=args.allow_missing)
    console.print(text(f"biofeed {__version__}: recording {', '.join(d.id for d in devices)}"
                       f"{f' for {args.duration:g} s' if args.duration else ''}. Ctrl-C stops."))

    def summary(rec) -> None:
        console.print(dataframe_table(streams_table(rec), "Streams",
                                      {"rate_hz": "g", "end_s": ".2f"}))
        console.print(text(f"session file: {session.path}"), soft_wrap=True)

    _run(session, console, args.headless, args.exit_at_end, summary)
    return 0
