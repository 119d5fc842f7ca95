"""Empatica E4 exports: a folder, or the ``.zip`` the E4 connect portal gives.

``EDA.csv`` (uS, 4 Hz), ``BVP.csv`` (PPG, 64 Hz), ``HR.csv`` (bpm, 1 Hz), ``ACC.csv`` (x, y, z in
1/64 g, 32 Hz) and ``TEMP.csv`` (skin temperature, degrees Celsius, 4 Hz): first line the start as a UNIX time (s, UTC), one per column;
second line the rate (Hz); then one sample a line. ``IBI.csv``: first line the start time and
``IBI``, then ``seconds since start, interbeat interval in s``. ``tags.csv``: one UNIX time a
line (the button presses), which become events of kind ``"marker"``. Session time 0 is the
earliest start.
"""
from __future__ import annotations

import io
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..reader import Recording, events_frame
from .common import FormatError, import_meta, irregular_signal, regular_signal, require

#: File -> (stream name, kind, unit, channels, factor to the unit).
_REGULAR = {"EDA.csv": ("eda", "eda", "uS", ("EDA",), 1.0),
            "BVP.csv": ("bvp", "ppg", "a.u.", ("BVP",), 1.0),
            "HR.csv": ("hr", "hr", "bpm", ("HR",), 1.0),
            "ACC.csv": ("acc", "acc", "g", ("x", "y", "z"), 1 / 64),
            "TEMP.csv": ("temp", "temp", "degC", ("TEMP",), 1.0)}


def _files(path: Path) -> dict[str, bytes]:
    """File name -> content of every E4 file in the folder or zip (subfolders of a zip too)."""
    wanted = set(_REGULAR) | {"IBI.csv", "tags.csv"}
    if path.is_dir():
        return {p.name: p.read_bytes() for p in path.iterdir() if p.name in wanted}
    require(path.is_file(), path, "no such Empatica E4 folder or zip")
    try:
        with zipfile.ZipFile(path) as z:
            return {Path(n).name: z.read(n) for n in z.namelist() if Path(n).name in wanted}
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        # a damaged member fails only when read (CRC, deflate data, a compression not supported)
        raise FormatError(f"{path}: not a readable zip file ({type(exc).__name__}: {exc})") from None


def _lines(path: Path, name: str, content: bytes, header: int) -> tuple[list[list[str]], np.ndarray]:
    """The first ``header`` lines split at commas, and the rest as a float array."""
    lines = content.decode("utf-8", "replace").splitlines()
    require(len(lines) >= header, path, f"{name} has {len(lines)} line(s), expected at least {header}")
    head = [line.split(",") for line in lines[:header]]
    try:
        body = np.loadtxt(io.StringIO("\n".join(lines[header:])), delimiter=",", ndmin=2)
    except ValueError as exc:
        raise FormatError(f"{path}: {name}: non-numeric sample line ({exc})") from None
    return head, body


def _number(path: Path, name: str, text: str, field: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise FormatError(f"{path}: {name}: {field} is {text!r}, expected a number") from None


def read_empatica(path: Path) -> Recording:
    """Import an E4 export; times in s from the earliest start."""
    files = _files(path)
    present = [n for n in _REGULAR if n in files]
    require(bool(present), path, f"no E4 signal file (expected {', '.join(_REGULAR)})")
    parsed = {}
    for name in present:
        (start, rate), body = _lines(path, name, files[name], 2)
        channels = _REGULAR[name][3]
        require(body.size == 0 or body.shape[1] == len(channels), path,
                f"{name} has {body.shape[1]} columns, expected {len(channels)}")
        parsed[name] = (_number(path, name, start[0], "the start time (line 1)"),
                        _number(path, name, rate[0], "the sample rate (line 2)"), body)
    origin = min(start for start, _, _ in parsed.values())
    signals = []
    for name, (start, rate, body) in parsed.items():
        stream, kind, unit, channels, factor = _REGULAR[name]
        require(rate > 0, path, f"{name}: sample rate {rate} is not > 0 Hz")
        values = body * factor
        signals.append(regular_signal(stream, kind, unit, rate, values[:, 0] if len(channels) == 1 else values,
                                      start - origin, channels, "empatica-e4"))
    if "IBI.csv" in files:
        (first_line,), body = _lines(path, "IBI.csv", files["IBI.csv"], 1)
        t0 = _number(path, "IBI.csv", first_line[0], "the start time (line 1)") - origin
        if body.size:
            require(body.shape[1] == 2, path, f"IBI.csv has {body.shape[1]} columns, expected 2")
            signals.append(irregular_signal("ibi", "rr", "s", t0 + body[:, 0], body[:, 1], ("rr_ms",),
                                            "empatica-e4"))
    rows = []
    if "tags.csv" in files and files["tags.csv"].strip():
        _, tags = _lines(path, "tags.csv", files["tags.csv"], 0)
        rows = [(float(t) - origin, 0.0, "tag", "marker", {}, i) for i, t in enumerate(tags[:, 0])]
    start_utc = datetime.fromtimestamp(origin, timezone.utc).isoformat()
    return Recording.from_signals(signals, events_frame(rows),
                                  import_meta(path, "empatica-e4", start_utc), path)
