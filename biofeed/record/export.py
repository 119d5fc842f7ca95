"""Export a recording to other tools' formats, and imported recordings to session files.

Every file is created readable and writable by its owner only (0600), folders 0700, never
over an existing file (the error names it) nor through a symbolic link, and atomically
(:class:`~biofeed.record.private.Staging`): all files of one export are written under hidden
temporary names (``.<name>.<token>.part``) and published under their final names together at
the end, so a killed export leaves no file under a final name (except in the instant of the
publication itself, when the first files can already be there, complete) and a rerun works;
when an export fails, nothing it wrote is left. ``stem`` must be a plain name part (no path
separator, no ``..``): every file stays inside the export folder.
Times are session seconds; numbers are written losslessly (shortest repr, or ``%.17g``).
``derived=False`` leaves the derived streams out.

BIDS (specs.md section 5; BIDS 1.10 "Physiological recordings", "Behavioral experiments"
and "BIDS Derivatives"). Without a ``stem``, the export is a BIDS dataset (:func:`bids_names`):
the files of a session go in ``sub-<participant>/ses-<session>/beh/`` named
``sub-<participant>_ses-<session>_task-<protocol>``, from the recording's metadata (the
participant id, the start time as the session label, the protocol's name as the task; labels
keep letters and digits only), with ``dataset_description.json`` and ``participants.tsv`` (+
``.json``) at the dataset root, written when missing (a ``participants.tsv`` there already that
lacks the participant is reported in ``skipped``, never rewritten). A ``stem`` given is used as
it is, the files flat in the export folder.

* raw regular streams: ``<stem>_recording-<stream>_physio.tsv.gz`` + ``.json`` each (streams
  differ in rate and start time), and ``<stem>_events.tsv`` + ``.json`` (see Events tables).
* derived streams go in a derivative dataset, ``derivatives/biofeed/`` (its
  ``dataset_description.json``, ``DatasetType`` ``derivative``, is written when missing; in
  the dataset layout under the same ``sub-/ses-/beh/`` folders),
  named after their source stream's file plus a ``desc-`` label,
  ``<stem>[_recording-<source>]_desc-<rest>_<suffix>``: ``ecg.rr.nn`` ->
  ``<stem>_recording-ecg_desc-rrnn_events.tsv``; ``arousal`` (several sources) ->
  ``<stem>_desc-arousal_events.tsv``. Regular ones (SCL at the EDA rate) are
  ``_physio.tsv.gz`` + ``.json`` like raw streams. Irregular ones (R-peaks, RR/NN, windowed
  HRV, coherence, RSA, SCRs, breaths, arousal) are ``_events.tsv`` tables, as BIDS
  Derivatives stores derived events (``desc-<label>_events.tsv``): ``onset`` (the sample's
  time, s), ``duration`` (0: the values refer to that instant), then a column per channel
  (:data:`DERIVED_COLUMNS`); the ``.json`` gives the file's ``Description`` and each column's
  ``Description`` and ``Units`` (artifact codes as ``Levels``). Not ``_physioevents.tsv.gz``:
  its ``onset`` is a row number (or foreign index) of an existing ``_physio.tsv.gz``, which
  can hold neither beat times between samples nor streams without a physio file.
* raw irregular streams (RR from a chest strap) have no BIDS form; they are returned as
  skipped.

EDF+ (specs.md section 6, pyedflib): ``<stem>.edf``, every regular channel (raw, and derived
such as SCL) a signal at its own rate (16-bit, scaled between the channel's physical min and
max; NaN samples at the minimum), the stream kind in the transducer field as
``biofeed:<kind>``, all cut to the data records every signal fills. Events are annotations
``<kind>:<label> | key=value ...`` with the payload fields that fit: pyedflib's writer keeps
:data:`EDF_ANNOTATION_BYTES` bytes of a text (control characters become spaces). The full
events go beside it in ``<stem>_events.tsv`` + ``.json`` (as BIDS pairs EDF recordings with
an events table). Irregular streams are left out (returned as skipped): thousands of beats
as annotations would bury the protocol events, and an EDF reader takes annotations for events.

CSV: ``<stem>_<stream>.csv`` per stream, ``time_s`` (s) then the channels: a raw stream's
named ``<stream>`` or ``<stream>:<channel>`` (what the CSV importer reads), a derived
stream's ``<column> [<unit>]`` (:data:`DERIVED_COLUMNS`); and ``<stem>_events.csv``.

Events tables (``_events.tsv``, ``_events.csv``): ``onset``, ``duration`` (s), ``trial_type``
(TSV) or ``label`` (CSV), ``kind``, then a column per payload field in order of first use (a
field with an empty name, named like one of these columns or starting ``payload_`` gets the
prefix ``payload_``). A cell holds a string as it is and anything else as JSON (numbers,
``true``/``false``, lists, objects); strings that would read as JSON (``"5"``, ``"true"``),
``""`` and ``"n/a"`` are JSON-quoted; ``n/a`` means no such field, or null. Cells holding
the separator, ``"``, a line feed or a carriage return are quoted with ``"``, inner quotes
doubled (RFC 4180; BIDS: "String values containing tabs MUST be escaped using double
quotes"). ``_events.tsv`` has a ``.json`` describing every column (units: s, breaths/min).
"""
from __future__ import annotations

import gzip
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from .. import __version__
from ..clock import SessionClock
from ..physio.hrv import HRV_INDICES
from ..physio.rr import ARTIFACT_TYPES
from ..stream import Chunk, Event, StreamInfo
from .private import Staging, check_name, private_dir
from .reader import Recording, Signal
from .writer import SessionRecorder

FORMATS = ("bids", "edf", "csv")
#: Missing or non-applicable value in tables (BIDS).
NA = "n/a"
#: Folder of the BIDS derivative dataset, under the export folder.
DERIVATIVES = Path("derivatives") / "biofeed"
#: UTF-8 bytes of an annotation text that pyedflib's writer (edflib) keeps; it drops the rest.
EDF_ANNOTATION_BYTES = 40
#: Annotations per data record and annotation signal in pyedflib's writer, and its most
#: annotation signals: a file holds at most records x signals annotations (it drops the rest).
EDF_ANNOTATION_SIGNALS = 64

#: Derived channels: stream kind -> channel -> (column name, unit or None for the stream's
#: unit, description).
DERIVED_COLUMNS: dict[str, dict[str, tuple[str, str | None, str]]] = {
    "rpeak": {"value": ("amplitude", None, "ECG at the R-peak")},
    "pulse": {"value": ("amplitude", None, "PPG at the pulse peak")},
    "rr": {"value": ("rr", "ms", "RR interval ending at this beat")},
    "nn": {"nn_ms": ("nn_ms", "ms", ("NN interval ending at this beat (RR interval after "
                                    "artifact correction, Lipponen & Tarvainen 2019)")),
           "artifact": ("artifact", "", ("artifact code of the beat (0 normal; a corrected "
                                         "beat keeps its code)"))},
    "hrv": {key: (key, unit, text) for key, (unit, text) in HRV_INDICES.items()},
    "coherence": {"coherence": ("coherence", "", "coherence ratio, peak / (total - peak power)"),
                  "peak_hz": ("peak_hz", "Hz", "frequency of the coherence peak")},
    "rsa": {"rsa_bpm": ("rsa_bpm", "bpm", ("RSA amplitude: highest minus lowest heart rate "
                                           "in the breath cycle")),
            "breath_s": ("breath_s", "s", "length of the breath cycle")},
    "scl": {"value": ("scl", "uS", "skin conductance level (tonic EDA)")},
    "scr": {"amplitude_us": ("amplitude_us", "uS", "SCR amplitude, onset to peak"),
            "rise_time_s": ("rise_time_s", "s", "SCR rise time, onset to peak"),
            "peak_s": ("peak_s", "s", "session time of the SCR peak"),
            "min_amplitude_us": ("min_amplitude_us", "uS", ("smallest SCR amplitude accepted "
                                                             "then (noise-adapted minimum)"))},
    "breath": {"breath_s": ("breath_s", "s", "length of the breath cycle ending at this onset")},
    "arousal": {"arousal": ("arousal", "SD", "arousal index: mean of the z-scores below"),
                "z_hr": ("z_hr", "SD", "heart rate (10 s) against baseline"),
                "z_scl": ("z_scl", "SD", "skin conductance level (1 s) against baseline"),
                "z_scr_rate": ("z_scr_rate", "SD", "SCR rate (60 s) against baseline"),
                "z_rmssd": ("z_rmssd", "SD", "RMSSD against baseline, sign reversed")},
    "quality": {"good": ("good", "", "1 when the segment meets every quality criterion, else 0"),
                "score": ("score", "", "share of the criteria met (EDA: of valid samples), 0-1"),
                "hr_bpm": ("hr_bpm", "bpm", "mean heart rate of the segment's beats"),
                "max_rr_s": ("max_rr_s", "s", "longest beat-to-beat interval, edges included"),
                "rr_ratio": ("rr_ratio", "", "longest / shortest beat-to-beat interval"),
                "template_r": ("template_r", "", "mean correlation of the beats with their "
                                                 "average"),
                "skewness": ("skewness", "", "skewness of the 0.5-8 Hz band-passed PPG"),
                "flat_s": ("flat_s", "s", "longest stretch without any change (stuck signal)"),
                "min_us": ("min_us", "uS", "lowest skin conductance"),
                "max_us": ("max_us", "uS", "highest skin conductance"),
                "max_slope_us_s": ("max_slope_us_s", "uS/s", "steepest change of conductance")},
    "beat_quality": {"template_r": ("template_r", "", "correlation of the beat with the "
                                                      "average beat of its segment")},
}

#: What one row (sample) of a derived stream is, per kind.
DERIVED_ROWS = {
    "rpeak": "R-peaks: a row per beat, at the R-peak",
    "pulse": "PPG pulse peaks: a row per beat, at the peak",
    "rr": "RR intervals: a row per beat, at the beat ending the interval",
    "nn": "NN intervals: a row per beat, at the beat ending the interval",
    "hrv": "HRV indices: a row per whole second, over the window ending then (n/a while the "
           "window is shorter than the index needs)",
    "coherence": "cardiac coherence: a row every 5 s, over the 64 s before (n/a before)",
    "rsa": "RSA amplitude: a row per breath cycle, at its end",
    "scl": "skin conductance level",
    "scr": "skin conductance responses: a row per SCR, at its onset",
    "breath": "breath onsets (start of inhalation): a row per breath",
    "arousal": "arousal index against the baseline phase: a row per whole second",
    "quality": "signal quality: a row per 10 s segment (every 5 s), at the segment's end",
    "beat_quality": "signal quality per beat: a row per beat, at the beat",
}

#: Event payload fields biofeed writes, most telling first (the order EDF+ annotations take
#: them in): name -> (description, unit or None).
EVENT_FIELDS = {
    "phase_kind": ("kind of phase: baseline, prompt, recovery, paced_breathing, assessment, ...",
                   None),
    "stressor": ("true when the phase is a stressor", None),
    "prompt_id": ("identifier of the prompt", None),
    "pacer_rate_bpm": ("breathing pacer rate", "breaths/min"),
    "value": ("rating on its scale (e.g. SUDS 0-100), or the value that fired a stop rule", None),
    "missing": ("true when no rating was given", None),
    "scale": ("rating scale", None),
    "note": ("clinician's note", None),
    "reason": ("why it happened", None),
    "ended": ("how the phase ended: completed, skipped, aborted, stop rule", None),
    "truncated": ("true when the session ended during the event", None),
    "paused_s": ("time paused", "s"),
    "planned_duration_s": ("planned duration of the phase", "s"),
    "phase": ("label of the phase it happened in", None),
    "to": ("label of the phase jumped to", None),
    "skipped": ("labels of the phases skipped", None),
    "source": ("who gave the rating (participant, clinician, auto), or the protocol file", None),
    "index": ("position of the phase in the protocol, from 0", None),
    "inhale_fraction": ("fraction of a pacer cycle spent inhaling", None),
    "pacer": (("pacer settings (rate_bpm in breaths/min, inhale_fraction, hold_in_s and "
               "hold_out_s in s)"), None),
    "rating": ("rating asked in the phase (scale, question, min, max)", None),
    "question": ("question asked", None),
    "min": ("lowest value of the rating scale", None),
    "max": ("highest value of the rating scale", None),
    "text": ("text shown to the participant", None),
    "notes": ("the protocol's notes on the phase", None),
    "rule": ("the stop rule (kind, threshold, for_s in s)", None),
    "device": ("device id", None),
    "stream": ("Lab Streaming Layer stream of the marker", None),
    "version": ("protocol version", None),
    "seed": ("seed of the protocol's randomised order", None),
    "order": ("labels of the phases in the order run", None),
}


@dataclass
class Exported:
    """What an export wrote: ``files`` in order, and the ``skipped`` streams with the reason."""

    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    _stage: Staging | None = field(default=None, init=False, repr=False, compare=False)


def _safe(name: str) -> str:
    """A stream name as a file-name part / BIDS label: letters and digits only."""
    return _label(name) or "stream"


#: What to do when an exported file exists already (ends the ``FileExistsError``).
IF_EXISTS = "an earlier export? Export to another folder or stem, or remove it"


def _private(out: Exported, path: Path, binary: bool = False, if_missing: bool = False) -> IO:
    """The staged temporary of owner-only file ``path``, listed in ``out`` (``if_missing``: not
    published, and then not listed, when a file is there already)."""
    f = out._stage.open(path, binary, if_missing=if_missing)
    out.files.append(path)
    return f


def _write_json(out: Exported, path: Path, content: dict, if_missing: bool = False) -> None:
    with _private(out, path, if_missing=if_missing) as f:
        json.dump(content, f, indent=2, ensure_ascii=False)


def _streams(rec: Recording, out: Exported, derived: bool) -> list[Signal]:
    """The raw (and with ``derived``, derived) streams with samples; empty ones are skipped."""
    signals = []
    for name, info in rec.streams.items():
        if info.derived and not derived:
            continue
        if len(rec.signals[name]):
            signals.append(rec.signals[name])
        else:
            out.skipped[name] = "no samples"
    return signals


def _skip_irregular(signals: list[Signal], out: Exported, reason: str) -> list[Signal]:
    """The regular ``signals``; irregular ones are skipped with ``reason``."""
    for sig in signals:
        if not sig.info.regular:
            out.skipped[sig.info.name] = reason
    return [s for s in signals if s.info.regular]


def _columns(info: StreamInfo) -> list[tuple[str, str, str]]:
    """``(column name, unit, description)`` per channel: raw channels keep their names and the
    stream's unit; derived ones per :data:`DERIVED_COLUMNS`."""
    known = DERIVED_COLUMNS.get(info.kind, {}) if info.derived else {}
    columns = []
    for ch in info.channels:
        name, unit, text = known.get(ch, (ch, None, f"{info.kind} ({info.name})"))
        columns.append((name, info.unit if unit is None else unit, text))
    return columns


def _values(sig: Signal) -> np.ndarray:
    return sig.values.reshape(len(sig), -1)


def _frame(sig: Signal, names: list[str], time_column: str) -> pd.DataFrame:
    frame = pd.DataFrame(_values(sig), columns=names)
    frame.insert(0, time_column, sig.times)
    return frame


def _write_frame(out: Exported, path: Path, frame: pd.DataFrame, sep: str) -> None:
    """A numeric table with a header line; floats as their shortest repr, NaN as n/a."""
    with _private(out, path) as f:
        frame.to_csv(f, sep=sep, index=False, na_rep=NA, lineterminator="\n")


# -- events ----------------------------------------------------------------------------------


def _reads_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _cell(value) -> str:
    """A payload value as a table cell (module notes): strings as they are unless they would
    read as JSON, other values as JSON, None and NaN as n/a."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NA
    if isinstance(value, str) and value not in ("", NA) and not _reads_as_json(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _quoted(text: str, sep: str) -> str:
    """``text`` quoted with ``"`` (inner quotes doubled) when it holds ``sep``, a quote or a
    line break (RFC 4180)."""
    if any(c in text for c in (sep, '"', "\n", "\r")):
        return '"' + text.replace('"', '""') + '"'
    return text


def _payload_column(key: str) -> str:
    """The column of payload field ``key``: ``payload_<key>`` when ``key`` is empty, a fixed
    column's name or starts with ``payload_`` (so every field keeps its own column)."""
    fixed = key in ("", "onset", "duration", "trial_type", "label", "kind")
    return f"payload_{key}" if fixed or key.startswith("payload_") else key


def _write_events(out: Exported, path: Path, rec: Recording, sep: str, label: str) -> list[str]:
    """The events table at ``path`` (separator ``sep``, label column ``label``); returns the
    payload fields in column order."""
    keys = list(dict.fromkeys(k for p in rec.events.payload for k in p))
    header = ["onset", "duration", label, "kind"] + [_payload_column(k) for k in keys]
    with _private(out, path) as f:
        f.write(sep.join(_quoted(c, sep) for c in header) + "\n")
        for ev in rec.events.itertuples():
            cells = [repr(float(ev.onset)), repr(float(ev.duration)), ev.label, ev.kind]
            cells += [_cell(ev.payload[k]) if k in ev.payload else NA for k in keys]
            f.write(sep.join(_quoted(c, sep) for c in cells) + "\n")
    return keys


def _events_tsv(out: Exported, path: Path, rec: Recording) -> None:
    """The BIDS events table ``<stem>_events.tsv`` and its ``.json`` describing every column."""
    keys = _write_events(out, path, rec, "\t", "trial_type")
    sidecar = {"onset": {"Description": "start of the event, session time", "Units": "s"},
               "duration": {"Description": "duration of the event (0: an instant)", "Units": "s"},
               "trial_type": {"Description": "event label (phase, prompt, rating, marker, ...)"},
               "kind": {"Description": "biofeed event kind: protocol, phase, instruction, "
                                       "prompt, rating, marker, pause, resume, skip, abort, "
                                       "stop_rule, gap, protocol_end, ..."}}
    for key in keys:
        text, unit = EVENT_FIELDS.get(key, (f"event payload field {key!r}", None))
        sidecar[_payload_column(key)] = ({"Description": f"{text} (payload field {key!r}; JSON "
                                                         "unless a plain string)"}
                                         | ({"Units": unit} if unit else {}))
    _write_json(out, path.with_suffix(".json"), sidecar)


# -- BIDS ------------------------------------------------------------------------------------


def _physio(out: Exported, sig: Signal, base: Path, description: str | None = None) -> None:
    """``<base>.tsv.gz`` (no header line) and its ``<base>.json`` sidecar."""
    with _private(out, Path(f"{base}.tsv.gz"), binary=True) as raw, \
            gzip.open(raw, "wt", encoding="utf-8") as f:
        np.savetxt(f, _values(sig), delimiter="\t", fmt="%.17g")
    columns = _columns(sig.info)
    sidecar = {"SamplingFrequency": sig.fs, "StartTime": float(sig.times[0]),
               "Columns": [c[0] for c in columns], "Manufacturer": sig.info.device,
               "SoftwareVersions": f"biofeed {__version__}"}
    sidecar |= {"Description": description} if description else {}
    for name, unit, text in columns:
        sidecar[name] = ({"Units": unit} if unit else {}) | {"Description": text}
    _write_json(out, Path(f"{base}.json"), sidecar)


def _derived_table(out: Exported, sig: Signal, base: Path, description: str) -> None:
    """An irregular derived stream as ``<base>.tsv`` (onset, duration, channels) + ``.json``."""
    columns = _columns(sig.info)
    frame = _frame(sig, [c[0] for c in columns], "onset")
    frame.insert(1, "duration", 0.0)
    _write_frame(out, Path(f"{base}.tsv"), frame, "\t")
    sidecar = {"Description": description,
               "onset": {"Description": "time of the row's values, session time", "Units": "s"},
               "duration": {"Description": "0: the values refer to the onset", "Units": "s"}}
    for name, unit, text in columns:
        sidecar[name] = {"Description": text} | ({"Units": unit} if unit else {})
    if sig.info.kind == "nn":
        sidecar["artifact"]["Levels"] = {str(i): t for i, t in enumerate(ARTIFACT_TYPES)}
    _write_json(out, Path(f"{base}.json"), sidecar)


def _derived_entities(rec: Recording, name: str) -> str:
    """``_recording-<source>_desc-<rest>`` of a derived stream named ``<source>.<rest>`` after
    its raw source stream, else ``_desc-<name>``."""
    sources = [s for s, info in rec.streams.items() if not info.derived and name.startswith(f"{s}.")]
    if not sources:
        return f"_desc-{_safe(name)}"
    source = max(sources, key=len)
    return f"_recording-{_safe(source)}_desc-{_safe(name[len(source) + 1:])}"


def _label(text: object) -> str:
    """A BIDS label: the letters and digits of ``text`` ("" when none)."""
    return re.sub(r"[^A-Za-z0-9]", "", str(text or ""))


def bids_names(rec: Recording) -> tuple[str, Path]:
    """The entities and the folder of ``rec`` in a BIDS dataset: ``sub-<participant>
    [_ses-<start>]_task-<protocol>`` and ``sub-<participant>[/ses-<start>]/beh``.

    The participant is the metadata's (``unknown`` without one), the session label the start
    time (UTC, ``YYYYMMDDTHHMMSS``; none when not recorded), the task the protocol's name
    (``recording`` without a protocol); each keeps its letters and digits only.
    """
    sub = _label(rec.meta.get("participant")) or "unknown"
    ses = rec.start_utc.strftime("%Y%m%dT%H%M%S") if "start_utc" in rec.meta else ""
    task = _label((rec.meta.get("protocol") or {}).get("name")) or "recording"
    stem = f"sub-{sub}" + (f"_ses-{ses}" if ses else "") + f"_task-{task}"
    folder = Path(f"sub-{sub}", *([f"ses-{ses}"] if ses else []), "beh")
    return stem, folder


def _dataset_files(out_dir: Path, sub: str, out: Exported) -> None:
    """``dataset_description.json`` and ``participants.tsv`` + ``.json`` at the root of the
    dataset ``out_dir``, each when missing."""
    if not os.path.lexists(out_dir / "dataset_description.json"):
        _write_json(out, out_dir / "dataset_description.json", {
            "Name": "biofeed recordings", "BIDSVersion": "1.10.0", "DatasetType": "raw",
            "GeneratedBy": [{"Name": "biofeed", "Version": __version__,
                             "Description": "biofeed export of session files"}]}, if_missing=True)
    table = out_dir / "participants.tsv"
    if not os.path.lexists(table):
        with _private(out, table, if_missing=True) as f:
            f.write(f"participant_id\n{sub}\n")
        _write_json(out, out_dir / "participants.json", {
            "participant_id": {"Description": "pseudonymous participant id stored in the "
                                              "session file (letters and digits kept)"}},
            if_missing=True)
    elif sub not in pd.read_csv(table, sep="\t", dtype=str).get("participant_id", pd.Series()).tolist():
        out.skipped["participants.tsv"] = (f"{table} exists and does not list {sub}: add its row "
                                           "(biofeed never rewrites a file)")


def _bids(rec: Recording, out_dir: Path, stem: str | None, derived: bool, out: Exported) -> None:
    """BIDS physio files, the events table and (``derived``) the derivative dataset of the
    derived streams; ``stem`` holds the entities, e.g. ``sub-01_task-rest`` (None: the dataset
    layout of :func:`bids_names`)."""
    folder = Path()
    if stem is None:
        stem, folder = bids_names(rec)
        _dataset_files(out_dir, folder.parts[0], out)
        raw_dir = private_dir(out_dir / folder, inside=out_dir)
    else:
        raw_dir = out_dir
    signals = _streams(rec, out, derived)
    raw = _skip_irregular([s for s in signals if not s.info.derived], out,
                          "irregular stream (no regular sampling rate)")
    for sig in raw:
        _physio(out, sig, raw_dir / f"{stem}_recording-{_safe(sig.info.name)}_physio")
    _events_tsv(out, raw_dir / f"{stem}_events.tsv", rec)
    derived_signals = [s for s in signals if s.info.derived]
    if not derived_signals:
        return
    root = private_dir(out_dir / DERIVATIVES, inside=out_dir)
    description = root / "dataset_description.json"
    if not os.path.lexists(description):
        _write_json(out, description, {
            "Name": "biofeed derived streams", "BIDSVersion": "1.10.0",
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "biofeed", "Version": __version__,
                             "Description": "live signal processing during the session"}]},
            if_missing=True)
    folder = private_dir(root / folder, inside=out_dir)
    for sig in derived_signals:
        info = sig.info
        base = folder / f"{stem}{_derived_entities(rec, info.name)}"
        description = (f"{DERIVED_ROWS.get(info.kind, info.kind)}; biofeed stream {info.name} "
                       f"(kind {info.kind}, from {info.device})")
        if info.regular:
            _physio(out, sig, Path(f"{base}_physio"), description)
        else:
            _derived_table(out, sig, Path(f"{base}_events"), description)


# -- EDF+ ------------------------------------------------------------------------------------


def _edf_limit(x: float, up: bool) -> float:
    """``x`` rounded outwards to a number the 8-character EDF header field holds exactly."""
    decimals = max(0, 8 - len(str(int(abs(x)))) - 2)  # sign and decimal point take 2
    scale = 10.0 ** decimals
    return float((np.ceil if up else np.floor)(x * scale) / scale)


def _edf_channel(sig: Signal, column: np.ndarray, label: str, unit: str) -> dict:
    finite = column[np.isfinite(column)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if hi - lo < 1e-6:
        lo, hi = lo - 1.0, hi + 1.0
    return {"label": label[:16], "dimension": unit[:8], "sample_frequency": sig.fs,
            "physical_min": _edf_limit(lo, up=False), "physical_max": _edf_limit(hi, up=True),
            "digital_min": -32768, "digital_max": 32767,
            "transducer": f"biofeed:{sig.info.kind}", "prefilter": ""}


def _annotation(kind: str, label: str, payload: dict) -> str:
    """``<kind>:<label> | key=value ...`` with the payload fields that fit in
    :data:`EDF_ANNOTATION_BYTES` (in :data:`EVENT_FIELDS` order, then the others; empty ones
    and those too long left out); control characters as spaces, the label cut to fit."""
    def printable(text: str) -> str:
        return re.sub(r"[\x00-\x1f\x7f]", " ", text)

    rank = {key: i for i, key in enumerate(EVENT_FIELDS)}
    text, sep = printable(f"{kind}:{label}"), " | "
    for key in sorted(payload, key=lambda k: rank.get(k, len(rank))):
        if payload[key] in (None, ""):
            continue
        longer = f"{text}{sep}{printable(f'{key}={_cell(payload[key])}')}"
        if len(longer.encode()) <= EDF_ANNOTATION_BYTES:
            text, sep = longer, " "
    return text.encode()[:EDF_ANNOTATION_BYTES].decode(errors="ignore")


def _edf(rec: Recording, out_dir: Path, stem: str, derived: bool, out: Exported) -> None:
    """One EDF+ file and the events table beside it; samples are quantised to 16 bits between
    each channel's min and max, every signal cut to the data records all signals fill."""
    import pyedflib

    signals = _skip_irregular(_streams(rec, out, derived), out, "irregular stream: EDF+ signals "
                              "need a sampling rate (bids and csv export it)")
    if not signals:
        raise ValueError(f"{rec.path}: no regular stream with samples to write as EDF+ signals "
                         f"(skipped: {out.skipped}); export as bids or csv")
    headers, data = [], []
    for sig in signals:
        values = _values(sig)
        for i, (ch, (_, unit, _)) in enumerate(zip(sig.channels, _columns(sig.info))):
            label = sig.info.name if values.shape[1] == 1 else f"{sig.info.name}.{ch}"
            headers.append(_edf_channel(sig, values[:, i], label, unit))
            data.append(values[:, i])
    path = out_dir / f"{stem}.edf"
    temp = out._stage.path(path)   # 0600, empty; pyedflib writes into it, published at the end
    out.files.append(path)
    writer = pyedflib.EdfWriter(str(temp), len(headers), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(headers)     # sets the data record duration from the rates
        per_record = [h["sample_frequency"] * writer.record_duration for h in headers]
        records = min(int(len(d) // n) for d, n in zip(data, per_record))
        events = rec.events
        if len(events) > records * EDF_ANNOTATION_SIGNALS:
            raise ValueError(f"{path}: {len(events)} events do not fit in {records} EDF+ data "
                             f"record(s) (at most {EDF_ANNOTATION_SIGNALS} per record)")
        writer.set_number_of_annotation_signals(max(1, math.ceil(len(events) / max(records, 1))))
        if "start_utc" in rec.meta or "start_local" in rec.meta:
            # EDF headers hold whole seconds; sample and annotation times stay relative to it.
            start = (rec.start_utc if "start_utc" in rec.meta
                     else datetime.fromisoformat(rec.meta["start_local"])).replace(microsecond=0)
            writer.setStartdatetime(start.astimezone(timezone.utc).replace(tzinfo=None) if start.tzinfo
                                    else start)
        writer.writeSamples([np.nan_to_num(d[:records * round(n)], nan=h["physical_min"])
                             for d, n, h in zip(data, per_record, headers)])
        for ev in events.itertuples():
            writer.writeAnnotation(ev.onset, ev.duration if ev.duration > 0 else -1,
                                   _annotation(ev.kind, ev.label, ev.payload))
    finally:
        writer.close()
    _events_tsv(out, out_dir / f"{stem}_events.tsv", rec)


# -- CSV -------------------------------------------------------------------------------------


def _csv(rec: Recording, out_dir: Path, stem: str, derived: bool, out: Exported) -> None:
    """A CSV per stream (``time_s`` in s, then the channels) and one of the events."""
    for sig in _streams(rec, out, derived):
        info = sig.info
        if info.derived:
            names = [f"{name} [{unit}]" if unit else name for name, unit, _ in _columns(info)]
        else:
            names = [info.name if len(info.channels) == 1 else f"{info.name}:{ch}"
                     for ch in info.channels]
        _write_frame(out, out_dir / f"{stem}_{_safe(info.name)}.csv", _frame(sig, names, "time_s"), ",")
    _write_events(out, out_dir / f"{stem}_events.csv", rec, ",", "label")


def export(rec: Recording, out_dir: str | os.PathLike, fmt: str, stem: str | None = None,
           derived: bool = True) -> Exported:
    """Write ``rec``'s streams and events to ``out_dir`` as ``fmt`` (one of :data:`FORMATS`).

    ``stem`` starts every file name (default: the recording's file stem; for BIDS, the dataset
    layout of :func:`bids_names`); a stem with a path separator or ``..``, or absolute, is
    refused (``ValueError``). ``derived=False`` leaves the derived streams out. Files are
    created 0600 (folders 0700), never over existing ones, and all published together when
    complete (module notes); on an error nothing written is left.
    """
    if fmt not in FORMATS:
        raise ValueError(f"export format {fmt!r} is not one of {FORMATS}")
    out_dir = Path(out_dir)
    if stem is not None:
        stem = check_name(stem, out_dir)
    elif fmt != "bids":
        stem = _safe(rec.path.stem) or "recording"
    private_dir(out_dir)
    out = Exported()
    try:
        with Staging(IF_EXISTS) as out._stage:
            {"bids": _bids, "edf": _edf, "csv": _csv}[fmt](rec, out_dir, stem, derived, out)
        published = set(out._stage.published)
        out.files = [p for p in out.files if p in published]
    except BaseException:
        out.files.clear()
        raise
    finally:
        out._stage = None
    return out


def to_session_file(rec: Recording, out_dir: str | os.PathLike) -> Path:
    """Write ``rec`` (e.g. an imported recording) as a ``.biofeed`` session file in ``out_dir``;
    returns its path. The metadata records where it came from.

    Atomic: the recorder writes into a hidden temporary folder in ``out_dir``
    (``.import.<token>.part``, 0700); once it is closed (its WAL checkpointed and gone) the file
    is published in ``out_dir`` under its name, never over an existing file; a killed import
    leaves no session file, only the temporary folder, which the next import removes.
    """
    out_dir = private_dir(out_dir)
    with Staging("biofeed never overwrites a recording") as stage:
        folder = stage.folder(out_dir, "import")
        path = _record(rec, folder)
        for extra in ("-wal", "-shm", "-journal"):
            if os.path.lexists(f"{path}{extra}"):
                raise RuntimeError(f"{path}: SQLite left {path.name}{extra}: the session file "
                                   "is not complete")
        final = stage.adopt(folder, path)
    return final


def _record(rec: Recording, out_dir: Path) -> Path:
    """``rec`` recorded as a session file in ``out_dir``; returns its path."""
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
