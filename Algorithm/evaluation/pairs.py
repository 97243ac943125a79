"""Distances of same-identity ("genuine") and different-identity ("impostor") pairs of features: what the
threshold calibration learns from."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from Algorithm.evaluation.metrics import DISTRACTOR_PID, JUNK_PID

MAX_IMPOSTOR_PAIRS = 3_000_000  # above this, impostor pairs are sampled (seeded) to bound memory


@dataclass
class Pairs:
    genuine: np.ndarray  # distances of same-identity pairs
    impostor: np.ndarray  # distances of different-identity pairs
    n_images: int = 0
    n_identities: int = 0
    impostor_total: int = 0  # before sampling
    notes: list[str] = field(default_factory=list)


def pair_distances(
    feats: np.ndarray,
    pids,
    cams=None,
    groups=None,
    exclude_same_cam: bool = True,
    max_impostors: int = MAX_IMPOSTOR_PAIRS,
    seed: int = 0,
    block: int = 256,
) -> Pairs:
    """Distances of every unordered pair inside a group: genuine = same pid (and, when cameras are given and
    `exclude_same_cam`, a different camera, as in the ReID protocol), impostor = different pids.
    pid -1 (junk) takes no part; pid 0 (distractors) only in impostor pairs against real identities."""
    feats = np.asarray(feats, np.float32)
    pids = np.asarray(pids)
    n = len(pids)
    exclude_same_cam = exclude_same_cam and cams is not None  # without cameras there is nothing to exclude
    cams = np.zeros(n, int) if cams is None else np.asarray(cams)
    groups = np.zeros(n, int) if groups is None else np.asarray(groups)
    use = pids != JUNK_PID
    feats, pids, cams, groups = feats[use], pids[use], cams[use], groups[use]
    n = len(pids)
    # exact number of impostor pairs, to decide on sampling up front
    _, gcount = np.unique(groups, return_counts=True)
    _, pcount = np.unique(pids[pids != DISTRACTOR_PID], return_counts=True)
    n_zero = int((pids == DISTRACTOR_PID).sum())
    impostor_total = int((gcount * (gcount - 1) // 2).sum() - (pcount * (pcount - 1) // 2).sum() - n_zero * (n_zero - 1) // 2)
    keep_p = min(1.0, max_impostors / impostor_total) if impostor_total else 1.0
    rng = np.random.default_rng(seed)
    gen, imp = [], []
    for s in range(0, n, block):
        e = min(s + block, n)
        d = 1.0 - feats[s:e] @ feats.T
        ii = np.arange(s, e)[:, None]
        jj = np.arange(n)[None, :]
        pair = (jj > ii) & (groups[s:e, None] == groups[None, :])
        same = pids[s:e, None] == pids[None, :]
        g = pair & same & (pids[s:e, None] != DISTRACTOR_PID)
        if exclude_same_cam:
            g &= cams[s:e, None] != cams[None, :]
        im = pair & ~same
        if keep_p < 1.0:
            im &= rng.random(im.shape) < keep_p
        gen.append(d[g])
        imp.append(d[im])
    out = Pairs(
        np.clip(np.concatenate(gen) if gen else np.zeros(0), 0.0, 2.0).astype(np.float64),
        np.clip(np.concatenate(imp) if imp else np.zeros(0), 0.0, 2.0).astype(np.float64),
        n_images=n,
        n_identities=len(pcount),
        impostor_total=impostor_total,
    )
    if keep_p < 1.0:
        out.notes.append(f"{len(out.impostor)} of {impostor_total} impostor pairs sampled at random (seed {seed})")
    return out
