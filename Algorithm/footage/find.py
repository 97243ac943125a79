"""`find`: a search answered from the footage index, with no decoding, by the rules of a live search.

A live search gives every track (stretch) the identity of its closest view under the threshold, one box
per identity and frame (TrackResolver). The index keeps each stretch's boxes and every vector it was
searched with, so find feeds the same resolver with the same hits and gets the same frames and sightings.

Which tracks to look at: the Faiss index of the tracks' aggregate features gives the tracks near any
gallery photo; a track's closest view can be nearer than its aggregate, so tracks up to VIEW_MARGIN
beyond the threshold are candidates, and k grows until the nearest left out are farther than that.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from Algorithm.pipeline.feedback import Rejections
from Algorithm.pipeline.resolve import TrackResolver
from Algorithm.pipeline.schedule import fill_span
from Algorithm.pipeline.sightings import merge_gap
from Algorithm.rules import SPEEDS
from Algorithm.storage.footage_index import FootageIndex, SourceInfo, Track
from Algorithm.storage.vector_index import FeatureIndex
from Algorithm.types import FileResult

# Aggregate-to-closest-view gap: on the pedestrian video and MOT17-mini (retail-0277) a track's closest view
# is at most 0.12 nearer to a photo than its aggregate (tests/test_find.py measures it); 0.25 leaves room.
VIEW_MARGIN = 0.25
FIRST_K = 256


@dataclass
class Wanted:
    """What one category is searched for: the identities' photos (a gallery index), the model, the threshold."""

    model: str
    threshold: float
    gallery: FeatureIndex
    vectors: np.ndarray  # the gallery's photo features (candidate retrieval)


def candidates(footage: FootageIndex, model: str, category: str, vectors: np.ndarray, limit: float) -> set[int]:
    """Ids of the tracks whose aggregate is within `limit` of any of `vectors` (k grows until it is exhaustive)."""
    n = footage.index_size(model, category)
    if n == 0 or len(vectors) == 0:
        return set()
    k = min(n, FIRST_K)
    while True:
        rows = footage.nearest(model, category, vectors, k)
        found = {tid for row in rows for tid, d in row if d < limit}
        if k >= n or all(not row or row[-1][1] >= limit for row in rows):
            return found
        k = min(n, k * 4)


def in_scope(path: str, scope: list[str] | None) -> bool:
    """Whether an indexed source is among the files or folders named (None: every source)."""
    if not scope:
        return True
    for s in scope:
        s = os.path.abspath(s)
        if path == s or path.startswith(s.rstrip(os.sep) + os.sep):
            return True
    return False


def _rows(track: Track, fps: float | None, after: float | None, before: float | None):
    rate = fps or 1.0
    scores = track.scores if track.scores is not None else np.ones(len(track.frames), np.float32)
    out = []
    for f, box, sc in zip(track.frames.tolist(), track.boxes, scores.tolist()):
        t = f / rate if fps else 0.0
        if (after is not None and t < after) or (before is not None and t > before):
            continue
        out.append((int(f), t, tuple(float(v) for v in box), float(sc)))
    return out


def find(footage: FootageIndex, wanted: dict[str, Wanted], labels: dict[int, str], identities: set[int] | None = None,
         scope: list[str] | None = None, after: float | None = None, before: float | None = None,
         max_gap_s: float = 1.0, rejections: Callable[[str], Rejections] | None = None) -> list[FileResult]:
    """One FileResult per indexed source in scope (failed ones with their reason), as a search would give them.
    `identities`: keep only these in the results (every identity still competes for each box, as in a search).
    `rejections(path)`: the user's verdicts for a file, applied as a search applies them."""
    sources = {s.id: s for s in footage.sources() if in_scope(s.path, scope)}
    resolvers: dict[int, TrackResolver] = {}
    rejected: dict[int, Rejections] = {}
    thresholds = {c: w.threshold for c, w in wanted.items()}
    for cat, w in wanted.items():
        ids = candidates(footage, w.model, cat, w.vectors, w.threshold + VIEW_MARGIN)
        for track in footage.load_tracks(sorted(ids), w.model):
            src = sources.get(track.info.source_id)
            feats = track.features.get(w.model)
            if src is None or feats is None:
                continue
            rows = _rows(track, src.fps, after, before)
            if not rows:
                continue
            views = np.vstack([feats.aggregate[None], feats.crops]) if len(feats.crops) else feats.aggregate[None]
            views = np.ascontiguousarray(views, np.float32)
            res = resolvers.setdefault(src.id, TrackResolver(thresholds, forget_frames=1 << 62))
            if rejections is not None and src.id not in rejected:
                rejected[src.id] = rejections(src.path)
            rej = rejected.get(src.id) or Rejections()
            if rej.boxes:
                for f, box in zip(track.frames.tolist(), track.boxes):
                    for ident in rej.banned_at(f, box):
                        res.ban(track.info.id, cat, rows[0][0], ident)
            for hits in rej.filter(w.model, cat, views, w.gallery.search(views)):
                res.observe(track.info.id, cat, rows[0][0], hits)
            res.add_track(track.info.id, cat, rows)
    out = []
    for sid, src in sources.items():
        res = _file_result(src)
        res.warning = disk_caution(footage, src.path)
        if sid in resolvers and res.error is None:
            frames, sightings = resolvers[sid].resolve(src.path, labels, res.frame_count, _gap(src, max_gap_s),
                                                       (src.width or 0, src.height or 0), _fill(src))
            if identities is not None:
                frames = [f for f in frames if any(b.match.identity_id in identities for b in f.matches)]
                for f in frames:
                    f.boxes = [b for b in f.boxes if b.match is not None and b.match.identity_id in identities]
                sightings = [s for s in sightings if s.identity_id in identities]
            res.frames, res.sightings = frames, sightings
        out.append(res)
    return out


def disk_caution(footage: FootageIndex, path: str) -> str | None:
    """What a user must know of an indexed file's sightings when the file is not as it was indexed: gone (they
    cannot be played back) or changed (they are of the earlier file, and would be shown on the new one)."""
    state = footage.source_status(path)
    if state.status == "missing":
        return f"not on disk now ({state.reason}): what the footage index holds of it cannot be played back"
    if state.status == "changed":
        return (f"changed on disk since it was indexed ({state.reason}): what the footage index holds is of the file "
                "as it was; index it again")
    return None


def _gap(src: SourceInfo, max_gap_s: float) -> float:
    if src.kind != "video" or not src.fps:
        return max_gap_s
    sample_ft = int(json.loads(src.settings or "{}").get("sample_ft", 1))
    return merge_gap(max_gap_s, sample_ft, src.fps)


def _fill(src: SourceInfo) -> tuple[int, int] | None:
    """The frames a speed mode's detector skipped are interpolated, as the search that indexed them did."""
    used = json.loads(src.settings or "{}")
    speed = SPEEDS.get(used.get("speed", "exact"), SPEEDS["exact"])
    if src.kind != "video" or not used.get("tracking", True):
        return None
    return fill_span(speed, int(used.get("sample_ft", 1)))


def _file_result(src: SourceInfo) -> FileResult:
    res = FileResult(src.path, src.kind, src.width or 0, src.height or 0, src.fps or 0.0, src.frames or 0,
                     fingerprint=src.hash)
    res.stats.time_drift_s = src.time_drift_s or 0.0  # its times are approximate (FileResult.time_caution)
    if src.status == "failed":
        res.error = src.reason or "the file could not be processed"
    res.stopped = src.status == "partial"
    return res
