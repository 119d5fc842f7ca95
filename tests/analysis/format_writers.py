"""Small writers of other tools' formats for the import tests, each per its specification
(imported as ``format_writers``): XDF, Empatica E4 exports, OpenSignals text, BIDS physio."""
from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

# -- XDF (https://github.com/sccn/xdf/wiki/Specifications) ------------------------------------


def _varlen(n: int) -> bytes:
    """XDF variable-length integer: 1 byte giving the width (1, 4 or 8), then the value."""
    if n < 256:
        return b"\x01" + struct.pack("<B", n)
    if n < 2 ** 32:
        return b"\x04" + struct.pack("<I", n)
    return b"\x08" + struct.pack("<Q", n)


def _chunk(tag: int, content: bytes) -> bytes:
    return _varlen(len(content) + 2) + struct.pack("<H", tag) + content


def xdf_stream_header(sid: int, name: str, type_: str, n: int, srate: float, fmt: str,
                      labels=(), unit: str = "") -> bytes:
    chans = "".join(f"<channel><label>{escape(label)}</label><unit>{unit}</unit></channel>"
                    for label in labels)
    xml = (f'<?xml version="1.0"?><info><name>{escape(name)}</name><type>{type_}</type>'
           f"<channel_count>{n}</channel_count><nominal_srate>{srate}</nominal_srate>"
           f"<channel_format>{fmt}</channel_format><created_at>0</created_at>"
           f"<desc><channels>{chans}</channels></desc></info>")
    return _chunk(2, struct.pack("<I", sid) + xml.encode())


def xdf_samples(sid: int, times: np.ndarray, values, dtype: str = "<f8") -> bytes:
    """A Samples chunk: every sample with its timestamp; values numeric (``dtype``, double64 by
    default) or strings."""
    body = [struct.pack("<I", sid), _varlen(len(times))]
    for t, row in zip(times, values):
        body.append(b"\x08" + struct.pack("<d", t))
        if isinstance(row, str):
            data = row.encode()
            body.append(_varlen(len(data)) + data)
        else:
            body.append(np.asarray(row, dtype=dtype).tobytes())
    return _chunk(3, b"".join(body))


def xdf_footer(sid: int, times: np.ndarray) -> bytes:
    xml = (f'<?xml version="1.0"?><info><first_timestamp>{times[0]}</first_timestamp>'
           f"<last_timestamp>{times[-1]}</last_timestamp><sample_count>{len(times)}</sample_count>"
           "</info>")
    return _chunk(6, struct.pack("<I", sid) + xml.encode())


def write_xdf(path: Path, ecg: np.ndarray, eda: np.ndarray, fs: float, markers: list[tuple[float, str]],
              t0: float = 1000.0) -> None:
    """An XDF file as LabRecorder writes it: ECG and EDA streams at ``fs`` Hz (double64, LSL
    clock from ``t0`` s) and a string marker stream."""
    times = t0 + np.arange(len(ecg)) / fs
    mt = np.array([t0 + t for t, _ in markers])
    parts = [b"XDF:", _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>'),
             xdf_stream_header(1, "BioAmp", "ECG", 1, fs, "double64", ["ECG"], "mV"),
             xdf_stream_header(2, "GSR", "EDA", 1, fs, "double64", ["EDA"], "uS"),
             xdf_stream_header(3, "Markers", "Markers", 1, 0, "string", ["label"])]
    half = len(times) // 2   # two Samples chunks per stream, as a recorder writes them
    for sl in (slice(0, half), slice(half, None)):
        parts += [xdf_samples(1, times[sl], ecg[sl, None]), xdf_samples(2, times[sl], eda[sl, None])]
    parts.append(xdf_samples(3, mt, [label for _, label in markers]))
    parts += [xdf_footer(1, times), xdf_footer(2, times), xdf_footer(3, mt)]
    path.write_bytes(b"".join(parts))


# -- Empatica E4 export --------------------------------------------------------------------------


def write_e4(folder: Path, start: float, eda: np.ndarray, bvp: np.ndarray, acc: np.ndarray,
             ibi: list[tuple[float, float]], tags: list[float]) -> None:
    """An E4 export folder: EDA 4 Hz (uS), BVP 64 Hz, ACC 32 Hz (1/64 g), HR 1 Hz, TEMP 4 Hz,
    IBI (s since start, s) and tags (UNIX s)."""
    folder.mkdir(parents=True, exist_ok=True)

    def regular(name, rate, values, columns=1):
        head = ", ".join([f"{start:.6f}"] * columns) + "\n" + ", ".join([f"{rate:.6f}"] * columns) + "\n"
        rows = "\n".join(", ".join(f"{v:.6f}" for v in np.atleast_1d(r)) for r in values)
        (folder / name).write_text(head + rows + "\n")

    regular("EDA.csv", 4.0, eda)
    regular("BVP.csv", 64.0, bvp)
    regular("ACC.csv", 32.0, acc.astype(int), columns=3)
    regular("TEMP.csv", 4.0, np.full(len(eda), 33.5))
    regular("HR.csv", 1.0, np.full(len(eda) // 4, 70.0))
    (folder / "IBI.csv").write_text(f"{start:.6f}, IBI\n" + "".join(f"{t:.6f},{v:.6f}\n" for t, v in ibi))
    (folder / "tags.csv").write_text("".join(f"{t:.2f}\n" for t in tags))


# -- OpenSignals text file -----------------------------------------------------------------------


def write_opensignals(path: Path, ecg_adc: np.ndarray, eda_adc: np.ndarray, fs: int) -> None:
    """An OpenSignals (r)evolution text file of a BITalino with ECG on A1 and EDA on A2 (10 bit)."""
    header = {"98:D3:71:FD:61:F0": {
        "sensor": ["ECG", "EDA"], "device name": "98:D3:71:FD:61:F0", "column":
        ["nSeq", "I1", "I2", "O1", "O2", "A1", "A2"], "sync interval": 2, "time": "10:41:14.803",
        "comments": "", "device connection": "BTH98:D3:71:FD:61:F0", "channels": [1, 2],
        "date": "2019-1-22", "mode": 0, "digital IO": [0, 0, 1, 1], "firmware version": 1281,
        "device": "bitalino_rev", "position": 0, "sampling rate": fs, "label": ["A1", "A2"],
        "resolution": [4, 1, 1, 1, 1, 10, 10], "special": [{}, {}]}}
    lines = ["# OpenSignals Text File Format", "# " + json.dumps(header), "# EndOfHeader"]
    for i, (a, b) in enumerate(zip(ecg_adc, eda_adc)):
        lines.append(f"{i % 16}\t0\t0\t0\t0\t{int(a)}\t{int(b)}")
    path.write_text("\n".join(lines) + "\n")


# -- BIDS physio (specs.md section 5) ------------------------------------------------------------


def write_bids_physio(folder: Path, stem: str, fs: float, start: float, columns: dict[str, np.ndarray],
                      units: dict[str, str]) -> Path:
    """``<stem>_physio.tsv.gz`` (no header line) + ``_physio.json``; returns the tsv.gz path."""
    folder.mkdir(parents=True, exist_ok=True)
    data = np.column_stack(list(columns.values()))
    path = folder / f"{stem}_physio.tsv.gz"
    with gzip.open(path, "wt") as f:
        for row in data:
            f.write("\t".join(repr(float(v)) for v in row) + "\n")
    side = {"SamplingFrequency": fs, "StartTime": start, "Columns": list(columns)}
    side |= {c: {"Units": units[c]} for c in columns if c in units}
    (folder / f"{stem}_physio.json").write_text(json.dumps(side))
    return path


# -- EDF+ (specs.md section 6; Kemp & Olivan 2003) ---------------------------------------------


def _field(value, width: int) -> bytes:
    text = str(value).encode("latin-1")
    assert len(text) <= width, (value, width)
    return text.ljust(width)


def write_edf_plus(path: Path, signals: list[tuple[str, str, int, np.ndarray]],
                   annotations: list[tuple[float, float, str]], record_s: float = 1.0,
                   n_records: int | None = None, annotation_bytes: int = 120) -> Path:
    """An EDF+C file written byte by byte: ``signals`` as ``(label, unit, samples per record,
    digital int16 values)`` with physical = digital / 10 (digital range +-32767 maps to
    +-3276.7), then an ``EDF Annotations`` signal whose first record holds ``annotations``
    ``(onset s, duration s, text)`` after each record's time-keeping TAL. ``n_records`` defaults
    to what the signals fill (1 for annotations alone)."""
    if n_records is None:
        n_records = max([len(v) // n for _, _, n, v in signals], default=1)
    labels = [s[0] for s in signals] + ["EDF Annotations"]
    units = [s[1] for s in signals] + [""]
    per = [s[2] for s in signals] + [annotation_bytes // 2]
    ns = len(labels)
    head = (_field("0", 8) + _field("X X X X", 80)
            + _field("Startdate 03-DEC-2026 X X biofeed_test", 80)
            + _field("03.12.26", 8) + _field("14.05.00", 8) + _field(256 * (ns + 1), 8)
            + _field("EDF+C", 44) + _field(n_records, 8) + _field(record_s, 8) + _field(ns, 4))
    head += b"".join(_field(v, 16) for v in labels) + b" " * 80 * ns
    head += b"".join(_field(u, 8) for u in units)
    head += b"".join(_field(v, 8) for v in ["-3276.7"] * (ns - 1) + ["-1"])
    head += b"".join(_field(v, 8) for v in ["3276.7"] * (ns - 1) + ["1"])
    head += _field(-32767, 8) * (ns - 1) + _field(-32768, 8)
    head += _field(32767, 8) * ns + b" " * 80 * ns
    head += b"".join(_field(n, 8) for n in per) + b" " * 32 * ns
    body = b""
    for r in range(n_records):
        for _, _, n, values in signals:
            body += np.asarray(values[r * n:(r + 1) * n], dtype="<i2").tobytes()
        tal = f"+{r * record_s:g}\x14\x14\x00".encode()
        if r == 0:
            tal += b"".join(f"+{on:g}\x15{dur:g}\x14{text}\x14\x00".encode() if dur else
                            f"+{on:g}\x14{text}\x14\x00".encode() for on, dur, text in annotations)
        assert len(tal) <= annotation_bytes
        body += tal.ljust(annotation_bytes, b"\x00")
    path.write_bytes(head + body)
    return path
