"""The tracker's array-wise hot path (pipeline/track.py) gives the very ids and boxes of ultralytics' BYTETracker."""
from __future__ import annotations

import numpy as np
import pytest

from Algorithm.pipeline.track import Tracker
from Algorithm.types import Detections

from testdata import MOT, mot_gt_boxes


def crowd_detections(frames: int = 300, seed: int = 0) -> list[Detections]:
    """The ~30 people of MOT17-02's first frame walking at their own speeds, as a detector would see them: boxes
    jittered, 10 % missed on a frame, confidences spread over ByteTrack's high and low bands, people who leave the
    1920x1080 view coming back in on the other side."""
    rng = np.random.default_rng(seed)
    start = np.array([b[1:5] for b in mot_gt_boxes("MOT17-02-FRCNN", 1, min_height=30)], float)
    speed = rng.uniform(-4, 4, (len(start), 1)) * np.array([[1, 0, 1, 0]]) + rng.uniform(-0.5, 0.5, (len(start), 1))
    out = []
    for f in range(frames):
        boxes = start + speed * f
        shift = np.floor(boxes[:, 0] / 1920) * 1920  # wrap around horizontally
        boxes[:, [0, 2]] -= shift[:, None]
        boxes += rng.normal(0, 1.5, boxes.shape)
        keep = rng.random(len(boxes)) > 0.1
        conf = rng.uniform(0.15, 0.95, len(boxes)).astype(np.float32)
        b = boxes[keep].astype(np.float32)
        out.append(Detections(b, conf[keep], np.zeros(len(b), int), ["person"] * len(b)))
    return out


@pytest.mark.skipif(not MOT.exists(), reason="MOT17-mini assets missing")
def test_batched_bytetrack_is_the_library_bytetrack():
    from ultralytics.trackers.byte_tracker import BYTETracker

    ours, theirs = Tracker("bytetrack", 30), Tracker("bytetrack", 30)
    assert type(ours._t) is not BYTETracker and isinstance(ours._t, BYTETracker)
    theirs._t = BYTETracker(theirs.args)
    seen: dict[int, list[int]] = {}
    frames = crowd_detections()
    for f, dets in enumerate(frames):
        a, b = ours.update(dets), theirs.update(dets)
        assert np.array_equal(a.track_id, b.track_id), f"frame {f}"
        assert np.array_equal(a.xyxy, b.xyxy) and np.array_equal(a.conf, b.conf), f"frame {f}"
        for t in a.track_id:
            seen.setdefault(int(t), []).append(f)
    # the run went through every path: many tracks at once, tracks lost and found again, tracks ended and started
    assert min(len(d) for d in frames[:20]) >= 12
    assert any(np.diff(track_frames).max() > 1 for track_frames in seen.values())
    assert len(seen) >= 25  # 19 people: some left and came back as new tracks
