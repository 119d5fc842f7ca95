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


def cmd_info(args: argparse.Namespace, console: Console) -> int:
    from ..console import dataframe_table, plain
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
