"""One identity per box and one box per identity, within one frame."""
from __future__ import annotations

from Algorithm.types import Hit


def assign_unique(candidates: list[list[Hit]], threshold: float) -> list[Hit | None]:
    """Gives each identity to at most one query (the closest), each query at most one identity.

    Greedy over all (query, identity) pairs under the threshold in order of distance: each pair taken is
    the closest one left, so the closest pair overall always wins. It is not an optimal assignment (it
    does not minimise the sum of distances; Hungarian would), but it never gives an identity to a box
    that is farther from it than another box left unmatched for it, which is the rule users expect.
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
