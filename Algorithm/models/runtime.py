"""Which device can run what: ONNX Runtime providers and CUDA, with the reason when one is unavailable."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from Algorithm.errors import ModelError


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


@lru_cache(maxsize=1)
def physical_cores() -> int:
    try:
        import psutil  # comes with ultralytics

        n = psutil.cpu_count(logical=False)
    except Exception:
        n = None
    return max(1, int(n or os.cpu_count() or 1))


def ort_thread_settings() -> tuple[int, bool]:
    """(intra-op threads, spin-wait) for every ONNX Runtime session of the app; 0 threads = ORT's own choice.

    ORT's own choice is one thread per physical core, pinned to the cores: the detector and the ReID model
    run one after the other on the same thread, so each can use every core in turn, and pinning is worth
    ~10% against the same count unpinned. Idle workers sleep instead of spin-waiting: spinning is ~10%
    faster on an idle machine but 20-100% slower as soon as anything else wants the cores (the GUI, video
    decoding, another program), because a spinning pool holds cores the next session or a preempted
    worker needs. bench/bench_threads.py measures both cases (--load). $REID_ORT_THREADS (a count) and
    $REID_ORT_SPIN=1 override.
    """
    try:
        threads = max(0, int(os.environ.get("REID_ORT_THREADS", "0")))
    except ValueError:
        threads = 0
    spin = os.environ.get("REID_ORT_SPIN", "0").strip().lower() not in ("", "0", "false", "no")
    return threads, spin


def ort_session(path: Path, device: str, name: str):
    """An InferenceSession on the chosen device and the provider that actually runs it."""
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    if device == "cuda":
        providers.insert(0, "CUDAExecutionProvider")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    threads, spin = ort_thread_settings()
    if threads:
        opts.intra_op_num_threads = threads
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "1" if spin else "0")
    try:
        sess = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as e:
        raise ModelError(f"Cannot load model '{name}' from {path}: not a valid ONNX model ({e})") from e
    return sess, sess.get_providers()[0]


class _Port:
    """What ReIdExtract reads of a model input/output: its name and shape (ints, or None where dynamic)."""

    def __init__(self, name: str, shape: list):
        self.name, self.shape = name, shape


class OpenVinoSession:
    """An OpenVINO compiled model behind the slice of ONNX Runtime's InferenceSession the app uses
    (get_inputs, get_outputs, run), so ReID models in OpenVINO IR (Intel Open Model Zoo) run beside ONNX ones.

    The batch axis is made dynamic (OMZ files are saved with batch 1), so a frame's crops run in one call.
    OpenVINO runs on the CPU here: its "GPU" device is an Intel GPU, so on an NVIDIA machine the detector
    uses CUDA and these ReID models the CPU (they embed a few crops per track, not every box of every frame).
    """

    def __init__(self, path: Path, name: str):
        try:
            import openvino as ov
        except ImportError as e:
            raise ModelError(f"Model '{name}' is an OpenVINO model and needs the `openvino` package "
                             f"(pip install openvino; the install scripts do it): {e}") from e
        try:
            core = ov.Core()
            model = core.read_model(str(path))
            if len(model.inputs) != 1:
                raise ModelError(f"ReID model '{name}' must take one image input, it takes {len(model.inputs)}")
            shape = model.inputs[0].partial_shape
            if shape.rank.get_length() == 4:
                model.reshape({model.inputs[0].any_name: ov.PartialShape([-1, *[d.get_length() for d in list(shape)[1:]]])})
            threads, _ = ort_thread_settings()
            # f32 on every CPU: where the CPU has bfloat16 OpenVINO picks it by default, so the same crop gave other
            # features on other machines, and it was slower on this project's AVX512-BF16 CPU without AMX
            # (retail-0277: 16.0 ms a crop in bf16, 9.5 ms in f32; distances within 0.003 of each other)
            config = {"INFERENCE_PRECISION_HINT": "f32", **({"INFERENCE_NUM_THREADS": threads} if threads else {})}
            self._compiled = core.compile_model(model, "CPU", config)
        except ModelError:
            raise
        except Exception as e:
            raise ModelError(f"Cannot load model '{name}' from {path}: not a valid OpenVINO IR model ({e})") from e

        def port(p):
            return _Port(p.any_name, [d.get_length() if d.is_static else None for d in p.partial_shape])

        self._inputs = [port(p) for p in self._compiled.inputs]
        self._outputs = [port(p) for p in self._compiled.outputs]
        self._request = self._compiled.create_infer_request()
        # One infer request is not thread-safe (ONNX Runtime's run() is): a search and a registration may embed at
        # the same time through the one shared model.
        self._run_lock = threading.Lock()

    def get_inputs(self) -> list[_Port]:
        return self._inputs

    def get_outputs(self) -> list[_Port]:
        return self._outputs

    @property
    def precision(self) -> str:
        """The precision OpenVINO computes in: "f32", "bf16", ..."""
        return self._compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()

    def run(self, _output_names, feeds: dict) -> list:
        (x,) = feeds.values()
        with self._run_lock:
            out = self._request.infer({0: x})
            return [out[self._compiled.outputs[0]].copy()]


def open_session(path: Path, device: str, name: str, backend: str = "onnx"):
    """(session, provider) for a ReID model file: ONNX Runtime, or OpenVINO for backend 'openvino'."""
    if backend == "openvino":
        return OpenVinoSession(path, name), "OpenVINO CPU"
    return ort_session(path, device, name)
