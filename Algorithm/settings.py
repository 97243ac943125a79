"""Settings of a run (what the GUI's Settings dialog and the CLI's options set) and the user's data folder."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from Algorithm.rules import CATEGORIES, DEFAULT_SPEED, DEVICES, SAMPLE_FT_RANGE, SPEEDS, THRESHOLD_RANGE, TRACKERS


@dataclass(frozen=True)
class Settings:
    """Per-run settings the GUI exposes.

    Match threshold of a category (`threshold_for`): its entry in `thresholds` when there is one, else `threshold`
    (one value for every category: the CLI's `--threshold` and the results JSON), else None: the ReID model's own
    default for that category."""

    device: str = "auto"  # one of rules.DEVICES
    sample_ft: int = 1  # process every k-th frame (rules.SAMPLE_FT_RANGE)
    threshold: float | None = None  # every category's, unless `thresholds` names the category
    thresholds: tuple[tuple[str, float], ...] = ()  # per category overrides, e.g. (("vehicle", 0.3),); a dict is accepted
    tracking: bool = True
    tracker: str = "bytetrack"  # one of rules.TRACKERS
    categories: tuple[str, ...] = ("person",)
    det_conf: float | None = None  # None: the detector's default
    refresh_frames: int = 0  # re-embed a track after this many frames even without a better crop (0: never)
    max_gap_s: float = 1.0  # sightings closer than this merge into one segment
    keep_frames: bool = True  # attach decoded frames to per-frame results (the GUI shows them)
    speed: str = DEFAULT_SPEED  # one of rules.SPEEDS: how often the detector runs (exact: every processed frame)
    index_footage: bool = True  # keep every track a search saw in the footage index: later questions need no decoding
    # decode videos on the GPU where OpenCV offers it (else software, media.VideoReader). Opt-in: its speed-up could
    # not be measured on this project's machines (no hardware decoder there)
    hw_decode: bool = False

    def __post_init__(self):
        # a frozen record stays hashable: the per-category overrides are kept as sorted (category, value) pairs
        t = self.thresholds
        items = t.items() if isinstance(t, dict) else (t or ())
        object.__setattr__(self, "thresholds", tuple(sorted((str(c), float(v)) for c, v in items if v is not None)))

    def threshold_for(self, category: str) -> float | None:
        """The threshold this run sets for `category` (None: the model's own)."""
        per = dict(self.thresholds)
        if category in per:
            return per[category]
        return None if self.threshold is None else float(self.threshold)

    def with_(self, **kw) -> "Settings":
        if "threshold" in kw and "thresholds" not in kw:
            kw["thresholds"] = ()  # one value for every category: earlier per-category overrides would win over it
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
        for c, v in self.thresholds:
            if c not in CATEGORIES:
                raise ValueError(f"a threshold is set for {c!r}, which is not among {CATEGORIES}")
            THRESHOLD_RANGE.check(float(v), f"The {c} match threshold (a distance, 1 - cosine)")
        bad = [c for c in self.categories if c not in CATEGORIES]
        if bad or not self.categories:
            raise ValueError(f"categories must be among {CATEGORIES}, got {self.categories}")
        if self.speed not in SPEEDS:
            raise ValueError(f"speed must be one of {', '.join(SPEEDS)}, not {self.speed!r}")
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
