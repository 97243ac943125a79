"""One home for every rule and choice list that the engine, the CLI and the GUI share.

A value here is read by all three: change it here and every place follows (tests/test_rules.py checks
that the CLI and the GUI take theirs from these objects).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

# -- categories -----------------------------------------------------------------------------------
CATEGORIES = ("person", "vehicle")


# -- labels ---------------------------------------------------------------------------------------
def label_key(label: str) -> str:
    """What makes two labels the same identity: spacing, case and Unicode form aside ("Ölaf", "ölaf" and "O" +
    combining diaeresis + "laf" are one; SQLite's NOCASE folds ASCII only)."""
    return unicodedata.normalize("NFC", " ".join(str(label).split())).casefold()


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

# -- speed ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpeedMode:
    """How often the detector runs on the frames a run processes (sampleFt still picks those frames).

    max_stride: while the tracks are stable, detect every k-th video frame and carry the tracks in between
    (their boxes are interpolated in the results, marked "interpolated"); 1 = every frame.
    gate: on a fixed camera, skip the detector while nothing moves and nobody is in view.
    full_every_s: a detection at least this often whatever the gate says (someone standing still appears).
    flicker: the fraction of boxes (rounded down) that may differ between two detections a stride apart without
    looking back at the frames in between (pipeline/schedule.same_boxes): in a crowd the detector's boxes for
    half-hidden people come and go from frame to frame.
    """

    name: str
    title: str
    max_stride: int
    gate: bool
    full_every_s: float
    trades: str
    flicker: float = 0.0

    @property
    def skips(self) -> bool:
        """Whether the detector may skip frames at all (exact: never)."""
        return self.max_stride > 1 or self.gate


SPEEDS = {
    "exact": SpeedMode("exact", "Exact (every frame)", 1, False, 0.0,
                       "the detector runs on every processed frame, as before: the reference"),
    # flicker 0.1 (bench/README.md section 8): on the synthetic crowd (18 boxes a frame) 197 of 204 pairs of
    # detections differed without it, so balanced detected 287 of 300 frames (1.04x exact); with it 190 (1.49x),
    # keeping 98.4% of exact's matched frames, none wrong. Smaller groups (the traffic video) are unchanged. Not in
    # fast: there it detected 186 frames (no fewer than balanced) and kept 92.9% (a newcomer up to 24 frames late).
    "balanced": SpeedMode("balanced", "Balanced", 8, True, 2.0,
                          "detects every 8th frame while people are in view and skips frames where nothing moves; "
                          "frames in between are detected only when the scene changed, boxes are interpolated",
                          flicker=0.1),
    "fast": SpeedMode("fast", "Fast", 24, True, 4.0,
                      "detects every 24th frame while people are in view: a short glimpse between two detections "
                      "can be missed"),
}
DEFAULT_SPEED = "balanced"


def speed_caution(speed: str, categories, vehicle_stand_in: bool) -> str:
    """What to say beside a speed setting that skips frames, for vehicles served by a stand-in model (empty: nothing).
    On the traffic video (bench/README.md section 8) balanced and fast gave no wrong label but lost a car that exact
    matched from a single view just under the generic model's tight threshold: other crops missed it."""
    if SPEEDS[speed].skips and "vehicle" in tuple(categories) and vehicle_stand_in:
        return ("Vehicles: choose Exact while a stand-in model serves them; on the bundled traffic video Balanced and "
                "Fast missed a car that Exact matched from a single view.")
    return ""

# -- media ------------------------------------------------------------------------------------------
# A video's times are its frame numbers over its frame rate (the one rate its container declares). Recorders that slow
# down while nothing moves, and some phones, write a variable rate: their frames' own timestamps then stray from
# frame / rate, by seconds to minutes. More than this, and the results say their times are approximate.
TIME_DRIFT_S = 0.5


def time_caution(drift_s: float, fps: float) -> str:
    """What to say of a video's times when its frames' timestamps stray `drift_s` from frame / fps (empty: nothing)."""
    if drift_s <= TIME_DRIFT_S:
        return ""
    return (f"times are approximate (off by up to {drift_s:.1f} s): the video's frame rate varies, and times are "
            f"counted at its average of {fps:.3g} fps; frame numbers are exact")


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
# Which part of a photo stands for the one object to register (Algorithm/pipeline/crop_policy.py applies these
# rules in this order). The numbers were measured with the default detector (YOLOv8n INT8, conf 0.25) on 351
# MOT17-mini ground-truth person crops (every pedestrian box at least 50 px high, any visibility), 203 crops around
# two separate MOT17 people (their boxes overlap at most 20%), the 5 Market-1501 crops, the MOT17 frames,
# zidane.jpg, bus.jpg, traffic frames and car crops, and uniform, gradient and noise pictures.
# tools/measure_crop_policy.py reproduces the counts; tests/test_register_policy.py checks the rules on the assets.
# With these rules 347 of the 351 ground-truth crops register without --whole (335 before them).

# 1. Several boxes of the category: the photo is a tight crop of ONE object, and is taken whole, when the largest
#    box covers at least TIGHT_CROP_COVER of the photo's area and every other box lies at least TIGHT_CROP_INSIDE
#    inside it (share of its own area): duplicate boxes, parts, someone behind.
#    Measured: the 16 ground-truth crops with several boxes have a largest box covering 0.59-0.97 (one 0.25: a
#    detection split in two) and their other boxes lie 0.60-1.00 inside it: 14 of 16 are taken whole (not: 0.59,
#    a person 73% hidden; and the split one). Each of the 106 two-person crops with several boxes has a largest box
#    covering at most 0.71 and a box lying entirely outside it: all refused, as are zidane.jpg (largest 0.56, the
#    other outside it) and bus.jpg (0.11).
TIGHT_CROP_COVER = 0.6
TIGHT_CROP_INSIDE = 0.5

# 2. No box of the category, but one of the OTHER category fills the photo: a photo of the wrong category, refused
#    with that explanation. "Fills": covers at least FILL_COVER of the photo, seen with at least HINT_CONF
#    confidence (a low-confidence look that only explains a refusal, never chooses a box), and more confidently
#    than any box of the asked category that fills it. Measured: tight car crops give vehicle boxes of 0.04-0.37
#    (a van cut from MOT17-10: 0.17-0.37). 348 of the 351 ground-truth person crops show no filling vehicle box
#    even at 0.05; the other three are MOT17-05 people before or behind a car, and two of them (no person box: one
#    hidden behind the car, visibility 0; one standing in front of a van filling the crop, 0.60) are refused so.
HINT_CONF = 0.1
# A chosen box is taken for the detector's box of an object when they overlap this much (IoU): a box of the other
# category alone there refuses the choice (crop_policy._check_box_category).
SAME_OBJECT_IOU = 0.7
FILL_COVER = 0.5

# 3. No box at all: the photo is taken whole only when it has the structure of a photograph (cheap grey-level
#    statistics on the photo shrunk to at most STATS_SIDE px) and the size and shape of a crop (looks_like_crop).
#    Measured minimum over the 351 ground-truth crops / Market crops / frames: contrast (std of grey levels)
#    16.3 / 45.5 / 38.1, detail (mean |difference| of neighbouring grey levels) 1.75 / 5.99 / 6.53, smoothness
#    (correlation of neighbouring pixels) 0.83 / 0.95 / 0.91. A uniform grey picture: contrast 0, detail 0; a
#    smooth gradient: detail 0.31; uniform random noise: smoothness 0.00-0.06 (after JPEG too).
STATS_SIDE = 256
MIN_CONTRAST = 8.0
MIN_DETAIL = 1.0
MIN_SMOOTHNESS = 0.5

# Photos at most this large with a body-like shape count as ready-made crops (ReID datasets, cut-outs).
CROP_MAX_SIDE = 512
# A chosen box (registration, a query photo) smaller than this on a side shows nobody recognisable: the detector's
# smallest people on MOT17 are ~20x50 px, and a 3x3 px box is a typing slip, not a person (its features would
# match strangers at random).
CROP_MIN_SIDE = 8
CROP_ASPECT = {"person": (1.2, 4.0), "vehicle": (0.25, 2.0)}  # height / width


def looks_like_crop(img: np.ndarray, category: str) -> bool:
    """Whether a photo in which the detector found nobody has the size and shape of a crop of one `category`."""
    h, w = img.shape[:2]
    if max(h, w) > CROP_MAX_SIDE:
        return False
    lo, hi = CROP_ASPECT.get(category, CROP_ASPECT["vehicle"])
    return lo <= h / max(w, 1) <= hi


@dataclass(frozen=True)
class PhotoStructure:
    """Cheap grey-level statistics of a photo (see rule 3 above)."""

    contrast: float  # std of the grey levels, 0-255
    detail: float  # mean absolute difference of neighbouring grey levels
    smoothness: float  # correlation of horizontally and vertically neighbouring pixels (natural photos: > 0.8)

    def problem(self) -> str:
        """Why this cannot be a photo of anything ("" when it can)."""
        if self.contrast < MIN_CONTRAST or self.detail < MIN_DETAIL:
            return (f"it is nearly uniform, a plain colour without detail (grey-level spread {self.contrast:.1f}, detail "
                    f"{self.detail:.2f}; photographs have at least {MIN_CONTRAST:g} and {MIN_DETAIL:g})")
        if self.smoothness < MIN_SMOOTHNESS:
            return (f"it looks like random noise (neighbouring pixels correlate {self.smoothness:.2f}; "
                    f"in a photograph they correlate more than {MIN_SMOOTHNESS:g})")
        return ""


def photo_structure(img: np.ndarray) -> PhotoStructure:
    import cv2

    g = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    h, w = g.shape[:2]
    scale = STATS_SIDE / max(h, w, 1)
    if scale < 1:
        g = cv2.resize(g, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    g = g.astype(np.float32)

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        a, b = a - a.mean(), b - b.mean()
        den = float(np.sqrt((a * a).sum() * (b * b).sum()))
        return float((a * b).sum()) / den if den > 0 else 1.0

    dx, dy = g[:, 1:] - g[:, :-1], g[1:] - g[:-1]
    detail = (float(np.abs(dx).mean()) if dx.size else 0.0) / 2 + (float(np.abs(dy).mean()) if dy.size else 0.0) / 2
    smooth = (corr(g[:, :-1], g[:, 1:]) + corr(g[:-1], g[1:])) / 2 if min(g.shape) > 1 else 1.0
    return PhotoStructure(float(g.std()), detail, smooth)


def box_area(b) -> float:
    return max(0.0, float(b[2]) - float(b[0])) * max(0.0, float(b[3]) - float(b[1]))


def inside(b, outer) -> float:
    """The share of box `b`'s area that lies inside box `outer` (0-1)."""
    inter = box_area((max(b[0], outer[0]), max(b[1], outer[1]), min(b[2], outer[2]), min(b[3], outer[3])))
    return inter / max(box_area(b), 1e-9)


def one_object_fills(boxes, width: int, height: int) -> bool:
    """Rule 1: several boxes of one category are one object filling the photo (a tight crop of it)."""
    boxes = sorted((tuple(map(float, b)) for b in boxes), key=box_area, reverse=True)
    if not boxes:
        return False
    big = boxes[0]
    if box_area(big) < TIGHT_CROP_COVER * width * height:
        return False
    return all(inside(b, big) >= TIGHT_CROP_INSIDE for b in boxes[1:])
