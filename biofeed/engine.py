"""The engine: starts devices, fans their chunks out to processors and sinks, stops cleanly.

One asyncio loop drives everything (on a worker thread when a GUI owns the main thread).
Devices are async sources of chunks; each chunk goes to every sink (the recorder, live
buffers, an LSL outlet) and to the processors subscribed to its stream, whose derived chunks
are published the same way. The protocol runner emits events onto the same bus.

Devices that come and go: before the clock starts, every device is probed
(:meth:`~biofeed.devices.base.Device.probe`); one that cannot be reached is an error at once
(:class:`DeviceUnavailable`, no session begins) unless ``allow_missing``, when it is recorded
as disconnected from 0 s and retried like a device that dropped out. While the session runs the
engine keeps each device's :class:`~biofeed.devices.base.DeviceStatus` (read it live with
:meth:`Engine.device_status`) and records every loss as it happens: a ``device`` event
(``disconnected``, later ``reconnected``) and a ``gap`` event that grows from duration 0 when
the link is lost to its full length when data flow again or the session ends (payload
``until: "end of session"``). At the end the devices' error counts go to the sinks that keep
metadata (``device_errors``, see :meth:`Engine.device_report`).
"""
from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, replace
from typing import Protocol as _Protocol, Sequence

from .clock import SessionClock
from .devices.base import Device, DeviceStatus
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

    # Optional: ``add_meta(items: dict)``, metadata known only at the end (the devices' error
    # counts), called just before :meth:`close` on sinks that have it (the recorder).


class DeviceUnavailable(ConnectionError):
    """Devices could not be reached when the session was to start (no session began).

    Attributes
    ----------
    missing : dict
        Device id -> reason.
    """

    def __init__(self, message: str, missing: dict[str, str]) -> None:
        super().__init__(message)
        self.missing = dict(missing)


def _where(device: Device) -> str:
    """Where a device is reached (port, address or query), for messages."""
    d = device.describe()
    for key in ("port", "address", "query"):
        if d.get(key):
            return f" on {d[key]}" if key != "query" else f" ({d[key]})"
    return ""


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
    allow_missing : bool
        A device whose probe fails does not stop the session from starting (it is recorded
        as disconnected from 0 s and retried); at least one device must be reachable.
    """

    def __init__(self, devices: Sequence[Device], processors: Sequence[Processor] = (),
                 sinks: Sequence[Sink] = (), runner: ProtocolRunner | None = None,
                 clock: SessionClock | None = None, duration: float | None = None,
                 events: Sequence[Event] = (), allow_missing: bool = False) -> None:
        self._initial_events = list(events)
        self.devices = list(devices)
        self.allow_missing = allow_missing
        self._status = {d.id: DeviceStatus(d.id) for d in self.devices}
        self._open_gaps: dict[str, int] = {}        # device id -> id of its open gap event
        self._missing: dict[str, str] = {}          # device id -> why its probe failed
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
        ids = [d.id for d in self.devices]
        if len(set(ids)) != len(ids):
            raise ValueError(f"two devices have the same id in {ids}; label them (LABEL@SPEC)")
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

    # -- device state ------------------------------------------------------------------------
    def device_status(self) -> dict[str, DeviceStatus]:
        """Each device's state right now, by device id (safe to call from any thread)."""
        return dict(self._status)

    def device_report(self, now_s: float | None = None) -> dict[str, dict]:
        """Per device id, up to session time ``now_s`` (s; now by default): its error counts
        (:meth:`~biofeed.devices.base.Device.error_counts`: ``decode_errors``,
        ``garbage_lines``, ``reconnects``, ...), ``gaps`` (disconnections, an open one
        included), ``disconnected_s`` (seconds disconnected), ``state`` and
        ``missing_at_start``; stored at the end as ``device_errors`` in the session metadata."""
        now_s = self._now() if now_s is None else now_s
        report = {}
        for d in self.devices:
            st = self._status[d.id]
            report[d.id] = {**d.error_counts(), "gaps": st.gaps + (st.state == "disconnected"),
                            "disconnected_s": round(st.down_s(now_s), 3),
                            "state": st.state, "missing_at_start": st.missing_at_start}
        return report

    def _now(self) -> float:
        return self.clock.now() if self.clock.started else 0.0

    async def _probe(self) -> None:
        """Probe every device at once; raise :class:`DeviceUnavailable` unless allowed."""
        async def one(device: Device) -> str:
            try:
                async with asyncio.timeout(device.probe_timeout_s):
                    await device.probe()
            except TimeoutError:
                return f"no answer within {device.probe_timeout_s:g} s"
            except OSError as exc:
                return str(exc) or type(exc).__name__
            return ""

        reasons = await asyncio.gather(*(one(d) for d in self.devices))
        missing = {d.id: r for d, r in zip(self.devices, reasons) if r}
        if not missing:
            return
        what = "; ".join(f"device {d.id}{_where(d)} is not available: {missing[d.id]}"
                         for d in self.devices if d.id in missing)
        if not self.allow_missing:
            hint = (" (--allow-missing records the others without it)"
                    if len(missing) < len(self.devices) else "")
            raise DeviceUnavailable(what + hint, missing)
        if len(missing) == len(self.devices):
            raise DeviceUnavailable(f"no device is available: {what}", missing)
        self._missing = missing

    def _device_event(self, device: Device, item: Event) -> None:
        if item.kind == "device" and item.payload.get("state") == "disconnected":
            self._disconnected(device.id, item.onset, str(item.payload.get("reason", "")))
        elif item.kind == "gap" and device.id in self._open_gaps:
            self._gap_closed(device, item.onset + item.duration, str(item.payload.get("reason", "")))
        else:
            self.emit_event(item.onset, item.duration, item.label, item.kind, item.payload)

    def _disconnected(self, dev: str, t: float, reason: str, at_start: bool = False) -> None:
        """Device ``dev`` was lost at session time ``t`` (s); one that never delivered data
        has been missing since the start (a Bluetooth strap that never connects)."""
        st = self._status[dev]
        if st.state == "disconnected":          # still the same loss (a missing device's retry)
            return
        if st.state == "connecting":
            t, at_start = 0.0, True
        extra = {"at_start": True} if at_start else {}
        self.emit_event(t, 0.0, f"{dev} disconnected", "device",
                        {"device": dev, "state": "disconnected", "reason": reason, **extra})
        gap = self.emit_event(t, 0.0, f"{dev} gap", "gap",
                              {"device": dev, "reason": reason, "open": True, **extra})
        self._open_gaps[dev] = gap.id
        self._status[dev] = replace(st, state="disconnected", since_s=t, reason=reason,
                                    missing_at_start=st.missing_at_start or at_start)

    def _gap_closed(self, device: Device, t: float, reason: str = "", at_end: bool = False) -> None:
        """The device's open gap ends at session time ``t``: data again, or the session's end."""
        dev, st = device.id, self._status[device.id]
        reason = reason or getattr(device, "last_error", "") or st.reason
        t = max(t, st.since_s)
        extra = {"at_start": True} if st.missing_at_start and st.gaps == 0 else {}
        if at_end:
            extra["until"] = "end of session"
        self.emit_event(st.since_s, t - st.since_s, f"{dev} gap", "gap",
                        {"device": dev, "reason": reason, **extra}, id=self._open_gaps.pop(dev))
        if not at_end:
            self.emit_event(t, 0.0, f"{dev} reconnected", "device",
                            {"device": dev, "state": "reconnected", "gap_s": t - st.since_s})
        if at_end:                          # still disconnected, since st.since_s
            self._status[dev] = replace(st, reason=reason)
        else:
            self._status[dev] = replace(st, state="connected", since_s=t, reason="",
                                        gaps=st.gaps + 1,
                                        disconnected_s=st.disconnected_s + t - st.since_s)

    async def _pump(self, device: Device) -> None:
        async for item in device.chunks(self.clock, self.duration):
            if isinstance(item, Event):          # a device's own event (a loss, a gap, a marker)
                self._device_event(device, item)
                continue
            state = self._status[device.id].state
            if state == "disconnected":          # back without a gap event of its own
                self._gap_closed(device, item.t0)
            elif state == "connecting":
                self._status[device.id] = replace(self._status[device.id], state="connected",
                                                  since_s=item.t0)
            self.publish(item)

    async def run(self) -> SessionEnd:
        """Run the session to its end (duration reached, :meth:`stop`, or an error)."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._stop_reason:           # stop() was called before the loop ran
            self._stop.set()
        await self._probe()             # DeviceUnavailable: nothing has started
        self.clock.start()
        for sink in self.sinks:
            sink.start(self.clock, self.streams)
        for ev in self._initial_events:
            self.emit_event(ev.onset, ev.duration, ev.label, ev.kind, ev.payload, id=ev.id)
        for dev, reason in self._missing.items():
            self._disconnected(dev, 0.0, reason, at_start=True)
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
            for device in self.devices:      # a device still gone: its gap lasts to the end
                if device.id in self._open_gaps:
                    self._gap_closed(device, t_end, at_end=True)
            ended_by = "end of session" if natural else self._stop_reason
            report = {"device_errors": self.device_report(t_end)}
            for sink in self.sinks:
                add_meta = getattr(sink, "add_meta", None)
                if add_meta is not None:
                    add_meta(report)
                sink.close(t_end, ended_by)
        if error is not None:
            raise error
        return SessionEnd(t_end, ended_by)
