"""Can Qt open a window here? Checked before any QApplication exists.

Qt aborts the process (SIGABRT, exit 134) when its platform plugin cannot load, e.g. on a
fresh Debian desktop without ``libxcb-cursor0``: nothing can catch that. So, for the X11
(``xcb``) platform, :func:`window_problem` first lists the plugin's shared libraries the
dynamic linker cannot find (``ldd``, or loading the plugin with :mod:`ctypes` when there is
no ``ldd``), names the Debian packages that provide them, and then checks that the X display
accepts a connection (``xcb_connect``). Other platforms (Wayland, offscreen, ...) are left to
Qt.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
from pathlib import Path

#: Debian packages of the libraries Qt's xcb platform plugin links to (Qt 6.5+). Others are
#: named by Debian's rule (``libfoo.so.N`` -> ``libfooN``, ``libfoo-N`` after a digit).
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-sync.so.1": "libxcb-sync1", "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-shm.so.0": "libxcb-shm0", "libxcb-render.so.0": "libxcb-render0",
    "libxcb-util.so.1": "libxcb-util1", "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1", "libX11.so.6": "libx11-6", "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1", "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6", "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
#: ``ldd`` output line of a library the dynamic linker cannot find.
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.M)
#: ``dlopen`` error naming the first library it could not find.
_DLOPEN = re.compile(r"(\S+\.so[.\d]*): cannot open shared object file")


def debian_package(soname: str) -> str:
    """The Debian package that provides shared library ``soname`` (e.g. ``libxcb-icccm.so.4``
    -> ``libxcb-icccm4``)."""
    if soname in DEBIAN_PACKAGES:
        return DEBIAN_PACKAGES[soname]
    stem, _, version = soname.partition(".so.")
    stem = stem.lower()
    return f"{stem}{'-' if stem[-1:].isdigit() else ''}{version.split('.')[0]}"


def platform_plugin(name: str = "xcb") -> Path:
    """The shared library of Qt's platform plugin ``name`` (``libq<name>.so``)."""
    from PySide6.QtCore import QLibraryInfo     # QtCore loads no platform plugin

    folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    return folder / f"libq{name}.so"


def missing_libraries(library: Path) -> list[str]:
    """Shared libraries that ``library`` needs and the dynamic linker cannot find (sonames,
    in ``ldd``'s order; without ``ldd``, the first one ``dlopen`` reports)."""
    ldd = shutil.which("ldd")
    if ldd is not None:
        out = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=20,
                             env={**os.environ, "LC_ALL": "C"}).stdout
        return list(dict.fromkeys(_NOT_FOUND.findall(out)))
    try:
        ctypes.CDLL(str(library))
    except OSError as exc:
        found = _DLOPEN.search(str(exc))
        return [found.group(1)] if found else []
    return []


def display_opens(display: str) -> bool:
    """True when the X server of ``display`` accepts a connection (libxcb's ``xcb_connect``)."""
    name = ctypes.util.find_library("xcb")
    if name is None:
        return True                     # no libxcb to ask: the plugin check said what is missing
    xcb = ctypes.CDLL(name)
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = (ctypes.c_char_p, ctypes.c_void_p)
    xcb.xcb_connection_has_error.argtypes = (ctypes.c_void_p,)
    xcb.xcb_disconnect.argtypes = (ctypes.c_void_p,)
    conn = xcb.xcb_connect(display.encode(), None)
    try:
        return conn is not None and xcb.xcb_connection_has_error(conn) == 0
    finally:
        if conn is not None:
            xcb.xcb_disconnect(conn)


def qt_platform() -> str:
    """The platform Qt will use: ``QT_QPA_PLATFORM`` (its first choice), else ``wayland`` in a
    Wayland session without X, else ``xcb``."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen
    if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return "wayland"
    return "xcb"


def window_problem() -> str | None:
    """Why Qt could not open a window here (one line naming what is missing), or None.

    Only the X11 platform is checked (missing plugin libraries, then the display); a window
    on any other platform is left to Qt.
    """
    if qt_platform() != "xcb":
        return None
    plugin = platform_plugin("xcb")
    if not plugin.is_file():
        return f"Qt's X11 platform plugin is not installed ({plugin})"
    missing = missing_libraries(plugin)
    if missing:
        packages = " ".join(dict.fromkeys(debian_package(m) for m in missing))
        return (f"Qt's X11 platform plugin cannot load: missing {', '.join(missing)} "
                f"(Debian/Ubuntu: sudo apt-get install {packages})")
    display = os.environ.get("DISPLAY", "")
    if not display:
        return "no X display (DISPLAY is not set)"
    if not display_opens(display):
        return f"cannot connect to the X display {display!r}"
    return None
