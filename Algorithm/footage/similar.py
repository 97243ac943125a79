"""Find similar: the indexed tracks nearest to a track or to a query feature, best first."""
from __future__ import annotations

import numpy as np

from Algorithm.footage.records import SimilarTrack
from Algorithm.storage.footage_index import FootageIndex, Track


def views_of(track: Track, model: str) -> np.ndarray:
    """A track's aggregate and stored views of one model (empty when it has none)."""
    f = track.features.get(model)
    if f is None:
        return np.zeros((0, 0), np.float32)
    return np.vstack([f.aggregate[None], f.crops]) if len(f.crops) else f.aggregate[None]


def similar_tracks(footage: FootageIndex, model: str, category: str, views: np.ndarray, top: int = 20,
                   exclude: int | None = None) -> list[SimilarTrack]:
    """Tracks ranked by their closest view to any of `views`: the Faiss index of aggregates proposes 4 x top
    (at least 64) tracks, their stored views give the exact order."""
    n = footage.index_size(model, category)
    if n == 0 or len(views) == 0:
        return []
    q = np.ascontiguousarray(views, np.float32)
    rows = footage.nearest(model, category, q, min(n, max(4 * top, 64)))
    ids = sorted({tid for row in rows for tid, _ in row} - {exclude})
    out = []
    for t in footage.load_tracks(ids, model):
        v = views_of(t, model)
        if len(v):
            out.append(SimilarTrack(t.info, float(1.0 - np.max(q @ v.T))))
    out.sort(key=lambda s: (s.distance, s.track.id))
    return out[:top]
