"""How good is this ReID model on MY footage? Measured with no labels, from the footage's own tracks.

A confident, long track is one object: its crops at frames f and f + gap make a same-object pair. Two objects
seen in the same frame are two objects: their crops make a different-object pair. From those pairs: rank-1 and
mAP (the same object at f + gap ranked among the other objects of that frame), ROC AUC, the two distance
histograms, and the threshold for a target false-match rate, per model side by side. The pairs also feed the
threshold calibration (`calibrate --tracklets`, the Calibrate page).

Caveats, said in the result: pairs from one track are the same camera a short time apart, so they are easier
than pairs across cameras; a tracker switch inside a "confident" track would make a false same-object pair
(tracks are cut where they were lost, which keeps that rare).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from Algorithm import media
from Algorithm.errors import Cancelled
from Algorithm.evaluation.calibrate import Calibration
from Algorithm.evaluation.datasets import Cancel, Extractor, Progress
from Algorithm.evaluation.error_rates import Suggestion, suggest_threshold
from Algorithm.evaluation.pairs import Pairs
from Algorithm.pipeline.track import Tracker, track_buffer
from Algorithm.pipeline.track_cache import crop_quality
from Algorithm.types import DetectionLog

FORMAT = "reid-app-eval-tracklets"
MIN_CONF = 0.5  # "confident": boxes the detector is sure of
MIN_SIDE = 20  # px: smaller crops say little about appearance


class TrackletEngine(Protocol):
    """What the tracklets evaluation needs: the detector's boxes over a video and ReID extractors by name."""

    def record_detections(self, path, max_frames: int | None = None, settings=None, progress=None,
                          cancel: Cancel | None = None) -> DetectionLog: ...


@dataclass(frozen=True)
class _Box:
    video: int
    frame: int
    track: int
    box: tuple[float, float, float, float]


@dataclass
class ModelTracklets:
    model: str
    rank1: float | None
    mAP: float | None
    auc: float | None
    queries: int
    genuine: np.ndarray = field(repr=False)  # same-object pair distances
    impostor: np.ndarray = field(repr=False)  # different-object pair distances
    suggestion: Suggestion | None = None  # threshold for the target false-match rate

    def to_json(self) -> dict:
        return {"model": self.model, "rank1": self.rank1, "mAP": self.mAP, "roc_auc": self.auc, "queries": self.queries,
                "same_object_pairs": int(len(self.genuine)), "different_object_pairs": int(len(self.impostor)),
                "same_object_median": _median(self.genuine), "different_object_median": _median(self.impostor),
                "suggested": None if self.suggestion is None else self.suggestion.to_json()}


@dataclass
class TrackletsEvaluation:
    videos: list[str]
    category: str
    gap: int
    target_fmr: float
    tracks: int  # confident, long tracks used
    models: list[ModelTracklets]
    seconds: float
    notes: list[str] = field(default_factory=list)

    def calibration(self, model: str | None = None, current_threshold: float | None = None) -> Calibration:
        """The pairs of one model as a threshold calibration (histograms, error curves, suggestion)."""
        m = next(x for x in self.models if model in (None, x.model))
        pairs = Pairs(m.genuine, m.impostor, n_images=0, n_identities=self.tracks, impostor_total=len(m.impostor),
                      notes=list(self.notes))
        return Calibration(pairs, "tracklets: " + ", ".join(Path(v).name for v in self.videos), self.target_fmr,
                           current_threshold, m.model, self.category)

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": 1, "videos": self.videos, "category": self.category, "gap": self.gap,
                "target_fmr": self.target_fmr, "tracks": self.tracks, "models": [m.to_json() for m in self.models],
                "notes": self.notes, "seconds": self.seconds}


def _median(d: np.ndarray) -> float | None:
    return float(np.median(d)) if len(d) else None


def roc_auc(genuine: np.ndarray, impostor: np.ndarray) -> float | None:
    """P(a different-object pair is farther than a same-object pair), ties counted half (Mann-Whitney U)."""
    if not len(genuine) or not len(impostor):
        return None
    allv = np.concatenate([genuine, impostor])
    _, inv, counts = np.unique(allv, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inv]  # 1-based ranks, ties given their average
    r_imp = ranks[len(genuine):].sum()
    u = r_imp - len(impostor) * (len(impostor) + 1) / 2
    return float(u / (len(genuine) * len(impostor)))


def _tracks(log: DetectionLog, fps: float, width: int, height: int) -> dict[int, dict[int, tuple]]:
    """track id -> {frame: box} of confident, uncut, big-enough boxes, tracked frame by frame."""
    tracker = Tracker("bytetrack", track_buffer(fps, 1))
    out: dict[int, dict[int, tuple]] = {}
    for idx in sorted(log.frames):
        dets = tracker.update(log.frames[idx])
        for tid, box, conf in zip(dets.track_id, dets.xyxy, dets.conf):
            b = tuple(float(v) for v in box)
            _, cut = crop_quality(b, width, height)
            if conf >= MIN_CONF and not cut and min(b[2] - b[0], b[3] - b[1]) >= MIN_SIDE:
                out.setdefault(int(tid), {})[idx] = b
    return out


def _frames_said(progress: Progress, name: str, frames: int):
    """A record_detections progress(done, total) that says where it is in words, about 50 times a video."""
    every = max(1, frames // 50)

    def say(done: int, total: int) -> None:
        if done % every == 0 or done >= total:
            progress(f"{name}: detecting, frame {done} of {total}")
    return say


def evaluate_tracklets(videos: list[str | Path], engine: TrackletEngine, extractors: dict[str, Extractor],
                       category: str = "vehicle", gap: int = 10, target_fmr: float = 0.01,
                       max_frames: int | None = None, progress: Progress | None = None,
                       settings=None, cancel: Cancel | None = None) -> TrackletsEvaluation:
    """`extractors`: model name -> extractor (list of BGR crops -> (N, D) L2-normalised features). Raises Cancelled
    once `cancel()` is true (checked every frame while detecting)."""
    t0 = time.perf_counter()
    store = _BoxStore()
    boxes = store.boxes
    genuine_idx: list[tuple[int, int]] = []  # (query box, positive box) indices into `boxes`
    impostor_idx: list[tuple[int, int]] = []
    gallery_of: dict[int, list[int]] = {}  # positive box -> the other boxes of its frame
    n_tracks = 0
    for v, video in enumerate(videos):
        info = media.video_info(video)
        say = _frames_said(progress, Path(video).name, max_frames or info.frame_count) if progress else None
        log = engine.record_detections(video, max_frames, settings, say, cancel)
        tracks = _tracks(log, info.fps, info.width, info.height)
        long_tracks = {t: fr for t, fr in tracks.items() if max(fr) - min(fr) >= gap}
        n_tracks += len(long_tracks)
        for tid, fr in long_tracks.items():
            for f in range(min(fr), max(fr) - gap + 1, gap):  # anchors every `gap` frames along the track
                if f in fr and f + gap in fr:
                    genuine_idx.append((store.add(v, tid, f, fr[f]), store.add(v, tid, f + gap, fr[f + gap])))
        # every confident box of every long track in the frames used above, for the different-object pairs
        used = {boxes[i].frame for pair in genuine_idx for i in pair if boxes[i].video == v}
        for tid, fr in long_tracks.items():
            for f in used & set(fr):
                store.add(v, tid, f, fr[f])
        for f in used:
            ids = store.by_frame.get((v, f), [])
            impostor_idx += [(a, b) for k, a in enumerate(ids) for b in ids[k + 1:]]
            for i in ids:
                gallery_of[i] = [j for j in ids if j != i]
        if progress:
            progress(f"{Path(video).name}: {len(long_tracks)} long tracks")
    if cancel and cancel():
        raise Cancelled("Stopped")
    if progress:
        progress(f"embedding {len(boxes)} crops")
    crops = _crops(videos, boxes)
    models = []
    for name, ext in extractors.items():
        feats = ext(crops) if crops else np.zeros((0, 1), np.float32)
        gen = np.array([1.0 - float(feats[a] @ feats[b]) for a, b in genuine_idx], np.float64)
        imp = np.array([1.0 - float(feats[a] @ feats[b]) for a, b in impostor_idx], np.float64)
        ranks = []
        for q, p in genuine_idx:
            others = gallery_of.get(p, [])
            if not others:
                continue  # no other object in that frame: nothing to rank against
            d_pos = 1.0 - float(feats[q] @ feats[p])
            ranks.append(1 + sum(1 for o in others if 1.0 - float(feats[q] @ feats[o]) < d_pos))
        rank1 = float(np.mean([r == 1 for r in ranks])) if ranks else None
        m_ap = float(np.mean([1.0 / r for r in ranks])) if ranks else None  # one positive per query: AP = 1/rank
        sug = suggest_threshold(imp, target_fmr, gen) if len(imp) else None
        models.append(ModelTracklets(name, rank1, m_ap, roc_auc(gen, imp), len(ranks), gen, imp, sug))
    notes = ["same-object pairs come from one track a few frames apart (one camera): easier than across cameras",
             f"pairs: {len(genuine_idx)} same-object (gap {gap} frames), {len(impostor_idx)} different-object "
             f"(objects in the same frame); {n_tracks} confident tracks (confidence >= {MIN_CONF}, not cut by the "
             f"frame edge, at least {MIN_SIDE} px)"]
    return TrackletsEvaluation([str(v) for v in videos], category, gap, target_fmr, n_tracks, models,
                               round(time.perf_counter() - t0, 2), notes)


class _BoxStore:
    """The boxes to embed, each once: (video, track, frame) -> index, and the boxes of each frame."""

    def __init__(self):
        self.boxes: list[_Box] = []
        self.index: dict[tuple[int, int, int], int] = {}
        self.by_frame: dict[tuple[int, int], list[int]] = {}

    def add(self, video: int, track: int, frame: int, box: tuple) -> int:
        key = (video, track, frame)
        if key not in self.index:
            self.index[key] = len(self.boxes)
            self.boxes.append(_Box(video, frame, track, box))
            self.by_frame.setdefault((video, frame), []).append(self.index[key])
        return self.index[key]


def _crops(videos, boxes: list[_Box]) -> list[np.ndarray]:
    """The crops of `boxes`, reading each video once, in order."""
    from Algorithm.pipeline.embed import crop

    out: list[np.ndarray | None] = [None] * len(boxes)
    for v, video in enumerate(videos):
        want: dict[int, list[int]] = {}
        for i, b in enumerate(boxes):
            if b.video == v:
                want.setdefault(b.frame, []).append(i)
        if not want:
            continue
        with media.VideoReader(video) as r:
            for idx, frame in r.frames(stop=max(want) + 1):
                for i in want.get(idx, []):
                    out[i] = crop(frame, boxes[i].box)
    return out
