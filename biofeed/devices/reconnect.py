"""Staying connected: retry with backoff, a stale-data watchdog, and gap events.

Real sensors drop out (a strap loses skin contact, a Bluetooth stack hiccups, a USB cable is
pulled). :class:`ReconnectingDevice` turns one connection attempt (:meth:`connection`) into a
stream that survives that: when the connection fails, ends, or delivers nothing for
``stale_s`` seconds, it yields a ``device`` event at once (payload ``state:
"disconnected"`` and the reason, so the engine records and shows the loss while it lasts),
retries with exponential backoff until the session stops, and when data flow again yields a
``gap`` event (onset = when the loss was noticed, duration = until data flow again) and
carries on with the same streams. Nothing already recorded is touched. A device that never
comes back is closed off by the engine at the end of the session
(:class:`~biofeed.engine.Engine` records the gap up to the end).
"""
from __future__ import annotations

import asyncio
from abc import abstractmethod
from typing import AsyncIterator

from ..clock import SessionClock
from ..stream import Chunk, Event
from .base import Device


class StaleData(ConnectionError):
    """No data arrived within the watchdog interval."""


class ReconnectingDevice(Device):
    """A device whose connection is retried for as long as the session runs.

    Subclasses implement :meth:`connection`: connect, yield chunks, and clean up in a
    ``finally`` block. Any ``OSError`` (``ConnectionError``, ``TimeoutError`` and serial errors
    are ``OSError``) or a normal end counts as a drop-out; other exceptions are bugs and end
    the session.

    Attributes
    ----------
    stale_s : float
        Real seconds without a chunk before the connection is declared dead.
    backoff_s : tuple of float
        First and largest real-second wait between attempts (doubling).
    connected : bool
        Data flowed on the current connection.
    reconnects : int
        Connections that failed or ended (each is followed by a new attempt), whole session.
    last_error : str
        Why the last one failed.
    """

    stale_s: float = 5.0
    backoff_s: tuple[float, float] = (0.5, 8.0)

    def __init__(self) -> None:
        self.connected = False
        self.reconnects = 0
        self.last_error: str = ""

    @abstractmethod
    def connection(self, clock: SessionClock) -> AsyncIterator[Chunk]:
        """One connection: open it, yield chunks while it lasts, close it when done."""

    async def chunks(self, clock: SessionClock, until: float | None) -> AsyncIterator[Chunk | Event]:
        wait = self.backoff_s[0]
        gap_start: float | None = None
        while until is None or clock.now() < until:
            stream = self.connection(clock)
            lost = False
            try:
                while True:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
                    # engine's cancellation when a chunk arrives at the same moment.
                    watchdog = asyncio.timeout(self.stale_s)
                    try:
                        async with watchdog:
                            chunk = await anext(stream)
                    except StopAsyncIteration:
                        raise ConnectionError("the device closed the connection") from None
                    except TimeoutError:
                        if not watchdog.expired():      # the connection's own (a connect timeout)
                            raise
                        raise StaleData(f"no data for {self.stale_s:g} s") from None
                    self.connected = True
                    if gap_start is not None:
                        yield self._gap_event(gap_start, chunk.t0)
                        gap_start = None
                    wait = self.backoff_s[0]
                    yield chunk
            except OSError as exc:
                self.connected = False
                self.last_error = f"{type(exc).__name__}: {exc}"
                if gap_start is None:
                    gap_start, lost = clock.now(), True
                self.reconnects += 1
            finally:
                await stream.aclose()
            if lost:
                yield Event(0, gap_start, 0.0, f"{self.id} disconnected", "device",
                            {"device": self.id, "state": "disconnected", "reason": self.last_error})
            await asyncio.sleep(wait)
            wait = min(2 * wait, self.backoff_s[1])

    def error_counts(self) -> dict[str, int]:
        return super().error_counts() | {"reconnects": self.reconnects}

    def _gap_event(self, start: float, end: float) -> Event:
        return Event(0, start, max(0.0, end - start), f"{self.id} gap", "gap",
                     {"device": self.id, "reason": self.last_error})
