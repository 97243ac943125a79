"""Looks waiting to be embedded together: a crop chosen on one frame may wait a few frames for others, so that a
crowd's new tracks go through the ReID model in batches.

Batching pays twice on a CPU. One call for several crops costs less a crop, and each call right after a detection
finds the ReID model's weights pushed out of the CPU cache by the detector. retail-0277 (f32) on the bench machine,
a call right after a detection: 11.8 ms a crop alone, 10.3 in twos, 9.9 in fours, 9.6 in eights
(bench/README.md, section 1). The crop is cut and resized when it is chosen, so the frame need not be kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Look:
    """One chosen crop, ready for the model: where and when it was taken, and its pixels at the model's input size."""

    frame_idx: int
    track_id: int
    category: str
    box: np.ndarray  # (4,) xyxy in the frame
    hidden: bool  # hidden_boxes' flag for the box in its frame (part of the crop's quality)
    frame_size: tuple[int, int]  # width, height
    pixels: np.ndarray  # uint8 (H, W, 3) BGR, resized to the model's input


class LookQueue:
    """Holds looks until `max_crops` wait or the oldest has waited `max_wait` frames (0: every frame)."""

    def __init__(self, max_wait: int = 0, max_crops: int = 8):
        self.max_wait, self.max_crops = max(0, max_wait), max(1, max_crops)
        self._looks: list[Look] = []

    def __len__(self) -> int:
        return len(self._looks)

    def add(self, looks: list[Look]) -> None:
        self._looks.extend(looks)

    def due(self, frame_idx: int) -> bool:
        """Whether the waiting looks should be embedded now (before this frame's boxes are searched)."""
        return bool(self._looks) and (len(self._looks) >= self.max_crops
                                      or frame_idx - self._looks[0].frame_idx >= self.max_wait)

    def take(self) -> list[Look]:
        looks, self._looks = self._looks, []
        return looks
