"""Device labels: two identical sensors in one session (a dyad, bilateral EDA).

A labelled device names its streams ``LABEL.<name>`` (``child.ecg``; derived streams follow:
``child.ecg.rr.nn``) and its id ``LABEL@<id>``, so the streams of two simulated participants,
two Grove GSR sensors or two BITalinos no longer clash. Labels end up inside the session file
(stream names, device ids): use roles such as ``parent``/``child`` or ``a``/``b``, never a
participant's name.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import AsyncIterator

from ..clock import SessionClock
from ..stream import Chunk, Event, StreamInfo
from .base import Device

#: What a label may hold: letters, digits, '-' and '_', 1 to 32 characters.
LABEL = re.compile(r"[A-Za-z0-9_-]{1,32}")
#: What a label may hold, for messages.
LABEL_RULE = ("1-32 letters, digits, '-' or '_' (a role such as parent/child or a/b, "
              "not a participant's name)")


def is_label(text: str) -> bool:
    """True when ``text`` is a valid device label (:data:`LABEL_RULE`)."""
    return LABEL.fullmatch(text) is not None


def label_of(info: StreamInfo) -> str:
    """The label of the device that produced raw stream ``info`` ("" when unlabelled).

    A labelled device's streams are named ``LABEL.<name>`` with device id ``LABEL@<id>``
    (:class:`LabelledDevice`); that holds in session files too, so replays find it again.
    """
    label, sep, _ = info.device.partition("@")
    return label if sep and is_label(label) and info.name.startswith(f"{label}.") else ""


def participants(streams) -> list[str]:
    """The labels of a session's raw streams (:class:`~biofeed.stream.StreamInfo`), in order
    of first appearance; "" stands for the unlabelled devices. One entry a participant."""
    return list(dict.fromkeys(label_of(s) for s in streams if not s.derived))


def belongs(name: str, label: str, labels: list[str]) -> bool:
    """Whether stream ``name`` (raw or derived) is participant ``label``'s: its name starts
    with ``label.``; for "" (unlabelled), with none of the other ``labels``."""
    if label:
        return name.startswith(f"{label}.")
    return not any(name.startswith(f"{other}.") for other in labels if other)


class LabelledDevice(Device):
    """A device whose streams are named ``LABEL.<name>`` and whose id is ``LABEL@<id>``.

    The wrapped device's ``id`` is changed to the labelled id, so what it reports itself (gap
    events after a drop-out, LSL markers) names the labelled device. Every other attribute
    (``connected``, ``reconnects``, ``stats``, ``battery_percent``, ``config``, ...) is read
    from the wrapped device. Chunks are renamed in :meth:`chunks` only: reading the wrapped
    device any other way gives its original stream names.

    Parameters
    ----------
    device : Device
        The device to label (not yet running).
    label : str
        See :data:`LABEL_RULE`.
    """

    def __init__(self, device: Device, label: str) -> None:
        if not is_label(label):
            raise ValueError(f"device label {label!r}: expected {LABEL_RULE}")
        self.device = device
        self.label = label
        device.id = f"{label}@{device.id}"
        self.id = device.id
        self._renamed = {s.name: replace(s, name=f"{label}.{s.name}", device=self.id)
                         for s in device.streams}
        self.streams = tuple(self._renamed.values())

    def __getattr__(self, name: str):
        # Only reached for attributes the wrapper does not have itself.
        device = self.__dict__.get("device")
        if device is None:
            raise AttributeError(name)
        return getattr(device, name)

    def describe(self) -> dict:
        return self.device.describe() | {"id": self.id, "label": self.label,
                                         "streams": [s.name for s in self.streams]}

    async def probe(self) -> None:
        await self.device.probe()

    def error_counts(self) -> dict[str, int]:
        return self.device.error_counts()

    @property
    def probe_timeout_s(self) -> float:  # type: ignore[override]
        return self.device.probe_timeout_s

    async def chunks(self, clock: SessionClock, until: float | None) -> AsyncIterator[Chunk | Event]:
        inner = self.device.chunks(clock, until)
        try:
            async for item in inner:
                if isinstance(item, Chunk):
                    item = Chunk(self._renamed[item.info.name], item.values, item.t0, item.timestamps)
                yield item
        finally:
            aclose = getattr(inner, "aclose", None)     # async generators: stop the device now
            if aclose is not None:
                await aclose()
