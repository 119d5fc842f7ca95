"""The device contract: an async source of chunks on the session clock, and its live state."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import AsyncIterator

from ..clock import SessionClock
from ..stream import Chunk, Event, StreamInfo


class Device(ABC):
    """A sensor (real or simulated) that streams chunks.

    Subclasses set :attr:`id` and :attr:`streams` before the session starts and implement
    :meth:`chunks`. A device owns connect / disconnect / reconnect; a gap in the data is a jump
    in the next chunk's ``t0``. A device that can lose its link announces the loss with a
    ``device`` event (payload ``state: "disconnected"`` and ``reason``) and its return with a
    ``gap`` event or simply its next chunk; the engine keeps the :class:`DeviceStatus`.
    """

    #: Real seconds the engine gives :meth:`probe` before the session starts.
    probe_timeout_s: float = 5.0
    #: Device id recorded with each stream (no participant information).
    id: str = ""
    #: Streams this device produces.
    streams: tuple[StreamInfo, ...] = ()

    @abstractmethod
    def chunks(self, clock: SessionClock, until: float | None) -> AsyncIterator[Chunk | Event]:
        """Yield chunks as data arrive, until session time ``until`` (seconds; None = forever).

        A device that can stop exactly (a simulation, a file replay) yields every sample with a
        timestamp below ``until``; a live sensor stops when the engine cancels it. A device may
        also yield an :class:`~biofeed.stream.Event` (a loss, a gap after a drop-out, a
        marker); the engine records it under a new id.
        """

    async def probe(self) -> None:
        """Check, before the session starts, that the device can be reached now.

        Raises ``OSError`` saying why when it cannot (a missing or busy port). Must not
        disturb the device or consume data; devices with no such cheap check (a simulation,
        Bluetooth, LSL) do nothing here, and a link that never comes up shows as a device
        disconnected from the start.
        """

    def error_counts(self) -> dict[str, int]:
        """Counts of input the device could not use over the whole session, by kind:
        always ``decode_errors`` (lines, notifications or frames that did not decode); a
        device adds its own (``garbage_lines``, ``lost_samples``, ``reconnects``, ...)."""
        return {"decode_errors": 0}

    def describe(self) -> dict:
        """Plain-data description stored in the session metadata."""
        return {"id": self.id, "type": type(self).__name__,
                "streams": [s.name for s in self.streams]}


@dataclass(frozen=True)
class DeviceStatus:
    """A device's state in a running session, as the engine saw it last.

    Read it live with :meth:`biofeed.engine.Engine.device_status` (from any thread: a new
    object replaces the old one at each change).

    Attributes
    ----------
    device : str
        Device id (as in the stream table, ``LABEL@id`` when labelled).
    state : str
        ``"connecting"`` (no data yet), ``"connected"`` or ``"disconnected"``.
    since_s : float
        Session time, s, at which the device entered ``state``.
    reason : str
        Why it is disconnected (the last connection error); "" otherwise.
    gaps : int
        Disconnections that have ended (the open one not counted).
    disconnected_s : float
        Seconds spent disconnected in the gaps that have ended.
    missing_at_start : bool
        The device could not be reached when the session started (``allow_missing``).
    """

    device: str
    state: str = "connecting"
    since_s: float = 0.0
    reason: str = ""
    gaps: int = 0
    disconnected_s: float = 0.0
    missing_at_start: bool = False

    def down_s(self, now_s: float) -> float:
        """Seconds spent disconnected up to session time ``now_s`` (s), the open gap included."""
        open_s = max(0.0, now_s - self.since_s) if self.state == "disconnected" else 0.0
        return self.disconnected_s + open_s
