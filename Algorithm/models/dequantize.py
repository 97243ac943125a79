"""A float copy of a dynamically quantised ONNX detector, made at install for NVIDIA GPUs.

ONNX Runtime's CUDA provider has no kernel for ConvInteger or DynamicQuantizeLinear (microsoft/onnxruntime#5127,
open since 2020; the CUDA provider library of onnxruntime-gpu 1.31.1 has Conv, QuantizeLinear and MatMulInteger
kernels but neither of these). A model made by ONNX Runtime's `quantize_dynamic`, as yolov8n_int8 is, therefore runs
every convolution on the CPU even when CUDA is chosen, with copies to and from the GPU around each one.

The copy made here is the same network with its 8-bit weights turned back into floats, (w - zero_point) * scale, in
ordinary Conv nodes that every provider runs. Each quantised convolution of `quantize_dynamic` is the pattern

    x -> DynamicQuantizeLinear -> (x_q, x_scale, x_zp)
    ConvInteger(x_q, w_q, x_zp, w_zp) -> Cast(float) -> Mul(x_scale * w_scale) [-> Add(bias)]

and becomes Conv(x, w_float) feeding what the Mul fed. The activations are no longer quantised, so the boxes differ a
little from the INT8 model's on the CPU (measured in tests/test_dequantize.py).

The copy also takes a batch of frames: the export fixed its batch at 1 (the input, the output, and the leading 1 of
the head's Reshape shapes); here the batch axis is left free, so a video's frames can be detected several at a time
(pipeline/detect.py; each frame's output is the same as alone, bit for bit).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from Algorithm.errors import ModelError
from Algorithm.models.quantize import stamp_path  # the one naming of a built model's stamp (<model>.build.json)

# Integer operators that no longer appear in a dequantised model.
INTEGER_OPS = ("ConvInteger", "DynamicQuantizeLinear", "MatMulInteger")
_CONV_ATTRS = ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
# What the copy is made by: a stamp of another recipe is rebuilt by the next install (1: floats; 2: and a free batch).
RECIPE = 2


@dataclass(frozen=True)
class DequantizeResult:
    path: Path
    convs: int  # ConvInteger nodes turned into Conv
    ops: tuple[str, ...]  # the operator types of the float model, sorted
    batch: str = "1"  # the input's batch axis: "1", or "batch" when frames can be detected several at a time


def is_current(dest: Path, base_sha256: str) -> bool:
    """Whether the float copy is in place and was made from this base file (by its sha256)."""
    try:
        stamp = json.loads(stamp_path(dest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return dest.is_file() and stamp.get("base_sha256") == base_sha256 and stamp.get("recipe", 1) == RECIPE


def build(src: Path, dest: Path, base_sha256: str) -> DequantizeResult:
    """dequantize_convs, then the stamp that makes a second install leave the copy alone."""
    res = dequantize_convs(src, dest)
    stamp_path(dest).write_text(json.dumps({"base_sha256": base_sha256, "convs": res.convs,
                                                  "recipe": RECIPE, "batch": res.batch}), encoding="utf-8")
    return res


def dequantize_convs(src: Path, dest: Path) -> DequantizeResult:
    """Writes to `dest` (atomically) the float copy of the dynamically quantised ONNX model `src`."""
    import onnx
    from onnx import helper, numpy_helper

    try:
        model = onnx.load(str(src))
    except Exception as e:  # onnx raises DecodeError and others for a bad file
        raise ModelError(f"Cannot read the ONNX model {src}: {e}") from e
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def only_consumer(name: str, op: str):
        users = consumers.get(name, [])
        if len(users) != 1 or users[0].op_type != op:
            raise ModelError(f"{src.name}: '{name}' does not feed one {op} node (not a quantize_dynamic convolution)")
        return users[0]

    def const(name: str) -> np.ndarray:
        if name not in inits:
            raise ModelError(f"{src.name}: '{name}' is not a constant of the model")
        return numpy_helper.to_array(inits[name])

    drop, replace, new_inits = set(), {}, []
    for ci in [n for n in g.node if n.op_type == "ConvInteger"]:
        x_q, w_q = ci.input[0], ci.input[1]
        w_zp = ci.input[3] if len(ci.input) > 3 and ci.input[3] else ""
        dql = producer.get(x_q)
        if dql is None or dql.op_type != "DynamicQuantizeLinear":
            raise ModelError(f"{src.name}: the input of {ci.name} is not dynamically quantised")
        cast = only_consumer(ci.output[0], "Cast")
        mul = only_consumer(cast.output[0], "Mul")
        scales = producer.get(next(i for i in mul.input if i != cast.output[0]))
        if scales is None or scales.op_type != "Mul" or dql.output[1] not in scales.input:
            raise ModelError(f"{src.name}: the scale of {ci.name} is not the input's scale times the weight's")
        w_scale = const(next(i for i in scales.input if i != dql.output[1])).astype(np.float32)
        w = const(w_q).astype(np.float32)
        zp = const(w_zp).astype(np.float32) if w_zp else np.float32(0)
        if w_scale.ndim == 1:  # per output channel
            w_scale = w_scale.reshape(-1, 1, 1, 1)
            zp = np.reshape(zp, (-1, 1, 1, 1)) if np.ndim(zp) == 1 else zp
        name = f"{w_q}_float"
        new_inits.append(numpy_helper.from_array(((w - zp) * w_scale).astype(np.float32), name))
        attrs = {a.name: helper.get_attribute_value(a) for a in ci.attribute if a.name in _CONV_ATTRS}
        if isinstance(attrs.get("auto_pad"), bytes):
            attrs["auto_pad"] = attrs["auto_pad"].decode()
        replace[id(ci)] = helper.make_node("Conv", [dql.input[0], name], [mul.output[0]], name=f"{ci.name}_float",
                                           **attrs)
        drop.update((id(cast), id(mul)))
    if not replace:
        raise ModelError(f"{src.name} has no ConvInteger node: nothing to dequantise")

    nodes = [replace.get(id(n), n) for n in g.node if id(n) not in drop]
    # Whatever fed only the integer path (the DynamicQuantizeLinear nodes, the scale products) is now unused.
    outputs = {o.name for o in g.output}
    while True:
        used = {i for n in nodes for i in n.input} | outputs
        kept = [n for n in nodes if any(o in used for o in n.output)]
        if len(kept) == len(nodes):
            break
        nodes = kept
    used = {i for n in nodes for i in n.input}
    del g.node[:]
    g.node.extend(nodes)
    keep_inits = [t for t in g.initializer if t.name in used] + new_inits
    del g.initializer[:]
    g.initializer.extend(keep_inits)
    batch = free_batch(model)
    ops = tuple(sorted({n.op_type for n in g.node}))
    left = [op for op in INTEGER_OPS if op in ops]
    if left:
        raise ModelError(f"{src.name}: {', '.join(left)} left after dequantising (a pattern this builder does not know)")
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        raise ModelError(f"The float copy of {src.name} is not a valid ONNX model: {e}") from e
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    onnx.save(model, str(tmp))
    tmp.replace(dest)
    return DequantizeResult(dest, len(replace), ops, batch)


def free_batch(model) -> str:
    """Frees the batch axis of a graph exported with batch 1, in place: "batch" when it did, "1" when the graph has
    something else tied to batch 1 (it is then left as it was, and frames are detected one at a time).

    What ties it in an Ultralytics export: the input's and the output's first dimension, and the leading 1 of the
    shapes the head reshapes its activations to ([1, 64, -1], [1, 4, 16, 8400], ...). A leading 0 copies the input's
    first dimension instead (Reshape without allowzero). Reshapes of constants (the biases' [1, -1, 1, 1]) stay."""
    from onnx import numpy_helper

    g = model.graph
    if len(g.input) != 1 or any(len(v.type.tensor_type.shape.dim) < 1 for v in [*g.input, *g.output]):
        return "1"
    inits = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    if any(n.op_type in ("Shape", "Expand", "Tile", "ConstantOfShape") for n in g.node):
        return "1"  # a shape computed in the graph: not something a constant rewrite can follow
    rewrites = []
    for n in g.node:
        if n.op_type != "Reshape" or n.input[0] in inits or producer.get(n.input[0], n).op_type == "Constant":
            continue
        if n.input[1] not in inits:
            return "1"
        shape = numpy_helper.to_array(inits[n.input[1]])
        if any(a.name == "allowzero" and a.i for a in n.attribute) or shape.ndim != 1 or not len(shape):
            return "1"
        if shape[0] == 1:
            rewrites.append(n)
        elif shape[0] != 0:
            return "1"  # a batch folded into another axis
    made = {}
    for n in rewrites:
        name = f"{n.input[1]}_batch"
        if name not in made:
            shape = numpy_helper.to_array(inits[n.input[1]]).copy()
            shape[0] = 0
            made[name] = numpy_helper.from_array(shape, name)
            g.initializer.append(made[name])
        n.input[1] = name
    used = {i for n in g.node for i in n.input}
    kept = [t for t in g.initializer if t.name in used]  # the batch-1 shapes no node reads any more
    del g.initializer[:]
    g.initializer.extend(kept)
    for v in [*g.input, *g.output]:
        v.type.tensor_type.shape.dim[0].ClearField("dim_value")
        v.type.tensor_type.shape.dim[0].dim_param = "batch"
    del g.value_info[:]  # shapes inferred for batch 1
    return "batch"
