"""Device specs on the command line: ``[LABEL@]KIND[:ARGS]`` -> a :class:`~biofeed.devices.base.Device`.

=================================  ==========================================================
``simulated`` / ``simulated:seed=3``  the built-in simulated participant (ECG, EDA, respiration)
``lsl:name=OpenSignals``             any Lab Streaming Layer stream (``field=value`` pairs
                                     joined by ``,``: name, type, source_id, ...)
``ble-hr:AA:BB:CC:DD:EE:FF``         any Bluetooth LE Heart Rate strap (HR, RR, contact); the
                                     address as scanned (a device UUID on macOS)
``polar-h10:AA:BB:CC:DD:EE:FF``      Polar H10: HR, RR, ECG 130 Hz (uV), accelerometer
``serial:/dev/ttyUSB0:grove-gsr``    a serial sensor read per a device profile (built-in name
                                     or a .toml path): grove-gsr, pulsesensor, biofeed-arduino
``bitalino:/dev/rfcomm0``            BITalino (r)evolution: ECG (mV) on A2, EDA (uS) on A3
``child@simulated:seed=2``           any of the above with a label: its streams are named
                                     ``child.ecg``, ``child.eda``, ... and its id is
                                     ``child@simulated``
=================================  ==========================================================

Labels let one session hold two identical sensors (a couple, therapist and client, two EDA
sites): 1-32 letters, digits, ``-`` or ``_``, a role such as ``parent``/``child`` or ``a``/``b``,
never a participant's name (labels end up in the stream names inside the file). The label comes
first because KIND is a fixed word without ``@`` or ``:``, so a label can never be confused with
ARGS, which may hold ``:`` (Bluetooth addresses, serial ports), ``/``, ``=`` and, in LSL names
or profile paths, ``@``. :func:`open_devices` opens the devices of one session and labels
unlabelled devices whose stream names would clash (``simulated-1``, ``simulated-2``).

A simulated participant can follow another's arousal (a dyad with a known coupling,
:mod:`biofeed.sim.dyad`): ``b@simulated:seed=2,follow=a,lag=3,strength=0.5`` follows the
simulated device labelled ``a`` 3 s later with weight 0.5; ``wander=SD`` sets a participant's
spontaneous arousal fluctuations.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

from ..sim import dyad
from ..sim.physiology import SimConfig, StateAt
from .base import Device
from .labels import LABEL_RULE, LabelledDevice, is_label


class DeviceSpecError(ValueError):
    """A device spec that cannot be understood; the message says what was expected."""


@dataclass(frozen=True)
class DeviceSpec:
    """A parsed device spec.

    Attributes
    ----------
    text : str
        The spec as given.
    label : str or None
        The label before ``@``, if any.
    kind : str
        A key of :data:`KINDS`.
    options : dict
        The kind's parsed ARGS (e.g. ``{"seed": 3}``), as its opener takes them.
    """

    text: str
    label: str | None
    kind: str
    options: dict


def _pairs(spec: str, args: str) -> dict[str, str]:
    out = {}
    for part in filter(None, args.split(",")):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise DeviceSpecError(f"device {spec!r}: expected field=value pairs joined by ',', "
                                  f"got {part!r}")
        out[key.strip()] = value.strip()
    return out


def _simulated_args(spec: str, args: str) -> dict:
    opts = _pairs(spec, args)
    unknown = set(opts) - {"seed", *dyad.OPTIONS}
    if unknown:
        raise DeviceSpecError(f"device {spec!r}: unknown option(s) {sorted(unknown)}; allowed: "
                              f"seed, {', '.join(dyad.OPTIONS)}")
    try:
        seed = int(opts.get("seed", 0))
    except ValueError:
        seed = -1
    if seed < 0:
        raise DeviceSpecError(f"device {spec!r}: seed must be a whole number >= 0, "
                              f"got {opts['seed']!r}")
    try:                                   # a dyad's coupling (biofeed.sim.dyad)
        return {"seed": seed} | dyad.parse_options(opts)
    except ValueError as exc:
        raise DeviceSpecError(f"device {spec!r}: {exc}") from None


def _simulated(opts: dict, state_at: StateAt | None, lsl_scope: str) -> Device:
    from .simulated import SimulatedSensor

    return SimulatedSensor(SimConfig(seed=opts["seed"]), state_at, drive=dyad.drive_for(opts))


def _lsl_args(spec: str, args: str) -> dict:
    query = _pairs(spec, args)
    if not query:
        raise DeviceSpecError(f"device {spec!r}: say which LSL stream, e.g. lsl:name=OpenSignals")
    return {"query": query}


def _lsl(opts: dict, state_at: StateAt | None, lsl_scope: str) -> Device:
    from ..lsl.inlet import LslInlet

    return LslInlet(opts["query"], scope=lsl_scope)


#: A Bluetooth address: six hex pairs (Linux, Windows) or a device UUID (macOS).
_ADDRESS = re.compile(r"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")


def _address_args(spec: str, args: str) -> dict:
    kind = spec.partition(":")[0]
    if not _ADDRESS.fullmatch(args):
        raise DeviceSpecError(f"device {spec!r}: expected {kind}:ADDRESS with the Bluetooth address "
                              f"as scanned, e.g. {kind}:AA:BB:CC:DD:EE:FF (a device UUID on macOS)"
                              f", got {args!r}")
    return {"address": args}


def _ble_hr(opts: dict, state_at: StateAt | None, lsl_scope: str) -> Device:
    from .ble_hr import BleHeartRate

    return BleHeartRate(opts["address"])


def _polar_h10(opts: dict, state_at: StateAt | None, lsl_scope: str) -> Device:
    from .polar_pmd import PolarH10

    return PolarH10(opts["address"])


def _serial_args(spec: str, args: str) -> dict:
    port, sep, profile = args.rpartition(":")
    if not sep or not port or not profile:
        raise DeviceSpecError(f"device {spec!r}: expected serial:PORT:PROFILE, e.g. "
                              "serial:/dev/ttyUSB0:grove-gsr (profiles: `biofeed devices profiles`)")
    if "@" in profile and not (profile.endswith(".toml") or "/" in profile or "\\" in profile):
        raise DeviceSpecError(f"device {spec!r}: profile {profile!r}: a built-in profile name has "
                              "no '@' (see `biofeed devices profiles`)")
    return {"port": port, "profile": profile}


def _serial(opts: dict, state_at: StateAt | None, lsl_scope: str) -> Device:
    from .serial_line import SerialSensor

    return SerialSensor(opts["profile"], opts["port"])


def _bitalino_args(spec: str, args: str) -> dict:
    if not args:
        raise DeviceSpecError(f"device {spec!r}: give the serial port, e.g. bitalino:/dev/rfcomm0")
    return {"port": args}


def _bitalino(opts: dict, state_at: StateAt | None, lsl_scope: str) -> Device:
    from .bitalino import Bitalino

    return Bitalino(opts["port"])


#: Device kinds: ``(parse(spec, args) -> options, open(options, state_at, lsl_scope) -> Device)``.
KINDS: dict[str, tuple[Callable[[str, str], dict], Callable[..., Device]]] = {
    "simulated": (_simulated_args, _simulated), "lsl": (_lsl_args, _lsl),
    "ble-hr": (_address_args, _ble_hr), "polar-h10": (_address_args, _polar_h10),
    "serial": (_serial_args, _serial), "bitalino": (_bitalino_args, _bitalino)}


def parse_spec(spec: str) -> DeviceSpec:
    """Check a spec's syntax (see the module table) without opening anything.

    Raises
    ------
    DeviceSpecError
        Naming the spec and what was expected.
    """
    head, _, args = spec.partition(":")
    label, at, kind = head.rpartition("@")
    if kind not in KINDS:
        hint = ""
        if at and label in KINDS:
            hint = f"; a label goes before the kind: {kind}@{label}{spec[len(head):]}"
        raise DeviceSpecError(f"device {spec!r}: unknown kind {kind!r}; known: {sorted(KINDS)}{hint}")
    if at and not is_label(label):
        raise DeviceSpecError(f"device {spec!r}: label {label!r} before '@': expected {LABEL_RULE}")
    try:
        options = KINDS[kind][0](spec, args)
    except DeviceSpecError as exc:
        if "@" not in args:
            raise
        before, _, after = args.rpartition("@")
        raise DeviceSpecError(f"{exc}; a label goes before the kind: {after}@{kind}:{before}") from None
    return DeviceSpec(spec, label if at else None, kind, options)


def open_device(spec: str, state_at: StateAt | None = None, lsl_scope: str = "machine") -> Device:
    """Create the device a spec names (see the module table).

    Parameters
    ----------
    spec : str
        ``[LABEL@]KIND[:ARGS]``.
    state_at : callable, optional
        Protocol state at a session time (s), for the simulated sensor.
    lsl_scope : str
        LSL discovery scope for ``lsl:`` devices.
    """
    return open_devices([spec], state_at, lsl_scope)[0]


def _stream_names(label: str | None, device: Device) -> set[str]:
    return {s.name if label is None else f"{label}.{s.name}" for s in device.streams}


def _clashes(names: Sequence[set[str]]) -> set[str]:
    counts = Counter(n for device_names in names for n in device_names)
    return {n for n, k in counts.items() if k > 1}


def open_devices(specs: Sequence[str], state_at: StateAt | None = None, lsl_scope: str = "machine",
                 notify: Callable[[str], None] | None = None) -> list[Device]:
    """Open the devices of one session; label unlabelled devices whose stream names clash.

    Every spec is checked before any device is opened. An unlabelled device that shares a
    stream name with another device gets the label ``KIND-N`` (N: its position among the
    session's devices of that kind, from 1), e.g. ``simulated-1`` and ``simulated-2``, and
    ``notify`` (the terminal) is told in one line.

    Parameters
    ----------
    specs : sequence of str
        ``[LABEL@]KIND[:ARGS]`` each.
    state_at : callable, optional
        Protocol state at a session time (s), for simulated sensors.
    lsl_scope : str
        LSL discovery scope for ``lsl:`` devices.
    notify : callable, optional
        Receives the one-line notice when devices were labelled automatically.

    Raises
    ------
    DeviceSpecError
        A bad spec, or names that still clash (two devices given the same label).
    """
    try:                                   # followers learn their leader's seed
        parsed = dyad.resolve([parse_spec(s) for s in specs])
    except ValueError as exc:
        raise DeviceSpecError(str(exc)) from None
    bare = [KINDS[p.kind][1](p.options, state_at, lsl_scope) for p in parsed]
    labels = [p.label for p in parsed]
    names = [_stream_names(lab, d) for lab, d in zip(labels, bare)]
    clash = _clashes(names)
    auto = [i for i, (lab, n) in enumerate(zip(labels, names)) if lab is None and n & clash]
    for i in auto:
        labels[i] = f"{parsed[i].kind}-{[p.kind for p in parsed[:i + 1]].count(parsed[i].kind)}"
        names[i] = _stream_names(labels[i], bare[i])
    left = _clashes(names)
    if left:
        name = min(left)
        having = [p.text for p, n in zip(parsed, names) if name in n]
        raise DeviceSpecError(f"devices {having} would all have a stream named {name!r}; give "
                              "them different labels, e.g. a@KIND:ARGS and b@KIND:ARGS")
    if auto and notify is not None:
        first = auto[0]
        notify(f"labelled devices whose stream names clash ({', '.join(sorted(clash))}): "
               + ", ".join(f"{parsed[i].text} as {labels[i]}" for i in auto)
               + f", so streams are named {labels[first]}.{bare[first].streams[0].name}, ...; "
               "to choose labels, write LABEL@SPEC, e.g. parent@simulated")
    return [d if lab is None else LabelledDevice(d, lab) for d, lab in zip(bare, labels)]
