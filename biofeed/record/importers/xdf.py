"""XDF files (Lab Streaming Layer recordings; specs.md section 7), read with pyxdf.

Numeric streams become streams (regular at their nominal rate, irregular when it is 0) whose
kind is the LSL stream ``type`` or, failing that, guessed from the name (``"generic"`` when
neither says: an EEG stream, a stream of type EEG holding ECG and GSR); string streams and
numeric streams of LSL type ``Markers`` (event codes such as int32 triggers) become events of
kind ``"marker"`` labelled with the value. Times are seconds from the earliest sample of
any stream (LSL clock, clock offsets applied by pyxdf). A stream without its footer (the file
ends early) or whose footer counts other samples than were read is noted in ``meta["notes"]``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..reader import Recording, events_frame
from .common import FormatError, guess_kind, import_meta, irregular_signal, regular_signal, \
    require, unique_name


def _field(info: dict, key: str, default: str = "") -> str:
    value = info.get(key, [default])
    return value[0] if isinstance(value, list) and value and isinstance(value[0], str) else default


def _channels(info: dict, n: int) -> tuple[tuple[str, ...], str]:
    """Channel labels and the unit of the first channel from the XDF ``desc`` block."""
    try:
        chans = info["desc"][0]["channels"][0]["channel"]
        labels = tuple(c["label"][0] for c in chans)
        unit = chans[0].get("unit", [""])[0]
        if len(labels) == n:
            return labels, unit
    except (KeyError, IndexError, TypeError):
        pass
    return tuple(f"ch{i + 1}" for i in range(n)), ""


def _marker_label(sample) -> str:
    """A marker sample's label: its first value, as text (a whole number without ``.0``)."""
    value = sample[0]
    if isinstance(value, str):
        return value
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _completeness(stream: dict) -> str | None:
    """A note when a stream's footer is missing (a recorder writes it last: the file ends early,
    a truncated or interrupted recording) or counts other samples than were read; else None."""
    name, n = _field(stream["info"], "name", "stream"), len(stream["time_stamps"])
    footer = stream.get("footer") or {}
    try:
        counted = int(footer["info"]["sample_count"][0])
    except (KeyError, IndexError, TypeError, ValueError):
        return f"{name}: no stream footer, the file ends early (truncated?): {n} samples read"
    return None if counted == n else f"{name}: the footer counts {counted} samples, {n} were read"


def read_xdf(path: Path) -> Recording:
    """Import an XDF file; times in s from the earliest sample."""
    import pyxdf

    require(path.is_file(), path, "no such XDF file")
    try:
        streams, _header = pyxdf.load_xdf(str(path), dejitter_timestamps=False)
    except Exception as exc:  # pyxdf raises bare Exception/struct/XML errors on bad files
        raise FormatError(f"{path}: not a readable XDF file ({type(exc).__name__}: {exc})") from None
    stamped = [s for s in streams if len(s["time_stamps"])]
    require(bool(stamped), path, "no stream holds any sample")
    skipped = [f"{_field(s['info'], 'name', 'stream')} (no sample)" for s in streams
               if not len(s["time_stamps"])]
    notes = [n for n in map(_completeness, streams) if n]
    origin = min(float(s["time_stamps"][0]) for s in stamped)
    signals, rows = [], []
    for s in stamped:
        info, times = s["info"], np.asarray(s["time_stamps"], dtype=float) - origin
        name = _field(info, "name", "stream")
        if (_field(info, "channel_format") == "string"
                or _field(info, "type").strip().lower() == "markers"):
            # string markers, and numeric ones in a stream of LSL type "Markers" (event codes)
            rows += [(float(t), 0.0, _marker_label(v), "marker", {"stream": name}, len(rows) + i)
                     for i, (t, v) in enumerate(zip(times, s["time_series"]))]
            continue
        kind = guess_kind(_field(info, "type")) or guess_kind(name) or "generic"
        values = np.asarray(s["time_series"], dtype=float)
        channels, unit = _channels(info, values.shape[1])
        values = values[:, 0] if values.shape[1] == 1 else values
        rate = float(_field(info, "nominal_srate", "0"))
        stream = unique_name(name, signals)
        signals.append(regular_signal(stream, kind, unit, rate, values, float(times[0]), channels, "xdf")
                       if rate > 0 else
                       irregular_signal(stream, kind, unit, times, values, channels, "xdf"))
    require(bool(signals) or bool(rows), path, "no numeric stream and no marker")
    return Recording.from_signals(signals, events_frame(rows),
                                  import_meta(path, "xdf", skipped=skipped,
                                              **({"notes": notes} if notes else {})), path)
