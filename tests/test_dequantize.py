"""The default detector is the float copy of the INT8 YOLOv8n file, made at install (models/dequantize.py): ONNX
Runtime has no CUDA kernel for the INT8 file's ConvInteger, and runs it more slowly than floats on a CPU too."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from testdata import ASSETS, BUS, MOT, PED_VIDEO, ZIDANE, video_frame

INT8 = ASSETS / "models" / "detection" / "yolov8n_int8.onnx"
# Operators of ONNX Runtime's CUDA provider (its OperatorKernels.md) that a YOLOv8 graph uses: with no integer
# operator left, nothing of the detector falls back to the CPU on a GPU.
CUDA_FLOAT_OPS = {"Add", "Concat", "Conv", "Div", "MaxPool", "Mul", "Reshape", "Resize", "Sigmoid", "Slice",
                  "Softmax", "Split", "Sub", "Transpose"}


@pytest.fixture(scope="module")
def float_copy(tmp_path_factory):
    from Algorithm.models.dequantize import dequantize_convs

    return dequantize_convs(INT8, tmp_path_factory.mktemp("det") / "yolov8n_float.onnx")


def test_every_quantised_convolution_becomes_a_float_one(float_copy):
    from Algorithm.models.dequantize import INTEGER_OPS

    assert float_copy.convs == 64  # every convolution of YOLOv8n
    assert not set(INTEGER_OPS) & set(float_copy.ops)
    assert set(float_copy.ops) <= CUDA_FLOAT_OPS, set(float_copy.ops) - CUDA_FLOAT_OPS


def test_the_float_copy_finds_the_boxes_of_the_int8_file(float_copy):
    """Same weights, activations no longer rounded to 8 bits: every box of the INT8 file is found again, in place."""
    import cv2

    from Algorithm.geometry import iou_matrix
    from Algorithm.media import read_image
    from Algorithm.models.registry import load_registry
    from Algorithm.pipeline.detect import Detector

    spec = load_registry().get("yolov8n_int8")
    int8, flt = Detector(spec, INT8), Detector(replace(spec, name="yolov8n"), float_copy.path)
    images = [read_image(BUS), read_image(ZIDANE)] + [video_frame(PED_VIDEO, i) for i in (120, 300, 600, 800, 1050)]
    images += [cv2.imread(str(p)) for p in sorted(MOT.glob("*/img1/*.jpg"))[::4]]
    ious, counts = [], []
    for img in images:
        a, b = int8(img, ("person", "vehicle")), flt(img, ("person", "vehicle"))
        counts.append((len(a), len(b)))
        if not len(a):
            continue
        assert len(b), "the float copy found nothing where the INT8 file found boxes"
        m = np.where(np.array(a.category)[:, None] == np.array(b.category)[None, :], iou_matrix(a.xyxy, b.xyxy), 0.0)
        ious += list(m.max(axis=1))
    assert sum(a for a, _ in counts) >= 60  # the comparison has boxes to compare
    ious = np.array(ious)
    assert ious.min() >= 0.5 and np.mean(ious >= 0.85) >= 0.95 and np.median(ious) >= 0.97, np.sort(ious)[:5]
    assert all(abs(a - b) <= 2 for a, b in counts), counts
    bus = flt(read_image(BUS), ("person", "vehicle"))
    assert bus.category.count("person") == 4 and 5 in bus.cls.tolist()  # four people and the bus


def test_a_model_without_quantised_convolutions_or_no_model_is_refused(tmp_path):
    from Algorithm.errors import ModelError
    from Algorithm.models.dequantize import dequantize_convs

    with pytest.raises(ModelError, match="nothing to dequantise"):
        dequantize_convs(ASSETS / "models" / "detection" / "yolox_nano.onnx", tmp_path / "a.onnx")
    bad = tmp_path / "notes.onnx"
    bad.write_text("not a model", encoding="utf-8")
    with pytest.raises(ModelError, match="Cannot read the ONNX model"):
        dequantize_convs(bad, tmp_path / "b.onnx")
    assert not list(tmp_path.glob("[ab].onnx*"))  # nothing half-written


def test_the_install_builds_the_copy_once_and_again_for_another_base(tmp_path):
    from Algorithm.models.dequantize import stamp_path
    from Algorithm.models.provision import provision
    from Algorithm.models.registry import load_registry

    spec = load_registry().get("yolov8n")
    assert spec.build == {"dequantize": True, "base": "yolov8n_int8"}
    first = provision(spec, ASSETS / "models", tmp_path)
    assert first.startswith("built") and (tmp_path / spec.file).is_file()
    assert provision(spec, ASSETS / "models", tmp_path) == "present"
    stamp = stamp_path(tmp_path / spec.file)
    stamp.write_text(json.dumps({"base_sha256": "another"}), encoding="utf-8")  # the base file was replaced
    assert provision(spec, ASSETS / "models", tmp_path).startswith("built")
    made = json.loads(stamp.read_text(encoding="utf-8"))
    assert made["recipe"] == 2 and made["batch"] == "batch"
    made.pop("recipe")  # a copy made before its batch axis was freed (recipe 1) is made again
    stamp.write_text(json.dumps(made), encoding="utf-8")
    assert provision(spec, ASSETS / "models", tmp_path) == "built (float copy of yolov8n_int8, 64 convolutions, batch axis batch)"


def test_without_the_copy_the_int8_file_serves(tmp_path):
    """An install from before the copy existed (or whose build failed) still detects, with the file it has."""
    from Algorithm.models.registry import Registry, load_registry

    reg = load_registry()
    models = dict(reg.models)
    models["yolov8n"] = replace(models["yolov8n"], file=str(tmp_path / "missing.onnx"))
    models["yolov8n_int8"] = replace(models["yolov8n_int8"], file=str(INT8))
    assert Registry(models, "yolov8n", dict(reg.reid)).detector_spec().name == "yolov8n_int8"
    models["yolov8n"] = replace(models["yolov8n"], file=str(INT8))  # in place: the copy serves
    assert Registry(models, "yolov8n", dict(reg.reid)).detector_spec().name == "yolov8n"
    assert Registry(models, "yolox_nano", dict(reg.reid)).detector_spec().name == "yolox_nano"  # no base: itself


def test_on_a_gpu_a_missing_copy_is_said(tmp_path, monkeypatch):
    """On CUDA the INT8 file would run its convolutions on the CPU: the user is told how to build the copy."""
    import Algorithm.outer_api as api
    from Algorithm.models.registry import Registry
    from Algorithm.settings import Settings

    monkeypatch.setattr(api, "resolve_device", lambda _d: "cuda")
    eng = api.Engine(tmp_path / "g.db", Settings(device="cuda"))
    assert eng.device_caution() == ""  # the copy is in place (the install built it)
    real = Registry.is_installed
    monkeypatch.setattr(Registry, "is_installed", lambda self, name: name != "yolov8n" and real(self, name))
    caution = eng.device_caution()
    assert "not built" in caution and "models fetch" in caution and "'yolov8n'" in caution
    assert eng.model_summary().detector == "yolov8n_int8"  # what runs, shown as it is
    eng.close()
