"""Bad input gets a clear error and changes nothing; non-ASCII paths just work."""
from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from Algorithm.models.registry import load_registry
from Algorithm.outer_api import Engine, InputError, ModelError, NothingFoundError, Settings, write_image

from testdata import ASSETS, BUS, MOT, PED_VIDEO


@pytest.fixture
def seeded(engine):
    det = engine.detect(BUS, ["person"]).detections
    engine.register(BUS, "BusPerson", box=det.xyxy[0])
    return engine


def _state(eng):
    return eng._gallery.revision(), [(i.label, i.n_entries) for i in eng.identities()]


def test_missing_file(seeded, tmp_path):
    before = _state(seeded)
    with pytest.raises(InputError, match="not found"):
        seeded.register(tmp_path / "nope.jpg", "X")
    with pytest.raises(InputError, match="not found"):
        seeded.search_file(tmp_path / "nope.mp4")
    assert _state(seeded) == before


def test_text_file_named_jpg(seeded, tmp_path):
    fake = tmp_path / "photo.jpg"
    fake.write_text("this is not a picture", encoding="utf-8")
    before = _state(seeded)
    with pytest.raises(InputError, match="Not a readable image"):
        seeded.register(fake, "X")
    with pytest.raises(InputError, match="Not a readable image"):
        seeded.search_file(fake)
    assert _state(seeded) == before


@pytest.mark.parametrize("size", [0, 20_000])
def test_empty_or_truncated_video(seeded, tmp_path, size):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(PED_VIDEO.read_bytes()[:size])
    before = _state(seeded)
    with pytest.raises(InputError, match="empty|Not a readable video|no decodable frame"):
        seeded.search_file(bad)
    assert _state(seeded) == before


def test_folder_run_reports_bad_files_and_goes_on(seeded, tmp_path):
    (tmp_path / "notes.txt").write_text("unrelated", encoding="utf-8")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "empty.mp4").write_bytes(b"")
    shutil.copy(BUS, tmp_path / "z_bus.jpg")
    report = seeded.search_all(tmp_path)
    by_name = {r.path.split("/")[-1].split("\\")[-1]: r for r in report.files}
    assert set(by_name) == {"broken.jpg", "empty.mp4", "z_bus.jpg"}  # the .txt is not media
    assert by_name["broken.jpg"].error and by_name["empty.mp4"].error
    assert by_name["z_bus.jpg"].error is None
    assert [b.match.label for fr in by_name["z_bus.jpg"].frames for b in fr.matches] == ["BusPerson"]


def test_non_ascii_paths_with_spaces_work(engine, tmp_path):
    folder = tmp_path / "监控 录像" / "Überwachung été"
    folder.mkdir(parents=True)
    photo = folder / "公交 车.jpg"
    video = folder / "行人 视频.mp4"
    shutil.copy(BUS, photo)
    shutil.copy(PED_VIDEO, video)
    det = engine.detect(photo, ["person"]).detections
    assert len(det) == 4
    r = engine.register(photo, "Étienne 王", box=det.xyxy[1])
    assert r.new_identity and "公交 车.jpg" in engine.entries(r.identity_id)[0].source
    res = engine.search_file(photo)
    assert [b.match.label for fr in res.frames for b in fr.matches] == ["Étienne 王"]
    vres = engine.search_file(video, max_frames=5)
    assert vres.stats.frames_processed == 5 and vres.error is None
    out = folder / "导出 结果.png"
    write_image(out, engine.detect(photo).image)
    assert out.stat().st_size > 1000


def test_photo_with_nobody_in_it(seeded, tmp_path):
    empty = tmp_path / "wall.png"
    grad = np.tile(np.linspace(40, 200, 900, dtype=np.uint8), (700, 1))
    write_image(empty, np.dstack([grad, grad, grad]))
    before = _state(seeded)
    with pytest.raises(NothingFoundError, match="No person was found"):
        seeded.register(empty, "Ghost")
    assert _state(seeded) == before


def test_missing_model_file_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("REID_MODELS_DIR")
    reg = load_registry()
    reg.reid["person"] = "osnet_x0_25_msmt17"  # an ONNX model: its file is what goes missing here
    spec = reg.models["osnet_x0_25_msmt17"]
    reg.models[spec.name] = dataclasses.replace(spec, file="reid_person/not_there.onnx")
    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False), registry=reg)
    with pytest.raises(ModelError, match="not_there.onnx"):
        eng.extractor("person")
    eng.close()


def test_wrong_shaped_and_corrupt_models_are_refused(tmp_path):
    reg = load_registry()
    reg.reid["person"] = "osnet_x0_25_msmt17"  # the ONNX model, replaced by wrong and damaged files below
    spec = reg.models["osnet_x0_25_msmt17"]
    # A detector file where a ReID model is expected: wrong input size and output shape.
    reg.models[spec.name] = dataclasses.replace(spec, file=str(ASSETS / "models/detection/yolov8n_int8.onnx"), sha256="")
    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False), registry=reg)
    with pytest.raises(ModelError, match="osnet_x0_25_msmt17"):
        eng.extractor("person")
    eng.close()
    # A damaged copy of the real file: refused by its sha256 before ONNX Runtime sees it.
    broken = tmp_path / "osnet.onnx"
    data = bytearray((ASSETS / "models" / spec.file).read_bytes())
    data[5000] ^= 0xFF
    broken.write_bytes(bytes(data))
    reg.models[spec.name] = dataclasses.replace(spec, file=str(broken))
    eng = Engine(tmp_path / "g2.db", Settings(keep_frames=False), registry=reg)
    with pytest.raises(ModelError, match="corrupt"):
        eng.register(MOT / "MOT17-11-FRCNN" / "img1" / "000001.jpg", "X", box=(867, 145, 1103, 780))
    assert eng.identities() == []
    eng.close()
