"""BIDS physiological recordings (specs.md section 5).

``<entities>[_recording-<label>]_physio.tsv.gz`` (gzip TSV without a header line) with its
``_physio.json`` sidecar (``SamplingFrequency`` Hz, ``StartTime`` s, ``Columns``; per-column
``Units``). Opening one physio file reads every file of the same entities (each ``recording-``
label, since streams of different rates or start times go in separate files) and the
``<entities>_events.tsv`` beside them. In each file, columns whose names suggest the same kind
form one stream, named by the ``recording-`` label (with the kind appended when a file holds
several kinds); columns of no known kind (``trigger``, ...) form a ``"generic"`` stream.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from ..reader import Recording
from .common import FormatError, guess_kind, import_meta, read_events_table, regular_signal, require

PHYSIO_SUFFIX = "_physio.tsv.gz"
_RECORDING = re.compile(r"_recording-([A-Za-z0-9]+)")


def entities_prefix(physio: Path) -> str:
    """The file name without ``_recording-<label>`` and ``_physio.tsv.gz``."""
    return _RECORDING.sub("", physio.name[:-len(PHYSIO_SUFFIX)])


def _sidecar(path: Path) -> dict:
    side = path.with_name(path.name[:-len(".tsv.gz")] + ".json")
    require(side.is_file(), path, f"sidecar {side.name} is missing (BIDS requires it)")
    try:
        meta = json.loads(side.read_text())
    except json.JSONDecodeError as exc:
        raise FormatError(f"{side}: not valid JSON ({exc})") from None
    for key, types, expected in (("SamplingFrequency", (int, float), "a number (Hz)"),
                                 ("StartTime", (int, float), "a number (s)"),
                                 ("Columns", list, "a list of column names")):
        require(isinstance(meta.get(key), types), side, f"field {key!r} is {meta.get(key)!r}, expected {expected}")
    require(meta["SamplingFrequency"] > 0, side,
            f"field 'SamplingFrequency' is {meta['SamplingFrequency']}, expected > 0 Hz")
    return meta


def _read_file(path: Path, signals: list) -> None:
    meta = _sidecar(path)
    columns = meta["Columns"]
    try:
        table = pd.read_csv(path, sep="\t", header=None, compression="gzip", na_values=["n/a"])
    except (OSError, ValueError, EOFError) as exc:
        raise FormatError(f"{path}: not a readable gzip TSV ({exc})") from None
    require(table.shape[1] == len(columns), path,
            f"{table.shape[1]} columns, but the sidecar's Columns lists {len(columns)} ({columns})")
    match = _RECORDING.search(path.name)
    label = match.group(1) if match else "physio"
    kinds: dict[str, list[int]] = {}
    for i, col in enumerate(columns):
        kinds.setdefault(guess_kind(col) or "generic", []).append(i)
    for kind, idx in kinds.items():
        values = table.iloc[:, idx].to_numpy(float)
        column_meta = meta.get(columns[idx[0]])
        unit = column_meta.get("Units", "") if isinstance(column_meta, dict) else ""
        name = label if len(kinds) == 1 else f"{label}_{kind}"
        signals.append(regular_signal(name, kind, unit, meta["SamplingFrequency"],
                                      values[:, 0] if len(idx) == 1 else values,
                                      float(meta["StartTime"]), tuple(columns[i] for i in idx), "bids"))


def read_bids(path: Path) -> Recording:
    """Import the BIDS physio recording ``path`` belongs to (all its ``recording-`` files)."""
    require(path.is_file(), path, "no such BIDS physio file")
    prefix = entities_prefix(path)
    files = sorted(p for p in path.parent.glob(f"*{PHYSIO_SUFFIX}") if entities_prefix(p) == prefix)
    signals = []
    for f in files:
        _read_file(f, signals)
    require(bool(signals), path, "no column in any physio file")
    events_path = path.with_name(f"{prefix}_events.tsv")
    events = read_events_table(events_path) if events_path.is_file() else None
    t0 = min(float(s.times[0]) for s in signals if len(s))
    if t0 < 0:  # session time starts at the earliest sample
        signals = [type(s)(s.values, s.times - t0, s.fs, s.unit, s.info) for s in signals]
        if events is not None:
            events = events.assign(onset=events.onset - t0)
    return Recording.from_signals(signals, events, import_meta(path, "bids",
                                                               files=[f.name for f in files]), path)
