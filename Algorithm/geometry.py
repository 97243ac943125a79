"""Box geometry shared by the pipeline, the evaluation, the sinks and the benchmarks: one intersection over union."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two x1, y1, x2, y2 boxes (0 when they do not touch or have no area)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def intersection_matrix(a, b) -> np.ndarray:
    """Intersection area of every box of `a` (n, 4) with every box of `b` (m, 4): (n, m)."""
    a, b = np.asarray(a, float).reshape(-1, 4)[:, None, :], np.asarray(b, float).reshape(-1, 4)[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    return iw * ih


def iou_matrix(a, b) -> np.ndarray:
    """IoU of every box of `a` (n, 4) with every box of `b` (m, 4): (n, m), as `iou` computes each pair."""
    inter = intersection_matrix(a, b)
    a, b = np.asarray(a, float).reshape(-1, 4)[:, None, :], np.asarray(b, float).reshape(-1, 4)[None, :, :]
    union = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
