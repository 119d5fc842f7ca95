"""``biofeed progress``: a participant's trend over their sessions (CSV, HTML and PDF)."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from .common import participant_id


def register(sub) -> None:
    p = sub.add_parser("progress", help="a participant's progress over their sessions: a table "
                       "(CSV) and a trend report (HTML and PDF)")
    p.add_argument("participant", type=participant_id, metavar="PARTICIPANT",
                   help="the participant id stored in the session files (found by their "
                        "metadata, not their names)")
    p.add_argument("--sessions", type=Path, default=Path("sessions"), metavar="DIR",
                   help="folder searched (with its subfolders) for session files "
                        "(default: ./sessions)")
    p.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                   help="folder for the table and the reports (default: ./reports); files 0600, "
                        "never over existing ones")
    p.set_defaults(func=cmd_progress)


def cmd_progress(args: argparse.Namespace, console: Console) -> int:
    from ..analysis.progress import COLUMNS, progress, write_progress
    from ..console import dataframe_table, plain

    result = progress(args.participant, args.sessions)
    files = write_progress(result, args.out)
    for path, reason in result.skipped.items():
        console.print(f"[yellow]not read: {plain(path)}: {plain(reason)}[/yellow]")
    console.print(dataframe_table(result.table[list(COLUMNS[:-2])],
                                  f"Progress of {args.participant}: {len(result.sessions)} session(s)"))
    console.print(f"table: {plain(files.table)}\nreport: {plain(files.html)}\nPDF: {plain(files.pdf)}")
    return 0
