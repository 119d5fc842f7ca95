"""Live buffers: the latest seconds of every stream, for displays that must never block the engine.

:class:`LiveBuffers` is an engine sink. The engine thread appends; a terminal display or the Qt
window reads :meth:`LiveBuffers.window` on its own timer from another thread. Each stream keeps
a fixed-size ring, so memory does not grow with session length.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Sequence

import numpy as np

from .clock import SessionClock
from .stream import Chunk, Event, StreamInfo


class _Ring:
    """Fixed-capacity ring of (time, values) rows."""

    def __init__(self, capacity: int, channels: int) -> None:
        self.t = np.full(capacity, np.nan)
        self.v = np.full((capacity, channels), np.nan)
        self.end = 0          # total rows ever written

    def extend(self, times: np.ndarray, values: np.ndarray) -> None:
        cap = len(self.t)
        times, values = times[-cap:], values[-cap:]
        idx = (self.end + np.arange(len(times))) % cap
        self.t[idx], self.v[idx] = times, values
        self.end += len(times)

    def last(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        n = min(n, self.end, len(self.t))
        idx = (self.end - n + np.arange(n)) % len(self.t)
        return self.t[idx].copy(), self.v[idx].copy()


class LiveBuffers:
    """Engine sink holding the last ``seconds`` of each stream (at least ``min_samples`` samples).

    Parameters
    ----------
    seconds : float
        History kept per regular stream, session seconds.
    min_samples : int
        Rows kept per irregular stream (RR intervals, SCRs, indices).
    """

    def __init__(self, seconds: float = 300.0, min_samples: int = 2048) -> None:
        self.seconds = seconds
        self.min_samples = min_samples
        self._lock = threading.Lock()
        self._rings: dict[str, _Ring] = {}
        self.streams: dict[str, StreamInfo] = {}
        self.events: list[Event] = []
        self.clock: SessionClock | None = None
        self.samples = 0                         #: samples received, all streams
        self.ended: str | None = None
        self.end_s: float | None = None          #: planned session end, seconds (None = open)
        #: Recent chunk lags, seconds: session clock at arrival minus the time of the chunk's
        #: newest sample.
        self.lags_s: deque[float] = deque(maxlen=4096)

    def start(self, clock: SessionClock, streams: Sequence[StreamInfo]) -> None:
        self.clock = clock
        for s in streams:
            cap = max(self.min_samples, int(self.seconds * s.rate)) if s.regular else self.min_samples
            self._rings[s.name] = _Ring(cap, len(s.channels))
            self.streams[s.name] = s

    def write(self, chunk: Chunk) -> None:
        with self._lock:
            self._rings[chunk.info.name].extend(chunk.times, chunk.values)
            self.samples += len(chunk)
            if not chunk.info.derived:
                self.lags_s.append(self.clock.now() - float(chunk.times[-1]))

    def event(self, event: Event) -> None:
        with self._lock:
            self.events = [e for e in self.events if e.id != event.id] + [event]

    def close(self, t_end: float, ended_by: str) -> None:
        self.ended = ended_by

    def window(self, name: str, seconds: float | None = None, samples: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Times (session s) and values of the last ``seconds`` or ``samples`` of a stream."""
        info = self.streams[name]
        if samples is None:
            samples = int((seconds or self.seconds) * info.rate) if info.regular else self.min_samples
        with self._lock:
            t, v = self._rings[name].last(samples)
        if seconds is not None and not info.regular and len(t):
            keep = t >= t[-1] - seconds
            t, v = t[keep], v[keep]
        return t, v

    def of_kind(self, kind: str) -> list[str]:
        """Names of the streams of one kind, in the order they were declared."""
        return [n for n, s in self.streams.items() if s.kind == kind]
