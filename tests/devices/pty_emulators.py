"""Serial sensor emulators on real pseudo-terminal pairs.

The adapter under test opens a symlink by name with pyserial; the emulator owns the pty master,
points the symlink at the slave, and "unplugs" by closing the master (the adapter's reads fail
with an OSError, as with a pulled USB cable) and "replugs" with a new pty behind the same link.
Like an Arduino that resets when its port opens, an emulator starts sending only once the
adapter has opened and configured the port (seen as the slave's baud rate changing).
"""
from __future__ import annotations

import fcntl
import os
import struct
import termios
import threading
import time
import tty
from pathlib import Path


class PtyPort:
    """One pty pair; ``link`` points at its slave."""

    def __init__(self, link: Path) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        attrs = termios.tcgetattr(self.slave)
        attrs[4] = attrs[5] = termios.B50          # no profile uses 50 baud: "not opened yet"
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        tmp = link.with_name(link.name + ".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(self.slave))
        os.replace(tmp, link)

    def wait_opened(self, baud: int, timeout: float = 10.0) -> bool:
        """Wait until the adapter has set the port to ``baud``."""
        want = getattr(termios, f"B{baud}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if termios.tcgetattr(self.master)[5] == want:
                return True
            time.sleep(0.005)
        return False

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view):]

    def unread(self) -> int:
        """Bytes written that the adapter has not read yet."""
        return struct.unpack("i", fcntl.ioctl(self.slave, termios.FIONREAD, b"\0\0\0\0"))[0]

    def unplug(self, link: Path | None = None, drain: bool = True) -> None:
        """Wait until everything sent was read (``drain``), then pull the cable (and the
        port's name when ``link`` is given)."""
        deadline = time.monotonic() + 2.0
        if drain:
            time.sleep(0.05)        # the kernel moves written bytes to the slave asynchronously
        while drain and self.unread() and time.monotonic() < deadline:
            time.sleep(0.005)
        if link is not None:
            link.unlink(missing_ok=True)
        os.close(self.master)
        os.close(self.slave)


class LineEmulator(threading.Thread):
    """Plays a script of serial lines at a fixed tick rate over one or more connections.

    ``script`` is a list of connections; a connection is a list of ticks; a tick is the bytes
    written at that tick (tick k of a connection at k / rate s after it starts). Between
    connections the cable is pulled for ``down_s`` seconds. After the last tick the port stays
    open until :meth:`stop`.
    """

    def __init__(self, link: Path, baud: int, rate: float, script: list[list[bytes]],
                 down_s: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.link, self.baud, self.rate, self.script, self.down_s = link, baud, rate, script, down_s
        self.port = PtyPort(link)
        self.replugged_at: list[float] = []     # monotonic times a new port appeared
        self.opened_at: list[float] = []        # monotonic times the adapter opened it
        self.finished = threading.Event()
        self.error: BaseException | None = None
        self._quit = threading.Event()

    def run(self) -> None:
        try:
            for i, ticks in enumerate(self.script):
                if i:
                    self.port.unplug(self.link)
                    time.sleep(self.down_s)
                    self.port = PtyPort(self.link)
                    self.replugged_at.append(time.monotonic())
                if not self.port.wait_opened(self.baud):
                    raise TimeoutError("the adapter never opened the port")
                self.opened_at.append(time.monotonic())
                time.sleep(0.1)                     # "boot" after the reset on open
                start = time.monotonic()
                for k, data in enumerate(ticks):
                    delay = start + k / self.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    if data:
                        self.port.write(data)
            self.finished.set()
            self._quit.wait()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.error = exc
            self.finished.set()
        finally:
            self.port.unplug(drain=False)

    def stop(self) -> None:
        self._quit.set()
        self.join(timeout=5)
