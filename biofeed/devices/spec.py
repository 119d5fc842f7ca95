"""Device specs on the command line: ``KIND[:ARGS]`` -> a :class:`~biofeed.devices.base.Device`.

=================================  ==========================================================
``simulated`` / ``simulated:seed=3``  the built-in simulated participant (ECG, EDA, respiration)
``lsl:name=OpenSignals``             any Lab Streaming Layer stream (``field=value`` pairs
                                     joined by ``,``: name, type, source_id, ...)
``ble-hr:AA:BB:CC:DD:EE:FF``         any Bluetooth LE Heart Rate strap (HR, RR, contact)
``polar-h10:AA:BB:CC:DD:EE:FF``      Polar H10: HR, RR, ECG 130 Hz (uV), accelerometer
``serial:/dev/ttyUSB0:grove-gsr``    a serial sensor read per a device profile (built-in name
                                     or a .toml path): grove-gsr, pulsesensor, biofeed-arduino
``bitalino:/dev/rfcomm0``            BITalino (r)evolution: ECG (mV) on A2, EDA (uS) on A3
=================================  ==========================================================
"""
from __future__ import annotations

from typing import Callable

from ..sim.physiology import SimConfig, StateAt
from .base import Device


class DeviceSpecError(ValueError):
    """A device spec that cannot be understood; the message says what was expected."""


def _pairs(spec: str, args: str) -> dict[str, str]:
    out = {}
    for part in filter(None, args.split(",")):
        key, sep, value = part.partition("=")
        if not sep or not key or not value:
            raise DeviceSpecError(f"device {spec!r}: expected field=value pairs joined by ',', "
                                  f"got {part!r}")
        out[key.strip()] = value.strip()
    return out


def _simulated(spec: str, args: str, state_at: StateAt | None, lsl_scope: str) -> Device:
    from .simulated import SimulatedSensor

    opts = _pairs(spec, args)
    unknown = set(opts) - {"seed"}
    if unknown:
        raise DeviceSpecError(f"device {spec!r}: unknown option(s) {sorted(unknown)}; allowed: seed")
    try:
        seed = int(opts.get("seed", 0))
    except ValueError:
        raise DeviceSpecError(f"device {spec!r}: seed must be a whole number") from None
    return SimulatedSensor(SimConfig(seed=seed), state_at)


def _lsl(spec: str, args: str, state_at: StateAt | None, lsl_scope: str) -> Device:
    from ..lsl.inlet import LslInlet

    query = _pairs(spec, args)
    if not query:
        raise DeviceSpecError(f"device {spec!r}: say which LSL stream, e.g. lsl:name=OpenSignals")
    return LslInlet(query, scope=lsl_scope)


def _address(spec: str, args: str) -> str:
    if not args:
        raise DeviceSpecError(f"device {spec!r}: give the Bluetooth address, "
                              f"e.g. {spec.split(':')[0]}:AA:BB:CC:DD:EE:FF")
    return args


def _ble_hr(spec: str, args: str, state_at: StateAt | None, lsl_scope: str) -> Device:
    from .ble_hr import BleHeartRate

    return BleHeartRate(_address(spec, args))


def _polar_h10(spec: str, args: str, state_at: StateAt | None, lsl_scope: str) -> Device:
    from .polar_pmd import PolarH10

    return PolarH10(_address(spec, args))


def _serial(spec: str, args: str, state_at: StateAt | None, lsl_scope: str) -> Device:
    from .serial_line import SerialSensor

    port, sep, profile = args.rpartition(":")
    if not sep or not port or not profile:
        raise DeviceSpecError(f"device {spec!r}: expected serial:PORT:PROFILE, e.g. "
                              "serial:/dev/ttyUSB0:grove-gsr (profiles: `biofeed devices profiles`)")
    return SerialSensor(profile, port)


def _bitalino(spec: str, args: str, state_at: StateAt | None, lsl_scope: str) -> Device:
    from .bitalino import Bitalino

    if not args:
        raise DeviceSpecError(f"device {spec!r}: give the serial port, e.g. bitalino:/dev/rfcomm0")
    return Bitalino(args)


#: Device kinds and their factories ``(spec, args, state_at, lsl_scope) -> Device``.
FACTORIES: dict[str, Callable[..., Device]] = {
    "simulated": _simulated, "lsl": _lsl, "ble-hr": _ble_hr, "polar-h10": _polar_h10,
    "serial": _serial, "bitalino": _bitalino}


def open_device(spec: str, state_at: StateAt | None = None, lsl_scope: str = "machine") -> Device:
    """Create the device a spec names (see the module table).

    Parameters
    ----------
    spec : str
        ``KIND[:ARGS]``.
    state_at : callable, optional
        Protocol state at a session time (s), for the simulated sensor.
    lsl_scope : str
        LSL discovery scope for ``lsl:`` devices.
    """
    kind, _, args = spec.partition(":")
    if kind not in FACTORIES:
        raise DeviceSpecError(f"device {spec!r}: unknown kind {kind!r}; known: {sorted(FACTORIES)}")
    return FACTORIES[kind](spec, args, state_at, lsl_scope)
