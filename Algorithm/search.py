"""Vector search over the gallery with Faiss: one index per (ReID model, category), derived from SQLite.

An index is rebuilt whenever the gallery's revision moved, so it can never disagree with the
gallery (edits and deletes by this process or another one included).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import faiss
import numpy as np

from .gallery import Gallery

# Past this many features an HNSW graph answers in well under 5 ms where the exact scan no longer does
# (bench/bench_search.py measures both and the recall).
EXACT_LIMIT = 200_000


@dataclass
class Hit:
    identity_id: int
    distance: float  # 1 - cosine similarity
    entry_id: int


def build_index(vectors: np.ndarray, ids: np.ndarray, exact_limit: int = EXACT_LIMIT) -> faiss.Index:
    dim = vectors.shape[1]
    if len(vectors) <= exact_limit:
        base = faiss.IndexFlatIP(dim)
    else:
        base = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        base.hnsw.efConstruction = 80
        base.hnsw.efSearch = 64
    index = faiss.IndexIDMap2(base)
    index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.ascontiguousarray(ids, np.int64))
    return index


class FeatureIndex:
    """Entries of one model and category; answers with the best entry per identity."""

    def __init__(self, entry_ids: np.ndarray, identity_ids: np.ndarray, vectors: np.ndarray, exact_limit=EXACT_LIMIT):
        self.dim = vectors.shape[1] if len(vectors) else 0
        self.size = len(entry_ids)
        self.identity_of = dict(zip(entry_ids.tolist(), identity_ids.tolist()))
        self.n_identities = len(set(identity_ids.tolist()))
        self.index = build_index(vectors, entry_ids, exact_limit) if self.size else None

    def search(self, queries: np.ndarray, k_identities: int = 5) -> list[list[Hit]]:
        """For each query, up to k identities with their closest entry, nearest first."""
        if self.index is None or len(queries) == 0:
            return [[] for _ in range(len(queries))]
        if queries.shape[1] != self.dim:
            raise ValueError(f"query features are {queries.shape[1]}-d, the gallery's are {self.dim}-d")
        k = min(self.size, max(k_identities * 4, 16))
        sims, ids = self.index.search(np.ascontiguousarray(queries, np.float32), k)
        out = []
        for srow, irow in zip(sims, ids):
            seen: dict[int, Hit] = {}
            for s, e in zip(srow, irow):
                if e < 0:
                    continue
                ident = self.identity_of[int(e)]
                if ident not in seen:
                    seen[ident] = Hit(ident, float(1.0 - s), int(e))
                if len(seen) >= k_identities:
                    break
            out.append(list(seen.values()))
        return out


class SearchIndex:
    """Keeps one FeatureIndex per (model, category) in step with the gallery."""

    def __init__(self, gallery: Gallery):
        self.gallery = gallery
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[int, FeatureIndex]] = {}
        self.rebuilds = 0

    def get(self, model: str, category: str) -> FeatureIndex:
        rev = self.gallery.revision()
        with self._lock:
            hit = self._cache.get((model, category))
            if hit and hit[0] == rev:
                return hit[1]
            idx = FeatureIndex(*self.gallery.features(model, category))
            self._cache[(model, category)] = (rev, idx)
            self.rebuilds += 1
            return idx


def assign_unique(candidates: list[list[Hit]], threshold: float) -> list[Hit | None]:
    """Gives each identity to at most one query (the closest), each query at most one identity.

    Greedy over all (query, identity) pairs under the threshold in order of distance: optimal for
    this one-to-one case whenever distances are distinct, and stable otherwise.
    """
    pairs = [(h.distance, qi, h) for qi, hits in enumerate(candidates) for h in hits if h.distance < threshold]
    pairs.sort(key=lambda p: (p[0], p[1]))
    taken_q: set[int] = set()
    taken_id: set[int] = set()
    result: list[Hit | None] = [None] * len(candidates)
    for _, qi, h in pairs:
        if qi in taken_q or h.identity_id in taken_id:
            continue
        result[qi] = h
        taken_q.add(qi)
        taken_id.add(h.identity_id)
    return result
