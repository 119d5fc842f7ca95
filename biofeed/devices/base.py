"""The device contract: an async source of chunks on the session clock."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import AsyncIterator

from ..clock import SessionClock
from ..stream import Chunk, Event, StreamInfo


class Device(ABC):
    """A sensor (real or simulated) that streams chunks.

    Subclasses set :attr:`id` and :attr:`streams` before the session starts and implement
    :meth:`chunks`. A device owns connect / disconnect / reconnect; a gap in the data is a jump
    in the next chunk's ``t0``.
    """

    #: Device id recorded with each stream (no participant information).
    id: str = ""
    #: Streams this device produces.
    streams: tuple[StreamInfo, ...] = ()

    @abstractmethod
    def chunks(self, clock: SessionClock, until: float | None) -> AsyncIterator[Chunk | Event]:
        """Yield chunks as data arrive, until session time ``until`` (seconds; None = forever).

        A device that can stop exactly (a simulation, a file replay) yields every sample with a
        timestamp below ``until``; a live sensor stops when the engine cancels it. A device may
        also yield an :class:`~biofeed.stream.Event` (a gap after a drop-out); the engine
        records it under a new id.
        """

    def describe(self) -> dict:
        """Plain-data description stored in the session metadata."""
        return {"id": self.id, "type": type(self).__name__,
                "streams": [s.name for s in self.streams]}
