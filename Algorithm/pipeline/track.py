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
