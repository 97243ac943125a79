"""Settings of a run (what the GUI's Settings dialog and the CLI's options set) and the user's data folder."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from Algorithm.rules import CATEGORIES, DEVICES, SAMPLE_FT_RANGE, THRESHOLD_RANGE, TRACKERS


@dataclass(frozen=True)
class Settings:
    """Per-run settings the GUI exposes. `threshold=None` means the ReID model's own default."""

    device: str = "auto"  # one of rules.DEVICES
    sample_ft: int = 1  # process every k-th frame (rules.SAMPLE_FT_RANGE)
    threshold: float | None = None
    tracking: bool = True
    tracker: str = "bytetrack"  # one of rules.TRACKERS
    categories: tuple[str, ...] = ("person",)
    det_conf: float | None = None  # None: the detector's default
    refresh_frames: int = 0  # re-embed a track after this many frames even without a better crop (0: never)
    max_gap_s: float = 1.0  # sightings closer than this merge into one segment
    keep_frames: bool = True  # attach decoded frames to per-frame results (the GUI shows them)

    def with_(self, **kw) -> "Settings":
        if "categories" in kw:
            kw["categories"] = tuple(kw["categories"])
        s = replace(self, **kw)
        s.validate()
        return s

    def validate(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        SAMPLE_FT_RANGE.check(int(self.sample_ft), "sampleFt")
        if self.threshold is not None:
            THRESHOLD_RANGE.check(float(self.threshold), "The match threshold (a distance, 1 - cosine)")
        bad = [c for c in self.categories if c not in CATEGORIES]
        if bad or not self.categories:
            raise ValueError(f"categories must be among {CATEGORIES}, got {self.categories}")
        if self.tracker not in TRACKERS:
            raise ValueError(f"tracker must be one of {', '.join(TRACKERS)}, not {self.tracker!r}")


def default_data_dir() -> Path:
    """Per-user folder for the gallery ($REID_DATA_DIR overrides)."""
    if os.environ.get("REID_DATA_DIR"):
        return Path(os.environ["REID_DATA_DIR"])
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "ReIDApp"
