"""Loading pylsl with a discovery scope chosen by biofeed.

liblsl reads its configuration once, from the file named by ``LSLAPICFG``, when it is first
used. :func:`pylsl_module` writes a small configuration (IPv6 off; multicast scope and known
peers per :data:`SCOPES`) to a private folder, points ``LSLAPICFG`` at it unless the user set
their own, and imports pylsl.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

#: Discovery scopes: ``machine`` resolves streams on this computer only (loopback; the
#: discovery responders listen on 127.0.0.1); ``link`` also on the local network segment
#: (LabRecorder on another computer). The data servers listen on every interface in both
#: (liblsl cannot be told otherwise; see :mod:`biofeed.lsl.exposure`).
SCOPES = {
    "machine": "[multicast]\nResolveScope = machine\nListenAddress = 127.0.0.1\n"
               "MachineAddresses = {127.0.0.1}\n"
               "LinkAddresses = {}\nSiteAddresses = {}\nOrganizationAddresses = {}\n"
               "GlobalAddresses = {}\n\n[lab]\nKnownPeers = {127.0.0.1}\n",
    "link": "[multicast]\nResolveScope = link\n",
}

_loaded_scope: str | None = None


def pylsl_module(scope: str = "machine"):
    """Import pylsl configured for ``scope`` (see :data:`SCOPES`); the first call decides."""
    global _loaded_scope
    if scope not in SCOPES:
        raise ValueError(f"LSL scope must be one of {sorted(SCOPES)}, got {scope!r}")
    if _loaded_scope is None:
        if "LSLAPICFG" not in os.environ:
            folder = Path(tempfile.mkdtemp(prefix="biofeed-lsl-"))
            cfg = folder / "lsl_api.cfg"
            cfg.write_text("[ports]\nIPv6 = disable\n\n" + SCOPES[scope])
            os.environ["LSLAPICFG"] = str(cfg)
        _loaded_scope = scope
    elif scope != _loaded_scope:
        raise RuntimeError(f"LSL is already configured for scope {_loaded_scope!r} in this process")
    import pylsl

    return pylsl


def clock_offset(pylsl) -> float:
    """``pylsl.local_clock() - time.monotonic()``, seconds (0 on Linux, where both are steady)."""
    a = time.monotonic()
    lsl = pylsl.local_clock()
    b = time.monotonic()
    return lsl - (a + b) / 2


#: LSL stream/channel types (case-insensitive) and the biofeed kind they carry.
KIND_OF_TYPE = {"ecg": "ecg", "ekg": "ecg", "ppg": "ppg", "bvp": "ppg", "eda": "eda",
                "gsr": "eda", "rr": "rr", "ibi": "rr", "hr": "hr", "heartrate": "hr",
                "resp": "resp", "respiration": "resp", "acc": "acc", "accelerometer": "acc",
                "temp": "temp", "temperature": "temp", "skintemp": "temp"}
#: Unit spellings that mean microsiemens.
MICROSIEMENS = {"us", "µs", "μs", "microsiemens", "micro siemens"}
