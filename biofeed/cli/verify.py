"""``biofeed verify``: check a session file for damage."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape


def register(sub) -> None:
    verify = sub.add_parser("verify", help="check a session file for damage (exit status 1 when "
                                           "damaged)")
    verify.add_argument("session", type=Path, help="a .biofeed session file")
    verify.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace, console: Console) -> int:
    """Every row's CRC, the file's length and SQLite's structure
    (:func:`biofeed.record.integrity.structure`); exit status 0 intact, 1 damaged."""
    from ..console import dataframe_table
    from ..record.integrity import damage_table, structure
    from ..record.reader import Recording

    rec = Recording(args.session)
    damage = rec.verify() + structure(args.session)
    path = escape(str(args.session))
    chunks = sum(int(rec.chunk_table(name)[1].size) for name in rec.streams)
    checked = (f"{len(rec.streams)} streams, {chunks} chunks, {len(rec.events)} events"
               + (", each row's CRC-32" if rec.integrity_checked else
                  " (written before rows carried CRCs: only SQLite's structure is checked)"))
    if not damage:
        console.print(f"{path}: no damage ({checked})")
        return 0
    console.print(dataframe_table(damage_table(damage), f"Damage ({len(damage)})",
                                  {"start_s": ".3f", "end_s": ".3f"}))
    console.print(f"[red]{path}: damaged[/red]; the rest reads ({checked})")
    return 1
