"""OpenSignals (PLUX/BITalino) text files.

Header lines start with ``#``: ``# OpenSignals Text File Format``, then one JSON object keyed by
the device's MAC address (``sampling rate`` Hz, ``column`` names, ``label`` of the analog
columns, ``sensor`` type of each label, ``resolution`` bits per column, ``date``, ``time``),
then ``# EndOfHeader``. Samples follow, one tab-separated line each, raw ADC values.
ECG and EDA go through the BITalino transfer functions (specs.md section 3) to mV and uS;
other sensors whose type suggests a kind (PZT respiration, PPG/BVP, ACC) stay in ADC units.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...devices.bitalino import TRANSFER
from ..reader import Recording
from .common import FormatError, guess_kind, import_meta, regular_signal, require, unique_name

MAGIC = "# OpenSignals Text File Format"


def _header(path: Path, lines: list[str]) -> tuple[dict, int]:
    """The one device's header block and the index of the first sample line."""
    require(bool(lines) and lines[0].strip() == MAGIC, path,
            f"first line is {lines[0].strip()[:60]!r}, expected {MAGIC!r}" if lines else "file is empty")
    end = next((i for i, line in enumerate(lines) if line.strip() == "# EndOfHeader"), None)
    require(end is not None, path, "no '# EndOfHeader' line")
    try:
        devices = json.loads(lines[1].lstrip("#").strip())
    except (json.JSONDecodeError, IndexError) as exc:
        raise FormatError(f"{path}: line 2 is not the JSON header ({exc})") from None
    require(isinstance(devices, dict) and len(devices) == 1, path,
            "header describes no device or several; expected exactly one")
    (mac, header), = devices.items()
    for key in ("sampling rate", "column", "label", "sensor", "resolution"):
        require(key in header, path, f"header of device {mac} lacks field {key!r}")
    return header | {"mac": mac}, end + 1


def read_opensignals(path: Path) -> Recording:
    """Import an OpenSignals text file; times in s from the first sample."""
    require(path.is_file(), path, "no such OpenSignals file")
    lines = path.read_text(errors="replace").splitlines()
    header, first = _header(path, lines)
    try:
        data = np.loadtxt(lines[first:], delimiter="\t", ndmin=2)
    except ValueError as exc:
        raise FormatError(f"{path}: non-numeric sample line ({exc})") from None
    columns, rate = header["column"], float(header["sampling rate"])
    require(data.shape[1] == len(columns), path,
            f"sample lines have {data.shape[1]} values, the header's column lists {len(columns)}")
    signals, skipped = [], []
    for label, sensor in zip(header["label"], header["sensor"]):
        require(label in columns, path, f"label {label!r} is not among the columns {columns}")
        col = columns.index(label)
        kind = guess_kind(sensor)
        if kind is None:
            skipped.append(f"{label}:{sensor}")
            continue
        adc = data[:, col]
        unit, transfer = TRANSFER.get(kind, ("a.u.", None))
        values = adc if transfer is None else transfer(adc, bits=int(header["resolution"][col]))
        signals.append(regular_signal(unique_name(kind, signals), kind, unit, rate, values,
                                      channels=(f"{label} {sensor}",), device=header["mac"]))
    require(bool(signals), path, f"no sensor of a known kind (skipped {skipped})")
    local_start = f"{header.get('date', '')} {header.get('time', '')}".strip()
    return Recording.from_signals(signals, None, import_meta(
        path, "opensignals", skipped=skipped, device=header.get("device", ""),
        local_start=local_start), path)
