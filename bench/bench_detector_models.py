"""Two detector models on the same frames: ms a frame, box agreement, and recall / precision on MOT17-mini.

Default: the INT8 YOLOv8n file (yolov8n_int8) against its float copy made at install (yolov8n, the app's
detector; Algorithm/models/dequantize.py). Frames of the pedestrian and traffic videos, each model in turn frame
by frame in this one process (who goes first alternates), so the speed ratio holds whatever else the machine does.
Recall and precision count the MOT17-mini pedestrians (ground-truth class 1) at IoU >= 0.5; a box on a
pedestrian less than `--min-vis` visible counts neither way.

    python bench/bench_detector_models.py
    python bench/bench_detector_models.py --models yolov8n_int8,yolox_nano --device cuda
    python bench/bench_detector_models.py --batches 1,2,4,8    # the app's detector, frames several at a time

`--batches`: the same frames through the second model in batches of each size (the sizes take turns over every
group of 8 frames), ms a frame for each, and whether every frame's boxes equal those it gets alone. This is what
chooses DETECT_BATCH in Algorithm/pipeline/detect.py.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import _common as C  # the asset paths and the environment


def mot_scores(det, min_vis: float) -> tuple[float, float, int]:
    """(recall, precision, pedestrians) of `det` on every MOT17-mini frame with ground truth."""
    from Algorithm.evaluation.datasets import mot_frames, mot_sequences, read_mot_gt
    from Algorithm.geometry import iou_matrix
    from Algorithm.media import read_image

    tp = fp = fn = 0
    for seq in mot_sequences(C.MOT):
        gt = read_mot_gt(seq)
        for frame, img_path in mot_frames(seq).items():
            g = gt[(gt[:, 0] == frame) & (gt[:, 7] == 1)]
            if not len(g):
                continue
            boxes = np.c_[g[:, 2], g[:, 3], g[:, 2] + g[:, 4], g[:, 3] + g[:, 5]]
            visible = g[:, 8] >= min_vis
            d = det(read_image(img_path), ("person",))
            free = np.ones(len(boxes), bool)
            m = iou_matrix(d.xyxy, boxes) if len(d) else np.zeros((0, len(boxes)))
            for k in np.argsort(-d.conf, kind="stable"):  # greedy, most confident first
                j = int(np.argmax(np.where(free, m[k], -1.0)))
                if free[j] and m[k, j] >= 0.5:
                    free[j] = False
                    tp += int(visible[j])
                else:
                    fp += 1
            fn += int((free & visible).sum())
    return tp / max(1, tp + fn), tp / max(1, tp + fp), tp + fn


def batch_sizes(det, name: str, frames, cats, sizes: list[int]) -> int:
    """ms a frame of `det` in batches of each size, the sizes taking turns over groups of 8 frames (so each sees the
    same frames and the same state of the machine); the boxes compared with each frame's alone."""
    group = 8
    frames = frames[: len(frames) // group * group]
    det.detect_many(frames[:max(sizes)], cats)  # warm-up (the largest batch allocates)
    secs, same = dict.fromkeys(sizes, 0.0), dict.fromkeys(sizes, True)
    for g in range(0, len(frames), group):
        chunk = frames[g : g + group]
        alone = None
        for k in range(len(sizes)):
            size = sizes[(k + g // group) % len(sizes)]  # who goes first rotates
            t0 = time.perf_counter()
            got = [d for i in range(0, group, size) for d in det.detect_many(chunk[i : i + size], cats)]
            secs[size] += time.perf_counter() - t0
            if alone is None:
                alone = [det(f, cats) for f in chunk]
            same[size] &= all(np.array_equal(a.xyxy, b.xyxy) and np.array_equal(a.conf, b.conf) for a, b in zip(alone, got))
    ms = {b: s * 1000 / len(frames) for b, s in secs.items()}
    print(f"   {name} ({det.provider}, batch axis {'free' if det.batch_size > 1 else 'fixed'}), {len(frames)} frames:")
    for b in sizes:
        print(f"     batches of {b}: {ms[b]:6.1f} ms a frame ({ms[sizes[0]] / ms[b]:.2f}x), boxes as alone: {same[b]}")
    best = min(ms, key=ms.get)
    print(f"RESULT batch_best={best} " + " ".join(f"ms_{b}={ms[b]:.1f}" for b in sizes)
          + f" same_boxes={all(same.values())}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="yolov8n_int8,yolov8n", help="two detector names of models.json")
    ap.add_argument("--frames", type=int, default=100, help="video frames (60%% pedestrians, 40%% traffic); default 100")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--min-vis", type=float, default=0.3, help="least visibility of a pedestrian to count (default 0.3)")
    ap.add_argument("--batches", default="", help="e.g. 1,2,4,8: time the second model in batches of these sizes")
    args = ap.parse_args(argv)
    C.header("bench_detector_models: two detectors on the same frames", ["bench/bench_detector_models.py",
                                                                          *(argv or sys.argv[1:])])
    from Algorithm.geometry import iou_matrix
    from Algorithm.models.registry import load_registry
    from Algorithm.pipeline.detect import Detector

    reg = load_registry()
    names = args.models.split(",")
    dets = [Detector(reg.get(n), reg.path_of(n), args.device) for n in names]
    for n, d in zip(names, dets):
        print(f"   {n}: {reg.get(n).title} ({d.provider})")
    n_ped = round(args.frames * 0.6)
    frames = C.video_frames(C.PED_VIDEO, list(range(0, n_ped * 5, 5)))
    frames = [frames[i] for i in sorted(frames)]
    traffic = C.video_frames(C.TRAFFIC_VIDEO, list(range(0, (args.frames - n_ped) * 5, 5)))
    frames += [traffic[i] for i in sorted(traffic)]
    cats = ("person", "vehicle")
    if args.batches:
        return batch_sizes(dets[1], names[1], frames, cats, [int(b) for b in args.batches.split(",")])
    for d in dets:
        for f in frames[:3]:
            d(f, cats)  # warm-up
    secs, boxes, ious = [0.0, 0.0], [0, 0], []
    for i, f in enumerate(frames):
        out = [None, None]
        for k in ((0, 1) if i % 2 == 0 else (1, 0)):
            t0 = time.perf_counter()
            out[k] = dets[k](f, cats)
            secs[k] += time.perf_counter() - t0
        a, b = out
        boxes[0] += len(a)
        boxes[1] += len(b)
        if len(a) and len(b):
            same = np.array(a.category)[:, None] == np.array(b.category)[None, :]
            ious += list(np.where(same, iou_matrix(a.xyxy, b.xyxy), 0.0).max(axis=1))
        elif len(a):
            ious += [0.0] * len(a)
    ms = [s * 1000 / len(frames) for s in secs]
    ious = np.array(ious)
    print(f"   {len(frames)} frames: {names[0]} {ms[0]:.1f} ms a frame, {names[1]} {ms[1]:.1f} ms "
          f"({ms[0] / ms[1]:.2f}x); boxes {boxes[0]} / {boxes[1]}")
    print(f"   {names[0]}'s boxes found by {names[1]} (same category): IoU median {np.median(ious):.3f}, "
          f"{np.mean(ious >= 0.85):.1%} at >= 0.85, {np.mean(ious >= 0.5):.1%} at >= 0.5")
    scores = [mot_scores(d, args.min_vis) for d in dets]
    for n, (r, p, total) in zip(names, scores):
        print(f"   MOT17-mini, {total} pedestrians at least {args.min_vis:.0%} visible: {n} recall {r:.3f} precision {p:.3f}")
    print(f"RESULT speedup={ms[0] / ms[1]:.2f} ms_a={ms[0]:.1f} ms_b={ms[1]:.1f} iou_median={np.median(ious):.3f} "
          f"found={np.mean(ious >= 0.5):.3f} recall_a={scores[0][0]:.3f} recall_b={scores[1][0]:.3f} "
          f"precision_a={scores[0][1]:.3f} precision_b={scores[1][1]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
