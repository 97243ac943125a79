"""Which device can run what: ONNX Runtime providers and CUDA, with the reason when one is unavailable."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import ModelError


@dataclass(frozen=True)
class DeviceOption:
    name: str  # "cpu" | "cuda"
    available: bool
    reason: str = ""


@lru_cache(maxsize=1)
def device_options() -> tuple[DeviceOption, ...]:
    import onnxruntime as ort

    cuda_ok, reason = False, ""
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        reason = "this ONNX Runtime build has no CUDA provider (install onnxruntime-gpu)"
    else:
        try:
            import torch

            cuda_ok = bool(torch.cuda.is_available())
            reason = "" if cuda_ok else "no NVIDIA GPU or CUDA driver found"
        except Exception as e:  # torch missing or broken: say so rather than fail
            reason = f"CUDA check failed: {e}"
    return (DeviceOption("cpu", True), DeviceOption("cuda", cuda_ok, reason))


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when usable, else 'cpu'; an unusable explicit 'cuda' falls back to 'cpu'."""
    cuda = next(o for o in device_options() if o.name == "cuda")
    if device in ("auto", "cuda") and cuda.available:
        return "cuda"
    return "cpu"


def ort_session(path: Path, device: str, name: str):
    """An InferenceSession on the chosen device and the provider that actually runs it."""
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    if device == "cuda":
        providers.insert(0, "CUDAExecutionProvider")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as e:
        raise ModelError(f"Cannot load model '{name}' from {path}: not a valid ONNX model ({e})") from e
    return sess, sess.get_providers()[0]
