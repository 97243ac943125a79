"""The GUI-support helpers of outer_api: live track memory, photo sightings, drawing."""
from __future__ import annotations

import numpy as np

from Algorithm.outer_api import (
    BoxResult,
    FileResult,
    FrameResult,
    LiveTracks,
    draw_boxes,
    file_sightings,
    identity_color,
)
from Algorithm.types import Match


def frame(i, *boxes):
    return FrameResult("v.mp4", i, i / 10, list(boxes))


def box(track, match=None, x=0):
    return BoxResult((x, 0, x + 10, 20), 0.9, "person", track, match)


def test_live_tracks_keep_the_closest_match_of_a_track():
    lt = LiveTracks()
    a = Match(1, "A", 0.20)
    out = lt.apply(frame(0, box(5, a), box(6)))
    assert out.boxes[0].match == a and out.boxes[1].match is None
    # later frames: the track keeps A even without a match of its own; an untracked box is left alone
    raw = frame(1, box(5), box(-1))
    out = lt.apply(raw)
    assert out.boxes[0].match == a and out.boxes[1].match is None
    assert raw.boxes[0].match is None  # the engine's own result is not modified
    # a closer match replaces it
    a2 = Match(1, "A", 0.10)
    assert lt.apply(frame(2, box(5, a2))).boxes[0].match == a2
    assert lt.apply(frame(3, box(5, Match(1, "A", 0.3)))).boxes[0].match == a2
    # two tracks with the same identity in one frame: only the closest keeps it
    lt.apply(frame(4, box(7, Match(1, "A", 0.05), x=50)))
    out = lt.apply(frame(5, box(5), box(7, x=50)))
    assert out.boxes[0].match is None and out.boxes[1].match.distance == 0.05


def test_photo_sightings_and_drawing():
    m = Match(3, "C", 0.12)
    res = FileResult("p.jpg", "image", 100, 100, frames=[FrameResult("p.jpg", 0, 0.0, [box(-1, m), box(-1)])])
    (s,) = file_sightings(res)
    assert (s.label, s.segments[0].best_distance, s.segments[0].best_box) == ("C", 0.12, (0, 0, 10, 20))

    img = np.zeros((60, 80, 3), np.uint8)
    out = draw_boxes(img, [box(-1, m, x=30), box(-1, x=2)])
    assert img.max() == 0 and out.shape == img.shape  # a copy
    assert tuple(out[10, 30]) == identity_color(3)  # the matched box's edge, in its identity's colour
    assert 0 < out[10, 2].max() < 255  # the unmatched one: faint
