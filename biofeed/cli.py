"""Command line: a thin layer over the public API.

``biofeed demo``  runs a session on the built-in simulated sensor.
``biofeed info``  describes a recorded session.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console

from . import __version__


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="biofeed", description="Live HRV and EDA biofeedback, "
                                     "stress-response protocols, crash-safe recording.")
    parser.add_argument("--version", action="version", version=f"biofeed {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run a demo session on the built-in simulated sensor")
    demo.add_argument("--duration", type=_positive, default=None, metavar="S",
                      help="session length in seconds (default: the whole demo sequence, 240 s)")
    demo.add_argument("--speed", type=_positive, default=1.0, metavar="X",
                      help="run X times faster than real time (simulated time; default 1)")
    demo.add_argument("--headless", action="store_true",
                      help="no window: live status in the terminal only (what the demo does "
                           "until the live window is built, and on machines without a display)")
    demo.add_argument("--out", type=Path, default=Path("sessions"), metavar="DIR",
                      help="folder for the session file (default: ./sessions)")
    demo.add_argument("--seed", type=int, default=0, metavar="N",
                      help="seed of the simulated participant (default 0)")
    demo.add_argument("--participant", default="demo", metavar="ID",
                      help="pseudonymous participant id stored in the file (never a name)")
    demo.set_defaults(func=cmd_demo)

    info = sub.add_parser("info", help="describe a recorded session file")
    info.add_argument("session", type=Path, help="a .biofeed session file")
    info.set_defaults(func=cmd_info)
    return parser


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from .analysis.phases import phase_table
    from .console import dataframe_table, show_status
    from .devices.simulated import SimulatedSensor
    from .protocol.runner import ProtocolRunner
    from .protocol.schedule import DEMO
    from .record.reader import read
    from .session import Session
    from .sim.physiology import SimConfig

    runner = ProtocolRunner(DEMO)
    sensor = SimulatedSensor(SimConfig(seed=args.seed), runner.state_at)
    session = Session([sensor], runner, out_dir=args.out, participant=args.participant,
                      speed=args.speed, duration=args.duration)

    async def main():
        run = asyncio.create_task(session.run())
        while session.path is None and not run.done():
            await asyncio.sleep(0.01)
        if session.path is not None:
            console.print(f"recording to {session.path}")
        status = asyncio.create_task(show_status(session.live, runner, console))
        try:
            return await run
        finally:
            status.cancel()

    console.print(f"biofeed {__version__}: demo session on the simulated sensor "
                  f"({args.duration or DEMO.duration_s:g} s at {args.speed:g}x). Ctrl-C stops.")
    end = asyncio.run(main())
    console.print(f"session ended at {end.t_end:.1f} s ({end.ended_by})")
    table = phase_table(read(session.path))
    console.print(dataframe_table(table, "Per-phase summary", PHASE_FORMATS))
    console.print(f"session file: {session.path}")
    return 0


PHASE_FORMATS = {"onset_s": ".1f", "duration_s": ".1f", "hr_bpm": ".1f", "rmssd_ms": ".1f",
                 "scl_us": ".2f", "scr_per_min": ".1f", "arousal": "+.2f"}


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
    streams = []
    for name, s in rec.streams.items():
        t0, n = rec.chunk_table(name)
        samples = int(n.sum())
        sig_end = (t0[-1] + n[-1] / s.rate) if s.regular and len(t0) else float("nan")
        streams.append((name, s.kind, s.unit, s.rate if s.regular else float("nan"), samples,
                        sig_end, len(rec.gaps(name)), "derived" if s.derived else "raw"))
    console.print(dataframe_table(pd.DataFrame(streams, columns=[
        "stream", "kind", "unit", "rate_hz", "samples", "end_s", "gaps", "source"]), "Streams",
        {"rate_hz": "g", "end_s": ".2f"}))
    ev = rec.events[["onset", "duration", "kind", "label"]]
    console.print(dataframe_table(ev, f"Events ({len(ev)})", {"onset": ".3f", "duration": ".3f"}))
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
