"""The "snapshot camera": embed a track once when it becomes reliable, again only for a clearly better crop.

Quality of a crop = box area x detector confidence, halved when the box touches the frame edge (a cut
person is a poor likeness). A track keeps its best few crops' features and their normalised mean; it is
searched with all of them and matches by the closest.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from Algorithm.pipeline.embed import l2_normalize


@dataclass
class CachePolicy:
    better_ratio: float = 1.25  # a new crop must beat the best one so far by this factor to be embedded
    wait_frames: int = 5  # a track cut by the frame edge waits this long for a clean crop before embedding anyway
    keep_best: int = 3  # crops averaged into the track feature
    max_embeds: int = 5  # per track, besides the periodic refresh
    refresh_frames: int = 0  # also re-embed after this many frames (0: never)
    # A track with no identity under the threshold yet gets a few more looks, spaced out (this many frames,
    # then twice that, ...): a poor first view (turned away, half hidden) must not hide a registered person.
    retry_frames: int = 10
    max_retries: int = 3
    forget_frames: int = 90  # drop state of tracks unseen this long (memory stays flat on long videos)


@dataclass
class _Track:
    first_frame: int
    last_seen: int
    best_quality: float = 0.0
    last_embed: int = -1
    embeds: int = 0
    retries: int = 0
    crops: list[tuple[float, np.ndarray]] = field(default_factory=list)
    feature: np.ndarray | None = None
    version: int = 0  # moves when the feature changes, so search results can be cached per version


def crop_quality(box, conf: float, width: int, height: int, margin: float = 2.0) -> tuple[float, bool]:
    x1, y1, x2, y2 = box
    cut = x1 <= margin or y1 <= margin or x2 >= width - margin or y2 >= height - margin
    q = max(0.0, x2 - x1) * max(0.0, y2 - y1) * float(conf)
    return (q * 0.5 if cut else q), cut


class TrackCache:
    def __init__(self, policy: CachePolicy | None = None):
        self.policy = policy or CachePolicy()
        self.tracks: dict[int, _Track] = {}
        self.total_tracks = 0

    def select(self, frame_idx: int, track_ids, boxes, confs, width: int, height: int, settled=None) -> list[int]:
        """Indices (into this frame's boxes) whose crops should be embedded now. `settled(track_id)` says
        whether a track already has its identity (no retries then)."""
        p = self.policy
        todo = []
        for i, (tid, box, conf) in enumerate(zip(track_ids, boxes, confs)):
            tid = int(tid)
            t = self.tracks.get(tid)
            if t is None:
                t = self.tracks[tid] = _Track(first_frame=frame_idx, last_seen=frame_idx)
                self.total_tracks += 1
            t.last_seen = frame_idx
            q, cut = crop_quality(box, conf, width, height)
            if t.feature is None:
                if not cut or frame_idx - t.first_frame >= p.wait_frames:
                    todo.append(i)
            elif q >= t.best_quality * p.better_ratio and t.embeds < p.max_embeds:
                todo.append(i)
            elif p.refresh_frames and frame_idx - t.last_embed >= p.refresh_frames:
                todo.append(i)
            elif (settled is not None and t.retries < p.max_retries and not cut
                  and frame_idx - t.last_embed >= p.retry_frames * 2 ** t.retries and not settled(tid)):
                t.retries += 1
                todo.append(i)
        return todo

    def update(self, frame_idx: int, track_ids, boxes, confs, feats: np.ndarray, width: int, height: int) -> None:
        for tid, box, conf, f in zip(track_ids, boxes, confs, feats):
            t = self.tracks[int(tid)]
            q, _ = crop_quality(box, conf, width, height)
            t.crops.append((q, f))
            t.crops.sort(key=lambda c: -c[0])
            del t.crops[self.policy.keep_best :]
            t.feature = l2_normalize(np.mean([c[1] for c in t.crops], axis=0))
            t.best_quality = max(t.best_quality, q)
            t.last_embed = frame_idx
            t.embeds += 1
            t.version += 1

    def feature(self, track_id: int) -> tuple[np.ndarray | None, int]:
        t = self.tracks.get(int(track_id))
        return (None, 0) if t is None else (t.feature, t.version)

    def query_vectors(self, track_id: int) -> np.ndarray:
        """The aggregate and each kept crop: a track matches an identity by its closest view, so one poor
        crop (entering, occluded) cannot hide a good one."""
        t = self.tracks[int(track_id)]
        return np.stack([t.feature] + [c[1] for c in t.crops]) if len(t.crops) > 1 else t.feature[None]

    def forget_stale(self, frame_idx: int) -> None:
        stale = [tid for tid, t in self.tracks.items() if frame_idx - t.last_seen > self.policy.forget_frames]
        for tid in stale:
            del self.tracks[tid]
