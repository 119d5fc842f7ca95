"""Batch analysis: the per-phase table of many recordings, in parallel, as one group table.

Local worker processes by default; with a scheduler address, a ``dask.distributed`` cluster
(any: a ``LocalCluster``, or ``dask scheduler`` + ``dask worker`` on many machines sharing the
files). A recording that fails is reported with its error and the others go on. The group
table is written atomically, owner-only, never over a file (:func:`write_table`).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from ..record.private import private_dir, private_output
from ..record.reader import read
from .analyze import analyze

#: Called after each recording: (recordings done, total, path of the one just done).
Progress = Callable[[int, int, str], None]


@dataclass
class BatchResult:
    """``table``: a row per recording x phase (``file`` and ``session_id`` first, then the
    columns of :func:`biofeed.analysis.phases.phase_table`), in the order of the paths given;
    ``failures``: path -> error message for each recording that could not be analysed."""

    table: pd.DataFrame
    failures: dict[str, str] = field(default_factory=dict)


def session_rows(path: str, read_options: dict | None = None) -> pd.DataFrame:
    """The per-phase table of one recording, with its ``file``, ``session_id`` and ``damaged``
    (the number of damaged parts of the file left out, :mod:`biofeed.record.integrity`)."""
    rec = read(path, **(read_options or {}))
    table = analyze(rec).phases
    table.insert(0, "damaged", len(rec.verify()))
    table.insert(0, "session_id", rec.meta.get("session_id", ""))
    table.insert(0, "file", str(path))
    return table


def _attempt(path: str, read_options: dict | None) -> tuple[str, pd.DataFrame | None, str]:
    """``session_rows`` that reports an error instead of raising (one bad file stops nothing)."""
    try:
        return path, session_rows(path, read_options), ""
    except Exception as exc:  # noqa: BLE001 - any failure of one file is reported, not raised
        return path, None, f"{type(exc).__name__}: {exc}"


def _collect(results, paths: list[str], progress: Progress | None) -> BatchResult:
    tables: dict[str, pd.DataFrame] = {}
    failures: dict[str, str] = {}
    for done, (path, table, error) in enumerate(results, 1):
        if error:
            failures[path] = error
        else:
            tables[path] = table
        if progress is not None:
            progress(done, len(paths), path)
    ordered = [tables[p] for p in paths if p in tables]
    table = pd.concat(ordered, ignore_index=True) if ordered else pd.DataFrame()
    return BatchResult(table, {p: failures[p] for p in paths if p in failures})


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """The group table as CSV at ``path`` (its folder created 0700 when missing): 0600, never
    over an existing file or through a symbolic link, appearing only when complete
    (:func:`biofeed.record.private.private_output`)."""
    path = Path(path)
    private_dir(path.parent)
    with private_output(path, "write the table elsewhere (--out) or remove it") as f:
        table.to_csv(f, index=False)
    return path


def expand_paths(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """``paths`` with each BIDS dataset folder replaced by one physio file per recording in it."""
    from ..record.importers.bids import is_dataset, recordings

    out: list[Path] = []
    for p in map(Path, paths):
        out += recordings(p) if p.is_dir() and is_dataset(p) else [p]
    return out


def run_batch(paths: Sequence[str | os.PathLike], scheduler: str | None = None,
              workers: int | None = None, progress: Progress | None = None,
              read_options: dict | None = None) -> BatchResult:
    """Analyse ``paths`` in parallel; a BIDS dataset folder stands for each of its recordings.

    Parameters
    ----------
    scheduler : str, optional
        Address of a dask.distributed scheduler, e.g. ``tcp://127.0.0.1:8786``; local
        processes when omitted.
    workers : int, optional
        Local worker processes (default: the number of CPUs); ignored with a scheduler.
    progress : callable, optional
        See :data:`Progress`.
    read_options : dict, optional
        Passed to :func:`biofeed.read` for every file (e.g. ``{"rate": 100.0}`` for CSVs).
    """
    paths = [str(p) for p in expand_paths(paths)]
    if len(set(paths)) != len(paths):
        raise ValueError("the same recording is listed more than once")
    if scheduler is not None:
        from distributed import Client, as_completed as dask_completed

        with Client(scheduler, timeout="20s") as client:
            futures = client.map(_attempt, paths, read_options=read_options, pure=False)
            return _collect((f.result() for f in dask_completed(futures)), paths, progress)
    # Workers fork from a server that imported the signal core once (importing scipy and
    # neurokit2 takes seconds); forking the caller itself is unsafe when it runs threads.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count(), mp_context=context) as pool:
        futures = [pool.submit(_attempt, p, read_options) for p in paths]
        return _collect((f.result() for f in as_completed(futures)), paths, progress)
