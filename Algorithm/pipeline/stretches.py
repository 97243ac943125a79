"""A tracker id is not always one object: when a track is lost and found again, or its box jumps, the tracker
may have joined the next person to the last one. A *stretch* is the part of a track that is one object; the
cache, the search and the identity decision work per stretch, so an identity never carries over to the next
person.

When a track is found again after a gap, or its box jumps, its new crop is embedded and compared with the
stretch's feature: farther than the match threshold (the app would not call the two views the same person)
starts a new stretch, with a new id.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from Algorithm.geometry import iou


@dataclass(frozen=True)
class StretchPolicy:
    reassociated_after_s: float = 0.4  # a track unseen at least this long and found again gets a second look
    jump_iou: float = 0.1  # a box overlapping its previous one less than this (same track, next frame): a second look


class Stretches:
    """Maps the tracker's ids to stretch ids (the first stretch of a track keeps the tracker's id)."""

    def __init__(self, fps: float, sample_ft: int, policy: StretchPolicy | None = None):
        self.policy = policy or StretchPolicy()
        # beyond one missed detection (2 steps: a flicker of the detector is not a gap)
        self.gap_frames = max(2 * sample_ft + 1, int(round(self.policy.reassociated_after_s * (fps or 1.0))))
        self._current: dict[int, int] = {}  # tracker id -> its current stretch id
        self._last: dict[int, tuple[int, tuple]] = {}  # tracker id -> (frame, box) last seen
        self._next = 1 << 40  # stretch ids beyond any tracker id
        self.splits = 0

    def to_check(self, frame_idx: int, track_ids, boxes) -> list[int]:
        """Rows of this frame whose track was found again after a gap or whose box jumped."""
        rows = []
        for i, (tid, box) in enumerate(zip(track_ids, boxes)):
            last = self._last.get(int(tid))
            if last is None:
                continue
            gap = frame_idx - last[0]
            if gap >= self.gap_frames or iou(last[1], box) < self.policy.jump_iou:
                rows.append(i)
        return rows

    def split(self, track_id: int) -> int:
        """Starts a new stretch of `track_id`; returns its id."""
        self._current[int(track_id)] = sid = self._next
        self._next += 1
        self.splits += 1
        return sid

    def ids(self, frame_idx: int, track_ids, boxes) -> np.ndarray:
        """The stretch id of each row; remembers where each track was seen."""
        out = np.empty(len(track_ids), np.int64)
        for i, (tid, box) in enumerate(zip(track_ids, boxes)):
            tid = int(tid)
            out[i] = self._current.get(tid, tid)
            self._last[tid] = (frame_idx, tuple(float(v) for v in box))
        return out

    def current(self, track_id: int) -> int:
        return self._current.get(int(track_id), int(track_id))

    def forget_before(self, frame_idx: int) -> None:
        """Drops tracks unseen since `frame_idx` (the tracker has dropped them too): memory stays flat."""
        for tid in [t for t, (f, _) in self._last.items() if f < frame_idx]:
            del self._last[tid]
            self._current.pop(tid, None)
