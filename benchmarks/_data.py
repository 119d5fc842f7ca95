"""Shared pieces of the benchmarks: reference recordings, tiling to long records, time and memory.

The reference recordings live beside the checkout in ``../shared/data`` (MIT-BIH record 100,
NeuroKit2 examples); every loader takes ``data`` to point elsewhere. Benchmarks run as scripts
(``python benchmarks/bench_x.py``), so they import this module as ``_data``.
"""
from __future__ import annotations

import time
import tracemalloc
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

#: Default folder of the reference recordings.
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

T = TypeVar("T")


def mitdb_100(lead: int = 0, data: Path = DATA) -> tuple[np.ndarray, float]:
    """One lead of MIT-BIH Arrhythmia record 100 (30 min; lead 0 MLII, 1 V5), mV, and its
    sampling rate (360 Hz)."""
    import wfdb

    rec = wfdb.rdrecord(str(data / "mitdb" / "100"))
    return rec.p_signal[:, lead], float(rec.fs)


def neurokit_example(name: str, column: str, data: Path = DATA) -> np.ndarray:
    """One column of a NeuroKit2 example recording, e.g. ``("ecg_1000hz.csv", "ECG")``."""
    import pandas as pd

    return pd.read_csv(data / "neurokit" / name)[column].to_numpy()


def tile(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` repeated end to end and cut to ``n`` samples."""
    return np.tile(x, -(-n // len(x)))[:n]


def tile_hours(x: np.ndarray, fs: float, hours: float) -> np.ndarray:
    """``x`` (sampled at ``fs`` Hz) repeated end to end to last ``hours`` hours."""
    return tile(x, int(hours * 3600 * fs))


def timed(func: Callable[[], T]) -> tuple[float, T]:
    """Wall-clock seconds of one run of ``func`` and its result."""
    t = time.perf_counter()
    out = func()
    return time.perf_counter() - t, out


def median_call_s(func: Callable[[], object], n: int) -> float:
    """Median wall-clock seconds of one call of ``func`` over ``n`` calls."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def peak_memory(func: Callable[[], object]) -> int:
    """Peak bytes of Python/numpy allocations during one run of ``func`` (tracemalloc)."""
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(func: Callable[[], T]) -> tuple[float, int, T]:
    """Seconds of one plain run, peak bytes of a second run under tracemalloc, and the result.

    Two runs, because tracemalloc slows allocation-heavy code several-fold.
    """
    elapsed, out = timed(func)
    return elapsed, peak_memory(func), out


def chunks(x: np.ndarray, size: int):
    """Consecutive pieces of ``x`` of ``size`` samples (the last may be shorter)."""
    return (x[i:i + size] for i in range(0, len(x), size))


def write_validation_page(path: Path, title: str, script: str, how: str, text: str) -> None:
    """A validation page under ``docs/``: how it was made (``script``, date, versions, commit),
    ``how`` (what the columns mean) and ``text`` (the tables, verbatim). Written to a
    temporary file beside ``path`` and renamed over the previous page when complete."""
    import datetime
    import os
    import platform
    import subprocess

    import neurokit2 as nk

    import biofeed

    root = Path(__file__).resolve().parents[1]
    try:
        shown = path.resolve().relative_to(root).as_posix()
    except ValueError:
        shown = path.as_posix()
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    page = f"""# {title}

Made by `python benchmarks/{script} --markdown {shown}` on
{datetime.date.today().isoformat()} with biofeed {biofeed.__version__} (commit {commit}),
neurokit2 {nk.__version__} and Python {platform.python_version()}.

{how}

```
{text}
```
"""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "x", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, path)
