"""Device profiles: TOML files that describe a DIY serial sensor's line format and channels.

A profile says how to talk to a sensor (serial baud rate), how to read one line (CSV columns,
``key:value`` pairs or PulseSensor-style prefixed values, optionally with a sample counter and a
checksum) and which streams the line fields become (kind, unit, unit conversion, nominal rate).
:class:`~biofeed.devices.serial_line.SerialSensor` is driven by a profile.

Built-in profiles live in the top-level ``devices/`` folder of the source tree, shipped in the
wheel as ``biofeed/devices/builtin/`` (a symlink in the source tree): ``grove-gsr``,
``pulsesensor`` and ``biofeed-arduino`` (the firmware in ``devices/firmware/``). A user profile
is any ``.toml`` file given by path. Formats and formulas: specs.md section 4.

Profile layout::

    [device]
    name = "biofeed-arduino"       # device id recorded with the streams
    description = "..."
    rate = 100.0                   # nominal sample-line rate, Hz

    [transport]
    type = "serial"
    baud = 115200

    [format]
    type = "csv"                   # "csv" | "keyvalue" | "prefixed"
    columns = ["n", "gsr", "pulse"]  # csv: field names in line order
    separator = ","                # csv: between columns; keyvalue: between pairs
    kv_separator = ":"             # keyvalue: between key and value
    prefixes = { S = "signal" }    # prefixed: line prefix -> field name
    sample_prefix = "S"            # prefixed: the prefix of a sample line
    counter = "n"                  # optional: field holding the device sample counter
    counter_modulo = 65536         # optional: the counter wraps to 0 here (0 = never)
    checksum = "xor8"              # optional: line = payload "*" HH, HH = XOR of payload bytes

    [[streams]]
    name = "eda"                   # stream name in the session
    kind = "eda"                   # a biofeed stream kind
    unit = "uS"                    # EDA in uS, HR in bpm, RR in ms, ECG in mV
    field = "gsr"                  # the line field it comes from
    regular = true                 # false: a value on some lines only (beats), timestamped
    conversion = { type = "grove_gsr", calibration = 512 }   # "none" | "linear" | "grove_gsr"
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..stream import KINDS, StreamInfo

#: Units a stream of these kinds must be in (design: EDA uS, HR bpm, RR ms, ECG mV).
REQUIRED_UNITS = {"eda": "uS", "hr": "bpm", "rr": "ms", "ecg": "mV"}
FORMATS = ("csv", "keyvalue", "prefixed")
CHECKSUMS = ("xor8",)
CONVERSIONS = ("none", "linear", "grove_gsr")
_REQUIRED = object()


class ProfileError(ValueError):
    """A device profile is missing, unreadable or invalid; the message names the file, the key
    path and what is allowed."""


@dataclass(frozen=True)
class Conversion:
    """Raw line value -> physical unit.

    ``none``: unchanged. ``linear``: ``raw * scale + offset``. ``grove_gsr`` (specs.md section 4):
    skin resistance R = ((1024 + 2 ADC) * 10000) / (calibration - ADC) ohm, conductance
    1e6 / R uS, i.e. ``100 (calibration - ADC) / (1024 + 2 ADC)`` uS; NaN (invalid, no skin
    contact) when ADC >= calibration or ADC < 0. ``calibration`` is the ADC reading with no skin
    contact (about 512).
    """

    type: str = "none"
    scale: float = 1.0
    offset: float = 0.0
    calibration: float = 512.0

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Convert raw values (float array); invalid inputs give NaN."""
        raw = np.asarray(raw, dtype=np.float64)
        if self.type == "linear":
            return raw * self.scale + self.offset
        if self.type == "grove_gsr":
            valid = (raw >= 0) & (raw < self.calibration)
            safe = np.where(valid, raw, 0.0)
            return np.where(valid, 100.0 * (self.calibration - safe) / (1024.0 + 2.0 * safe), np.nan)
        return raw.copy()


@dataclass(frozen=True)
class StreamSpec:
    """One stream a profile produces from one line field."""

    name: str
    kind: str
    unit: str
    field: str
    channel: str
    regular: bool
    conversion: Conversion


@dataclass(frozen=True)
class LineFormat:
    """How one text line is laid out (see the module docstring for the keys)."""

    type: str
    columns: tuple[str, ...] = ()
    separator: str = ","
    kv_separator: str = ":"
    prefixes: tuple[tuple[str, str], ...] = ()
    sample_prefix: str = ""
    counter: str | None = None
    counter_modulo: int = 0
    checksum: str | None = None

    @property
    def sample_fields(self) -> tuple[str, ...]:
        """Fields present on every sample line."""
        if self.type == "prefixed":
            return (dict(self.prefixes)[self.sample_prefix],)
        return self.columns


@dataclass(frozen=True)
class Profile:
    """A validated device profile.

    Attributes
    ----------
    name : str
        Device id recorded with the streams.
    rate : float
        Nominal rate of sample lines, Hz.
    baud : int
        Serial baud rate, bit/s.
    format : LineFormat
    streams : tuple of StreamSpec
    source : str
        The file the profile came from.
    """

    name: str
    description: str
    rate: float
    baud: int
    format: LineFormat
    streams: tuple[StreamSpec, ...]
    source: str

    def stream_infos(self, device_id: str | None = None) -> tuple[StreamInfo, ...]:
        """The :class:`StreamInfo` of each stream (irregular ones have rate 0)."""
        dev = device_id or self.name
        return tuple(StreamInfo(s.name, s.kind, s.unit, self.rate if s.regular else 0.0,
                                (s.channel,), dev) for s in self.streams)


class _Table:
    """A TOML table being validated; errors name the file and the key path."""

    def __init__(self, source: str, path: str, data: Any) -> None:
        self.source, self.path = source, path
        if not isinstance(data, dict):
            self.fail(f"must be a table, got {type(data).__name__}")
        self.data = data
        self.used: set[str] = set()

    def fail(self, problem: str, key: str | None = None):
        where = ".".join(p for p in (self.path, key) if p) or "(top level)"
        raise ProfileError(f"{self.source}: {where}: {problem}")

    def get(self, key: str, types: type | tuple, default: Any = _REQUIRED,
            allowed: tuple | None = None) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is _REQUIRED:
                self.fail("required key is missing" + (f"; allowed: {list(allowed)}" if allowed else ""), key)
            return default
        value = self.data[key]
        types = types if isinstance(types, tuple) else (types,)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            self.fail(f"expected {' or '.join(t.__name__ for t in types)}, got {value!r}", key)
        if allowed is not None and value not in allowed:
            self.fail(f"{value!r} is not allowed; allowed: {list(allowed)}", key)
        return value

    def number(self, key: str, default: Any = _REQUIRED, positive: bool = False) -> float:
        value = self.get(key, (int, float), default)
        if positive and not value > 0:
            self.fail(f"must be > 0, got {value!r}", key)
        return float(value)

    def table(self, key: str, default: Any = _REQUIRED) -> "_Table":
        return _Table(self.source, f"{self.path}.{key}" if self.path else key,
                      self.get(key, dict, default))

    def strings(self, key: str, default: Any = _REQUIRED) -> tuple[str, ...]:
        value = self.get(key, list, default)
        if not all(isinstance(v, str) and v for v in value):
            self.fail(f"expected a list of non-empty strings, got {value!r}", key)
        if len(set(value)) != len(value):
            self.fail(f"names must be unique, got {value!r}", key)
        return tuple(value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            self.fail(f"unknown key(s) {unknown}; allowed: {sorted(self.used)}")


def _conversion(t: _Table, unit: str) -> Conversion:
    kind = t.get("type", str, allowed=CONVERSIONS)
    if kind == "linear":
        conv = Conversion(kind, scale=t.number("scale"), offset=t.number("offset", 0.0))
    elif kind == "grove_gsr":
        conv = Conversion(kind, calibration=t.number("calibration", positive=True))
        if unit != "uS":
            t.fail(f"grove_gsr gives microsiemens: the stream unit must be 'uS', got {unit!r}")
    else:
        conv = Conversion(kind)
    t.done()
    return conv


def _line_format(t: _Table) -> LineFormat:
    kind = t.get("type", str, allowed=FORMATS)
    kw: dict[str, Any] = {}
    if kind == "csv":
        kw["columns"] = t.strings("columns")
        kw["separator"] = t.get("separator", str, ",")
    elif kind == "keyvalue":
        kw["columns"] = t.strings("columns")
        kw["separator"] = t.get("separator", str, ",")
        kw["kv_separator"] = t.get("kv_separator", str, ":")
        if kw["kv_separator"] == kw["separator"]:
            t.fail("must differ from separator", "kv_separator")
    else:
        prefixes = t.table("prefixes")
        for p in prefixes.data:
            prefixes.get(p, str)
            if not (p.isascii() and p.isalpha()):
                prefixes.fail("prefixes must be letters", p)
        kw["prefixes"] = tuple(prefixes.data.items())
        kw["sample_prefix"] = t.get("sample_prefix", str, allowed=tuple(prefixes.data))
    for key in ("separator", "kv_separator"):
        if key in kw and (not kw[key] or kw[key] in "*\r\n" or kw[key][0] in "+-.0123456789"):
            t.fail(f"{kw[key]!r} cannot separate fields", key)
    fields = kw.get("columns") or tuple(v for _, v in kw["prefixes"])
    counter = t.get("counter", str, None, allowed=kw.get("columns", ()))
    modulo = t.get("counter_modulo", int, 0) if counter else 0
    if modulo < 0 or modulo == 1:
        t.fail(f"must be 0 (never wraps) or >= 2, got {modulo}", "counter_modulo")
    fmt = LineFormat(kind, counter=counter, counter_modulo=modulo,
                     checksum=t.get("checksum", str, None, allowed=CHECKSUMS), **kw)
    t.done()
    if len(set(fields)) != len(fields):
        t.fail(f"field names must be unique, got {list(fields)}")
    return fmt


def _stream(t: _Table, fmt: LineFormat) -> StreamSpec:
    name = t.get("name", str)
    kind = t.get("kind", str, allowed=tuple(sorted(KINDS)))
    unit = t.get("unit", str)
    if kind in REQUIRED_UNITS and unit != REQUIRED_UNITS[kind]:
        t.fail(f"a {kind!r} stream must be in {REQUIRED_UNITS[kind]!r}, got {unit!r}", "unit")
    fields = fmt.columns or tuple(v for _, v in fmt.prefixes)
    field = t.get("field", str, allowed=tuple(f for f in fields if f != fmt.counter))
    regular = t.get("regular", bool, True)
    if regular != (field in fmt.sample_fields):
        t.fail(f"field {field!r} is {'' if field in fmt.sample_fields else 'not '}on every sample "
               f"line, so regular must be {not regular}", "regular")
    conv = _conversion(t.table("conversion"), unit) if "conversion" in t.data else Conversion()
    spec = StreamSpec(name, kind, unit, field, t.get("channel", str, name), regular, conv)
    t.done()
    return spec


def parse_profile(data: dict, source: str) -> Profile:
    """Validate a profile's TOML data (``source`` names it in errors)."""
    top = _Table(source, "", data)
    dev = top.table("device")
    name, description = dev.get("name", str), dev.get("description", str, "")
    rate = dev.number("rate", positive=True)
    dev.done()
    tr = top.table("transport")
    tr.get("type", str, allowed=("serial",))
    baud = tr.get("baud", int)
    if baud <= 0:
        tr.fail(f"must be > 0 bit/s, got {baud}", "baud")
    tr.done()
    fmt = _line_format(top.table("format"))
    raw_streams = top.get("streams", list)
    if not raw_streams:
        top.fail("needs at least one [[streams]] entry", "streams")
    streams = tuple(_stream(_Table(source, f"streams[{i}]", s), fmt) for i, s in enumerate(raw_streams))
    names = [s.name for s in streams]
    if len(set(names)) != len(names):
        top.fail(f"stream names must be unique, got {names}", "streams")
    top.done()
    return Profile(name, description, rate, baud, fmt, streams, source)


def builtin_dir() -> Path:
    """Folder of the built-in profiles (inside the installed package)."""
    return Path(str(resources.files("biofeed.devices") / "builtin"))


def builtin_profiles() -> list[str]:
    """Names of the built-in profiles (``grove-gsr``, ``pulsesensor``, ``biofeed-arduino``)."""
    return sorted(p.stem for p in builtin_dir().glob("*.toml"))


def load_profile(name_or_path: str | os.PathLike) -> Profile:
    """Load a built-in profile by name, or a user profile from a path (ending in ``.toml`` or
    containing a directory separator).

    Raises
    ------
    ProfileError
        The file is missing, not valid TOML, or not a valid profile.
    """
    text = os.fspath(name_or_path)
    path = Path(text)
    if not (path.suffix == ".toml" or os.sep in text or (os.altsep and os.altsep in text)):
        path = builtin_dir() / f"{text}.toml"
        if not path.is_file():
            raise ProfileError(f"no built-in device profile {text!r}; built-in: {builtin_profiles()} "
                               "(or give the path of a .toml profile)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    return parse_profile(data, str(path))
