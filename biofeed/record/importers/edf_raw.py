"""EDF(+) and BDF(+) read byte by byte, leniently: the fallback for files that pyedflib's strict
checks refuse but whose content is readable (Kemp et al. 1992; Kemp & Olivan 2003, EDF+;
BioSemi's 24-bit BDF).

What is forgiven, each stated in the returned notes: a header-bytes field that disagrees with
``256 x (signals + 1)``; a record count of ``-1`` or one that disagrees with the file size (the
complete records present are read; the bytes of an incomplete last record are reported, never
guessed); text outside ASCII (read as Latin-1); a start date or time with other separators, or
none (the start is then unknown); a signal whose digital or physical range is empty (its raw
digital values are returned, gain 1). Not forgiven: a header shorter than its fields, a
non-numeric signal count, rate or samples per record, a record duration that is not > 0 s while
there are ordinary signals.

Physical values follow the specification:
``(digital - digital_min) * (physical_max - physical_min) / (digital_max - digital_min) + physical_min``.
Annotations are the time-stamped annotation lists (TALs) of ``EDF Annotations`` / ``BDF
Annotations`` signals: ``+onset[\\x15duration]\\x14text\\x14...\\x00``; each record's first TAL
(time keeping, no text) is not an event.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from .common import FormatError, require

_SIGNAL_FIELDS = (("label", 16), ("transducer", 80), ("dimension", 8), ("physical_min", 8),
                  ("physical_max", 8), ("digital_min", 8), ("digital_max", 8), ("prefilter", 80),
                  ("samples", 8), ("reserved", 32))
_TAL = re.compile(rb"([+-]\d+(?:\.\d*)?)(?:\x15(\d+(?:\.\d*)?))?\x14(.*?)\x14?$", re.S)


@dataclass
class EdfContent:
    """What an EDF/BDF file holds: ordinary signals as ``(label, transducer, unit, rate Hz,
    physical values)``, annotations as ``(onset s, duration s or -1, text)``, the start (ISO
    local time, or None), and notes on what was forgiven or left out."""

    signals: list[tuple[str, str, str, float, np.ndarray]] = field(default_factory=list)
    annotations: list[tuple[float, float, str]] = field(default_factory=list)
    start: str | None = None
    notes: list[str] = field(default_factory=list)


def _number(path: Path, text: str, what: str, kind=float):
    try:
        return kind(text.strip())
    except ValueError:
        raise FormatError(f"{path}: header field {what} is {text.strip()!r}, expected a number") from None


def _start(date: str, time: str, recording: str) -> str | None:
    """The start as ISO text from ``dd.mm.yy`` and ``hh.mm.ss`` (any separators; EDF+'s
    ``Startdate dd-MMM-yyyy`` in the recording field gives the century), or None."""
    d, t = re.findall(r"\d+", date), re.findall(r"\d+", time)
    if len(d) != 3 or len(t) != 3:
        return None
    day, month, year = map(int, d)
    year += 1900 if year >= 85 else 2000                      # EDF's 1985-2084 clipping date
    plus = re.search(r"Startdate \d{2}-[A-Z]{3}-(\d{4})", recording)
    if plus:
        year = int(plus.group(1))
    try:
        return datetime(year, month, day, *map(int, t)).isoformat()
    except ValueError:
        return None


def read_raw(path: Path) -> EdfContent:
    """The content of the EDF/BDF file ``path`` (module notes); :class:`FormatError` when even a
    lenient reading cannot place its samples."""
    data = path.read_bytes()
    require(len(data) >= 256, path, f"{len(data)} bytes, shorter than the 256-byte EDF header")
    bdf = data[:8] == b"\xffBIOSEMI"
    text = data[:256].decode("latin-1")
    ns = _number(path, text[252:256], "'number of signals' (bytes 252-255)", int)
    require(ns >= 0, path, f"header field 'number of signals' is {ns}, expected >= 0")
    head_len = 256 * (ns + 1)
    require(len(data) >= head_len, path, f"{len(data)} bytes, shorter than the header of {ns} "
                                         f"signals ({head_len} bytes)")
    out = EdfContent(start=_start(text[168:176], text[176:184], text[88:168]))
    if out.start is None:
        out.notes.append(f"start date/time {text[168:184]!r} unreadable: start unknown")
    stated = text[184:192].strip()
    if stated != str(head_len):
        out.notes.append(f"header bytes field says {stated!r}, the {ns} signals need {head_len}")
    fields, offset = {}, 256
    for name, width in _SIGNAL_FIELDS:
        fields[name] = [data[offset + i * width: offset + (i + 1) * width].decode("latin-1").strip()
                        for i in range(ns)]
        offset += width * ns
    width = 3 if bdf else 2
    per = [_number(path, v, f"'samples per record' of signal {i + 1}", int)
           for i, v in enumerate(fields["samples"])]
    require(all(n > 0 for n in per) or ns == 0, path,
            f"header field 'samples per record' is {per}, expected > 0 for every signal")
    record_bytes = sum(per) * width
    duration = _number(path, text[244:252], "'duration of a data record' (bytes 244-251)")
    stated_n = _number(path, text[236:244], "'number of data records' (bytes 236-243)", int)
    body = len(data) - head_len
    n = body // record_bytes if record_bytes else 0
    if stated_n >= 0 and n > stated_n:
        out.notes.append(f"{body - stated_n * record_bytes} bytes after the {stated_n} records "
                         "the header states: ignored")
        n = stated_n
    elif n != stated_n:
        out.notes.append(f"header states {stated_n} data records, the file holds {n} complete ones")
    if record_bytes and body - n * record_bytes > 0 and (stated_n < 0 or n < stated_n):
        out.notes.append(f"last {body - n * record_bytes} bytes are an incomplete data record: not read")
    raw = np.frombuffer(data, dtype=np.uint8, count=n * record_bytes, offset=head_len)
    records = raw.reshape(n, record_bytes) if record_bytes else raw.reshape(0, 0)
    annotation = {"EDF Annotations", "BDF Annotations"}
    start = 0
    for i in range(ns):
        block = records[:, start * width:(start + per[i]) * width]
        start += per[i]
        label = fields["label"][i]
        if label in annotation:
            out.annotations += _tals(block.reshape(-1, block.shape[1]))
            continue
        require(duration > 0, path, f"header field 'duration of a data record' is {duration}, "
                                    "expected > 0 s for ordinary signals")
        digital = _digital(block.reshape(-1), bdf)
        out.signals.append((label, fields["transducer"][i], fields["dimension"][i],
                            per[i] / duration, _physical(path, fields, i, digital, out.notes)))
    return out


def _digital(flat: np.ndarray, bdf: bool) -> np.ndarray:
    """Little-endian int16 (EDF) or int24 (BDF) samples as float64."""
    if not bdf:
        return flat.view("<i2").astype(np.float64)
    b = flat.reshape(-1, 3).astype(np.int32)
    v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    return np.where(v >= 1 << 23, v - (1 << 24), v).astype(np.float64)


def _physical(path: Path, fields: dict, i: int, digital: np.ndarray, notes: list[str]) -> np.ndarray:
    label = fields["label"][i]
    pmin, pmax, dmin, dmax = (_number(path, fields[k][i], f"{k} of signal {label!r}")
                              for k in ("physical_min", "physical_max", "digital_min", "digital_max"))
    if dmax == dmin or pmax == pmin:
        notes.append(f"signal {label!r}: empty digital or physical range "
                     f"({dmin:g}..{dmax:g}, {pmin:g}..{pmax:g}): raw digital values")
        return digital
    return (digital - dmin) * ((pmax - pmin) / (dmax - dmin)) + pmin


def _tals(records: np.ndarray) -> list[tuple[float, float, str]]:
    """The annotations in the bytes of an annotation signal, record by record."""
    out = []
    for record in records:
        for tal in bytes(record).split(b"\x00"):
            match = _TAL.match(tal)
            if not match:
                continue
            onset, duration = float(match.group(1)), float(match.group(2) or -1)
            texts = [t.decode("utf-8", "replace") for t in match.group(3).split(b"\x14")]
            out += [(onset, duration, t) for t in texts if t]
    return out
