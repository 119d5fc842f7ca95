"""SIGINT and SIGTERM while Qt's event loop runs.

Python runs a signal's handler only between bytecodes of the main thread, and Qt's event loop
is C++: a Ctrl-C would wait for the next Python callback (and, with Python's default handler,
raise ``KeyboardInterrupt`` inside it, a traceback in whatever slot ran). So the handlers are
Python's own, and the C-level handler also writes the signal number to a socket
(:func:`signal.set_wakeup_fd`) watched by a :class:`QSocketNotifier`: the notifier's slot
enters Python, which runs the handler at once, even when no timer is running (a finished
session's window).
"""
from __future__ import annotations

import signal
import socket
from typing import Callable

from PySide6.QtCore import QSocketNotifier

#: The signals that end a session cleanly (as headless, :meth:`biofeed.session.Session.run`).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalWatch:
    """While it is installed, SIGINT and SIGTERM call ``on_signal(name)`` (``"SIGINT"``,
    ``"SIGTERM"``) on the main thread, promptly, from Qt's event loop.

    Install it on the main thread (Python only allows signal handlers there); :meth:`close`
    restores the previous handlers and wake-up fd.
    """

    def __init__(self, on_signal: Callable[[str], None]) -> None:
        self._on_signal = on_signal
        self._read, self._write = socket.socketpair()
        for s in (self._read, self._write):
            s.setblocking(False)
        self._old_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._drain)
        self._old = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}

    def _handle(self, signum: int, frame) -> None:
        self._on_signal(signal.Signals(signum).name)

    def _drain(self) -> None:
        try:
            while self._read.recv(256):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def close(self) -> None:
        """Put back the handlers and wake-up fd that were there before."""
        for sig, old in self._old.items():
            signal.signal(sig, old)
        signal.set_wakeup_fd(self._old_fd)
        self._notifier.setEnabled(False)
        self._read.close()
        self._write.close()
