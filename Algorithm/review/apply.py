"""Verdicts applied to results already on screen: a rejected track loses that identity at once (in this run),
without processing again; later runs and the footage index apply them as they decide (pipeline.feedback)."""
from __future__ import annotations

from dataclasses import replace

from Algorithm.pipeline.feedback import Rejections
from Algorithm.pipeline.resume import gap_s
from Algorithm.pipeline.sightings import SightingsBuilder
from Algorithm.settings import Settings
from Algorithm.types import FileResult


def without_rejected(result: FileResult, rejected: Rejections, settings: Settings) -> FileResult:
    """The result without the boxes rejected for their identity, its sightings rebuilt from what is left."""
    if not rejected.boxes or result.error:
        return result
    builder = SightingsBuilder(gap_s(result, settings), result.width, result.height)
    frames = []
    for f in result.frames:
        kept = [b for b in f.boxes if not (b.match and b.match.identity_id in rejected.banned_at(f.frame_index, b.box))]
        for b in kept:
            if b.match:
                builder.add(b.match.identity_id, b.match.label, f.frame_index, f.time_s, b.box, b.match.distance, b.score)
        if any(b.match for b in kept):
            frames.append(replace(f, boxes=kept))
    return replace(result, frames=frames, sightings=builder.result())
