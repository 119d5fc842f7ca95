"""Before Qt starts: which library its X11 window lacks, and the headless fallback."""
from __future__ import annotations

import shutil
import subprocess

import pytest

import biofeed as bf
from biofeed.gui import platform


def test_debian_packages_of_qt_libraries():
    assert platform.debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert platform.debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert platform.debian_package("libfoo-bar.so.3.1") == "libfoo-bar3"     # Debian's rule
    assert platform.debian_package("libgtk-4.so.1") == "libgtk-4-1"


@pytest.fixture
def plugin_missing_a_library(tmp_path):
    """A shared library linked to ``libbiofeedgone.so.7``, which is then deleted."""
    if shutil.which("cc") is None:
        pytest.skip("no C compiler to build a shared library with a missing dependency")
    (tmp_path / "dep.c").write_text("int dep(void) { return 7; }\n")
    (tmp_path / "plugin.c").write_text("int dep(void);\nint plugin(void) { return dep(); }\n")
    dep = tmp_path / "libbiofeedgone.so.7"
    subprocess.run(["cc", "-shared", "-fPIC", "-Wl,-soname,libbiofeedgone.so.7", "-o", str(dep),
                    str(tmp_path / "dep.c")], check=True)
    (tmp_path / "libbiofeedgone.so").symlink_to(dep.name)
    plugin = tmp_path / "libqfake.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-Wl,--no-as-needed", "-o", str(plugin),
                    str(tmp_path / "plugin.c"), f"-L{tmp_path}", "-lbiofeedgone"], check=True)
    dep.unlink()
    return plugin


def test_missing_libraries_are_named_with_ldd_and_without(plugin_missing_a_library, monkeypatch):
    assert platform.missing_libraries(plugin_missing_a_library) == ["libbiofeedgone.so.7"]
    monkeypatch.setattr(platform.shutil, "which", lambda name: None)     # no ldd: dlopen says
    assert platform.missing_libraries(plugin_missing_a_library) == ["libbiofeedgone.so.7"]


def test_a_plugin_that_cannot_load_is_explained(plugin_missing_a_library, monkeypatch):
    monkeypatch.setattr(platform, "platform_plugin", lambda name: plugin_missing_a_library)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    assert platform.window_problem() == (
        "Qt's X11 platform plugin cannot load: missing libbiofeedgone.so.7 "
        "(Debian/Ubuntu: sudo apt-get install libbiofeedgone7)")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")                  # not checked: Qt's
    assert platform.window_problem() is None


def test_demo_without_a_reachable_display_runs_headless_and_gui_says_why(tmp_path, monkeypatch,
                                                                        capsys):
    from biofeed.cli import main

    for name in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":197")                # no X server there
    problem = platform.window_problem()      # the missing libraries, or else the display
    if not platform.missing_libraries(platform.platform_plugin("xcb")):
        assert problem == "cannot connect to the X display ':197'"
    assert main(["demo", "--duration", "3", "--speed", "10", "--out", str(tmp_path)]) == 0
    out = " ".join(capsys.readouterr().out.split())     # (the console wraps long lines)
    assert f"no live window: {problem}. Running headless instead." in out
    assert "opening the live window" not in out and "recording to" in out
    assert bf.read(next(tmp_path.glob("*.biofeed"))).complete
    assert main(["gui"]) == 2                            # before Qt could abort
    assert f"biofeed gui: no window: {problem}" in " ".join(capsys.readouterr().out.split())
