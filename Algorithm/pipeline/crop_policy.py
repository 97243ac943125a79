"""Which part of a photo stands for the object to register or to query: one rule for the app, the CLI and
the evaluation tools.

In order (the numbers and how they were measured are in Algorithm/rules.py, "crop policy"):

- a given box, or `whole`, wins (a given box is refused under rules.CROP_MIN_SIDE px a side, or where the detector
  sees an object of the other category only);
- one box of the category: that box;
- several boxes of the category: the whole photo when they are one object filling it (a tight crop with duplicate
  or part boxes: `rules.one_object_fills`); else the user must choose (registration) or the most confident is taken
  (a query);
- no box of the category: refused when an object of the other category fills the photo (with a hint to register
  it as that category), or when the photo has no structure of a photograph (nearly uniform, random noise:
  `rules.photo_structure`); else taken whole when it has the size and shape of a crop (`rules.looks_like_crop`);
  else refused.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from Algorithm import rules
from Algorithm.errors import InputError, NothingFoundError, SeveralFoundError, WrongCategoryError
from Algorithm.geometry import iou_matrix
from Algorithm.pipeline.embed import crop
from Algorithm.types import Detections, PhotoVerdict


@dataclass(frozen=True)
class CropChoice:
    box: tuple[float, float, float, float]
    whole: bool  # the whole photo was taken
    how: str  # said to the user: "given box", "detected box", "whole photo (a close crop of one person)", ...


def _boxes(dets: Detections | None, category: str, min_conf: float | None) -> list[int]:
    if dets is None:
        return []
    return [i for i in range(len(dets)) if dets.category[i] == category and (min_conf is None or dets.conf[i] >= min_conf)]


def _filling(dets: Detections | None, category: str, w: int, h: int) -> float:
    """The confidence of the most confident `category` box covering at least FILL_COVER of the photo (0: none)."""
    best = 0.0
    for i in _boxes(dets, category, rules.HINT_CONF):
        if rules.box_area(dets.xyxy[i]) >= rules.FILL_COVER * w * h:
            best = max(best, float(dets.conf[i]))
    return best


def choose_crop(img: np.ndarray, dets: Detections | None, category: str, box=None, whole: bool = False,
                several: str = "refuse", conf: float | None = None) -> CropChoice:
    """The box of the one `category` object in `img`.

    `dets` may hold boxes of every category and below the detector's usual confidence: only `category` boxes of at
    least `conf` (every box when `conf` is None) count as found; the others serve the explanations (a photo of the
    wrong category). With several separate objects `several="refuse"` raises SeveralFoundError (registration: the
    user must choose), `several="best"` takes the most confident (a query: the ranking shows which was used).
    """
    h, w = img.shape[:2]
    if whole:
        return CropChoice((0.0, 0.0, float(w), float(h)), True, "whole photo")
    if box is not None:
        shown = crop_box(img, box)  # the part inside the photo
        if min(shown.shape[:2]) < rules.CROP_MIN_SIDE:
            raise InputError(f"The given box is {shown.shape[1]}x{shown.shape[0]} px inside the photo: too small to "
                             f"show anyone (at least {rules.CROP_MIN_SIDE} px a side)")
        _check_box_category(dets, category, box)
        return CropChoice(tuple(float(v) for v in box), False, "given box")
    found = _boxes(dets, category, conf)  # detections come sorted by confidence
    if not found:
        return _nothing_found(img, dets, category)
    if len(found) == 1:
        return CropChoice(tuple(map(float, dets.xyxy[found[0]])), False, "detected box")
    if rules.one_object_fills([dets.xyxy[i] for i in found], w, h):
        how = f"whole photo (a close crop of one {category}; {len(found)} boxes found, all within the one that fills it)"
        return CropChoice((0.0, 0.0, float(w), float(h)), True, how)
    if several == "best":
        return CropChoice(tuple(map(float, dets.xyxy[found[0]])), False,
                          f"most confident of {len(found)} detections (use --box to pick another)")
    listing = "; ".join(
        f"{k + 1}: {','.join(str(int(round(v))) for v in dets.xyxy[i])} ({dets.conf[i]:.2f})" for k, i in enumerate(found)
    )
    raise SeveralFoundError(f"{len(found)} {category}s were found; choose one (--box x1,y1,x2,y2). Boxes: {listing}")


def _check_box_category(dets: Detections | None, category: str, box) -> None:
    """A given box that the detector sees as an object of the other category, and not as one of `category`, is
    refused (a bus clicked while the label is a person's would be stored as that person)."""
    if dets is None or not len(dets):
        return
    overlap = iou_matrix(np.asarray([box], np.float32), dets.xyxy)[0]
    seen = [i for i in range(len(dets)) if dets.conf[i] >= rules.HINT_CONF and overlap[i] >= rules.SAME_OBJECT_IOU]
    if not seen or any(dets.category[i] == category for i in seen):
        return
    i = max(seen, key=lambda i: overlap[i])
    other = dets.category[i]
    raise WrongCategoryError(f"The chosen box is a {other} (detector confidence {dets.conf[i]:.2f}), not a {category}: "
                             f"register it as a {other}.", category, other)


def _nothing_found(img: np.ndarray, dets: Detections | None, category: str) -> CropChoice:
    h, w = img.shape[:2]
    nothing = f"No {category} was found in this photo"
    for other in rules.CATEGORIES:
        if other == category:
            continue
        seen = _filling(dets, other, w, h)
        if seen > _filling(dets, category, w, h):
            raise WrongCategoryError(f"{nothing}, but a {other} fills it (detector confidence {seen:.2f}): this looks "
                                     f"like a {other}; register it as a {other}.", category, other)
    problem = rules.photo_structure(img).problem()
    if problem:
        raise NothingFoundError(f"{nothing}, and it cannot be a close crop of one: {problem}.")
    if rules.looks_like_crop(img, category):
        return CropChoice((0.0, 0.0, float(w), float(h)), True, f"whole photo (a close crop of one {category})")
    lo, hi = rules.CROP_ASPECT.get(category, rules.CROP_ASPECT["vehicle"])
    raise NothingFoundError(
        f"{nothing}. Choose a photo where the {category} is clearly visible. (It is not taken whole either: a close crop "
        f"of one {category} is at most {rules.CROP_MAX_SIDE} px and {lo:g} to {hi:g} times as high as wide, this photo is "
        f"{w}x{h}; use the whole photo only if it really shows one {category}.)"
    )


def verdict(img: np.ndarray, dets: Detections | None, category: str, conf: float | None = None) -> PhotoVerdict:
    """What `choose_crop` (registration, no box chosen) would do, without raising: for the GUI to say it first."""
    try:
        c = choose_crop(img, dets, category, conf=conf)
    except WrongCategoryError as e:
        return PhotoVerdict(category, None, False, "", str(e), suggested_category=e.seen)
    except SeveralFoundError as e:
        return PhotoVerdict(category, None, False, "", str(e), must_choose=True)
    except InputError as e:
        return PhotoVerdict(category, None, False, "", str(e))
    return PhotoVerdict(category, c.box, c.whole, c.how)


def crop_box(img: np.ndarray, box) -> np.ndarray:
    """The crop of `box`, or an InputError the user can act on."""
    try:
        return crop(img, box)
    except ValueError as e:
        raise InputError(f"The chosen box is outside the image or too small: {e}") from e


def whole_crop_category(img: np.ndarray, categories) -> str | None:
    """The category a photo in which the detector found none of `categories` is a close crop of, by the rule a
    registration takes such a photo whole (photo structure, then size and shape); None when it is none. A search
    and the footage index read it with this rule too, so a folder of crops (Market-1501, another system's
    export) is searchable as the registration took them."""
    if rules.photo_structure(img).problem():
        return None
    return next((c for c in categories if rules.looks_like_crop(img, c)), None)

