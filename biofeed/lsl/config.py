"""Loading pylsl with a discovery scope chosen by biofeed.

liblsl reads its configuration once, from the file named by ``LSLAPICFG``, when it is first
used. :func:`pylsl_module` writes a small configuration (IPv6 off; multicast scope and known
peers per :data:`SCOPES`; liblsl's own log at :data:`LOG_LEVEL`) to a private folder, points
``LSLAPICFG`` at it unless the user set their own, and imports pylsl.

liblsl logs through loguru to stderr, INFO lines by default ("Configuration loaded from ...").
Its ``[log] level`` key sets the verbosity (loguru's: -2 errors, -1 warnings, 0 info, up to 9);
biofeed asks for warnings and errors only, unless ``BIOFEED_LSL_LOG_LEVEL`` says otherwise
(e.g. ``0`` to see liblsl's INFO lines again) or the user's own ``LSLAPICFG`` is used as is.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from ..record.private import create_private

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

#: liblsl's log verbosity in biofeed's configuration (loguru: -1 = warnings and errors).
LOG_LEVEL = -1
#: Environment variable that overrides :data:`LOG_LEVEL` (an integer, -3 to 9).
LOG_LEVEL_ENV = "BIOFEED_LSL_LOG_LEVEL"

_loaded_scope: str | None = None


def log_level() -> int:
    """liblsl's log verbosity to configure: :data:`LOG_LEVEL_ENV` when set, else
    :data:`LOG_LEVEL`."""
    value = os.environ.get(LOG_LEVEL_ENV, "").strip()
    if not value:
        return LOG_LEVEL
    try:
        level = int(value)
    except ValueError:
        level = 99
    if not -3 <= level <= 9:
        raise ValueError(f"{LOG_LEVEL_ENV}={value!r}: must be an integer from -3 (fatal only) "
                         f"to 9 (everything); -1 = warnings, 0 = info")
    return level


def config_text(scope: str) -> str:
    """The ``lsl_api.cfg`` biofeed writes for ``scope``: IPv6 off, liblsl's log at
    :func:`log_level`, the scope's multicast settings (:data:`SCOPES`)."""
    return f"[ports]\nIPv6 = disable\n\n[log]\nlevel = {log_level()}\n\n" + SCOPES[scope]


def pylsl_module(scope: str = "machine"):
    """Import pylsl configured for ``scope`` (see :data:`SCOPES`); the first call decides."""
    global _loaded_scope
    if scope not in SCOPES:
        raise ValueError(f"LSL scope must be one of {sorted(SCOPES)}, got {scope!r}")
    if _loaded_scope is None:
        if "LSLAPICFG" not in os.environ:
            text = config_text(scope)
            cfg = Path(tempfile.mkdtemp(prefix="biofeed-lsl-")) / "lsl_api.cfg"   # 0700, new
            with create_private(cfg, "a fresh temporary folder holds it") as f:
                f.write(text)
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
