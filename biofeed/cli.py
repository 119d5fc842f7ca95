"""Command line: a thin layer over the public API.

``biofeed demo``            a session on the built-in simulated sensor with the demo sequence
``biofeed record``          record any devices until the duration is up or Ctrl-C
``biofeed info``            describe a recorded session
``biofeed devices scan``    list Bluetooth heart-rate sensors, serial ports and LSL streams
``biofeed devices test``    stream from one device for a few seconds and report its quality
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from . import __version__

PHASE_FORMATS = {"onset_s": ".1f", "duration_s": ".1f", "hr_bpm": ".1f", "rmssd_ms": ".1f",
                 "scl_us": ".2f", "scr_per_min": ".1f", "arousal": "+.2f"}


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _session_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--duration", type=_positive, default=None, metavar="S",
                   help="session length in seconds")
    p.add_argument("--out", type=Path, default=Path("sessions"), metavar="DIR",
                   help="folder for the session file (default: ./sessions)")
    p.add_argument("--participant", default="", metavar="ID",
                   help="pseudonymous participant id stored in the file (never a name)")
    p.add_argument("--headless", action="store_true",
                   help="no window: live status in the terminal only (what every run does until "
                        "the live window is built, and on machines without a display)")
    p.add_argument("--lsl", action="store_true",
                   help="also publish every stream and event on Lab Streaming Layer")
    p.add_argument("--lsl-scope", choices=("machine", "link"), default="machine",
                   help="LSL discovery: this computer only (default) or the local network")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="biofeed", description="Live HRV and EDA biofeedback, "
                                     "stress-response protocols, crash-safe recording.")
    parser.add_argument("--version", action="version", version=f"biofeed {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run a demo session on the built-in simulated sensor")
    _session_options(demo)
    demo.set_defaults(participant="demo")
    demo.add_argument("--speed", type=_positive, default=1.0, metavar="X",
                      help="run X times faster than real time (simulated time; default 1)")
    demo.add_argument("--seed", type=int, default=0, metavar="N",
                      help="seed of the simulated participant (default 0)")
    demo.set_defaults(func=cmd_demo)

    record = sub.add_parser("record", help="record devices (no protocol) until the duration or Ctrl-C")
    _session_options(record)
    record.add_argument("--device", action="append", required=True, metavar="SPEC",
                        help="a device: simulated, lsl:name=OpenSignals, ... (repeatable)")
    record.set_defaults(func=cmd_record)

    info = sub.add_parser("info", help="describe a recorded session file")
    info.add_argument("session", type=Path, help="a .biofeed session file")
    info.set_defaults(func=cmd_info)

    devices = sub.add_parser("devices", help="find and test sensors").add_subparsers(
        dest="devices_command", required=True)
    scan = devices.add_parser("scan", help="list heart-rate BLE sensors, serial ports, LSL streams")
    scan.add_argument("--timeout", type=_positive, default=3.0, metavar="S",
                      help="seconds to listen for Bluetooth and LSL (default 3)")
    scan.add_argument("--lsl-scope", choices=("machine", "link"), default="machine")
    scan.set_defaults(func=cmd_devices_scan)
    test = devices.add_parser("test", help="stream from a device and report rate, gaps and quality")
    test.add_argument("device", metavar="SPEC")
    test.add_argument("--seconds", type=_positive, default=10.0, metavar="S")
    test.add_argument("--lsl-scope", choices=("machine", "link"), default="machine")
    test.set_defaults(func=cmd_devices_test)
    return parser


def _extra_sinks(args: argparse.Namespace) -> list:
    if not args.lsl:
        return []
    from .lsl.outlet import LslOutlet

    return [LslOutlet(scope=args.lsl_scope)]


def _run(session, console: Console) -> None:
    """Run a session with the live terminal status; print how it ended."""
    from .console import show_status

    async def main():
        run = asyncio.create_task(session.run())
        while session.path is None and not run.done():
            await asyncio.sleep(0.01)
        if session.path is not None:
            console.print(f"recording to {session.path}")
        status = asyncio.create_task(show_status(session.live, session.runner, console))
        try:
            return await run
        finally:
            status.cancel()

    end = asyncio.run(main())
    console.print(f"session ended at {end.t_end:.1f} s ({end.ended_by})")


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from .analysis.phases import phase_table
    from .console import dataframe_table
    from .devices.simulated import SimulatedSensor
    from .protocol.runner import ProtocolRunner
    from .protocol.schedule import DEMO
    from .record.reader import read
    from .session import Session
    from .sim.physiology import SimConfig

    runner = ProtocolRunner(DEMO)
    sensor = SimulatedSensor(SimConfig(seed=args.seed), runner.state_at)
    session = Session([sensor], runner, out_dir=args.out, participant=args.participant,
                      speed=args.speed, duration=args.duration, sinks=_extra_sinks(args))
    console.print(f"biofeed {__version__}: demo session on the simulated sensor "
                  f"({args.duration or DEMO.duration_s:g} s at {args.speed:g}x). Ctrl-C stops.")
    _run(session, console)
    table = phase_table(read(session.path))
    console.print(dataframe_table(table, "Per-phase summary", PHASE_FORMATS))
    console.print(f"session file: {session.path}")
    return 0


def cmd_record(args: argparse.Namespace, console: Console) -> int:
    from .console import dataframe_table
    from .devices.spec import open_device
    from .record.reader import read
    from .session import Session

    devices = [open_device(spec, lsl_scope=args.lsl_scope) for spec in args.device]
    session = Session(devices, out_dir=args.out, participant=args.participant,
                      duration=args.duration, sinks=_extra_sinks(args))
    console.print(f"biofeed {__version__}: recording {', '.join(d.id for d in devices)}"
                  f"{f' for {args.duration:g} s' if args.duration else ''}. Ctrl-C stops.")
    _run(session, console)
    console.print(dataframe_table(streams_table(read(session.path)), "Streams",
                                  {"rate_hz": "g", "end_s": ".2f"}))
    console.print(f"session file: {session.path}")
    return 0


def streams_table(rec) -> pd.DataFrame:
    """One row per stream of a recording: kind, unit, rate, samples, end time, gaps."""
    rows = []
    for name, s in rec.streams.items():
        t0, n = rec.chunk_table(name)
        end = (t0[-1] + n[-1] / s.rate) if s.regular and len(t0) else np.nan
        rows.append((name, s.kind, s.unit, s.rate if s.regular else np.nan, int(n.sum()), end,
                     len(rec.gaps(name)), "derived" if s.derived else "raw"))
    return pd.DataFrame(rows, columns=["stream", "kind", "unit", "rate_hz", "samples", "end_s",
                                       "gaps", "source"])


def cmd_info(args: argparse.Namespace, console: Console) -> int:
    from .console import dataframe_table
    from .record.reader import read

    rec = read(args.session)
    m = rec.meta
    status = "complete" if rec.complete else "INCOMPLETE (the recording stopped unexpectedly)"
    console.print(f"[bold]{rec.path}[/bold]")
    rows = [("status", status), ("session id", m.get("session_id", "")),
            ("participant", m.get("participant") or "-"),
            ("protocol", (m.get("protocol") or {}).get("name", "-")),
            ("devices", ", ".join(d.get("id", "?") for d in m.get("devices", [])) or "-"),
            ("start (UTC)", m.get("start_utc", "-")),
            ("time scale", f"{m.get('time_scale', 1):g}x"),
            ("software", " ".join(f"{k} {v}" for k, v in m.get("software", {}).items()))]
    if rec.complete:
        rows += [("duration", f"{m.get('duration_s', float('nan')):.2f} s"),
                 ("ended by", m.get("ended_by", "-")), ("end (UTC)", m.get("end_utc", "-"))]
    console.print(dataframe_table(pd.DataFrame(rows, columns=["field", "value"]), "Session"))
    console.print(dataframe_table(streams_table(rec), "Streams", {"rate_hz": "g", "end_s": ".2f"}))
    ev = rec.events[["onset", "duration", "kind", "label"]]
    console.print(dataframe_table(ev, f"Events ({len(ev)})", {"onset": ".3f", "duration": ".3f"}))
    return 0


def cmd_devices_scan(args: argparse.Namespace, console: Console) -> int:
    from .console import dataframe_table
    from .devices.scan import scan_all

    table = asyncio.run(scan_all(args.timeout, args.lsl_scope))
    console.print(dataframe_table(table, "Devices"))
    return 0


def cmd_devices_test(args: argparse.Namespace, console: Console) -> int:
    from .console import dataframe_table
    from .devices.scan import test_device
    from .devices.spec import open_device

    device = open_device(args.device, lsl_scope=args.lsl_scope)
    console.print(f"streaming from {device.id} for {args.seconds:g} s ...")
    table, notes = test_device(device, args.seconds)
    console.print(dataframe_table(table, f"{device.id}: {args.seconds:g} s test",
                                  {"rate_hz": ".2f", "measured_hz": ".2f", "finite_pct": ".1f"}))
    for note in notes:
        console.print(note)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Piped output (logs, tests) gets wide tables instead of rich's 80-column default.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    try:
        return args.func(args, console)
    except (ValueError, OSError) as exc:
        console.print(f"[red]biofeed {args.command}: {exc}[/red]")
        return 2


if __name__ == "__main__":
    sys.exit(main())
