"""Multi-object tracking with ultralytics' ByteTrack / BoT-SORT, fed by our own detections."""
from __future__ import annotations

import functools

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


def _boxes_xyxy(tracks) -> list[np.ndarray]:
    """STrack.xyxy of every track, computed at once (the same float operations, so the same values)."""
    if not tracks:
        return []
    live = [t.mean is not None for t in tracks]
    if all(live):
        b = np.array([t.mean[:4] for t in tracks])
    elif not any(live):
        b = np.array([t._tlwh for t in tracks])
        return list(np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], 1))
    else:
        return [t.xyxy for t in tracks]
    b[:, 2] *= b[:, 3]
    b[:, :2] -= b[:, 2:] / 2
    b[:, 2:] += b[:, :2]
    return list(b)


@functools.cache
def _byte_tracker_class():
    """ultralytics' BYTETracker with the per-track Python loops of its hot path done as array operations.

    The Kalman update of each matched track and each track's box for the IoU costs were the largest part of the
    tracker's time. Done at once, on the synthetic crowd (bench/crowd_video.py, 15 people a frame), the tracker
    takes a fifth less: 1.00 ms a frame instead of 1.27 (interleaved, same detections). The association, its
    thresholds and the track life cycle stay the library's; tests/test_tracker.py checks the ids and boxes match."""
    from ultralytics.trackers.basetrack import TrackState
    from ultralytics.trackers.byte_tracker import BYTETracker, STrack
    from ultralytics.trackers.utils import matching

    class BatchedBYTETracker(BYTETracker):
        def get_dists(self, tracks, detections):
            if not tracks or not detections or tracks[0].angle is not None:
                return super().get_dists(tracks, detections)
            dists = matching.iou_distance(_boxes_xyxy(tracks), _boxes_xyxy(detections))
            if self.args.fuse_score:
                dists = matching.fuse_score(dists, detections)
            return dists

        def _apply_matches(self, matches, pool, detections, activated, refind):
            pairs = [(pool[i], detections[j]) for i, j in matches]
            tracked = [t.state == TrackState.Tracked for t, _ in pairs]
            if sum(tracked) < 2 or pairs[0][0].angle is not None:
                return super()._apply_matches(matches, pool, detections, activated, refind)
            both = [p for p, on in zip(pairs, tracked) if on]
            means, covs = _kalman_update(
                self.kalman_filter,
                np.array([t.mean for t, _ in both]),
                np.array([t.covariance for t, _ in both]),
                np.array([STrack.tlwh_to_xyah(d.tlwh) for _, d in both]),
            )
            updated = iter(zip(means, covs))
            for (t, d), on in zip(pairs, tracked):  # in the library's order: it decides the order of the output
                if not on:
                    self._apply_match(t, d, activated, refind)  # a lost track found again
                    continue
                # STrack.update, with the filter's step done above for all
                t.frame_id = self.frame_id
                t.tracklet_len += 1
                t.mean, t.covariance = next(updated)
                t.state = TrackState.Tracked
                t.is_activated = True
                t.score, t.cls, t.idx = d.score, d.cls, d.idx
                activated.append(t)

    if not hasattr(BYTETracker, "_apply_match"):  # another ultralytics release: its own way of applying matches
        del BatchedBYTETracker._apply_matches
    return BatchedBYTETracker


def _kalman_update(kf, mean: np.ndarray, cov: np.ndarray, xyah: np.ndarray):
    """KalmanFilterXYAH.update for N tracks at once: mean (N, 8), cov (N, 8, 8), measurements (N, 4)."""
    h = mean[:, 3]
    std = np.stack([kf._std_weight_position * h, kf._std_weight_position * h, np.full_like(h, 1e-1),
                    kf._std_weight_position * h], 1)
    proj_cov = cov[:, :4, :4] + np.einsum("ni,ij->nij", np.square(std), np.eye(4))
    gain = np.linalg.solve(proj_cov, cov[:, :, :4].transpose(0, 2, 1)).transpose(0, 2, 1)  # (N, 8, 4)
    new_mean = mean + np.einsum("nij,nj->ni", gain, xyah - mean[:, :4])
    new_cov = cov - gain @ proj_cov @ gain.transpose(0, 2, 1)
    return new_mean, new_cov


class Tracker:
    """Gives every detection kept by the tracker a stable id; one Tracker per file (a VideoSession owns it)."""

    def __init__(self, kind: str = "bytetrack", track_buffer: int = 30):
        from ultralytics.trackers.bot_sort import BOTSORT
        from ultralytics.utils import ROOT, YAML, IterableSimpleNamespace

        cfg = YAML.load(ROOT / "cfg" / "trackers" / f"{kind}.yaml")
        cfg["track_buffer"] = track_buffer
        if kind == "botsort":
            cfg["with_reid"] = False  # appearance comes from our own ReID, once per track
        self.args = IterableSimpleNamespace(**cfg)
        self._t = (BOTSORT if kind == "botsort" else _byte_tracker_class())(self.args)

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
