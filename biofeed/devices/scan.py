"""Finding sensors (``biofeed devices scan``) and trying one out (``biofeed devices test``)."""
from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd

from ..analysis.replay import MemorySink
from ..clock import SessionClock
from ..engine import Engine
from ..record.reader import find_gaps
from .base import Device

#: GATT services that mark a heart-rate sensor: Heart Rate (Bluetooth SIG 0x180D) and Polar PMD.
HEART_RATE_SERVICE = "0000180d-0000-1000-8000-00805f9b34fb"
POLAR_PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"

COLUMNS = ["transport", "address", "name", "details"]


class BluetoothUnavailable(RuntimeError):
    """Bluetooth cannot be used here; the message says why and what to do."""


def bluetooth_problem(exc: BaseException) -> str:
    """What a failed Bluetooth scan means, in one line. On Linux, bleak talks to BlueZ over the
    D-Bus system bus: no bus socket is a FileNotFoundError without a file name."""
    if isinstance(exc, FileNotFoundError):
        return ("Bluetooth unavailable: the D-Bus system bus is not running, so BlueZ cannot "
                "be reached (install bluez and start bluetooth.service; in a container, "
                "share /run/dbus)")
    if isinstance(exc, PermissionError):
        return ("Bluetooth unavailable: permission denied by D-Bus or BlueZ (is this user "
                "allowed to use Bluetooth?)")
    message = str(exc).strip() or type(exc).__name__
    if "adapter" in message.lower():
        return f"Bluetooth unavailable: no Bluetooth adapter ({message.rstrip('.')})"
    return f"Bluetooth unavailable: {message} ({type(exc).__name__})"


async def scan_ble(timeout_s: float) -> list[tuple[str, str, str, str]]:
    """Bluetooth LE devices advertising Heart Rate or Polar PMD; :class:`BluetoothUnavailable`
    (saying why, :func:`bluetooth_problem`) when Bluetooth cannot be used."""
    from bleak import BleakScanner
    from bleak.exc import BleakError

    try:
        found = await BleakScanner.discover(timeout=timeout_s, return_adv=True,
                                            service_uuids=[HEART_RATE_SERVICE, POLAR_PMD_SERVICE])
    except (BleakError, OSError) as exc:
        raise BluetoothUnavailable(bluetooth_problem(exc)) from exc
    rows = []
    for device, adv in found.values():
        services = {HEART_RATE_SERVICE: "heart rate", POLAR_PMD_SERVICE: "Polar PMD (ECG)"}
        offers = ", ".join(v for k, v in services.items() if k in adv.service_uuids)
        rows.append(("ble", device.address, adv.local_name or device.name or "-",
                     f"{offers}; RSSI {adv.rssi} dBm"))
    return rows


def scan_serial() -> list[tuple[str, str, str, str]]:
    """Serial ports with their descriptions (USB-serial adapters, Arduino boards, BITalino)."""
    from serial.tools import list_ports

    return [("serial", p.device, p.description or "-",
             f"USB {p.vid:04x}:{p.pid:04x}" if p.vid is not None else (p.hwid or "-"))
            for p in list_ports.comports()]


def scan_lsl(timeout_s: float, scope: str) -> list[tuple[str, str, str, str]]:
    """Lab Streaming Layer streams visible in the discovery scope."""
    from ..lsl.config import pylsl_module

    pylsl = pylsl_module(scope)
    return [("lsl", f"lsl:name={s.name()}", s.name(),
             f"type {s.type()}, {s.channel_count()} ch at {s.nominal_srate():g} Hz, "
             f"source {s.source_id() or '-'}")
            for s in pylsl.resolve_streams(wait_time=timeout_s)]


async def scan_all(timeout_s: float, lsl_scope: str = "machine"
                   ) -> tuple[pd.DataFrame, list[str]]:
    """Every sensor biofeed can see now, one row each (:data:`COLUMNS`), and notes on what
    could not be searched (Bluetooth unavailable, and why)."""
    loop = asyncio.get_running_loop()
    lsl = loop.run_in_executor(None, scan_lsl, timeout_s, lsl_scope)
    notes = []
    try:
        ble = await scan_ble(timeout_s)
    except BluetoothUnavailable as exc:
        ble = []
        notes.append(str(exc))
    rows = ble + scan_serial() + await lsl
    return pd.DataFrame(rows, columns=COLUMNS), notes


def test_device(device: Device, seconds: float) -> tuple[pd.DataFrame, list[str]]:
    """Stream ``seconds`` (s) from a device; per stream: samples, nominal and measured rate (Hz),
    gaps, share of finite samples (%). Also returns notes (gap events, reconnects, battery)."""
    sink = MemorySink()
    engine = Engine([device], sinks=[sink], clock=SessionClock(), duration=seconds)
    asyncio.run(engine.run())
    rows = []
    for s in device.streams:
        chunks = sink.chunks(s.name)
        sig = sink.signal(s.name)
        n = len(sig)
        span = float(sig.times[-1] - sig.times[0]) if n > 1 else float("nan")
        gaps = find_gaps(np.array([c.t0 for c in chunks]), np.array([len(c) for c in chunks]),
                         s.rate) if s.regular else []
        finite = 100.0 * float(np.isfinite(sig.values).mean()) if n else float("nan")
        rows.append((s.name, s.kind, s.unit, s.rate if s.regular else float("nan"), n,
                     (n - 1) / span if n > 1 and span > 0 else float("nan"), len(gaps), finite))
    notes = [f"{e.kind}: {e.label} at {e.onset:.2f} s for {e.duration:.2f} s" for e in sink.events]
    for attr, label in (("reconnects", "reconnects"), ("battery_percent", "battery %")):
        if getattr(device, attr, None) is not None:
            notes.append(f"{label}: {getattr(device, attr)}")
    table = pd.DataFrame(rows, columns=["stream", "kind", "unit", "rate_hz", "samples",
                                        "measured_hz", "gaps", "finite_pct"])
    return table, notes
