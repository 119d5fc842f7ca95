"""Publishing a session on Lab Streaming Layer (opt-in), so LabRecorder can record it.

:class:`LslOutlet` is an engine sink: one LSL outlet per biofeed stream (raw and derived),
typed by stream kind, with XDF channel metadata (label, unit, type), and one string outlet
``<prefix>-markers`` (type ``Markers``) carrying every event as JSON. Sample times are the
session times mapped to the LSL clock. Once its outlets exist it says, through ``notify``, which
of them other computers can reach (:func:`~biofeed.lsl.exposure.exposure_note`).
"""
from __future__ import annotations

import json
from typing import Callable, Sequence

import numpy as np

from ..clock import SessionClock
from ..stream import Chunk, Event, StreamInfo
from .config import clock_offset, pylsl_module
from .exposure import exposure_note


class LslOutlet:
    """Engine sink publishing every stream and event on LSL.

    Parameters
    ----------
    prefix : str
        Start of every outlet name and source id (e.g. ``biofeed``).
    scope : str
        Discovery scope (:data:`~biofeed.lsl.config.SCOPES`).
    notify : callable, optional
        Called at start with one line saying what the outlets make reachable.
    """

    def __init__(self, prefix: str = "biofeed", scope: str = "machine",
                 notify: Callable[[str], None] | None = None) -> None:
        self._lsl = pylsl_module(scope)
        self.prefix = prefix
        self.scope = scope
        self._notify = notify
        self._outlets: dict[str, object] = {}
        self._markers = None
        self._clock: SessionClock | None = None
        self._offset = 0.0

    def _info(self, s: StreamInfo):
        info = self._lsl.StreamInfo(f"{self.prefix}.{s.name}", s.kind.upper(), len(s.channels),
                                    s.rate, self._lsl.cf_double64, f"{self.prefix}.{s.name}")
        chans = info.desc().append_child("channels")
        for label in s.channels:
            ch = chans.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", s.unit)
            ch.append_child_value("type", s.kind.upper())
        info.desc().append_child_value("derived", str(s.derived).lower())
        return info

    def start(self, clock: SessionClock, streams: Sequence[StreamInfo]) -> None:
        self._clock = clock
        self._offset = clock_offset(self._lsl)
        for s in streams:
            self._outlets[s.name] = self._lsl.StreamOutlet(self._info(s))
        self._markers = self._lsl.StreamOutlet(self._lsl.StreamInfo(
            f"{self.prefix}-markers", "Markers", 1, 0, self._lsl.cf_string, f"{self.prefix}-markers"))
        if self._notify is not None:
            self._notify(exposure_note(self.scope))

    def _lsl_time(self, t):
        return self._clock.to_monotonic(t) + self._offset

    def write(self, chunk: Chunk) -> None:
        stamps = self._lsl_time(chunk.times)
        self._outlets[chunk.info.name].push_chunk(np.ascontiguousarray(chunk.values), stamps.tolist())

    def event(self, event: Event) -> None:
        text = json.dumps({"label": event.label, "kind": event.kind, "onset_s": event.onset,
                           "duration_s": event.duration, "id": event.id, **event.payload})
        self._markers.push_sample([text], float(self._lsl_time(event.onset)))

    def close(self, t_end: float, ended_by: str) -> None:
        self._outlets.clear()
        self._markers = None
