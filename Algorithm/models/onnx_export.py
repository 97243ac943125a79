"""Bring your own ReID model: a PyTorch checkpoint -> an ONNX file and its model-config entry.

    python -m Algorithm export CHECKPOINT --arch ARCH [--out model.onnx] [--input 256x128] [--name NAME]
                               [--category person|vehicle] [--threshold T] ...

What it does, in order:
1. reads the checkpoint with torch.load(weights_only=True) (pickled objects only with --trust-checkpoint),
   unwraps the usual containers (torchreid `state_dict`, fast-reid `model`, a bare state dict, a whole module),
   strips `module.` (DataParallel) prefixes;
2. builds the test-time network of the architecture (Algorithm/models/archs: no classifier, eval mode), maps the
   checkpoint's layout onto it (archs.*.prepare) and loads it with strict key and shape matching on every exported
   part; a checkpoint that does not fit gets a ModelError listing missing / unexpected / mis-shaped keys;
3. exports ONNX with the TorchScript exporter (`dynamo=False`, nothing to install beyond torch and onnx), opset 17,
   input `images` (N, 3, H, W) float32 with a dynamic batch axis, output `features` (N, D) (not normalised: the app
   L2-normalises);
4. runs the file in ONNX Runtime (CPU) on random crops preprocessed by the app's own code (pipeline.embed), batch 3 and batch 1, against
   PyTorch: refuses (deletes the file) when max |onnx - torch| > 1e-3 * max |torch|;
5. writes the model-config entry (models/local_models.json unless register=False; active for its category unless
   activate=False) with the preprocessing the family was trained with: RGB, x/255, ImageNet mean/std for
   torchreid OSNet and BoT (or a fast-reid checkpoint's own pixel_mean/pixel_std), 0.5/0.5 for CLIP-ReID.
"""
from __future__ import annotations

import inspect
import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from Algorithm.models import archs
from Algorithm.rules import CATEGORIES, THRESHOLD_RANGE, check_model_name, suggest_model_name
from Algorithm.models.registry import MANIFEST_PATH, MODELS_DIR, ModelSpec, load_registry
from Algorithm.errors import InputError, ModelError
from Algorithm.models.checksum import sha256_of

OPSET = 17
REL_TOL = 1e-3
INPUT_NAME, OUTPUT_NAME = "images", "features"


@dataclass
class ExportResult:
    name: str
    path: Path
    spec: dict  # the model-config entry written (or that would be written)
    max_abs_diff: float
    rel_diff: float
    registered: Path | None = None
    activated: bool = False
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# Checkpoint reading
# ---------------------------------------------------------------------------------------------------------------
_CONTAINER_KEYS = ("state_dict", "model", "model_state_dict", "state_dict_ema", "net", "network")


def load_checkpoint(path: str | Path, trust: bool = False) -> dict:
    """Flat {key: float32 tensor} of a checkpoint, containers unwrapped and `module.` prefixes stripped."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError(f"No checkpoint file {path}")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):  # torch.save: a zip archive, or a legacy pickle
        raise ModelError(f"{path.name} is not a PyTorch checkpoint (torch.save writes a zip archive or a pickle)")
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=not trust)
    except Exception as e:  # noqa: BLE001 - every reading failure becomes one message
        msg = str(e).strip()
        if not trust and ("weights_only" in msg or "Weights only load failed" in msg):
            raise ModelError(
                f"{path.name} holds pickled Python objects besides tensors (a whole model, optimizer or config objects), "
                "which are not unpickled by default because that can run code. If the file comes from a source you trust, "
                "run again with --trust-checkpoint (or save just its state_dict)."
            ) from None
        raise ModelError(f"Cannot read checkpoint {path}: {msg.splitlines()[0] if msg else type(e).__name__}") from None
    for _ in range(4):
        if not isinstance(obj, dict) and hasattr(obj, "state_dict"):
            obj = obj.state_dict()
        if not isinstance(obj, dict):
            break
        inner = next((obj[k] for k in _CONTAINER_KEYS if k in obj and (isinstance(obj[k], dict) or hasattr(obj[k], "state_dict"))), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, dict):
        raise ModelError(f"{path.name} is not a checkpoint: it holds a {type(obj).__name__}, not a state dict")
    sd = {}
    for k, v in obj.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            continue
        while k.startswith("module."):
            k = k[len("module."):]
        sd[k] = v.detach().float() if v.is_floating_point() else v.detach()
    if not sd:
        raise ModelError(f"{path.name} holds no weight tensors (looked in {', '.join(_CONTAINER_KEYS)} and at the top level)")
    return sd


def guess_arch(sd: dict) -> str | None:
    """Which supported architecture a state dict looks like, for error messages."""
    keys = set(sd)
    if any(k.startswith(("image_encoder.", "visual.")) and k.endswith("positional_embedding") for k in keys):
        return "clip_reid_vitb16"
    stem = sd.get("conv1.conv.weight")
    if stem is not None and any(".conv2a." in k for k in keys):
        return {16: "osnet_x0_25", 32: "osnet_x0_5", 48: "osnet_x0_75", 64: "osnet_x1_0"}.get(int(stem.shape[0]), "osnet (another width)")
    if any(re.match(r"^(base\.|backbone\.)?layer4\.", k) for k in keys):
        return "resnet50_bot"
    return None


def _few(keys: list, n: int = 8) -> str:
    keys = list(keys)
    more = f" ... and {len(keys) - n} more" if len(keys) > n else ""
    return ", ".join(str(k) for k in keys[:n]) + more


def _groups(keys: list) -> str:
    """'classifier.weight, classifier.bias, cv_embed' -> 'classifier.* (2), cv_embed'."""
    counts: dict[str, int] = {}
    for k in keys:
        head = k.split(".")[0]
        counts[head + (".*" if "." in k else "")] = counts.get(head + (".*" if "." in k else ""), 0) + 1
    return ", ".join(f"{h} ({n})" if n > 1 else h for h, n in counts.items())


def load_strict(model, sd: dict, arch: str, source: str, layout: str, original: dict | None = None) -> None:
    """Loads `sd` into `model` requiring every key of the model (BatchNorm's num_batches_tracked excepted) with its
    shape, and no key the model lacks; otherwise a ModelError that lists what is wrong."""
    own = model.state_dict()
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")]
    names = {id(v): k for k, v in (original or {}).items()}  # unexpected keys under the checkpoint's own names
    unexpected = [names.get(id(sd[k]), k) for k in sd if k not in own]
    mis = [f"{k} {tuple(sd[k].shape)} vs {tuple(own[k].shape)}" for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or mis:
        lines = [f"The checkpoint {source} does not fit the architecture '{arch}' (checkpoint layout read as {layout})."]
        if missing:
            lines.append(f"  missing keys ({len(missing)}): {_few(missing)}")
        if unexpected:
            lines.append(f"  unexpected keys ({len(unexpected)}): {_few(unexpected)}")
        if mis:
            lines.append(f"  shape mismatches, checkpoint vs architecture ({len(mis)}): {_few(mis, 5)}")
        guess = guess_arch(original if original is not None else sd)
        if guess and guess != arch:
            lines.append(f"  It looks like a checkpoint of {guess}: try --arch {guess.split(' ')[0]}.")
        else:
            lines.append("  Check --arch, and --arch-opt for non-standard sizes (e.g. layers=..., width=...).")
        raise ModelError("\n".join(lines))
    full = dict(sd)
    for k, v in own.items():
        full.setdefault(k, v)  # num_batches_tracked of old checkpoints: unused in eval
    model.load_state_dict(full, strict=True)


# ---------------------------------------------------------------------------------------------------------------
# Building the network for a checkpoint
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Prepared:
    model: object  # torch.nn.Module in eval mode, weights loaded
    input_size: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    layout: str
    dropped: list[str]
    notes: list[str]


def prepare_model(sd: dict, arch: str, *, category: str = "person", input_size: tuple[int, int] | None = None,
                  neck_feat: str | None = None, arch_opts: dict | None = None, sie_camera: int | None = None,
                  sie_coe: float = 3.0, source: str = "checkpoint") -> Prepared:
    """The test-time network of `arch` with the checkpoint's weights, and the preprocessing it expects."""
    try:
        info = archs.arch_info(arch)
    except ValueError as e:
        raise InputError(str(e)) from None
    opts = dict(arch_opts or {})
    notes: list[str] = []
    mean, std = info.mean, info.std
    if neck_feat and not info.neck_feat:
        raise InputError(f"--neck-feat applies to architectures with a BNNeck (resnet50_bot, clip_reid_vitb16), not {arch}")
    neck = neck_feat or info.neck_feat
    if sie_camera is not None and info.family != "clip":
        raise InputError(f"--sie-camera applies to CLIP-ReID checkpoints (clip_reid_vitb16), not {arch}")
    try:
        if info.family == "osnet":
            from Algorithm.models.archs import osnet

            size = tuple(input_size or info.input_size[category])
            mapped, dropped, facts = osnet.prepare(sd)
            model = osnet.build(arch, opts)
        elif info.family == "bot":
            from Algorithm.models.archs import resnet_bot

            size = tuple(input_size or info.input_size[category])
            mapped, dropped, facts = resnet_bot.prepare(sd, neck_feat=neck)
            model = resnet_bot.build(arch, opts, neck_feat=neck, maxpool=facts["maxpool"])
            if "maxpool" not in opts:
                notes.append(f"stem max-pool as in {facts['format']} ({facts['maxpool']}); override with --arch-opt maxpool=torchvision|fastreid")
            if "pixel_mean" in facts and "pixel_std" in facts and len(facts["pixel_mean"]) == 3 == len(facts["pixel_std"]):
                div = 255.0 if max(facts["pixel_mean"]) > 1.5 else 1.0
                mean = tuple(round(v / div, 6) for v in facts["pixel_mean"])
                std = tuple(round(v / div, 6) for v in facts["pixel_std"])
                notes.append(f"preprocessing from the checkpoint's pixel_mean/pixel_std: mean {list(mean)}, std {list(std)}")
        elif info.family == "clip":
            from Algorithm.models.archs import clip_vit

            grid, _ = clip_vit.checkpoint_grid(sd)
            patch, stride = int(opts.get("patch", 16)), int(opts.get("stride", 16))
            is_reid = any(k.startswith("image_encoder.") for k in sd)
            if input_size:
                size = tuple(input_size)
            elif is_reid and grid:  # a CLIP-ReID checkpoint: run it at the size it was trained at
                size = (patch + (grid[0] - 1) * stride, patch + (grid[1] - 1) * stride)
            else:
                size = tuple(info.input_size[category])
            if category == "vehicle" and size[0] != size[1]:
                notes.append(f"input {size[0]}x{size[1]}: CLIP-ReID vehicle models (VeRi-776, VehicleID) are trained at 256x256")
            model = clip_vit.build(arch, opts, size, neck_feat=neck)
            mapped, dropped, facts = clip_vit.prepare(sd, model, sie_camera=sie_camera, sie_coe=sie_coe, src_grid=grid)
            if "pos_embed_resized" in facts:
                (sh, sw), (dh, dw) = facts["pos_embed_resized"]
                notes.append(f"positional embedding resized from a {sh}x{sw} to a {dh}x{dw} patch grid (bilinear, as CLIP-ReID does)")
            if "sie_folded" in facts:
                cam, coe = facts["sie_folded"]
                notes.append(f"SIE: camera row {cam} x {coe} folded into the class embedding")
            elif "sie_rows" in facts:
                notes.append(f"SIE camera/view embedding ({facts['sie_rows']} rows) dropped: the app has no camera ids "
                             "(CLIP-ReID's cam_label=None path); --sie-camera K folds one row instead")
            notes.append(f"test-time feature: NECK_FEAT '{neck}' = concat(CLS after ln_post, its projection)"
                         f"{' through the BNNecks' if neck == 'after' else ''}")
        elif info.family == "mobilenetv2":
            from Algorithm.models.archs import mobilenetv2

            size = tuple(input_size or info.input_size[category])
            mapped, dropped, facts = mobilenetv2.prepare(sd)
            model = mobilenetv2.build(arch, opts)
        else:  # pragma: no cover - ARCHS and families are kept in step
            raise InputError(f"no builder for family {info.family}")
    except ValueError as e:
        raise InputError(f"{arch}: {e}") from None
    load_strict(model, mapped, arch, source, facts.get("format", "?"), original=sd)
    model.eval()
    return Prepared(model, (int(size[0]), int(size[1])), tuple(mean), tuple(std), facts.get("format", "?"), dropped, notes)


# ---------------------------------------------------------------------------------------------------------------
# ONNX
# ---------------------------------------------------------------------------------------------------------------
def to_onnx(model, input_size: tuple[int, int], path: Path, opset: int = OPSET) -> None:
    import torch

    example = torch.zeros(2, 3, *input_size)
    kw = dict(opset_version=opset, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
              dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}, do_constant_folding=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False  # the TorchScript exporter: no onnxscript needed
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(path), **kw)


def compare(model, onnx_path: Path, input_size: tuple[int, int], mean, std, seed: int = 0) -> tuple[float, float, int]:
    """(max |onnx - torch|, that / max |torch|, feature dim) on random crops of several sizes, batch 3 then
    batch 1, both fed what the app feeds a ReID model (its own resize and preprocessing, pipeline.embed)."""
    import onnxruntime as ort
    import torch

    from Algorithm.pipeline.embed import model_input, resize_crops

    rng = np.random.default_rng(seed)
    h, w = input_size
    crops = [rng.integers(0, 256, size=(int(h * f), int(w * f), 3), dtype=np.uint8) for f in (0.5, 1.0, 1.7)]
    app_spec = ModelSpec("parity", "reid", str(onnx_path), input_size=(h, w), channel_order="RGB", scale=1 / 255,
                         mean=tuple(mean), std=tuple(std))
    x = model_input(resize_crops(crops, h, w), app_spec)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"])
    got3 = sess.run(None, {INPUT_NAME: x})[0]
    got1 = sess.run(None, {INPUT_NAME: x[:1]})[0]
    if ref.ndim != 2 or got3.shape != ref.shape or got1.shape != ref[:1].shape:
        raise ModelError(f"The exported model gives outputs of shape {got3.shape} / {got1.shape}, PyTorch {ref.shape}")
    diff = max(float(np.abs(got3 - ref).max()), float(np.abs(got1 - ref[:1]).max()))
    scale = max(float(np.abs(ref).max()), 1e-12)
    return diff, diff / scale, int(ref.shape[1])


# ---------------------------------------------------------------------------------------------------------------
# Model-config entry
# ---------------------------------------------------------------------------------------------------------------
def _file_field(path: Path) -> str:
    """Path as the config stores it: relative to models/ when inside it, else absolute."""
    path = path.resolve()
    try:
        return path.relative_to(MODELS_DIR.resolve()).as_posix()
    except ValueError:
        return str(path)


def _shipped_names() -> set[str]:
    try:
        return set(json.loads(MANIFEST_PATH.read_text(encoding="utf-8")).get("models", {}))
    except (OSError, ValueError):
        return set()


def register(name: str, spec: dict, category: str, local: Path | None = None, activate: bool = True) -> Path:
    """Adds (or replaces) `name` in the user's model file (models/local_models.json, or $REID_LOCAL_CONFIG);
    makes it the category's ReID model when `activate`."""
    from Algorithm.models.registry import update_local_config

    path = update_local_config(models={name: spec}, active_reid={category: name} if activate else None, path=local)
    load_registry(local=path)  # the result must read back as a valid config
    return path


def default_name(checkpoint: Path) -> str:
    stem = checkpoint.name
    while Path(stem).suffix.lower() in (".tar", ".pth", ".pt", ".ckpt", ".pkl", ".bin", ".gz", ".zip"):
        stem = Path(stem).stem
    return suggest_model_name(stem)


def export_checkpoint(checkpoint: str | Path, arch: str, out: str | Path | None = None, *,
                      input_size: tuple[int, int] | None = None, name: str | None = None, category: str = "person",
                      threshold: float | None = None, neck_feat: str | None = None, arch_opts: dict | None = None,
                      sie_camera: int | None = None, sie_coe: float = 3.0, register_model: bool = True,
                      activate: bool = True, local_config: str | Path | None = None, trust_checkpoint: bool = False,
                      opset: int = OPSET, log: Callable[[str], None] = print) -> ExportResult:
    """Checkpoint -> verified ONNX file (+ model-config entry). Raises InputError / ModelError with a user message."""
    checkpoint = Path(checkpoint)
    if category not in CATEGORIES:
        raise InputError(f"category must be one of {CATEGORIES}")
    if threshold is not None and float(threshold) not in THRESHOLD_RANGE:
        raise InputError(f"the threshold is a distance (1 - cosine) between {THRESHOLD_RANGE.low:g} and {THRESHOLD_RANGE.high:g}")
    if input_size is not None and (len(input_size) != 2 or min(input_size) < 16):
        raise InputError("--input is HEIGHTxWIDTH, each at least 16 pixels, e.g. 256x128")
    name = name or default_name(checkpoint)
    try:
        check_model_name(name)
    except ValueError as e:
        raise InputError(str(e)) from None
    if name in _shipped_names():
        raise InputError(f"'{name}' is a model shipped with the app; choose another --name")
    info = archs.arch_info(arch) if arch in archs.ARCHS else None
    if info is None:
        raise InputError(f"unknown architecture {arch!r}; known: {', '.join(archs.ARCHS)}")

    sd = load_checkpoint(checkpoint, trust_checkpoint)
    prep = prepare_model(sd, arch, category=category, input_size=input_size, neck_feat=neck_feat, arch_opts=arch_opts,
                         sie_camera=sie_camera, sie_coe=sie_coe, source=checkpoint.name)
    log(f"checkpoint {checkpoint.name}: {prep.layout} layout, {len(sd)} tensors; {arch} loaded with strict key matching"
        + (f"; dropped (training-only / unused): {_groups(prep.dropped)}" if prep.dropped else ""))
    for n in prep.notes:
        log(f"note: {n}")

    out = Path(out) if out else MODELS_DIR / f"reid_{category}" / f"{name}.onnx"
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    try:
        to_onnx(prep.model, prep.input_size, part, opset)
        diff, rel, dim = compare(prep.model, part, prep.input_size, prep.mean, prep.std)
        log(f"ONNX vs PyTorch on random crops (batch 3 and 1): max abs difference {diff:.3g} "
            f"(relative {rel:.3g}, limit {REL_TOL:g})")
        if not np.isfinite(rel) or rel > REL_TOL:
            raise ModelError(f"The ONNX export of {checkpoint.name} does not match PyTorch (max abs difference {diff:.3g}, "
                             f"relative {rel:.3g} > {REL_TOL:g}); nothing was written")
        os.replace(part, out)
    except ModelError:
        part.unlink(missing_ok=True)
        raise
    except Exception as e:  # exporter / runtime failures: a message, not a stack trace
        part.unlink(missing_ok=True)
        raise ModelError(f"Exporting {arch} to ONNX failed: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}") from e

    thr = float(threshold) if threshold is not None else float(info.threshold[category])
    h, w = prep.input_size
    spec = {
        "kind": "reid",
        "title": f"{info.title} ({checkpoint.name})",
        "file": _file_field(out),
        "sha256": sha256_of(out),
        "size": out.stat().st_size,
        "source": f"exported by `python -m Algorithm export --arch {arch}` from {checkpoint.name} ({prep.layout} layout)",
        "licence": "as the checkpoint's (user-provided)",
        "input_size": [h, w],
        "channel_order": "RGB",
        "scale": 1 / 255,
        "mean": [float(v) for v in prep.mean],
        "std": [float(v) for v in prep.std],
        "normalized_in_graph": False,
        "output_dim": dim,
        "threshold": round(thr, 4),
        "thresholds": {},
        "categories": [category],
        "trained_on": {category: f"user checkpoint {checkpoint.name}"},
    }
    ModelSpec.from_dict(name, spec)  # validates the entry against the app's schema
    log(f"ONNX written: {out} ({spec['size'] / 1e6:.1f} MB, input {h}x{w} RGB, {dim}-d output, opset {opset})")
    log("model-config entry:")
    log(json.dumps({name: spec}, indent=2))
    res = ExportResult(name, out, spec, diff, rel, notes=prep.notes)
    if register_model:
        local = register(name, spec, category, Path(local_config) if local_config else None, activate)
        res.registered, res.activated = local, activate
        use = f"python -m Algorithm models use {name} --category {category}"
        log(f"registered as '{name}' in {local}" + (
            f"; now the {category} ReID model. Photos already in your gallery must be re-embedded: run `{use}`"
            if activate else f" (not active yet: `{use}` makes it serve {category}s and re-embeds the gallery)"))
        if threshold is None:
            log(f"default threshold {thr:g}; tune it on your data with `python -m Algorithm calibrate ... --category {category} --save`")
    return res
