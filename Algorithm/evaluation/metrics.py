"""Retrieval metrics (Rank-k / CMC, mAP, mINP under the Market-1501 protocol) and the small scoring helpers
(IoU of boxes, a ratio that is None without a denominator). Pure numpy: no files, no models.

Distances are 1 - cosine similarity of L2-normalised features, as everywhere in the engine; a pair
"matches" at threshold t when its distance is < t (the rule of `pipeline.match.assign_unique`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

# Market-1501 / DukeMTMC / VeRi identities: pid -1 is junk, 0000 are distractors.
JUNK_PID = -1
DISTRACTOR_PID = 0
RANKS = (1, 5, 10)


@dataclass
class QueryRank:
    """How one query ranked: where its first true match came, its AP and INP (None when it has no valid match)."""

    query: str
    pid: int
    valid: bool
    first_hit_rank: int | None = None  # 1-based
    ap: float | None = None
    inp: float | None = None
    positives: int = 0

    def to_json(self) -> dict:
        d = {"query": self.query, "pid": self.pid, "valid": self.valid}
        if self.valid:
            d.update(first_hit_rank=self.first_hit_rank, ap=round(self.ap, 6), inp=round(self.inp, 6), positives=self.positives)
        return d


@dataclass
class RankMetrics:
    """Rank-k, mAP and mINP over the valid queries; every metric is None when no query is valid."""

    per_query: list[QueryRank]
    ranks: dict[int, float | None]  # k -> share of valid queries with a true match within the first k
    mAP: float | None
    mINP: float | None

    @property
    def n_queries(self) -> int:
        return len(self.per_query)

    @property
    def n_valid_queries(self) -> int:
        return sum(q.valid for q in self.per_query)

    @property
    def n_no_match(self) -> int:
        return self.n_queries - self.n_valid_queries

    @property
    def queries_without_match(self) -> list[str]:
        return [q.query for q in self.per_query if not q.valid]

    @classmethod
    def of(cls, per_query: list[QueryRank], ranks: Sequence[int] = RANKS) -> "RankMetrics":
        valid = [q for q in per_query if q.valid]
        return cls(
            per_query,
            {k: float(np.mean([q.first_hit_rank <= k for q in valid])) if valid else None for k in ranks},
            float(np.mean([q.ap for q in valid])) if valid else None,
            float(np.mean([q.inp for q in valid])) if valid else None,
        )

    @classmethod
    def merge(cls, parts: Sequence["RankMetrics"], ranks: Sequence[int] = RANKS) -> "RankMetrics":
        """The metrics of all the queries of several blocks (the means are over queries, not over blocks)."""
        return cls.of([q for p in parts for q in p.per_query], ranks)

    def to_json(self) -> dict:
        return {
            "n_queries": self.n_queries,
            "n_valid_queries": self.n_valid_queries,
            "n_no_match": self.n_no_match,
            "queries_without_match": self.queries_without_match,
            **{f"rank{k}": v for k, v in self.ranks.items()},
            "mAP": self.mAP,
            "mINP": self.mINP,
            "per_query": [q.to_json() for q in self.per_query],
        }


def rank_metrics(
    distmat: np.ndarray,
    q_pids: Sequence[int],
    g_pids: Sequence[int],
    q_cams: Sequence[int],
    g_cams: Sequence[int],
    ranks: Sequence[int] = RANKS,
    q_names: Sequence[str] | None = None,
) -> RankMetrics:
    """Rank-k (CMC), mAP and mINP under the Market-1501 protocol.

    For each query, gallery items of the same pid AND the same camera are removed (they are too easy),
    as are junk items (pid -1). Distractors (pid 0) stay as negatives. A query with no gallery item
    of its pid left cannot be scored; it is counted in `n_no_match` and listed, not silently dropped.
    Ties in distance keep gallery order (stable sort).
    """
    distmat = np.asarray(distmat, np.float64)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_cams, g_cams = np.asarray(q_cams), np.asarray(g_cams)
    per_query: list[QueryRank] = []
    for i in range(distmat.shape[0]):
        name = q_names[i] if q_names is not None else str(i)
        order = np.argsort(distmat[i], kind="stable")
        gp, gc = g_pids[order], g_cams[order]
        keep = ~((gp == q_pids[i]) & (gc == q_cams[i])) & (gp != JUNK_PID)
        matches = (gp[keep] == q_pids[i]).astype(np.int64)
        if not matches.any():
            per_query.append(QueryRank(name, int(q_pids[i]), False))
            continue
        pos = np.flatnonzero(matches)
        num_rel = len(pos)
        precision_at = np.cumsum(matches) / np.arange(1, len(matches) + 1)
        ap = float((precision_at * matches).sum() / num_rel)
        inp = float(num_rel / (pos[-1] + 1))
        per_query.append(QueryRank(name, int(q_pids[i]), True, int(pos[0]) + 1, ap, inp, num_rel))
    return RankMetrics.of(per_query, ranks)


def ratio(num: int, den: int) -> float | None:
    """num / den, or None when there is nothing to divide by (a rate that cannot be measured)."""
    return float(num / den) if den else None
