"""How good is the ReID model on labelled crops? Rank-1/5/10, mAP and mINP of an extractor on a
Market-1501-style folder or on the ground-truth crops of MOT sequences."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from Algorithm.evaluation.datasets import Extractor, GtFilter, Progress, crop_set, embed_crops
from Algorithm.evaluation.metrics import DISTRACTOR_PID, JUNK_PID, RANKS, RankMetrics, rank_metrics

FORMAT = "reid-app-eval-reid"


@dataclass
class ReidEvaluation:
    """The result of `evaluate_reid`; `to_json()` is what `evaluate reid --out` writes."""

    folder: str
    mode: str  # "market-split" | "single-folder" | "mot-frames-as-cameras"
    model: str
    metrics: RankMetrics
    n_gallery: int
    n_identities: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {**self.metrics.to_json(), "format": FORMAT, "version": 1, "folder": self.folder, "mode": self.mode,
                "model": self.model, "n_gallery": self.n_gallery, "n_identities": self.n_identities,
                "seconds": self.seconds, "notes": list(self.notes)}


def evaluate_reid(
    folder: str | Path,
    extractor: Extractor,
    model_name: str = "",
    flt: GtFilter | None = None,
    progress: Progress | None = None,
    block: int = 512,
) -> ReidEvaluation:
    """Rank-1/5/10, mAP and mINP of a ReID extractor on an evaluation folder (Market naming or MOT)."""
    t0 = time.perf_counter()
    query, gallery = crop_set(folder, flt)
    notes = list(query.notes) + (list(gallery.notes) if gallery else [])
    qf = embed_crops(extractor, query, progress=progress)
    if gallery is None:
        mode = "mot-frames-as-cameras" if query.kind == "mot" else "single-folder"
        gallery, gf = query, qf
        if query.kind == "mot":
            notes.append("MOT crops: each GT crop is a query against the crops of the other frames of its sequence "
                         "(the frame plays the camera). Consecutive video frames look alike, so this is an easy, "
                         "upper-bound setting, not cross-camera ReID.")
        else:
            notes.append("One folder: each image in turn is the query against all the others (same pid + same camera excluded).")
    else:
        mode = "market-split"
        gf = embed_crops(extractor, gallery, progress=progress)
    parts = []
    for s in range(0, len(query), block):  # `block` queries at a time: the distance matrix stays small
        e = min(s + block, len(query))
        dist = 1.0 - qf[s:e] @ gf.T
        if query.kind == "mot":  # only inside its own sequence
            dist = np.where(query.groups[s:e, None] == gallery.groups[None, :], dist, np.inf)
        parts.append(rank_metrics(dist, query.pids[s:e], gallery.pids, query.cams[s:e], gallery.cams, RANKS, query.names[s:e]))
    metrics = RankMetrics.merge(parts, RANKS)
    if metrics.n_valid_queries == 0:
        notes.append(
            f"None of the {metrics.n_queries} queries has a gallery image of its identity from another camera, so Rank-k, "
            "mAP and mINP are undefined (null). Add more images per identity, from at least two cameras."
        )
    elif metrics.n_no_match:
        notes.append(f"{metrics.n_no_match} of {metrics.n_queries} queries have no valid gallery match "
                     "and are left out of the averages.")
    valid_pids = {p for p in query.pids.tolist() if p not in (JUNK_PID, DISTRACTOR_PID)}
    return ReidEvaluation(str(folder), mode, model_name, metrics, len(gallery), len(valid_pids),
                          round(time.perf_counter() - t0, 2), notes)
