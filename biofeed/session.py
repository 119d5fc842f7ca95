"""A recorded session: devices + processors + protocol runner + recorder + live buffers.

This is the one place that assembles the engine for the command line, the GUI and notebooks.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import re
import signal
import threading
from pathlib import Path
from typing import Sequence

from .clock import SessionClock
from .devices.base import Device, DeviceStatus
from .engine import Engine, SessionEnd, Sink
from .live import LiveBuffers
from .physio.rr import check_level
from .pipeline import default_processors
from .processor import Processor
from .protocol.runner import ProtocolRunner
from .record.writer import SessionRecorder


#: Longest participant id, characters.
PARTICIPANT_MAX = 64
_PARTICIPANT = re.compile(r"[A-Za-z0-9_-]*")
PARTICIPANT_RULE = (f"letters A-Z/a-z, digits, '-' and '_' only, at most {PARTICIPANT_MAX} "
                    "characters (a pseudonym such as P017, never a name); empty = anonymous")


def validate_participant(participant: str) -> str:
    """The participant id if it follows :data:`PARTICIPANT_RULE`, else ValueError saying why.

    Ids are stored in session files, printed in tables and used in exported file names
    (BIDS ``sub-<id>``): plain ASCII letters, digits, ``-`` and ``_``, up to 64 characters. The
    empty id (anonymous) is allowed. The one check the command line, the start screen and
    :class:`Session` all use.
    """
    if not isinstance(participant, str):
        raise ValueError(f"participant id must be a string, got {type(participant).__name__}")
    if len(participant) > PARTICIPANT_MAX or not _PARTICIPANT.fullmatch(participant):
        shown = participant if len(participant) <= 80 else participant[:77] + "..."
        raise ValueError(f"participant id {shown!r} is not allowed: {PARTICIPANT_RULE}")
    return participant


class Session:
    """Everything one recording needs, wired together.

    Parameters
    ----------
    devices : sequence of Device
    runner : ProtocolRunner, optional
    out_dir : path
        Folder of the session file.
    participant : str
        Pseudonymous participant id (stored inside the file, never in its name); checked by
        :func:`validate_participant` (ValueError otherwise).
    speed : float
        Session seconds per real second (> 1 only for simulated devices).
    duration : float, optional
        Seconds; the protocol's length by default.
    processors : sequence of Processor, optional
        The signal core for the devices' streams by default.
    sinks : sequence of Sink
        Extra sinks (an LSL outlet, ...).
    rr_correction : str
        RR artifact-correction level (:data:`biofeed.physio.rr.LEVELS`, default
        ``"automatic"``, Lipponen & Tarvainen 2019) of the default processors, recorded in
        the session metadata so that replays and ``biofeed analyze`` use it again; with
        ``processors`` given, pass the level their NN processors use.
    allow_missing : bool
        Start even when some devices cannot be reached (they are recorded as disconnected
        from 0 s and retried); by default :meth:`run` raises
        :class:`~biofeed.engine.DeviceUnavailable` before anything is recorded.
    """

    def __init__(self, devices: Sequence[Device], runner: ProtocolRunner | None = None,
                 out_dir: str | Path = "sessions", participant: str = "", speed: float = 1.0,
                 duration: float | None = None, processors: Sequence[Processor] | None = None,
                 sinks: Sequence[Sink] = (), rr_correction: str = "automatic",
                 allow_missing: bool = False) -> None:
        check_level(rr_correction)
        participant = validate_participant(participant)
        self.clock = SessionClock(speed)
        self.runner = runner
        self.live = LiveBuffers()
        self.recorder = SessionRecorder(
            out_dir, participant=participant,
            protocol=None if runner is None else runner.protocol.to_dict(),
            devices=[d.describe() for d in devices], rr_correction=rr_correction)
        streams = [s for d in devices for s in d.streams]
        procs = (default_processors(streams, rr_correction) if processors is None
                 else list(processors))
        self.engine = Engine(devices, procs, [self.recorder, self.live, *sinks], runner,
                             self.clock, duration, allow_missing=allow_missing)
        self.live.end_s = self.engine.duration

    @property
    def path(self) -> Path | None:
        """The session file (known once the session has started)."""
        return self.recorder.path

    def device_status(self) -> dict[str, DeviceStatus]:
        """Each device's state now (``connecting``, ``connected``, ``disconnected``: see
        :class:`~biofeed.devices.base.DeviceStatus`), by device id; thread-safe, for the live
        window and the terminal status."""
        return self.engine.device_status()

    def add_marker(self, note: str = "") -> None:
        """Record a clinician marker now, with an optional note (thread-safe)."""
        self.engine.call_threadsafe(lambda: self.engine.emit_event(
            self.clock.now(), 0.0, "marker", "marker", {"note": note}))

    def stop(self, reason: str = "stopped by user") -> None:
        """End the session now, cleanly (thread-safe)."""
        self.engine.stop(reason)

    def start_in_thread(self) -> "concurrent.futures.Future[SessionEnd]":
        """Run the session on a worker thread (the GUI keeps the main thread).

        Returns a future of the :class:`SessionEnd`; :meth:`stop` ends the session from any
        thread. Signals stay with the main thread's owner (Qt), which calls :meth:`stop`.
        """
        future: concurrent.futures.Future[SessionEnd] = concurrent.futures.Future()

        def work() -> None:
            try:
                future.set_result(asyncio.run(self.run()))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                future.set_exception(exc)

        threading.Thread(target=work, name="biofeed-engine", daemon=True).start()
        return future

    async def run(self) -> SessionEnd:
        """Run to the end. On the main thread, SIGINT and SIGTERM end the session cleanly."""
        loop = asyncio.get_running_loop()
        handled = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop, f"stopped: {sig.name}")
                handled.append(sig)
        try:
            return await self.engine.run()
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
