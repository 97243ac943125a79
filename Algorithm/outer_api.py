"""The one door into the engine: the GUI, the CLI and the tests of public behaviour use only this module.

    from Algorithm.outer_api import Engine
    eng = Engine()                                  # gallery in the user's data folder
    eng.register("photo.jpg", "Alice")              # one person in the photo
    report = eng.search("clips/")                   # images and videos, recursively
    eng.export_json(report, "results.json")

Every method may raise a ReIdError subclass whose message is written for the user.
"""
from __future__ import annotations

import csv
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from . import media
from .config import CATEGORIES, Registry, Settings, default_data_dir, load_registry
from .detect import Detector
from .errors import GalleryError, InputError, ModelError, NothingFoundError, ReIdError
from .extract import ReIdExtract
from .gallery import Gallery
from .pipeline import CategoryModel, Cancel, OnFrame, Pipeline, crop_box
from .runtime import DeviceOption, device_options, resolve_device
from .search import SearchIndex
from .types import (
    BoxResult,
    Detections,
    EntryInfo,
    FileResult,
    FrameResult,
    IdentityInfo,
    RegisterResult,
    Segment,
    Sighting,
)

__all__ = [
    "Engine",
    "Settings",
    "SearchReport",
    "ReIdError",
    "InputError",
    "ModelError",
    "GalleryError",
    "NothingFoundError",
    "BoxResult",
    "Detections",
    "EntryInfo",
    "FileResult",
    "FrameResult",
    "IdentityInfo",
    "RegisterResult",
    "Segment",
    "Sighting",
    "DeviceOption",
    "CATEGORIES",
    "list_media",
    "media_kind",
    "read_image",
    "write_image",
    "video_info",
    "read_video_frame",
    "device_options",
]

list_media = media.list_media
media_kind = media.media_kind
read_image = media.read_image
write_image = media.write_image
VideoInfo = media.VideoInfo


def video_info(path: str | Path) -> media.VideoInfo:
    """Size, frame rate and frame count of a video (InputError when unreadable)."""
    with media.VideoReader(path) as v:
        return v.info


def read_video_frame(path: str | Path, index: int) -> np.ndarray:
    """Frame `index` of a video, BGR (seek by grabbing: exact on every container)."""
    with media.VideoReader(path) as v:
        for _, frame in v.frames(start=index, stop=index + 1):
            return frame
    raise InputError(f"{path} has no frame {index}")


@dataclass
class SearchReport:
    """Results of one search run over files; `files` keeps failures too, with their message."""

    root: str
    files: list[FileResult] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0).isoformat())

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.error]

    def to_json(self) -> dict:
        return {
            "format": "reid-app-results",
            "version": 1,
            "created": self.created,
            "root": self.root,
            "settings": self.settings,
            "models": self.models,
            "files": [f.to_json() for f in self.files],
        }


@dataclass
class DetectResult:
    image: np.ndarray  # BGR
    detections: Detections


# Photos at most this large with a body-like shape count as ready-made crops (ReID datasets, cut-outs).
_CROP_MAX_SIDE = 512


def _looks_like_crop(img: np.ndarray, category: str) -> bool:
    h, w = img.shape[:2]
    if max(h, w) > _CROP_MAX_SIDE:
        return False
    ratio = h / max(w, 1)
    return 1.2 <= ratio <= 4.0 if category == "person" else 0.25 <= ratio <= 2.0


# Loaded models are shared by every Engine of the process (keyed by config, file and device): loading
# costs seconds, and a GUI may open a second gallery.
_MODELS: dict[tuple, object] = {}
_MODELS_LOCK = threading.Lock()


def _shared_model(key: tuple, build: Callable[[], object]):
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = build()
        return _MODELS[key]


class Engine:
    """Gallery + models + settings. Thread-safe for one long run beside short calls (GUI workers)."""

    def __init__(
        self,
        gallery_path: str | Path | None = None,
        settings: Settings | None = None,
        registry: Registry | None = None,
    ):
        self.registry = registry or load_registry()
        self._settings = settings or Settings()
        self._settings.validate()
        path = Path(gallery_path) if gallery_path else default_data_dir() / "gallery.db"
        self.gallery = Gallery(path)
        self.index = SearchIndex(self.gallery)
        self._lock = threading.RLock()
        self._detector: Detector | None = None
        self._extractors: dict[tuple[str, str], ReIdExtract] = {}

    # -- settings & models ----------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self._settings

    def update_settings(self, **kw) -> Settings:
        """Changes settings; models are rebuilt lazily when the device changes."""
        with self._lock:
            new = self._settings.with_(**kw)
            if resolve_device(new.device) != resolve_device(self._settings.device):
                self._detector = None
                self._extractors.clear()
            self._settings = new
            return new

    @property
    def device(self) -> str:
        return resolve_device(self._settings.device)

    def detector(self) -> Detector:
        with self._lock:
            if self._detector is None:
                spec, dev = self.registry.get(self.registry.detector), self.device
                path = self.registry.path_of(spec.name)
                self._detector = _shared_model(("detector", repr(spec), str(path), dev), lambda: Detector(spec, path, dev))
            return self._detector

    def extractor(self, category: str) -> ReIdExtract:
        spec = self.registry.reid_for(category)
        with self._lock:
            key = (spec.name, self.device)
            if key not in self._extractors:
                self._extractors[key] = self._load_reid(spec.name)
            return self._extractors[key]

    def _load_reid(self, name: str) -> ReIdExtract:
        spec, path, dev = self.registry.get(name), self.registry.path_of(name), self.device
        return _shared_model(("reid", repr(spec), str(path), dev), lambda: ReIdExtract(spec, path, dev))

    def threshold(self, category: str, settings: Settings | None = None) -> float:
        """The match distance in force: the run's setting when given, else the model's own for the category."""
        s = settings or self._settings
        if s.threshold is not None:
            return float(s.threshold)
        return self.registry.reid_for(category).threshold_for(category)

    def default_threshold(self, category: str) -> float:
        return self.registry.reid_for(category).threshold_for(category)

    def model_info(self) -> dict:
        """Which model serves what, and on which provider (loads the models)."""
        info = {"detector": self.registry.detector, "detector_provider": self.detector().provider, "reid": {}}
        for cat in CATEGORIES:
            spec = self.registry.reid_for(cat)
            ext = self.extractor(cat)
            info["reid"][cat] = {
                "model": spec.name,
                "title": spec.title,
                "trained_on": spec.trained_on.get(cat, ""),
                "threshold": self.threshold(cat),
                "default_threshold": spec.threshold_for(cat),
                "provider": ext.provider,
                "dim": ext.dim,
            }
        return info

    def model_summary(self) -> dict:
        """Which model serves which category, without loading any model (cheap, for labels in the GUI)."""
        out = {"detector": self.registry.get(self.registry.detector).title or self.registry.detector}
        for cat in CATEGORIES:
            spec = self.registry.reid_for(cat)
            out[cat] = {"model": spec.name, "title": spec.title, "trained_on": spec.trained_on.get(cat, "")}
        return out

    def reid_models(self, category: str) -> list[dict]:
        """The ReID models that can serve a category, the active one marked, with how many of the category's
        photos each has not embedded yet (cheap: loads no model)."""
        active = self.registry.reid.get(category)
        return [
            {"name": m.name, "title": m.title or m.name, "trained_on": m.trained_on.get(category, ""),
             "threshold": m.threshold_for(category), "active": m.name == active,
             "missing": sum(self.gallery.foreign_features(m.name, category).values())}  # photos it must embed
            for m in self.registry.models.values()
            if m.kind == "reid" and category in tuple(m.categories)
        ]

    def add_model(self, name: str, spec: dict, sample: str | Path | np.ndarray | None = None) -> dict:
        """Adds a ReID model to the user's model file after checking it loads, fits its config and gives
        a finite feature on a sample crop. Returns what was checked."""
        from .config import ModelSpec, update_local_config

        spec = {"kind": "reid", **spec}
        model = ModelSpec.from_dict(name, spec)
        if model.kind != "reid":
            raise ModelError("Only ReID models can be added here")
        path = Path(model.file)
        if not path.is_absolute() or not path.is_file():
            raise ModelError(f"Model file not found: {model.file} (give the full path of an .onnx file)")
        ext = ReIdExtract(model, path, self.device)
        img = media.read_image(sample) if isinstance(sample, (str, Path)) else sample
        if img is None:
            img = np.random.default_rng(0).integers(0, 255, (model.input_size[0], model.input_size[1], 3), np.uint8)
        feat = ext([img])
        if not np.isfinite(feat).all():
            raise ModelError(f"Model '{name}' gives non-finite features on a sample crop")
        update_local_config({name: model.to_dict()})
        self.registry = load_registry()
        return {"name": name, "dim": ext.dim, "provider": ext.provider}

    def set_active_model(self, category: str, name: str, progress: Callable[[int, int], None] | None = None) -> int:
        """Makes `name` the ReID model of `category` and embeds the stored crops of that category with it
        (features of different models are never mixed). Returns how many photos were embedded."""
        from .config import update_local_config

        if category not in CATEGORIES:
            raise InputError(f"Category must be one of {CATEGORIES}")
        spec = self.registry.get(name)
        if spec.kind != "reid":
            raise ModelError(f"'{name}' is not a ReID model")
        ext = self._load_reid(name)  # fail before changing anything; loaded once, kept for the searches after
        todo = [(e.id, e.crop_jpeg) for i in self.gallery.identities(category=category) for e in self.gallery.entries(i.id)
                if name not in e.model.split(",")]
        done: list[tuple[int, np.ndarray]] = []
        for k, (entry_id, crop_jpeg) in enumerate(todo):
            done.append((entry_id, ext([media.decode_image_bytes(crop_jpeg)])[0]))
            if progress:
                progress(k + 1, len(todo))
        if done:
            self.gallery.set_features(name, done)
        update_local_config(active_reid={category: name})
        with self._lock:
            self.registry = load_registry()
            self._extractors.clear()
        return len(done)

    def _pipeline(self, settings: Settings) -> Pipeline:
        models = {
            c: CategoryModel(self.extractor(c), self.registry.reid_for(c).name, self.threshold(c, settings))
            for c in settings.categories
        }
        return Pipeline(self.detector(), models, self.index, settings)

    # -- register ---------------------------------------------------------------------------------
    def detect(self, source: str | Path | np.ndarray, categories=None) -> DetectResult:
        img = source if isinstance(source, np.ndarray) else media.read_image(source)
        cats = tuple(categories or self._settings.categories)
        return DetectResult(img, self.detector()(img, cats, self._settings.det_conf))

    def register(
        self,
        source: str | Path | np.ndarray,
        label: str,
        category: str = "person",
        box=None,
        whole: bool = False,
    ) -> RegisterResult:
        """Stores one photo of `label`. Without `box`, the photo must show exactly one `category` object,
        or be a tight crop of one (then it is taken whole)."""
        if category not in CATEGORIES:
            raise InputError(f"Category must be one of {CATEGORIES}, not {category!r}")
        img = source if isinstance(source, np.ndarray) else media.read_image(source)
        h, w = img.shape[:2]
        used_whole = False
        if whole:
            box, used_whole = (0.0, 0.0, float(w), float(h)), True
        elif box is None:
            dets = self.detector()(img, (category,), self._settings.det_conf)
            if len(dets) == 1:
                box = tuple(map(float, dets.xyxy[0]))
            elif len(dets) == 0:
                if not _looks_like_crop(img, category):
                    raise NothingFoundError(f"No {category} was found in this photo. Choose a photo where the {category} is clearly visible.")
                box, used_whole = (0.0, 0.0, float(w), float(h)), True
            else:
                listing = "; ".join(
                    f"{i + 1}: {','.join(str(int(round(v))) for v in b)} ({c:.2f})" for i, (b, c) in enumerate(zip(dets.xyxy, dets.conf))
                )
                raise InputError(f"{len(dets)} {category}s were found; choose one (--box x1,y1,x2,y2). Boxes: {listing}")
        box = tuple(float(v) for v in box)
        patch = crop_box(img, box)
        ext = self.extractor(category)
        feat = ext([patch])[0]
        source_name = "" if isinstance(source, np.ndarray) else str(source)
        ident, entry, created = self.gallery.add_entry(
            label, category, media.encode_crop(patch), ext.spec.name, feat, source_name, box
        )
        return RegisterResult(ident, entry, self.gallery.labels().get(ident, label), category, box, used_whole, created)

    # -- gallery ----------------------------------------------------------------------------------
    def identities(self, text: str = "", category: str | None = None) -> list[IdentityInfo]:
        return self.gallery.identities(text, category)

    def entries(self, identity_id: int) -> list[EntryInfo]:
        return self.gallery.entries(identity_id)

    def labels(self) -> list[str]:
        return sorted(self.gallery.labels().values(), key=str.lower)

    def rename(self, identity_id: int, label: str) -> None:
        self.gallery.rename(identity_id, label)

    def delete_entry(self, entry_id: int) -> bool:
        return self.gallery.delete_entry(entry_id)

    def delete_identity(self, identity_id: int) -> None:
        self.gallery.delete_identity(identity_id)

    def backup(self, dest: str | Path) -> Path:
        return self.gallery.backup(dest)

    def restore(self, src: str | Path) -> None:
        self.gallery.restore(src)

    def close(self) -> None:
        self.gallery.close()

    # -- search -----------------------------------------------------------------------------------
    def search_file(
        self,
        path: str | Path,
        on_frame: OnFrame | None = None,
        cancel: Cancel | None = None,
        max_frames: int | None = None,
        settings: Settings | None = None,
        start_frame: int = 0,
    ) -> FileResult:
        """One image or video (from `start_frame`, at most `max_frames` frames). Errors of the file are raised."""
        s = settings or self._settings
        return self._search_file(self._pipeline(s), path, on_frame, cancel, max_frames, start_frame)

    @staticmethod
    def _search_file(pipe: Pipeline, path, on_frame, cancel, max_frames, start_frame=0) -> FileResult:
        kind = media.media_kind(path)
        if kind is None:
            raise InputError(f"Not an image or video (by its extension): {path}")
        if kind == "image":
            return pipe.search_image(str(path), on_frame)
        return pipe.search_video(str(path), on_frame, cancel, max_frames, start_frame)

    def search(
        self,
        path: str | Path,
        on_frame: OnFrame | None = None,
        cancel: Cancel | None = None,
        on_file: Callable[[int, int, Path], None] | None = None,
        on_result: Callable[[FileResult], None] | None = None,
        max_frames: int | None = None,
    ) -> SearchReport:
        """A file or a folder (recursively). A bad file is recorded with its message and the run goes on."""
        files = media.list_media(path)
        s = self._settings
        pipe = self._pipeline(s)  # loads the models first: a model problem stops the run here, once, clearly
        report = SearchReport(str(path), settings=_settings_json(s), models=self.model_summary())
        for i, f in enumerate(files):
            if cancel and cancel():
                break
            if on_file:
                on_file(i, len(files), f)
            try:
                res = self._search_file(pipe, f, on_frame, cancel, max_frames)
            except (InputError, OSError) as e:  # this file only: record it and go on (model or gallery errors stop)
                res = FileResult(str(f), media.media_kind(f) or "unknown", error=str(e))
            report.files.append(res)
            if on_result:
                on_result(res)
            if res.stopped:
                break
        return report

    # -- export -----------------------------------------------------------------------------------
    @staticmethod
    def export_json(report: SearchReport, dest: str | Path) -> Path:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        tmp.write_text(json.dumps(report.to_json(), indent=1, ensure_ascii=False), encoding="utf-8")
        tmp.replace(dest)
        return dest

    @staticmethod
    def export_csv(report: SearchReport, dest: str | Path) -> Path:
        """One row per video segment or per matched box in an image."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        cols = ["file", "type", "label", "identity_id", "start_time", "end_time", "start_frame", "end_frame",
                "best_frame", "distance", "x1", "y1", "x2", "y2", "error"]
        with open(dest, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel reads UTF-8 labels right
            w = csv.writer(fh)
            w.writerow(cols)
            for f in report.files:
                if f.error:
                    w.writerow([f.path, f.kind] + [""] * (len(cols) - 3) + [f.error])
                elif f.kind == "image":
                    for fr in f.frames:
                        for b in fr.matches:
                            w.writerow([f.path, "image", b.match.label, b.match.identity_id, "", "", 0, 0, 0,
                                        round(b.match.distance, 4), *[round(v, 1) for v in b.box], ""])
                else:
                    for s in f.sightings:
                        for g in s.segments:
                            w.writerow([f.path, "video", s.label, s.identity_id, round(g.start_time, 3), round(g.end_time, 3),
                                        g.start_frame, g.end_frame, g.best_frame, round(g.best_distance, 4),
                                        *[round(v, 1) for v in g.best_box], ""])
        return dest


def _settings_json(s: Settings) -> dict:
    return {
        "device": s.device,
        "sampleFt": s.sample_ft,
        "threshold": s.threshold,
        "tracking": s.tracking,
        "tracker": s.tracker,
        "categories": list(s.categories),
    }


# -- GUI support
# Helpers the desktop GUI needs beside the Engine: drawing, live sightings while a file is processed, and
# one list of sightings per file whether it is a video or a photo. Imported here so the GUI needs no other module.
from . import draw as _draw  # noqa: E402
from .sightings import SightingsBuilder as _SightingsBuilder  # noqa: E402
from .sightings import merge_gap as _merge_gap  # noqa: E402
from .types import Match  # noqa: E402

identity_color = _draw.identity_color
draw_boxes = _draw.draw_boxes
export_annotated_video = _draw.export_annotated_video


class LiveSightings:
    """Sightings of one file built from its FrameResults as they arrive, with the engine's merging rule
    (gaps up to max_gap_s, at least 1.5 sampling steps). The FileResult's own sightings replace them at the end."""

    def __init__(self, settings: Settings, path: str | Path):
        fps = media.DEFAULT_FPS
        if media.media_kind(path) == "video":
            try:
                fps = video_info(path).fps
            except ReIdError:
                pass
        self.kind = media.media_kind(path) or "unknown"
        self._builder = _SightingsBuilder(_merge_gap(settings.max_gap_s, settings.sample_ft, fps))
        self.changed = False

    def add(self, fr: FrameResult) -> None:
        for b in fr.matches:
            self._builder.add(b.match.identity_id, b.match.label, fr.frame_index, fr.time_s, b.box, b.match.distance)
            self.changed = True

    def result(self) -> list[Sighting]:
        self.changed = False
        return self._builder.result()


def file_sightings(result: FileResult) -> list[Sighting]:
    """A file's sightings; for a photo, one single-frame sighting per identity matched in it."""
    if result.kind != "image":
        return list(result.sightings)
    best: dict[int, BoxResult] = {}
    for fr in result.frames:
        for b in fr.matches:
            if b.match.identity_id not in best or b.match.distance < best[b.match.identity_id].match.distance:
                best[b.match.identity_id] = b
    return [
        Sighting(i, b.match.label, [Segment(0, 0, 0.0, 0.0, 0, b.match.distance, tuple(b.box))])
        for i, b in sorted(best.items(), key=lambda kv: kv[1].match.distance)
    ]


# -- evaluation -------------------------------------------------------------------------------------
# Threshold calibration for the GUI, re-exported from Algorithm/calibrate.py (the code lives there).
from .calibrate import (  # noqa: E402
    Calibration,
    apply_threshold,
    calibrate_engine_folder as calibrate_folder,
    calibrate_gallery,
    calibration_figure,
)

__all__ += ["Calibration", "apply_threshold", "calibrate_folder", "calibrate_gallery", "calibration_figure"]
