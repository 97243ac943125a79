"""The direct ONNX Runtime detector backend finds the same boxes as ultralytics on the same YOLOv8 file."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from testdata import BUS, PED_VIDEO, TRAFFIC_VIDEO, ZIDANE, video_frame


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of a[i] with b[i]."""
    lt = np.maximum(a[:, :2], b[:, :2])
    rb = np.minimum(a[:, 2:], b[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), 1)
    area = lambda x: np.prod(x[:, 2:] - x[:, :2], 1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


@pytest.fixture(scope="module")
def detectors():
    from Algorithm.models.registry import load_registry
    from Algorithm.pipeline.detect import Detector

    reg = load_registry()
    spec = reg.get("yolov8n_int8")
    path = reg.path_of(spec.name)
    return Detector(replace(spec, backend="ultralytics"), path), Detector(replace(spec, backend="onnx"), path)


def _same(a, b):
    assert len(a) == len(b), f"ultralytics found {len(a)} boxes, onnx {len(b)}"
    assert a.cls.tolist() == b.cls.tolist()
    assert a.category == b.category
    if len(a):
        assert _iou(a.xyxy, b.xyxy).min() >= 0.99
        np.testing.assert_allclose(a.conf, b.conf, atol=1e-3)


@pytest.mark.parametrize("path", [BUS, ZIDANE], ids=["bus", "zidane"])
@pytest.mark.parametrize("cats", [("person",), ("person", "vehicle")])
def test_onnx_backend_matches_ultralytics_on_photos(detectors, path, cats):
    from Algorithm.media import read_image

    img = read_image(path)
    ultra, direct = detectors
    a, b = ultra(img, cats), direct(img, cats)
    _same(a, b)
    assert len(b) >= 2  # bus: 4 persons (+ the bus), zidane: 2 persons


def test_bus_contents(detectors):
    from Algorithm.media import read_image

    d = detectors[1](read_image(BUS), ("person", "vehicle"))
    assert d.category.count("person") >= 3
    assert 5 in d.cls.tolist()  # the bus


def test_onnx_backend_other_frame_sizes(detectors):
    """Letterbox geometry is recomputed when the frame size changes (768x432, 320x240, odd sizes)."""
    ultra, direct = detectors
    frames = [video_frame(PED_VIDEO, 120), video_frame(TRAFFIC_VIDEO, 300), video_frame(PED_VIDEO, 300)[5:400, 3:700]]
    for img in frames:
        for cats in (("person",), ("vehicle",)):
            _same(ultra(img, cats), direct(img, cats))


def test_onnx_backend_empty_and_unknown():
    from Algorithm.errors import ModelError
    from Algorithm.models.registry import load_registry
    from Algorithm.pipeline.detect import Detector

    reg = load_registry()
    spec = reg.get("yolov8n_int8")
    det = Detector(replace(spec, backend="onnx"), reg.path_of(spec.name))
    blank = np.full((300, 500, 3), 127, np.uint8)
    assert len(det(blank)) == 0
    with pytest.raises(ModelError):
        Detector(replace(spec, backend="nope"), reg.path_of(spec.name))
