"""The track cache's policy: who is looked at (embedded) and when, in a crowd and at any frame rate."""
from __future__ import annotations

import numpy as np

from Algorithm.pipeline.track_cache import CachePolicy, TrackCache, hidden_boxes

W, H = 1280, 720


def test_a_box_mostly_behind_another_is_hidden_the_one_in_front_is_not():
    front = (100, 100, 200, 400)
    behind = (120, 120, 210, 380)  # ~80% of it under `front`
    beside = (400, 100, 500, 400)
    brushing = (190, 100, 290, 400)  # 10% overlap
    # `front` is 72% covered by `behind` too, but its feet are lower: it stands nearer, in front
    assert hidden_boxes([front, behind, beside, brushing]).tolist() == [False, True, False, False]
    assert hidden_boxes([front, front]).tolist() == [True, True]  # one spot, two boxes: neither crop is clean
    assert hidden_boxes([front]).tolist() == [False] and hidden_boxes(np.zeros((0, 4))).tolist() == []


def test_waits_and_re_looks_are_seconds_of_video_not_frames():
    ped = CachePolicy.for_video(10.0, 1)  # the pedestrian video, every frame: the counts it was tuned with
    assert (ped.wait_frames, ped.retry_frames) == (5, 10)
    crowd = CachePolicy.for_video(30.0, 1)  # 30 fps: a re-look a second apart, not three times a second
    assert crowd.retry_frames == 30 and crowd.wait_frames == 5
    sparse = CachePolicy.for_video(10.0, 5)  # 2 processed frames a second
    assert (sparse.wait_frames, sparse.retry_frames) == (1, 2)
    assert CachePolicy.for_video(0.0, 1).retry_frames == 10  # unknown fps: taken as 10
    assert CachePolicy.for_video(25.0, 1, refresh_frames=7).refresh_frames == 7


def _select(cache, frame, boxes, settled=lambda t: False):
    tids = list(range(len(boxes)))
    todo = cache.select(frame, tids, np.asarray(boxes, float), W, H, settled=settled)
    if todo:  # as the session does: the chosen rows get their (here: made-up) features
        feats = np.eye(8, dtype=np.float32)[[tids[i] for i in todo]]
        rows = np.asarray(boxes, float)[todo]
        cache.update(frame, [tids[i] for i in todo], rows, feats, W, H, hidden_boxes(boxes)[todo])
    return todo


def test_a_hidden_person_is_looked_at_when_they_come_out_or_after_the_wait():
    cache = TrackCache(CachePolicy.for_video(30.0, 1))
    front = (600, 200, 700, 500)
    behind = (610, 210, 700, 480)
    assert _select(cache, 0, [front, behind]) == [0]  # only the one in front: the other crop shows him
    assert _select(cache, 1, [front, behind]) == []
    out = (760, 210, 850, 480)  # stepped out: a clean view, looked at at once
    assert _select(cache, 2, [front, out]) == [1]
    # someone hidden all along is still looked at once the wait is over
    cache = TrackCache(CachePolicy.for_video(30.0, 1))
    got = [(f, _select(cache, f, [front, behind])) for f in range(8)]
    assert [f for f, todo in got if 1 in todo] == [5], got


def test_an_unmatched_track_is_re_looked_at_a_second_apart_at_30_fps_and_only_on_a_clean_view():
    cache = TrackCache(CachePolicy.for_video(30.0, 1))
    walker = (300, 200, 380, 420)
    looks = [f for f in range(200) if _select(cache, f, [walker])]
    assert looks == [0, 30, 90], looks  # then 1 s, 2 s later (the next would be at 210)
    cache = TrackCache(CachePolicy.for_video(30.0, 1))
    assert _select(cache, 0, [walker]) == [0]
    blocker = (305, 210, 385, 420)  # someone in front of him when the re-look is due
    assert not any(0 in _select(cache, f, [walker, blocker]) for f in range(1, 60))
    assert cache.tracks[0].retries == 0  # the re-look waits for a clean view, it is not used up
    # a matched track is not re-looked at
    cache = TrackCache(CachePolicy.for_video(30.0, 1))
    assert [f for f in range(200) if _select(cache, f, [walker], settled=lambda t: True)] == [0]
