"""CSV and TSV tables: one column a channel, a sampling rate stated by the caller or a time column.

Columns are separated by commas, tabs or semicolons (the one the header line holds most of).

A column ``time_s`` (or ``time``), seconds, gives every sample's time: evenly spaced times
make a regular stream at that rate, others an irregular one. Without it, pass ``rate`` (Hz)
and sample ``i`` lies at ``i / rate``. Columns named ``<stream>:<channel>`` form one
multi-channel stream; any other column whose name suggests a kind (ECG, EDA, RSP, PPG, ...)
is its own stream. Events come from a separate table (``events=``), see
:func:`~biofeed.record.importers.common.read_events_table`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..reader import Recording
from .common import FormatError, guess_kind, import_meta, irregular_signal, read_events_table, \
    regular_signal, require

TIME_COLUMNS = ("time_s", "time")


def _groups(columns: list[str]) -> dict[str, list[str]]:
    """Stream name -> its columns (``stream:channel`` columns grouped by the stream name)."""
    groups: dict[str, list[str]] = {}
    for col in columns:
        groups.setdefault(col.split(":", 1)[0], []).append(col)
    return groups


def _separator(path: Path) -> str:
    """The column separator: the one of tab, comma and semicolon the first line holds most of
    (a tie, or none: tab for ``.tsv``, else comma)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    default = "\t" if path.suffix.lower() == ".tsv" else ","
    counts = {sep: first.count(sep) for sep in ("\t", ",", ";")}
    best = max(counts.values())
    return default if counts[default] == best else max(counts, key=counts.get)


def read_table(path: Path, rate: float | None = None, events: str | Path | None = None,
               unit: dict[str, str] | None = None) -> Recording:
    """Import a CSV/TSV table; ``rate`` in Hz when there is no time column; ``unit`` maps stream
    names to units (ECG in mV and EDA in uS otherwise)."""
    require(path.is_file(), path, "no such table file")
    try:
        table = pd.read_csv(path, sep=_separator(path), compression=None)
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path}: not a readable CSV table ({exc})") from None
    time_col = next((c for c in TIME_COLUMNS if c in table.columns), None)
    require(time_col is not None or (rate is not None and rate > 0), path,
            f"no time column ({' or '.join(TIME_COLUMNS)}) among {list(table.columns)}: "
            "state the sampling rate (rate=HZ, or --rate HZ)")
    require(time_col is None or pd.api.types.is_numeric_dtype(table[time_col]), path,
            f"column {time_col!r} holds non-numeric values, expected times in seconds")
    times = None if time_col is None else table[time_col].to_numpy(float)
    if times is not None and rate is None and len(times) > 2:
        step = np.diff(times)
        if np.allclose(step, np.median(step), rtol=1e-3, atol=1e-9):
            rate = 1.0 / float(np.median(step))
    signals, skipped = [], []
    for name, cols in _groups([c for c in table.columns if c != time_col]).items():
        kind = guess_kind(name)
        if kind is None:
            skipped.append(name)
            continue
        data = table[cols]
        non_numeric = [c for c in cols if not pd.api.types.is_numeric_dtype(data[c])]
        require(not non_numeric, path, f"column(s) {non_numeric} hold non-numeric values, expected numbers")
        values = data.to_numpy(float)
        values = values[:, 0] if len(cols) == 1 else values
        channels = tuple(c.split(":", 1)[1] if ":" in c else c for c in cols)
        u = (unit or {}).get(name, "")
        if rate:
            t0 = 0.0 if times is None or not len(times) else float(times[0])
            signals.append(regular_signal(name, kind, u, rate, values, t0, channels, "csv"))
        else:
            signals.append(irregular_signal(name, kind, u, times, values, channels, "csv"))
    require(bool(signals), path, f"no column of a known kind among {list(table.columns)} "
                                 "(expected names like ECG, EDA, RSP, PPG)")
    ev = None if events is None else read_events_table(Path(events))
    return Recording.from_signals(signals, ev, import_meta(path, "csv", skipped=skipped), path)
