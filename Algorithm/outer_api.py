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

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from Algorithm import media, rules
from Algorithm.errors import (
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
from Algorithm.models import registry as _registry_mod
from Algorithm.models.registry import ModelSpec, Registry, load_registry, update_local_config
from Algorithm.models.runtime import DeviceOption, device_options, resolve_device
from Algorithm.pipeline.crop_policy import CropChoice, choose_crop, crop_box
from Algorithm.pipeline.crop_policy import verdict as _verdict
from Algorithm.pipeline.detect import Detector
from Algorithm.pipeline.embed import ReIdExtract
from Algorithm.pipeline.runner import Cancel, error_result
from Algorithm.pipeline.runner import search_file as _search_file
from Algorithm.pipeline.session import CategoryModel, Stages
from Algorithm.rules import CATEGORIES
from Algorithm.settings import Settings, default_data_dir
from Algorithm.sinks.csv_sink import write_csv as export_csv
from Algorithm.sinks.draw import draw_boxes, identity_color
from Algorithm.sinks.json_sink import write_json as export_json
from Algorithm.sinks.video_sink import write_annotated_video as export_annotated_video
from Algorithm.storage.gallery import Gallery
from Algorithm.storage.vector_index import SearchIndex
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
    "ReIdError", "InputError", "ModelError", "GalleryError", "NothingFoundError", "SeveralFoundError", "WrongCategoryError",
    "BoxResult", "Detections", "DetectionLog", "EntryInfo", "FileResult", "FrameResult", "IdentityInfo", "RegisterResult",
    "RegisterOutcome", "MergeResult", "PhotoCheck", "PhotoVerdict",
    "Segment", "Sighting", "ModelSummary", "ReidModelInfo", "ReidModelChoice", "ModelAdded",
    "SearchEvent", "FileStarted", "FrameDone", "FileDone", "Finished",
    "DeviceOption", "device_options", "CATEGORIES", "rules",
    "list_media", "media_kind", "read_image", "write_image", "video_info", "video_frames", "read_video_frame", "VideoInfo",
    "export_json", "export_csv", "export_annotated_video", "draw_boxes", "identity_color",
    "Calibration", "Suggestion", "GtFilter", "ReidEvaluation", "TracksEvaluation", "TrackletsEvaluation",
    "Ranking", "RankedPhoto",
    "calibration_figure",
]

list_media = media.list_media
media_kind = media.media_kind
read_image = media.read_image
write_image = media.write_image
VideoInfo = media.VideoInfo
video_info = media.video_info
video_frames = media.video_frames
read_video_frame = media.read_video_frame


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
    ):
        self._registry = registry or load_registry()
        self._settings = settings or Settings()
        self._settings.validate()
        path = Path(gallery_path) if gallery_path else default_data_dir() / "gallery.db"
        self._gallery = Gallery(path)
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

    # -- models -----------------------------------------------------------------------------------
    def detector(self) -> Detector:
        with self._lock:
            if self._detector is None:
                spec, dev = self._registry.get(self._registry.detector), self.device
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
        det = self._registry.get(self._registry.detector)
        return ModelSummary(det.name, det.title or det.name, {c: self._reid_info(c, False) for c in CATEGORIES})

    def model_info(self) -> ModelSummary:
        """model_summary with the providers and feature sizes filled in (loads the models)."""
        det = self._registry.get(self._registry.detector)
        return ModelSummary(det.name, det.title or det.name, {c: self._reid_info(c, True) for c in CATEGORIES},
                            self.detector().provider)

    def reid_models(self, category: str) -> list[ReidModelChoice]:
        """The ReID models that can serve a category, the active one marked, with how many of the category's
        photos each has not embedded yet (cheap: loads no model)."""
        active = self._registry.reid.get(category)
        return [
            ReidModelChoice(m.name, m.title or m.name, m.trained_on.get(category, ""), category in m.stand_in,
                            m.threshold_for(category), m.name == active,
                            sum(self._gallery.foreign_features(m.name, category).values()), m.quality.get(category, ""))
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

    def set_active_model(self, category: str, name: str, progress: Callable[[int, int], None] | None = None) -> int:
        """Makes `name` the ReID model of `category` and embeds the stored crops of that category with it
        (features of different models are never mixed). Returns how many photos were embedded."""
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
        if whole or box is not None:
            return img, choose_crop(img, None, category, box, whole, several)
        dets, conf = self._photo_detections(img)
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
        files = media.list_media(path)
        stages = self._stages(s)  # loads the models first: a model problem stops the run here, once, clearly
        report = SearchReport(str(path), s, self.model_summary(), {c: m.threshold for c, m in stages.models.items()})
        for i, f in enumerate(files):
            if cancel and cancel():
                break
            yield FileStarted(i, len(files), f)
            try:
                res = yield from _search_file(stages, f, cancel, max_frames, start_frame)
            except (InputError, OSError) as e:  # this file only: record it and go on (model or gallery errors stop)
                res = error_result(f, str(e))
            report.files.append(res)
            yield FileDone(i, len(files), res)
            if res.stopped:
                break
        yield Finished(report)

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
                          progress: Callable[[int, int], None] | None = None) -> DetectionLog:
        """Runs the detector once over a photo or a video (every sampleFt-th frame) and keeps its boxes, so later
        searches of the same footage (other galleries, other thresholds) skip it."""
        s = settings or self._settings
        det, log = self.detector(), DetectionLog(str(path), sample_ft=s.sample_ft)
        if media.media_kind(path) == "image":
            log.frames[0] = det(media.read_image(path), s.categories, s.det_conf)
            return log
        with media.VideoReader(path) as video:
            total = video.info.frame_count
            stop = None if max_frames is None else max_frames
            for idx, frame in video.frames(step=s.sample_ft, stop=stop):
                log.frames[idx] = det(frame, s.categories, s.det_conf)
                if progress:
                    progress(idx + 1, stop or total)
        return log

    # -- evaluation -------------------------------------------------------------------------------
    # The evaluation modules take features, an extractor or a crop policy, not the Engine; these methods hand
    # them the engine's own (active model, gallery, current threshold).
    def calibrate_gallery(self, category: str = "person", target_fmr: float = 0.01) -> Calibration:
        """Threshold calibration on the user's own gallery (identities with several photos give genuine pairs)."""
        _, ident_ids, vecs = self.gallery_features(category)
        return _calibrate.calibrate_gallery_features(vecs, ident_ids, f"gallery {self.gallery_path}", target_fmr,
                                                     self.threshold(category), self.reid_model_name(category), category)

    def calibrate_folder(self, folder: str | Path, category: str = "person", target_fmr: float = 0.01,
                         flt: GtFilter | None = None, progress: Callable[[str], None] | None = None) -> Calibration:
        """Threshold calibration on a labelled folder (Market-1501 names or MOT sequences); the open-set suggestion
        counts the identities of this gallery (at least one: a user searches for someone)."""
        return _calibrate.calibrate_folder(folder, self.extractor(category), target_fmr, self.threshold(category),
                                           self.reid_model_name(category), category, flt, progress,
                                           gallery_identities=max(1, len(self.identities(category=category))))

    def calibrate_tracklets(self, videos: list[str | Path], category: str = "vehicle", target_fmr: float = 0.01,
                            gap: int = 10, progress: Callable[[str], None] | None = None) -> Calibration:
        """Threshold calibration on the tracks of the user's own videos (no labels; see evaluate_tracklets)."""
        res = self.evaluate_tracklets(videos, category, None, gap, target_fmr, progress=progress)
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
                           progress: Callable[[str], None] | None = None) -> TrackletsEvaluation:
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
                                             max_frames, progress, settings)

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
