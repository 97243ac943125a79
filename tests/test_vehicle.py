"""Vehicles: registered from one frame of the traffic video, found again later with the configured vehicle model."""
from __future__ import annotations

from Algorithm.outer_api import Engine, Settings, read_video_frame

from testdata import ASSETS

TRAFFIC = ASSETS / "videos" / "traffic" / "bgslibrary_video03.avi"
CAR_A = (101, 87, 160, 143)  # a car at frame 420, driving towards the bottom-left corner
CAR_B = (161, 48, 197, 80)  # another car, at frame 300


def test_a_registered_car_is_found_again_on_its_own_track(tmp_path):
    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False, categories=("vehicle",)))
    model = eng.model_summary().reid["vehicle"]
    assert model.model and model.stand_in  # a model serves vehicles, and the app can say it is a stand-in
    eng.register(read_video_frame(TRAFFIC, 420), "Car A", category="vehicle", box=CAR_A)
    eng.register(read_video_frame(TRAFFIC, 300), "Car B", category="vehicle", box=CAR_B)
    assert {i.category for i in eng.identities()} == {"vehicle"}

    res = eng.search_file(TRAFFIC, start_frame=330, max_frames=140)  # frames 330..469, tracked
    assert res.stats.frames_processed == 140
    hits = {}
    for fr in res.frames:
        for b in fr.matches:
            hits.setdefault(b.match.label, []).append((fr.frame_index, b.track_id, b.box))
    later = [h for h in hits.get("Car A", []) if h[0] > 420]
    assert len(later) >= 20, hits.get("Car A")
    tracks = {t for _, t, _ in later}
    assert len(tracks) == 1  # always the same car...
    (track,) = tracks
    # ...the one registered: its track holds the registered box at frame 420.
    at_420 = [b for f, t, b in hits["Car A"] if f == 420]
    assert at_420 and all(abs(a - b) < 8 for a, b in zip(at_420[0], CAR_A))
    assert all(t != track for _, t, _ in hits.get("Car B", []))  # and Car B is never given that car
    (sighting,) = [s for s in res.sightings if s.label == "Car A"]
    assert any(g.start_frame <= 425 and g.end_frame >= 450 for g in sighting.segments)
    eng.close()
