"""Reviewing stored results without the models: the results JSON read back, a stopped run's two parts merged,
and the boxes shown on any frame of a processed video."""
from __future__ import annotations

import json

import pytest

from Algorithm.outer_api import (
    BoxResult,
    FileResult,
    FrameBoxes,
    FrameResult,
    InputError,
    SearchReport,
    Segment,
    Settings,
    Sighting,
    export_json,
    read_results_json,
)
from Algorithm.pipeline.resume import merge_file_results, plan, resume_frame
from Algorithm.types import Match, Stats


def matched(frame: int, ident: int, label: str, track: int, dist: float = 0.2) -> FrameResult:
    box = BoxResult((10.0 + frame, 20.0, 60.0 + frame, 150.0), 0.9, "person", track, Match(ident, label, dist))
    return FrameResult("v.mp4", frame, frame / 25, [box], None, 300)


def part(frames: list[FrameResult], sightings: list[Sighting], read: int, stopped: bool) -> FileResult:
    return FileResult("v.mp4", "video", 768, 432, 25.0, 300, frames, sightings,
                      Stats(read, len(frames), 2 * len(frames), 3, 1, 1.5), None, stopped)


def seg(a: int, b: int, best: int, dist: float) -> Segment:
    return Segment(a, b, a / 25, b / 25, best, dist, (1.0, 2.0, 30.0, 40.0), b - a + 1, best / 25)


def test_results_json_reads_back_what_was_written(tmp_path):
    settings = Settings(device="cpu", sample_ft=3, threshold=0.3, categories=("person", "vehicle"))
    res = part([matched(3, 1, "Ann", 4), matched(6, 1, "Ann", 4)], [Sighting(1, "Ann", [seg(3, 6, 6, 0.2)])], 7, True)
    bad = FileResult("broken.mp4", "video", error="Not a readable video")
    report = SearchReport("clips", settings, None, {"person": 0.3, "vehicle": 0.25}, [res, bad])
    path = export_json(report, tmp_path / "r.json")
    back = read_results_json(path)
    assert back.to_json() == report.to_json()
    assert back.settings.sample_ft == 3 and back.files[0].stopped and back.errors[0].path == "broken.mp4"
    assert back.files[0].frames[1].boxes[0].match.label == "Ann"
    assert back.files[0].sightings[0].segments[0] == res.sightings[0].segments[0]


@pytest.mark.parametrize("content, words", [
    ("{not json", "not readable JSON"),
    ('{"format": "something-else"}', "Not a results file of this app"),
    ('{"format": "reid-app-results", "version": 99}', "newer version"),
    ('{"format": "reid-app-results", "version": 1, "settings": {}}', "damaged: its 'device' entry is missing"),
    ('{"format": "reid-app-results", "version": 1, "settings": "x"}', "damaged: a value is not of the right kind"),
])
def test_results_json_refuses_other_files_in_words(tmp_path, content, words):
    p = tmp_path / "x.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=words):
        read_results_json(p)
    with pytest.raises(InputError, match="not found"):
        read_results_json(tmp_path / "missing.json")


def test_a_resumed_part_is_merged_with_the_first_one():
    settings = Settings(sample_ft=3, max_gap_s=1.0)
    first = part([matched(90, 1, "Ann", 2), matched(93, 1, "Ann", 2)], [Sighting(1, "Ann", [seg(30, 93, 90, 0.15)])],
                 94, True)
    assert resume_frame(first, 3) == 96  # the frames a run that never stopped would have processed
    second = part([matched(96, 1, "Ann", 0), matched(240, 2, "Bob", 1)],
                  [Sighting(1, "Ann", [seg(96, 120, 99, 0.1)]), Sighting(2, "Bob", [seg(240, 240, 240, 0.3)])], 241, False)
    merged = merge_file_results(first, second, settings)
    assert not merged.stopped and [f.frame_index for f in merged.frames] == [90, 93, 96, 240]
    assert [b.track_id for f in merged.frames for b in f.boxes] == [2, 2, 3, 4]  # new tracks never take old ids
    ann, bob = merged.sightings
    assert [(g.start_frame, g.end_frame, g.best_frame) for g in ann.segments] == [(30, 120, 99)]  # joined across the stop
    assert [(g.start_frame, g.end_frame) for g in bob.segments] == [(240, 240)]
    assert merged.stats.frames_read == 241 and merged.stats.frames_processed == 4 and merged.stats.seconds == 3.0


def test_a_resumed_run_goes_on_with_the_stopped_file_and_the_files_not_reached(tmp_path):
    files = [tmp_path / n for n in ("a.mp4", "b.mp4", "c.mp4")]
    done = FileResult(str(files[0]), "video", stats=Stats(300, 100))
    stopped = FileResult(str(files[1]), "video", stats=Stats(31, 11), stopped=True)
    report = SearchReport(str(tmp_path), Settings(sample_ft=3), files=[done, stopped])
    assert plan(report, files) == [(1, files[1], 33, stopped), (2, files[2], 0, None)]


def test_frame_boxes_hold_a_processed_frame_over_the_skipped_ones():
    res = part([matched(30, 1, "Ann", 1), matched(36, 1, "Ann", 1)], [], 40, False)
    shown = FrameBoxes(res, 3)
    assert [len(shown(i)) for i in range(28, 41)] == [0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0]
    assert shown(31)[0].box == res.frames[0].boxes[0].box
    assert json.dumps(FrameBoxes(res, 1)(31)) == "[]"
