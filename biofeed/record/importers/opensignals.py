"""OpenSignals (PLUX: BITalino, biosignalsplux) text files.

Header lines start with ``#``: ``# OpenSignals Text File Format`` (later versions add
``. Version 1`` and so on), then one JSON object keyed by each device's MAC address
(``sampling rate`` Hz, ``column`` names, ``label`` of the analog columns, ``sensor`` type of
each label, ``resolution`` in bits, ``device`` family, ``position`` of the device's columns
in the sample lines, ``convertedValues`` when the samples are already in physical units,
``date``, ``time``), then ``# EndOfHeader``. Samples follow, one tab-separated line each
(OpenSignals ends each line with a tab), the devices' columns side by side in order of
``position``. ``resolution`` lists every column (BITalino) or only the analog channels
(biosignalsplux).

ECG and EDA go through the transfer functions PLUX publishes for the device family, to mV and
uS: BITalino ECG ``(ADC / 2^n - 0.5) 3.3 V / 1100``, EDA ``ADC / 2^n 3.3 V / 0.132``
(:mod:`biofeed.devices.bitalino`); biosignalsplux ECG ``(ADC / 2^n - 0.5) 3 V / 1019``, EDA
``ADC / 2^n 3 V / 0.12`` (PLUX ECG and EDA sensor data sheets). The family is the header's
``device`` (``bitalino...``; ``biosignalsplux``, ``channeller`` and other ``...plux`` hubs);
a header without it is a biosignalsplux when its resolution exceeds BITalino's 10 bits. Other
sensors (PZT respiration, PPG/BVP, ACC, and those of no known kind, as ``"generic"``
streams) keep ADC units. With
several devices, each one's streams are labelled by its device name (``LABEL.ecg``, the
MAC's colons as ``-``), as a dyad's are.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ...devices.bitalino import TRANSFER as BITALINO
from ..reader import Recording
from .common import FormatError, guess_kind, import_meta, regular_signal, require, unique_name

MAGIC = "# OpenSignals Text File Format"


def _plux_ecg_mv(adc: np.ndarray, bits: int) -> np.ndarray:
    """biosignalsplux ECG sensor: ADC -> mV (VCC 3 V, gain 1019)."""
    return (np.asarray(adc, dtype=np.float64) / 2 ** bits - 0.5) * 3.0 / 1019 * 1000


def _plux_eda_us(adc: np.ndarray, bits: int) -> np.ndarray:
    """biosignalsplux EDA sensor: ADC -> uS (VCC 3 V, 0.12)."""
    return np.asarray(adc, dtype=np.float64) / 2 ** bits * 3.0 / 0.12


#: Transfer functions per device family: kind -> (unit, function(adc, bits)).
TRANSFER = {"bitalino": BITALINO,
            "biosignalsplux": {"ecg": ("mV", _plux_ecg_mv), "eda": ("uS", _plux_eda_us)}}


def _family(header: dict, bits: list[int]) -> str:
    """``bitalino`` or ``biosignalsplux`` for a device's header (see the module notes)."""
    name = str(header.get("device", "")).lower()
    if name.startswith("bitalino"):
        return "bitalino"
    if "plux" in name or name == "channeller" or (not name and max(bits, default=0) > 10):
        return "biosignalsplux"
    return "bitalino"


def _devices(path: Path, lines: list[str]) -> tuple[list[tuple[str, dict]], int]:
    """The devices' headers in column order and the index of the first sample line."""
    require(bool(lines) and lines[0].strip().startswith(MAGIC), path,
            f"first line is {lines[0].strip()[:60]!r}, expected {MAGIC!r}" if lines else "file is empty")
    end = next((i for i, line in enumerate(lines) if line.strip() == "# EndOfHeader"), None)
    require(end is not None, path, "no '# EndOfHeader' line")
    try:
        devices = json.loads(lines[1].lstrip("#").strip())
    except (json.JSONDecodeError, IndexError) as exc:
        raise FormatError(f"{path}: line 2 is not the JSON header ({exc})") from None
    require(isinstance(devices, dict) and len(devices) > 0, path,
            "the JSON header describes no device")
    for mac, header in devices.items():
        require(isinstance(header, dict), path, f"header of device {mac} is not an object")
        for key in ("sampling rate", "column", "label", "sensor", "resolution"):
            require(key in header, path, f"header of device {mac} lacks field {key!r}")
        require(len(header["label"]) == len(header["sensor"]), path,
                f"device {mac}: {len(header['label'])} labels for {len(header['sensor'])} sensors")
        res = header["resolution"]
        require(len(res) in (len(header["column"]), len(header["label"])), path,
                f"device {mac}: resolution lists {len(res)} values, expected one per column "
                f"({len(header['column'])}) or per analog channel ({len(header['label'])})")
    order = sorted(devices.items(), key=lambda item: item[1].get("position", 0))
    return order, end + 1


def _samples(path: Path, lines: list[str]) -> np.ndarray:
    """The sample lines as numbers; a trailing tab (as OpenSignals writes) ends a line."""
    rows = [line.rstrip("\t\r\n ").split("\t") for line in lines if line.strip()]
    require(bool(rows), path, "no sample lines after '# EndOfHeader'")
    width = len(rows[0])
    for i, row in enumerate(rows):
        require(len(row) == width, path, f"sample line {i + 1} has {len(row)} values, "
                f"the first has {width}")
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise FormatError(f"{path}: non-numeric sample line ({exc})") from None


def read_opensignals(path: Path) -> Recording:
    """Import an OpenSignals text file; times in s from the first sample."""
    require(path.is_file(), path, "no such OpenSignals file")
    lines = path.read_text(errors="replace").splitlines()
    devices, first = _devices(path, lines)
    data = _samples(path, lines[first:])
    widths = [len(h["column"]) for _, h in devices]
    require(data.shape[1] == sum(widths), path,
            f"sample lines have {data.shape[1]} values, the header's column lists {sum(widths)}")
    signals, offset = [], 0
    for mac, header in devices:
        label = re.sub(r"[^A-Za-z0-9_-]", "-", str(header.get("device name") or mac))[:32]
        prefix = f"{label}." if len(devices) > 1 else ""
        columns, rate = header["column"], float(header["sampling rate"])
        res = [int(r) for r in header["resolution"]]
        family = _family(header, res)
        converted = bool(header.get("convertedValues", 0))
        for i, (name, sensor) in enumerate(zip(header["label"], header["sensor"])):
            require(name in columns, path, f"label {name!r} is not among the columns {columns}")
            col = columns.index(name)
            kind = guess_kind(sensor) or "generic"
            values = data[:, offset + col]
            unit, transfer = TRANSFER[family].get(kind, ("a.u.", None))
            if transfer is not None and not converted:
                values = transfer(values, res[col] if len(res) == len(columns) else res[i])
            signals.append(regular_signal(
                unique_name(prefix + kind, signals), kind, unit, rate, values,
                channels=(f"{name} {sensor}",),
                device=f"{label}@{mac}" if prefix else mac))
        offset += len(columns)
    head = devices[0][1]
    start_local = f"{head.get('date', '')} {head.get('time', '')}".strip()
    return Recording.from_signals(signals, None, import_meta(
        path, "opensignals",
        device=", ".join(str(h.get("device", "")) for _, h in devices), start_local=start_local),
        path)
