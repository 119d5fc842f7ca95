"""Plain RR-interval text files: one interval a line, optionally with a time column.

Sources: the RR-interval ASCII text input of Kubios HRV (Kubios HRV user's guide, section
"Supported data formats and devices": RR intervals in s or ms, as one column or as a column of
beat times beside one of intervals), and the RR exports of Elite HRV and HRV4Training (one
interval in ms a line); any tool writing such columns.

Layout: blank lines and ``#`` comments (whole lines, or the rest of a line) are skipped. The
first remaining line may be a header of words (``RR``, ``RR-interval``, ``rr_ms``, ``IBI (s)``,
``time,rr``); every other line holds one number (the interval) or two (beat time, interval),
separated by whitespace, a comma, a semicolon or a tab. With semicolon or tab separators a
decimal comma is read as a point (``0,845``); with commas or spaces the comma separates columns.
Of two columns, the header's names say which is the interval (``rr``, ``ibi``, ``nn``, ``pp``,
``interval``) and which the time (``time``, ``t``, ``timestamp``, ``beat``); without names, the
first is the time.

Units. The interval unit comes from the ``unit`` option (``"ms"`` or ``"s"``; it overrides
everything and skips the plausibility check, e.g. for animal recordings), else from the header
(``ms``/``msec``/``milliseconds``, ``s``/``sec``/``seconds`` as a word of the interval column's
name: ``rr_ms``, ``IBI (s)``, ``RR [msec]``), else it is detected from the values: physiological
RR intervals last 0.2-3 s, so a median in 200-3000 is ms and one in 0.2-3 is s; any other median
(with the header's unit or none) is a :class:`~biofeed.record.importers.common.FormatError`
stating the median found and the ranges expected. The unit and where it came from are stated in
``meta["rr_unit_detected"]`` (``"s, from the values (median 0.84)"``). The time column is in s
or ms by its header word, else by its steps: their median is near the intervals' median in s
(s) or in ms (ms); ``meta["time_unit_detected"]`` says which.

Beat times (session s): the time column when given (the beat ending each interval; times must
increase), else the running sum of the intervals: the first beat at the first interval's end,
session time 0 its start. Intervals that are not positive or not numbers, a line of more than
two numbers or of another column count than the first, and a second header line are errors
naming the line. The stream is ``rr`` (kind ``"rr"``, ms, irregular, one sample a beat).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..reader import Recording
from .common import FormatError, import_meta, irregular_signal, require

__all__ = ["read_rr_text", "sniff"]

#: Physiological RR-interval medians per unit (0.2-3 s).
RANGES = {"ms": (200.0, 3000.0), "s": (0.2, 3.0)}
_MS_WORDS = {"ms", "msec", "msecs", "millisecond", "milliseconds"}
_S_WORDS = {"s", "sec", "secs", "second", "seconds"}
_INTERVAL_WORDS = {"rr", "ibi", "nn", "pp", "ppi", "interval", "intervals", "rri", "interbeat"}
_TIME_WORDS = {"time", "t", "timestamp", "beat", "onset", "times"}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SNIFF_LINES = 20


def _content(lines: list[str]) -> list[tuple[int, str]]:
    """``(line number, text)`` of the lines that are neither blank nor comments (``#`` ends a
    line)."""
    out = []
    for i, line in enumerate(lines):
        text = line.split("#", 1)[0].strip().lstrip("\ufeff").strip()
        if text:
            out.append((i + 1, text))
    return out


def _split(text: str, strong: bool) -> list[str]:
    """A line's fields: at ``;`` or tabs when ``strong`` (decimal commas become points), else at
    commas and whitespace; trailing empty fields dropped."""
    if strong:
        fields = [f.strip().replace(",", ".") for f in re.split(r"[;\t]", text)]
    else:
        fields = [f for f in re.split(r"\s*,\s*|\s+", text)]
    while fields and not fields[-1]:
        fields.pop()
    return fields


def _header(text: str, strong: bool, width: int) -> list[str]:
    """The column names of a header line: the whole line for one column; else split as the
    lines are (at ``;``/tabs, or commas), or at spaces keeping a unit in brackets with its name
    (``Time (s) RR (ms)``)."""
    if width == 1:
        return [text.strip().rstrip(";,\t ")]
    if strong:
        return _split(text, True)
    if "," in text:
        return [f.strip() for f in text.rstrip(", ").split(",")]
    return re.findall(r"[^\s(\[]+(?:\s*[(\[][^)\]]*[)\]])?", text)


def _is_number(text: str) -> bool:
    return bool(_NUMBER.fullmatch(text))


def _words(name: str) -> set[str]:
    return set(re.split(r"[^a-zµ]+", name.lower())) - {""}


def _header_unit(name: str) -> str | None:
    words = _words(name)
    if words & _MS_WORDS:
        return "ms"
    if words & _S_WORDS:
        return "s"
    return None


def sniff(lines: list[str]) -> bool:
    """Whether ``lines`` (a file's first lines) look like an RR-interval text file: the first
    up to 20 lines that are neither blank nor comments hold one or two numbers each, after an
    optional header line of words that names an interval (``RR``, ``IBI``, ``NN``, ``PP``,
    ``interval``); without a header the intervals' median must be a physiological RR in ms or s
    (200-3000 or 0.2-3), so that other two-column numeric tables are not taken for RR files."""
    content = _content(lines)[:_SNIFF_LINES]
    if not content:
        return False
    strong = any(";" in t or "\t" in t for _, t in content)
    rows = [_split(t, strong) for _, t in content]
    header = None
    if not all(_is_number(f) for f in rows[0]):
        header = rows.pop(0)
        if not (_words(" ".join(header)) & _INTERVAL_WORDS):
            return False
    if not rows or len({len(r) for r in rows}) != 1 or len(rows[0]) not in (1, 2):
        return False
    if not all(_is_number(f) for r in rows for f in r):
        return False
    if header is not None:
        return True
    median = float(np.median([float(r[-1]) for r in rows]))
    return any(lo <= median <= hi for lo, hi in RANGES.values())


def _columns(header: list[str] | None, width: int) -> tuple[int | None, int]:
    """Indices of the time column (None without) and of the interval column."""
    if width == 1:
        return None, 0
    if header is not None:
        interval = [i for i, h in enumerate(header) if _words(h) & _INTERVAL_WORDS]
        time = [i for i, h in enumerate(header) if _words(h) & _TIME_WORDS and i not in interval]
        if len(interval) == 1:
            return 1 - interval[0], interval[0]
        if len(time) == 1:
            return time[0], 1 - time[0]
    return 0, 1


def _unit(path: Path, values: np.ndarray, unit: str | None,
          stated: tuple[str, str] | None) -> tuple[str, str]:
    """The unit of the intervals ``values`` and how it was found (module notes)."""
    median = float(np.median(values))
    if unit is not None:
        require(unit in RANGES, path, f"unit={unit!r}, expected 'ms' or 's'")
        return unit, f"{unit}, stated by the caller (unit={unit!r})"
    ranges = "200-3000 (ms) or 0.2-3 (s)"
    if stated is not None:
        lo, hi = RANGES[stated[0]]
        require(lo <= median <= hi, path,
                f"the intervals have median {median:g} {stated[0]}, the header says {stated[1]!r}: "
                f"expected a physiological RR median of {lo:g}-{hi:g} {stated[0]} (pass unit= "
                "to override)")
        return stated[0], f"{stated[0]}, from the header ({stated[1]!r})"
    for name, (lo, hi) in RANGES.items():
        if lo <= median <= hi:
            return name, f"{name}, from the values (median {median:g})"
    raise FormatError(f"{path}: the intervals have median {median:g}, expected a physiological RR "
                      f"median of {ranges}; pass unit='ms' or unit='s' if the values are right")


def _time_unit(path: Path, times: np.ndarray, rr_s: np.ndarray,
               stated: tuple[str, str] | None) -> tuple[float, str]:
    """Factor of the time column to s and how it was found."""
    if stated is not None:
        return (1e-3 if stated[0] == "ms" else 1.0), f"{stated[0]}, from the header ({stated[1]!r})"
    if len(times) < 2:
        return 1.0, "s (a single beat: assumed)"
    step = float(np.median(np.diff(times)))
    typical = float(np.median(rr_s))
    for factor, name in ((1.0, "s"), (1e-3, "ms")):
        if 0.5 * typical <= step * factor <= 2 * typical:
            return factor, f"{name}, from the steps (median {step:g})"
    raise FormatError(f"{path}: the time column steps by {step:g} (median), the intervals by "
                      f"{typical:g} s: expected a time column in s or ms matching the intervals")


def read_rr_text(path: Path, unit: str | None = None) -> Recording:
    """Import an RR-interval text file (module notes); ``unit`` (``"ms"`` or ``"s"``) states the
    intervals' unit. The stream ``rr`` is in ms at the beat times in s."""
    path = Path(path)
    require(path.is_file(), path, "no such RR-interval text file")
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        raise FormatError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    content = _content(text.splitlines())
    require(bool(content), path, "no RR intervals (the file is empty or only comments)")
    strong = any(";" in t or "\t" in t for _, t in content)
    rows = [(n, _split(t, strong)) for n, t in content]
    header, header_line = None, None
    if not all(_is_number(f) for f in rows[0][1]):
        header_line, _ = rows.pop(0)
    require(bool(rows), path, f"only a header (line {header_line}), no RR intervals")
    width = len(rows[0][1])
    if header_line is not None:
        header = _header(content[0][1], strong, width)
    for n, fields in rows:
        require(bool(fields), path, f"line {n} holds no number, expected one RR interval or a beat "
                "time and an interval")
        bad = next((f for f in fields if not _is_number(f)), None)
        require(bad is None, path, f"line {n}: {bad!r} is not a number, expected one RR interval "
                "or a beat time and an interval a line" + ("" if header is None else
                                                          f" (the header is line {header_line})"))
        require(width <= 2, path, f"line {n} has {len(fields)} numbers, expected one (an RR "
                "interval) or two (a beat time and an interval)")
        require(len(fields) == width, path, f"line {n} has {len(fields)} number(s), expected "
                f"{width} as line {rows[0][0]}")
    if header is not None:
        require(len(header) == width, path, f"the header (line {header_line}) names "
                f"{len(header)} column(s), the lines hold {width}")
    numbers = np.array([n for n, _ in rows])
    data = np.array([[float(f) for f in fields] for _, fields in rows])
    bad = np.flatnonzero(~np.isfinite(data).all(axis=1))
    if len(bad):
        k = bad[0]
        big = next(f for f, v in zip(rows[k][1], data[k]) if not np.isfinite(v))
        raise FormatError(f"{path}: line {numbers[k]}: {big!r} is out of range, expected a finite "
                          "number")
    tcol, icol = _columns(header, width)
    rr = data[:, icol]
    bad = np.flatnonzero(rr <= 0)
    if len(bad):
        raise FormatError(f"{path}: line {numbers[bad[0]]}: interval {rr[bad[0]]:g} is not > 0, "
                          "expected an RR interval")
    stated = None
    if header is not None and (u := _header_unit(header[icol])):
        stated = (u, header[icol])
    rr_unit, how = _unit(path, rr, unit, stated)
    if unit is not None and stated is not None and stated[0] != unit:
        how += f"; the header says {stated[1]!r}"
    rr_ms = rr * (1.0 if rr_unit == "ms" else 1e3)
    meta_extra = {"rr_unit_detected": how}
    if tcol is None:
        times = np.cumsum(rr_ms) / 1000.0
    else:
        tstated = None
        if header is not None and (u := _header_unit(header[tcol])):
            tstated = (u, header[tcol])
        back = np.flatnonzero(np.diff(data[:, tcol]) <= 0)
        if len(back):
            k = back[0] + 1
            hint = ("; a decimal comma? write a point, or separate the columns with ';'"
                    if not strong and "," in content[0][1] else "")
            raise FormatError(f"{path}: line {numbers[k]}: beat time {data[k, tcol]:g} is not after "
                              f"line {numbers[k - 1]}'s {data[k - 1, tcol]:g}, expected increasing "
                              f"times{hint}")
        factor, thow = _time_unit(path, data[:, tcol], rr_ms / 1000.0, tstated)
        times = data[:, tcol] * factor
        meta_extra["time_unit_detected"] = thow
    signal = irregular_signal("rr", "rr", "ms", times, rr_ms, ("rr",), "rr-text")
    meta = import_meta(path, "rr-text", **meta_extra, skipped=[])
    return Recording.from_signals([signal], None, meta, path)
