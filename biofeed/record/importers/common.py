"""Pieces every importer shares: the error type, stream kinds from channel names, unit
normalisation to the units the signal core expects, and building signals and events."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ...stream import StreamInfo
from ..reader import Signal, SessionFileError, events_frame

#: Channel-name patterns (lower case) of each stream kind, tried in order.
_KIND_PATTERNS = (
    ("ecg", r"ecg|ekg|cardiac|mlii|^v\d?$|^i{1,3}$|^av[lrf]$|lead|^ml(i{1,3})?$|^mcl\d?$"
            r"|^v[xyz]$"),
    ("eda", r"eda|gsr|skin.?cond|^scr?$|electrodermal"),
    ("ppg", r"ppg|bvp|pleth|pulse"),
    ("resp", r"resp|rsp|breath|pzt"),
    ("rr", r"(^|[./_-])(rr|ibi)($|[./_-])|inter.?beat"),
    ("hr", r"^hr$|heart.?rate|^bpm$"),
    ("acc", r"^acc|accel"),
    ("temp", r"(^|[ ._-])temp($|[ ._\d-])|temperature|^skt$"),
)

#: Unit spellings -> (unit the signal core uses, factor to multiply by), per kind.
_UNITS = {
    "ecg": {"mv": ("mV", 1.0), "uv": ("mV", 1e-3), "µv": ("mV", 1e-3), "v": ("mV", 1e3)},
    "eda": {"us": ("uS", 1.0), "µs": ("uS", 1.0), "microsiemens": ("uS", 1.0),
            "ns": ("uS", 1e-3), "ms": ("uS", 1e3)},
    "rr": {"ms": ("ms", 1.0), "msec": ("ms", 1.0), "millisecond": ("ms", 1.0),
           "milliseconds": ("ms", 1.0), "s": ("ms", 1e3), "sec": ("ms", 1e3),
           "secs": ("ms", 1e3), "second": ("ms", 1e3), "seconds": ("ms", 1e3)},
    "hr": {"bpm": ("bpm", 1.0), "1/min": ("bpm", 1.0), "beats/min": ("bpm", 1.0),
           "/min": ("bpm", 1.0)},
    "temp": {"degc": ("degC", 1.0), "°c": ("degC", 1.0), "c": ("degC", 1.0),
             "celsius": ("degC", 1.0)},
}

#: The unit of each kind when a file states none.
DEFAULT_UNITS = {"ecg": "mV", "eda": "uS", "rr": "ms", "hr": "bpm", "ppg": "a.u.",
                 "resp": "a.u.", "acc": "g", "temp": "degC"}


class FormatError(SessionFileError):
    """A file is not a readable recording of the format it claims; the message names the file,
    the field and what was expected."""


def guess_kind(name: str) -> str | None:
    """The stream kind (:data:`biofeed.stream.KINDS`) a channel name suggests, or None."""
    low = name.strip().lower()
    for kind, pattern in _KIND_PATTERNS:
        if re.search(pattern, low):
            return kind
    return None


def to_core_unit(kind: str, unit: str, values: np.ndarray) -> tuple[str, np.ndarray]:
    """Values in the unit the signal core expects for ``kind`` (ECG mV, EDA uS, RR ms, HR bpm);
    other kinds and unknown units keep theirs (an empty unit becomes the kind's default)."""
    known = _UNITS.get(kind, {}).get(unit.strip().lower())
    if known is None:
        return unit.strip() or DEFAULT_UNITS.get(kind, "a.u."), values
    core, factor = known
    return core, values * factor if factor != 1.0 else values


def regular_signal(name: str, kind: str, unit: str, rate: float, values: np.ndarray, t0: float = 0.0,
                   channels: tuple[str, ...] | None = None, device: str = "import") -> Signal:
    """A regular stream sampled at ``rate`` Hz starting at ``t0`` s; values converted to the
    core unit of ``kind`` (:func:`to_core_unit`)."""
    values = np.asarray(values, dtype=np.float64)
    unit, values = to_core_unit(kind, unit, values)
    info = StreamInfo(name, kind, unit, float(rate), channels or (name,), device)
    return Signal(values, t0 + np.arange(values.shape[0]) / float(rate), float(rate), unit, info)


def irregular_signal(name: str, kind: str, unit: str, times: np.ndarray, values: np.ndarray,
                     channels: tuple[str, ...] | None = None, device: str = "import") -> Signal:
    """An irregular stream: one value per timestamp (session s)."""
    values = np.asarray(values, dtype=np.float64)
    unit, values = to_core_unit(kind, unit, values)
    info = StreamInfo(name, kind, unit, 0.0, channels or (name,), device)
    return Signal(values, np.asarray(times, dtype=np.float64), 0.0, unit, info)


def require(condition: bool, path: Path, message: str) -> None:
    """Raise :class:`FormatError` ``"<path>: <message>"`` unless ``condition``."""
    if not condition:
        raise FormatError(f"{path}: {message}")


def import_meta(path: Path, fmt: str, start_utc: str | None = None, start_local: str | None = None,
                **extra) -> dict:
    """Session metadata of an imported recording: where it came from and when it started:
    ``start_utc`` (ISO, an instant) when the format says the zone, else ``start_local`` (ISO
    local civil time, as EDF and WFDB headers hold it)."""
    meta = {"format": fmt, "imported_from": str(path), "participant": "", "completed": True}
    if start_utc:
        meta["start_utc"] = start_utc
    if start_local:
        meta["start_local"] = start_local
    return meta | extra


def unique_name(name: str, signals: list[Signal]) -> str:
    """``name``, or ``name.2``, ``name.3``, ... when one of ``signals`` has that name already."""
    taken = {s.info.name for s in signals}
    out, k = name, 1
    while out in taken:
        k += 1
        out = f"{name}.{k}"
    return out


def read_events_table(path: Path) -> pd.DataFrame:
    """Events from a table with columns ``onset`` and ``duration`` (s) and optional
    ``trial_type`` or ``label`` (the label; else ``value``) and ``kind`` (else ``"marker"``):
    a BIDS ``_events.tsv`` (specs.md section 5) or a CSV of the same columns. ``n/a`` is empty.

    Every other column is a payload field: a cell that reads as JSON gives that value (a
    number, ``true``, a list, an object, a quoted string), any other cell the text itself, and
    ``n/a`` no field (a null field is written so); a ``payload_`` prefix is removed. That reads back exactly what
    :mod:`biofeed.record.export` writes, and gives other tools' extra columns as numbers or text.
    """
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path}: not a readable events table ({exc})") from None
    missing = [c for c in ("onset", "duration") if c not in table.columns]
    require(not missing, path, f"events table lacks column(s) {missing} (has {list(table.columns)})")
    label_col = next((c for c in ("trial_type", "label", "value") if c in table.columns), None)
    fields = [c for c in table.columns if c not in ("onset", "duration", label_col, "kind")]
    rows = []
    for i, row in enumerate(table.to_dict("records")):
        onset = _seconds(path, i, "onset", row["onset"])
        require(onset is not None, path, f"row {i + 2}: onset is empty, expected seconds")
        duration = _seconds(path, i, "duration", row["duration"]) or 0.0
        label = row[label_col] if label_col and row[label_col] != "n/a" else ""
        kind = row["kind"] if row.get("kind") not in (None, "", "n/a") else "marker"
        payload = {c.removeprefix("payload_"): _cell_value(row[c])
                   for c in fields if row[c] not in ("", "n/a")}
        rows.append((onset, duration, label, kind, payload, i))
    return events_frame(rows)


def _seconds(path: Path, i: int, column: str, text: str) -> float | None:
    """A table cell in seconds (None when empty or ``n/a``); a clear error when not a number."""
    if text in ("", "n/a"):
        return None
    try:
        return float(text)
    except ValueError:
        raise FormatError(f"{path}: row {i + 2}: {column} is {text!r}, expected seconds") from None


def _cell_value(text: str):
    """A payload cell: its JSON value when it reads as JSON, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text
