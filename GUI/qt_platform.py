"""Starting Qt on a stock Linux desktop: PySide6's own platform plugins, and the system libraries they need.

opencv-python (the non-headless wheel) sets QT_QPA_PLATFORM_PLUGIN_PATH to its own Qt 5 plugins when cv2 is
imported (and QT_QPA_FONTDIR to a folder it does not ship); Qt 6 then finds cv2's libqxcb.so first, cannot load
it and aborts ("could not load the Qt platform plugin xcb ... even though it was found"). `use_pyside_plugins`
points Qt at PySide6's plugins instead; call it after cv2 is imported and before the QApplication exists.

Qt's xcb plugin also needs X11 libraries that a minimal Ubuntu/Debian install may lack (libxcb-cursor0 is the
usual one since Qt 6.5); without them Qt aborts with a message that does not name them. `missing_packages`
names the apt packages to install. `python -m GUI.qt_platform --check` prints them (install.sh runs it).
"""
from __future__ import annotations

import argparse
import ctypes.util
import importlib.util
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

# Shared libraries Qt 6's xcb platform plugin (libqxcb.so + libQt6XcbQpa) loads, and the Debian/Ubuntu package of
# each (from `ldd` on the plugin; the libraries every desktop has, libc, glib, freetype, are left out).
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}


def pyside_platforms_dir() -> Path:
    import PySide6

    return Path(PySide6.__file__).resolve().parent / "Qt" / "plugins" / "platforms"


def _cv2_dir() -> Path | None:
    spec = importlib.util.find_spec("cv2")
    return Path(spec.origin).resolve().parent if spec and spec.origin else None


def _inside(path: str, folder: Path | None) -> bool:
    return folder is not None and bool(path) and Path(path).resolve().is_relative_to(folder)


def use_pyside_plugins(env: dict | None = None) -> list[str]:
    """Points Qt at PySide6's platform plugins instead of opencv-python's and drops cv2's other Qt paths (a path
    the user set to something else is kept); returns the names of the variables changed."""
    env = os.environ if env is None else env
    cv2_dir = _cv2_dir()
    changed = []
    current = env.get("QT_QPA_PLATFORM_PLUGIN_PATH", "")
    if not current or _inside(current, cv2_dir):
        env["QT_QPA_PLATFORM_PLUGIN_PATH"] = str(pyside_platforms_dir())
        changed.append("QT_QPA_PLATFORM_PLUGIN_PATH")
    for var in ("QT_PLUGIN_PATH", "QT_QPA_FONTDIR"):  # cv2's font folder is not even shipped: Qt finds no font there
        parts = [p for p in env.get(var, "").split(os.pathsep) if p]
        kept = [p for p in parts if not _inside(p, cv2_dir)]
        if kept != parts:
            if kept:
                env[var] = os.pathsep.join(kept)
            else:
                del env[var]
            changed.append(var)
    return changed


def uses_xcb(env: dict | None = None) -> bool:
    """Whether Qt will start on X11 (xcb) here: Linux, no other platform asked for, not a Wayland session."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return False
    asked = env.get("QT_QPA_PLATFORM", "").split(";")[0].strip()
    if asked:
        return asked == "xcb"
    return not (env.get("XDG_SESSION_TYPE") == "wayland" and env.get("WAYLAND_DISPLAY"))


@lru_cache(maxsize=1)
def _ldconfig_names() -> frozenset[str] | None:
    """Library file names the dynamic linker's cache knows (None when ldconfig cannot be run)."""
    for exe in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            out = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        return frozenset(line.split(" (", 1)[0].strip() for line in out.splitlines()[1:] if " => " in line)
    return None


def _found(soname: str, known: frozenset[str] | None) -> bool | None:
    """Whether the dynamic linker finds `soname` (None: this system cannot tell)."""
    if any(d and (Path(d) / soname).exists() for d in os.environ.get("LD_LIBRARY_PATH", "").split(":")):
        return True
    if known is not None:
        return soname in known
    if ctypes.util.find_library("c") is None:
        return None  # no ldconfig, no compiler: find_library finds nothing at all
    return ctypes.util.find_library(soname[3:].split(".so", 1)[0]) is not None  # libxcb-cursor.so.0 -> xcb-cursor


def missing_packages(libraries: dict[str, str] | None = None) -> list[str]:
    """The apt packages of the xcb plugin's libraries this system lacks ([] when all are there or it cannot tell)."""
    libraries = XCB_LIBRARIES if libraries is None else libraries
    known = _ldconfig_names()
    return sorted({pkg for so, pkg in libraries.items() if _found(so, known) is False})


def advice(packages: list[str]) -> str:
    return ("Qt's X11 (xcb) platform plugin needs system libraries that are missing here. Install them with:\n\n"
            f"    sudo apt-get install {' '.join(packages)}\n\n"
            "(Fedora: sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-image xcb-util-keysyms "
            "xcb-util-renderutil libxkbcommon-x11)")


def check_before_start(stream=None) -> list[str]:
    """Before the QApplication: PySide6's plugins in force and, where Qt starts on X11, the missing libraries
    named on `stream` (stderr), since Qt's own abort does not name them. Returns the missing packages."""
    use_pyside_plugins()
    if not uses_xcb():
        return []
    missing = missing_packages()
    if missing:
        print(advice(missing), file=stream or sys.stderr)
    return missing


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Checks the system libraries Qt needs to show the app's window")
    ap.add_argument("--check", action="store_true", help="list missing libraries; exit status 1 when some are missing")
    ap.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("Qt platform libraries: nothing to check on this system.")
        return 0
    missing = missing_packages()
    if missing:
        print(advice(missing))
        return 1
    print("Qt platform libraries: all found.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
