"""One person among strangers: register ONE identity at a time, search, and count what the app claims.

Closed-set tests (everyone registered) cannot show it: there every box has its own identity to go to. This is
how the app is used: a user registers one person and searches footage full of other people.

Two sources:
- MOT-format sequences (img1/ + gt/gt.txt): each ground-truth identity in turn is registered from its GT box in
  its first frame; every frame is searched photo by photo (as `evaluate tracks` does); a box labelled X is right
  when it overlaps X's GT box (IoU >= iou), else a false claim. The detector runs once per frame and its boxes
  are replayed for each identity.
- A video with a labels file (JSON, see `read_labels`): each person is registered from their frame (and box,
  when the frame shows several people); the video is searched as the app does (tracking on, at sampleFt);
  a frame labelled X is right when X is in view then, else wrong. The detector runs once and is replayed.

Both run the whole app through the few engine methods of `OpenSetEngine`, so what they measure is what the
user gets.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from Algorithm import media
from Algorithm.errors import InputError
from Algorithm.evaluation.datasets import GtFilter, Progress, filter_gt, mot_frames, mot_sequences, read_mot_gt
from Algorithm.evaluation.sighting_score import Record, SightingScore, score
from Algorithm.evaluation.tracks_eval import search_sequence
from Algorithm.types import DetectionLog, FileResult

FORMAT = "reid-app-eval-openset"
# A false sighting longer than this is what a user would act on (the target: none longer than 2 s).
LONG_FALSE_S = 2.0


class OpenSetEngine(Protocol):
    """The engine methods the open-set evaluation calls (a stand-in needs just these)."""

    def reid_model_name(self, category: str) -> str: ...

    def threshold(self, category: str) -> float: ...

    def register(self, source, label: str, category: str = "person", box=None, whole: bool = False) -> object: ...

    def update_settings(self, **kw) -> object: ...

    def record_detections(self, path, max_frames: int | None = None) -> DetectionLog: ...

    def search_file(self, path, max_frames: int | None = None, detections: DetectionLog | None = None) -> FileResult: ...

    def search_file_events(self, path, detections: DetectionLog | None = None): ...

    def close(self) -> None: ...


# -- labels of a video ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PersonLabels:
    label: str
    frame: int  # the frame to register them from
    box: tuple[float, float, float, float] | None  # needed when that frame shows several people
    in_view: tuple[tuple[int, int], ...]  # [start, end) frame ranges where they are in view

    def visible(self, frame: int) -> bool:
        return any(a <= frame < b for a, b in self.in_view)


@dataclass(frozen=True)
class VideoLabels:
    video: Path
    people: tuple[PersonLabels, ...]


def read_labels(path: str | Path) -> VideoLabels:
    """Reads a labels file:

        {"video": "clip.mp4",                      (relative to the labels file, or absolute)
         "people": [{"label": "Anna", "frame": 300, "box": [x1, y1, x2, y2],   (box optional)
                     "in_view": [[225, 450], [900, 950]]}, ...]}
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        video = Path(data["video"])
        people = tuple(
            PersonLabels(str(p["label"]), int(p["frame"]), tuple(map(float, p["box"])) if p.get("box") else None,
                         tuple((int(a), int(b)) for a, b in p["in_view"]))
            for p in data["people"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"Cannot read the labels file {path}: {e}. It needs \"video\" and \"people\" "
                         "(label, frame, in_view, optional box); see `evaluate openset --help`.") from e
    if not video.is_absolute():
        video = path.parent / video
    if not people:
        raise InputError(f"The labels file {path} names nobody")
    return VideoLabels(video, people)


# -- results ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FalseSighting:
    label: str
    start_frame: int
    end_frame: int
    seconds: float

    def to_json(self) -> dict:
        return {"label": self.label, "start_frame": self.start_frame, "end_frame": self.end_frame,
                "seconds": round(self.seconds, 2)}


@dataclass
class IdentityOpenSet:
    """One registered identity alone: its frames (video) or boxes (MOT) claimed right and wrong."""

    label: str
    right: int
    wrong: int
    in_view: int  # frames (video) or GT boxes (MOT) where it could be found
    false_sightings: list[FalseSighting] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.right / (self.right + self.wrong) if self.right + self.wrong else None

    @property
    def recall(self) -> float | None:
        return self.right / self.in_view if self.in_view else None

    def to_json(self) -> dict:
        return {"label": self.label, "right": self.right, "wrong": self.wrong, "in_view": self.in_view,
                "precision": self.precision, "recall": self.recall,
                "false_sightings": [f.to_json() for f in self.false_sightings]}


@dataclass
class OpenSetEvaluation:
    """The result of `evaluate openset`; `to_json()` is what `--out` writes."""

    source: str  # "video" | "mot"
    path: str
    model: str
    category: str
    threshold: float
    sample_ft: int
    identities: list[IdentityOpenSet]
    seconds: float
    mot: SightingScore | None = None  # MOT: the box-level score (recall among detected people, strangers)

    @property
    def right(self) -> int:
        return sum(i.right for i in self.identities)

    @property
    def wrong(self) -> int:
        return sum(i.wrong for i in self.identities)

    @property
    def precision(self) -> float | None:
        return self.right / (self.right + self.wrong) if self.right + self.wrong else None

    @property
    def recall(self) -> float | None:
        n = sum(i.in_view for i in self.identities)
        return self.right / n if n else None

    @property
    def false_sightings(self) -> list[FalseSighting]:
        return [f for i in self.identities for f in i.false_sightings]

    @property
    def longest_false_s(self) -> float:
        return max((f.seconds for f in self.false_sightings), default=0.0)

    def to_json(self) -> dict:
        return {
            "format": FORMAT, "version": 1, "source": self.source, "path": self.path, "model": self.model,
            "category": self.category, "threshold": self.threshold, "sample_ft": self.sample_ft,
            "precision": self.precision, "recall": self.recall, "right": self.right, "wrong": self.wrong,
            "false_sightings": len(self.false_sightings), "longest_false_s": round(self.longest_false_s, 2),
            "mot": self.mot.to_json() if self.mot else None,
            "identities": [i.to_json() for i in self.identities], "seconds": self.seconds,
        }


# -- video + labels ------------------------------------------------------------------------------------
def evaluate_openset_video(labels: VideoLabels, make_engine: Callable[[Path], OpenSetEngine], threshold: float | None = None,
                           sample_ft: int = 1, category: str = "person", max_frames: int | None = None,
                           progress: Progress | None = None, detections: DetectionLog | None = None) -> OpenSetEvaluation:
    """Each labelled person registered alone, the video searched (tracking on), frames scored right/wrong."""
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="reid-openset-"))
    rows: list[IdentityOpenSet] = []
    model, used = "", threshold
    try:
        for k, person in enumerate(labels.people):
            eng = make_engine(tmp / f"{k}.db")
            try:
                eng.update_settings(sample_ft=sample_ft, categories=(category,), keep_frames=False, tracking=True,
                                    threshold=threshold)
                model, used = eng.reid_model_name(category), eng.threshold(category)
                if detections is None or sample_ft % detections.sample_ft:  # a log of every k-th frame serves k*n
                    detections = eng.record_detections(labels.video, max_frames)
                frame = media.read_video_frame(labels.video, person.frame)
                eng.register(frame, person.label, category, box=person.box)
                res = eng.search_file(labels.video, max_frames=max_frames, detections=detections)
            finally:
                eng.close()
            rows.append(_score_video(person, res, sample_ft))
            if progress:
                progress(f"{person.label}: right {rows[-1].right}, wrong {rows[-1].wrong}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return OpenSetEvaluation("video", str(labels.video), model, category, float(used), sample_ft, rows,
                             round(time.perf_counter() - t0, 2))


def _score_video(person: PersonLabels, res: FileResult, sample_ft: int) -> IdentityOpenSet:
    labelled = {fr.frame_index for fr in res.frames for b in fr.matches if b.match.label == person.label}
    right = sum(1 for f in labelled if person.visible(f))
    in_view = sum(1 for f in range(0, res.stats.frames_read, sample_ft) if person.visible(f))
    fps = res.fps or 1.0
    false = []
    for s in res.sightings:
        for g in s.segments:
            seg = [f for f in labelled if g.start_frame <= f <= g.end_frame]
            others = sum(1 for f in seg if not person.visible(f))
            if seg and others * 2 > len(seg):  # mostly someone else's frames: a false sighting
                false.append(FalseSighting(person.label, g.start_frame, g.end_frame, (g.end_frame - g.start_frame) / fps))
    return IdentityOpenSet(person.label, right, len(labelled) - right, in_view, false)


# -- MOT sequences ---------------------------------------------------------------------------------------
def evaluate_openset_mot(path: str | Path, make_engine: Callable[[Path], OpenSetEngine], threshold: float | None = None,
                         flt: GtFilter | None = None, iou_min: float = 0.5, category: str = "person",
                         progress: Progress | None = None) -> OpenSetEvaluation:
    """Each GT identity registered alone from its first frame; every frame searched; boxes labelled with it
    scored (right on its GT box, a false claim anywhere else)."""
    flt = flt or GtFilter()
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="reid-openset-"))
    records: list[Record] = []
    model, used = "", threshold
    try:
        for seq in mot_sequences(path):
            probe = make_engine(tmp / f"{seq.name}-probe.db")
            try:
                probe.update_settings(categories=(category,), keep_frames=False)
                model = probe.reid_model_name(category)
                used = threshold if threshold is not None else probe.threshold(category)
                logs = {f: probe.record_detections(f) for f in mot_frames(seq).values()}
            finally:
                probe.close()
            ids = _identities(seq, flt)
            for tid in ids:
                eng = make_engine(tmp / f"{seq.name}-{tid}.db")
                try:
                    recs, _ = search_sequence(eng, seq, flt, iou_min, category, None, None, 0.0, only={tid}, detections=logs)
                finally:
                    eng.close()
                records.extend(recs)
            if progress:
                progress(f"{seq.name}: {len(ids)} identities, each searched alone")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    overall, per = score(records, float(used))
    rows = [IdentityOpenSet(f"{p.seq}/gt{p.id}", p.tp, p.fp, p.sightings) for p in per]
    return OpenSetEvaluation("mot", str(path), model, category, float(used), 1, rows, round(time.perf_counter() - t0, 2),
                             overall)


def _identities(seq: Path, flt: GtFilter) -> list[int]:
    frames = mot_frames(seq)
    raw = read_mot_gt(seq)
    gt = filter_gt(raw[np.isin(raw[:, 0].astype(int), list(frames))], flt)
    return sorted({int(t) for t in gt[:, 1]})


__all__ = ["OpenSetEvaluation", "IdentityOpenSet", "FalseSighting", "VideoLabels", "PersonLabels", "read_labels",
           "evaluate_openset_video", "evaluate_openset_mot", "LONG_FALSE_S"]
