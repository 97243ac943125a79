"""A sighting's best frame is its best *view*: close, large, confident and not cut by the frame edge.

Every frame of a track often carries one distance (the track's closest view), so picking by distance alone gave
the segment's first frame: on the pedestrian video, someone entering, half out of the picture.
"""
from __future__ import annotations

import csv

import pytest

from Algorithm.outer_api import Engine, SearchReport, Settings, export_csv
from Algorithm.pipeline.sightings import SightingsBuilder
from Algorithm.pipeline.track_cache import crop_quality

from testdata import PED_VIDEO, video_frame

W, H = 768, 432  # the pedestrian video


def _area(box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


@pytest.fixture(scope="module")
def walkers(tmp_path_factory):
    """Two registered walkers, the first 460 frames of the pedestrian video, every 3rd frame."""
    eng = Engine(tmp_path_factory.mktemp("best_view") / "gallery.db", Settings(keep_frames=False, sample_ft=3))
    eng.register(video_frame(PED_VIDEO, 300), "Walker300")
    eng.register(video_frame(PED_VIDEO, 100), "Walker100")
    res = eng.search_file(PED_VIDEO, max_frames=460)
    yield res
    eng.close()


def test_each_segments_best_frame_is_an_uncut_large_view(walkers):
    res = walkers
    assert {s.label for s in res.sightings} == {"Walker100", "Walker300"}
    for s in res.sightings:
        for g in s.segments:
            boxes = {fr.frame_index: b.box for fr in res.frames for b in fr.matches
                     if b.match.identity_id == s.identity_id and g.start_frame <= fr.frame_index <= g.end_frame}
            assert boxes[g.best_frame] == g.best_box
            _, cut = crop_quality(g.best_box, res.width, res.height)
            assert not cut, (s.label, g)
            largest = max(_area(b) for b in boxes.values())
            assert _area(g.best_box) >= 0.7 * largest, (s.label, g, largest)
            assert g.best_time == pytest.approx(g.best_frame / res.fps)


def test_csv_best_frame_is_not_just_the_first_frame(walkers, tmp_path):
    # Both walkers enter the room at the frame edge: their first frame is a cut view, never the best one.
    rows = list(csv.DictReader(open(export_csv(SearchReport(str(PED_VIDEO), files=[walkers]), tmp_path / "s.csv"),
                                    encoding="utf-8-sig")))
    assert len(rows) >= 2
    assert all(r["best_frame"] != r["start_frame"] for r in rows), rows


def test_scoring_prefers_uncut_then_large_among_near_closest():
    b = SightingsBuilder(max_gap_s=1.0, width=W, height=H)
    b.add(1, "A", 0, 0.0, (0, 50, 100, 300), 0.10, 0.9)  # the closest, but cut by the left edge
    b.add(1, "A", 1, 0.1, (100, 50, 160, 200), 0.11, 0.9)  # uncut, small
    b.add(1, "A", 2, 0.2, (100, 50, 200, 300), 0.11, 0.8)  # uncut, larger: the best view
    b.add(1, "A", 3, 0.3, (100, 50, 400, 420), 0.20, 0.9)  # largest, but much farther than the closest
    (g,) = b.result()[0].segments
    assert (g.best_frame, g.best_box, g.best_distance, g.start_frame, g.end_frame) == (2, (100, 50, 200, 300), 0.10, 0, 3)
    b.add(1, "A", 4, 0.4, (100, 50, 200, 300), 0.05, 0.5)  # much closer: the earlier views fall out of the margin
    assert b.result()[0].segments[0].best_frame == 4


def test_without_a_frame_size_no_box_counts_as_cut():
    b = SightingsBuilder(max_gap_s=1.0)
    b.add(1, "A", 0, 0.0, (0, 0, 100, 200), 0.1, 0.9)
    b.add(1, "A", 1, 0.1, (10, 10, 60, 110), 0.1, 0.9)
    assert b.result()[0].segments[0].best_frame == 0
