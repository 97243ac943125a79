"""Starting Qt on a stock Linux desktop: PySide6's plugins instead of opencv-python's, missing X11 libraries named."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from GUI import qt_platform

from testdata import ROOT


def test_pyside_plugins_replace_opencv_ones(tmp_path):
    import cv2

    cv2_qt = Path(cv2.__file__).resolve().parent / "qt"
    env = {"QT_QPA_PLATFORM_PLUGIN_PATH": str(cv2_qt / "plugins"), "QT_QPA_FONTDIR": str(cv2_qt / "fonts"),
           "QT_PLUGIN_PATH": f"{tmp_path}:{cv2_qt / 'plugins'}"}
    changed = qt_platform.use_pyside_plugins(env)
    assert env["QT_QPA_PLATFORM_PLUGIN_PATH"] == str(qt_platform.pyside_platforms_dir())
    assert (qt_platform.pyside_platforms_dir() / "libqxcb.so").is_file() or sys.platform != "linux"
    assert "QT_QPA_FONTDIR" not in env and env["QT_PLUGIN_PATH"] == str(tmp_path)  # the user's own path stays
    assert set(changed) == {"QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR", "QT_PLUGIN_PATH"}
    own = {"QT_QPA_PLATFORM_PLUGIN_PATH": str(tmp_path)}  # a path the user chose is not cv2's: kept
    assert qt_platform.use_pyside_plugins(own) == [] and own["QT_QPA_PLATFORM_PLUGIN_PATH"] == str(tmp_path)


def test_after_importing_cv2_qt_starts_with_pyside_plugins():
    code = (
        "import os, cv2\n"
        "before = os.environ.get('QT_QPA_PLATFORM_PLUGIN_PATH', '')\n"
        "from GUI import qt_platform\n"
        "qt_platform.check_before_start()\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "print(before)\n"
        "print(os.environ['QT_QPA_PLATFORM_PLUGIN_PATH'])\n"
        "print(app.platformName())\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    before, after, platform = r.stdout.splitlines()[-3:]
    assert "cv2" in before or not before  # opencv-python sets it (the headless wheel does not)
    assert after == str(qt_platform.pyside_platforms_dir()) and platform == "offscreen"


def test_main_fixes_the_environment_before_creating_the_application(monkeypatch):
    from GUI import main as app_main

    calls = []

    class Stop(Exception):
        pass

    class FakeApp:
        @staticmethod
        def setApplicationName(_name):
            calls.append("app")

        @staticmethod
        def setOrganizationName(_name):
            calls.append("app")

        @staticmethod
        def instance():
            raise Stop

    monkeypatch.setattr(app_main.qt_platform, "check_before_start", lambda: calls.append("check"))
    monkeypatch.setattr(app_main, "QApplication", FakeApp)
    with pytest.raises(Stop):
        app_main.main([])
    assert calls[0] == "check" and "app" in calls


def test_missing_libraries_are_named_as_apt_packages(monkeypatch, capsys):
    libs = {"libxcb-cursor.so.0": "libxcb-cursor0", "libsurely-not-here-xyz.so.9": "libsurely-not-here9"}
    missing = qt_platform.missing_packages(libs)
    assert "libsurely-not-here9" in missing
    text = qt_platform.advice(missing)
    assert "sudo apt-get install" in text and "libsurely-not-here9" in text
    assert set(qt_platform.XCB_LIBRARIES.values()) >= {"libxcb-cursor0", "libxkbcommon-x11-0", "libxcb-icccm4",
                                                        "libxcb-image0", "libxcb-keysyms1", "libxcb-render-util0",
                                                        "libxcb-xinerama0", "libxcb-randr0", "libxcb-shape0",
                                                        "libxcb-xfixes0", "libegl1", "libgl1"}
    # the start-up check prints them where Qt will use X11, and stays quiet elsewhere
    monkeypatch.setattr(qt_platform, "missing_packages", lambda: ["libxcb-cursor0"])
    monkeypatch.setattr(qt_platform, "uses_xcb", lambda: True)
    assert qt_platform.check_before_start() == ["libxcb-cursor0"]
    assert "sudo apt-get install libxcb-cursor0" in capsys.readouterr().err
    monkeypatch.setattr(qt_platform, "uses_xcb", lambda: False)
    assert qt_platform.check_before_start() == [] and not capsys.readouterr().err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 only")
def test_uses_xcb_follows_the_platform_asked_for():
    assert qt_platform.uses_xcb({})
    assert qt_platform.uses_xcb({"QT_QPA_PLATFORM": "xcb"})
    assert not qt_platform.uses_xcb({"QT_QPA_PLATFORM": "offscreen"})
    assert not qt_platform.uses_xcb({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"})


def test_check_command_for_install_sh():
    r = subprocess.run([sys.executable, "-m", "GUI.qt_platform", "--check"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode in (0, 1), r.stderr
    assert ("all found" in r.stdout) if r.returncode == 0 else ("sudo apt-get install" in r.stdout)
    assert "GUI.qt_platform --check" in (ROOT / "install.sh").read_text(encoding="utf-8")
