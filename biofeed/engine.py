"""The engine: starts devices, fans their chunks out to processors and sinks, stops cleanly.

One asyncio loop drives everything (on a worker thread when a GUI owns the main thread).
Devices are async sources of chunks; each chunk goes to every sink (the recorder, live
buffers, an LSL outlet) and to the processors subscribed to its stream, whose derived chunks
are published the same way. The protocol runner emits events onto the same bus.
"""
from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Protocol as _Protocol, Sequence

from .clock import SessionClock
from .devices.base import Device
from .processor import Processor
from .protocol.runner import ProtocolRunner
from .stream import Chunk, Event, StreamInfo


class Sink(_Protocol):
    """Where chunks and events go: the recorder, live buffers, an LSL outlet."""

    def start(self, clock: SessionClock, streams: Sequence[StreamInfo]) -> None:
        """The session starts: the clock has just been started; these are all its streams."""

    def write(self, chunk: Chunk) -> None:
        """One chunk, raw or derived. Must not block the loop."""

    def event(self, event: Event) -> None:
        """One event (an event with a known id replaces the earlier one)."""

    def close(self, t_end: float, ended_by: str) -> None:
        """The session ended at session time ``t_end`` (seconds) for the reason given."""


@dataclass(frozen=True)
class SessionEnd:
    """How a session ended."""

    t_end: float        #: session time of the end, seconds
    ended_by: str       #: "end of session", "stopped: SIGINT", "error: ...", ...


class Engine:
    """Runs devices, processors, sinks and an optional protocol runner on one session clock.

    Parameters
    ----------
    devices : sequence of Device
    processors : sequence of Processor
        Each subscribes to the streams named in its ``inputs``.
    sinks : sequence of Sink
    runner : ProtocolRunner, optional
        Emits the protocol's events; its ``state_at`` drives the simulated sensor.
    clock : SessionClock, optional
        Real time by default.
    duration : float, optional
        Session length in seconds; the protocol's length when omitted and a runner is given,
        otherwise the session runs until :meth:`stop`.
    events : sequence of Event
        Events known before the data (a replay's recorded events), delivered at the start.
    """

    def __init__(self, devices: Sequence[Device], processors: Sequence[Processor] = (),
                 sinks: Sequence[Sink] = (), runner: ProtocolRunner | None = None,
                 clock: SessionClock | None = None, duration: float | None = None,
                 events: Sequence[Event] = ()) -> None:
        self._initial_events = list(events)
        self.devices = list(devices)
        self.processors = list(processors)
        self.sinks = list(sinks)
        self.runner = runner
        self.clock = clock or SessionClock()
        if duration is None and runner is not None:
            duration = runner.duration_s
        if duration is not None and not duration > 0:
            raise ValueError(f"session duration must be > 0 s, got {duration!r}")
        self.duration = duration
        self.streams = self._check_streams()
        self._subscribers: dict[str, list[Processor]] = {}
        for p in self.processors:
            for name in p.inputs:
                self._subscribers.setdefault(name, []).append(p)
        self._event_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_reason = ""

    #: Real seconds that devices get to deliver their last samples once the duration is up.
    END_GRACE_S = 1.0

    def _check_streams(self) -> tuple[StreamInfo, ...]:
        streams: dict[str, StreamInfo] = {}
        for info in itertools.chain(*(d.streams for d in self.devices),
                                    *(p.outputs for p in self.processors)):
            if info.name in streams:
                raise ValueError(f"two streams are named {info.name!r}; stream names must be unique")
            streams[info.name] = info
        for p in self.processors:
            missing = [n for n in p.inputs if n not in streams]
            if missing:
                raise ValueError(f"{type(p).__name__} needs stream(s) {missing} that no device or "
                                 f"processor provides (have {sorted(streams)})")
        return tuple(streams.values())

    # -- the bus -----------------------------------------------------------------------------
    def publish(self, chunk: Chunk) -> None:
        """Send a chunk to every sink and to the processors subscribed to its stream."""
        if not len(chunk):
            return
        for sink in self.sinks:
            sink.write(chunk)
        for proc in self._subscribers.get(chunk.info.name, ()):
            for out in proc.update(chunk):
                self.publish(out)

    def emit_event(self, onset: float, duration: float, label: str, kind: str,
                   payload: dict | None = None, id: int | None = None) -> Event:
        """Record an event (session seconds); pass ``id`` to replace an earlier one."""
        ev = Event(next(self._event_ids) if id is None else id, float(onset), float(duration),
                   label, kind, dict(payload or {}))
        for sink in self.sinks:
            sink.event(ev)
        for proc in self.processors:
            for out in proc.on_event(ev):
                self.publish(out)
        return ev

    # -- running -----------------------------------------------------------------------------
    def call_threadsafe(self, fn, *args) -> None:
        """Run ``fn(*args)`` on the engine's loop (from a GUI or any other thread)."""
        if self._loop is None:
            raise RuntimeError("the engine is not running")
        self._loop.call_soon_threadsafe(fn, *args)

    def stop(self, reason: str = "stopped") -> None:
        """Ask the session to end now; safe to call from any thread or a signal handler."""
        self._stop_reason = self._stop_reason or reason
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def _pump(self, device: Device) -> None:
        async for item in device.chunks(self.clock, self.duration):
            if isinstance(item, Event):          # a device's own event (a gap, a reconnect)
                self.emit_event(item.onset, item.duration, item.label, item.kind, item.payload)
            else:
                self.publish(item)

    async def run(self) -> SessionEnd:
        """Run the session to its end (duration reached, :meth:`stop`, or an error)."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._stop_reason:           # stop() was called before the loop ran
            self._stop.set()
        self.clock.start()
        for sink in self.sinks:
            sink.start(self.clock, self.streams)
        for ev in self._initial_events:
            self.emit_event(ev.onset, ev.duration, ev.label, ev.kind, ev.payload, id=ev.id)
        tasks = [asyncio.create_task(self._pump(d), name=f"device {d.id}") for d in self.devices]
        if self.runner is not None:
            until = self.duration if self.duration is not None else float("inf")
            tasks.append(asyncio.create_task(self.runner.run(self.clock, self.emit_event, until),
                                             name="protocol"))
        timer = None
        if self.duration is not None:
            timer = asyncio.create_task(self.clock.sleep_until(self.duration), name="timer")
            tasks.append(timer)
        stopper = asyncio.create_task(self._stop.wait(), name="stop")
        error: BaseException | None = None
        pending = set(tasks)
        try:
            while pending and not stopper.done():
                done, pending = await asyncio.wait(pending | {stopper},
                                                   return_when=asyncio.FIRST_COMPLETED)
                pending.discard(stopper)
                for task in done - {stopper}:
                    if task.exception() is not None:
                        error = task.exception()
                        self.stop(f"error in {task.get_name()}: {error!r}")
                if timer in done and pending:
                    # Time is up: devices that stop by themselves deliver their last samples;
                    # live sensors are cancelled after a short grace.
                    _, pending = await asyncio.wait(pending, timeout=self.END_GRACE_S)
                    break
        finally:
            natural = not self._stop_reason
            t_end = self.duration if natural and self.duration is not None else self.clock.now()
            for task in [*pending, stopper]:
                task.cancel()
            await asyncio.gather(*pending, stopper, return_exceptions=True)
            for proc in self.processors:
                for out in proc.flush():
                    self.publish(out)
            if self.runner is not None:
                self.runner.finish(self.emit_event, t_end)
            ended_by = "end of session" if natural else self._stop_reason
            for sink in self.sinks:
                sink.close(t_end, ended_by)
        if error is not None:
            raise error
        return SessionEnd(t_end, ended_by)
