"""``biofeed analyze``, ``import``, ``export`` and ``batch``: offline analysis and file formats."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console
from ..console import plain
from .common import positive, rr_correction_option


def _read_options(args: argparse.Namespace) -> dict:
    """Importer options given on the command line (only those set)."""
    options = {"rate": args.rate, "events": getattr(args, "events", None)}
    return {k: v for k, v in options.items() if v is not None}


def _rate_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rate", type=positive, default=None, metavar="HZ",
                   help="sampling rate of a CSV/TSV table without a time column, Hz")


def register(sub) -> None:
    analyze = sub.add_parser("analyze", help="re-analyse a recording: per-phase table (CSV) and "
                             "the session report as a self-contained HTML page and a PDF")
    analyze.add_argument("session", type=Path, help="a session file or any recording biofeed reads")
    analyze.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                         help="folder for the table and the reports (default: ./reports); files 0600, "
                              "never over existing ones")
    _rate_option(analyze)
    rr_correction_option(analyze, None, "the level the session was recorded with, automatic "
                         "for other recordings")
    analyze.set_defaults(func=cmd_analyze)

    imp = sub.add_parser("import", help="convert another tool's recording (WFDB, EDF/BDF, XDF, BIDS, "
                         "Empatica E4, OpenSignals, CSV) into a session file")
    imp.add_argument("source", type=Path, help="the recording (file, or E4 folder)")
    imp.add_argument("--out", type=Path, default=Path("sessions"), metavar="DIR",
                     help="folder for the session file (default: ./sessions)")
    _rate_option(imp)
    imp.add_argument("--events", type=Path, default=None, metavar="FILE",
                     help="events table (onset, duration, label/trial_type, kind) for a CSV recording")
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="write a recording's streams (raw and derived) and events "
                         "with their payloads as BIDS physio, EDF+ or CSV; files 0600, never "
                         "over existing ones")
    exp.add_argument("session", type=Path, help="a session file or any recording biofeed reads")
    exp.add_argument("--format", required=True, choices=("bids", "edf", "csv"))
    exp.add_argument("--out", type=Path, default=Path("export"), metavar="DIR",
                     help="output folder (default: ./export)")
    exp.add_argument("--stem", default=None, metavar="NAME",
                     help="start of every file name (default: the recording's name; BIDS: a "
                          "dataset, sub-<participant>/ses-<start>/beh/sub-..._ses-..._task-"
                          "<protocol>_..., from the session's metadata; a stem given, e.g. "
                          "sub-01_task-rest, is used as it is, the files flat in the folder)")
    exp.add_argument("--no-derived", dest="derived", action="store_false",
                     help="leave out the derived streams (R-peaks, RR/NN, HRV, coherence, RSA, "
                          "SCL, SCRs, breaths, arousal; BIDS puts them in derivatives/biofeed/)")
    _rate_option(exp)
    exp.set_defaults(func=cmd_export)

    batch = sub.add_parser("batch", help="per-phase table of many recordings in parallel")
    batch.add_argument("paths", type=Path, nargs="+", help="recordings (a BIDS dataset folder: each of its recordings)")
    batch.add_argument("--out", type=Path, default=Path("batch.csv"), metavar="CSV",
                       help="the group table, a row per recording x phase (default: batch.csv); "
                            "readable by its owner only, never over an existing file")
    batch.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="dask.distributed scheduler, e.g. tcp://127.0.0.1:8786 "
                            "(default: local processes)")
    batch.add_argument("--workers", type=int, default=None, metavar="N",
                       help="local worker processes (default: one per CPU)")
    _rate_option(batch)
    batch.set_defaults(func=cmd_batch)


def cmd_analyze(args: argparse.Namespace, console: Console) -> int:
    from ..analysis.analyze import analyze
    from ..analysis.report import write_report
    from ..console import dataframe_table
    from ..record.reader import read
    from .session import PHASE_FORMATS

    result = analyze(read(args.session, **_read_options(args)), args.rr_correction)
    files = write_report(result, args.out)
    console.print(dataframe_table(result.phases, "Per-phase summary", PHASE_FORMATS))
    console.print(f"RR artifact correction: {plain(result.recording.meta['rr_correction'])}")
    damage = result.recording.damage
    if damage:
        console.print(f"[yellow]damaged parts of the file left out: {len(damage)} "
                      "(see the report's artifacts, or biofeed verify)[/yellow]")
    console.print(f"table: {plain(files.table)}\nreport: {plain(files.html)}\n"
                  f"PDF: {plain(files.pdf)}")
    return 0


def cmd_import(args: argparse.Namespace, console: Console) -> int:
    from ..record.export import to_session_file
    from ..record.reader import read

    rec = read(args.source, **_read_options(args))
    path = to_session_file(rec, args.out)
    console.print(f"imported {len(rec.streams)} stream(s) ({plain(', '.join(rec.streams))}) and "
                  f"{len(rec.events)} event(s)")
    for skipped in rec.meta.get("skipped", []):
        console.print(f"[yellow]left out: {plain(skipped)}[/yellow]")
    console.print(f"session file: {plain(path)}")
    return 0


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    from ..record.export import export
    from ..record.reader import read

    out = export(read(args.session, **_read_options(args)), args.out, args.format, args.stem,
                 args.derived)
    for name, reason in out.skipped.items():
        console.print(f"[yellow]not exported: {plain(name)}: {plain(reason)}[/yellow]")
    for path in out.files:
        console.print(plain(path))
    return 0


def cmd_batch(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import Progress

    from ..analysis.batch import expand_paths, run_batch, write_table

    if os.path.lexists(args.out):   # refused before the analysis, not after
        raise FileExistsError(f"{args.out}: exists already; write the table elsewhere (--out) "
                              "or remove it")
    paths = expand_paths(args.paths)
    with Progress(console=console, transient=False) as bar:
        task = bar.add_task("analysing", total=len(paths))
        result = run_batch(paths, args.scheduler, args.workers,
                           lambda done, total, path: bar.update(task, completed=done),
                           _read_options(args))
    write_table(result.table, args.out)
    for path, error in result.failures.items():
        console.print(f"[red]failed: {plain(path)}: {plain(error)}[/red]")
    ok = len(paths) - len(result.failures)
    console.print(f"{ok} of {len(paths)} recording(s) analysed; table: {plain(args.out)}")
    return 1 if result.failures else 0
