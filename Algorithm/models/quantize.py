"""INT8 copies of OpenVINO ReID models, quantised on the user's machine at install (NNCF post-training quantisation).

Weights are never shipped, and no INT8 file of the default person model can be downloaded from a pinned source,
so `models fetch` builds one from the FP16 model it already has. The recipe is data (models.json, `build`): the base
model, the calibration crops, and the least cosine the INT8 features must keep to the base model's.

Calibration crops are the people of the two sample photos that the `ultralytics` package installs with itself
(checked by sha256, boxes given in the recipe), each seen in a few deterministic variations (a slightly smaller
crop, mirrored, lighter or darker). So every machine quantises from the same pixels, and nothing is downloaded.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from Algorithm.errors import ModelError
from Algorithm.models.checksum import sha256_of
from Algorithm.models.registry import ModelSpec


@dataclass(frozen=True)
class QuantizeResult:
    path: Path
    crops: int  # calibration crops
    cosine_mean: float  # base vs INT8 features of the calibration crops
    cosine_min: float
    seconds: float


def stamp_path(xml: Path) -> Path:
    """The file beside a built INT8 model that records its recipe and figures (a changed recipe rebuilds it)."""
    return xml.with_suffix(".build.json")


def _package_file(package: str, rel: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"Cannot build the INT8 model: the package '{package}' that holds its calibration photos "
                         "is not installed (run install.sh / install.bat)")
    return Path(next(iter(spec.submodule_search_locations))) / rel


def calibration_crops(recipe: dict) -> list[np.ndarray]:
    """BGR person crops for calibration, from the recipe's photos and boxes, `views` variations each (seeded)."""
    import cv2

    cal = recipe["calibration"]
    rng = np.random.default_rng(int(cal.get("seed", 0)))
    people = []
    for item in cal["images"]:
        path = _package_file(cal["package"], item["path"])
        if not path.is_file() or sha256_of(path) != item["sha256"]:
            raise ModelError(f"Cannot build the INT8 model: its calibration photo {path} is missing or not the "
                             f"expected one (sha256). The model it would quantise still works; use it instead.")
        img = cv2.imread(str(path))
        if img is None:
            raise ModelError(f"Cannot build the INT8 model: {path} cannot be decoded")
        people += [img[y1:y2, x1:x2] for x1, y1, x2, y2 in item["boxes"]]
    crops = []
    for _ in range(int(cal.get("views", 20))):
        for person in people:
            h, w = person.shape[:2]
            s = rng.uniform(0.85, 1.0)
            dh, dw = max(2, int(h * s)), max(2, int(w * s))
            y, x = int(rng.integers(0, h - dh + 1)), int(rng.integers(0, w - dw + 1))
            c = person[y:y + dh, x:x + dw]
            if rng.random() < 0.5:
                c = c[:, ::-1]
            c = np.clip(c.astype(np.float32) * rng.uniform(0.7, 1.3) + rng.uniform(-30, 30), 0, 255).astype(np.uint8)
            crops.append(np.ascontiguousarray(c))
    return crops


def quantize_openvino_int8(base_xml: Path, dest_xml: Path, spec: ModelSpec, recipe: dict) -> QuantizeResult:
    """Quantises `base_xml` to INT8 into `dest_xml` (+ .bin); refuses, writing nothing, when the INT8 features of
    the calibration crops drift from the base model's below the recipe's `min_cosine`."""
    if importlib.util.find_spec("nncf") is None:
        raise ModelError("Cannot build the INT8 model: the `nncf` package is missing (pip install nncf; the install "
                         "scripts do it). The model it would quantise still works; use it instead.")
    import logging

    import nncf
    import openvino as ov

    from Algorithm.pipeline.embed import ReIdExtract, model_input, resize_crops

    t0 = time.perf_counter()
    nncf.set_log_level(logging.ERROR)
    h, w = spec.input_size
    crops = calibration_crops(recipe)
    x = model_input(resize_crops(crops, h, w), spec)
    base = ov.Core().read_model(str(base_xml))
    try:
        int8 = nncf.quantize(base, nncf.Dataset([x[i:i + 1] for i in range(len(x))]), subset_size=len(x),
                             preset=nncf.QuantizationPreset.MIXED)
    except Exception as e:  # noqa: BLE001 - any failure of the quantiser is one message
        raise ModelError(f"Cannot build the INT8 model from {base_xml.name}: the quantiser failed ({e})") from e
    dest_xml.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".int8-", dir=dest_xml.parent))
    try:
        ov.save_model(int8, str(tmp / dest_xml.name))
        # the drift, as the app will compute features: its own preprocessing and OpenVINO settings
        cos = np.sum(ReIdExtract(spec, base_xml)(crops) * ReIdExtract(spec, tmp / dest_xml.name)(crops), axis=1)
        need = float(recipe.get("min_cosine", 0.9))
        if float(cos.mean()) < need:
            raise ModelError(f"The INT8 model built from {base_xml.name} drifts too far from it (mean cosine "
                             f"{cos.mean():.3f} < {need}) and was not kept; the model it quantises still works.")
        result = QuantizeResult(dest_xml, len(x), round(float(cos.mean()), 4), round(float(cos.min()), 4),
                                round(time.perf_counter() - t0, 1))
        stamp = {"recipe": recipe, "nncf": nncf.__version__, "openvino": ov.__version__,
                 **{k: v for k, v in asdict(result).items() if k != "path"}}
        (tmp / stamp_path(dest_xml).name).write_text(json.dumps(stamp, indent=1), encoding="utf-8")
        # the .bin first and the .xml last: an .xml in place means a whole model; the stamp says which recipe
        stamp_path(dest_xml).unlink(missing_ok=True)
        os.replace(tmp / dest_xml.with_suffix(".bin").name, dest_xml.with_suffix(".bin"))
        os.replace(tmp / dest_xml.name, dest_xml)
        os.replace(tmp / stamp_path(dest_xml).name, stamp_path(dest_xml))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def is_current(dest_xml: Path, recipe: dict) -> bool:
    """Whether a built INT8 model is in place, whole, and from this recipe."""
    try:
        stamp = json.loads(stamp_path(dest_xml).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return dest_xml.is_file() and dest_xml.with_suffix(".bin").is_file() and stamp.get("recipe") == recipe
