"""What other computers can reach: the sockets this process listens on, read from Linux ``/proc``.

liblsl binds each outlet's TCP data server and UDP time server to every network interface,
whatever its configuration says (``multicast.ListenAddress`` moves only the discovery
responders; liblsl 1.16-1.18, ``tcp_server.cpp``). So "this computer only" can limit who
*finds* the streams, not who can *connect* to them. :func:`exposure_note` says plainly which
listeners are open to the network, from the kernel's own socket tables.
"""
from __future__ import annotations

import os
import socket
import struct
from typing import NamedTuple

#: TCP state LISTEN and UDP state "unconnected" (``include/net/tcp_states.h``): sockets that
#: accept traffic from anyone who knows the port.
_LISTENING = {"tcp": "0A", "tcp6": "0A", "udp": "07", "udp6": "07"}


class Listener(NamedTuple):
    """A listening socket: protocol (``tcp``/``udp``), bound address and port."""

    protocol: str
    address: str
    port: int

    @property
    def loopback(self) -> bool:
        """True when only this computer can reach it (127.0.0.0/8 or ::1)."""
        return self.address.startswith("127.") or self.address == "::1"

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.protocol.upper()} {host}:{self.port}"


def _address(hex_addr: str) -> str:
    """A ``/proc/net`` address (host byte order, 32-bit words) as text."""
    raw = bytes.fromhex(hex_addr)
    words = struct.unpack(f"<{len(raw) // 4}I", raw)
    packed = struct.pack(f">{len(words)}I", *words)
    return socket.inet_ntop(socket.AF_INET if len(packed) == 4 else socket.AF_INET6, packed)


def _socket_inodes(pid: int | str) -> set[str]:
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
        except OSError:        # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def listening_sockets(pid: int | str = "self") -> list[Listener]:
    """The TCP and UDP sockets process ``pid`` listens on, sorted; ``[]`` where there is no
    ``/proc`` (not Linux)."""
    try:
        inodes = _socket_inodes(pid)
    except OSError:
        return []
    found = set()
    for table, state in _LISTENING.items():
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == state and fields[9] in inodes:
                addr, port = fields[1].split(":")
                found.add(Listener(table.rstrip("6"), _address(addr), int(port, 16)))
    return sorted(found)


def exposure_note(scope: str, listeners: list[Listener] | None = None) -> str:
    """One plain paragraph on what LSL makes reachable, for the terminal (``listeners``: this
    process's, read now when not given)."""
    if listeners is None:
        listeners = listening_sockets()
    where = ("found by programs on this computer only" if scope == "machine"
             else "announced on the local network")
    if not listeners and not os.path.isdir("/proc/self/net"):
        return (f"LSL: streams are {where}; liblsl's data servers listen on every network "
                "interface (TCP from port 16572), so other computers that know the address can "
                "connect. Block those ports in a firewall if they must not.")
    open_ = [s for s in listeners if not s.loopback]
    if not open_:
        return f"LSL: streams are {where}; every LSL socket listens on this computer only."
    return (f"LSL: streams are {where}, but liblsl listens on every network interface, so other "
            f"computers that know the address can connect: {_ranges(open_)}. Block those "
            "ports in a firewall if they must not.")


def _ranges(listeners: list[Listener]) -> str:
    """``TCP 0.0.0.0:16572-16588, UDP 0.0.0.0:16572-16588``: consecutive ports as one range."""
    groups: dict[str, list[int]] = {}
    for s in sorted(listeners):
        groups.setdefault(str(s).rsplit(":", 1)[0], []).append(s.port)
    parts = []
    for where, ports in groups.items():
        runs = []
        start = prev = ports[0]
        for port in ports[1:] + [-1]:
            if port != prev + 1:
                runs.append(str(start) if start == prev else f"{start}-{prev}")
                start = port
            prev = port
        parts.append(f"{where}:{','.join(runs)}")
    return ", ".join(parts)
