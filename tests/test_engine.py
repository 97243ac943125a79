"""The engine end to end on real models and data, through Algorithm.outer_api only."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from Algorithm.geometry import iou
from Algorithm.outer_api import Engine, GalleryError, Settings, WrongCategoryError, export_csv, export_json

from testdata import BUS, MARKET, MOT, PED_VIDEO, video_frame


def load_gt(seq):
    gt = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",")
    return gt[(gt[:, 6] == 1) & (gt[:, 7] == 1)]


def gt_box(gt, frame: int, pid: int):
    r = gt[(gt[:, 0] == frame) & (gt[:, 1] == pid)]
    if not len(r):
        return None
    x, y, w, h = r[0, 2:6]
    return (x, y, x + w, y + h)


def test_detector_finds_the_four_people_and_the_bus(engine):
    det = engine.detect(BUS, ["person", "vehicle"]).detections
    people = [i for i, c in enumerate(det.category) if c == "person"]
    vehicles = [i for i, c in enumerate(det.category) if c == "vehicle"]
    assert len(people) == 4
    assert len(vehicles) == 1 and det.cls[vehicles[0]] == 5  # COCO 5 = bus
    bus = det.xyxy[vehicles[0]]
    assert (bus[2] - bus[0]) > 600  # the bus spans most of the photo's width
    # People only, when only people are asked for.
    assert engine.detect(BUS, ["person"]).detections.category == ["person"] * 4


@pytest.mark.parametrize("seq_name,pids", [("MOT17-11-FRCNN", [1, 3, 4]), ("MOT17-09-FRCNN", [1])])
def test_registered_mot_people_are_found_in_later_frames_and_nobody_else(engine, seq_name, pids):
    seq = MOT / seq_name
    gt = load_gt(seq)
    frames = sorted((seq / "img1").glob("*.jpg"))
    for pid in pids:
        engine.register(frames[0], f"pid{pid}", box=gt_box(gt, 1, pid))
    found = {pid: 0 for pid in pids}
    for f in frames[1:]:
        fi = int(f.stem)
        res = engine.search_file(f)
        for fr in res.frames:
            for b in fr.matches:
                pid = int(b.match.label[3:])
                truth = gt_box(gt, fi, pid)
                assert truth is not None and iou(b.box, truth) >= 0.5, (fi, b.match.label, b.box, truth)
                found[pid] += 1
    for pid in pids:  # each person is found in (nearly) every later frame
        assert found[pid] >= len(frames) - 2, found


def test_other_people_stay_farther_than_the_threshold(engine):
    seq = MOT / "MOT17-11-FRCNN"
    gt = load_gt(seq)
    for pid in (1, 3, 4):
        engine.register(seq / "img1" / "000001.jpg", f"pid{pid}", box=gt_box(gt, 1, pid))
    ext = engine.extractor("person")
    _, _, gallery = engine._gallery.features(ext.spec.name, "person")
    crops = [engine.detect(p).image for p in sorted(MARKET.glob("*.jpg"))]
    assert len(crops) == 5
    dist = 1 - ext(crops) @ gallery.T
    assert dist.min() > engine.threshold("person"), dist.round(3)
    for p in sorted(MARKET.glob("*.jpg")):  # and the full search path agrees
        assert engine.search_file(p).frames == []


@pytest.fixture(scope="module")
def video_run(tmp_path_factory):
    """One tracked run over the first 460 frames of the pedestrian video with two registered walkers (exact: the
    detector on every frame, so the track cache is measured against every box; tests/test_speed.py covers the rest)."""
    eng = Engine(tmp_path_factory.mktemp("video") / "gallery.db", Settings(keep_frames=False, speed="exact"))
    eng.register(video_frame(PED_VIDEO, 300), "Walker300")
    eng.register(video_frame(PED_VIDEO, 100), "Walker100")
    res = eng.search_file(PED_VIDEO, max_frames=460)
    yield eng, res
    eng.close()


def test_video_sightings_cover_the_registered_frames(video_run):
    _, res = video_run
    by_label = {s.label: s for s in res.sightings}
    assert set(by_label) == {"Walker100", "Walker300"}
    for label, frame in (("Walker100", 100), ("Walker300", 300)):
        segs = by_label[label].segments
        assert any(g.start_frame <= frame <= g.end_frame for g in segs), segs
        assert all(g.best_distance < 0.25 for g in segs)
    # The two people walk through at different times: their segments do not overlap.
    a, b = by_label["Walker100"].segments[0], by_label["Walker300"].segments[0]
    assert a.end_frame < b.start_frame


def test_track_cache_embeds_far_fewer_crops_than_boxes(video_run):
    _, res = video_run
    st = res.stats
    ratio = st.reid_crops / max(st.detections, 1)
    print(f"\nReID crops {st.reid_crops} / detected boxes {st.detections} = {ratio:.3f}; tracks {st.tracks}, "
          f"crops per track {st.reid_crops / max(st.tracks, 1):.2f}")
    assert st.detections > 300
    assert ratio < 0.1
    assert st.reid_crops / max(st.tracks, 1) <= 4


def test_sightings_export_to_json_and_csv(video_run, tmp_path):
    eng, res = video_run
    from Algorithm.outer_api import SearchReport

    report = SearchReport(str(PED_VIDEO), files=[res])
    data = json.loads(export_json(report, tmp_path / "r.json").read_text(encoding="utf-8"))
    (f,) = data["files"]
    assert f["type"] == "video" and f["fps"] == 10 and f["width"] == 768
    matched = [m for fr in f["frames"] for m in fr["matches"]]
    thr = eng.threshold("person")
    assert matched and all(len(m["box"]) == 4 and m["label"] and 0 <= m["distance"] < thr for m in matched)
    # Boxes are in pixels of the original frame.
    assert all(0 <= m["box"][0] < m["box"][2] <= 768 and 0 <= m["box"][1] < m["box"][3] <= 432 for m in matched)
    assert {s["label"] for s in f["sightings"]} == {"Walker100", "Walker300"}
    rows = list(csv.DictReader(open(export_csv(report, tmp_path / "r.csv"), encoding="utf-8-sig")))
    assert len(rows) == sum(len(s["segments"]) for s in f["sightings"])
    assert {r["label"] for r in rows} == {"Walker100", "Walker300"}
    assert all(float(r["start_time"]) <= float(r["end_time"]) for r in rows)
    for name, export in (("taken.json", export_json), ("taken.csv", export_csv)):  # the name is a folder's
        (tmp_path / name).mkdir()
        with pytest.raises(OSError):
            export(report, tmp_path / name)
        assert not (tmp_path / f"{name}.part").exists()  # a failed export leaves no stray file


def _signature(eng: Engine, path):
    res = eng.search_file(path)
    return [(b.match.label, round(b.match.distance, 5), tuple(round(v) for v in b.box)) for fr in res.frames for b in fr.matches]


def test_gallery_survives_a_restart_with_the_same_results(tmp_path):
    seq = MOT / "MOT17-11-FRCNN"
    gt = load_gt(seq)
    path = tmp_path / "gallery.db"
    eng = Engine(path, Settings(keep_frames=False))
    for pid in (1, 3):
        eng.register(seq / "img1" / "000001.jpg", f"pid{pid}", box=gt_box(gt, 1, pid))
    before = ([(i.label, i.category, i.n_entries) for i in eng.identities()], _signature(eng, seq / "img1" / "000004.jpg"))
    eng.close()
    eng2 = Engine(path, Settings(keep_frames=False))
    after = ([(i.label, i.category, i.n_entries) for i in eng2.identities()], _signature(eng2, seq / "img1" / "000004.jpg"))
    eng2.close()
    assert before == after
    assert len(before[1]) == 2


def test_deleted_entries_are_never_returned(engine):
    seq = MOT / "MOT17-11-FRCNN"
    gt = load_gt(seq)
    img1 = seq / "img1" / "000001.jpg"
    first = engine.register(img1, "pid1", box=gt_box(gt, 1, 1))
    second = engine.register(seq / "img1" / "000002.jpg", "pid1", box=gt_box(gt, 2, 1))
    assert second.identity_id == first.identity_id and not second.new_identity
    query = seq / "img1" / "000003.jpg"

    def entries_hit():
        return {b.match.entry_id for fr in engine.search_file(query).frames for b in fr.matches}

    assert entries_hit() <= {first.entry_id, second.entry_id} and entries_hit()
    assert engine.delete_entry(second.entry_id) is False  # identity keeps its other photo
    assert entries_hit() == {first.entry_id}
    assert engine.delete_entry(first.entry_id) is True  # last photo: the identity goes too
    assert entries_hit() == set()
    assert engine.identities() == []


def test_labels_are_unique_and_edits_are_checked(engine):
    seq = MOT / "MOT17-11-FRCNN"
    gt = load_gt(seq)
    a = engine.register(seq / "img1" / "000001.jpg", "Alice", box=gt_box(gt, 1, 1))
    b = engine.register(seq / "img1" / "000001.jpg", "Bob", box=gt_box(gt, 1, 3))
    with pytest.raises(GalleryError, match="already used"):
        engine.rename(b.identity_id, "alice")  # labels compare case-insensitively
    with pytest.raises(WrongCategoryError, match="The chosen box is a person"):  # a person's box is no vehicle
        engine.register(seq / "img1" / "000001.jpg", "Alice", category="vehicle", box=gt_box(gt, 1, 4))
    with pytest.raises(GalleryError, match="already registered as a person"):  # a box the detector sees nothing in
        engine.register(seq / "img1" / "000001.jpg", "Alice", category="vehicle", box=(0, 0, 120, 90))
    with pytest.raises(GalleryError, match="empty"):
        engine.rename(a.identity_id, "   ")
    engine.rename(a.identity_id, "Alice Smith")
    assert engine.labels() == ["Alice Smith", "Bob"]
    engine.delete_identity(b.identity_id)
    assert [i.label for i in engine.identities()] == ["Alice Smith"]


def test_register_needs_a_choice_when_the_photo_shows_several_people(engine):
    from Algorithm.outer_api import InputError

    with pytest.raises(InputError, match="4 persons were found"):
        engine.register(BUS, "Someone")
    det = engine.detect(BUS, ["person"]).detections
    r = engine.register(BUS, "Someone", box=det.xyxy[0])
    assert r.new_identity and not r.whole_image
    assert engine.identities()[0].n_entries == 1


def test_a_tight_crop_with_nobody_detected_is_registered_whole(engine, tmp_path):
    # Market-1501 crops are 64x128 people: registered as they are, found again by the crop itself.
    crop = sorted(MARKET.glob("*.jpg"))[0]
    r = engine.register(crop, "Market", whole=False)
    assert r.box[0] <= 8 and r.box[2] >= 56  # detector box or the whole crop, either covers the person
    r2 = engine.register(crop, "Market2", whole=True)
    assert r2.whole_image and r2.box == (0.0, 0.0, 64.0, 128.0)


def test_cuda_asked_for_without_a_gpu_runs_on_the_cpu_and_says_so(tmp_path):
    from Algorithm.outer_api import device_options

    if next(o for o in device_options() if o.name == "cuda").available:
        pytest.skip("this machine has a usable GPU: CUDA is not refused here")
    eng = Engine(tmp_path / "g.db", Settings(device="cuda", keep_frames=False))
    assert "CUDA is not available" in eng.device_caution() and "running on the CPU" in eng.device_caution()
    report = eng.search_all(BUS)
    assert report.settings.device == "cpu" and report.settings_json()["device"] == "cpu"  # what the run used
    assert Engine(tmp_path / "h.db", Settings(device="cpu")).device_caution() == ""
    eng.close()
