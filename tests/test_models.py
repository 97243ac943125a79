"""Any ReID model: added from a file with its preprocessing as data, switched per category with re-embedding."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import Algorithm.models.registry as config
from Algorithm.outer_api import Engine, ModelError, Settings

from testdata import ASSETS, MOT, ROOT

OSNET = ASSETS / "models" / "reid_person" / "osnet_x0_25_msmt17.onnx"
FRAME1 = MOT / "MOT17-11-FRCNN" / "img1" / "000001.jpg"
FRAME4 = MOT / "MOT17-11-FRCNN" / "img1" / "000004.jpg"
SPEC = {"title": "OSNet copy", "file": str(OSNET), "input_size": [256, 128], "output_dim": 512, "threshold": 0.25,
        "categories": ["person", "vehicle"]}


@pytest.fixture
def local_config(tmp_path, monkeypatch):
    path = tmp_path / "local_models.json"
    monkeypatch.setattr(config, "LOCAL_MANIFEST_PATH", path)
    return path


def test_added_model_serves_a_category_after_reembedding(tmp_path, local_config):
    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False))
    first = eng.reid_model_name("person")
    eng.register(FRAME1, "P1", box=(867, 145, 1103, 780))
    eng.register(FRAME1, "P3", box=(397, 270, 514, 597))
    info = eng.add_model("osnet_copy", SPEC)
    assert info.dim == 512
    assert "osnet_copy" in json.loads(local_config.read_text(encoding="utf-8"))["models"]
    assert eng.reid_model_name("person") == first  # added, not yet active

    seen = []
    n = eng.set_active_model("person", "osnet_copy", progress=lambda k, t: seen.append((k, t)))
    assert n == 2 and seen[-1] == (2, 2)
    assert eng._registry.reid_for("person").name == "osnet_copy"
    assert eng._gallery.models_in_use() == {first: 2, "osnet_copy": 2}
    # The copy embeds the stored (JPEG) crops as the shipped OSNet does: the same features, up to compression.
    eng.set_active_model("person", "osnet_x0_25_msmt17")
    _, _, old = eng._gallery.features("osnet_x0_25_msmt17", "person")
    _, _, new = eng._gallery.features("osnet_copy", "person")
    assert (np.sum(old * new, axis=1) > 0.97).all()
    eng.set_active_model("person", "osnet_copy")
    labels = sorted(b.match.label for fr in eng.search_file(FRAME4).frames for b in fr.matches)
    assert labels == ["P1", "P3"]
    # Switching again finds nothing left to embed.
    assert eng.set_active_model("person", "osnet_copy") == 0
    eng.close()


def test_features_of_another_model_are_never_compared(tmp_path, local_config):
    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False))
    eng.register(FRAME1, "P1", box=(867, 145, 1103, 780))
    # Same file under other preprocessing (BGR, no mean/std) is another model: its index starts empty.
    eng.add_model("osnet_bgr", {**SPEC, "channel_order": "BGR", "mean": [0, 0, 0], "std": [1, 1, 1]})
    config.update_local_config(active_reid={"person": "osnet_bgr"})
    eng2 = Engine(tmp_path / "g.db", Settings(keep_frames=False))
    assert eng2._registry.reid_for("person").name == "osnet_bgr"
    with pytest.raises(ModelError, match="cannot be compared"):  # the stored feature is from the default person model
        eng2.search_file(FRAME4)
    assert eng2.set_active_model("person", "osnet_bgr") == 1  # re-embedded with the new model: searchable again
    assert eng2.search_file(FRAME4).stats.detections > 0
    eng.close()
    eng2.close()


def test_a_model_that_does_not_fit_its_config_is_not_added(tmp_path, local_config):
    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False))
    with pytest.raises(ModelError, match="input height 224"):
        eng.add_model("bad_size", {**SPEC, "input_size": [224, 224]})
    with pytest.raises(ModelError, match="128-d output"):
        eng.add_model("bad_dim", {**SPEC, "output_dim": 128})
    with pytest.raises(ModelError, match="not found"):
        eng.add_model("missing", {**SPEC, "file": str(tmp_path / "none.onnx")})
    # a name in use (the shipped OSNet here): its stored features were made by the other model and its preprocessing
    with pytest.raises(ModelError, match="exists already"):
        eng.add_model("osnet_x0_25_msmt17", {**SPEC, "mean": [0.5] * 3, "std": [0.5] * 3})
    assert not local_config.exists()
    eng.close()


def test_models_add_and_use_from_the_command_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REID_LOCAL_CONFIG": str(tmp_path / "local.json")}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "Algorithm", "models", *map(str, args)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    r = run("add", OSNET, "--name", "my_osnet", "--threshold", "0.2", "--categories", "vehicle")
    assert r.returncode == 0, r.stderr
    assert "512-d" in r.stdout
    r = run("use", "my_osnet", "--category", "vehicle", "--gallery", tmp_path / "g.db")
    assert r.returncode == 0, r.stderr
    assert "'my_osnet' now serves vehicle; 0 photo(s) re-embedded" in r.stdout
    r = run("list")
    assert any(line.startswith("my_osnet") and "active: vehicle" in line for line in r.stdout.splitlines())
    r = run("add", OSNET, "--name", "x", "--threshold", "0.2", "--input", "oops")
    assert r.returncode == 2 and "--input is HxW" in r.stderr


def test_openvino_model_embeds_the_same_from_several_threads():
    """The OpenVINO person model is shared by a search and a registration running at once: concurrent calls
    must give each caller its own, correct features (one infer request is not thread-safe by itself)."""
    import threading

    from Algorithm.models.registry import load_registry
    from Algorithm.pipeline.embed import ReIdExtract

    reg = load_registry()
    spec = reg.get("person_reidentification_retail_0277")
    ext = ReIdExtract(spec, reg.path_of(spec.name), "cpu")
    assert ext.dim == 256 and "OpenVINO" in ext.provider
    rng = np.random.default_rng(0)
    batches = [[rng.integers(0, 255, (180 + 10 * k, 80, 3), np.uint8) for _ in range(1 + k)] for k in range(4)]
    want = [ext(b) for b in batches]
    wrong = []

    def work(k):
        for _ in range(20):
            try:
                if not np.allclose(ext(batches[k]), want[k], atol=1e-4):
                    wrong.append(k)
            except Exception as e:  # e.g. OpenVINO's "Infer Request is busy" without the lock
                wrong.append(repr(e))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_openvino_model_computes_in_f32_on_every_cpu():
    """OpenVINO would pick bfloat16 where the CPU has it: other features for the same crop on other machines (and
    slower on AVX512-BF16 without AMX). The app asks for f32, so thresholds mean the same everywhere."""
    from Algorithm.models.registry import load_registry
    from Algorithm.pipeline.embed import ReIdExtract

    reg = load_registry()
    spec = reg.get("person_reidentification_retail_0277")
    ext = ReIdExtract(spec, reg.path_of(spec.name), "cpu")
    assert ext.sess.precision == "f32"


def test_a_stopped_run_goes_on_only_with_the_models_it_ran_with(tmp_path, monkeypatch):
    from Algorithm.outer_api import Finished

    from testdata import PED_VIDEO, video_frame

    monkeypatch.setattr(config, "LOCAL_MANIFEST_PATH", tmp_path / "local_models.json")
    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False, index_footage=False, sample_ft=5))
    eng.register(video_frame(PED_VIDEO, 300), "black-jacket")
    events = []
    for ev in eng.search(PED_VIDEO, cancel=lambda: len(events) >= 20):  # the user stops it
        events.append(ev)
    report = events[-1].report
    assert report.files[0].stopped
    first = eng.reid_model_name("person")
    eng.set_active_model("person", "osnet_x0_25_msmt17")
    with pytest.raises(ModelError, match="its models changed since it stopped"):
        next(iter(eng.resume(report)))
    eng.set_active_model("person", first)  # back to the run's model: it goes on
    done = next(ev.report for ev in eng.resume(report, max_frames=200) if isinstance(ev, Finished))
    assert not done.files[0].stopped and done.files[0].stats.frames_processed > report.files[0].stats.frames_processed
    eng.close()
