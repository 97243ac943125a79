"""Which part of a photo stands for the object to register or to query: one rule for the app, the CLI and
the evaluation tools."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from Algorithm.errors import InputError, NothingFoundError
from Algorithm.pipeline.embed import crop
from Algorithm.rules import looks_like_crop
from Algorithm.types import Detections


@dataclass(frozen=True)
class CropChoice:
    box: tuple[float, float, float, float]
    whole: bool  # the whole photo was taken
    how: str  # said to the user: "given box", "detected box", ...


def choose_crop(img: np.ndarray, dets: Detections | None, category: str, box=None, whole: bool = False,
                several: str = "refuse") -> CropChoice:
    """The box of the one `category` object in `img`.

    A given box or `whole` wins; else the one detection; else, with none, the whole photo when it looks
    like a ready-made crop. With several detections `several="refuse"` raises (registration: the user must
    choose), `several="best"` takes the most confident (a query: the ranking shows which was used).
    """
    h, w = img.shape[:2]
    if whole:
        return CropChoice((0.0, 0.0, float(w), float(h)), True, "whole photo")
    if box is not None:
        return CropChoice(tuple(float(v) for v in box), False, "given box")
    if dets is None or len(dets) == 0:
        if looks_like_crop(img, category):
            return CropChoice((0.0, 0.0, float(w), float(h)), True, "whole photo (looks like a crop)")
        raise NothingFoundError(f"No {category} was found in this photo. Choose a photo where the {category} is clearly visible.")
    if len(dets) == 1 or several == "best":  # detections come sorted by confidence
        how = "detected box" if len(dets) == 1 else f"most confident of {len(dets)} detections (use --box to pick another)"
        return CropChoice(tuple(map(float, dets.xyxy[0])), False, how)
    listing = "; ".join(
        f"{i + 1}: {','.join(str(int(round(v))) for v in b)} ({c:.2f})" for i, (b, c) in enumerate(zip(dets.xyxy, dets.conf))
    )
    raise InputError(f"{len(dets)} {category}s were found; choose one (--box x1,y1,x2,y2). Boxes: {listing}")


def crop_box(img: np.ndarray, box) -> np.ndarray:
    """The crop of `box`, or an InputError the user can act on."""
    try:
        return crop(img, box)
    except ValueError as e:
        raise InputError(f"The chosen box is outside the image or too small: {e}") from e
