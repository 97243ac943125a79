"""After a ReID model switch: the indexed tracks are embedded by the new model from their stored crops
(never mixing models: each model's features are kept apart), without decoding the footage again."""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from Algorithm.pipeline.embed import l2_normalize
from Algorithm.pipeline.track_cache import CachePolicy
from Algorithm.storage.footage_index import FootageIndex, ModelFeatures

BATCH = 64  # tracks per transaction: progress moves, and a stop loses at most one batch


def reembed(footage: FootageIndex, extractor, model: str, category: str,
            progress: Callable[[int, int], None] | None = None, cancel: Callable[[], bool] | None = None) -> tuple[int, int]:
    """(tracks embedded, tracks left without: no stored crop, their source must be processed again)."""
    todo = footage.tracks_without(model, category)
    done = lacking = 0
    keep = CachePolicy().keep_best  # the aggregate is the mean of the best few views, as in a live search
    for a in range(0, len(todo), BATCH):
        if cancel and cancel():
            break
        batch: dict[int, ModelFeatures] = {}
        for tid in todo[a : a + BATCH]:
            imgs = [cv2.imdecode(np.frombuffer(c.jpeg, np.uint8), cv2.IMREAD_COLOR) for c in footage.crop_images(tid)]
            imgs = [i for i in imgs if i is not None and i.size]
            if not imgs:
                lacking += 1
                continue
            feats = np.asarray(extractor(imgs), np.float32)
            batch[tid] = ModelFeatures(l2_normalize(feats[:keep].mean(axis=0)), feats)
        done += footage.add_features(model, batch) if batch else 0
        if progress:
            progress(min(a + BATCH, len(todo)), len(todo))
    return done, lacking
