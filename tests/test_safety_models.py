"""Issue #6, model safety: a missing, corrupt or wrong-shaped model, or a gallery whose features came
from another ReID model, is detected and explained (ModelError with what to do), and features of
different models are never compared.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from Algorithm.errors import ModelError
from Algorithm.media import read_image
from Algorithm.models.registry import Registry, load_registry
from Algorithm.storage.gallery import Gallery

from testdata import ASSETS, BUS, MARKET, ROOT

PERSON_CROP = sorted(MARKET.glob("*.jpg"))[0]
OTHER_CROP = sorted(MARKET.glob("*.jpg"))[1]


# These tests damage, reshape and mix ONNX model files: they run with the ONNX OSNet serving people.
ONNX_PERSON = "osnet_x0_25_msmt17"


def onnx_registry() -> Registry:
    reg = load_registry()
    return Registry(reg.models, reg.detector, {**reg.reid, "person": ONNX_PERSON})


@pytest.fixture(scope="module")
def registry() -> Registry:
    return onnx_registry()


def _registry_with(reg: Registry, which: str, **changes) -> Registry:
    """The registry with one model's spec changed (`which`: 'reid' or 'detector')."""
    name = reg.reid["person"] if which == "reid" else reg.detector
    models = dict(reg.models)
    models[name] = dataclasses.replace(models[name], **changes)
    return Registry(models, reg.detector, dict(reg.reid))


def _engine(tmp_path, reg):
    from Algorithm.outer_api import Engine, Settings

    return Engine(tmp_path / "gallery.db", Settings(keep_frames=False), registry=reg)


def _copy(src_name: str, reg: Registry, dest: Path) -> Path:
    """A private copy of a model file (its own path, so no model loaded by another test is reused)."""
    src = reg.path_of(src_name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


# -- missing, corrupt, wrong-shaped files -------------------------------------------------------------
def test_missing_reid_model_is_explained(tmp_path, registry):
    reg = _registry_with(registry, "reid", file=str(tmp_path / "models" / "gone.onnx"))
    eng = _engine(tmp_path, reg)
    with pytest.raises(ModelError) as e:
        eng.register(PERSON_CROP, "Anna", whole=True)
    msg = str(e.value)
    assert "missing" in msg and "gone.onnx" in msg and "install" in msg
    assert eng.identities() == []  # nothing half-registered


def test_missing_model_in_the_manifest_folders_is_explained(tmp_path, registry, monkeypatch):
    monkeypatch.setenv("REID_MODELS_DIR", str(tmp_path / "empty models dir"))
    monkeypatch.setattr("Algorithm.models.registry.MODELS_DIR", tmp_path / "no project models")
    with pytest.raises(ModelError, match="is missing: .*Looked in: .*empty models dir"):
        registry.path_of(registry.reid["person"])


def test_corrupt_model_fails_its_sha256_check(tmp_path, registry):
    name = registry.reid["person"]
    bad = _copy(name, registry, tmp_path / "models" / "osnet_flipped.onnx")
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the weights
    bad.write_bytes(bytes(data))
    reg = _registry_with(registry, "reid", file=str(bad))
    with pytest.raises(ModelError) as e:
        _engine(tmp_path, reg).register(PERSON_CROP, "Anna", whole=True)
    assert "corrupt" in str(e.value) and str(bad) in str(e.value) and "install" in str(e.value)


def test_garbage_model_without_a_checksum_is_explained(tmp_path, registry):
    bad = tmp_path / "models" / "garbage.onnx"
    bad.parent.mkdir()
    bad.write_bytes(b"\x08\x07" + os.urandom(5000))
    reg = _registry_with(registry, "reid", file=str(bad), sha256="")
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        _engine(tmp_path, reg).register(PERSON_CROP, "Anna", whole=True)


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({"input_size": (128, 64)}, "the config says input height 128, the file says 256"),
        ({"output_dim": 256}, "the config says 256-d output, the file gives 512-d"),
        ({"use_detector_file": True}, "the config says input height 256, the file says 640"),
    ],
)
def test_wrong_shaped_reid_model_is_explained(tmp_path, registry, changes, expected):
    name = registry.reid["person"]
    changes = dict(changes)
    if changes.pop("use_detector_file", False):
        f = _copy(registry.detector, registry, tmp_path / "models" / "a_detector.onnx")
    else:
        f = _copy(name, registry, tmp_path / "models" / f"osnet_{len(changes)}_{abs(hash(str(changes)))}.onnx")
    reg = _registry_with(registry, "reid", file=str(f), sha256="", **changes)
    with pytest.raises(ModelError) as e:
        _engine(tmp_path, reg).register(PERSON_CROP, "Anna", whole=True)
    assert expected in str(e.value) and name in str(e.value)


def test_wrong_shaped_detector_is_a_model_error(tmp_path, registry):
    f = _copy(registry.reid["person"], registry, tmp_path / "models" / "reid_as_detector.onnx")
    reg = _registry_with(registry, "detector", file=str(f), sha256="")
    eng = _engine(tmp_path, reg)
    with pytest.raises(ModelError) as e:
        eng.search_all(BUS)
    assert "detector" in str(e.value).lower()


# -- gallery features from another model --------------------------------------------------------------
@pytest.fixture(scope="module")
def real_engine(tmp_path_factory):
    from Algorithm.outer_api import Engine, Settings

    eng = Engine(tmp_path_factory.mktemp("models") / "gallery.db", Settings(keep_frames=False), registry=onnx_registry())
    eng.detector()
    yield eng
    eng.close()


def _fresh(real_engine, tmp_path):
    """An engine on a new gallery sharing the loaded models (cheap)."""
    from Algorithm.outer_api import Engine, Settings

    return Engine(tmp_path / "g.db", Settings(keep_frames=False), registry=real_engine._registry)


def test_photos_embedded_by_another_model_are_detected_and_explained(tmp_path, real_engine):
    eng = _fresh(real_engine, tmp_path)
    active = eng._registry.reid_for("person").name
    eng.register(PERSON_CROP, "Anna", whole=True)
    rng = np.random.default_rng(0)
    for k in range(3):  # photos a previous app version stored with its (different) ReID model
        v = rng.standard_normal(512).astype(np.float32)
        eng._gallery.add_entry(f"Old {k}", "person", b"jpeg", "resnet50_old_reid", v / np.linalg.norm(v))
    with pytest.raises(ModelError) as e:
        eng.search_all(BUS)  # raised where features would be compared: when a person is found
    msg = str(e.value)
    assert "3 person photo(s)" in msg and "'resnet50_old_reid'" in msg and f"'{active}'" in msg
    assert "cannot be compared" in msg
    # vehicles are another index: unaffected
    assert eng._index.get(active, "vehicle").size == 0


def test_same_model_name_with_another_dimension_is_explained(tmp_path, real_engine):
    eng = _fresh(real_engine, tmp_path)
    active = eng._registry.reid_for("person").name
    v = np.ones(256, np.float32) / 16
    eng._gallery.add_entry("Anna", "person", b"jpeg", active, v)  # a 256-d feature under the 512-d model's name
    with pytest.raises(ModelError) as e:
        eng.search_all(BUS)
    assert "256-d" in str(e.value) and "512-d" in str(e.value) and active in str(e.value)

    eng.register(PERSON_CROP, "Bob", whole=True)  # now 256-d and 512-d features under one name
    with pytest.raises(ModelError, match=r"different sizes \[256, 512\]"):
        eng.search_all(BUS)


def test_features_of_different_models_are_never_compared(tmp_path, real_engine):
    """Every photo has the active model's feature plus another model's; the index holds only the former,
    and a query equal to another model's stored vector does not find it."""
    eng = _fresh(real_engine, tmp_path)
    active = eng._registry.reid_for("person").name
    anna = eng.register(PERSON_CROP, "Anna", whole=True)
    bob = eng.register(OTHER_CROP, "Bob", whole=True)
    rng = np.random.default_rng(1)
    foreign = {}
    for r in (anna, bob):
        v = rng.standard_normal(512).astype(np.float32)
        foreign[r.entry_id] = v / np.linalg.norm(v)
    eng._gallery.set_features("other_model", list(foreign.items()))
    assert eng._gallery.models_in_use() == {active: 2, "other_model": 2}

    idx = eng._index.get(active, "person")
    assert idx.size == 2
    own = eng.extractor("person")([read_image(PERSON_CROP)])
    hit = idx.search(own)[0][0]
    assert hit.identity_id == anna.identity_id and hit.distance == pytest.approx(0, abs=1e-4)
    for v in foreign.values():
        assert all(h.distance > 0.2 for h in idx.search(v[None])[0])  # another model's vector: no match at ~0
    other = eng._index.get("other_model", "person")
    assert set(other.identity_of) == set(foreign)
    assert other.search(foreign[anna.entry_id][None])[0][0].distance == pytest.approx(0, abs=1e-5)
    res = eng.search_all(PERSON_CROP)  # and searching works: every photo has the active model's feature
    assert res.errors == []


def test_cli_explains_a_model_mismatch_without_a_traceback(tmp_path, real_engine):
    g = Gallery(tmp_path / "g.db")
    v = np.ones(512, np.float32) / np.sqrt(512)
    g.add_entry("Old", "person", b"jpeg", "resnet50_old_reid", v)
    g.close()
    r = subprocess.run([sys.executable, "-m", "Algorithm", "search", str(BUS), "--gallery", str(tmp_path / "g.db"),
                        "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "REID_MODELS_DIR": str(ASSETS / "models")})
    assert r.returncode == 2, r.stdout + r.stderr
    assert "error:" in r.stderr and "resnet50_old_reid" in r.stderr and "Traceback" not in r.stderr
