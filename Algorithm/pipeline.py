"""Joins the stages: detect -> (track -> cached embedding) -> search -> one identity per box -> sightings."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .config import Settings
from .detect import Detector
from .errors import InputError
from .extract import ReIdExtract, crop
from .media import VideoReader, read_image
from .resolve import TrackResolver
from .search import SearchIndex, assign_unique
from .sightings import SightingsBuilder, merge_gap
from .track import Tracker
from .track_cache import CachePolicy, TrackCache
from .types import BoxResult, Detections, FileResult, FrameResult, Match

OnFrame = Callable[[FrameResult], None]
Cancel = Callable[[], bool]


@dataclass
class CategoryModel:
    """The ReID model serving one category, its gallery index key and its distance threshold."""

    extractor: ReIdExtract
    model_name: str
    threshold: float


class Pipeline:
    def __init__(self, detector: Detector, models: dict[str, CategoryModel], index: SearchIndex, settings: Settings):
        self.detector = detector
        self.models = models
        self.index = index
        self.settings = settings
        self._labels: tuple[int, dict[int, str]] = (-1, {})

    # -- pieces ---------------------------------------------------------------------------------
    def _current_labels(self, rev: int | None = None) -> dict[int, str]:
        """identity -> label, re-read only when the gallery's revision moved."""
        rev = self.index.gallery.revision() if rev is None else rev
        if self._labels[0] != rev:
            self._labels = (rev, self.index.gallery.labels())
        return self._labels[1]

    def _label(self, identity_id: int) -> str:
        return self._current_labels().get(identity_id, f"#{identity_id}")

    def _match(self, dets: Detections, feats_by_cat: dict[str, tuple[list[int], np.ndarray]]) -> list[Match | None]:
        """Search each category's boxes and give each identity to at most one box of this frame."""
        matches: list[Match | None] = [None] * len(dets)
        for cat, (rows, feats) in feats_by_cat.items():
            if not rows:
                continue
            cm = self.models[cat]
            hits = self.index.get(cm.model_name, cat).search(feats)
            for r, h in zip(rows, assign_unique(hits, cm.threshold)):
                if h is not None:
                    matches[r] = Match(h.identity_id, self._label(h.identity_id), h.distance, h.entry_id)
        return matches

    def _embed_all(self, img: np.ndarray, dets: Detections) -> dict[str, tuple[list[int], np.ndarray]]:
        out = {}
        for cat in self.settings.categories:
            rows = [i for i, c in enumerate(dets.category) if c == cat]
            if rows:
                out[cat] = (rows, self.models[cat].extractor.embed_boxes(img, dets.xyxy[rows]))
        return out

    @staticmethod
    def _boxes(dets: Detections, matches: list[Match | None]) -> list[BoxResult]:
        tids = dets.track_id if dets.track_id is not None else np.full(len(dets), -1)
        return [
            BoxResult(tuple(map(float, dets.xyxy[i])), float(dets.conf[i]), dets.category[i], int(tids[i]), matches[i])
            for i in range(len(dets))
        ]

    # -- images ---------------------------------------------------------------------------------
    def process_image(self, img: np.ndarray, path: str = "") -> FrameResult:
        dets = self.detector(img, self.settings.categories, self.settings.det_conf)
        matches = self._match(dets, self._embed_all(img, dets))
        return FrameResult(path, 0, 0.0, self._boxes(dets, matches), img if self.settings.keep_frames else None, 1)

    def search_image(self, path: str, on_frame: OnFrame | None = None) -> FileResult:
        t0 = time.perf_counter()
        img = read_image(path)
        fr = self.process_image(img, str(path))
        res = FileResult(str(path), "image", img.shape[1], img.shape[0], frame_count=1)
        res.stats.frames_read = res.stats.frames_processed = 1
        res.stats.detections = len(fr.boxes)
        res.stats.reid_crops = len(fr.boxes)
        if fr.matches:
            res.frames.append(_without_frame(fr))
        res.stats.seconds = time.perf_counter() - t0
        if on_frame:
            on_frame(fr)
        return res

    # -- videos ---------------------------------------------------------------------------------
    def search_video(
        self,
        path: str,
        on_frame: OnFrame | None = None,
        cancel: Cancel | None = None,
        max_frames: int | None = None,
        start_frame: int = 0,
    ) -> FileResult:
        s = self.settings
        t0 = time.perf_counter()
        with VideoReader(path) as video:
            info = video.info
            res = FileResult(str(path), "video", info.width, info.height, info.fps, info.frame_count)
            tracker = Tracker(s.tracker, track_buffer=max(30, int(info.fps))) if s.tracking else None
            policy = CachePolicy(refresh_frames=s.refresh_frames)
            cache = TrackCache(policy)
            searched: dict[int, tuple[int, int]] = {}  # track -> (feature version, gallery revision) last searched
            resolver = TrackResolver({c: m.threshold for c, m in self.models.items()}, policy.forget_frames)
            gap = merge_gap(s.max_gap_s, s.sample_ft, info.fps)
            builder = SightingsBuilder(gap)
            crops_before = {c: m.extractor.calls for c, m in self.models.items()}
            fps_ema = 0.0
            t_last = time.perf_counter()
            stop = None if max_frames is None else start_frame + max_frames
            for idx, frame in video.frames(step=s.sample_ft, start=start_frame, stop=stop):
                if cancel and cancel():
                    res.stopped = True
                    break
                t_s = idx / info.fps
                dets = self.detector(frame, s.categories, s.det_conf)
                res.stats.detections += len(dets)
                if tracker is not None:
                    dets = tracker.update(dets, frame)
                    matches = self._match_tracked(idx, frame, dets, cache, searched, resolver)
                    boxes = self._boxes(dets, matches)
                    resolver.add(idx, t_s, boxes)
                else:
                    matches = self._match(dets, self._embed_all(frame, dets))
                    boxes = self._boxes(dets, matches)
                    for b in boxes:
                        if b.match:
                            builder.add(b.match.identity_id, b.match.label, idx, t_s, b.box, b.match.distance)
                now = time.perf_counter()
                inst = 1.0 / max(now - t_last, 1e-6)
                fps_ema = inst if fps_ema == 0 else 0.9 * fps_ema + 0.1 * inst
                t_last = now
                fr = FrameResult(str(path), idx, t_s, boxes, frame if s.keep_frames else None, info.frame_count, fps_ema)
                res.stats.frames_processed += 1
                if fr.matches and tracker is None:
                    res.frames.append(_without_frame(fr))
                if on_frame:
                    on_frame(fr)
            res.stats.frames_read = idx + 1 if res.stats.frames_processed else 0
        if tracker is not None:
            res.frames, res.sightings = resolver.resolve(str(path), self.index.gallery.labels(), info.frame_count, gap)
        else:
            res.sightings = builder.result()
        res.stats.reid_crops = sum(m.extractor.calls - crops_before[c] for c, m in self.models.items())
        res.stats.tracks = cache.total_tracks
        res.stats.seconds = time.perf_counter() - t0
        return res

    def _match_tracked(self, idx, frame, dets: Detections, cache: TrackCache, searched, resolver: TrackResolver):
        """Live matches of this frame's tracked boxes: each track's closest identity so far, one box per identity."""
        h, w = frame.shape[:2]
        todo = cache.select(idx, dets.track_id, dets.xyxy, dets.conf, w, h, settled=resolver.settled)
        for cat in self.settings.categories:
            rows = [i for i in todo if dets.category[i] == cat]
            if rows:
                feats = self.models[cat].extractor.embed_boxes(frame, dets.xyxy[rows])
                cache.update(idx, dets.track_id[rows], dets.xyxy[rows], dets.conf[rows], feats, w, h)
        cache.forget_stale(idx)
        rev = self.index.gallery.revision()
        if rev != self._labels[0]:  # the gallery changed (maybe by another process): drop deleted identities
            resolver.retain(set(self._current_labels(rev)))
        matches: list[Match | None] = [None] * len(dets)
        for cat in self.settings.categories:
            cm = self.models[cat]
            rows, hits = [], []
            for i, c in enumerate(dets.category):
                if c != cat:
                    continue
                tid = int(dets.track_id[i])
                feat, ver = cache.feature(tid)
                if feat is None:
                    continue
                if searched.get(tid) != (ver, rev):  # search only when the feature or the gallery moved
                    for view_hits in self.index.get(cm.model_name, cat).search(cache.query_vectors(tid)):
                        resolver.observe(tid, cat, idx, view_hits)
                    searched[tid] = (ver, rev)
                rows.append(i)
                hits.append(resolver.best_hits(tid))
            for r, hit in zip(rows, assign_unique(hits, cm.threshold)):
                if hit is not None:
                    matches[r] = Match(hit.identity_id, self._label(hit.identity_id), hit.distance, hit.entry_id)
        for tid in [t for t in searched if t not in cache.tracks]:
            del searched[tid]
        return matches


def _without_frame(fr: FrameResult) -> FrameResult:
    return FrameResult(fr.path, fr.frame_index, fr.time_s, fr.matches, None, fr.total_frames, fr.fps_processing)


def crop_box(img: np.ndarray, box) -> np.ndarray:
    try:
        return crop(img, box)
    except ValueError as e:
        raise InputError(f"The chosen box is outside the image or too small: {e}") from e
