"""Stream model: what a stream is (:class:`StreamInfo`) and one piece of it (:class:`Chunk`).

Every sample in a session carries a time on the one session clock (seconds since the session
started, see :mod:`biofeed.clock`). Regular streams (``rate > 0``) store the time of their
first sample only; sample ``i`` of a chunk lies at ``t0 + i / rate``. Irregular streams
(``rate == 0``: RR intervals, R-peaks, pulse peaks, SCR events, markers) carry one timestamp
per sample.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Stream kinds. Raw kinds come from devices; derived kinds come from processors.
KINDS = frozenset({
    "ecg", "ppg", "rr", "hr", "eda", "resp", "acc", "temp", "marker",   # raw
    "generic",              # raw: an imported signal biofeed has no processor for (kept as is)
    "rpeak", "pulse", "breath", "nn", "hrv", "coherence", "rsa", "scl", "scr", "arousal",  # derived
    "quality",              # derived: signal quality per segment (biofeed.physio.quality)
    "beat_quality",         # derived: each beat's correlation with its segment's average beat
    "resp_rate",            # derived: breathing rate per window (biofeed.physio.resp_derived)
    "pacing",               # derived: breathing locked to the pacer (biofeed.physio.rsa)
    "synchrony",            # derived: a dyad's windowed cross-correlation (biofeed.physio.synchrony)
})


@dataclass(frozen=True)
class StreamInfo:
    """Description of one stream.

    Parameters
    ----------
    name : str
        Unique within a session, e.g. ``"ecg"``, ``"polar-h10.ecg"`` or, from a labelled
        device, ``"child.ecg"``; derived streams append to their source's name
        (``"child.ecg.rr.nn"``).
    kind : str
        One of :data:`KINDS`.
    unit : str
        Physical unit of the values: ``"mV"``, ``"uS"`` (microsiemens), ``"ms"``, ``"bpm"``,
        ``"degC"`` (skin temperature), ``"a.u."``.
    rate : float
        Nominal sampling rate in Hz; ``0`` for irregular streams with per-sample timestamps.
    channels : tuple of str
        Channel names, one per column of :attr:`Chunk.values`.
    device : str
        Id of the device (or processor) that produces the stream.
    derived : bool
        True when a processor computed the stream from other streams.
    """

    name: str
    kind: str
    unit: str
    rate: float
    channels: tuple[str, ...] = ("value",)
    device: str = ""
    derived: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"stream {self.name!r}: kind {self.kind!r} is not one of {sorted(KINDS)}")
        if not self.rate >= 0:
            raise ValueError(f"stream {self.name!r}: rate must be >= 0 Hz, got {self.rate!r}")
        if not self.channels:
            raise ValueError(f"stream {self.name!r}: needs at least one channel")

    @property
    def regular(self) -> bool:
        """True when samples are evenly spaced at :attr:`rate` Hz."""
        return self.rate > 0

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "unit": self.unit, "rate": self.rate,
                "channels": list(self.channels), "device": self.device, "derived": self.derived}

    @classmethod
    def from_dict(cls, d: dict) -> "StreamInfo":
        return cls(name=d["name"], kind=d["kind"], unit=d["unit"], rate=float(d["rate"]),
                   channels=tuple(d["channels"]), device=d.get("device", ""),
                   derived=bool(d.get("derived", False)))


@dataclass(frozen=True, eq=False)
class Chunk:
    """A run of consecutive samples of one stream.

    Parameters
    ----------
    info : StreamInfo
        The stream the samples belong to.
    values : ndarray, shape (n, len(info.channels))
        Sample values in ``info.unit``; 1-D input is taken as one channel.
    t0 : float
        Session time of the first sample, seconds. For irregular streams it equals
        ``timestamps[0]`` (or the chunk's creation time when the chunk is empty).
    timestamps : ndarray of float, optional
        Session times of every sample, seconds. Required for irregular streams, ``None``
        for regular ones.
    """

    info: StreamInfo
    values: np.ndarray
    t0: float
    timestamps: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[1] != len(self.info.channels):
            raise ValueError(
                f"stream {self.info.name!r}: values must have shape (n, {len(self.info.channels)}), "
                f"got {np.shape(self.values)}")
        object.__setattr__(self, "values", values)
        if self.info.regular:
            if self.timestamps is not None:
                raise ValueError(f"stream {self.info.name!r} is regular ({self.info.rate} Hz): "
                                 "pass t0, not timestamps")
        else:
            if self.timestamps is None:
                raise ValueError(f"stream {self.info.name!r} is irregular: timestamps are required")
            ts = np.asarray(self.timestamps, dtype=np.float64).reshape(-1)
            if ts.shape[0] != values.shape[0]:
                raise ValueError(f"stream {self.info.name!r}: {ts.shape[0]} timestamps for "
                                 f"{values.shape[0]} samples")
            object.__setattr__(self, "timestamps", ts)

    def __len__(self) -> int:
        return self.values.shape[0]

    @property
    def times(self) -> np.ndarray:
        """Session time of every sample, seconds."""
        if self.timestamps is not None:
            return self.timestamps
        return self.t0 + np.arange(len(self)) / self.info.rate

    @property
    def t_end(self) -> float:
        """Session time just after the last sample, seconds (the next chunk's expected t0)."""
        if self.info.regular:
            return self.t0 + len(self) / self.info.rate
        return float(self.timestamps[-1]) if len(self) else self.t0


@dataclass(frozen=True)
class Event:
    """Something that happened in a session: a phase, a prompt, a rating, a marker.

    Parameters
    ----------
    id : int
        Unique within the session; writing an event with an existing id replaces it (a phase
        is written when it starts and again with its actual duration when it ends).
    onset : float
        Session time, seconds.
    duration : float
        Seconds (0 for instantaneous events).
    label : str
        Short label, e.g. ``"baseline"``.
    kind : str
        ``"phase"``, ``"prompt"``, ``"rating"``, ``"marker"``, ...
    payload : dict
        Anything else (prompt text, pacer rate in breaths/min, rating value), JSON-serialisable.
    """

    id: int
    onset: float
    duration: float
    label: str
    kind: str
    payload: dict = field(default_factory=dict)
