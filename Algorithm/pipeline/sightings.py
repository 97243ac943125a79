"""Turns per-frame matches into sightings: time segments per identity, short gaps merged."""
from __future__ import annotations

from Algorithm.types import Segment, Sighting


def merge_gap(max_gap_s: float, sample_ft: int, fps: float) -> float:
    """Largest gap (s) closed inside one segment: at least 1.5 sampling steps, so sampleFt never splits one."""
    return max(max_gap_s, 1.5 * sample_ft / fps)


class SightingsBuilder:
    def __init__(self, max_gap_s: float = 1.0):
        self.max_gap_s = max_gap_s
        self._segments: dict[int, list[Segment]] = {}
        self._labels: dict[int, str] = {}

    def add(self, identity_id: int, label: str, frame: int, time_s: float, box, distance: float) -> None:
        self._labels[identity_id] = label
        segs = self._segments.setdefault(identity_id, [])
        last = segs[-1] if segs else None
        if last is not None and time_s - last.end_time <= self.max_gap_s:
            last.end_frame, last.end_time = frame, time_s
            last.hits += 1
            if distance < last.best_distance:
                last.best_frame, last.best_distance, last.best_box, last.best_time = frame, distance, tuple(box), time_s
        else:
            segs.append(Segment(frame, frame, time_s, time_s, frame, distance, tuple(box), best_time=time_s))

    def result(self) -> list[Sighting]:
        return sorted(
            (Sighting(i, self._labels[i], list(s)) for i, s in self._segments.items()),
            key=lambda s: s.segments[0].start_time,
        )
