"""Run settings persisted with QSettings (an INI file in $REID_DATA_DIR when set, so tests and the
screenshot script never touch the user's own settings)."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

from Algorithm.outer_api import CATEGORIES, Engine, Settings

ORG = APP = "ReIDApp"


def qsettings() -> QSettings:
    data_dir = os.environ.get("REID_DATA_DIR")
    if data_dir:
        return QSettings(str(Path(data_dir) / "gui_settings.ini"), QSettings.Format.IniFormat)
    return QSettings(ORG, APP)


def _bool(v) -> bool:
    return v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes")


def load(engine: Engine) -> Settings:
    """Applies the stored settings to `engine`; a bad stored value is skipped, never fatal."""
    q = qsettings()
    kw = {}
    if q.contains("run/device"):
        kw["device"] = str(q.value("run/device"))
    if q.contains("run/sampleFt"):
        kw["sample_ft"] = q.value("run/sampleFt")
    if q.contains("run/threshold"):
        t = str(q.value("run/threshold"))
        kw["threshold"] = None if t in ("", "default", "None") else t
    per = {}
    for c in CATEGORIES:
        t = str(q.value(f"run/threshold_{c}", ""))
        if t not in ("", "default", "None"):
            try:
                per[c] = float(t)
            except ValueError:
                pass
    if per:
        kw["thresholds"] = per
    if q.contains("run/tracking"):
        kw["tracking"] = _bool(q.value("run/tracking"))
    if q.contains("run/speed"):
        kw["speed"] = str(q.value("run/speed"))
    if q.contains("run/hwDecode"):
        kw["hw_decode"] = _bool(q.value("run/hwDecode"))
    if q.contains("run/categories"):
        cats = q.value("run/categories")
        cats = [cats] if isinstance(cats, str) else list(cats or [])
        kw["categories"] = tuple(c for c in CATEGORIES if c in cats)
    for key, val in kw.items():
        try:
            if key == "sample_ft":
                val = int(val)
            elif key == "threshold" and val is not None:
                val = float(val)
            engine.update_settings(**{key: val})
        except (TypeError, ValueError):
            pass
    return engine.settings


def save(s: Settings) -> None:
    q = qsettings()
    q.setValue("run/device", s.device)
    q.setValue("run/sampleFt", int(s.sample_ft))
    q.setValue("run/threshold", "" if s.threshold is None else float(s.threshold))
    per = dict(s.thresholds)
    for c in CATEGORIES:
        q.setValue(f"run/threshold_{c}", "" if c not in per else float(per[c]))
    q.setValue("run/tracking", bool(s.tracking))
    q.setValue("run/speed", s.speed)
    q.setValue("run/hwDecode", bool(s.hw_decode))
    q.setValue("run/categories", list(s.categories))
    q.sync()


def last_export_dir(default: str | Path) -> str:
    """The folder the last export went to (export dialogs start there), else `default`."""
    d = str(qsettings().value("paths/last_export_dir", "") or "")
    return d if d and Path(d).is_dir() else str(default)


def remember_export(path: str | Path) -> None:
    """Remembers the folder of an exported file for the next export dialog."""
    q = qsettings()
    q.setValue("paths/last_export_dir", str(Path(path).parent))
    q.sync()
