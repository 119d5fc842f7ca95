"""``biofeed info``: describe a recorded session."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console


#: Metadata keys in which importers state a decision (:mod:`biofeed.record.importers`).
IMPORT_DECISIONS = ("rr_unit_detected", "time_unit_detected", "time_mapping", "ppi_flags")


def register(sub) -> None:
    info = sub.add_parser("info", help="describe a recorded session file")
    info.add_argument("session", type=Path, help="a .biofeed session file")
    info.set_defaults(func=cmd_info)


def streams_table(rec) -> pd.DataFrame:
    """One row per stream of a recording: kind, unit, rate, samples, end time (s: the last
    sample's, a regular stream's sample period after it), gaps."""
    rows = []
    for name, s in rec.streams.items():
        t0, n = rec.chunk_table(name)
        end = (float(t0[-1] + n[-1] / s.rate) if s.regular else float(rec.signals[name].times[-1])
               ) if len(t0) and n.sum() else np.nan
        rows.append((name, s.kind, s.unit, s.rate if s.regular else np.nan, int(n.sum()), end,
                     len(rec.gaps(name)), "derived" if s.derived else "raw"))
    return pd.DataFrame(rows, columns=["stream", "kind", "unit", "rate_hz", "samples", "end_s",
                                       "gaps", "source"])


#: ``device_errors`` columns shown first in the devices table; a device's other counts follow.
DEVICE_COLUMNS = ("state", "gaps", "disconnected_s", "reconnects", "decode_errors", "garbage_lines")


def devices_table(rec) -> pd.DataFrame:
    """One row per device from the ``device_errors`` metadata written at the end of a
    session (:meth:`biofeed.engine.Engine.device_report`): state at the end, disconnections,
    seconds disconnected, failed connections, decode errors, garbage lines and the device's
    other counts ("name n, ..."); empty when the file has none (an older, killed or imported
    recording)."""
    report = rec.meta.get("device_errors")
    if not isinstance(report, dict):
        return pd.DataFrame(columns=["device", *DEVICE_COLUMNS, "other"])
    rows = []
    for device, counts in report.items():
        counts = counts if isinstance(counts, dict) else {}
        state = str(counts.get("state", "-"))
        if counts.get("missing_at_start"):
            state += " (missing at start)"
        rest = ", ".join(f"{k} {v:g}" for k, v in counts.items()
                         if k not in DEVICE_COLUMNS and k != "missing_at_start"
                         and isinstance(v, (int, float)) and v)
        rows.append((device, state, *(counts.get(k, 0) for k in DEVICE_COLUMNS[1:]), rest or "-"))
    return pd.DataFrame(rows, columns=["device", *DEVICE_COLUMNS, "other"])


def disconnection_lines(rec) -> list[str]:
    """One sentence per time a device was disconnected: which device, when, for how long and
    why, from the session's ``gap`` events. A gap still open in a recording that was killed
    says so."""
    ev = rec.events
    lines = []
    for gap in ev[ev.kind == "gap"].itertuples():
        p = gap.payload if isinstance(gap.payload, dict) else {}
        when = "from the start" if p.get("at_start") else f"at {gap.onset:.1f} s"
        if p.get("open"):
            length = "and was still disconnected when the recording stopped"
        else:
            length = f"for {gap.duration:.1f} s" + (" (until the end of the session)"
                                                      if p.get("until") else "")
        lines.append(f"device {p.get('device', '?')} was disconnected {when} {length}: "
                     f"{p.get('reason') or 'no reason recorded'}")
    return lines


def cmd_info(args: argparse.Namespace, console: Console) -> int:
    from ..console import dataframe_table, plain, text
    from ..record.reader import read

    rec = read(args.session)
    m = rec.meta
    status = "complete" if rec.complete else "INCOMPLETE (the recording stopped unexpectedly)"
    console.print(f"[bold]{plain(rec.path)}[/bold]")
    streams = streams_table(rec)
    rows = [("status", status), ("session id", m.get("session_id", "")),
            ("participant", m.get("participant") or "-"),
            ("protocol", (m.get("protocol") or {}).get("name", "-")),
            ("devices", ", ".join(d.get("id", "?") for d in m.get("devices", [])) or "-"),
            ("start (UTC)", m.get("start_utc", "-")),
            *([("start (local)", m["start_local"])] if m.get("start_local") else []),
            ("time scale", f"{m.get('time_scale', 1):g}x"),
            ("software", " ".join(f"{k} {v}" for k, v in m.get("software", {}).items()))]
    if m.get("imported_from"):
        rows.append(("imported from", f"{m['imported_from']} ({m.get('format', '?')})"))
    if rec.complete:
        # an imported recording has no recorded duration: its streams' end
        duration = m.get("duration_s", float(streams.end_s.max()) if len(streams) else np.nan)
        rows += [("duration", f"{duration:.2f} s" if np.isfinite(duration) else "-"),
                 ("ended by", m.get("ended_by", "-")), ("end (UTC)", m.get("end_utc", "-"))]
    console.print(dataframe_table(pd.DataFrame(rows, columns=["field", "value"]), "Session"))
    console.print(dataframe_table(streams, "Streams", {"rate_hz": "g", "end_s": ".2f"}))
    devices = devices_table(rec)
    if len(devices):
        console.print(dataframe_table(devices, "Devices (errors and disconnections)",
                                      {"disconnected_s": ".1f"}))
    for line in disconnection_lines(rec):
        console.print(text(line), soft_wrap=True)
    if m.get("skipped"):
        console.print(dataframe_table(pd.DataFrame({"left out (why)": m["skipped"]}),
                                      f"Not imported ({len(m['skipped'])})"))
    # how an importer decided what it could not read from the file (units, clocks, flags)
    notes = list(m.get("notes", [])) + [f"{key}: {m[key]}" for key in IMPORT_DECISIONS if key in m]
    if notes:
        console.print(dataframe_table(pd.DataFrame({"note": notes}), f"Import notes ({len(notes)})"))
    if rec.damage:       # found while reading the metadata and the chunk tables above
        from ..record.integrity import damage_table
        console.print(dataframe_table(damage_table(rec.damage), f"Damage ({len(rec.damage)})",
                                      {"start_s": ".3f", "end_s": ".3f"}))
    ev = rec.events[["onset", "duration", "kind", "label"]]
    console.print(dataframe_table(ev, f"Events ({len(ev)})", {"onset": ".3f", "duration": ".3f"}))
    return 0
