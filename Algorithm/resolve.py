"""Track-level identity: a track is one object, so once a video is done every track gets the identity of
its closest view over its whole life, and all its frames carry it.

While a video plays, matches are decided frame by frame from what each track has shown so far; an early,
poor view can briefly give a track the wrong identity. Resolving per track at the end removes that flicker
from the results and sightings. Tracks that never came under the threshold are dropped as soon as they
end, so memory grows with what was matched, not with the video's length.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .search import Hit
from .sightings import SightingsBuilder
from .types import BoxResult, FrameResult, Match, Sighting


@dataclass
class _TrackLog:
    category: str
    last_frame: int
    rows: list[tuple[int, float, tuple, float, Match | None]] = field(default_factory=list)  # frame, t, box, score, live match
    best: dict[int, Hit] = field(default_factory=dict)  # identity -> closest hit over the track's life


class TrackResolver:
    def __init__(self, thresholds: dict[str, float], forget_frames: int = 90):
        self.thresholds = thresholds
        self.forget_frames = forget_frames
        self.tracks: dict[int, _TrackLog] = {}

    def add(self, frame_idx: int, time_s: float, boxes: list[BoxResult], hits: dict[int, list[Hit]]) -> None:
        for b in boxes:
            if b.track_id < 0:
                continue
            log = self.tracks.get(b.track_id)
            if log is None:
                log = self.tracks[b.track_id] = _TrackLog(b.category, frame_idx)
            log.last_frame = frame_idx
            log.rows.append((frame_idx, time_s, b.box, b.score, b.match))
        for tid, track_hits in hits.items():
            log = self.tracks.get(tid)
            if log is None:
                continue
            for h in track_hits:
                old = log.best.get(h.identity_id)
                if old is None or h.distance < old.distance:
                    log.best[h.identity_id] = h
        if frame_idx % 50 == 0:
            self._drop_unmatched_ended(frame_idx)

    def _final(self, log: _TrackLog) -> Hit | None:
        under = [h for h in log.best.values() if h.distance < self.thresholds.get(log.category, 0.0)]
        return min(under, key=lambda h: h.distance) if under else None

    def _drop_unmatched_ended(self, frame_idx: int) -> None:
        for tid in [t for t, log in self.tracks.items()
                    if frame_idx - log.last_frame > self.forget_frames and self._final(log) is None]:
            del self.tracks[tid]

    def resolve(self, path: str, labels: dict[int, str], total_frames: int, max_gap_s: float) -> tuple[list[FrameResult], list[Sighting]]:
        """Frames with matches (no pixels) and the sightings, each track under its one identity."""
        per_frame: dict[int, list[tuple[float, int, BoxResult]]] = {}
        times: dict[int, float] = {}
        for tid, log in self.tracks.items():
            final = self._final(log)
            if final is None or final.identity_id not in labels:  # identity deleted during the run
                continue
            for frame, t, box, score, live in log.rows:
                dist = live.distance if live is not None and live.identity_id == final.identity_id else final.distance
                m = Match(final.identity_id, labels[final.identity_id], dist, final.entry_id)
                per_frame.setdefault(frame, []).append((final.distance, tid, BoxResult(box, score, log.category, tid, m)))
                times[frame] = t
        frames, builder = [], SightingsBuilder(max_gap_s)
        for frame in sorted(per_frame):
            taken, kept = set(), []
            for _, _, b in sorted(per_frame[frame], key=lambda c: (c[0], c[1])):  # one box per identity: the closest track
                if b.match.identity_id in taken:
                    continue
                taken.add(b.match.identity_id)
                kept.append(b)
                builder.add(b.match.identity_id, b.match.label, frame, times[frame], b.box, b.match.distance)
            frames.append(FrameResult(path, frame, times[frame], kept, None, total_frames))
        return frames, builder.result()
