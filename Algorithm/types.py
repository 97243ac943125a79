"""Typed records that flow between the stages (detect -> track -> embed -> search -> resolve -> sightings)
and every value that crosses Algorithm.outer_api."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from Algorithm.rules import time_caution
from Algorithm.settings import Settings

# Asked between steps of a long call (a search, a calibration): True stops it.
Cancel = Callable[[], bool]


@dataclass
class Detections:
    """Boxes of one image, column-aligned arrays in the spirit of supervision's Detections."""

    xyxy: np.ndarray  # (N, 4) float32, pixels of the original image
    conf: np.ndarray  # (N,) float32
    cls: np.ndarray  # (N,) int: COCO class id
    category: list[str]  # (N,) "person" | "vehicle"
    track_id: np.ndarray | None = None  # (N,) int, -1 where untracked

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, int), [])

    def __len__(self) -> int:
        return len(self.conf)

    def select(self, idx) -> "Detections":
        idx = np.asarray(idx)
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.int64)
        return Detections(
            self.xyxy[idx],
            self.conf[idx],
            self.cls[idx],
            [self.category[i] for i in idx],
            None if self.track_id is None else self.track_id[idx],
        )


@dataclass
class DetectionLog:
    """The detections of one file, recorded once (frame index -> Detections; a photo is frame 0) and replayed
    by later searches of the same footage: evaluations search it with many galleries, and the detector is
    most of a search's time."""

    path: str
    frames: dict[int, Detections] = field(default_factory=dict)
    sample_ft: int = 1


@dataclass
class Hit:
    """One gallery identity found for a query feature, with its closest entry."""

    identity_id: int
    distance: float  # 1 - cosine similarity
    entry_id: int


@dataclass
class Match:
    """One box given to one gallery identity."""

    identity_id: int
    label: str
    distance: float
    entry_id: int = -1


@dataclass
class BoxResult:
    box: tuple[float, float, float, float]
    score: float
    category: str
    track_id: int = -1
    match: Match | None = None
    interpolated: bool = False  # a frame the detector skipped (speed modes): the track's box between two detections

    def to_json(self) -> dict:
        d = {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 4),
            "category": self.category,
            "track_id": int(self.track_id),
        }
        if self.match:
            d.update(label=self.match.label, identity_id=self.match.identity_id, distance=round(self.match.distance, 4))
        if self.interpolated:
            d["interpolated"] = True
        return d


@dataclass
class FrameResult:
    """What one processed frame (or image) gives. `frame` is BGR, kept only when asked for (GUI)."""

    path: str
    frame_index: int
    time_s: float
    boxes: list[BoxResult]
    frame: np.ndarray | None = None
    total_frames: int = 0  # 0 when unknown
    fps_processing: float = 0.0

    @property
    def matches(self) -> list[BoxResult]:
        return [b for b in self.boxes if b.match is not None]


@dataclass
class Segment:
    start_frame: int
    end_frame: int
    start_time: float
    end_time: float
    best_frame: int
    best_distance: float
    best_box: tuple[float, float, float, float]
    hits: int = 1
    best_time: float | None = None  # time (s) of best_frame; None only for segments built by older code

    def __post_init__(self) -> None:
        if self.best_time is None:
            self.best_time = self.start_time

    def to_json(self) -> dict:
        return {
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "start_time": round(self.start_time, 3),
            "end_time": round(self.end_time, 3),
            "best_frame": self.best_frame,
            "best_time": round(float(self.best_time), 3),
            "best_distance": round(self.best_distance, 4),
            "best_box": [round(float(v), 1) for v in self.best_box],
            "hits": self.hits,
        }


@dataclass
class Sighting:
    identity_id: int
    label: str
    segments: list[Segment]

    def to_json(self) -> dict:
        return {"identity_id": self.identity_id, "label": self.label, "segments": [s.to_json() for s in self.segments]}


@dataclass
class Stats:
    frames_read: int = 0
    frames_processed: int = 0
    detections: int = 0
    reid_crops: int = 0  # crops embedded by the ReID model
    tracks: int = 0
    seconds: float = 0.0
    frames_detected: int = 0  # processed frames the detector ran on (fewer than processed in the speed modes)
    decoder: str = ""  # what decoded the video: "software", "hardware (d3d11)", ... ("": an image, or an older file)
    whole_photos: int = 0  # photos the detector found nobody in, read whole as a close crop (crop_policy)
    time_drift_s: float = 0.0  # largest gap between a frame's own timestamp and frame / fps (rules.time_caution)

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class FileResult:
    """Everything found in one image or video."""

    path: str
    kind: str  # "image" | "video"
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frame_count: int = 0
    frames: list[FrameResult] = field(default_factory=list)  # only frames with at least one match
    sightings: list[Sighting] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    error: str | None = None
    stopped: bool = False
    # a caution on these results: searched, but not all of it (a video that ends before its frame count), or, from
    # the footage index, a file no longer on disk or changed since it was indexed
    warning: str | None = None
    # media.fingerprint of the file searched ("" when unknown): a file later put under its name is told apart
    fingerprint: str = ""

    @property
    def time_caution(self) -> str:
        """What to say of this video's times (a variable frame rate; rules.time_caution); empty: nothing."""
        return time_caution(self.stats.time_drift_s, self.fps) if self.kind == "video" else ""

    def to_json(self) -> dict:
        d = {"path": self.path, "type": self.kind, "width": self.width, "height": self.height}
        if self.fingerprint:
            d["fingerprint"] = self.fingerprint
        if self.kind == "video":
            d.update(fps=self.fps, frame_count=self.frame_count)
        d["error"] = self.error
        d["stopped"] = self.stopped
        d["warning"] = self.warning
        if self.time_caution:  # for whoever reads the file; read back from stats.time_drift_s
            d["time_caution"] = self.time_caution
        d["frames"] = [
            {"frame": f.frame_index, "time": round(f.time_s, 3), "matches": [b.to_json() for b in f.matches]}
            for f in self.frames
        ]
        d["sightings"] = [s.to_json() for s in self.sightings]
        d["stats"] = self.stats.to_json()
        return d


@dataclass
class IdentityInfo:
    id: int
    label: str
    category: str
    created: str
    n_entries: int
    thumbnail: bytes | None = None  # encoded JPEG of the first photo


@dataclass
class EntryInfo:
    id: int
    identity_id: int
    model: str
    source: str
    box: tuple[float, float, float, float] | None
    created: str
    crop_jpeg: bytes


@dataclass
class RegisterResult:
    identity_id: int
    entry_id: int
    label: str
    category: str
    box: tuple[float, float, float, float]
    whole_image: bool
    new_identity: bool
    how: str = ""  # which part of the photo was stored, in words ("whole photo (a close crop of one person)", ...)


@dataclass
class RegisterOutcome:
    """One photo of a several-photo registration: its result, or the message why it was not stored."""

    source: str
    result: RegisterResult | None = None
    error: str = ""
    suggested_category: str = ""  # the photo looks like an object of this other category

    @property
    def ok(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class MergeResult:
    """Two identities made one: `moved` photos went from `removed_label` to `label`, which now has `n_entries`."""

    identity_id: int
    label: str
    category: str
    removed_id: int
    removed_label: str
    moved: int
    n_entries: int


@dataclass(frozen=True)
class PhotoVerdict:
    """What registering a photo as `category` without choosing a box would store: `box` (the whole photo when
    `whole`), or nothing, with `problem` saying why (the engine's message); `must_choose`: several separate objects
    were found, so a box must be chosen."""

    category: str
    box: tuple[float, float, float, float] | None
    whole: bool
    how: str
    problem: str = ""
    must_choose: bool = False
    suggested_category: str = ""  # set when the photo looks like an object of this other category


@dataclass
class PhotoCheck:
    """A photo, the boxes the detector found in it (at its usual confidence), and per category what registering
    it without a chosen box would do."""

    image: np.ndarray  # BGR
    detections: Detections
    verdicts: dict[str, PhotoVerdict]


# -- models -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReidModelInfo:
    """The ReID model serving one category. `stand_in`: it was not trained for this category (a person model
    used as a generic appearance descriptor for vehicles, say): the GUI and `info` say so plainly."""

    category: str
    model: str
    title: str
    trained_on: str
    stand_in: bool
    threshold: float  # in force for the current settings
    default_threshold: float  # the model's own for the category
    provider: str = ""  # ONNX Runtime provider; "" until the model is loaded
    dim: int = 0  # feature size; 0 until the model is loaded
    quality: str = ""  # how well it was measured to do for this category, in words

    def to_json(self) -> dict:
        return {"model": self.model, "title": self.title, "trained_on": self.trained_on, "stand_in": self.stand_in}


@dataclass(frozen=True)
class ModelSummary:
    """Which models serve what (and, once loaded, on which provider)."""

    detector: str  # registry name
    detector_title: str
    reid: dict[str, ReidModelInfo]  # category -> model
    detector_provider: str = ""

    def to_json(self) -> dict:
        """The `models` block of the results JSON (unchanged layout: detector title, then one entry per category)."""
        return {"detector": self.detector_title, **{c: m.to_json() for c, m in self.reid.items()}}


@dataclass(frozen=True)
class ReidModelChoice:
    """A ReID model that can serve a category (Settings lists them)."""

    name: str
    title: str
    trained_on: str
    stand_in: bool
    threshold: float
    active: bool
    missing: int  # the category's stored photos this model has not embedded yet
    quality: str = ""  # how well it was measured to do for this category, in words
    installed: bool = True  # its file is on this machine (an optional model built at install may be missing)


@dataclass(frozen=True)
class ModelAdded:
    name: str
    dim: int
    provider: str


# -- search runs --------------------------------------------------------------------------------------
@dataclass
class SearchReport:
    """Results of one search run over files; `files` keeps failures too, with their message."""

    root: str
    settings: Settings = field(default_factory=Settings)
    models: ModelSummary | None = None
    thresholds: dict[str, float] = field(default_factory=dict)  # category -> threshold actually used
    files: list[FileResult] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0).isoformat())
    # "search" (footage decoded) or "footage index" (`find`: no decoding; each box's track_id is then the index's
    # track id, which `similar` and the Library take)
    origin: str = "search"

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.error]

    def settings_json(self) -> dict:
        s = self.settings
        # "sampleFt" keeps the key of the first results files (readers of version 1 rely on it).
        return {"device": s.device, "sampleFt": s.sample_ft, "threshold": s.threshold, "thresholds": dict(self.thresholds),
                "tracking": s.tracking, "tracker": s.tracker, "categories": list(s.categories), "speed": s.speed,
                "hw_decode": s.hw_decode}

    def to_json(self) -> dict:
        return {
            "format": "reid-app-results",
            "version": 1,
            "created": self.created,
            "origin": self.origin,
            "root": self.root,
            "settings": self.settings_json(),
            "models": self.models.to_json() if self.models else {},
            "files": [f.to_json() for f in self.files],
        }


@dataclass(frozen=True)
class FileStarted:
    index: int  # 0-based position of the file in the run
    total: int
    path: Path


@dataclass(frozen=True)
class FrameDone:
    result: FrameResult
    # The file's sightings so far, when this frame changed them (None otherwise): a live view; the file's
    # final sightings (FileDone) replace them, since a track's identity is settled at the end.
    sightings: list[Sighting] | None = None


@dataclass(frozen=True)
class FileDone:
    index: int
    total: int
    result: FileResult  # with its error message when the file could not be used


@dataclass(frozen=True)
class Finished:
    report: SearchReport


SearchEvent = FileStarted | FrameDone | FileDone | Finished
