"""Offline analysis = replay: a recording runs through the same processors as live, at full speed."""
from __future__ import annotations

import asyncio
from typing import AsyncIterator, Sequence

import numpy as np

from ..clock import SessionClock
from ..devices.base import Device
from ..engine import Engine
from ..pipeline import default_processors
from ..processor import Processor
from ..record.reader import Recording, Signal
from ..stream import Chunk, Event, StreamInfo


class RecordingReplay(Device):
    """A device that plays the raw streams of a recording, each as one chunk, as fast as it can."""

    def __init__(self, rec: Recording) -> None:
        self.id = "replay"
        self.rec = rec
        self.streams = tuple(s for s in rec.streams.values() if not s.derived)

    async def chunks(self, clock: SessionClock, until: float | None) -> AsyncIterator[Chunk]:
        for info in self.streams:
            sig = self.rec.signals[info.name]
            if len(sig):
                yield Chunk(info, sig.values, t0=float(sig.times[0]),
                            timestamps=None if info.regular else sig.times)


class MemorySink:
    """Engine sink that keeps every chunk and event in memory and returns :class:`Signal` objects."""

    def __init__(self) -> None:
        self._parts: dict[str, list[Chunk]] = {}
        self.streams: dict[str, StreamInfo] = {}
        self.events: list[Event] = []

    def start(self, clock: SessionClock, streams: Sequence[StreamInfo]) -> None:
        self.streams = {s.name: s for s in streams}
        self._parts = {s.name: [] for s in streams}

    def write(self, chunk: Chunk) -> None:
        self._parts[chunk.info.name].append(chunk)

    def event(self, event: Event) -> None:
        self.events.append(event)

    def close(self, t_end: float, ended_by: str) -> None:
        pass

    def chunks(self, name: str) -> list[Chunk]:
        """The chunks of one stream as they arrived."""
        return self._parts[name]

    def signal(self, name: str) -> Signal:
        info, parts = self.streams[name], self._parts[name]
        values = np.concatenate([c.values for c in parts]) if parts else np.empty((0, len(info.channels)))
        times = np.concatenate([c.times for c in parts]) if parts else np.empty(0)
        return Signal(values[:, 0] if len(info.channels) == 1 else values, times, info.rate,
                      info.unit, info)


def replay(rec: Recording, processors: Sequence[Processor] | None = None,
           rr_correction: str | None = None) -> dict[str, Signal]:
    """Run a recording's raw streams through processors (the standard ones by default).

    The standard processors correct RR artifacts at level ``rr_correction``
    (:data:`biofeed.physio.rr.LEVELS`), by default the level recorded in the session
    metadata (:func:`rr_correction_of`). Returns every derived stream as a :class:`Signal`,
    keyed by stream name.
    """
    device = RecordingReplay(rec)
    level = rr_correction_of(rec) if rr_correction is None else rr_correction
    procs = default_processors(device.streams, level) if processors is None else list(processors)
    sink = MemorySink()
    events = [Event(int(e.id), e.onset, e.duration, e.label, e.kind, e.payload)
              for e in rec.events.itertuples()]
    asyncio.run(Engine([device], procs, [sink], events=events).run())
    return {p.name: sink.signal(p.name) for proc in procs for p in proc.outputs}


def rr_correction_of(rec: Recording) -> str:
    """The RR artifact-correction level a recording was made with: its metadata's
    ``rr_correction``, ``"automatic"`` for files without one (older sessions, imports)."""
    return rec.meta.get("rr_correction", "automatic")


def derived_signals(rec: Recording) -> dict[str, Signal]:
    """The derived streams of a recording: as recorded live, or replayed when none were recorded."""
    recorded = {n: rec.signals[n] for n, s in rec.streams.items() if s.derived}
    return recorded or replay(rec)
