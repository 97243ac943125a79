"""The one door into the engine: the GUI, the CLI, the tools and the tests of public behaviour use only this module.

    from Algorithm.outer_api import Engine, export_json
    eng = Engine()                                  # gallery in the user's data folder
    eng.register("photo.jpg", "Alice")              # one person in the photo
    for event in eng.search("clips/"):              # images and videos, recursively
        ...                                         # FileStarted, FrameDone, FileDone, then Finished
    report = eng.search_all("clips/")               # the same, returning the SearchReport
    export_json(report, "results.json")

Every method may raise a ReIdError subclass whose message is written for the user. Every value that
comes out is a typed record from Algorithm.types (no dicts read by key).
"""
from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from Algorithm import media, rules
from Algorithm.errors import (
    Cancelled,
    GalleryError,
    InputError,
    ModelError,
    NothingFoundError,
    ReIdError,
    SeveralFoundError,
    WrongCategoryError,
)
from Algorithm.evaluation import calibrate as _calibrate
from Algorithm.evaluation import ranking as _ranking
from Algorithm.evaluation import reid_eval as _reid_eval
from Algorithm.evaluation import tracklets_eval as _tracklets
from Algorithm.evaluation.calibrate import Calibration
from Algorithm.evaluation.datasets import GtFilter
from Algorithm.evaluation.error_rates import Suggestion
from Algorithm.evaluation.ranking import RankedPhoto, Ranking
from Algorithm.evaluation.reid_eval import ReidEvaluation
from Algorithm.evaluation.tracklets_eval import TrackletsEvaluation
from Algorithm.evaluation.tracks_eval import TracksEvaluation
from Algorithm.footage import find as _find
from Algorithm.footage import similar as _similar
from Algorithm.footage.clock import clock_text
from Algorithm.footage.journey import journeys as _journeys
from Algorithm.footage.records import IndexSummary, Journey, JourneyStop, LibrarySource, SimilarTrack
from Algorithm.footage.reembed import reembed as _reembed
from Algorithm.geometry import iou
from Algorithm.models import registry as _registry_mod
from Algorithm.models.registry import ModelSpec, Registry, load_registry, update_local_config
from Algorithm.models.runtime import DeviceOption, device_options, resolve_device
from Algorithm.pipeline import resume as _resume
from Algorithm.pipeline.crop_policy import CropChoice, choose_crop, crop_box
from Algorithm.pipeline.crop_policy import verdict as _verdict
from Algorithm.pipeline.detect import Detector
from Algorithm.pipeline.embed import ReIdExtract
from Algorithm.pipeline.feedback import Rejections
from Algorithm.pipeline.runner import Cancel, error_result, index_failure
from Algorithm.pipeline.runner import search_file as _search_file
from Algorithm.pipeline.session import CategoryModel, Stages
from Algorithm.review import apply as _apply
from Algorithm.review import verdicts as _verdicts
from Algorithm.review.verdicts import Verdict
from Algorithm.rules import CATEGORIES
from Algorithm.settings import Settings, default_data_dir
from Algorithm.sinks import atomic as _atomic
from Algorithm.sinks import evidence as _evidence
from Algorithm.sinks.anonymize import DETECT_CONF as _BLUR_CONF
from Algorithm.sinks.csv_sink import write_csv as export_csv
from Algorithm.sinks.draw import FrameBoxes, draw_boxes, identity_color
from Algorithm.sinks.evidence import EvidenceSelection, select_sightings
from Algorithm.sinks.footage_sink import FootageSink
from Algorithm.sinks.json_sink import read_results_json
from Algorithm.sinks.json_sink import write_json as export_json
from Algorithm.sinks.provenance import verify_manifest as _verify_manifest
from Algorithm.sinks.video_sink import write_annotated_video as export_annotated_video
from Algorithm.storage.footage_index import FootageIndex, SourceInfo, SourceStatus, TrackInfo
from Algorithm.storage.gallery import Gallery
from Algorithm.storage.vector_index import FeatureIndex, SearchIndex
from Algorithm.types import (
    BoxResult,
    DetectionLog,
    Detections,
    EntryInfo,
    FileDone,
    FileResult,
    FileStarted,
    Finished,
    FrameDone,
    FrameResult,
    IdentityInfo,
    MergeResult,
    ModelAdded,
    ModelSummary,
    PhotoCheck,
    PhotoVerdict,
    RegisterOutcome,
    RegisterResult,
    ReidModelChoice,
    ReidModelInfo,
    SearchEvent,
    SearchReport,
    Segment,
    Sighting,
)

__all__ = [
    "Engine", "Settings", "SearchReport", "DetectResult", "CropChoice",
    "ReIdError", "Cancelled", "InputError", "ModelError", "GalleryError", "NothingFoundError", "SeveralFoundError",
    "WrongCategoryError",
    "BoxResult", "Detections", "DetectionLog", "EntryInfo", "FileResult", "FrameResult", "IdentityInfo", "RegisterResult",
    "RegisterOutcome", "MergeResult", "PhotoCheck", "PhotoVerdict",
    "Segment", "Sighting", "ModelSummary", "ReidModelInfo", "ReidModelChoice", "ModelAdded",
    "SearchEvent", "FileStarted", "FrameDone", "FileDone", "Finished",
    "DeviceOption", "device_options", "CATEGORIES", "rules",
    "list_media", "media_kind", "source_problem", "clock_text",
    "read_image", "write_image", "video_info", "video_frames", "read_video_frame", "VideoInfo",
    "export_json", "export_csv", "export_annotated_video", "draw_boxes", "identity_color", "read_results_json", "FrameBoxes",
    "iou",
    "Calibration", "Suggestion", "GtFilter", "ReidEvaluation", "TracksEvaluation", "TrackletsEvaluation",
    "Ranking", "RankedPhoto",
    "calibration_figure",
    "EvidenceSelection", "select_sightings", "verify_evidence",
    "Verdict", "IndexSummary", "Journey", "JourneyStop", "LibrarySource", "SimilarTrack", "SourceInfo", "SourceStatus",
    "TrackInfo",
]

list_media = media.list_media
media_kind = media.media_kind
read_image = media.read_image
write_image = media.write_image
VideoInfo = media.VideoInfo
video_info = media.video_info
video_frames = media.video_frames
read_video_frame = media.read_video_frame
source_problem = media.source_problem  # results shown on footage that is not the one searched: why (None: it is)
verify_evidence = _verify_manifest  # what in a case folder no longer matches its manifest ([] when all do)


@dataclass
class DetectResult:
    image: np.ndarray  # BGR
    detections: Detections


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
        footage_path: str | Path | None = None,
    ):
        self._registry = registry or load_registry()
        self._settings = settings or Settings()
        self._settings.validate()
        path = Path(gallery_path) if gallery_path else default_data_dir() / "gallery.db"
        self._gallery = Gallery(path)
        # The footage index lives beside the gallery (opened on first use: most calls never need it).
        self._footage_path = Path(footage_path) if footage_path else path.with_name("footage.db")
        self._footage_store: FootageIndex | None = None
        self._index = SearchIndex(self._gallery)
        self._lock = threading.RLock()
        self._detector: Detector | None = None
        self._extractors: dict[tuple[str, str], ReIdExtract] = {}

    # -- settings ---------------------------------------------------------------------------------
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

    @property
    def gallery_path(self) -> Path:
        return self._gallery.path

    @property
    def gallery_caution(self) -> str:
        """'' for a gallery that can be changed; else why not (damaged, or on a read-only disk) and what to do."""
        g = self._gallery
        if g.damage:
            return g._damaged_text("changes to it are refused until it is repaired")
        return g.read_only_text().replace("nothing was written to it", "it is searched, but changes are refused") \
            if g.read_only else ""

    # -- models -----------------------------------------------------------------------------------
    def detector(self) -> Detector:
        with self._lock:
            if self._detector is None:
                spec, dev = self._registry.detector_spec(), self.device
                path = self._registry.path_of(spec.name)
                self._detector = _shared_model(("detector", repr(spec), str(path), dev), lambda: Detector(spec, path, dev))
            return self._detector

    def extractor(self, category: str) -> ReIdExtract:
        spec = self._registry.reid_for(category)
        with self._lock:
            key = (spec.name, self.device)
            if key not in self._extractors:
                self._extractors[key] = self._load_reid(spec.name)
            return self._extractors[key]

    def _load_reid(self, name: str) -> ReIdExtract:
        spec, path, dev = self._registry.get(name), self._registry.path_of(name), self.device
        return _shared_model(("reid", repr(spec), str(path), dev), lambda: ReIdExtract(spec, path, dev))

    def reid_model_name(self, category: str) -> str:
        return self._registry.reid_for(category).name

    def threshold(self, category: str, settings: Settings | None = None) -> float:
        """The match distance in force: the run's setting for the category when given (`Settings.threshold_for`),
        else the model's own for the category."""
        s = settings or self._settings
        t = s.threshold_for(category)
        if t is not None:
            return t
        return self._registry.reid_for(category).threshold_for(category)

    def default_threshold(self, category: str) -> float:
        return self._registry.reid_for(category).threshold_for(category)

    def _reid_info(self, category: str, loaded: bool) -> ReidModelInfo:
        spec = self._registry.reid_for(category)
        ext = self.extractor(category) if loaded else None
        return ReidModelInfo(category, spec.name, spec.title or spec.name, spec.trained_on.get(category, ""),
                             category in spec.stand_in, self.threshold(category), spec.threshold_for(category),
                             ext.provider if ext else "", ext.dim if ext else 0, spec.quality.get(category, ""))

    def model_summary(self) -> ModelSummary:
        """Which model serves which category, without loading any model (cheap, for labels in the GUI)."""
        det = self._registry.detector_spec()
        return ModelSummary(det.name, det.title or det.name, {c: self._reid_info(c, False) for c in CATEGORIES})

    def speed_caution(self, speed: str | None = None, categories=None) -> str:
        """What to tell the user about a speed setting with these categories and the active models (rules.speed_caution;
        empty: nothing). Defaults: the current settings."""
        s = self.settings
        vehicle = self._registry.reid_for("vehicle") if "vehicle" in self._registry.reid else None
        return rules.speed_caution(speed or s.speed, s.categories if categories is None else categories,
                                   vehicle is not None and "vehicle" in vehicle.stand_in)

    def device_caution(self) -> str:
        """What to tell the user when the device asked for cannot be used (empty: nothing)."""
        if self.device == "cuda":
            det = self._registry.detector_spec()
            if det.name != self._registry.detector:  # the INT8 file: ONNX Runtime has no CUDA kernel for its convolutions
                return (f"The detector's copy for the GPU is not built, so its convolutions run on the CPU: run the "
                        f"install again (or `python -m Algorithm models fetch`) to build '{self._registry.detector}'")
            return ""
        if self.settings.device != "cuda":
            return ""
        reason = next(o.reason for o in device_options() if o.name == "cuda")
        return f"CUDA is not available ({reason}); running on the CPU"

    def model_info(self) -> ModelSummary:
        """model_summary with the providers and feature sizes filled in (loads the models)."""
        det = self._registry.detector_spec()
        return ModelSummary(det.name, det.title or det.name, {c: self._reid_info(c, True) for c in CATEGORIES},
                            self.detector().provider)

    def model_titles(self) -> dict[str, str]:
        """Registry name -> the title shown to users, for every configured model (cheap: the model config only)."""
        return {name: spec.title or name for name, spec in self._registry.models.items()}

    def reid_models(self, category: str) -> list[ReidModelChoice]:
        """The ReID models that can serve a category, the active one marked, with how many of the category's
        photos each has not embedded yet (cheap: loads no model)."""
        active = self._registry.reid.get(category)
        return [
            ReidModelChoice(m.name, m.title or m.name, m.trained_on.get(category, ""), category in m.stand_in,
                            m.threshold_for(category), m.name == active,
                            sum(self._gallery.foreign_features(m.name, category).values()), m.quality.get(category, ""),
                            self._registry.is_installed(m.name))
            for m in self._registry.models.values()
            if m.kind == "reid" and category in tuple(m.categories)
        ]

    def add_model(self, name: str, spec: dict, sample: str | Path | np.ndarray | None = None) -> ModelAdded:
        """Adds a ReID model to the user's model file after checking it loads, fits its config and gives
        a finite feature on a sample crop."""
        try:
            rules.check_model_name(name)
        except ValueError as e:
            raise ModelError(str(e)) from None
        if name in self._registry.models:  # stored features carry the model's name: two models must never share one
            old = self._registry.get(name)
            raise ModelError(f"A model named '{name}' exists already ({old.title or old.file}); give this one another "
                             f"name")
        model = ModelSpec.from_dict(name, {"kind": "reid", **spec})
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
        self.reload_models()
        return ModelAdded(name, ext.dim, ext.provider)

    def set_active_model(self, category: str, name: str, progress: Callable[[int, int], None] | None = None,
                         library_progress: Callable[[int, int], None] | None = None) -> int:
        """Makes `name` the ReID model of `category` and embeds the stored crops of that category with it, the
        gallery's photos and then the footage library's tracks (features of different models are never mixed).
        `progress` counts the photos, then the tracks unless `library_progress` is given for them. Returns how
        many photos were embedded."""
        if category not in CATEGORIES:
            raise InputError(f"Category must be one of {CATEGORIES}")
        spec = self._registry.get(name)
        if spec.kind != "reid":
            raise ModelError(f"'{name}' is not a ReID model")
        ext = self._load_reid(name)  # fail before changing anything; loaded once, kept for the searches after
        todo = [(e.id, e.crop_jpeg) for i in self._gallery.identities(category=category) for e in self._gallery.entries(i.id)
                if name not in e.model.split(",")]
        done: list[tuple[int, np.ndarray]] = []
        for k, (entry_id, crop_jpeg) in enumerate(todo):
            done.append((entry_id, ext([media.decode_image_bytes(crop_jpeg)])[0]))
            if progress:
                progress(k + 1, len(todo))
        if done:
            self._gallery.set_features(name, done)
        update_local_config(active_reid={category: name})
        self.reload_models()
        if self._footage_store is not None or self._footage_path.exists():
            # the footage library too, from its stored crops: find needs no re-index
            self.reembed_library(category, library_progress or progress)
        return len(done)

    @property
    def local_models_path(self) -> Path:
        """The user's model file, where a calibrated threshold is stored (per model and category)."""
        return Path(_registry_mod.LOCAL_MANIFEST_PATH)

    def reload_models(self, local: str | Path | None = None) -> None:
        """Re-reads the model configuration (after another process or a calibration changed it)."""
        with self._lock:
            self._registry = load_registry(local=Path(local) if local else None)
            self._extractors.clear()

    def _stages(self, settings: Settings, recorded: DetectionLog | None = None) -> Stages:
        models = {
            c: CategoryModel(self.extractor(c), self._registry.reid_for(c).name, self.threshold(c, settings))
            for c in settings.categories
        }
        return Stages(self.detector(), models, self._index, settings, recorded)

    # -- register ---------------------------------------------------------------------------------
    def detect(self, source: str | Path | np.ndarray, categories=None) -> DetectResult:
        img = source if isinstance(source, np.ndarray) else media.read_image(source)
        cats = tuple(categories or self._settings.categories)
        return DetectResult(img, self.detector()(img, cats, self._settings.det_conf))

    def _det_conf(self) -> float:
        """The confidence a box needs to count as found: the run's setting, else the detector's own."""
        return float(self._settings.det_conf if self._settings.det_conf is not None else self.detector().spec.conf)

    def _photo_detections(self, img: np.ndarray) -> tuple[Detections, float]:
        """Every category's boxes down to the crop policy's hint confidence (one detector pass), and the usual
        confidence: boxes above it are the ones found; the weaker ones only explain a refusal."""
        conf = self._det_conf()
        return self.detector()(img, CATEGORIES, min(conf, rules.HINT_CONF)), conf

    def choose_crop(self, source: str | Path | np.ndarray, category: str = "person", box=None, whole: bool = False,
                    several: str = "refuse") -> tuple[np.ndarray, CropChoice]:
        """The photo and the part of it that stands for the one `category` object (see pipeline.crop_policy)."""
        if category not in CATEGORIES:
            raise InputError(f"Category must be one of {CATEGORIES}, not {category!r}")
        img = source if isinstance(source, np.ndarray) else media.read_image(source)
        if whole:
            return img, choose_crop(img, None, category, box, whole, several)
        dets, conf = self._photo_detections(img)  # a given box too: one of the other category is refused
        return img, choose_crop(img, dets, category, box, whole, several, conf=conf)

    def check_photo(self, source: str | Path | np.ndarray, categories=CATEGORIES) -> PhotoCheck:
        """The photo, its boxes (of `categories`, at the detector's usual confidence) and, per category, what
        registering it without a chosen box would store or why it would be refused (nothing raised for that)."""
        img = source if isinstance(source, np.ndarray) else media.read_image(source)
        dets, conf = self._photo_detections(img)
        shown = dets.select([c in categories and s >= conf for c, s in zip(dets.category, dets.conf)])
        return PhotoCheck(img, shown, {c: _verdict(img, dets, c, conf) for c in categories})

    def register(
        self,
        source: str | Path | np.ndarray,
        label: str,
        category: str = "person",
        box=None,
        whole: bool = False,
    ) -> RegisterResult:
        """Stores one photo of `label`. Without `box`, the photo must show exactly one `category` object,
        or be a tight crop of one (then it is taken whole: see pipeline.crop_policy)."""
        img, choice = self.choose_crop(source, category, box, whole)
        patch = crop_box(img, choice.box)
        ext = self.extractor(category)
        feat = ext([patch])[0]
        source_name = "" if isinstance(source, np.ndarray) else str(source)
        ident, entry, created = self._gallery.add_entry(
            label, category, media.encode_crop(patch), ext.spec.name, feat, source_name, choice.box
        )
        return RegisterResult(ident, entry, self._gallery.labels().get(ident, label), category, choice.box, choice.whole,
                              created, choice.how)

    def register_many(
        self,
        sources: list[str | Path | np.ndarray],
        label: str,
        category: str = "person",
        whole: bool = False,
        progress: Callable[[RegisterOutcome], None] | None = None,
    ) -> list[RegisterOutcome]:
        """Stores several photos of one `label`, each as `register` would (no box: each photo must show one
        `category` object or be a tight crop of one). A photo that cannot be used is reported in its outcome and the
        others are still stored; `progress` hears each outcome as it comes."""
        if category not in CATEGORIES:
            raise InputError(f"Category must be one of {CATEGORIES}, not {category!r}")
        out = []
        for src in sources:
            name = "" if isinstance(src, np.ndarray) else str(src)
            try:
                o = RegisterOutcome(name, self.register(src, label, category, whole=whole))
            except WrongCategoryError as e:
                o = RegisterOutcome(name, None, str(e), e.seen)
            except ReIdError as e:
                o = RegisterOutcome(name, None, str(e))
            out.append(o)
            if progress:
                progress(o)
        return out

    # -- gallery ----------------------------------------------------------------------------------
    def identities(self, text: str = "", category: str | None = None) -> list[IdentityInfo]:
        return self._gallery.identities(text, category)

    def entries(self, identity_id: int) -> list[EntryInfo]:
        return self._gallery.entries(identity_id)

    def identities_not_searched(self, categories: tuple[str, ...] | None = None) -> dict[str, int]:
        """Category -> how many registered identities of it a search with `categories` (default: the settings')
        leaves out: a registered bus is never found while only people are looked for, and the user must be told."""
        cats = self._settings.categories if categories is None else categories
        out: dict[str, int] = {}
        for i in self._gallery.identities():
            if i.category not in cats:
                out[i.category] = out.get(i.category, 0) + 1
        return out

    def labels(self) -> list[str]:
        return sorted(self._gallery.labels().values(), key=str.lower)

    def labels_by_id(self) -> dict[int, str]:
        return self._gallery.labels()

    def gallery_features(self, category: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(entry ids, identity ids, features) of the category's photos under its active ReID model."""
        return self._gallery.features(self.reid_model_name(category), category)

    def rename(self, identity_id: int, label: str) -> None:
        self._gallery.rename(identity_id, label)

    def delete_entry(self, entry_id: int) -> bool:
        return self._gallery.delete_entry(entry_id)

    def delete_identity(self, identity_id: int) -> None:
        self._gallery.delete_identity(identity_id)

    def merge_identities(self, keep_id: int, other_id: int) -> MergeResult:
        """Makes two identities of one category one: every photo of `other_id` moves to `keep_id`, which keeps its
        label; `other_id` is deleted. One transaction (all or nothing); refused when the categories differ."""
        return self._gallery.merge_identities(keep_id, other_id)

    def backup(self, dest: str | Path) -> Path:
        return self._gallery.backup(dest)

    def restore(self, src: str | Path) -> None:
        self._gallery.restore(src)

    def close(self) -> None:
        self._gallery.close()
        if self._footage_store is not None:
            self._footage_store.close()

    # -- search -----------------------------------------------------------------------------------
    def search(
        self,
        path: str | Path,
        cancel: Cancel | None = None,
        max_frames: int | None = None,
        start_frame: int = 0,
        settings: Settings | None = None,
    ) -> Iterator[SearchEvent]:
        """Searches a file or a folder (recursively), as events: FileStarted, FrameDone per processed frame,
        FileDone, and Finished with the report. A bad file is recorded with its message and the run goes on;
        a model or gallery problem stops it. `cancel()` returning True ends the current file as stopped."""
        s = settings or self._settings
        indexing = s.index_footage and not self.footage_caution  # a damaged or read-only index: the search goes on
        return self._run(path, media.list_media(path), s, cancel, max_frames, start_frame,
                         FootageSink(self._footage()) if indexing else None)

    def _run(self, path, files: list[Path], s: Settings, cancel, max_frames, start_frame,
             sink: FootageSink | None) -> Iterator[SearchEvent]:
        stages = self._stages(s)  # loads the models first: a model problem stops the run here, once, clearly
        stages.footage = sink
        # the report records the device the run used ("auto" resolved; "cuda" without a usable GPU ran on the CPU)
        report = SearchReport(str(path), s.with_(device=resolve_device(s.device)), self.model_summary(),
                              {c: m.threshold for c, m in stages.models.items()})
        for i, f in enumerate(files):
            if cancel and cancel():
                break
            yield FileStarted(i, len(files), f)
            try:
                res = yield from _search_file(stages, f, cancel, max_frames, start_frame)
            except (InputError, OSError) as e:  # this file only: record it and go on (model or gallery errors stop)
                res = error_result(f, str(e))
                index_failure(stages, f, str(e))
            report.files.append(res)
            yield FileDone(i, len(files), res)
            if res.stopped:
                break
        yield Finished(report)

    def resume(self, report: SearchReport, cancel: Cancel | None = None,
               max_frames: int | None = None) -> Iterator[SearchEvent]:
        """Goes on with a stopped run, with its settings and thresholds: the stopped file from one sampling step after
        its last processed frame, then the files the run had not reached (`max_frames` as given to the first part:
        counted from each file's start). Events as `search`; the first part's results are kept: live sightings,
        FileDone results and the Finished report are the whole run's. An error in the stopped file is raised (its
        first part stays as it was); a new file's is recorded, as in `search`. Resumed parts are not indexed."""
        s = _resume.run_settings(report)
        self._check_same_models(report, s.categories)
        files = media.list_media(report.root)
        stages = self._stages(s)
        out = dataclasses.replace(report, files=list(report.files))  # the first part's report stays as it was
        for i, f, start, first in _resume.plan(report, files):
            if cancel and cancel():
                break
            if first is not None and _resume.replaced(first, f):
                raise InputError(f"This run cannot go on: '{f.name}' is not the file it stopped in (it was replaced "
                                 f"or changed since). Going on would join two files' results. Process it again.")
            yield FileStarted(i, len(files), f)
            limit = None if max_frames is None else max(0, max_frames - start)
            part = _search_file(stages, f, cancel, limit, start)
            if first is not None:
                res = yield from _resume.continued(part, first, s)
                out.files[out.files.index(first)] = res
            else:
                try:
                    res = yield from part
                except (InputError, OSError) as e:
                    res = error_result(f, str(e))
                out.files.append(res)
            yield FileDone(i, len(files), res)
            if res.stopped:
                break
        yield Finished(out)

    def _check_same_models(self, report: SearchReport, categories) -> None:
        """A run goes on only with the models it ran with: another model's features are not comparable with the
        first part's, nor its threshold with the one the run keeps."""
        then, now = report.models, self.model_summary()
        if then is None:
            return
        changed = [(c, then.reid[c].title, now.reid[c].title) for c in categories
                   if c in then.reid and then.reid[c].model != now.reid[c].model]
        if then.detector_title != now.detector_title:  # a results file keeps the title only
            changed.append(("detection", then.detector_title, now.detector_title))
        if changed:
            what = "; ".join(f"{c}: '{a}' then, '{b}' now" for c, a, b in changed)
            raise ModelError(f"This run cannot go on: its models changed since it stopped ({what}). Going on would "
                             f"mix two models' results in one run. Switch back in Settings to continue it, or "
                             f"process the files again.")

    # -- footage index ----------------------------------------------------------------------------
    def _footage(self) -> FootageIndex:
        with self._lock:
            if self._footage_store is None:
                self._footage_store = FootageIndex(self._footage_path)
            return self._footage_store

    @property
    def footage_path(self) -> Path:
        return self._footage_path

    @property
    def footage_caution(self) -> str:
        """'' for a footage index that runs can add to (or that can be made); else why not and what to do."""
        if self._footage_store is None and not self._footage_path.is_file():
            folder = self._footage_path.parent
            if folder.is_dir() and not os.access(folder, os.W_OK):
                return (f"The footage index cannot be made in {folder} (the folder is read-only): runs are not added "
                        f"to the library. Open a gallery in a folder you can write to, to build one.")
            return ""
        f = self._footage()
        if f.damage:
            return f._damaged_text("nothing more is added to it")
        return f.read_only_text().replace("nothing was written to it", "it is searched, but runs are not added to it") \
            if f.read_only else ""

    def check_output(self, dest: str | Path, inputs=()) -> Path:
        """Refuses, before any work, an output file that would overwrite this gallery, its footage index or one of
        the files `inputs` (what is being searched), or that cannot be written (a folder, a read-only place).
        Returns the path."""
        protected = {}
        for db, what in ((self.gallery_path, "the gallery"), (self._footage_path, "the footage index")):
            for suffix in ("", "-wal", "-shm"):
                protected[db.with_name(db.name + suffix)] = what
        for p in inputs:
            if Path(p).is_file():
                protected[Path(p)] = "a file being searched"
        if self._footage_store is not None or self._footage_path.is_file():  # footage: often the only copy
            for src in self._footage().sources():
                protected.setdefault(Path(src.path), "a file of the footage library")
        return _atomic.check_writable(dest, protected)

    def index(self, path: str | Path | list[str | Path], categories: tuple[str, ...] | None = None,
              sample_ft: int | None = None, camera: str | None = None, force: bool = False,
              cancel: Cancel | None = None, max_frames: int | None = None) -> Iterator[SearchEvent]:
        """Processes files (a file, a folder or a list of them) into the footage index (events as `search`;
        matches against the gallery come as a by-product). Files already indexed in full and unchanged are
        skipped unless `force`. Camera: each file's folder name unless given."""
        kw: dict = {"index_footage": True, "keep_frames": False}
        if categories:
            kw["categories"] = tuple(categories)
        if sample_ft:
            kw["sample_ft"] = int(sample_ft)
        s = self._settings.with_(**kw)
        if self.footage_caution:  # said before any model loads or file is read
            raise GalleryError(self.footage_caution)
        sink = FootageSink(self._footage(), camera, force)
        files = _media_of(path)
        root = "; ".join(map(str, path)) if isinstance(path, (list, tuple)) else str(path)
        yield from self._run(root, [f for f in files if sink.wanted(f)], s, cancel, max_frames, 0, sink)

    def index_all(self, path: str | Path | list[str | Path], **kw) -> IndexSummary:
        """`index` run to the end: what was indexed, skipped and failed."""
        files = _media_of(path)
        skipped = [str(f) for f in files if not kw.get("force") and not FootageSink(self._footage()).wanted(f)]
        indexed, failed, tracks = [], [], 0
        for ev in self.index(path, **kw):
            if isinstance(ev, FileDone):
                if ev.result.error:
                    failed.append((ev.result.path, ev.result.error))
                else:
                    indexed.append(ev.result.path)
                    tracks += len(self._footage().tracks(ev.result.path))
        return IndexSummary(indexed, skipped, failed, tracks)

    def library_status(self, path: str | Path) -> SourceStatus:
        """One file's state in the footage index now: new, done, partial, failed, missing or changed, with why."""
        return self._footage().source_status(path)

    def library_caution(self, path: str | Path) -> str | None:
        """What a user must be told of an indexed file's tracks and sightings when it is gone or changed on disk."""
        return _find.disk_caution(self._footage(), str(path))

    def library(self) -> list[LibrarySource]:
        """Every indexed file with its state on disk now (done, partial, failed, missing, changed)."""
        store = self._footage()
        out = []
        for info in store.sources():
            st = store.source_status(info.path)
            out.append(LibrarySource(info, st.status, st.reason or info.reason))
        return out

    def library_unsearched(self, categories: tuple[str, ...] | None = None) -> dict[str, tuple[int, int]]:
        """Per category: (tracks without features of its active model, tracks in all) where some lack them (a library
        embedded by another install's model): find and similar do not see those until `reembed_library`."""
        out = {}
        for cat in categories or self._settings.categories:
            have, total = self._footage().count_embedded(self.reid_model_name(cat), cat)
            if have < total:
                out[cat] = (total - have, total)
        return out

    def library_tracks(self, source: str | Path | None = None, category: str | None = None) -> list[TrackInfo]:
        return self._footage().tracks(source, category)

    def remove_from_library(self, path: str | Path) -> int:
        """Forgets an indexed file, or every file indexed under a folder, with their tracks (the files themselves are
        not touched). Returns how many files were forgotten."""
        store = self._footage()
        if store.remove_source(path):
            return 1
        return sum(store.remove_source(src.path) for src in store.sources() if _find.in_scope(src.path, [str(path)]))

    def _wanted(self, s: Settings, photos: list | None = None) -> tuple[dict[str, _find.Wanted], dict[int, str]]:
        """What find compares the tracks with, per category: the gallery's photos, or query photos."""
        wanted, labels = {}, self.labels_by_id()
        for cat in s.categories:
            model = self.reid_model_name(cat)
            if photos is None:
                self._index.check_model(model, cat)  # refuses photos embedded by another model, as a search does
                entry_ids, ident_ids, vecs = self._gallery.features(model, cat)
            else:
                feats = [(i, f) for i, (c, f, _) in enumerate(photos) if c == cat]
                if not feats:
                    continue
                vecs = np.stack([f for _, f in feats])
                entry_ids = np.arange(len(feats), dtype=np.int64)
                ident_ids = np.asarray([-1 - i for i, _ in feats], np.int64)
            if len(entry_ids) == 0:
                continue
            wanted[cat] = _find.Wanted(model, self.threshold(cat, s), FeatureIndex(entry_ids, ident_ids, vecs, model=model), vecs)
        if photos is not None:
            labels = {-1 - i: name for i, (_, _, name) in enumerate(photos)}
        return wanted, labels

    def find(self, queries: list[str | Path | int] | tuple = (), threshold: float | None = None,
             sources: list[str | Path] | None = None, after: float | None = None, before: float | None = None,
             categories: tuple[str, ...] | None = None, box=None) -> SearchReport:
        """A search answered from the footage index, with no decoding: the same results layout and decision
        rules as `search` over the indexed files. `queries`: identity labels or ids (none: every registered
        identity) or photos (each searched as an identity of its own; `box` picks the person in one photo)."""
        if after is not None and before is not None and after > before:
            raise InputError(f"The time window is empty: it starts at {after:g} s and ends at {before:g} s")
        kw: dict = {"keep_frames": False}
        if threshold is not None:
            kw["threshold"] = float(threshold)
        if categories:
            kw["categories"] = tuple(categories)
        s = self._settings.with_(**kw)
        photos, idents = [], set()
        labels = self.labels_by_id()
        by_label = {rules.label_key(v): k for k, v in labels.items()}  # unique by rules.label_key (gallery.py)
        for q in queries:
            if isinstance(q, int) or (isinstance(q, str) and rules.label_key(q) in by_label):
                ident = q if isinstance(q, int) else by_label[rules.label_key(q)]
                if ident not in labels:
                    raise InputError(f"No identity with id {q} in the gallery")
                idents.add(ident)
            elif media.media_kind(q) == "image":
                cat = s.categories[0]  # a photo is searched among the first category's tracks
                img, choice = self.choose_crop(q, cat, box=box)
                photos.append((cat, self.extractor(cat)([crop_box(img, choice.box)])[0], Path(q).name))
            else:
                raise InputError(f"'{q}' is neither a registered identity nor a photo")
        if photos and idents:
            raise InputError("Find either registered identities or photos, not both at once")
        if idents:  # a named identity is looked for among its own category's tracks
            named = {i.category for i in self.identities() if i.id in idents}
            if not categories:
                s = s.with_(categories=tuple(c for c in CATEGORIES if c in named))
            elif not named <= set(categories):
                raise InputError(f"The identities asked for include {' and '.join(sorted(named - set(categories)))}s, "
                                 f"which are not among the categories asked ({', '.join(categories)})")
        wanted, labels = self._wanted(s, photos if photos else None)
        scope = [str(p) for p in sources] if sources else None
        if scope:  # a mistyped folder must not read as "nobody there"
            indexed = [src.path for src in self._footage().sources()]
            unknown = [p for p in scope if not any(_find.in_scope(x, [p]) for x in indexed)]
            if unknown:
                raise InputError(f"Nothing indexed in {', '.join(unknown)}: index it first (the `index` command, or "
                                 f"the Library page)")
        keys = [(w.model, c) for c, w in wanted.items()]
        rejections = None if photos else (lambda p: Rejections.load(self._gallery, p, keys))
        files = _find.find(self._footage(), wanted, labels, idents or None, scope, after, before, s.max_gap_s, rejections)
        return SearchReport(str(self._footage_path), s, self.model_summary(),
                            {c: w.threshold for c, w in wanted.items()} or {c: self.threshold(c, s) for c in s.categories}, files,
                            origin="footage index")

    def journeys(self, queries: list[str | Path | int] | tuple = (), **kw) -> list[Journey]:
        """Each identity's sightings across every indexed source and camera, in time order (from `find`)."""
        return _journeys(self.find(queries, **kw).files, self._footage())

    def find_similar(self, track_id: int | None = None, image: str | Path | np.ndarray | None = None, box=None,
                     category: str = "person", top: int = 20) -> list[SimilarTrack]:
        """The indexed tracks nearest to an indexed track (by id) or to a box of an image (a frame the user
        clicked on: `box` in its pixels), best first."""
        store = self._footage()
        if track_id is not None:
            t = store.track(track_id)
            category = t.info.category
            model = self.reid_model_name(category)
            views = _similar.views_of(t, model)
            if not len(views):
                raise InputError(f"Track {track_id} has no features of the active {category} model '{model}'; "
                                 "re-embed the library first")
            return _similar.similar_tracks(store, model, category, views, top, exclude=track_id)
        if image is None:
            raise InputError("Find similar needs a track or an image with a box")
        img = image if isinstance(image, np.ndarray) else media.read_image(image)
        if box is None:
            img, choice = self.choose_crop(img, category)
            box = choice.box
        crop = crop_box(img, box)
        feat = self.extractor(category)([crop])[0]
        return _similar.similar_tracks(store, self.reid_model_name(category), category, feat[None], top)

    def reembed_library(self, category: str = "person", progress: Callable[[int, int], None] | None = None,
                        cancel: Cancel | None = None) -> tuple[int, int]:
        """Embeds the indexed tracks that lack features of the category's active model from their stored crops.
        Returns (tracks embedded, tracks without stored crops: process their files again)."""
        model = self.reid_model_name(category)
        return _reembed(self._footage(), self.extractor(category), model, category, progress, cancel)

    # -- verdicts ----------------------------------------------------------------------------------
    def reject(self, result: FileResult, identity_id: int, track_id: int | None = None,
               segment: Segment | None = None) -> Verdict:
        """Says that what `result` gave `identity_id` (one track, one sighting segment, or all) is someone else.
        It is never given that identity again: in later runs of the file and in the footage index (by its
        boxes), and its views become negative examples of the identity (anywhere). `apply_verdicts` takes it
        out of results already shown."""
        return self._verdict("reject", result, identity_id, track_id, segment)

    def confirm(self, result: FileResult, identity_id: int, track_id: int | None = None, segment: Segment | None = None,
                add_photo: bool = False) -> Verdict:
        """Says that what `result` gave `identity_id` is right; with `add_photo`, its best view becomes one more
        photo of the identity (more views, better matches)."""
        v = self._verdict("confirm", result, identity_id, track_id, segment)
        if add_photo:
            t = _verdicts.track_boxes(result, identity_id, track_id, segment)
            frame, box = t.boxes[_verdicts.best_index(t)]
            img = media.read_image(result.path) if result.kind == "image" else media.read_video_frame(result.path, frame)
            self.register(img, self.labels_by_id()[identity_id], t.category, box=box)
        return v

    def _verdict(self, verdict: str, result: FileResult, identity_id: int, track_id, segment) -> Verdict:
        problem = media.source_problem(result.path, result.fingerprint)
        if problem:  # its views are read from the file: another file's would be stored as this person's
            raise InputError(f"Cannot store a verdict on {Path(result.path).name}: {problem}")
        t = _verdicts.track_boxes(result, identity_id, track_id, segment)
        picks = [t.boxes[i] for i in _verdicts.spread(len(t.boxes))]
        crops = _verdicts.crops_of(result.path, picks, result.kind)
        ext = self.extractor(t.category)
        best = _verdicts.best_index(_verdicts.TrackBoxes(t.category, picks, [1.0] * len(picks)))
        fid = self._gallery.add_feedback(identity_id, verdict, os.path.abspath(result.path), t.boxes, ext.spec.name,
                                         ext(crops), media.encode_crop(crops[best], 256))
        return next(v for v in self.verdicts(identity_id) if v.id == fid)

    def verdicts(self, identity_id: int | None = None) -> list[Verdict]:
        """The stored verdicts (of one identity, or all), oldest first."""
        return [_verdicts.Verdict(r[0], r[1], r[2], r[3], r[4], r[6], r[7], len(r[5]), r[8], r[9])
                for r in self._gallery.feedback(identity_id)]

    def undo_verdict(self, verdict_id: int) -> None:
        """Forgets a verdict: the track may be given that identity again (from the next run or find)."""
        self._gallery.delete_feedback(verdict_id)

    def apply_verdicts(self, report: SearchReport) -> SearchReport:
        """The report without what the user rejected (results already shown lose a rejected track at once)."""
        files = [_apply.without_rejected(f, Rejections.load(self._gallery, f.path, []), report.settings)
                 for f in report.files]
        return replace(report, files=files)

    def search_all(self, path: str | Path, **kw) -> SearchReport:
        """`search` run to the end: the report (for scripts and the CLI)."""
        for event in self.search(path, **kw):
            if isinstance(event, Finished):
                return event.report
        raise AssertionError("search ended without a report")  # pragma: no cover

    def search_file(
        self,
        path: str | Path,
        cancel: Cancel | None = None,
        max_frames: int | None = None,
        start_frame: int = 0,
        settings: Settings | None = None,
        detections: DetectionLog | None = None,
    ) -> FileResult:
        """One image or video (from `start_frame`, at most `max_frames` frames). Errors of the file are raised.
        With `detections` (from record_detections) the detector is not run: its recorded boxes are replayed."""
        return self.search_file_events(path, cancel, max_frames, start_frame, settings, detections).run()

    def search_file_events(self, path: str | Path, cancel: Cancel | None = None, max_frames: int | None = None,
                           start_frame: int = 0, settings: Settings | None = None,
                           detections: DetectionLog | None = None) -> FileRun:
        """One file as an iterable of FrameDone events; `.result` holds its FileResult once iterated."""
        stages = self._stages(settings or self._settings, detections)
        return FileRun(_search_file(stages, path, cancel, max_frames, start_frame))

    def record_detections(self, path: str | Path, max_frames: int | None = None, settings: Settings | None = None,
                          progress: Callable[[int, int], None] | None = None, cancel: Cancel | None = None) -> DetectionLog:
        """Runs the detector once over a photo or a video (every sampleFt-th frame) and keeps its boxes, so later
        searches of the same footage (other galleries, other thresholds) skip it. Raises Cancelled once `cancel()`
        is true (checked every frame)."""
        s = settings or self._settings
        det, log = self.detector(), DetectionLog(str(path), sample_ft=s.sample_ft)
        if media.media_kind(path) == "image":
            log.frames[0] = det(media.read_image(path), s.categories, s.det_conf)
            return log
        with media.VideoReader(path, hw_decode=s.hw_decode) as video:
            total = video.info.frame_count
            stop = None if max_frames is None else max_frames
            for chunk in media.batches(video.frames(step=s.sample_ft, stop=stop), det.batch_size):
                if cancel and cancel():
                    raise Cancelled("Stopped")
                for (idx, _), dets in zip(chunk, det.detect_many([f for _, f in chunk], s.categories, s.det_conf)):
                    log.frames[idx] = dets
                    if progress:
                        progress(idx + 1, stop or total)
        return log

    # -- evidence ---------------------------------------------------------------------------------
    def export_evidence(self, report: SearchReport, selection: list[EvidenceSelection], dest: str | Path,
                        blur_others: bool = False, progress: Callable[[int, int], None] | None = None,
                        cancel: Cancel | None = None) -> Path:
        """Writes a case folder for the selected sightings (Algorithm/sinks/evidence.py: clips, best frames, the
        identities' registration photos from this gallery, results, report.html, sha256 manifest) and returns it.
        `blur_others`: every person and vehicle the detector finds in the exported frames, other than the case's
        matched boxes, is pixelated. All or nothing: an error or a cancel leaves no folder."""
        photos = []
        labels = self._gallery.labels()
        for ident in dict.fromkeys(sel.identity_id for sel in selection):
            if ident in labels:
                photos += [_evidence.RegistrationPhoto(ident, labels[ident], e.id, e.crop_jpeg)
                           for e in self._gallery.entries(ident)]
        det = self.detector() if blur_others else None

        def everyone(img: np.ndarray) -> np.ndarray:  # people and vehicles, whatever the search looked for
            return det(img, CATEGORIES, _BLUR_CONF).xyxy

        return _evidence.write_evidence(report, selection, dest, photos, None if det is None else everyone, progress,
                                        cancel)

    # -- evaluation -------------------------------------------------------------------------------
    # The evaluation modules take features, an extractor or a crop policy, not the Engine; these methods hand
    # them the engine's own (active model, gallery, current threshold).
    def calibrate_gallery(self, category: str = "person", target_fmr: float = 0.01) -> Calibration:
        """Threshold calibration on the user's own gallery (identities with several photos give genuine pairs)."""
        _, ident_ids, vecs = self.gallery_features(category)
        return _calibrate.calibrate_gallery_features(vecs, ident_ids, f"gallery {self.gallery_path}", target_fmr,
                                                     self.threshold(category), self.reid_model_name(category), category)

    def calibrate_folder(self, folder: str | Path, category: str = "person", target_fmr: float = 0.01,
                         flt: GtFilter | None = None, progress: Callable[[str], None] | None = None,
                         cancel: Cancel | None = None) -> Calibration:
        """Threshold calibration on a labelled folder (Market-1501 names or MOT sequences); the open-set suggestion
        counts the identities of this gallery (at least one: a user searches for someone). Raises Cancelled once
        `cancel()` is true."""
        return _calibrate.calibrate_folder(folder, self.extractor(category), target_fmr, self.threshold(category),
                                           self.reid_model_name(category), category, flt, progress,
                                           gallery_identities=max(1, len(self.identities(category=category))),
                                           cancel=cancel)

    def calibrate_tracklets(self, videos: list[str | Path], category: str = "vehicle", target_fmr: float = 0.01,
                            gap: int = 10, progress: Callable[[str], None] | None = None,
                            cancel: Cancel | None = None) -> Calibration:
        """Threshold calibration on the tracks of the user's own videos (no labels; see evaluate_tracklets). Raises
        Cancelled once `cancel()` is true."""
        res = self.evaluate_tracklets(videos, category, None, gap, target_fmr, progress=progress, cancel=cancel)
        cal = res.calibration(current_threshold=self.threshold(category))
        return cal.with_gallery(max(1, len(self.identities(category=category))))

    def apply_threshold(self, value: float, category: str = "person", local_path: str | Path | None = None) -> Path:
        """Saves `value` as the active model's threshold for `category` in the user's model file and uses it at once
        (a per-run threshold in the settings, when set, still wins). Returns the file written."""
        dest = _calibrate.save_threshold(value, category, local_path)
        self.reload_models(local_path)
        return dest

    def evaluate_reid(self, folder: str | Path, category: str = "person", flt: GtFilter | None = None,
                      progress: Callable[[str], None] | None = None) -> ReidEvaluation:
        """Rank-1/5/10, mAP and mINP of the category's active ReID model on a labelled folder."""
        return _reid_eval.evaluate_reid(folder, self.extractor(category), self.reid_model_name(category), flt, progress)

    def evaluate_tracklets(self, videos: list[str | Path], category: str = "vehicle", models: list[str] | None = None,
                           gap: int = 10, target_fmr: float = 0.01, max_frames: int | None = None,
                           progress: Callable[[str], None] | None = None,
                           cancel: Cancel | None = None) -> TrackletsEvaluation:
        """"How good is this model on my footage?", without labels: same-object pairs from confident tracks
        (frames f and f + gap), different-object pairs from objects in one frame; each model side by side
        (default: the category's active model)."""
        names = models or [self.reid_model_name(category)]
        for n in names:
            if category not in tuple(self._registry.get(n).categories):
                raise ModelError(f"Model '{n}' does not serve {category}s")
        extractors = {n: self._load_reid(n) for n in names}
        settings = self._settings.with_(categories=(category,), sample_ft=1)
        return _tracklets.evaluate_tracklets([Path(v) for v in videos], self, extractors, category, gap, target_fmr,
                                             max_frames, progress, settings, cancel)

    def rank(self, query: str | Path | np.ndarray, category: str = "person", top: int = 5, per_identity: bool = False,
             box=None, whole: bool = False) -> Ranking:
        """The gallery photos nearest to a query photo (its crop chosen as for a registration, the most confident
        of several detections), with exact distances over every stored photo of the category."""
        q = _ranking.query_crop(self.choose_crop, query, category, box, whole)
        entry_ids, ident_ids, vecs = self.gallery_features(category)
        gallery = _ranking.GalleryFeatures(entry_ids, ident_ids, vecs, self.labels_by_id(), self.entries, category,
                                           self.reid_model_name(category))
        feat = self.extractor(category)([q.crop])[0]
        return Ranking(q, _ranking.rank_gallery(feat, gallery, top, per_identity), self.threshold(category))


def _media_of(path: str | Path | list[str | Path]) -> list[Path]:
    """The images and videos of a path or a list of paths, each once (a file given twice, or also inside a folder
    given, is processed once), in the order given."""
    files = [f for p in (path if isinstance(path, (list, tuple)) else [path]) for f in media.list_media(p)]
    first: dict[str, Path] = {}
    for f in files:
        first.setdefault(os.path.abspath(f), f)
    return list(first.values())


class FileRun:
    """Iterating yields the file's FrameDone events; afterwards `result` is its FileResult."""

    def __init__(self, gen):
        self._gen = gen
        self.result: FileResult | None = None

    def __iter__(self) -> Iterator[FrameDone]:
        self.result = yield from self._gen

    def run(self) -> FileResult:
        for _ in self:
            pass
        return self.result


def calibration_figure(cal: Calibration, title: str = "", fig=None):
    """The calibration's histograms and error curves as a matplotlib figure (the GUI embeds it; `fig`, when
    given, is cleared and drawn into)."""
    from Algorithm.evaluation.plots import calibration_figure as figure

    return figure(cal, title, fig)
