"""``biofeed devices scan`` and ``biofeed devices test``."""
from __future__ import annotations

import argparse
import asyncio

from rich.console import Console

from .common import DEVICE_HELP, positive


def register(sub) -> None:
    devices = sub.add_parser("devices", help="find and test sensors").add_subparsers(
        dest="devices_command", required=True)
    scan = devices.add_parser("scan", help="list heart-rate BLE sensors, serial ports, LSL streams")
    scan.add_argument("--timeout", type=positive, default=3.0, metavar="S",
                      help="seconds to listen for Bluetooth and LSL (default 3)")
    scan.add_argument("--lsl-scope", choices=("machine", "link"), default="machine")
    scan.set_defaults(func=cmd_devices_scan)
    profiles = devices.add_parser("profiles", help="list the built-in serial device profiles")
    profiles.set_defaults(func=cmd_devices_profiles)
    test = devices.add_parser("test", help="stream from a device and report rate, gaps and quality")
    test.add_argument("device", metavar="SPEC", help=DEVICE_HELP)
    test.add_argument("--seconds", type=positive, default=10.0, metavar="S")
    test.add_argument("--lsl-scope", choices=("machine", "link"), default="machine")
    test.set_defaults(func=cmd_devices_test)


def cmd_devices_scan(args: argparse.Namespace, console: Console) -> int:
    from ..console import dataframe_table, text
    from ..devices.scan import scan_all

    table, notes = asyncio.run(scan_all(args.timeout, args.lsl_scope))
    console.print(dataframe_table(table, "Devices"))
    for note in notes:
        console.print(text(note, "yellow"), soft_wrap=True)
    return 0


def cmd_devices_test(args: argparse.Namespace, console: Console) -> int:
    from ..console import dataframe_table, text
    from ..devices.scan import test_device
    from ..devices.spec import open_device

    device = open_device(args.device, lsl_scope=args.lsl_scope)
    console.print(text(f"streaming from {device.id} for {args.seconds:g} s ..."))
    table, notes = test_device(device, args.seconds)
    console.print(dataframe_table(table, f"{device.id}: {args.seconds:g} s test",
                                  {"rate_hz": ".2f", "measured_hz": ".2f", "finite_pct": ".1f"}))
    for note in notes:
        console.print(text(note))
    return 0


def cmd_devices_profiles(args: argparse.Namespace, console: Console) -> int:
    import pandas as pd

    from ..console import dataframe_table
    from ..devices.profiles import builtin_profiles, load_profile

    rows = []
    for name in builtin_profiles():
        p = load_profile(name)
        rows.append((name, p.description, f"{p.rate:g}", p.baud,
                     ", ".join(f"{s.name} ({s.kind}, {s.unit})" for s in p.streams)))
    console.print(dataframe_table(pd.DataFrame(rows, columns=["profile", "description", "rate_hz",
                                                              "baud", "streams"]), "Device profiles"))
    return 0
