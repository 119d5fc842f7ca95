"""``biofeed run PROTOCOL``: run a protocol (by name or path) on any devices and record it.

After the run it prints the phase table (measures per phase), reactivity (phase minus
baseline, half-recovery time), the ratings and any stop-rule triggers, and for a resonance
assessment the six criteria per rate and the chosen rate.
"""
from __future__ import annotations

import argparse
import sys

from rich.console import Console

from .. import __version__
from .common import DEVICE_HELP, positive
from .session import PHASE_FORMATS, _extra_sinks, _run, _session_options, allow_missing_option, say


def register(sub) -> None:
    run = sub.add_parser("run", help="run a protocol (name or .toml path) and record the session")
    run.add_argument("protocol", metavar="PROTOCOL", help="built-in name (biofeed protocols list) or a .toml file")
    _session_options(run)
    run.add_argument("--device", action="append", default=None, metavar="SPEC",
                     help=f"{DEVICE_HELP} Repeatable (default: the simulated sensor).")
    allow_missing_option(run)
    run.add_argument("--speed", type=positive, default=1.0, metavar="X",
                     help="run X times faster than real time (simulated devices only; default 1)")
    run.add_argument("--seed", type=int, default=0, metavar="N",
                     help="seed of the default simulated participant (default 0)")
    run.add_argument("--order-seed", type=int, default=None, metavar="N",
                     help="seed ordering randomised blocks (default: drawn at random; always recorded)")
    run.add_argument("--auto-ratings", default=None, metavar="SPEC",
                     help="answer every rating unattended: constant:V or V1,V2,... (last repeats)")
    run.add_argument("--rate", type=positive, default=None, metavar="BPM",
                     help="pacer rate of the paced-breathing phases, breaths/min (e.g. from an assessment)")
    run.set_defaults(func=cmd_run)


def _alert(console: Console):
    from ..console import plain

    return lambda message: console.print(f"[bold red]ALERT {plain(message)}[/bold red]")


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from ..devices.spec import open_devices, parse_spec
    from ..protocol.assemble import protocol_session
    from ..protocol.library import load
    from ..protocol.ratings import AutoRatings
    from ..protocol.schedule import with_pacer_rate
    from ..console import text
    from ..protocol.terminal import HELP, start_reader

    protocol = load(args.protocol, seed=args.order_seed)
    if args.rate is not None:
        protocol = with_pacer_rate(protocol, args.rate)
    auto = None
    if args.auto_ratings is not None:
        auto = AutoRatings.parse(args.auto_ratings)
        auto.check(protocol)
    specs = args.device or [f"simulated:seed={args.seed}"]
    if args.speed != 1.0 and any(parse_spec(s).kind != "simulated" for s in specs):
        raise ValueError("--speed other than 1 needs simulated devices only")
    session = protocol_session(
        protocol, lambda runner: open_devices(specs, runner.state_at, args.lsl_scope, say(console)),
        auto_ratings=auto, alert=_alert(console), out_dir=args.out, participant=args.participant,
        speed=args.speed, sinks=_extra_sinks(args, console), rr_correction=args.rr_correction,
        allow_missing=args.allow_missing,
        **({"duration": args.duration} if args.duration else {}))
    console.print(text(f"biofeed {__version__}: protocol {protocol.name} {protocol.version} "
                       f"({protocol.duration_s:g} s planned"
                       f"{f', order seed {protocol.seed}' if protocol.seed is not None else ''}) on "
                       f"{', '.join(specs)} at {args.speed:g}x. Ctrl-C stops."))
    if sys.stdin is not None and sys.stdin.isatty():
        console.print(text(f"controls: {HELP}"))
        start_reader(session.runner, sys.stdin, say(console))
    _run(session, console, summary=lambda rec: report(rec, console))
    return 0


def report(rec, console: Console) -> None:
    """Print the after-run tables of a recorded protocol session ``rec`` (a Recording)."""
    from ..analysis.phases import phase_table, reactivity
    from ..analysis.resonance import resonance
    from ..console import dataframe_table, plain, text
    from ..devices.labels import participants
    labels = participants(rec.streams.values())
    for label in labels if len(labels) > 1 else [None]:   # one table each in a dyad
        who = f": {label or '(unlabelled)'}" if label is not None else ""
        table = phase_table(rec, label)
        console.print(dataframe_table(table, f"Per-phase summary{who}", PHASE_FORMATS))
        if (table.kind == "baseline").any():
            react = reactivity(table)
            console.print(dataframe_table(react, f"Reactivity (phase minus baseline){who}",
                                          {c: "+.2f" for c in react.columns if c.startswith("d_")}
                                          | {"half_recovery_s": ".0f"}))
    events = rec.events
    for ev in events[events.kind == "rating"].itertuples():
        value = ev.payload.get("value")
        console.print(text(f"rating {ev.label} at {ev.onset:.1f} s: "
                           f"{'missing' if value is None else format(value, 'g')} "
                           f"({ev.payload.get('source', '-')})"))
    for ev in events[events.kind == "stop_rule"].itertuples():
        console.print(f"[red]stop rule at {ev.onset:.1f} s: {plain(ev.payload['reason'])}; skipped "
                      f"{plain(', '.join(ev.payload['skipped']) or 'nothing')}[/red]")
    paced = events[(events.kind == "phase")]
    if any(p.get("phase_kind") == "assessment" and "pacer_rate_bpm" in p for p in paced.payload):
        result = resonance(rec)
        console.print(dataframe_table(result.table, "Resonance-frequency criteria",
                                      {"rate_bpm": "g", "phase_deg": "+.1f", "peak_trough_bpm": ".1f",
                                       "lf_ms2": ".0f", "lf_peak_ms2_hz": ".0f", "smoothness": ".2f",
                                       "rank_sum": "g"}))
        console.print(text(f"chosen resonance rate: {result.rate_bpm:g} breaths/min"
                           + (f" (an end of the range: extend it {result.extend})" if result.extend else "")))
    console.print(text(f"session file: {rec.path}"))
