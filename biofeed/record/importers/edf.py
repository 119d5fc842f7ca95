"""EDF, EDF+ and BDF(+) files (European Data Format; specs.md section 6), read with pyedflib, or,
when its strict checks refuse a file, leniently byte by byte (:mod:`.edf_raw`; what was forgiven
is listed in ``meta["notes"]``).

Every ordinary signal becomes a single-channel stream named by its label, sampled at its own
rate, in physical units (ECG converted to mV, interval channels to ms). Its kind is the one
biofeed wrote into the transducer field (``biofeed:<kind>``), else guessed from the label;
signals of no known kind are streams of kind ``"generic"`` (a transducer field naming a kind
biofeed does not have is listed in ``meta["skipped"]``). An RR/IBI channel sampled at a fixed
rate (a sample-and-hold interval trace, e.g. 1 Hz) is not one value per beat, so it is kept as
a ``"generic"`` stream in ms and a note says why. Annotations (TALs) become events, also in a
file that holds nothing else; a text ``"<kind>:<label>"`` (as biofeed writes them) gives the
event's kind, any other text is an event of kind ``"annotation"``. When the events table
biofeed writes beside an EDF export (``<stem>_events.tsv``) is there, the events come from it
instead, with their whole payloads (annotations hold only what fits in 40 bytes). Interrupted
recordings (EDF+D) are read as contiguous.
"""
from __future__ import annotations

import re
from pathlib import Path

from ...stream import KINDS
from ..reader import Recording, events_frame
from .common import (FormatError, guess_kind, import_meta, read_events_table, regular_signal, require,
                     to_core_unit, unique_name)
from .edf_raw import EdfContent, read_raw

#: Transducer field written by :mod:`biofeed.record.export` to carry the stream kind.
TRANSDUCER_PREFIX = "biofeed:"
_KIND_TEXT = re.compile(r"^([a-z_]+):(.*)$", re.S)


def _with_pyedflib(path: Path) -> EdfContent:
    """The file's content as pyedflib reads it; OSError when pyedflib refuses the file."""
    import pyedflib

    edf = pyedflib.EdfReader(str(path))
    try:
        out = EdfContent(start=edf.getStartdatetime().isoformat())
        for i, label in enumerate(edf.getSignalLabels()):
            out.signals.append((label, edf.getTransducer(i).strip(), edf.getPhysicalDimension(i),
                                edf.getSampleFrequency(i), edf.readSignal(i)))
        out.annotations = list(zip(*edf.readAnnotations()))
    finally:
        edf.close()
    return out


def read_edf(path: Path) -> Recording:
    """Import an EDF/EDF+/BDF file; sample times in s from the file start."""
    require(path.is_file(), path, "no such EDF/BDF file")
    try:
        content = _with_pyedflib(path)
    except OSError as exc:
        strict = str(exc).removeprefix(f"{path}: ")
        try:
            content = read_raw(path)
        except FormatError as lenient:
            raise FormatError(f"{path}: not a readable EDF/BDF file (pyedflib: {strict}; read "
                              f"leniently: {str(lenient).removeprefix(f'{path}: ')})") from None
        content.notes.insert(0, f"read leniently: pyedflib refused the file ({strict})")
    signals, skipped, notes = [], [], content.notes
    for label, transducer, unit, rate, values in content.signals:
        kind = (transducer[len(TRANSDUCER_PREFIX):] if transducer.startswith(TRANSDUCER_PREFIX)
                else guess_kind(label)) or "generic"
        if kind not in KINDS:
            skipped.append(f"{label} (transducer {transducer!r}: no such stream kind)")
            continue
        require(rate > 0, path, f"signal {label!r} has sample frequency {rate}, expected > 0 Hz")
        if kind == "rr":
            unit, values = to_core_unit("rr", unit, values)
            kind = "generic"
            notes.append(f"{label}: an interval channel sampled at {rate:g} Hz, not one value per "
                         "beat: kept as a generic stream in ms")
        signals.append(regular_signal(unique_name(label, signals), kind, unit, rate, values,
                                      channels=(label,), device="edf"))
    require(bool(signals) or bool(content.annotations), path,
            f"no ordinary signal and no annotation (skipped {skipped})")
    meta = import_meta(path, "edf", start_local=content.start, skipped=skipped,
                       **({"notes": notes} if notes else {}))
    companion = path.with_name(f"{path.stem}_events.tsv")
    if companion.is_file():
        return Recording.from_signals(signals, read_events_table(companion),
                                      meta | {"events_from": companion.name}, path)
    rows = []
    for i, (onset, duration, text) in enumerate(content.annotations):
        match = _KIND_TEXT.match(text)
        kind, label = (match.group(1), match.group(2)) if match else ("annotation", text)
        # biofeed's export appends " | key=value ..." (the payload fields that fit; the whole
        # payload is in the events table beside the file): the label is what comes before
        label = label.split(" | ", 1)[0] if match else label
        # TAL onsets have 100 us resolution; pyedflib returns them with float noise below that.
        rows.append((round(float(onset), 4) + 0.0, max(float(duration), 0.0), label, kind, {}, i))
    return Recording.from_signals(signals, events_frame(rows), meta, path)
