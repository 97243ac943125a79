"""ReID embeddings (ONNX Runtime, or OpenVINO for OpenVINO IR models), preprocessing taken from the model config."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from Algorithm.errors import ModelError
from Algorithm.models.registry import ModelSpec
from Algorithm.models.runtime import open_session


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)


def crop(img: np.ndarray, box) -> np.ndarray:
    h, w = img.shape[:2]
    x1, y1, x2, y2 = box
    x1, y1 = int(max(0, np.floor(x1))), int(max(0, np.floor(y1)))
    x2, y2 = int(min(w, np.ceil(x2))), int(min(h, np.ceil(y2)))
    if x2 - x1 < 2 or y2 - y1 < 2:
        raise ValueError(f"box {box} is empty inside a {w}x{h} image")
    return img[y1:y2, x1:x2]


def resize_crops(crops: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """BGR crops of any size -> uint8 (N, height, width, 3), bilinear."""
    batch = np.empty((len(crops), height, width, 3), np.uint8)
    for i, c in enumerate(crops):
        batch[i] = cv2.resize(c, (width, height), interpolation=cv2.INTER_LINEAR)
    return batch


def model_input(batch_bgr_hwc: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """uint8 (N, H, W, 3) BGR -> the float32 (N, 3, H, W) input of a ReID model, by its config: channel order,
    scale, mean/std (unless the graph normalises itself). The one preprocessing of the app (the exporter's
    parity check uses it too)."""
    x = batch_bgr_hwc[..., ::-1] if spec.channel_order.upper() == "RGB" else batch_bgr_hwc
    x = x.transpose(0, 3, 1, 2).astype(np.float32)
    if not spec.normalized_in_graph:
        mean = np.asarray(spec.mean, np.float32).reshape(1, 3, 1, 1)
        std = np.asarray(spec.std, np.float32).reshape(1, 3, 1, 1)
        x = (x * np.float32(spec.scale) - mean) / std
    return np.ascontiguousarray(x)


class ReIdExtract:
    """Batch of BGR crops -> (N, D) float32 L2-normalised features. Counts the crops it embeds."""

    MAX_BATCH = 64  # bounds memory on frames with very many boxes

    def __init__(self, spec: ModelSpec, path: Path, device: str = "cpu"):
        self.spec = spec
        self.sess, self.provider = open_session(path, device, spec.name, spec.backend)
        inp = self.sess.get_inputs()
        outs = self.sess.get_outputs()
        if len(inp) != 1 or len(inp[0].shape) != 4:
            raise ModelError(f"ReID model '{spec.name}' must take one NCHW image input, it takes {[i.shape for i in inp]}")
        self.input_name = inp[0].name
        self.h, self.w = spec.input_size
        shp = inp[0].shape
        if isinstance(shp[1], int) and shp[1] != 3:
            raise ModelError(f"ReID model '{spec.name}' expects {shp[1]} channels, not 3")
        for got, want, what in ((shp[2], self.h, "height"), (shp[3], self.w, "width")):
            if isinstance(got, int) and got != want:
                raise ModelError(f"ReID model '{spec.name}': the config says input {what} {want}, the file says {got}")
        self.fixed_batch = shp[0] if isinstance(shp[0], int) else None
        self.calls = 0  # crops embedded so far
        self.dim = self._probe_dim(outs)

    def _probe_dim(self, outs) -> int:
        feats = self._run(np.zeros((1, self.h, self.w, 3), np.uint8))
        if feats.ndim != 2:
            raise ModelError(f"ReID model '{self.spec.name}' must output (batch, dim) features, got shape {feats.shape}")
        dim = feats.shape[1]
        if self.spec.output_dim and dim != self.spec.output_dim:
            raise ModelError(f"ReID model '{self.spec.name}': the config says {self.spec.output_dim}-d output, "
                             f"the file gives {dim}-d")
        return dim

    def _run(self, batch_hwc: np.ndarray) -> np.ndarray:
        x = model_input(batch_hwc, self.spec)
        if self.fixed_batch == 1 and len(x) > 1:
            return np.concatenate([self.sess.run(None, {self.input_name: x[i : i + 1]})[0] for i in range(len(x))])
        return self.sess.run(None, {self.input_name: x})[0]

    def __call__(self, crops: list[np.ndarray]) -> np.ndarray:
        return self.embed_prepared(resize_crops(crops, self.h, self.w))

    def prepare(self, img: np.ndarray, boxes) -> np.ndarray:
        """The boxes' crops at the model's input size, uint8 (N, H, W, 3): what embed_prepared takes."""
        return resize_crops([crop(img, b) for b in boxes], self.h, self.w)

    def embed_prepared(self, batch_hwc: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, 3) crops already at the model's input size -> (N, D) features."""
        if len(batch_hwc) == 0:
            return np.zeros((0, self.dim), np.float32)
        out = []
        for i in range(0, len(batch_hwc), self.MAX_BATCH):
            part = batch_hwc[i : i + self.MAX_BATCH]
            out.append(self._run(part))
            self.calls += len(part)
        return l2_normalize(np.concatenate(out).reshape(len(batch_hwc), -1))

    def embed_boxes(self, img: np.ndarray, boxes) -> np.ndarray:
        return self.embed_prepared(self.prepare(img, boxes))
