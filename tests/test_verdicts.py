"""Confirm / reject: a rejected track is never given that identity again (this run's results, a later run of the
same file, the footage index), its views are negative examples elsewhere; verdicts are stored and can be undone."""
from __future__ import annotations

import shutil

import pytest

from Algorithm.outer_api import Engine, Settings

from testdata import PED_VIDEO, video_frame

FRAMES = 460  # grey-cardigan in view at 60-205, black-jacket at 225-450
LOOSE = 0.75  # loose enough that grey-cardigan (0.71 from the photo) is taken for black-jacket: the mistake to correct


def labelled(res, label="black-jacket"):
    return sorted(f.frame_index for f in res.frames for b in f.matches if b.match.label == label)


@pytest.fixture
def eng(tmp_path):
    e = Engine(tmp_path / "g.db", Settings(keep_frames=False, sample_ft=3, threshold=LOOSE))
    e.register(video_frame(PED_VIDEO, 300), "black-jacket")
    yield e
    e.close()


def test_a_rejected_track_is_never_that_identity_again(eng, tmp_path):
    first = eng.search_all(PED_VIDEO, max_frames=FRAMES)
    (res,) = first.files
    wrong = [f for f in labelled(res) if f < 215]
    assert wrong, "at this loose threshold grey-cardigan should be taken for black-jacket"
    bj = res.sightings[0].identity_id
    track = next(b.track_id for f in res.frames if f.frame_index == wrong[0] for b in f.matches)
    v = eng.reject(res, bj, track_id=track)
    assert v.verdict == "reject" and v.label == "black-jacket" and v.start_frame <= wrong[0] and v.thumbnail

    shown = eng.apply_verdicts(first).files[0]  # this run: taken out at once
    assert [f for f in labelled(shown) if f < 215] == [] and labelled(shown) == [f for f in labelled(res) if f >= 215]
    assert all(g.start_frame >= 215 for s in shown.sightings for g in s.segments)

    again = eng.search_file(PED_VIDEO, max_frames=FRAMES)  # a later run of the same file
    assert [f for f in labelled(again) if f < 215] == []
    assert len([f for f in labelled(again) if f >= 225]) >= 0.9 * len([f for f in labelled(res) if f >= 225])

    found = eng.find(["black-jacket"]).files[0]  # the footage index (the first search indexed the file)
    assert [f for f in labelled(found) if f < 215] == [] and labelled(found)

    copy = tmp_path / "copy.mp4"  # another file: the rejected views are negative examples of black-jacket
    shutil.copyfile(PED_VIDEO, copy)
    elsewhere = eng.search_file(copy, max_frames=FRAMES)
    assert [f for f in labelled(elsewhere) if f < 215] == []

    eng.undo_verdict(v.id)
    assert eng.verdicts() == []
    undone = eng.search_file(PED_VIDEO, max_frames=FRAMES)
    assert [f for f in labelled(undone) if f < 215], "undoing the verdict gives the track back its old identity"


def test_confirm_adds_a_photo_and_verdicts_follow_a_merge(eng):
    res = eng.search_file(PED_VIDEO, max_frames=FRAMES, settings=eng.settings.with_(threshold=0.35))
    bj = res.sightings[0].identity_id
    seg = res.sightings[0].segments[0]
    v = eng.confirm(res, bj, segment=seg, add_photo=True)
    assert v.verdict == "confirm" and seg.start_frame <= v.start_frame <= v.end_frame <= seg.end_frame
    assert eng.identities()[0].n_entries == 2
    eng.register(video_frame(PED_VIDEO, 120), "grey-cardigan")
    gc = next(i.id for i in eng.identities() if i.label == "grey-cardigan")
    eng.merge_identities(gc, bj)
    (moved,) = eng.verdicts()
    assert moved.identity_id == gc and moved.label == "grey-cardigan"
    with pytest.raises(Exception, match="nothing to confirm or reject"):
        eng.reject(res, 99999)
