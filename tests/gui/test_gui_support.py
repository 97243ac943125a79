"""The GUI-support helpers of outer_api: photo sightings, drawing."""
from __future__ import annotations

import numpy as np

from Algorithm.outer_api import (
    BoxResult,
    FileResult,
    FrameResult,
    draw_boxes,
    file_sightings,
    identity_color,
)
from Algorithm.types import Match


def box(track, match=None, x=0):
    return BoxResult((x, 0, x + 10, 20), 0.9, "person", track, match)


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
