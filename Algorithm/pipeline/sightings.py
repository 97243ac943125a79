"""Turns per-frame matches into sightings: time segments per identity, short gaps merged, each with its best view.

Best frame = best *view*, not merely the closest frame: a track's frames often all carry one distance (the
track's closest view), so "closest" alone picked the first frame, typically someone entering, cut by the edge.
Among the segment's frames whose distance is within BEST_VIEW_MARGIN of its closest, the best frame is:
uncut first (track_cache.crop_quality, the one home of the edge rule), then the largest, then the more
confident, then the closer, then the earlier. A segment's best_distance stays its closest distance.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from Algorithm.pipeline.track_cache import crop_quality
from Algorithm.types import Segment, Sighting

# Distances (1 - cosine) this close to the segment's closest count as equally good likenesses: well under
# the gap between one person's views and another person's (thresholds are 0.1-0.5), above frame-to-frame noise.
BEST_VIEW_MARGIN = 0.02


def merge_gap(max_gap_s: float, sample_ft: int, fps: float) -> float:
    """Largest gap (s) closed inside one segment: at least 1.5 sampling steps, so sampleFt never splits one."""
    return max(max_gap_s, 1.5 * sample_ft / fps)


@dataclass(frozen=True)
class _View:
    frame: int
    time_s: float
    box: tuple
    distance: float
    rank: tuple[bool, float, float]  # (not cut by the frame edge, area, confidence): higher is a better view


@dataclass
class _Views:
    """Candidates for one segment's best frame. Only views not beaten on both distance and rank are kept (one
    farther and no better can never win, as the margin only tightens), so a long segment keeps a handful."""

    closest: float = float("inf")
    views: list[_View] = field(default_factory=list)

    def add(self, v: _View) -> None:
        self.closest = min(self.closest, v.distance)
        limit = self.closest + BEST_VIEW_MARGIN
        if v.distance > limit or any(o.distance <= v.distance and o.rank >= v.rank for o in self.views):
            return
        self.views = [o for o in self.views
                      if o.distance <= limit and not (v.distance <= o.distance and v.rank >= o.rank)] + [v]

    def best(self) -> _View:
        return max(self.views, key=lambda o: (o.rank, -o.distance, -o.frame))


class SightingsBuilder:
    def __init__(self, max_gap_s: float = 1.0, width: int = 0, height: int = 0):
        """`width`, `height`: the frame size, for the edge rule (0: unknown, no box counts as cut)."""
        self.max_gap_s = max_gap_s
        self.width, self.height = width, height
        self._segments: dict[int, list[Segment]] = {}
        self._views: dict[int, _Views] = {}  # identity -> candidates of its last (still growing) segment
        self._labels: dict[int, str] = {}

    def _rank(self, box, score: float) -> tuple[bool, float, float]:
        """(uncut, area, confidence): larger is better, in that order."""
        if self.width > 0 and self.height > 0:
            q, cut = crop_quality(box, self.width, self.height)
            return not cut, q, float(score)
        x1, y1, x2, y2 = box
        return True, max(0.0, x2 - x1) * max(0.0, y2 - y1), float(score)

    def add(self, identity_id: int, label: str, frame: int, time_s: float, box, distance: float,
            score: float = 1.0) -> None:
        """One matched box; `score` is its detector confidence."""
        self._labels[identity_id] = label
        segs = self._segments.setdefault(identity_id, [])
        last = segs[-1] if segs else None
        if last is not None and time_s - last.end_time <= self.max_gap_s:
            last.end_frame, last.end_time = frame, time_s
            last.hits += 1
            last.best_distance = min(last.best_distance, distance)
        else:
            last = Segment(frame, frame, time_s, time_s, frame, distance, tuple(box), best_time=time_s)
            segs.append(last)
            self._views[identity_id] = _Views()
        views = self._views[identity_id]
        views.add(_View(frame, time_s, tuple(box), distance, self._rank(box, score)))
        best = views.best()
        last.best_frame, last.best_box, last.best_time = best.frame, best.box, best.time_s

    def result(self) -> list[Sighting]:
        return sorted(
            (Sighting(i, self._labels[i], list(s)) for i, s in self._segments.items()),
            key=lambda s: s.segments[0].start_time,
        )
