"""When to run the detector: every processed frame (exact), or only where something can have changed.

The detector costs 80-90% of a frame on a laptop CPU; most surveillance footage is a fixed camera where
nothing moves most of the time and people move little from one frame to the next. So, per processed frame:
- motion gate: a small grey copy of the frame is compared with the one of the last detection; while nobody
  is in view and (almost) no pixel changed, the detector is skipped (a full detection still runs every
  `full_every_s`). A camera that moves (most pixels change from one frame to the next) is detected on every
  frame while it moves (nothing is still, and boxes move with the view);
- adaptive stride: while people are in view, detect every `max_stride`-th video frame; when two detections a stride
  apart differ (someone entered, left, or moved more than the tracker can follow), VideoSession looks back:
  it detects skipped frames in between after all, by bisection, so tracks start, end and carry on where an
  every-frame run has them.
Frames not detected are carried by the tracks: the resolver interpolates a track's boxes between two
detections (marked "interpolated" in the results).

Measured on the pedestrian video (1394 frames, two people registered, detections replayed so only the schedule
differs; bench/bench_speed.py): stride 8 detects 241 frames and keeps 99.4% of the matched frames of an
every-frame run, stride 24 detects 168 and keeps 98.9%, none wrong; a "careful" period of every-frame detection
after each change cost 10-40 more detections and kept fewer (0.986 at stride 8): the look-back replaced it.
"""
from __future__ import annotations

from collections import Counter

import cv2
import numpy as np

from Algorithm.geometry import iou_matrix
from Algorithm.rules import SpeedMode

GATE_WIDTH = 160  # the grey copy: 160 px wide is enough to see a person of 20 px at 1080p move, and costs ~0.3 ms
PIXEL_DIFF = 18  # grey-level change counted as motion (compression noise and flicker stay below ~10)
MOTION_FRACTION = 0.0015  # changed pixels that count as motion: ~20 px of a 160x90 copy, a small walker
MOVING_CAMERA = 0.5  # more than half the pixels changed since the previous frame: the camera moves
# Two detections a stride apart show the same scene when each box overlaps one of the other's this much: the
# tracker follows it across the skipped frames. Less (someone entered, left, or walked fast near the camera):
# the skipped frames are detected after all (VideoSession's look-back).
SAME_IOU = 0.3


# A track missed by one detection (a flicker of the detector) is still carried across: in an every-frame run it
# would miss one frame, here a whole stride would be lost.
BRIDGE = 2


def stride_of(mode: SpeedMode, sample_ft: int) -> int:
    """The stride in processed frames: `max_stride` counts video frames, so with sampleFt k it is max_stride // k
    (sampleFt 8 and balanced: no stride at all, the motion gate only). The stricter of the two settings wins."""
    return max(1, mode.max_stride // max(1, sample_ft))


def fill_span(mode: SpeedMode, sample_ft: int) -> tuple[int, int] | None:
    """(step, most) for TrackResolver.resolve: skipped frames are interpolated every `step` frames between two
    detections of a track at most `most` frames apart; None in exact mode (nothing skipped)."""
    if not mode.skips:
        return None
    return sample_ft, BRIDGE * stride_of(mode, sample_ft) * sample_ft


def same_boxes(before: np.ndarray, now: np.ndarray, flicker: float = 0.0) -> bool:
    """Whether two detections hold the same objects: each box overlapping one of the other's by SAME_IOU, but for
    up to `flicker` of the boxes (rounded down: none below 1 / flicker boxes; SpeedMode.flicker). A newcomer among
    many may then start its track up to a stride late."""
    n = max(len(before), len(now))
    if not len(before) or not len(now):
        return n == 0
    iou = iou_matrix(before, now)
    # boxes without a counterpart on either side, or more boxes on one side (two boxes on one object: a car
    # detected as car and truck)
    changed = max(int((iou.max(axis=1) < SAME_IOU).sum()), int((iou.max(axis=0) < SAME_IOU).sum()),
                  abs(len(before) - len(now)))
    return changed <= int(flicker * n)


class DetectionScheduler:
    def __init__(self, mode: SpeedMode, fps: float, sample_ft: int):
        self.mode = mode
        step_s = max(1, sample_ft) / (fps or 25.0)  # video seconds between processed frames
        self.full_every = max(1, round(mode.full_every_s / step_s)) if mode.full_every_s else 1
        self.stride = stride_of(mode, sample_ft)
        self._n = 0  # processed frames seen
        self._last_detect = -(10**9)
        self._ref: np.ndarray | None = None  # grey copy at the last detection
        self._prev: np.ndarray | None = None  # grey copy of the previous processed frame
        self._moving = False
        self._tracks: frozenset[int] = frozenset()
        self._confirm = False
        self.reasons: Counter[str] = Counter()  # why frames were detected (the speed bench prints it)

    def _grey(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        small = cv2.resize(frame, (GATE_WIDTH, max(1, round(h * GATE_WIDTH / w))), interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (3, 3), 0)

    @staticmethod
    def _changed(a: np.ndarray, b: np.ndarray | None) -> float:
        if b is None or a.shape != b.shape:
            return 1.0
        return float(np.count_nonzero(cv2.absdiff(a, b) > PIXEL_DIFF)) / a.size

    def detect(self, frame: np.ndarray) -> bool:
        """Whether to run the detector on this processed frame (call once per processed frame, in order)."""
        n = self._n
        self._n += 1
        since = n - self._last_detect
        grey = self._grey(frame) if self.mode.gate else None
        if grey is not None:
            self._moving = self._prev is not None and self._changed(grey, self._prev) > MOVING_CAMERA
            self._prev = grey
        if self._confirm:
            reason = "confirm"
        elif self._moving:  # a moving camera: nothing is still, the tracks' boxes move with it: every frame
            reason = "moving"
        elif since >= self.full_every:
            reason = "full"
        elif not self._tracks:  # nobody in view: only motion can bring someone
            moved = grey is None or self._changed(grey, self._ref) > MOTION_FRACTION
            reason = "motion" if moved else ""
        else:  # people in view: carried between detections while stable
            reason = "stride" if since >= self.stride else ""
        if reason:
            self.reasons[reason] += 1
            self._last_detect = n
            self._ref = grey
        return bool(reason)

    def looked_back(self, frames: int) -> None:
        """Skipped frames detected after all (the scene changed between two detections)."""
        self.reasons["look-back"] += frames

    def detected(self, track_ids, n_boxes: int) -> None:
        """The tracks a detection gave (none: the motion gate decides until someone is seen again). Boxes the
        tracker did not confirm yet (a new track needs a second look on the next frame) make it detect again."""
        self._tracks = frozenset(int(t) for t in track_ids)
        self._confirm = n_boxes > len(self._tracks)
