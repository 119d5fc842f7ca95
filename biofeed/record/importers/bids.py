"""BIDS physiological recordings (specs.md section 5; BIDS specification 1.10, "Physiological
recordings" and "The Inheritance Principle").

``<entities>[_recording-<label>]_physio.tsv.gz`` (gzip TSV without a header line) with its
metadata (``SamplingFrequency`` Hz, ``StartTime`` s, ``Columns``; per-column ``Units`` and
``Description``). The metadata follow the inheritance principle: every ``*_physio.json`` from
the dataset root down to the file's folder whose entities are all in the file's name applies
(at most one a folder), top-down, the nearest winning key by key; so a sidecar in ``sub-01/``
or at the root serves every run below it. Opening one physio file reads every file of the same
entities (each ``recording-`` label, since streams of different rates or start times go in
separate files) and the ``<entities>_events.tsv`` beside them. Opening a dataset folder (one
holding ``dataset_description.json`` or physio files) reads its one recording; a folder of
several names them (:func:`recordings` lists them, for ``biofeed batch``).

Column kinds follow the specification's reserved names: ``cardiac`` is a pulse trace (PPG),
unless its ``Description`` names an ECG or its ``Units`` are mV/uV (an ECG's potential);
``respiratory`` is respiration; ``trigger`` and other names of no known kind are ``"generic"``.
Other names (and failing them the column's ``Description``) are matched like every importer's
channel names. Columns of one kind in a file form one stream, named by the ``recording-`` label
(with the kind appended when a file holds several kinds).
"""
from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import pandas as pd

from ..reader import Recording
from .common import FormatError, guess_kind, import_meta, read_events_table, regular_signal, require

PHYSIO_SUFFIX = "_physio.tsv.gz"
_RECORDING = re.compile(r"_recording-([A-Za-z0-9]+)")
_ECG_WORDS = re.compile(r"\b(ecg|ekg|electrocardio\w*)\b", re.I)
_ECG_UNITS = {"mv", "uv", "µv", "μv"}


def entities_prefix(physio: Path) -> str:
    """The file name without ``_recording-<label>`` and ``_physio.tsv.gz``."""
    return _RECORDING.sub("", physio.name[:-len(PHYSIO_SUFFIX)])


def _entities(stem: str) -> tuple[dict[str, str], str]:
    """``key-value`` entities and the suffix of a BIDS file name without extension."""
    parts = stem.split("_")
    pairs = [p.split("-", 1) for p in parts[:-1]]
    return {p[0]: p[1] for p in pairs if len(p) == 2}, parts[-1]


def _root(folder: Path) -> Path:
    """The dataset root above ``folder``: the nearest folder holding
    ``dataset_description.json``, else the one above the topmost ``sub-*`` folder, else ``folder``."""
    for parent in (folder, *folder.parents):
        if (parent / "dataset_description.json").is_file():
            return parent
    subjects = [p for p in (folder, *folder.parents) if p.name.startswith("sub-")]
    return subjects[-1].parent if subjects else folder


def _metadata(path: Path) -> tuple[dict, list[Path]]:
    """The physio metadata that apply to ``path`` (inheritance principle) and their files, top-down."""
    entities, _ = _entities(path.name[:-len(".tsv.gz")])
    root = _root(path.parent)
    parts = path.parent.relative_to(root).parts
    levels = [root.joinpath(*parts[:i]) for i in range(len(parts) + 1)]
    merged, used = {}, []
    for folder in levels:
        applicable = []
        for side in sorted(folder.glob("*_physio.json")):
            ents, suffix = _entities(side.name[:-len(".json")])
            if suffix == "physio" and all(entities.get(k) == v for k, v in ents.items()):
                applicable.append(side)
        require(len(applicable) <= 1, path,
                f"{len(applicable)} sidecars apply at {folder} ({[p.name for p in applicable]}); "
                "the BIDS inheritance principle allows one a folder")
        for side in applicable:
            try:
                content = json.loads(side.read_text(errors="replace"))
            except json.JSONDecodeError as exc:
                raise FormatError(f"{side}: not valid JSON ({exc})") from None
            require(isinstance(content, dict), side, "is not a JSON object")
            merged |= content
            used.append(side)
    own = path.with_name(path.name[:-len(".tsv.gz")] + ".json")
    require(bool(used), path, f"sidecar {own.name} is missing, and no *_physio.json above it "
                              "applies (BIDS requires SamplingFrequency, StartTime and Columns)")
    for key, types, expected in (("SamplingFrequency", (int, float), "a number (Hz)"),
                                 ("StartTime", (int, float), "a number (s)"),
                                 ("Columns", list, "a list of column names")):
        require(isinstance(merged.get(key), types) and not isinstance(merged.get(key), bool),
                used[-1], f"field {key!r} is {merged.get(key)!r}, expected {expected}")
    require(merged["SamplingFrequency"] > 0, used[-1],
            f"field 'SamplingFrequency' is {merged['SamplingFrequency']}, expected > 0 Hz")
    return merged, used


def column_kind(name: str, meta: dict | None) -> str:
    """The stream kind of a physio column (module notes): BIDS's reserved names first."""
    meta = meta if isinstance(meta, dict) else {}
    description, units = str(meta.get("Description", "")), str(meta.get("Units", "")).strip().lower()
    low = name.strip().lower()
    if low == "cardiac":
        return "ecg" if _ECG_WORDS.search(description) or units in _ECG_UNITS else "ppg"
    if low == "respiratory":
        return "resp"
    if low == "trigger":
        return "generic"
    return guess_kind(name) or (guess_kind(description) if description else None) or "generic"


def _read_file(path: Path, signals: list) -> list[Path]:
    meta, sidecars = _metadata(path)
    columns = meta["Columns"]
    try:
        table = pd.read_csv(path, sep="\t", header=None, compression="gzip", na_values=["n/a"])
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise FormatError(f"{path}: not a readable gzip TSV ({exc})") from None
    require(table.shape[1] == len(columns), path,
            f"{table.shape[1]} columns, but the sidecar's Columns lists {len(columns)} ({columns})")
    bad = [columns[i] for i in range(table.shape[1]) if not pd.api.types.is_numeric_dtype(table[i])]
    require(not bad, path, f"column(s) {bad} hold non-numeric values, expected numbers or n/a")
    match = _RECORDING.search(path.name)
    label = match.group(1) if match else "physio"
    kinds: dict[str, list[int]] = {}
    for i, col in enumerate(columns):
        kinds.setdefault(column_kind(col, meta.get(col)), []).append(i)
    for kind, idx in kinds.items():
        values = table.iloc[:, idx].to_numpy(float)
        column_meta = meta.get(columns[idx[0]])
        unit = str(column_meta.get("Units", "")) if isinstance(column_meta, dict) else ""
        name = label if len(kinds) == 1 else f"{label}_{kind}"
        signals.append(regular_signal(name, kind, unit, meta["SamplingFrequency"],
                                      values[:, 0] if len(idx) == 1 else values,
                                      float(meta["StartTime"]), tuple(columns[i] for i in idx), "bids"))
    return sidecars


def is_dataset(folder: Path) -> bool:
    """True when ``folder`` is a BIDS dataset (or part of one): it holds
    ``dataset_description.json`` or, anywhere below, a physio file."""
    return (folder / "dataset_description.json").is_file() or next(
        folder.rglob(f"*{PHYSIO_SUFFIX}"), None) is not None


def recordings(folder: Path) -> list[Path]:
    """One physio file per recording (folder and entities) below ``folder``, sorted."""
    first: dict[tuple[Path, str], Path] = {}
    for p in sorted(folder.rglob(f"*{PHYSIO_SUFFIX}")):
        first.setdefault((p.parent, entities_prefix(p)), p)
    return list(first.values())


def read_bids(path: Path) -> Recording:
    """Import the BIDS physio recording ``path`` belongs to (all its ``recording-`` files), or the
    one recording of the dataset folder ``path``."""
    if path.is_dir():
        found = recordings(path)
        require(bool(found), path, f"no *{PHYSIO_SUFFIX} file in this BIDS folder")
        require(len(found) == 1, path, f"a BIDS dataset of {len(found)} recordings "
                f"({', '.join(p.name for p in found[:3])}{', ...' if len(found) > 3 else ''}): "
                "open one of its physio files, or give the folder to 'biofeed batch'")
        path = found[0]
    require(path.is_file(), path, "no such BIDS physio file")
    prefix = entities_prefix(path)
    files = sorted(p for p in path.parent.glob(f"*{PHYSIO_SUFFIX}") if entities_prefix(p) == prefix)
    signals, sidecars = [], []
    for f in files:
        sidecars += [s for s in _read_file(f, signals) if s not in sidecars]
    require(bool(signals), path, "no column in any physio file")
    events_path = path.with_name(f"{prefix}_events.tsv")
    events = read_events_table(events_path) if events_path.is_file() else None
    t0 = min(float(s.times[0]) for s in signals if len(s)) if any(len(s) for s in signals) else 0.0
    if t0 < 0:  # session time starts at the earliest sample
        signals = [type(s)(s.values, s.times - t0, s.fs, s.unit, s.info) for s in signals]
        if events is not None:
            events = events.assign(onset=events.onset - t0)
    return Recording.from_signals(signals, events, import_meta(
        path, "bids", files=[f.name for f in files],
        sidecars=[str(s.relative_to(_root(path.parent))) for s in sidecars]), path)
