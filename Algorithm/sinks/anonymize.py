"""Hiding the people and vehicles an evidence export is not about: every detected box that is not one of the
case's matched boxes is pixelated, and the matched boxes are left exactly as they were."""
from __future__ import annotations

from typing import Iterable, Sequence

import cv2
import numpy as np

from Algorithm.geometry import iou

# A detection is the matched object when it overlaps its matched box this much (the same detector drew both on
# processed frames; on the frames skipped by sampleFt the held box has moved a little).
SAME_OBJECT_IOU = 0.5
# Detector confidence for what is hidden: lower than a search's, as a bystander left visible costs more than a
# pixelated chair.
DETECT_CONF = 0.2
CELLS = 6  # pixel blocks across a box's shorter side: a face or a plate becomes a few flat squares


def others(detected: Iterable[Sequence[float]], kept: Sequence[Sequence[float]]) -> list[tuple[float, ...]]:
    """The detected boxes that are none of the kept (matched) boxes."""
    return [tuple(float(v) for v in d) for d in detected if all(iou(d, k) < SAME_OBJECT_IOU for k in kept)]


def _int_box(box, w: int, h: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    return (max(0, int(np.floor(x1))), max(0, int(np.floor(y1))), min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2))))


def pixelate(img: np.ndarray, boxes: Iterable[Sequence[float]], keep: Sequence[Sequence[float]] = ()) -> np.ndarray:
    """`img` (BGR, changed in place and returned) with each box pixelated, then the `keep` boxes' own pixels put
    back: where a bystander overlaps the case's person, the person stays visible."""
    h, w = img.shape[:2]
    original = [(b, img[b[1]:b[3], b[0]:b[2]].copy()) for b in (_int_box(k, w, h) for k in keep)]
    for box in boxes:
        x1, y1, x2, y2 = _int_box(box, w, h)
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        roi = img[y1:y2, x1:x2]
        block = max(2, min(x2 - x1, y2 - y1) // CELLS)
        small = cv2.resize(roi, (max(1, (x2 - x1) // block), max(1, (y2 - y1) // block)), interpolation=cv2.INTER_AREA)
        img[y1:y2, x1:x2] = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
    for (x1, y1, x2, y2), pixels in original:
        img[y1:y2, x1:x2] = pixels
    return img
