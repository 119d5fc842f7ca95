"""CSV and TSV tables: one column a channel, a sampling rate stated by the caller or a time column.

Columns are separated by commas, tabs or semicolons (the one the header line holds most of).

A column ``time_s`` (or ``time``), seconds, gives every sample's time; the times must increase
from row to row. Times that lie on a uniform grid ``t0 + i / fs`` within :data:`JITTER` (a
quarter) of a sample period make a regular stream at the nominal rate ``fs`` whose times are
that grid; others make an irregular stream with the times as written. Without a time column,
pass ``rate`` (Hz) and sample ``i`` lies at ``i / rate``.

Jitter. ``fs`` is the least-squares fit of time against row number, or the nearest whole
number of Hz when that is within 0.01 % of the fit (crystal clocks are good to about 0.005 %)
and keeps every time within tolerance too: a 250 Hz recording whose times were written to the
millisecond is 250 Hz, not 249.9987 Hz; nominal rates other than whole Hz keep the fit.
``t0`` is the first time when that grid fits, else the median offset (the grid the majority
of the times lie on, so one late timestamp is measured against the others). A tolerance of a quarter period keeps each row in its own
grid slot (anything under half would), covers times rounded to whole milliseconds up to 500 Hz
(250 Hz written as ``0.004``, ``0.008`` ... with clock jitter, or 256 Hz rounded to ms: up to
0.5 ms = 12.8 %), and moves no sample by more than a quarter of its period; a dropped or
repeated sample moves the later times by a whole period, so a stream with gaps stays
irregular. When times were moved, ``meta['notes']`` says by how much.

Errors name the file, the line (1-based, counting the header as line 1) and the column of the
first bad cell: a non-numeric or empty time, a time not after the previous row's, a
non-numeric value. A last line without a line end is left out (the file may have been cut
inside it, and a cut number reads as another number), and ``meta['notes']`` says so. Columns
named ``<stream>:<channel>`` form one
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
#: Largest deviation of a time from the uniform grid of a regular stream, in sample periods.
JITTER = 0.25


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


def _data_lines(path: Path) -> list[int]:
    """1-based line numbers of the table's data rows (pandas skips blank lines; the header is
    the first non-blank line)."""
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        lines = [i for i, line in enumerate(f, 1) if line.strip()]
    return lines[1:]


def _line(path: Path, row: int) -> str:
    lines = _data_lines(path)
    return f"line {lines[row]}" if row < len(lines) else f"data row {row + 1}"


def _first_bad_cell(path: Path, column: pd.Series, what: str) -> str:
    """Where ``column`` first holds something that is not a number: ``line N, column 'C': ...``."""
    numbers = pd.to_numeric(column, errors="coerce")
    bad = (numbers.isna() & column.notna()).to_numpy()
    if not bad.any():
        return f"column {column.name!r}: no number in it"
    row = int(np.flatnonzero(bad)[0])
    return f"{_line(path, row)}, column {column.name!r}: {column.iloc[row]!r} is not {what}"


def _times(path: Path, table: pd.DataFrame, col: str) -> np.ndarray:
    """The time column as finite, strictly increasing seconds, or a FormatError naming the
    line and column of the first bad cell."""
    column = table[col]
    if not pd.api.types.is_numeric_dtype(column):
        raise FormatError(f"{path}: column {col!r} holds non-numeric values, expected times in "
                          f"seconds: {_first_bad_cell(path, column, 'a time in seconds')}")
    times = column.to_numpy(float)
    bad = np.flatnonzero(~np.isfinite(times))
    if len(bad):
        row = int(bad[0])
        what = "empty" if np.isnan(times[row]) else f"{float(times[row])!r}"
        raise FormatError(f"{path}: {_line(path, row)}, column {col!r}: {what}, expected a finite "
                          "time in seconds")
    back = np.flatnonzero(np.diff(times) <= 0)
    if len(back):
        i = int(back[0]) + 1
        raise FormatError(f"{path}: {_line(path, i)}, column {col!r}: time {float(times[i])!r} s is "
                          f"not after the previous row's {float(times[i - 1])!r} s; the times must "
                          "increase")
    return times


def _grid(times: np.ndarray) -> tuple[float, float, float] | None:
    """(rate Hz, t0 s, largest deviation in periods) of the uniform grid the times lie on within
    :data:`JITTER` of a period, or None (an irregular stream). See the module notes."""
    n = len(times)
    i = np.arange(n, dtype=float)
    di = i - i.mean()
    period = float(np.dot(di, times - times.mean()) / np.dot(di, di))
    if not period > 0:
        return None
    fitted = 1.0 / period
    for fs in dict.fromkeys((float(round(fitted)), fitted)):
        if not (fs > 0 and abs(fs - fitted) <= 1e-4 * fitted):   # a whole rate the fit supports
            continue
        offsets = times - i / fs
        for t0 in (float(times[0]), float(np.median(offsets))):
            worst = float(np.max(np.abs(offsets - t0))) * fs
            if worst <= JITTER:
                return fs, t0, worst
    return None


def _cut_last_line(path: Path) -> str | None:
    """A note when the file's last line has no line end: a recorder or a copy stopped inside
    it, or a writer that ends without one; either way its last cell may be cut short (``4.09``
    of ``4.0958``) and reads as another number, so the line is left out. Else None. A file cut
    exactly at a line end cannot be told from a complete one: tables have no footer."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 1))
        last = f.read()
    if not last or last in (b"\n", b"\r"):
        return None
    return ("the last line has no line end, so the file may have been cut inside it "
            "(truncated?): that line is left out")


def read_table(path: Path, rate: float | None = None, events: str | Path | None = None,
               unit: dict[str, str] | None = None) -> Recording:
    """Import a CSV/TSV table; ``rate`` in Hz when there is no time column; ``unit`` maps stream
    names to units (ECG in mV and EDA in uS otherwise)."""
    require(path.is_file(), path, "no such table file")
    sep = _separator(path)
    try:
        table = pd.read_csv(path, sep=sep, compression=None)
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path}: not a readable CSV table ({exc})") from None
    notes = []
    cut = _cut_last_line(path) if len(table) else None
    if cut:
        notes.append(cut)
        table = pd.read_csv(path, sep=sep, compression=None, nrows=len(table) - 1)
    require(len(table) > 0, path, f"no data rows under the header {list(table.columns)}")
    time_col = next((c for c in TIME_COLUMNS if c in table.columns), None)
    require(time_col is not None or (rate is not None and rate > 0), path,
            f"no time column ({' or '.join(TIME_COLUMNS)}) among {list(table.columns)}: "
            "state the sampling rate (rate=HZ, or --rate HZ)")
    times = None if time_col is None else _times(path, table, time_col)
    t0 = 0.0 if times is None or not len(times) else float(times[0])
    if times is not None and rate is None and len(times) > 2:
        grid = _grid(times)
        if grid is not None:
            rate, t0, worst = grid
            if worst > 1e-6:
                notes.append(f"column {time_col!r}: times up to {worst / rate:.3g} s "
                             f"({100 * worst:.3g} % of a sample period) off a regular {rate:g} Hz grid "
                             f"(tolerance {100 * JITTER:g} %): imported as regular at {rate:g} Hz")
    signals, skipped = [], []
    for name, cols in _groups([c for c in table.columns if c != time_col]).items():
        kind = guess_kind(name)
        if kind is None:
            skipped.append(f"{name} (no stream kind known from its name)")
            continue
        data = table[cols]
        non_numeric = [c for c in cols if not pd.api.types.is_numeric_dtype(data[c])]
        if non_numeric:
            raise FormatError(f"{path}: column(s) {non_numeric} hold non-numeric values, expected "
                              f"numbers: {_first_bad_cell(path, data[non_numeric[0]], 'a number')}")
        values = data.to_numpy(float)
        values = values[:, 0] if len(cols) == 1 else values
        channels = tuple(c.split(":", 1)[1] if ":" in c else c for c in cols)
        u = (unit or {}).get(name, "")
        if rate:
            signals.append(regular_signal(name, kind, u, rate, values, t0, channels, "csv"))
        else:
            signals.append(irregular_signal(name, kind, u, times, values, channels, "csv"))
    require(bool(signals), path, f"no column of a known kind among {list(table.columns)} "
                                 "(expected names like ECG, EDA, RSP, PPG)")
    ev = None if events is None else read_events_table(Path(events))
    meta = import_meta(path, "csv", skipped=skipped, **({"notes": notes} if notes else {}))
    return Recording.from_signals(signals, ev, meta, path)
