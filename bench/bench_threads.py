"""ONNX Runtime thread settings for the detector followed by the ReID model (as in the pipeline).

"auto" threads leave the count to ONNX Runtime (one per physical core, pinned to the cores); "spin" lets
idle workers busy-wait for the next piece of work instead of sleeping. --load N adds N busy processes
beside the measurement: a machine shared with other work (the GUI, a browser, another program).

Each configuration gets its own pair of sessions (detector + ReID); the configurations take turns frame
by frame in this one process, so they share whatever load the machine has. Inputs are real: letterboxed
frames of the pedestrian video and the person crops the detector finds in them.

    python bench/bench_threads.py              # an otherwise idle machine
    python bench/bench_threads.py --load 1     # one busy process beside
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import _common as C  # the asset paths and the environment


def session(path, threads: int, spin: bool):
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.log_severity_level = 3
    if threads:
        o.intra_op_num_threads = threads
        o.inter_op_num_threads = 1
    if spin is not None:
        o.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        o.add_session_config_entry("session.inter_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=25, help="frames per configuration (default 25)")
    ap.add_argument("--crops", type=int, default=1, help="ReID crops per frame (default 1: one new track)")
    ap.add_argument("--load", type=int, default=0,
                    help="also run N busy processes beside it (a machine shared with other work); default 0")
    args = ap.parse_args(argv)
    C.header("bench_threads: ONNX Runtime threads for detector + ReID run one after the other",
             ["bench/bench_threads.py", *(argv or sys.argv[1:])])

    from Algorithm.models.registry import load_registry
    from Algorithm.models.runtime import ort_thread_settings, physical_cores
    from Algorithm.pipeline.detect import Detector
    from Algorithm.pipeline.embed import ReIdExtract, crop

    reg = load_registry()
    dspec, rspec = reg.get(reg.detector), reg.reid_for("person")
    dpath, rpath = reg.path_of(dspec.name), reg.path_of(rspec.name)
    det = Detector(dspec, dpath)
    ext = ReIdExtract(rspec, rpath)
    frames = C.video_frames(C.PED_VIDEO, [100 + 7 * i for i in range(args.rounds)])
    inputs = []
    for f in frames.values():
        d = det(f)
        crops = [crop(f, b) for b in d.xyxy[:1]] or [f[50:350, 300:450]]
        crops = (crops * args.crops)[: args.crops]
        x_det = _letterbox(f, *dspec.input_size)
        x_reid = _reid_input(ext, crops)
        inputs.append((x_det, x_reid))

    phys = physical_cores()
    chosen = ort_thread_settings()
    # threads 0 = ORT picks them: one per physical core, pinned to the cores (affinity); a count = unpinned
    configs = {
        "ORT default (auto, spin)": (0, None),
        "auto threads, no spin": (0, False),
        f"{phys} threads, spin": (phys, True),
        f"{phys} threads, no spin": (phys, False),
        "1 thread, no spin": (1, False),
    }
    sess = {k: (session(dpath, *v), session(rpath, *v)) for k, v in configs.items()}
    for d, r in sess.values():  # warm-up
        d.run(None, {d.get_inputs()[0].name: inputs[0][0]})
        r.run(None, {r.get_inputs()[0].name: inputs[0][1]})
    t_det = {k: 0.0 for k in sess}
    t_reid = {k: 0.0 for k in sess}
    names = list(sess)
    with C.BusyLoad(args.load):
        for i, (xd, xr) in enumerate(inputs):
            order = names[i % len(names):] + names[: i % len(names)]  # rotate who goes first
            for k in order:
                d, r = sess[k]
                t0 = time.perf_counter()
                d.run(None, {d.get_inputs()[0].name: xd})
                t1 = time.perf_counter()
                r.run(None, {r.get_inputs()[0].name: xr})
                t2 = time.perf_counter()
                t_det[k] += t1 - t0
                t_reid[k] += t2 - t1
    n = len(inputs)
    ref = f"{chosen[0] or 'auto'} thread{'s' if chosen[0] != 1 else ''}, {'spin' if chosen[1] else 'no spin'}"
    if ref == "auto threads, spin":
        ref = "ORT default (auto, spin)"
    ref_total = (t_det[ref] + t_reid[ref]) / n if ref in t_det else None
    print(f"   {n} frames per configuration, {args.crops} ReID crop(s) per frame, {args.load} busy process(es) beside; "
          f"app setting (runtime.py): {ref}")
    print(f"   {'configuration':32s} {'detector ms':>12s} {'ReID ms':>9s} {'total ms':>9s} {'vs app':>7s}")
    for k in names:
        tot = (t_det[k] + t_reid[k]) / n
        rel = f"{tot / ref_total:6.2f}x" if ref_total else ""
        print(f"   {k:32s} {1e3 * t_det[k] / n:12.1f} {1e3 * t_reid[k] / n:9.1f} {1e3 * tot:9.1f} {rel:>7s}")
    best = min(names, key=lambda k: t_det[k] + t_reid[k])
    print(f"RESULT fastest={best!r} app={ref!r}")
    return 0


def _letterbox(img, h, w):
    import cv2

    r = min(h / img.shape[0], w / img.shape[1])
    nw, nh = round(img.shape[1] * r), round(img.shape[0] * r)
    canvas = np.full((h, w, 3), 114, np.uint8)
    top, left = round((h - nh) / 2 - 0.1), round((w - nw) / 2 - 0.1)
    canvas[top : top + nh, left : left + nw] = cv2.resize(img, (nw, nh))
    return np.ascontiguousarray(canvas[:, :, ::-1].transpose(2, 0, 1)[None], np.float32) / 255.0


def _reid_input(ext, crops):
    x = ext.preprocess(crops)[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32)
    return np.ascontiguousarray((x * ext.scale - ext.mean) / ext.std)


if __name__ == "__main__":
    sys.exit(main())
