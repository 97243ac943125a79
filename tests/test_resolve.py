"""Track-level identities: live decisions use each track's closest view so far; the end result gives every
frame of a track its final identity, one box per identity and frame."""
from __future__ import annotations

from Algorithm.pipeline.resolve import TrackResolver
from Algorithm.types import BoxResult, Hit, Match


def box(track, match=None, x=0):
    return BoxResult((x, 0, x + 10, 20), 0.9, "person", track, match)


def test_a_track_keeps_its_closest_identity_and_resolves_whole():
    r = TrackResolver({"person": 0.25})
    r.observe(5, "person", 0, [Hit(1, 0.30, 10), Hit(2, 0.40, 20)])
    assert not r.settled(5)  # nothing under the threshold yet
    r.add(0, 0.0, [box(5)])
    r.observe(5, "person", 1, [Hit(1, 0.12, 11)])  # a better view
    assert r.settled(5) and [h.identity_id for h in r.best_hits(5)] == [1, 2]
    assert r.best_hits(5)[0].distance == 0.12
    r.add(1, 0.1, [box(5, Match(1, "A", 0.12))])
    r.observe(5, "person", 2, [Hit(1, 0.28, 10)])  # a worse view later does not undo it
    assert r.best_hits(5)[0].distance == 0.12
    r.add(2, 0.2, [box(5)])
    frames, sightings = r.resolve("v.mp4", {1: "A", 2: "B"}, 3, max_gap_s=1.0)
    # Every frame of the track, the one before the good view too, carries A.
    assert [f.frame_index for f in frames] == [0, 1, 2]
    assert all(f.boxes[0].match.label == "A" for f in frames)
    (s,) = sightings
    assert (s.label, s.segments[0].start_frame, s.segments[0].end_frame, s.segments[0].best_distance) == ("A", 0, 2, 0.12)


def test_one_box_per_identity_per_frame_and_deleted_identities_dropped():
    r = TrackResolver({"person": 0.25})
    r.observe(1, "person", 0, [Hit(7, 0.10, 1)])
    r.observe(2, "person", 0, [Hit(7, 0.20, 1), Hit(8, 0.22, 2)])
    r.add(0, 0.0, [box(1), box(2, x=50)])
    frames, _ = r.resolve("v.mp4", {7: "A", 8: "B"}, 1, 1.0)
    (f,) = frames
    assert [(b.track_id, b.match.label) for b in f.boxes] == [(1, "A")]  # track 2's best is A too: the closer wins
    r.retain({8})  # A was deleted from the gallery during the run
    assert [h.identity_id for h in r.best_hits(2)] == [8] and r.best_hits(1) == []
    frames, _ = r.resolve("v.mp4", {8: "B"}, 1, 1.0)
    assert [(b.track_id, b.match.label) for b in frames[0].boxes] == [(2, "B")]


def test_unmatched_tracks_are_forgotten_when_they_end():
    r = TrackResolver({"person": 0.25}, forget_frames=10)
    r.observe(1, "person", 0, [Hit(7, 0.5, 1)])
    r.add(0, 0.0, [box(1)])
    r.observe(2, "person", 0, [Hit(7, 0.1, 1)])
    r.add(0, 0.0, [box(2)])
    r.add(50, 5.0, [])
    assert set(r.tracks) == {2}  # memory follows what matched, not the video's length
