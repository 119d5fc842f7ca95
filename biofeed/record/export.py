"""Export a recording's raw streams to other tools' formats, and imported recordings to session files.

* BIDS physio (specs.md section 5): one ``<stem>_recording-<stream>_physio.tsv.gz`` + ``.json``
  per regular stream (streams differ in rate and start time), and ``<stem>_events.tsv``.
* EDF+ (specs.md section 6, pyedflib): one file, every regular channel a signal at its own rate
  (16-bit, scaled between the channel's physical min and max), the stream kind in the
  transducer field as ``biofeed:<kind>``, events as annotations ``<kind>:<label>``.
* CSV: ``<stem>_<stream>.csv`` per stream (``time_s`` then the channels, named
  ``<stream>:<channel>`` when there are several; irregular streams too)
  and ``<stem>_events.csv`` (``onset``, ``duration``, ``label``, ``kind``).

Derived streams are not exported: ``biofeed analyze`` recomputes them. Irregular raw streams
(RR from a chest strap) have no place in BIDS physio or EDF and are returned as skipped.
"""
from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..clock import SessionClock
from ..stream import Chunk, Event
from .reader import Recording, Signal
from .writer import SessionRecorder

FORMATS = ("bids", "edf", "csv")


@dataclass
class Exported:
    """What an export wrote: ``files`` in order, and the ``skipped`` streams with the reason."""

    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _safe(name: str) -> str:
    """A stream name as a file-name part / BIDS label: letters and digits only."""
    return re.sub(r"[^A-Za-z0-9]", "", name) or "stream"


def _raw(rec: Recording, out: Exported, regular_only: bool) -> list[Signal]:
    signals = []
    for name, info in rec.streams.items():
        if info.derived:
            continue
        if regular_only and not info.regular:
            out.skipped[name] = "irregular stream (no regular sampling rate)"
        elif len(rec.signals[name]):
            signals.append(rec.signals[name])
        else:
            out.skipped[name] = "no samples"
    return signals


def _events(rec: Recording) -> pd.DataFrame:
    return rec.events[["onset", "duration", "label", "kind"]]


def to_bids(rec: Recording, out_dir: Path, stem: str) -> Exported:
    """BIDS physio files and the events table; ``stem`` holds the entities, e.g.
    ``sub-01_task-rest``."""
    out = Exported()
    for sig in _raw(rec, out, regular_only=True):
        base = out_dir / f"{stem}_recording-{_safe(sig.info.name)}_physio"
        values = sig.values.reshape(len(sig), -1)
        with gzip.open(f"{base}.tsv.gz", "wt") as f:
            np.savetxt(f, values, delimiter="\t", fmt="%.17g")
        sidecar = {"SamplingFrequency": sig.fs, "StartTime": float(sig.times[0]),
                   "Columns": list(sig.channels), "Manufacturer": sig.info.device,
                   "SoftwareVersions": f"biofeed {__version__}"}
        for ch in sig.channels:
            sidecar[ch] = {"Units": sig.unit, "Description": f"{sig.info.kind} ({sig.info.name})"}
        Path(f"{base}.json").write_text(json.dumps(sidecar, indent=2))
        out.files += [Path(f"{base}.tsv.gz"), Path(f"{base}.json")]
    events = _events(rec).rename(columns={"label": "trial_type"})
    path = out_dir / f"{stem}_events.tsv"
    events.to_csv(path, sep="\t", index=False, na_rep="n/a")
    (out_dir / f"{stem}_events.json").write_text(json.dumps(
        {"trial_type": {"Description": "event label (phase, prompt, ...)"},
         "kind": {"Description": "biofeed event kind: phase, prompt, instruction, marker, ..."}}, indent=2))
    out.files += [path, out_dir / f"{stem}_events.json"]
    return out


def _edf_limit(x: float, up: bool) -> float:
    """``x`` rounded outwards to a number the 8-character EDF header field holds exactly."""
    decimals = max(0, 8 - len(str(int(abs(x)))) - 2)  # sign and decimal point take 2
    scale = 10.0 ** decimals
    return float((np.ceil if up else np.floor)(x * scale) / scale)


def _edf_channel(sig: Signal, column: np.ndarray, label: str) -> dict:
    lo, hi = float(np.min(column)), float(np.max(column))
    if hi - lo < 1e-6:
        lo, hi = lo - 1.0, hi + 1.0
    return {"label": label[:16], "dimension": sig.unit[:8], "sample_frequency": sig.fs,
            "physical_min": _edf_limit(lo, up=False), "physical_max": _edf_limit(hi, up=True),
            "digital_min": -32768, "digital_max": 32767,
            "transducer": f"biofeed:{sig.info.kind}", "prefilter": ""}


def to_edf(rec: Recording, out_dir: Path, stem: str) -> Exported:
    """One EDF+ file; samples are quantised to 16 bits between each channel's min and max.
    Streams are cut to whole seconds (EDF data records of 1 s)."""
    import pyedflib

    out = Exported()
    headers, data = [], []
    for sig in _raw(rec, out, regular_only=True):
        values = sig.values.reshape(len(sig), -1)
        for i, ch in enumerate(sig.channels):
            label = sig.info.name if values.shape[1] == 1 else f"{sig.info.name}.{ch}"
            headers.append(_edf_channel(sig, values[:, i], label))
            data.append(np.ascontiguousarray(values[:, i]))
    path = out_dir / f"{stem}.edf"
    seconds = min(int(len(d) // h["sample_frequency"]) for d, h in zip(data, headers)) if data else 0
    writer = pyedflib.EdfWriter(str(path), len(headers), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(headers)
        if "start_utc" in rec.meta:
            # EDF headers hold whole seconds; sample and annotation times stay relative to it.
            start = rec.start_utc.replace(microsecond=0)
            writer.setStartdatetime(start.astimezone(timezone.utc).replace(tzinfo=None) if start.tzinfo
                                    else start)
        writer.writeSamples([d[:int(seconds * h["sample_frequency"])] for d, h in zip(data, headers)])
        for ev in _events(rec).itertuples():
            writer.writeAnnotation(ev.onset, ev.duration if ev.duration > 0 else -1, f"{ev.kind}:{ev.label}")
    finally:
        writer.close()
    out.files.append(path)
    return out


def to_csv(rec: Recording, out_dir: Path, stem: str) -> Exported:
    """A CSV per raw stream (``time_s`` in s, then the channels) and one of the events."""
    out = Exported()
    for sig in _raw(rec, out, regular_only=False):
        values = sig.values.reshape(len(sig), -1)
        names = [sig.info.name if values.shape[1] == 1 else f"{sig.info.name}:{ch}" for ch in sig.channels]
        frame = pd.DataFrame(values, columns=names)
        frame.insert(0, "time_s", sig.times)
        path = out_dir / f"{stem}_{_safe(sig.info.name)}.csv"
        frame.to_csv(path, index=False)
        out.files.append(path)
    path = out_dir / f"{stem}_events.csv"
    _events(rec).to_csv(path, index=False)
    out.files.append(path)
    return out


def export(rec: Recording, out_dir: str | os.PathLike, fmt: str, stem: str | None = None) -> Exported:
    """Write ``rec``'s raw streams and events to ``out_dir`` as ``fmt`` (one of :data:`FORMATS`).

    ``stem`` starts every file name (default: the recording's file stem; BIDS wants entities
    such as ``sub-01_task-rest``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"export format {fmt!r} is not one of {FORMATS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or _safe(rec.path.stem) or "recording"
    return {"bids": to_bids, "edf": to_edf, "csv": to_csv}[fmt](rec, out_dir, stem)


def to_session_file(rec: Recording, out_dir: str | os.PathLike) -> Path:
    """Write ``rec`` (e.g. an imported recording) as a ``.biofeed`` session file in ``out_dir``;
    returns its path. The metadata records where it came from."""
    clock = SessionClock()
    clock.start_utc = rec.start_utc if "start_utc" in rec.meta else datetime.now(timezone.utc)
    source = {k: v for k, v in rec.meta.items() if k not in ("completed", "start_utc")}
    recorder = SessionRecorder(out_dir, participant=rec.meta.get("participant", ""),
                               devices=[{"id": "import", "source": source}])
    recorder.start(clock, list(rec.streams.values()))
    for name, info in rec.streams.items():
        sig = rec.signals[name]
        if not info.regular:
            recorder.write(Chunk(info, sig.values, float(sig.times[0]) if len(sig) else 0.0, sig.times))
            continue
        start = 0
        for t0, n in zip(*rec.chunk_table(name)):  # one chunk per gap-free stretch keeps the gaps
            recorder.write(Chunk(info, sig.values[start:start + n], float(t0)))
            start += n
    for ev in rec.events.itertuples():
        recorder.event(Event(int(ev.id), float(ev.onset), float(ev.duration), ev.label, ev.kind,
                             ev.payload))
    ends = [float(rec.signals[n].times[-1]) for n in rec.streams if len(rec.signals[n])]
    recorder.close(max(ends, default=0.0), "imported")
    return recorder.path
