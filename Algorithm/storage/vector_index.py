"""Vector search over the gallery with Faiss: one index per (ReID model, category), derived from SQLite.

An index is rebuilt whenever the gallery's revision moved, so it can never disagree with the
gallery (edits and deletes by this process or another one included).
"""
from __future__ import annotations

import threading

import faiss
import numpy as np

from Algorithm.errors import ModelError
from Algorithm.storage.gallery import Gallery
from Algorithm.types import Hit

# Up to this many features (60 MB) the exact scan answers a query in under 5 ms and builds instantly
# (2-core CPU, quiet / shared with other work: 1.5 / 2.4 ms at 30,000, 2.7 / 11 ms at 50,000, 130-220 ms
# at 1,000,000); past it an HNSW graph answers in 0.5-3 ms with recall@1 >= 0.95, for a build of ~8 s
# at 100,000 and 3-8 min at 1,000,000 per gallery change (bench/bench_search.py, bench/README.md).
EXACT_LIMIT = 30_000
# HNSW graph: M links per node; efConstruction candidates while building (40 rather than 80: the graph is
# rebuilt at every gallery change, and 40 builds ~25% faster); efSearch candidates per query: at 1,000,000
# features 1024 gives recall@1 0.96 by entry and 1.00 by identity in 2.1 ms (128: 0.89 / 0.97 in 0.4 ms).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 1024


def build_index(vectors: np.ndarray, ids: np.ndarray, exact_limit: int = EXACT_LIMIT) -> faiss.Index:
    dim = vectors.shape[1]
    if len(vectors) <= exact_limit:
        base = faiss.IndexFlatIP(dim)
    else:
        base = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        base.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        base.hnsw.efSearch = HNSW_EF_SEARCH
    index = faiss.IndexIDMap2(base)
    index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.ascontiguousarray(ids, np.int64))
    return index


# Up to this many queries, a search runs on the calling thread alone. Faiss splits a search over queries
# with OpenMP, so one track's 1-4 vectors gain at most ~1 ms from a second core on a quiet 2-core CPU,
# while on a CPU shared with other work waiting for the OpenMP pool costs 5-40 ms a search: 10 entries,
# 3 vectors: 16-24 ms with 2 threads vs 0.05 ms with one; 20,000 entries: 18-34 ms vs 4 ms
# (bench/bench_search.py --threads; figures in bench/README.md).
FEW_QUERIES = 16


def search_few(index: faiss.Index, queries: np.ndarray, k: int):
    """index.search, single-threaded for small batches (the OpenMP setting is per calling thread)."""
    if len(queries) > FEW_QUERIES:
        return index.search(queries, k)
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(queries, k)
    finally:
        faiss.omp_set_num_threads(before)


class FeatureIndex:
    """Entries of one model and category; answers with the best entry per identity."""

    def __init__(self, entry_ids: np.ndarray, identity_ids: np.ndarray, vectors: np.ndarray, exact_limit=EXACT_LIMIT,
                 model: str = ""):
        self.model = model
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
            raise ModelError(
                f"The gallery's features for ReID model '{self.model}' are {self.dim}-d but the model gives "
                f"{queries.shape[1]}-d: they came from another model file under the same name and cannot be compared. "
                "Put the original model file back, or register the photos again."
            )
        k = min(self.size, max(k_identities * 4, 16))
        sims, ids = search_few(self.index, np.ascontiguousarray(queries, np.float32), k)
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

    def check_model(self, model: str, category: str) -> None:
        """Refuses (ModelError, saying what to do) a gallery whose `category` photos were embedded by another model
        than `model`: features of different models are never compared."""
        foreign = self.gallery.foreign_features(model, category)
        if foreign:
            n = sum(foreign.values())
            raise ModelError(
                f"{n} {category} photo(s) in the gallery were embedded by ReID model(s) "
                f"{', '.join(repr(m) for m in sorted(foreign))}, not by the active model '{model}': features of "
                f"different models cannot be compared. Re-embed them with `python -m Algorithm models use {model} "
                f"--category {category} --gallery \"{self.gallery.path}\"` (or choose the model again in Settings), "
                f"or switch back to that model."
            )

    def get(self, model: str, category: str) -> FeatureIndex:
        rev = self.gallery.revision()
        with self._lock:
            hit = self._cache.get((model, category))
            if hit and hit[0] == rev:
                return hit[1]
            self.check_model(model, category)
            idx = FeatureIndex(*self.gallery.features(model, category), model=model)
            self._cache[(model, category)] = (rev, idx)
            return idx
