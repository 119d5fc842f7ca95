"""Polar Sensor Logger exports: a Polar H10 / Verity Sense / OH1 session, one text file a stream.

Source of the format: the files the Android app *Polar Sensor Logger* (Jukka Happonen, Google
Play ``com.j_ware.polarsensorlogger``) writes; it records through Polar's BLE SDK
(https://github.com/polarofficial/polar-ble-sdk), whose data classes define the fields: sensor
timestamps in ns since 2000-01-01 on the sensor's clock, ECG in uV, accelerometer in mG,
gyroscope in deg/s, magnetometer in gauss, PPI with error estimate, blocker bit and skin
contact status / supported bits.

Files are named ``<prefix>_<YYYYMMDD>_<HHMMSS>_<STREAM>.txt``, the prefix naming the device
(``Polar_H10_A1B2C3D4``), e.g. ``Polar_H10_A1B2C3D4_20260424_141016_ECG.txt``; reading one
file of a session reads every sibling in the same folder with the same
``<prefix>_<date>_<time>`` stem (``session=False``: only that file). Each file is
``;``-separated text: a header line, then one line a sample (a trailing ``;`` and trailing
spaces, as some app versions write, are accepted; a decimal comma is read as a point). The
first column is the *phone timestamp*: the phone's local civil time (ISO 8601, ``T`` or a space,
ms, no zone) at which the data arrived. Headers (case, spacing and ``uV``/``µV`` spellings are
not significant; the first column may also read ``Phone Data RX timestamp``):

======  ===========================================================================================
ECG     ``Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]`` (``timestamp [ms]`` may be
        absent) -> ``polar.ecg``, kind ``ecg``, mV (uV / 1000), ~130 Hz
ACC     ``Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]`` -> ``polar.acc``, kind ``acc``,
        channels ``x, y, z`` in g (mg / 1000)
PPG     ``Phone timestamp;sensor timestamp [ns];channel 0;channel 1;channel 2;ambient`` ->
        ``polar.ppg``, kind ``ppg``, four channels in a.u. (the processors read ``channel 0``)
GYRO    ``...;X [dps];Y [dps];Z [dps]`` -> ``polar.gyro``, kind ``generic``, deg/s
MAGN    ``...;X [G];Y [G];Z [G]`` (or ``[uT]``) -> ``polar.mag``, kind ``generic``, G (or uT)
HR      ``Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];`` (older: ``Phone
        timestamp;HR [bpm]``) -> ``polar.hr``, kind ``hr``, irregular at the phone timestamps;
        channels ``hr`` (bpm) and, when the file holds any value of them, ``hrv`` (ms) and
        ``breathing`` (breaths/min), NaN where a row leaves them empty
RR      ``Phone timestamp;RR-interval [ms]`` -> ``polar.rr``, kind ``rr``, ms, one sample a beat
PPI     ``Phone timestamp;sensor timestamp [ns];HR [bpm];PP-interval [ms];error estimate [ms];
        blocker;skin contact;skin contact supported`` or the older ``Phone timestamp;PP-interval
        [ms];error estimate [ms];blocker;contact;contact;hr [bpm]`` -> ``polar.ppi``, kind ``rr``
        (pulse-to-pulse intervals), ms, one sample a beat
======  ===========================================================================================

Clocks. Session time 0 is the earliest instant of the session on the phone clock: the earliest
phone timestamp of all the files, or the earliest sample or beat when its reconstructed time lies
before that (the first samples of a frame, the first beats of a batch, happened before the data
arrived); ``meta["start_local"]`` is that instant as phone local time (no zone is known).

* Sampled streams (ECG, ACC, PPG, GYRO, MAGN) take their sample times from the sensor
  timestamps, mapped to the phone clock as the live H10 path does
  (:class:`~biofeed.devices.ble_hr.ClockMap`), over the whole file at once: a phone timestamp is
  an arrival time, late by a delay that is never negative, so the offset is the lower envelope
  ``min(phone - rate * sensor)`` over the file, and ``rate`` (the clock drift) is the slope through
  the least-delayed sample of each quarter of the file, clipped to 1 +- 500 ppm (1 for files
  shorter than 30 s). Mapped times are therefore never later than the phone timestamps and late
  by the smallest delay seen (a regular stream's times, on the fitted line below, within half a
  sample period of them). The stream is regular when the least-squares line through the
  mapped times puts every sample within half a sample period of it (the rate is the inverse of
  the line's slope, in Hz on the phone clock); otherwise (lost frames, a restart) it is
  irregular (rate 0) at the mapped times, and ``meta["notes"]`` says so. Sensor timestamps must
  not go back.
* RR and PPI beat times: the phone timestamp is the arrival of the notification that carried a
  batch of intervals, not a beat time. Consecutive rows with one phone timestamp are one
  notification, and the beat times come from :class:`~biofeed.devices.ble_hr.RRBeatTimes`
  exactly as for a live strap: the running sum of the intervals anchored by the lower envelope
  of arrival times (so consecutive beats lie one interval apart). Offline, two things are added,
  each said in ``meta["notes"]`` when it happened: a notification arriving more than 2 s later
  than its intervals account for (beats were lost), or before the previous notification (the
  phone clock went back), restarts the sequence, like a reconnection does live; and where
  RRBeatTimes placed a batch's last beat after the batch's arrival (it lowers its offset by at
  most half an interval per notification, so for a few notifications after a faster arrival it
  lags), the batch is moved back to end at the arrival, earlier batches of the sequence as far as
  needed to keep at least half an interval between beats (the spacing RRBeatTimes itself
  guarantees; the interval values are untouched). Beat times are thus never after the arrival
  of the notification that carried them, and never go back (after the phone clock went back, a
  batch stays half an interval after the previous beat).
* HR samples lie at their phone timestamps, with the values as written (a 0 bpm, the sensor's
  "no valid measurement", stays 0).

PPI flags. Every interval is kept, flagged ones too (researchers decide what to exclude, and
dropping beats would break the interval sequence): ``polar.ppi`` has channels ``pp`` (the
interval, ms; channel 0, what HRV reads), ``error_estimate`` (ms), ``blocker`` (1 = the sensor
flags the interval as unreliable, e.g. movement), ``skin_contact`` (1 = contact),
``skin_contact_supported`` (1 = ``skin_contact`` is meaningful) and ``hr`` (bpm), so an analysis
can drop or correct flagged beats; ``meta["ppi_flags"]`` counts the intervals (``intervals``),
those with ``blocker`` set (``blocker``) and those without skin contact where the sensor can
tell (``no_skin_contact``).

What is not imported is listed in ``meta["skipped"]``: ECG's ``timestamp [ms]`` column (the
sensor time since the first sample, redundant with the sensor timestamps), the PPI ``sensor
timestamp [ns]`` column (beat times come from the intervals), HR columns empty on every row,
intervals that are not positive or exceed 65535 ms (more than a notification can carry; with
their line numbers), files holding only a header or nothing, and sibling files whose header is
no layout above. A line that does not parse raises
:class:`~biofeed.record.importers.common.FormatError` naming the file, line, field and what
was expected; so does the read file's own header when it is none of the above, and a session
with nothing to import.
"""
from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ...devices.ble_hr import RRBeatTimes
from ..reader import Recording, Signal
from .common import FormatError, import_meta, irregular_signal, regular_signal, require

__all__ = ["read_polar", "sniff"]

_PHONE = "phone timestamp"
_SENSOR = "sensor timestamp [ns]"
_PPI_NEW = (_SENSOR, "hr [bpm]", "pp-interval [ms]", "error estimate [ms]", "blocker",
            "skin contact", "skin contact supported")
_PPI_OLD = ("pp-interval [ms]", "error estimate [ms]", "blocker", "contact", "contact",
            "hr [bpm]")
#: PPI channels, and for each layout the header column of each channel.
_PPI_CHANNELS = ("pp", "error_estimate", "blocker", "skin_contact", "skin_contact_supported", "hr")
_PPI_ORDER = {_PPI_NEW: (3, 4, 5, 6, 7, 2), _PPI_OLD: (1, 2, 3, 4, 5, 6)}
#: Sampled layouts: value columns (after the two timestamps) -> (stream, kind, unit, channels,
#: factor to the unit).
_XYZ = ("x", "y", "z")
_SAMPLED = {
    ("timestamp [ms]", "ecg [uv]"): ("ecg", "ecg", "uV", ("ecg",), 1.0),
    ("ecg [uv]",): ("ecg", "ecg", "uV", ("ecg",), 1.0),
    ("x [mg]", "y [mg]", "z [mg]"): ("acc", "acc", "g", _XYZ, 1e-3),
    ("channel 0", "channel 1", "channel 2", "ambient"):
        ("ppg", "ppg", "a.u.", ("channel 0", "channel 1", "channel 2", "ambient"), 1.0),
    ("x [dps]", "y [dps]", "z [dps]"): ("gyro", "generic", "deg/s", _XYZ, 1.0),
    ("x [g]", "y [g]", "z [g]"): ("mag", "generic", "G", _XYZ, 1.0),
    ("x [ut]", "y [ut]", "z [ut]"): ("mag", "generic", "uT", _XYZ, 1.0),
}
_HR_LAYOUTS = (("hr [bpm]",), ("hr [bpm]", "hrv [ms]"),
               ("hr [bpm]", "hrv [ms]", "breathing interval [rpm]"))
#: Stream order in a recording.
_ORDER = ("ecg", "acc", "ppg", "gyro", "mag", "hr", "rr", "ppi")

_NAME = re.compile(r"(?P<stem>(?P<prefix>.+)_(?P<date>\d{8})_(?P<time>\d{6}))_(?P<stream>[A-Za-z0-9]+)"
                   r"\.txt", re.IGNORECASE)
_STAMP = re.compile(r"\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?\s*")
#: A notification later than its intervals account for by more than this (s) lost beats.
GAP_S = 2.0
#: Largest clock drift fitted (as ClockMap: crystals are off by tens of ppm).
MAX_DRIFT = 500e-6
#: Files shorter than this (s of sensor time) are mapped with no drift.
DRIFT_SPAN_S = 30.0
#: Longest interval a notification can carry (uint16: RR in 1/1024 s, PPI in ms), ms.
MAX_INTERVAL_MS = 65535
_LISTED = 10   # line numbers listed per kind of skipped value


def _fields(line: str) -> tuple[str, ...]:
    """A header line as normalised fields: lower case, single spaces, ``µ`` as ``u``, no
    trailing ``;``; the phone timestamp column as ``phone timestamp``."""
    text = line.lstrip("\ufeff").strip().rstrip("; \t")
    fields = [re.sub(r"\s+", " ", f.strip().lower()).replace("µ", "u") for f in text.split(";")]
    if fields and fields[0] in (_PHONE, "phone data rx timestamp"):
        fields[0] = _PHONE
    return tuple(fields)


def _layout(fields: tuple[str, ...]) -> str | None:
    """The stream a normalised header describes (``ecg``, ``acc``, ..., ``ppi``), or None."""
    if len(fields) < 2 or fields[0] != _PHONE:
        return None
    rest = fields[1:]
    if rest == ("rr-interval [ms]",):
        return "rr"
    if rest in _HR_LAYOUTS:
        return "hr"
    if rest in _PPI_ORDER:
        return "ppi"
    if rest[0] == _SENSOR and rest[1:] in _SAMPLED:
        return _SAMPLED[rest[1:]][0]
    return None


def sniff(first_line: str) -> bool:
    """Whether ``first_line`` (a file's first line) is a Polar Sensor Logger header."""
    return _layout(_fields(first_line)) is not None


@dataclass
class _Part:
    """One parsed file: phone timestamps (us, local civil time), sensor timestamps (ns) of
    sampled streams, values (n x channels) and what was left out."""

    file: str
    stream: str
    kind: str
    unit: str
    channels: tuple[str, ...]
    phone: np.ndarray
    sensor: np.ndarray | None
    values: np.ndarray
    skipped: list[str] = field(default_factory=list)


def _rows(path: Path, lines: list[str], header: str, width: int, required: int
          ) -> tuple[list[list[str]], np.ndarray]:
    """The sample lines as fields (padded with "" to ``width``) and their line numbers; a line
    with fewer than ``required`` or more than ``width`` fields raises."""
    rows, numbers = [], []
    for i in range(1, len(lines)):
        text = lines[i].strip().rstrip("; \t")
        if not text:
            continue
        fields = text.split(";")
        if len(fields) != width:
            want = f"{width}" if required == width else f"{required} to {width}"
            require(required <= len(fields) <= width, path,
                    f"line {i + 1} has {len(fields)} field(s), expected {want} ({header!r})")
            fields += [""] * (width - len(fields))
        rows.append(fields)
        numbers.append(i + 1)
    return rows, np.array(numbers, dtype=np.int64)


def _bad(path: Path, numbers: np.ndarray, k: int, name: str, text: str, expected: str):
    raise FormatError(f"{path}: line {numbers[k]}: {name} is {text.strip()[:40]!r}, expected {expected}")


def _stamp_ok(text: str) -> bool:
    if not _STAMP.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.strip())
        return True
    except ValueError:
        return False


def _float_ok(text: str, optional: bool) -> bool:
    if optional and not text.strip():
        return True
    try:
        return bool(np.isfinite(float(text.replace(",", "."))))
    except ValueError:
        return False


def _int_ok(text: str) -> bool:
    try:
        np.array([text]).astype(np.int64)
        return True
    except (ValueError, OverflowError):
        return False


def _column(path: Path, col: list[str], numbers: np.ndarray, name: str, what: str) -> np.ndarray:
    """A column's cells converted: ``what`` is ``"time"`` (phone timestamp -> int64 us),
    ``"int"`` (int64), ``"number"`` (finite float) or ``"optional"`` (float, empty -> NaN)."""
    if what == "time":
        # the rows of one notification share a stamp: check and convert each stamp once
        unique = list(dict.fromkeys(col))
        bad = next((s for s in unique if not _stamp_ok(s)), None)
        if bad is None:
            us = dict(zip(unique, np.array(unique, dtype="datetime64[us]").astype(np.int64).tolist()))
            return np.array([us[s] for s in col], dtype=np.int64)
        k = col.index(bad)
        _bad(path, numbers, k, name, col[k], "a local date and time like 2026-04-24T14:10:16.752")
    if what == "int":
        try:
            return np.array(col).astype(np.int64)
        except (ValueError, OverflowError):
            k = next((k for k, s in enumerate(col) if not _int_ok(s)), 0)
            _bad(path, numbers, k, name, col[k], "an integer (ns)")
    optional = what == "optional"
    texts = [s.replace(",", ".") for s in col] if any("," in s for s in col) else col
    empty = np.array([not s.strip() for s in texts]) if optional else np.zeros(len(col), bool)
    if optional:
        texts = ["nan" if e else s for s, e in zip(texts, empty)]
    try:
        out = np.array(texts).astype(np.float64)
        ok = np.isfinite(out) | empty
    except ValueError:
        out, ok = None, np.array([_float_ok(s, optional) for s in col])
    if not ok.all():
        k = int(np.flatnonzero(~ok)[0])
        _bad(path, numbers, k, name, col[k], "a number" + (" or nothing" if optional else ""))
    return out


def _fast_columns(lines: list[str], width: int) -> list[list[str]] | None:
    """The sample lines' columns by pandas' C parser when every line has ``width`` fields (and
    at most a trailing ``;``), else None (also for no line)."""
    text = "\n".join(lines[1:])
    if not text.strip():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(io.StringIO(text), sep=";", header=None, names=list(range(width + 1)),
                                dtype=str, na_filter=False, index_col=False, skip_blank_lines=True,
                                quoting=csv.QUOTE_NONE, engine="c")
        except (ValueError, pd.errors.ParserError, pd.errors.ParserWarning):
            return None
    if len(frame) == 0 or frame[width].str.strip().astype(bool).any():
        return None
    return [frame[j].tolist() for j in range(width)]


def _parse(path: Path, stream: str, fields: tuple[str, ...], header: str,
           lines: list[str]) -> _Part | None:
    """One file of a known layout; None when it holds no sample."""
    width = len(fields)
    if fields[1] == _SENSOR and stream != "ppi":
        # sampled streams are long: the C parser first; on any error the line-by-line reading
        # below names the line
        columns = _fast_columns(lines, width)
        if columns is not None:
            try:
                return _build(path, stream, fields, header, columns, np.arange(len(columns[0])) + 2)
            except FormatError:
                pass
    rows, numbers = _rows(path, lines, header, width, 2 if stream == "hr" else width)
    if not rows:
        return None
    return _build(path, stream, fields, header, [list(c) for c in zip(*rows)], numbers)


def _build(path: Path, stream: str, fields: tuple[str, ...], header: str, columns: list[list[str]],
           numbers: np.ndarray) -> _Part:
    """The part of one file from its columns of cells and their line numbers."""
    rest = fields[1:]
    name = path.name
    phone = _column(path, columns[0], numbers, "Phone timestamp", "time")
    if stream == "rr":
        rr = _column(path, columns[1], numbers, "RR-interval [ms]", "number")
        return _intervals(name, "rr", phone, rr[:, None], ("rr",), numbers, "RR-interval")
    if stream == "ppi":
        order = _PPI_ORDER[rest]
        header_names = header.strip().rstrip("; \t").split(";")
        values = np.column_stack([
            _column(path, columns[j], numbers, header_names[j].strip(), "number") for j in order])
        part = _intervals(name, "ppi", phone, values, _PPI_CHANNELS, numbers, "PP-interval")
        if rest == _PPI_NEW:
            part.skipped.insert(0, f"{name}: column 'sensor timestamp [ns]' (beat times come "
                                   "from the intervals and their arrival)")
        return part
    if stream == "hr":
        names = ("HR [bpm]", "HRV [ms]", "Breathing interval [rpm]")
        cols, channels, skipped = [_column(path, columns[1], numbers, names[0], "number")], ["hr"], []
        for j in range(2, len(fields)):
            col = _column(path, columns[j], numbers, names[j - 1], "optional")
            if np.isnan(col).all():
                skipped.append(f"{name}: column {names[j - 1]!r} is empty on every row")
            else:
                cols.append(col)
                channels.append(("hrv", "breathing")[j - 2])
        return _Part(name, "hr", "hr", "bpm", tuple(channels), phone, None, np.column_stack(cols),
                     skipped)
    sensor = _column(path, columns[1], numbers, "sensor timestamp [ns]", "int")
    back = np.flatnonzero(np.diff(sensor) < 0)
    if len(back):
        k = int(back[0]) + 1
        raise FormatError(f"{path}: line {numbers[k]}: sensor timestamp [ns] {sensor[k]} is earlier "
                          f"than line {numbers[k - 1]}'s {sensor[k - 1]}, expected times that never "
                          "go back")
    stream_, kind, unit, channels, factor = _SAMPLED[rest[1:]]
    first = 3 if rest[1] == "timestamp [ms]" else 2
    header_names = header.strip().rstrip("; \t").split(";")
    values = np.column_stack([_column(path, columns[j], numbers, header_names[j].strip(), "number")
                              for j in range(first, len(fields))]) * factor
    skipped = [f"{name}: column 'timestamp [ms]' (the sensor time since the first sample, "
               "redundant with 'sensor timestamp [ns]')"] if first == 3 else []
    return _Part(name, stream_, kind, unit, channels, phone, sensor, values, skipped)


def _intervals(name: str, stream: str, phone: np.ndarray, values: np.ndarray,
               channels: tuple[str, ...], numbers: np.ndarray, what: str) -> _Part:
    """An RR or PPI part: intervals (column 0, ms) out of 0 < x <= 65535 ms are left out and
    listed."""
    bad = (values[:, 0] <= 0) | (values[:, 0] > MAX_INTERVAL_MS)
    skipped = []
    if bad.any():
        lines = numbers[bad]
        listed = ", ".join(str(n) for n in lines[:_LISTED]) + (" ..." if len(lines) > _LISTED else "")
        skipped.append(f"{name}: {len(lines)} {what} value(s) not in 0 < x <= {MAX_INTERVAL_MS} ms, "
                       f"not an interval (line(s) {listed})")
    keep = ~bad
    return _Part(name, stream, "rr", "ms", channels, phone[keep], None, values[keep], skipped)


def _read_part(path: Path) -> tuple[_Part | None, str | None, str]:
    """Parse one file: (part, None, "") or (None, reason it holds nothing, "") or (None, None,
    its first line) when its header is no known layout."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        raise FormatError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip().lstrip("\ufeff")), None)
    if first is None:
        return None, "empty file", ""
    lines = lines[first:]
    fields = _fields(lines[0])
    stream = _layout(fields)
    if stream is None:
        return None, None, lines[0]
    part = _parse(path, stream, fields, lines[0].lstrip("\ufeff"), lines)
    return part, None if part else "header only, no samples", ""


def _session(path: Path) -> tuple[list[Path], str]:
    """The files of ``path``'s session (it first) and the device prefix ("" when the name is
    not ``<prefix>_<date>_<time>_<STREAM>.txt``)."""
    m = _NAME.fullmatch(path.name)
    if m is None:
        return [path], ""
    siblings = sorted(p for p in path.parent.iterdir() if p != path and p.is_file()
                      and (s := _NAME.fullmatch(p.name)) and s["stem"] == m["stem"])
    return [path, *siblings], m["prefix"]


def _clock_map(phone: np.ndarray, sensor: np.ndarray) -> tuple[np.ndarray, float]:
    """Session-clock times (phone s) of sensor times (s): lower envelope offset and clipped
    drift (module notes); also the drift in ppm."""
    span = sensor[-1] - sensor[0]
    rate = 1.0
    if span >= DRIFT_SPAN_S:
        quarter = np.minimum((4 * (sensor - sensor[0]) / span).astype(int), 3)
        delay = phone - sensor
        low = [i[np.argmin(delay[i])] for i in (np.flatnonzero(quarter == q) for q in range(4)) if len(i)]
        if len(low) >= 2:
            slope = np.polyfit(sensor[low] - sensor[0], phone[low], 1)[0]
            rate = float(np.clip(slope, 1 - MAX_DRIFT, 1 + MAX_DRIFT))
    offset = float(np.min(phone - rate * sensor))
    return offset + rate * sensor, (rate - 1) * 1e6


def _regular(times: np.ndarray) -> tuple[float, float] | None:
    """``(t0, rate)`` of the least-squares line through ``times`` when every sample lies within
    half a period of it, else None."""
    n = len(times)
    if n < 3:
        return None
    i = np.arange(n, dtype=np.float64)
    slope, t0 = np.polyfit(i, times - times[0], 1)
    if not slope > 0 or np.max(np.abs(times - times[0] - (t0 + slope * i))) > 0.5 * slope:
        return None
    return float(times[0] + t0), float(1.0 / slope)


def _beat_times(arrival: np.ndarray, rr_ms: np.ndarray) -> tuple[np.ndarray, int, int, int]:
    """Beat times (s) of intervals ``rr_ms`` (ms) that arrived at ``arrival`` (s), rows of one
    arrival being one notification (module notes); also the counts of restarts, of batches
    moved back to their arrival and of batches kept after the previous beat."""
    n = len(rr_ms)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(arrival) != 0) + 1))
    ends = np.append(starts[1:], n)
    beats = RRBeatTimes()
    times = np.empty(n)
    segment = np.zeros(len(starts), dtype=np.int64)
    restarts = 0
    for k, (a, b) in enumerate(zip(starts, ends)):
        rr = rr_ms[a:b]
        step = arrival[a] - arrival[starts[k - 1]] if k else 0.0
        if step > rr.sum() / 1000 + GAP_S or step < 0:
            beats.restart()
            restarts += 1
        segment[k] = restarts
        times[a:b] = beats.update(rr, float(arrival[a]))
    moved = 0
    cap_next = np.inf
    for k in range(len(starts) - 1, -1, -1):
        a, b = starts[k], ends[k]
        if k + 1 < len(starts) and segment[k + 1] == segment[k]:
            cap = min(arrival[a], cap_next)
        else:
            cap = arrival[a]
        excess = times[b - 1] - cap
        if excess > 0:
            times[a:b] -= excess
            moved += 1
        cap_next = times[a] - rr_ms[a] / 2000
    kept = 0
    for k in range(1, len(starts)):
        a, b = starts[k], ends[k]
        short = times[a - 1] + rr_ms[a] / 2000 - times[a]
        if short > 0:
            times[a:b] += short
            kept += 1
    return times, restarts, moved, kept


def read_polar(path: Path, session: bool = True) -> Recording:
    """Import a Polar Sensor Logger export (module notes): the file ``path`` and, with
    ``session`` (default), every file of its session; times in s on the phone clock from the
    session's earliest instant; ECG in mV, ACC in g, RR and PPI intervals in ms, HR in bpm."""
    path = Path(path)
    require(path.is_file(), path, "no such Polar Sensor Logger file")
    files, prefix = _session(path)
    if not session:
        files = [path]
    parts, skipped = [], []
    for p in files:
        part, empty, first_line = _read_part(p)
        if part is None and empty is None:
            require(p != path, path, f"line 1 is {first_line.strip()[:80]!r}, expected a Polar "
                    "Sensor Logger header such as 'Phone timestamp;sensor timestamp [ns];"
                    "timestamp [ms];ecg [uV]' or 'Phone timestamp;RR-interval [ms]'")
            skipped.append(f"{p.name}: not a Polar Sensor Logger stream (line 1 is "
                           f"{first_line.strip()[:60]!r})")
        elif part is None:
            skipped.append(f"{p.name}: {empty}")
        elif not len(part.phone):
            skipped.extend(part.skipped + [f"{p.name}: no interval left to import"])
        else:
            parts.append(part)
    require(bool(parts), path, "no Polar Sensor Logger samples in the session's file(s) "
            f"({'; '.join(skipped)})")
    return _assemble(path, parts, skipped, prefix)


def _assemble(path: Path, parts: list[_Part], skipped: list[str], prefix: str) -> Recording:
    """Put the parsed files on one session clock (module notes) and build the recording."""
    ref = min(int(p.phone.min()) for p in parts)      # us, phone local time
    notes, timing, flags, names, placed = [], {}, {}, [], []
    for p in sorted(parts, key=lambda p: _ORDER.index(p.stream)):
        name, k = f"polar.{p.stream}", 1
        while name in names:
            k += 1
            name = f"polar.{p.stream}.{k}"
        names.append(name)
        skipped.extend(p.skipped)
        phone = (p.phone - ref) / 1e6
        fit = None
        if p.sensor is not None:
            times, drift = _clock_map(phone, (p.sensor - p.sensor[0]) / 1e9)
            timing[name] = {"file": p.file, "drift_ppm": round(drift, 3),
                            "offset": "lower envelope of phone - sensor time"}
            fit = _regular(times)
            if fit is None:
                timing[name]["rate_hz"] = 0.0
                if len(times) > 1:
                    step = np.diff(times)
                    worst = int(np.argmax(np.abs(step - np.median(step))))
                    notes.append(f"{name}: samples not evenly spaced (a step of {step[worst]:.4g} s "
                                 f"after {times[worst] - times[0]:.3f} s of the file, median "
                                 f"{np.median(step):.4g} s): an irregular stream at the mapped "
                                 "sensor times")
            else:
                timing[name]["rate_hz"] = round(fit[1], 6)
                times = fit[0] + np.arange(len(times)) / fit[1]
        elif p.stream in ("rr", "ppi"):
            times, restarts, moved, kept = _beat_times(phone, p.values[:, 0])
            timing[name] = {"file": p.file, "method": "RRBeatTimes (running interval sum anchored "
                            "by the lower envelope of arrival times)", "restarts": restarts,
                            "batches_moved_to_arrival": moved}
            if restarts:
                notes.append(f"{name}: {restarts} notification(s) arrived more than {GAP_S:g} s "
                             "later than their intervals account for (beats lost) or before the "
                             "previous one (the phone clock went back): the beat sequence "
                             "restarted there")
            if moved:
                notes.append(f"{name}: {moved} batch(es) moved back to end at their arrival "
                             "(RRBeatTimes had placed their last beat after it)")
            if kept:
                notes.append(f"{name}: {kept} batch(es) arrived before the previous beat (the "
                             "phone clock went back?): kept half an interval after it")
        else:
            times = phone
        if p.stream == "ppi":
            v = p.values
            flags = {"intervals": int(len(v)), "blocker": int(np.sum(v[:, 2] != 0)),
                     "no_skin_contact": int(np.sum((v[:, 4] != 0) & (v[:, 3] == 0)))}
        placed.append((p, name, phone, times, fit))
    origin = min(min(float(phone.min()), float(times.min())) for _, _, phone, times, _ in placed)
    signals: list[Signal] = []
    device = prefix or "polar-sensor-logger"
    for p, name, _, times, fit in placed:
        values = p.values[:, 0] if len(p.channels) == 1 else p.values
        if fit is not None:
            signals.append(regular_signal(name, p.kind, p.unit, fit[1], values, fit[0] - origin,
                                          p.channels, device))
        else:
            signals.append(irregular_signal(name, p.kind, p.unit, times - origin, values, p.channels,
                                            device))
    start = np.datetime64(ref, "us") + np.timedelta64(int(round(origin * 1e6)), "us")
    extra = {"skipped": skipped, "time_mapping": timing}
    if notes:
        extra["notes"] = notes
    if flags:
        extra["ppi_flags"] = flags
    meta = import_meta(path, "polar-sensor-logger", start_local=str(start),
                       files=[p.file for p in parts], device=prefix, **extra)
    return Recording.from_signals(signals, None, meta, path)
