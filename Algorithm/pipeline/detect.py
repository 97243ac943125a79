"""Detection of people and vehicles: YOLOv8 ONNX run directly on ONNX Runtime ("onnx"), the same file
through ultralytics ("ultralytics"), or YOLOX decoded in numpy ("yolox")."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from Algorithm.errors import InputError, ModelError
from Algorithm.models.registry import ModelSpec
from Algorithm.models.runtime import ort_session
from Algorithm.types import Detections

# Frames given to the detector in one call where every frame of a video is detected (the exact speed, evaluations),
# by where it runs, for a model whose batch axis is free (the float YOLOv8n). On this project's 2-core CPU
# (`bench/bench_detector_models.py --batches 1,2,4,8 --frames 160`, 2026-12-07): 49.0 ms a frame alone, 44.6 in
# twos, 44.3 in fours, 45.2 in eights, the same boxes; twos hold fewer frames back for the same gain. CUDA: not
# measured (no GPU was lent; bench/gpu_kit.sh times 1-16): a GPU idles between small calls, so it gets fours, which
# keep the memory of a batch's activations modest on a laptop GPU.
DETECT_BATCH = {"CPUExecutionProvider": 2, "CUDAExecutionProvider": 4}


class Detector:
    """Finds boxes of the asked categories in a BGR image."""

    def __init__(self, spec: ModelSpec, path: Path, device: str = "cpu"):
        self.spec = spec
        self.device = device
        self.class_to_cat = {c: cat for cat, ids in dict(spec.categories).items() for c in ids}
        if spec.backend == "ultralytics":
            self._impl = _UltralyticsBackend(spec, path, device)
        elif spec.backend == "onnx":
            self._impl = _OnnxYoloBackend(spec, path, device)
        elif spec.backend == "yolox":
            self._impl = _YoloxBackend(spec, path, device)
        else:
            raise ModelError(f"Detector '{spec.name}': unknown backend '{spec.backend}'")
        self._lock = threading.Lock()  # ultralytics predictors are not safe to call from two threads at once

    @property
    def provider(self) -> str:
        return self._impl.provider

    def class_ids(self, categories: Sequence[str]) -> list[int]:
        cats = dict(self.spec.categories)
        return sorted({c for cat in categories for c in cats.get(cat, [])})

    @property
    def batch_size(self) -> int:
        """How many frames are worth detecting in one call (detect_many): 1 where the model takes one at a time."""
        return DETECT_BATCH.get(self.provider, 1) if self._impl.batchable else 1

    def __call__(self, img: np.ndarray, categories: Sequence[str] = ("person",), conf: float | None = None) -> Detections:
        return self.detect_many([img], categories, conf)[0]

    def detect_many(self, imgs: Sequence[np.ndarray], categories: Sequence[str] = ("person",),
                    conf: float | None = None) -> list[Detections]:
        """The boxes of several images, in one call to the model where it takes a batch (the same boxes as one by
        one)."""
        classes = self.class_ids(categories)
        if not classes:
            return [Detections.empty() for _ in imgs]
        conf = self.spec.conf if conf is None else conf
        with self._lock:
            if len(imgs) > 1 and self._impl.batchable:
                found = self._impl.predict_many(imgs, classes, conf)
            else:
                found = [self._impl.predict(img, classes, conf) for img in imgs]
        return [self._detections(img, *f) for img, f in zip(imgs, found)]

    def _detections(self, img: np.ndarray, xyxy, score, cls) -> Detections:
        """Boxes in the image, none under 2 px, most confident first."""
        h, w = img.shape[:2]
        xyxy = np.clip(xyxy.astype(np.float32), 0, [w, h, w, h]).astype(np.float32)
        keep = (xyxy[:, 2] - xyxy[:, 0] >= 2) & (xyxy[:, 3] - xyxy[:, 1] >= 2)
        xyxy, score, cls = xyxy[keep], score[keep], cls[keep]
        order = np.argsort(-score, kind="stable")
        xyxy, score, cls = xyxy[order], score[order].astype(np.float32), cls[order].astype(int)
        return Detections(xyxy, score, cls, [self.class_to_cat[int(c)] for c in cls])


class _UltralyticsBackend:
    batchable = False  # one image a call (its own batching would go through torch and Results)

    def __init__(self, spec: ModelSpec, path: Path, device: str):
        from ultralytics import YOLO  # heavy import, only when a detector is built

        try:
            self.model = YOLO(str(path), task="detect")
        except Exception as e:  # ultralytics raises many kinds for a bad file
            raise ModelError(f"Cannot load detector '{spec.name}' from {path}: {e}") from e
        self.imgsz = list(spec.input_size)
        self.iou = spec.iou
        self.device = "cpu" if device == "cpu" else 0
        self.provider = "CPUExecutionProvider" if device == "cpu" else "CUDAExecutionProvider"

    def predict(self, img, classes, conf):
        try:
            r = self.model.predict(
                img, conf=conf, iou=self.iou, classes=classes, imgsz=self.imgsz, device=self.device, verbose=False
            )[0]
        except Exception as e:
            raise InputError(f"The detector could not process this image: {e}") from e
        b = r.boxes.cpu().numpy()
        return b.xyxy, b.conf, b.cls.astype(int)


class _OnnxYoloBackend:
    """An Ultralytics YOLOv8/11 ONNX export (no NMS in the graph: output [1, 4 + classes, anchors], class scores
    already sigmoided) run straight on ONNX Runtime. Pre- and post-processing repeat ultralytics' own
    (centred letterbox padded with 114, RGB / 255, best class per anchor, class-wise NMS, up to 300 boxes), so
    the boxes equal the "ultralytics" backend's on the same file, without torch and Results on the hot path."""

    MAX_DET = 300
    MAX_NMS = 30000

    def __init__(self, spec: ModelSpec, path: Path, device: str):
        self.sess, self.provider = ort_session(path, device, spec.name)
        inp = self.sess.get_inputs()[0]
        self.input_name = inp.name
        shp = inp.shape
        h = shp[2] if len(shp) == 4 and isinstance(shp[2], int) else spec.input_size[0]
        w = shp[3] if len(shp) == 4 and isinstance(shp[3], int) else spec.input_size[1]
        self.h, self.w = int(h), int(w)
        self.iou = spec.iou
        out = self.sess.get_outputs()[0].shape
        if len(out) != 3 or (isinstance(out[1], int) and out[1] < 5) or (
            isinstance(out[1], int) and isinstance(out[2], int) and out[1] > out[2]
        ):
            raise ModelError(
                f"Detector '{spec.name}': backend 'onnx' reads YOLOv8/11 exports, output [1, 4 + classes, anchors]; "
                f"this file gives {out}. Use backend 'ultralytics' for it."
            )
        self.batchable = not isinstance(shp[0], int)  # a free batch axis: several frames in one call
        self._x = np.empty((1, 3, self.h, self.w), np.float32)  # input buffer, reused every frame (grown for batches)
        self._canvas = np.full((self.h, self.w, 3), 114, np.uint8)
        self._geom: tuple | None = None  # (image shape, letterbox geometry) of the last frame

    def _letterbox(self, img: np.ndarray, out: np.ndarray):
        """Writes the model input of `img` into `out` (3, H, W); its geometry (left, top, x and y scale)."""
        shape = img.shape[:2]
        if self._geom is None or self._geom[0] != shape:
            r = min(self.h / shape[0], self.w / shape[1])
            nw, nh = max(round(shape[1] * r), 1), max(round(shape[0] * r), 1)
            top, left = round((self.h - nh) / 2 - 0.1), round((self.w - nw) / 2 - 0.1)
            self._canvas[:] = 114
            self._geom = (shape, nw, nh, top, left, nw / shape[1], nh / shape[0])
        _, nw, nh, top, left, gx, gy = self._geom
        dst = self._canvas[top : top + nh, left : left + nw]
        dst[:] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nh, nw) != shape else img
        # BGR -> RGB, HWC -> CHW, / 255 into the reused float buffer
        np.divide(self._canvas[:, :, ::-1].transpose(2, 0, 1), np.float32(255.0), out=out, dtype=np.float32)
        return left, top, gx, gy

    def predict(self, img, classes, conf):
        geom = self._letterbox(img, self._x[0])
        return self._decode(self.sess.run(None, {self.input_name: self._x[:1]})[0][0], geom, classes, conf)

    def predict_many(self, imgs, classes, conf):
        if len(self._x) < len(imgs):
            self._x = np.empty((len(imgs), 3, self.h, self.w), np.float32)
        geoms = [self._letterbox(img, self._x[i]) for i, img in enumerate(imgs)]
        outs = self.sess.run(None, {self.input_name: self._x[: len(imgs)]})[0]
        return [self._decode(out, geom, classes, conf) for out, geom in zip(outs, geoms)]

    def _decode(self, out, geom, classes, conf):
        """One image's output (4 + nc, anchors) -> its boxes in the image (class-wise NMS)."""
        left, top, gx, gy = geom
        scores = out[4:]
        cand = np.flatnonzero(scores.max(0) > conf)
        if len(cand) == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, int)
        sc = scores[:, cand]
        cls = sc.argmax(0)
        score = sc[cls, np.arange(len(cand))]
        keep = np.isin(cls, classes)
        cand, cls, score = cand[keep], cls[keep], score[keep]
        if len(cand) > self.MAX_NMS:
            top_k = np.argsort(-score, kind="stable")[: self.MAX_NMS]
            cand, cls, score = cand[top_k], cls[top_k], score[top_k]
        cx, cy, bw, bh = out[:4, cand]
        xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
        keep = nms_per_class(xyxy, score, cls, self.iou)[: self.MAX_DET]
        xyxy = (xyxy[keep] - np.array([left, top, left, top], np.float32)) / np.array([gx, gy, gx, gy], np.float32)
        return xyxy, score[keep], cls[keep]


class _YoloxBackend:
    """YOLOX exported without its decode head: top-left letterbox, BGR 0-255 in, raw grid outputs out."""

    batchable = False

    def __init__(self, spec: ModelSpec, path: Path, device: str):
        self.sess, self.provider = ort_session(path, device, spec.name)
        self.input_name = self.sess.get_inputs()[0].name
        self.h, self.w = spec.input_size
        self.iou = spec.iou
        grids, strides = [], []
        for s in (8, 16, 32):
            gh, gw = self.h // s, self.w // s
            yv, xv = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
            grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
            strides.append(np.full((gh * gw, 1), s))
        self.grid = np.concatenate(grids).astype(np.float32)
        self.stride = np.concatenate(strides).astype(np.float32)

    def predict(self, img, classes, conf):
        r = min(self.h / img.shape[0], self.w / img.shape[1])
        canvas = np.full((self.h, self.w, 3), 114, np.uint8)
        nh, nw = int(round(img.shape[0] * r)), int(round(img.shape[1] * r))
        canvas[:nh, :nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        x = canvas.transpose(2, 0, 1)[None].astype(np.float32)
        out = self.sess.run(None, {self.input_name: x})[0][0]
        xy = (out[:, :2] + self.grid) * self.stride
        wh = np.exp(out[:, 2:4]) * self.stride
        scores = out[:, 4:5] * out[:, 5:]
        cls = scores.argmax(1)
        score = scores[np.arange(len(cls)), cls]
        keep = (score >= conf) & np.isin(cls, classes)
        xy, wh, cls, score = xy[keep], wh[keep], cls[keep], score[keep]
        xyxy = np.concatenate([xy - wh / 2, xy + wh / 2], 1) / r
        keep = nms_per_class(xyxy, score, cls, self.iou)
        return xyxy[keep], score[keep], cls[keep]


def nms_per_class(xyxy: np.ndarray, score: np.ndarray, cls: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by class-wise NMS (OpenCV's, offsetting boxes by class so classes never suppress each other)."""
    if len(score) == 0:
        return np.zeros(0, int)
    off = cls[:, None].astype(np.float32) * 8192.0
    b = xyxy + off
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], 1)
    idx = cv2.dnn.NMSBoxes(xywh.tolist(), score.astype(float).tolist(), 0.0, iou)
    return np.asarray(idx, int).reshape(-1)
