"""Multi-object tracking with ultralytics' ByteTrack / BoT-SORT, fed by our own detections."""
from __future__ import annotations

import numpy as np

from Algorithm.types import Detections


class _TrackerInput:
    """The slice of ultralytics' Boxes that its trackers read: conf, cls, xywh and boolean indexing."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray):
        self.xyxy, self.conf, self.cls = xyxy, conf, cls

    @property
    def xywh(self) -> np.ndarray:
        wh = self.xyxy[:, 2:] - self.xyxy[:, :2]
        return np.concatenate([self.xyxy[:, :2] + wh / 2, wh], 1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, idx) -> "_TrackerInput":
        return _TrackerInput(self.xyxy[idx], self.conf[idx], self.cls[idx])


# How long a lost track is kept for re-association, in seconds of video (not processed frames: at sampleFt 5
# on a 10 fps video, ByteTrack's default 30 frames were 15 s, long enough to join the next person who
# walked in where the last one left).
TRACK_MEMORY_S = 2.0


def track_buffer(fps: float, sample_ft: int, memory_s: float = TRACK_MEMORY_S) -> int:
    """The tracker's buffer in processed frames for `memory_s` seconds of video."""
    return max(1, int(round(memory_s * (fps or 25.0) / max(1, sample_ft))))


class Tracker:
    """Gives every detection kept by the tracker a stable id; one Tracker per file (a VideoSession owns it)."""

    def __init__(self, kind: str = "bytetrack", track_buffer: int = 30):
        from ultralytics.trackers.bot_sort import BOTSORT
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import ROOT, YAML, IterableSimpleNamespace

        cfg = YAML.load(ROOT / "cfg" / "trackers" / f"{kind}.yaml")
        cfg["track_buffer"] = track_buffer
        if kind == "botsort":
            cfg["with_reid"] = False  # appearance comes from our own ReID, once per track
        self.args = IterableSimpleNamespace(**cfg)
        self._t = (BOTSORT if kind == "botsort" else BYTETracker)(self.args)

    def update(self, dets: Detections, frame: np.ndarray | None = None) -> Detections:
        """The detections the tracker confirms this frame, with their track ids (boxes stay the detector's)."""
        if len(dets) == 0:
            self._t.update(_TrackerInput(dets.xyxy, dets.conf, dets.cls.astype(np.float32)), frame)
            out = Detections.empty()
            out.track_id = np.zeros(0, int)
            return out
        rows = self._t.update(_TrackerInput(dets.xyxy, dets.conf, dets.cls.astype(np.float32)), frame)
        if len(rows) == 0:
            out = Detections.empty()
            out.track_id = np.zeros(0, int)
            return out
        idx = rows[:, -1].astype(int)
        out = dets.select(idx)
        out.track_id = rows[:, 4].astype(int)
        return out
