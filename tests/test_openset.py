"""One registered person among strangers: no identity carried over to the next person on the same track.

The pedestrian video shows six people one after the other (in view: grey-cardigan 60-205, black-jacket
225-450, long-hair-black 505-700, black-tshirt 745-870, grey-sweater 925-1200, grey-shirt 1235-1365; the
same table is in bench/_common.py). Before the fix, at sampleFt 5 one ByteTrack track spanned black-jacket,
long-hair-black and black-tshirt (the tracker kept lost tracks 30 processed frames = 15 s), and the
track-level decision labelled all three as black-jacket at one distance, 0.1092.
"""
from __future__ import annotations

import numpy as np

from Algorithm.pipeline.stretches import Stretches
from Algorithm.pipeline.track import track_buffer

from testdata import PED_VIDEO, video_frame


def test_black_jacket_alone_at_sample_ft_5_is_found_only_while_in_view(engine):
    engine.update_settings(sample_ft=5)
    engine.register(video_frame(PED_VIDEO, 300), "black-jacket")
    res = engine.search_file(PED_VIDEO)
    labelled = sorted(fr.frame_index for fr in res.frames for b in fr.matches if b.match.label == "black-jacket")
    assert len(labelled) >= 30, labelled  # 225-450 at every 5th frame is 45 frames; most must be found
    outside = [f for f in labelled if not 225 <= f < 450]
    assert outside == [], f"black-jacket given to other people at frames {outside}"
    (sighting,) = res.sightings
    assert all(225 <= g.start_frame and g.end_frame < 450 for g in sighting.segments), sighting.segments


def test_tracker_memory_is_measured_in_time():
    assert track_buffer(10.0, 5) == 4  # 2 s at 2 processed frames a second
    assert track_buffer(10.0, 1) == 20
    assert track_buffer(30.0, 1) == 60
    assert track_buffer(0.0, 1) >= 1  # unknown fps: still a sane buffer


def test_a_track_found_again_after_a_gap_or_jumping_gets_a_second_look():
    s = Stretches(fps=10.0, sample_ft=1)  # a gap of 4 frames (0.4 s) or more is a re-association
    box = np.array([[10, 10, 50, 110]], np.float32)
    assert s.to_check(0, [7], box) == []  # first sight: nothing to compare with
    s.ids(0, [7], box)
    assert s.to_check(1, [7], box + 2) == []  # next frame, same place
    s.ids(1, [7], box + 2)
    assert s.to_check(6, [7], box) == [0]  # found again after 5 frames
    assert s.to_check(2, [7], box + 300) == [0]  # the box jumped away
    new = s.split(7)
    assert new != 7 and s.ids(2, [7], box)[0] == new and s.current(7) == new


def test_evaluate_openset_on_mot17_claims_nobody_else(tmp_path):
    """MOT17-mini, each GT identity registered alone: no box is labelled with it on another person, and it is
    found on nearly every box where the detector sees it."""
    from Algorithm.evaluation.openset_eval import evaluate_openset_mot
    from Algorithm.outer_api import Engine, Settings

    from testdata import MOT

    res = evaluate_openset_mot(MOT, lambda p: Engine(p, Settings(keep_frames=False)))
    print(f"openset MOT17-mini: precision {res.precision}, recall among detected {res.mot.recall_given_detected}, "
          f"false claims on others {res.mot.fp_on_strangers}, other wrong boxes {res.mot.fp - res.mot.fp_on_strangers}")
    assert len(res.identities) >= 40
    assert res.mot.fp_on_strangers == 0
    assert res.mot.recall_given_detected >= 0.95
    assert res.precision >= 0.98


def test_evaluate_openset_with_a_labels_file(tmp_path):
    """The CLI on a video and a small labels file: each person registered alone, frames scored, JSON written."""
    import json
    import subprocess
    import sys

    labels = tmp_path / "labels ñ.json"
    labels.write_text(json.dumps({"video": str(PED_VIDEO), "people": [
        {"label": "grey-cardigan", "frame": 120, "in_view": [[60, 205]]},
        {"label": "black-jacket", "frame": 300, "in_view": [[225, 450]]}]}), encoding="utf-8")
    out = tmp_path / "openset.json"
    r = subprocess.run([sys.executable, "-m", "Algorithm", "evaluate", "openset", str(labels), "--labels",
                        "--sample-ft", "3", "--max-frames", "460", "--out", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    rows = {i["label"]: i for i in data["identities"]}
    assert set(rows) == {"grey-cardigan", "black-jacket"}
    assert data["wrong"] == 0 and data["false_sightings"] == 0, r.stdout
    assert rows["black-jacket"]["right"] >= 0.9 * rows["black-jacket"]["in_view"], rows
    assert rows["grey-cardigan"]["right"] >= 0.85 * rows["grey-cardigan"]["in_view"], rows
    assert "precision 1.000" in r.stdout


def test_labels_file_errors_are_explained(tmp_path):
    import pytest

    from Algorithm.errors import InputError
    from Algorithm.evaluation.openset_eval import read_labels

    bad = tmp_path / "labels.json"
    bad.write_text('{"video": "x.mp4"}', encoding="utf-8")
    with pytest.raises(InputError, match="people"):
        read_labels(bad)
    bad.write_text('{"video": "x.mp4", "people": []}', encoding="utf-8")
    with pytest.raises(InputError, match="names nobody"):
        read_labels(bad)


def test_closed_set_on_mot17_keeps_its_precision_and_recall():
    """Everyone registered (evaluate tracks): the open-set work must not cost the closed set."""
    from Algorithm.evaluation.tracks_eval import evaluate_tracks
    from Algorithm.outer_api import Engine, Settings

    from testdata import MOT

    probe = Engine(None, Settings(keep_frames=False))
    threshold = probe.default_threshold("person")
    probe.close()
    res = evaluate_tracks(MOT, lambda p: Engine(p, Settings(keep_frames=False)), threshold)
    o = res.overall
    print(f"closed set MOT17-mini at {threshold}: precision {o.precision}, recall among detected {o.recall_given_detected}")
    # 114 of 178 right with the INT8 detector and with its float copy; among detected 0.966 and 0.958 only because the
    # copy detects one more of the 178 (119 against 118), so recall is held in absolute terms too
    assert o.precision >= 0.98 and o.recall >= 0.635 and o.recall_given_detected >= 0.95
