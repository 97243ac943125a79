"""Track-level identity: a track is one object, so once a video is done every track gets the identity of
its closest view over its whole life, and all its frames carry it.

While a video plays, each track already carries its closest identity so far (one box per identity and
frame); a later, better view can still change it, so at the end every frame of the track is given the
track's final identity, and the results and sightings are rebuilt from that. Tracks that never came under the
threshold are dropped as soon as they end, so memory grows with what was matched, not with the video's length.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from Algorithm.pipeline.sightings import SightingsBuilder
from Algorithm.types import BoxResult, FrameResult, Hit, Match, Sighting


@dataclass
class _TrackLog:
    category: str
    last_frame: int
    rows: list[tuple[int, float, tuple, float, Match | None]] = field(default_factory=list)  # frame, t, box, score, live match
    best: dict[int, Hit] = field(default_factory=dict)  # identity -> closest hit over the track's life
    banned: set[int] = field(default_factory=set)  # identities the user rejected this track for


def _filled(rows, fill: tuple[int, int] | None):
    """A track's rows with `interpolated` False, and, with `fill`, linearly interpolated rows (True) in the gaps
    the detector skipped (a longer gap is the track lost for a while: left empty, as a detection would)."""
    rows = sorted(rows, key=lambda r: r[0])
    prev = None
    for r in rows:
        if fill is not None and prev is not None:
            step, most = fill
            gap = r[0] - prev[0]
            if step < gap <= most:
                a, b = np.asarray(prev[2], float), np.asarray(r[2], float)
                for f in range(prev[0] + step, r[0], step):
                    w = (f - prev[0]) / gap
                    yield (f, prev[1] + w * (r[1] - prev[1]), tuple((a + w * (b - a)).tolist()), min(prev[3], r[3]),
                           None, True)
        yield (*r, False)
        prev = r


class TrackResolver:
    def __init__(self, thresholds: dict[str, float], forget_frames: int = 90):
        self.thresholds = thresholds
        self.forget_frames = forget_frames
        self.tracks: dict[int, _TrackLog] = {}

    def observe(self, track_id: int, category: str, frame_idx: int, hits: list[Hit]) -> None:
        """Merges a track's latest candidates into its closest-per-identity record."""
        log = self.tracks.get(track_id)
        if log is None:
            log = self.tracks[track_id] = _TrackLog(category, frame_idx)
        for h in hits:
            if h.identity_id in log.banned:
                continue
            old = log.best.get(h.identity_id)
            if old is None or h.distance < old.distance:
                log.best[h.identity_id] = h

    def ban(self, track_id: int, category: str, frame_idx: int, identity_id: int) -> None:
        """The user rejected this track as `identity_id`: it never takes that identity (now or later in the run)."""
        log = self.tracks.get(track_id)
        if log is None:
            log = self.tracks[track_id] = _TrackLog(category, frame_idx)
        log.banned.add(identity_id)
        log.best.pop(identity_id, None)

    def retain(self, identity_ids: set[int]) -> None:
        """Forgets candidates of identities deleted from the gallery during the run."""
        for log in self.tracks.values():
            for ident in [i for i in log.best if i not in identity_ids]:
                del log.best[ident]

    def best_hits(self, track_id: int) -> list[Hit]:
        """The track's candidates so far, nearest first: live decisions use what the final result will."""
        log = self.tracks.get(track_id)
        return sorted(log.best.values(), key=lambda h: h.distance) if log else []

    def settled(self, track_id: int) -> bool:
        """Whether the track already has an identity under the threshold."""
        log = self.tracks.get(track_id)
        return log is not None and self._final(log) is not None

    def add(self, frame_idx: int, time_s: float, boxes: list[BoxResult]) -> None:
        """Logs this frame's tracked boxes (with their live matches) for the end-of-video resolution."""
        for b in boxes:
            if b.track_id < 0:
                continue
            log = self.tracks.get(b.track_id)
            if log is None:
                log = self.tracks[b.track_id] = _TrackLog(b.category, frame_idx)
            log.last_frame = frame_idx
            log.rows.append((frame_idx, time_s, b.box, b.score, b.match))
        if frame_idx % 50 == 0:
            self._drop_unmatched_ended(frame_idx)

    def add_track(self, track_id: int, category: str, rows: list[tuple[int, float, tuple, float]]) -> None:
        """A whole stored track at once (the footage index): rows of (frame, time, box, score), no live match."""
        log = self.tracks.get(track_id)
        if log is None:
            log = self.tracks[track_id] = _TrackLog(category, rows[-1][0] if rows else 0)
        log.rows.extend((f, t, box, score, None) for f, t, box, score in rows)

    def _final(self, log: _TrackLog) -> Hit | None:
        under = [h for h in log.best.values() if h.distance < self.thresholds.get(log.category, 0.0)]
        return min(under, key=lambda h: h.distance) if under else None

    def _drop_unmatched_ended(self, frame_idx: int) -> None:
        for tid in [t for t, log in self.tracks.items()
                    if frame_idx - log.last_frame > self.forget_frames and self._final(log) is None]:
            del self.tracks[tid]

    def resolve(self, path: str, labels: dict[int, str], total_frames: int, max_gap_s: float,
                frame_size: tuple[int, int] = (0, 0), fill: tuple[int, int] | None = None,
                ) -> tuple[list[FrameResult], list[Sighting]]:
        """Frames with matches (no pixels) and the sightings, each track under its one identity. `frame_size`
        (width, height) lets each segment's best frame avoid boxes cut by the frame edge. `fill` = (step, most):
        the frames the detector skipped (speed modes) get each track's box interpolated between two detections
        at most `most` frames apart, every `step` frames (marked interpolated)."""
        per_frame: dict[int, list[tuple[float, int, BoxResult]]] = {}
        times: dict[int, float] = {}
        for tid, log in self.tracks.items():
            final = self._final(log)
            if final is None or final.identity_id not in labels:  # identity deleted during the run
                continue
            for frame, t, box, score, live, interp in _filled(log.rows, fill):
                dist = live.distance if live is not None and live.identity_id == final.identity_id else final.distance
                m = Match(final.identity_id, labels[final.identity_id], dist, final.entry_id)
                per_frame.setdefault(frame, []).append(
                    (final.distance, tid, BoxResult(box, score, log.category, tid, m, interpolated=interp)))
                times[frame] = t
        frames, builder = [], SightingsBuilder(max_gap_s, *frame_size)
        for frame in sorted(per_frame):
            taken, kept = set(), []
            for _, _, b in sorted(per_frame[frame], key=lambda c: (c[0], c[1])):  # one box per identity: the closest track
                if b.match.identity_id in taken:
                    continue
                taken.add(b.match.identity_id)
                kept.append(b)
                builder.add(b.match.identity_id, b.match.label, frame, times[frame], b.box, b.match.distance, b.score)
            frames.append(FrameResult(path, frame, times[frame], kept, None, total_frames))
        return frames, builder.result()
