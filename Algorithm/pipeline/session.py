"""One video (or photo) being searched: all per-file state in one object.

    session = VideoSession(stages, source)
    for idx, frame in frames:
        fr = session.step(frame, idx)      # FrameResult: boxes with their live identity
    result = session.finish()              # FileResult: resolved frames, sightings, stats

Tracked and untracked runs take one code path: without tracking (and for photos) every box is its own
one-frame track, so it goes through the same cache, search, one-identity-per-box rule and resolution.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from Algorithm.pipeline.crop_policy import whole_crop_category
from Algorithm.pipeline.detect import Detector
from Algorithm.pipeline.embed import ReIdExtract
from Algorithm.pipeline.feedback import Rejections
from Algorithm.pipeline.look_queue import Look, LookQueue
from Algorithm.pipeline.match import assign_unique
from Algorithm.pipeline.recorder import TrackRecorder
from Algorithm.pipeline.resolve import TrackResolver
from Algorithm.pipeline.schedule import DetectionScheduler, fill_span, same_boxes
from Algorithm.pipeline.sightings import SightingsBuilder, merge_gap
from Algorithm.pipeline.stretches import Stretches
from Algorithm.pipeline.track import Tracker, track_buffer
from Algorithm.pipeline.track_cache import CachePolicy, TrackCache, hidden_boxes
from Algorithm.rules import SPEEDS
from Algorithm.settings import Settings
from Algorithm.sinks.footage_sink import FootageSink
from Algorithm.storage.vector_index import SearchIndex
from Algorithm.types import BoxResult, DetectionLog, Detections, FileResult, FrameResult, Match, Sighting


@dataclass
class CategoryModel:
    """The ReID model serving one category, its gallery index key and its distance threshold."""

    extractor: ReIdExtract
    model_name: str
    threshold: float


@dataclass
class Stages:
    """What a session runs: the detector, the ReID model per category, the gallery index, the settings."""

    detector: Detector
    models: dict[str, CategoryModel]
    index: SearchIndex
    settings: Settings
    recorded: DetectionLog | None = None  # replayed instead of running the detector (frames it lacks: none found)
    footage: FootageSink | None = None  # where what the run saw is indexed (None: nowhere)


@dataclass(frozen=True)
class Source:
    path: str
    kind: str  # "image" | "video"
    width: int
    height: int
    fps: float
    frame_count: int
    fingerprint: str = ""  # media.fingerprint of the file: kept in its results and in the footage index


class _OneFrameTracks:
    """Untracked runs and photos: a new id for every box of every frame."""

    def __init__(self):
        self._next = 0

    def update(self, dets: Detections, frame=None) -> Detections:
        out = dets.select(np.arange(len(dets)))
        out.track_id = np.arange(self._next, self._next + len(dets))
        self._next += len(dets)
        return out


# Frames kept for the look-back of a speed mode: the most a stride skips (rules.SPEEDS), and at most this many
# bytes (24 frames of 1080p are 150 MB; 4K would be 600): past it the oldest skipped frames are let go.
LOOK_BACK = max(m.max_stride for m in SPEEDS.values())
LOOK_BACK_BYTES = 256 << 20

# Weight of the newest frame in the average time a frame takes: about the last 50 frames, enough to span several
# detection strides of a speed mode.
_RATE_WEIGHT = 0.02

# One-frame tracks are embedded at once (nothing to wait for) and forgotten as soon as their frame is done.
_ONE_FRAME_POLICY = dict(wait_frames=0, max_retries=0, forget_frames=0)


class VideoSession:
    """Owns the tracker, the track cache, the resolver, the live sightings and the statistics of one file."""

    def __init__(self, stages: Stages, source: Source, recorder: TrackRecorder | None = None):
        s = stages.settings
        self.stages, self.source = stages, source
        self.recorder = recorder  # keeps what the footage index stores (None: nothing kept)
        tracked = s.tracking and source.kind == "video"
        speed = SPEEDS[s.speed]
        # Speed modes carry tracks between detections, so they need tracking (a video); exact detects every frame.
        self.scheduler = DetectionScheduler(speed, source.fps, s.sample_ft) if tracked and speed.skips else None
        # The tracker sees every processed frame (a skipped one as an empty update: its clock and predictions move
        # on), so its memory stays TRACK_MEMORY_S of video; the stretches' gap counts frames between detections.
        stride = s.sample_ft * (self.scheduler.stride if self.scheduler else 1)
        self.tracker = Tracker(s.tracker, track_buffer(source.fps, s.sample_ft)) if tracked else _OneFrameTracks()
        self.stretches = Stretches(source.fps, stride) if tracked else None
        self._held: list[BoxResult] = []  # the last detected frame's boxes, shown on the frames carried after it
        # frames skipped since the last detection, in order; the oldest lose their pixels past the look-back's memory
        self._skipped: list[tuple[int, np.ndarray | None]] = []
        self._last_dets = Detections.empty()  # the last detection (what skipped frames are carried with)
        # Exact runs detect every frame of a video, so the runner hands them over a few at a time (detect_ahead) for
        # one call of the detector; its boxes wait here until step() reaches their frame. A stand-in detector (a
        # bench's or a test's) without batch_size takes them one at a time.
        every = source.kind == "video" and self.scheduler is None and stages.recorded is None
        self.detect_batch = getattr(stages.detector, "batch_size", 1) if every else 1
        self._ahead: dict[int, Detections] = {}
        policy = (CachePolicy.for_video(source.fps, s.sample_ft, refresh_frames=s.refresh_frames) if tracked
                  else CachePolicy(**_ONE_FRAME_POLICY))
        self.cache = TrackCache(policy)
        self._looks = LookQueue(policy.batch_wait_frames, policy.batch_crops)
        self.resolver = TrackResolver({c: m.threshold for c, m in stages.models.items()}, policy.forget_frames)
        fps = source.fps or 1.0
        self.gap_s = merge_gap(s.max_gap_s, s.sample_ft, fps) if source.kind == "video" else s.max_gap_s
        self._live = SightingsBuilder(self.gap_s, source.width, source.height)
        self._live_changed = False
        self._searched: dict[int, tuple[int, int]] = {}  # track -> (feature version, gallery revision) last searched
        self._labels: tuple[int, dict[int, str]] = (-1, {})
        self._rejections: tuple[int, Rejections] = (-1, Rejections())
        self._crops_before = {c: m.extractor.calls for c, m in stages.models.items()}
        self.result = FileResult(source.path, source.kind, source.width, source.height, source.fps, source.frame_count,
                                 fingerprint=source.fingerprint)
        self._t0 = time.perf_counter()
        self._t_last = self._t0
        self._dt_ema = 0.0  # seconds a processed frame takes, averaged (the rate shown while it runs)
        self._last_index = -1

    # -- per frame ------------------------------------------------------------------------------
    def step(self, frame: np.ndarray, frame_index: int) -> FrameResult:
        """Detect, track, embed what needs it, search, and give each box its track's identity so far (in a speed
        mode, a frame the scheduler skips is carried: the last detection's boxes, interpolated in the results)."""
        src = self.source
        t_s = frame_index / src.fps if src.fps else 0.0
        if self.scheduler is not None and not self.scheduler.detect(frame):
            self._skipped.append((frame_index, frame))
            keep = max(1, min(LOOK_BACK, LOOK_BACK_BYTES // max(1, frame.nbytes)))
            if len(self._skipped) > keep:
                self._skipped[-keep - 1] = (self._skipped[-keep - 1][0], None)
            return self._carry(frame, frame_index, t_s)
        dets = self._detect(frame, frame_index)
        self._catch_up(self._skipped, dets)
        boxes = self._track_frame(frame, frame_index, t_s, dets)
        self._held = boxes
        return self._done(frame, frame_index, t_s, boxes)

    def detect_ahead(self, frames: list[tuple[int, np.ndarray]]) -> None:
        """Detects these coming (index, frame) pairs in one call (a batch of detect_batch at most); step() uses
        the boxes when it reaches each frame."""
        if len(frames) < 2:
            return  # one frame: step() detects it as usual
        s = self.stages.settings
        found = self.stages.detector.detect_many([f for _, f in frames], s.categories, s.det_conf)
        self._ahead.update(zip((i for i, _ in frames), found))

    def _catch_up(self, skipped: list[tuple[int, np.ndarray | None]], after: Detections) -> None:
        """Before a detection: the frames skipped since the last one go to the tracker in order (looked back at
        where the scene changed; the oldest, whose pixels were let go, carried)."""
        kept = [(i, f) for i, f in skipped if f is not None]
        for _ in range(len(skipped) - len(kept)):
            self._carry_tracker(self._last_dets)
        self._look_back(kept, self._last_dets, after)
        skipped.clear()

    def _carry_tracker(self, held: Detections, frame: np.ndarray | None = None) -> None:
        """A frame the detector skipped, for the tracker: the last detection's boxes again. Its clock moves on (a
        lost track is forgotten after TRACK_MEMORY_S of video, as in an every-frame run) and nothing drifts (an
        empty update would let the Kalman prediction walk a track away from someone who stopped)."""
        self.tracker.update(held.select(np.arange(len(held))), frame)

    def _look_back(self, frames: list[tuple[int, np.ndarray]], before: Detections, after: Detections) -> None:
        """Someone entered, left or moved more than the tracker can follow between two detections: some of the
        frames skipped in between are detected after all, in order, so tracks start, end and carry on where an
        every-frame run has them. Bisection: the middle frame first, then only the halves that still differ
        (a change costs ~log2(stride) detections, not a whole stride). The frames left are carried."""
        if not frames:
            return
        if same_boxes(before.xyxy, after.xyxy, self.scheduler.mode.flicker):
            for _, frame in frames:
                self._carry_tracker(before, frame)
            return
        mid = len(frames) // 2
        idx, frame = frames[mid]
        dets = self._detect(frame, idx)
        self.scheduler.looked_back(1)
        self._look_back(frames[:mid], before, dets)
        self._track_frame(frame, idx, idx / self.source.fps if self.source.fps else 0.0, dets)
        self._look_back(frames[mid + 1 :], dets, after)

    def _detect_last_skipped(self) -> None:
        """The run ends on skipped frames: its last frame is detected (and what changed before it, looked back
        at), so tracks end where an every-frame run ends them instead of at the last stride."""
        if not self._skipped or self._skipped[-1][1] is None:
            return
        *rest, (idx, frame) = self._skipped
        dets = self._detect(frame, idx)
        self.scheduler.looked_back(1)
        self._catch_up(rest, dets)
        self._track_frame(frame, idx, idx / self.source.fps if self.source.fps else 0.0, dets)
        self._skipped.clear()

    def _detect(self, frame: np.ndarray, frame_index: int) -> Detections:
        s = self.stages.settings
        self.result.stats.frames_detected += 1
        if self.stages.recorded is not None:
            dets = self.stages.recorded.frames.get(frame_index) or Detections.empty()
            return dets.select([i for i, c in enumerate(dets.category) if c in s.categories])  # a copy, as a detector gives
        dets = self._ahead.pop(frame_index, None)
        if dets is None:
            dets = self.stages.detector(frame, s.categories, s.det_conf)
        if not len(dets) and self.source.kind == "image":  # a close crop of one person: the detector needs context
            cat = whole_crop_category(frame, s.categories)
            if cat is not None:
                h, w = frame.shape[:2]
                self.result.stats.whole_photos += 1
                dets = Detections(np.array([[0, 0, w, h]], np.float32), np.zeros(1, np.float32),
                                  np.array([self.stages.detector.class_ids([cat])[0]]), [cat])
        return dets

    def _track_frame(self, frame: np.ndarray, frame_index: int, t_s: float, dets: Detections) -> list[BoxResult]:
        """Track, embed, search and log one detected frame; its boxes with their live identities."""
        self.result.stats.detections += len(dets)
        self._last_dets = dets
        n_boxes = len(dets)
        dets = self.tracker.update(dets, frame)
        if self.scheduler is not None:
            self.scheduler.detected(dets.track_id, n_boxes)
        looked: dict[int, np.ndarray] = {}
        if self.stretches is not None:
            looked = self._check_stretches(frame_index, frame, dets)
            dets.track_id = self.stretches.ids(frame_index, dets.track_id, dets.xyxy)
            self.stretches.forget_before(frame_index - self.cache.policy.forget_frames)
        boxes = self._boxes(dets, self._match(frame_index, frame, dets, looked))
        if self.recorder is not None:
            self.recorder.boxes(frame_index, dets.track_id, dets.category, dets.xyxy, dets.conf)
        self.resolver.add(frame_index, t_s, boxes)
        for b in boxes:
            if b.match:
                self._live.add(b.match.identity_id, b.match.label, frame_index, t_s, b.box, b.match.distance, b.score)
                self._live_changed = True
        return boxes

    def _carry(self, frame: np.ndarray, frame_index: int, t_s: float) -> FrameResult:
        """A frame the detector skips: shown with the last detection's boxes (the results interpolate them)."""
        return self._done(frame, frame_index, t_s, [replace(b, interpolated=True) for b in self._held])

    def _done(self, frame: np.ndarray, frame_index: int, t_s: float, boxes: list[BoxResult]) -> FrameResult:
        s, src = self.stages.settings, self.source
        now = time.perf_counter()
        # The mean of the seconds a frame takes, not of 1/dt: in a speed mode most frames are skipped in a
        # millisecond and one in several takes the detector's 80 ms, and averaged rates made the time left ~20x short.
        dt = max(now - self._t_last, 1e-6)
        self._dt_ema = dt if self._dt_ema == 0 else (1 - _RATE_WEIGHT) * self._dt_ema + _RATE_WEIGHT * dt
        self._t_last = now
        self.result.stats.frames_processed += 1
        self._last_index = frame_index
        return FrameResult(src.path, frame_index, t_s, boxes, frame if s.keep_frames else None, src.frame_count,
                           1.0 / self._dt_ema)

    def live_sightings(self) -> list[Sighting] | None:
        """The sightings so far when they changed since the last call, else None."""
        if not self._live_changed:
            return None
        self._live_changed = False
        return self._live.result()

    # -- end of file ----------------------------------------------------------------------------
    def finish(self, stopped: bool = False) -> FileResult:
        """Every track under its one identity (closest view over its life), the sightings, the statistics."""
        res, models = self.result, self.stages.models
        res.stopped = stopped
        self._detect_last_skipped()
        if len(self._looks):  # crops still waiting for a batch: embedded and searched before the tracks are resolved
            rev = self.stages.index.gallery.revision()
            self._embed_looks(self._last_index, rev, self._current_rejections(rev))
        s = self.stages.settings
        fill = fill_span(SPEEDS[s.speed], s.sample_ft) if self.scheduler is not None else None
        res.frames, res.sightings = self.resolver.resolve(
            self.source.path, self.stages.index.gallery.labels(), self.source.frame_count, self.gap_s,
            (self.source.width, self.source.height), fill)
        res.stats.frames_read = self._last_index + 1 if res.stats.frames_processed else 0
        res.stats.reid_crops = sum(m.extractor.calls - self._crops_before[c] for c, m in models.items())
        res.stats.tracks = self.cache.total_tracks if self.source.kind == "video" and self.stages.settings.tracking else 0
        res.stats.seconds = time.perf_counter() - self._t0
        return res

    # -- pieces ---------------------------------------------------------------------------------
    def _current_labels(self, rev: int) -> dict[int, str]:
        """identity -> label, re-read only when the gallery's revision moved."""
        if self._labels[0] != rev:
            self._labels = (rev, self.stages.index.gallery.labels())
        return self._labels[1]

    def _current_rejections(self, rev: int) -> Rejections:
        """The user's rejections for this file and the negative views, re-read only when the gallery moved."""
        if self._rejections[0] != rev:
            keys = [(m.model_name, c) for c, m in self.stages.models.items()]
            self._rejections = (rev, Rejections.load(self.stages.index.gallery, self.source.path, keys))
        return self._rejections[1]

    def _check_stretches(self, idx: int, frame: np.ndarray, dets: Detections) -> dict[int, np.ndarray]:
        """Tracks found again after a gap, or whose box jumped: embeds their crop and starts a new stretch
        where it is farther from the stretch's feature than the match threshold. Returns row -> feature."""
        # a stretch not looked at yet has no feature to compare with: its first look comes as any track's does
        olds = {i: old for i in self.stretches.to_check(idx, dets.track_id, dets.xyxy)
                if (old := self.cache.feature(self.stretches.current(int(dets.track_id[i])))[0]) is not None}
        looked: dict[int, np.ndarray] = {}
        for cat in self.stages.settings.categories:
            cat_rows = [i for i in olds if dets.category[i] == cat]
            if not cat_rows:
                continue
            cm = self.stages.models[cat]
            for i, f in zip(cat_rows, cm.extractor.embed_boxes(frame, dets.xyxy[cat_rows])):
                if 1.0 - float(f @ olds[i]) >= cm.threshold:
                    self.stretches.split(int(dets.track_id[i]))
                looked[i] = f
        return looked

    def _match(self, idx: int, frame: np.ndarray, dets: Detections,
               looked: dict[int, np.ndarray] | None = None) -> list[Match | None]:
        """Live matches of this frame's boxes: each track's closest identity so far, one box per identity.
        `looked`: features already computed this frame (row -> feature), used instead of embedding again."""
        stages, cache, resolver = self.stages, self.cache, self.resolver
        looked = looked or {}
        h, w = frame.shape[:2]
        hidden = hidden_boxes(dets.xyxy)  # once a frame: for choosing the crops and for their quality
        n, step = self.source.frame_count, max(1, stages.settings.sample_ft)
        last = n > 0 and idx >= n - step  # a clip shorter than a track's settling time still has its people named
        todo = set(cache.select(idx, dets.track_id, dets.xyxy, w, h, settled=resolver.settled, hidden=hidden,
                                last=last, categories=dets.category)) | set(looked)
        for cat in stages.settings.categories:
            rows = sorted(i for i in todo if dets.category[i] == cat)
            if not rows:
                continue
            new = [i for i in rows if i not in looked]
            if new:  # cut now (the frame is not kept), embedded with the crops of the next frames (look_queue.py)
                pixels = stages.models[cat].extractor.prepare(frame, dets.xyxy[new])
                self._looks.add([Look(idx, int(dets.track_id[i]), cat, dets.xyxy[i].copy(), bool(hidden[i]), (w, h), px)
                                 for i, px in zip(new, pixels)])
                cache.set_pending(dets.track_id[new])
            seen = [i for i in rows if i in looked]
            if seen:
                cache.update(idx, dets.track_id[seen], dets.xyxy[seen], np.stack([looked[i] for i in seen]), w, h, hidden[seen])
            if self.recorder is not None:
                self.recorder.looked(idx, frame, dets.track_id[rows], [cat] * len(rows), dets.xyxy[rows])
        rev = stages.index.gallery.revision()
        if rev != self._labels[0]:  # the gallery changed (maybe by another process): drop deleted identities
            resolver.retain(set(self._current_labels(rev)))
        labels = self._current_labels(rev)
        rejected = self._current_rejections(rev)
        if self._looks.due(idx):
            self._embed_looks(idx, rev, rejected)
        matches: list[Match | None] = [None] * len(dets)
        for cat in stages.settings.categories:
            cm = stages.models[cat]
            rows, hits = [], []
            for i, c in enumerate(dets.category):
                if c != cat:
                    continue
                tid = int(dets.track_id[i])
                if rejected.boxes:
                    for ident in rejected.banned_at(idx, dets.xyxy[i]):
                        resolver.ban(tid, cat, idx, ident)
                if not self._search(tid, cat, idx, rev, rejected):
                    continue
                rows.append(i)
                hits.append(resolver.best_hits(tid))
            for r, hit in zip(rows, assign_unique(hits, cm.threshold)):
                if hit is not None:
                    label = labels.get(hit.identity_id, f"#{hit.identity_id}")
                    matches[r] = Match(hit.identity_id, label, hit.distance, hit.entry_id)
        cache.forget_stale(idx)
        for tid in [t for t in self._searched if t not in cache.tracks]:
            del self._searched[tid]
        return matches

    def _embed_looks(self, idx: int, rev: int, rejected: Rejections) -> None:
        """Embeds the waiting crops in one batch per category and searches their tracks, those out of view on frame
        `idx` too (their look was taken earlier)."""
        looks = self._looks.take()
        for cat in self.stages.settings.categories:
            group = [k for k in looks if k.category == cat]
            if not group:
                continue
            feats = self.stages.models[cat].extractor.embed_prepared(np.stack([k.pixels for k in group]))
            for k, f in zip(group, feats):
                self.cache.update(k.frame_idx, [k.track_id], k.box[None], f[None], *k.frame_size, np.array([k.hidden]))
                self._search(k.track_id, cat, idx, rev, rejected)

    def _search(self, tid: int, cat: str, idx: int, rev: int, rejected: Rejections) -> bool:
        """Searches the gallery with the track's views when its feature or the gallery moved since the last search;
        False when the track has no feature yet."""
        feat, ver = self.cache.feature(tid)
        if feat is None:
            return False
        if self._searched.get(tid) != (ver, rev):
            cm = self.stages.models[cat]
            views = self.cache.query_vectors(tid)
            found = self.stages.index.get(cm.model_name, cat).search(views)
            for view_hits in rejected.filter(cm.model_name, cat, views, found):
                self.resolver.observe(tid, cat, idx, view_hits)
            if self.recorder is not None:
                self.recorder.searched(tid, views)
            self._searched[tid] = (ver, rev)
        return True

    @staticmethod
    def _boxes(dets: Detections, matches: list[Match | None]) -> list[BoxResult]:
        return [
            BoxResult(tuple(map(float, dets.xyxy[i])), float(dets.conf[i]), dets.category[i], int(dets.track_id[i]), matches[i])
            for i in range(len(dets))
        ]
