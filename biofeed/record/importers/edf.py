"""EDF, EDF+ and BDF(+) files (European Data Format; specs.md section 6), read with pyedflib.

Every ordinary signal becomes a single-channel stream named by its label, sampled at its own
rate, in physical units (ECG converted to mV). Its kind is the one biofeed wrote into the
transducer field (``biofeed:<kind>``), else guessed from the label; signals of no known kind
are streams of kind ``"generic"`` (a transducer field naming a kind biofeed does not have is
listed in ``meta["skipped"]``). Annotations (TALs) become events; a text
``"<kind>:<label>"`` (as biofeed writes them) gives the event's kind, any other text is an
event of kind ``"annotation"``. When the events table biofeed writes beside an EDF export
(``<stem>_events.tsv``) is there, the events come from it instead, with their whole payloads
(annotations hold only what fits in 40 bytes). Interrupted recordings (EDF+D) are read as
contiguous.
"""
from __future__ import annotations

import re
from pathlib import Path

from ...stream import KINDS
from ..reader import Recording, events_frame
from .common import (FormatError, guess_kind, import_meta, read_events_table, regular_signal,
                     require, unique_name)

#: Transducer field written by :mod:`biofeed.record.export` to carry the stream kind.
TRANSDUCER_PREFIX = "biofeed:"
_KIND_TEXT = re.compile(r"^([a-z_]+):(.*)$", re.S)


def read_edf(path: Path) -> Recording:
    """Import an EDF/EDF+/BDF file; sample times in s from the file start."""
    import pyedflib

    require(path.is_file(), path, "no such EDF/BDF file")
    try:
        edf = pyedflib.EdfReader(str(path))
    except OSError as exc:
        raise FormatError(f"{path}: not a readable EDF/BDF file (pyedflib: {exc})") from None
    try:
        signals, skipped = [], []
        for i, label in enumerate(edf.getSignalLabels()):
            transducer = edf.getTransducer(i).strip()
            kind = (transducer[len(TRANSDUCER_PREFIX):] if transducer.startswith(TRANSDUCER_PREFIX)
                    else guess_kind(label)) or "generic"
            if kind not in KINDS:
                skipped.append(f"{label} (transducer {transducer!r}: no such stream kind)")
                continue
            rate = edf.getSampleFrequency(i)
            require(rate > 0, path, f"signal {label!r} has sample frequency {rate}, expected > 0 Hz")
            signals.append(regular_signal(unique_name(label, signals), kind,
                                          edf.getPhysicalDimension(i), rate,
                                          edf.readSignal(i), channels=(label,), device="edf"))
        onsets, durations, texts = edf.readAnnotations()
        start = edf.getStartdatetime().isoformat()
    finally:
        edf.close()
    require(bool(signals), path, f"no ordinary signal (skipped {skipped})")
    meta = import_meta(path, "edf", start, skipped=skipped)
    companion = path.with_name(f"{path.stem}_events.tsv")
    if companion.is_file():
        return Recording.from_signals(signals, read_events_table(companion),
                                      meta | {"events_from": companion.name}, path)
    rows = []
    for i, (onset, duration, text) in enumerate(zip(onsets, durations, texts)):
        match = _KIND_TEXT.match(text)
        kind, label = (match.group(1), match.group(2)) if match else ("annotation", text)
        # biofeed's export appends " | key=value ..." (the payload fields that fit; the whole
        # payload is in the events table beside the file): the label is what comes before
        label = label.split(" | ", 1)[0] if match else label
        # TAL onsets have 100 us resolution; pyedflib returns them with float noise below that.
        rows.append((round(float(onset), 4) + 0.0, max(float(duration), 0.0), label, kind, {}, i))
    return Recording.from_signals(signals, events_frame(rows), meta, path)
