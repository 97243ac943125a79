"""One home for every rule and choice list that the engine, the CLI and the GUI share.

A value here is read by all three: change it here and every place follows (tests/test_rules.py checks
that the CLI and the GUI take theirs from these objects).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# -- categories -----------------------------------------------------------------------------------
CATEGORIES = ("person", "vehicle")


# -- match threshold ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Range:
    """A closed numeric range with the step and decimals a spin box shows."""

    low: float
    high: float
    step: float = 0.01
    decimals: int = 3

    def __contains__(self, value: float) -> bool:
        return self.low <= float(value) <= self.high

    def check(self, value: float, what: str) -> float:
        if value not in self:
            raise ValueError(f"{what} must be between {self.low:g} and {self.high:g}, not {value:g}")
        return float(value)


# A match threshold is a cosine distance (1 - cosine similarity of L2-normalised features). 1.5 is far past
# any useful value (unrelated features sit near 1.0); 2.0 (every pair) serves sweeps in the evaluation.
THRESHOLD_RANGE = Range(0.001, 2.0)
SAMPLE_FT_RANGE = Range(1, 100, 1, 0)  # process every k-th frame

# -- devices and trackers -------------------------------------------------------------------------
DEVICES = ("auto", "cpu", "cuda")
DEVICE_TITLES = {"auto": "Automatic (GPU when available)", "cpu": "CPU", "cuda": "GPU (NVIDIA CUDA)"}
TRACKERS = ("bytetrack", "botsort")

# -- media ------------------------------------------------------------------------------------------
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".wmv", ".mpg", ".mpeg", ".webm", ".flv", ".ts")


def file_filter(kinds: tuple[str, ...] = ("image", "video")) -> str:
    """A Qt file-dialog filter for the media the engine reads (the same lists `media_kind` uses)."""
    exts = (IMAGE_EXTS if "image" in kinds else ()) + (VIDEO_EXTS if "video" in kinds else ())
    title = {("image",): "Images", ("video",): "Videos"}.get(tuple(kinds), "Images and videos")
    return f"{title} ({' '.join('*' + e for e in exts)});;All files (*)"


# -- model names and preprocessing presets ----------------------------------------------------------
# A model name becomes a JSON key, a file name and a column value: short, ASCII, no separators.
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")


def check_model_name(name: str) -> str:
    if not MODEL_NAME_RE.match(name or ""):
        raise ValueError(f"Model name {name!r} must be 1-80 letters, digits, '_', '.' or '-', starting with a letter or digit")
    return name


def suggest_model_name(stem: str) -> str:
    """A valid name from a file name, e.g. 'CLIP-ReID VeRi (1)' -> 'CLIP-ReID_VeRi_1'."""
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", stem).strip("._-") or "reid_model"
    return name[:80] if name[0].isalnum() else "m_" + name[:78]


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.5, 0.5, 0.5)  # CLIP-ReID configs: INPUT.PIXEL_MEAN / PIXEL_STD = [0.5, 0.5, 0.5]
CLIP_STD = (0.5, 0.5, 0.5)
# Normalisation of the common ReID families (what their training code used), by the name the GUI shows.
NORMALIZATION_PRESETS = {
    "ImageNet (torchreid, fast-reid, BoT)": (IMAGENET_MEAN, IMAGENET_STD),
    "CLIP (CLIP-ReID)": (CLIP_MEAN, CLIP_STD),
}
CHANNEL_ORDERS = ("RGB", "BGR")

# -- crop policy --------------------------------------------------------------------------------------
# Photos at most this large with a body-like shape count as ready-made crops (ReID datasets, cut-outs).
CROP_MAX_SIDE = 512
_CROP_ASPECT = {"person": (1.2, 4.0), "vehicle": (0.25, 2.0)}  # height / width


def looks_like_crop(img: np.ndarray, category: str) -> bool:
    """Whether a photo in which the detector found nobody may be taken whole as a crop of one `category`."""
    h, w = img.shape[:2]
    if max(h, w) > CROP_MAX_SIDE:
        return False
    lo, hi = _CROP_ASPECT.get(category, _CROP_ASPECT["vehicle"])
    return lo <= h / max(w, 1) <= hi
