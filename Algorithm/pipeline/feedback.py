"""The user's verdicts as the pipeline applies them: a rejected track is never given that identity again.

Two rules, both per identity:
- the same file processed again (a later run, the footage index): a box that overlaps a rejected box of
  the identity at the same frame (IoU >= SAME_BOX_IOU) takes its track out of the identity's candidates;
- anywhere: a view nearer to a rejected view of the identity than to the identity's own photos is no
  evidence for it (the rejected views are negative examples; they count for the model that embedded them).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from Algorithm.geometry import iou
from Algorithm.types import Hit

SAME_BOX_IOU = 0.5


@dataclass
class Rejections:
    boxes: dict[int, dict[int, list[tuple]]] = field(default_factory=dict)  # identity -> frame -> rejected boxes
    negatives: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # (model, cat)

    @classmethod
    def load(cls, gallery, path: str | None, keys: list[tuple[str, str]]) -> Rejections:
        """The rejections of `path` (None: none by box) and the negatives of the (model, category) pairs."""
        r = cls()
        if path is not None:
            for row in gallery.feedback(source=os.path.abspath(path), verdict="reject"):
                per = r.boxes.setdefault(row[1], {})
                for frame, box in row[5]:
                    per.setdefault(frame, []).append(box)
        for key in keys:
            ids, vecs = gallery.negatives(*key)
            if len(ids):
                r.negatives[key] = (ids, vecs)
        return r

    def __bool__(self) -> bool:
        return bool(self.boxes or self.negatives)

    def banned_at(self, frame: int, box) -> list[int]:
        """Identities a box at this frame was rejected for (the same track seen again)."""
        return [ident for ident, frames in self.boxes.items()
                if any(iou(box, b) >= SAME_BOX_IOU for b in frames.get(int(frame), ()))]

    def filter(self, model: str, category: str, views: np.ndarray, hits: list[list[Hit]]) -> list[list[Hit]]:
        """Each view's hits without those the view is nearer to a rejected view of (negative examples)."""
        neg = self.negatives.get((model, category))
        if neg is None or len(views) == 0:
            return hits
        ids, vecs = neg
        if vecs.shape[1] != views.shape[1]:
            return hits
        d = 1.0 - np.asarray(views, np.float32) @ vecs.T  # (views, negatives)
        out = []
        for i, row in enumerate(hits):
            keep = []
            for h in row:
                mine = ids == h.identity_id
                if not mine.any() or float(d[i, mine].min()) >= h.distance:
                    keep.append(h)
            out.append(keep)
        return out
