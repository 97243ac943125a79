"""Detector backends on the same YOLOv8 ONNX file: ultralytics vs the direct ONNX Runtime path ("onnx").

Same frames for both (frames of the pedestrian and traffic videos, bus.jpg, zidane.jpg), taking turns
frame by frame in this one process (who goes first alternates), so the ratio holds whatever else the
machine is doing. Boxes must be identical: same count, same classes, IoU >= 0.99 box by box.
Each backend runs as the app runs it: ultralytics with the ONNX Runtime session it makes itself,
"onnx" with the app's session settings (Algorithm/runtime.py).

    python bench/bench_detectors.py
    python bench/bench_detectors.py --frames 120
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import numpy as np

import _common as C  # the asset paths and the environment


def iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt, rb = np.maximum(a[:, :2], b[:, :2]), np.minimum(a[:, 2:], b[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), 1)
    area = lambda x: np.prod(x[:, 2:] - x[:, :2], 1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=60, help="video frames (half pedestrians, half traffic); default 60")
    ap.add_argument("--categories", default="person,vehicle")
    ap.add_argument("--load", type=int, default=0,
                    help="also run N busy processes beside it (a machine shared with other work); default 0")
    args = ap.parse_args(argv)
    C.header("bench_detectors: ultralytics vs direct ONNX Runtime on the same frames",
             ["bench/bench_detectors.py", *(argv or sys.argv[1:])])

    from Algorithm.media import read_image
    from Algorithm.models.registry import load_registry
    from Algorithm.pipeline.detect import Detector

    reg = load_registry()
    spec = reg.get(reg.detector)
    path = reg.path_of(spec.name)
    print(f"   model: {spec.name} ({path.name}); models.json backend: {spec.backend}")
    dets = {b: Detector(replace(spec, backend=b), path) for b in ("ultralytics", "onnx")}
    half = max(1, args.frames // 2)
    ped = C.video_frames(C.PED_VIDEO, list(range(60, 1360, max(1, 1300 // half)))[:half])
    traffic = C.video_frames(C.TRAFFIC_VIDEO, list(range(0, 1690, max(1, 1690 // half)))[:half])
    frames = [read_image(C.BUS), read_image(C.ZIDANE)] + list(ped.values()) + list(traffic.values())
    cats = tuple(args.categories.split(","))
    for d in dets.values():  # warm-up
        d(frames[0], cats)
    t = {b: 0.0 for b in dets}
    boxes, worst, mismatched = 0, 1.0, 0
    names = list(dets)
    with C.BusyLoad(args.load):
        for i, img in enumerate(frames):
            out = {}
            for b in (names if i % 2 == 0 else names[::-1]):
                t0 = time.perf_counter()
                out[b] = dets[b](img, cats)
                t[b] += time.perf_counter() - t0
            a, o = out["ultralytics"], out["onnx"]
            if len(a) != len(o) or a.cls.tolist() != o.cls.tolist():
                mismatched += 1
                continue
            if len(a):
                worst = min(worst, float(iou_pairs(a.xyxy, o.xyxy).min()))
                boxes += len(a)
    n = len(frames)
    fps = {b: n / t[b] for b in dets}
    print(f"   {n} images ({len(ped)} pedestrian frames 768x432, {len(traffic)} traffic frames 320x240, bus, zidane), "
          f"categories {cats}, {args.load} busy process(es) beside")
    for b in names:
        print(f"   {b:12s} {fps[b]:6.2f} fps  ({1e3 * t[b] / n:6.1f} ms/image)")
    same = mismatched == 0 and worst >= 0.99
    print(f"   boxes: {boxes} compared, images with a different box list: {mismatched}, worst IoU {worst:.4f} "
          f"-> {'identical' if same else 'DIFFERENT'}")
    speedup = fps["onnx"] / fps["ultralytics"]
    print(f"RESULT onnx_vs_ultralytics_speed={speedup:.3f} identical_boxes={same} "
          f"(default switches to onnx if > 1.10: {'yes' if speedup > 1.10 else 'no'})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
