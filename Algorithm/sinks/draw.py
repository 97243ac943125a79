"""Drawing results onto frames (OpenCV, BGR).

The GUI draws its live overlay with Qt; this module serves exports and the colours both share, so an
identity has the same colour on screen and in the exported video.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Iterable

import cv2
import numpy as np

from Algorithm.types import BoxResult, FileResult

# Ten vivid, well separated colours (Tableau 10 with gold and teal instead of its brown and grey), as BGR.
_PALETTE_RGB = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (255, 200, 0), (227, 119, 194), (188, 189, 34), (23, 190, 207), (0, 190, 140),
]
PALETTE = [(b, g, r) for r, g, b in _PALETTE_RGB]
FAINT = (200, 200, 200)


def identity_color(identity_id: int) -> tuple[int, int, int]:
    """Stable BGR colour of an identity (the same in the GUI and in exported videos)."""
    return PALETTE[(int(identity_id) * 7 + 3) % len(PALETTE)]


class FrameBoxes:
    """The matched boxes shown on any frame of a processed video: those of the latest processed frame, held over
    the sampleFt - 1 skipped frames after it so they do not flicker (the annotated video and the GUI's review)."""

    def __init__(self, result: FileResult, sample_ft: int = 1):
        self.sample_ft = max(1, int(sample_ft))
        self._boxes = {f.frame_index: f.matches for f in result.frames}
        self._frames = sorted(self._boxes)

    def __call__(self, frame_index: int) -> list[BoxResult]:
        i = bisect_right(self._frames, frame_index) - 1
        if i < 0 or frame_index - self._frames[i] >= self.sample_ft:
            return []  # a processed frame without a match, or one of the frames skipped after it
        return self._boxes[self._frames[i]]


def match_text(box: BoxResult) -> str:
    """'Alice 0.12': label and distance of a matched box, '' for an unmatched one."""
    return f"{box.match.label} {max(0.0, box.match.distance):.2f}"  # never "-0.00" if box.match else ""


def draw_label(img: np.ndarray, x: int, y: int, text: str, color) -> None:
    """A filled tag with `text` whose bottom-left corner is at (x, y); kept inside the image."""
    scale = max(0.45, min(img.shape[:2]) / 900)
    thick = max(1, int(round(scale * 2)))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x = int(min(max(0, x), max(0, img.shape[1] - tw - 6)))
    y = int(max(th + base + 4, y))
    cv2.rectangle(img, (x, y - th - base - 4), (x + tw + 6, y), color, -1)
    lum = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
    fg = (0, 0, 0) if lum > 150 else (255, 255, 255)
    cv2.putText(img, text, (x + 3, y - base - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, fg, thick, cv2.LINE_AA)


def draw_boxes(img: np.ndarray, boxes: Iterable[BoxResult], unmatched: bool = True, copy: bool = True) -> np.ndarray:
    """Matched boxes thick in their identity's colour with 'label distance'; unmatched ones thin and faint."""
    out = img.copy() if copy else img
    boxes = list(boxes)
    thick = max(2, int(round(min(out.shape[:2]) / 250)))
    if unmatched and any(b.match is None for b in boxes):
        layer = out.copy()
        for b in boxes:
            if b.match is None:
                x1, y1, x2, y2 = (int(round(v)) for v in b.box)
                cv2.rectangle(layer, (x1, y1), (x2, y2), FAINT, 1, cv2.LINE_AA)
        cv2.addWeighted(layer, 0.6, out, 0.4, 0, dst=out)
    for b in boxes:
        if b.match is None:
            continue
        color = identity_color(b.match.identity_id)
        x1, y1, x2, y2 = (int(round(v)) for v in b.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick, cv2.LINE_AA)
        draw_label(out, x1, y1, match_text(b), color)
    return out
