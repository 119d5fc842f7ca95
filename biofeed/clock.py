"""The session clock: one monotonic time base for every chunk and event of a session.

Session time is in seconds since the session started, taken from ``time.monotonic`` (never
jumps with wall-clock changes) and anchored once to UTC wall time at the start. With
``speed > 1`` session time runs faster than real time (simulated sessions for tests and demos):
one real second is ``speed`` session seconds.
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone


class SessionClock:
    """Monotonic session clock in seconds, anchored to UTC at :meth:`start`.

    Parameters
    ----------
    speed : float
        Session seconds per real second (1 = real time).
    """

    def __init__(self, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"clock speed must be > 0 (session seconds per real second), got {speed!r}")
        self.speed = float(speed)
        self.start_utc: datetime | None = None
        self._t0: float | None = None

    def start(self) -> None:
        """Set session time 0 to now and record the UTC wall time of that instant."""
        self._t0 = time.monotonic()
        self.start_utc = datetime.now(timezone.utc)

    @property
    def started(self) -> bool:
        return self._t0 is not None

    def now(self) -> float:
        """Current session time, seconds."""
        if self._t0 is None:
            raise RuntimeError("session clock not started")
        return (time.monotonic() - self._t0) * self.speed

    def at_monotonic(self, m: float) -> float:
        """Session time (s) of a ``time.monotonic()`` reading ``m`` (s)."""
        if self._t0 is None:
            raise RuntimeError("session clock not started")
        return (m - self._t0) * self.speed

    def to_monotonic(self, t: float):
        """``time.monotonic()`` reading (s) of session time ``t`` (s); works on arrays too."""
        if self._t0 is None:
            raise RuntimeError("session clock not started")
        return self._t0 + t / self.speed

    def utc(self, t: float) -> datetime:
        """UTC wall time of session time ``t`` (seconds), counting session seconds as seconds."""
        if self.start_utc is None:
            raise RuntimeError("session clock not started")
        return self.start_utc + timedelta(seconds=t)

    async def sleep_until(self, t: float) -> None:
        """Sleep until session time ``t`` (seconds).

        Always yields to the event loop, even when ``t`` has passed: a device that runs behind
        (a fast simulated session) must not starve the protocol runner and the other devices.
        """
        await asyncio.sleep(max(0.0, (t - self.now()) / self.speed))
