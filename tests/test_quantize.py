"""The INT8 person model, quantised at install from retail-0277 (models/quantize.py): built from a recipe that is
data, refused when it drifts, and as good as its base model on people among strangers."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from Algorithm.errors import ModelError
from Algorithm.models import quantize
from Algorithm.models.provision import provision
from Algorithm.models.registry import load_registry
from Algorithm.pipeline.embed import ReIdExtract

from testdata import ASSETS, MARKET, MOT, PED_VIDEO, mot_gt_boxes, video_frame

INT8 = "person_reidentification_retail_0277_int8"


def _small(spec, **build):
    """The shipped recipe with fewer calibration views (a faster build for tests) and any changes given."""
    recipe = json.loads(json.dumps(spec.build))
    recipe["calibration"]["views"] = 3
    recipe.update(build)
    return dataclasses.replace(spec, build=recipe)


def test_the_int8_model_keeps_the_features_and_the_ranking_of_its_base_model():
    import cv2

    reg = load_registry()
    base = ReIdExtract(reg.get("person_reidentification_retail_0277"), reg.path_of("person_reidentification_retail_0277"))
    int8 = ReIdExtract(reg.get(INT8), reg.path_of(INT8))
    assert int8.dim == 256 and "OpenVINO" in int8.provider
    crops, ids = [cv2.imread(str(p)) for p in sorted(MARKET.glob("*.jpg"))], [p.name[:4] for p in sorted(MARKET.glob("*.jpg"))]
    for seq in sorted(p.name for p in MOT.iterdir()):
        for f in (1, 3):  # two frames of each sequence: every person can find themselves in the other one
            img = cv2.imread(str(MOT / seq / "img1" / f"{f:06d}.jpg"))
            for pid, x1, y1, x2, y2, _ in mot_gt_boxes(seq, f, min_visibility=0.5):
                crops.append(img[y1:y2, x1:x2])
                ids.append(f"{seq}-{pid}")
    fb, fq = base(crops), int8(crops)
    cos = np.sum(fb * fq, axis=1)
    assert cos.mean() >= 0.9, cos.mean()
    ids = np.array(ids)

    def rank1(f):
        d = 1.0 - f @ f.T
        np.fill_diagonal(d, np.inf)
        has_other = np.array([(ids == i).sum() > 1 for i in ids])
        return float(np.mean(ids[np.argmin(d, axis=1)][has_other] == ids[has_other]))

    assert rank1(fq) >= rank1(fb) - 0.01 and rank1(fq) >= 0.95, (rank1(fq), rank1(fb))


def test_the_int8_model_finds_one_person_among_strangers(engine, monkeypatch, tmp_path):
    """The open-set protocol of bench_openset on one person: black-jacket registered alone, found while in view
    (225-450) and nobody else labelled with them."""
    from Algorithm.models import registry

    monkeypatch.setattr(registry, "LOCAL_MANIFEST_PATH", tmp_path / "local_models.json")
    engine.set_active_model("person", INT8)
    engine.update_settings(sample_ft=5)
    engine.register(video_frame(PED_VIDEO, 300), "black-jacket")
    res = engine.search_file(PED_VIDEO)
    labelled = sorted(fr.frame_index for fr in res.frames for b in fr.matches if b.match.label == "black-jacket")
    assert len(labelled) >= 30, labelled
    assert [f for f in labelled if not 225 <= f < 450] == []


def test_a_build_is_kept_while_its_recipe_holds_and_a_drifting_one_is_refused(tmp_path):
    spec = _small(load_registry().get(INT8))
    dest = tmp_path / "models"
    state = provision(spec, ASSETS / "models", dest)
    assert state.startswith("built (INT8") and "18 calibration crops" in state, state
    xml = dest / spec.file
    stamp = json.loads(quantize.stamp_path(xml).read_text(encoding="utf-8"))
    assert stamp["recipe"] == spec.build and stamp["cosine_mean"] >= 0.9
    built = xml.stat().st_mtime_ns
    assert provision(spec, ASSETS / "models", dest) == "present"
    # a recipe whose drift limit cannot be met: refused, and the model already in place is left as it was
    with pytest.raises(ModelError, match="drifts too far"):
        provision(_small(spec, min_cosine=1.01), ASSETS / "models", dest)
    assert xml.stat().st_mtime_ns == built and xml.with_suffix(".bin").is_file()
    assert not [p for p in xml.parent.iterdir() if p.name.startswith(".int8-")]  # no half-built folder left


def test_an_int8_model_without_its_weights_file_is_named_as_missing(tmp_path, monkeypatch):
    """An OpenVINO model is an .xml and a .bin: a built one has no companion list in the manifest, so the .bin is
    checked by its place beside the .xml (a half-copied install says what is missing instead of failing to parse)."""
    import shutil

    from Algorithm.models import registry

    reg = load_registry()
    (tmp_path / "reid_person").mkdir()
    shutil.copy(reg.path_of(INT8), tmp_path / reg.get(INT8).file)
    monkeypatch.setattr(registry, "weight_dirs", lambda: [tmp_path])
    assert reg.is_installed(INT8)
    with pytest.raises(ModelError, match=r"person-reidentification-retail-0277-int8\.bin of '.*_int8' is missing"):
        reg.path_of(INT8)


def test_a_changed_calibration_photo_or_a_missing_quantiser_is_a_clear_error(tmp_path, monkeypatch):
    spec = load_registry().get(INT8)
    recipe = json.loads(json.dumps(spec.build))
    recipe["calibration"]["images"][0]["sha256"] = "0" * 64
    with pytest.raises(ModelError, match="calibration photo .*bus.jpg.* not the expected one"):
        quantize.calibration_crops(recipe)
    crops = quantize.calibration_crops(spec.build)
    assert len(crops) == 6 * spec.build["calibration"]["views"]
    assert all(np.array_equal(a, b) for a, b in zip(crops, quantize.calibration_crops(spec.build)))  # same pixels each time

    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nncf" else real(name, *a))
    with pytest.raises(ModelError, match="`nncf` package is missing"):
        provision(spec, ASSETS / "models", tmp_path / "models")
    assert not (tmp_path / "models" / spec.file).exists()


def test_an_install_that_cannot_build_the_int8_model_still_succeeds(tmp_path, monkeypatch, capsys):
    """The INT8 copy is optional: `models fetch` (the install) says why it was not built and succeeds, since its base
    model serves without it; `models check` likewise."""
    import importlib.util

    from Algorithm.models import provision as prov

    reg = load_registry()
    keep = {n: reg.models[n] for n in ("person_reidentification_retail_0277", INT8)}  # not the whole install
    monkeypatch.setattr(prov, "load_registry", lambda: dataclasses.replace(reg, models=keep))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nncf" else real(name, *a))
    assert prov.main("fetch", ASSETS / "models", tmp_path / "models") == 0
    err = capsys.readouterr().err
    assert f"{INT8}: not built (optional; person_reidentification_retail_0277 works without it)" in err
    assert "nncf" in err and "FAILED" not in err
    assert (tmp_path / "models" / load_registry().get("person_reidentification_retail_0277").file).is_file()
