"""Time a crop takes in each person ReID model, and how far an INT8 build's features are from its base model's.

The crops are the ground-truth pedestrians of MOT17-mini (real people, 50 px tall and more, at least half
visible), embedded one at a time as the pipeline mostly does (a new track is one crop), and in batches of 4.
The models take turns crop by crop in this one process, so they share whatever load the machine has.

    python bench/bench_reid_models.py                  # every person model of models/models.json
    python bench/bench_reid_models.py --rounds 3
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import _common as C  # the asset paths and the environment


def mot_crops() -> list[np.ndarray]:
    from Algorithm.media import read_image

    crops = []
    for seq in sorted(p for p in C.MOT.iterdir() if p.is_dir()):
        gt = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",")
        for img_path in sorted((seq / "img1").glob("*.jpg")):
            img = read_image(img_path)
            h, w = img.shape[:2]
            rows = gt[(gt[:, 0] == int(img_path.stem)) & (gt[:, 6] == 1) & (gt[:, 7] == 1) & (gt[:, 8] >= 0.5)]
            for x, y, bw, bh in rows[:, 2:6]:
                x1, y1, x2, y2 = int(max(0, x)), int(max(0, y)), int(min(w, x + bw)), int(min(h, y + bh))
                if y2 - y1 >= 50 and x2 - x1 >= 10:
                    crops.append(img[y1:y2, x1:x2].copy())
    return crops


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="", help="comma list (default: every person ReID model)")
    ap.add_argument("--rounds", type=int, default=2, help="passes over the crops (default 2)")
    args = ap.parse_args(argv)
    C.header("bench_reid_models: ms a crop for each person ReID model, INT8 drift",
             ["bench/bench_reid_models.py", *(argv or sys.argv[1:])])
    from Algorithm.models.registry import load_registry
    from Algorithm.pipeline.embed import ReIdExtract

    reg = load_registry()
    names = [m for m in args.models.split(",") if m] or [n for n, s in reg.models.items()
                                                         if s.kind == "reid" and "person" in s.categories]
    ext = {n: ReIdExtract(reg.get(n), reg.path_of(n), "cpu") for n in names}
    crops = mot_crops()
    print(f"   {len(crops)} crops (MOT17-mini ground truth), {args.rounds} rounds, models: {', '.join(names)}")
    for e in ext.values():  # warm-up
        e(crops[:4])
    one = {n: [] for n in names}
    four = {n: [] for n in names}
    feats = {n: [] for n in names}
    for _ in range(args.rounds):
        for i, c in enumerate(crops):
            for n, e in ext.items():
                t = time.perf_counter()
                f = e([c])
                one[n].append(time.perf_counter() - t)
                if len(feats[n]) < len(crops):
                    feats[n].append(f[0])
            if i % 4 == 3:
                for n, e in ext.items():
                    t = time.perf_counter()
                    e(crops[i - 3:i + 1])
                    four[n].append((time.perf_counter() - t) / 4)
    ms = {n: 1e3 * float(np.median(one[n])) for n in names}
    print(f"   {'model':44s} {'ms/crop':>8s} {'in 4s':>8s}  cosine to its base (mean / min)")
    result = {}
    for n in names:
        base = reg.get(n).build.get("base") if reg.get(n).build.get("quantize") else None
        drift = ""
        if base in feats:
            cos = np.sum(np.array(feats[n]) * np.array(feats[base]), axis=1)
            drift = f"{cos.mean():.3f} / {cos.min():.3f} ({base})"
            result = {"int8_speedup": ms[base] / ms[n], "ms_base": ms[base], "ms_int8": ms[n], "cosine": cos.mean()}
        print(f"   {n:44s} {ms[n]:8.2f} {1e3 * float(np.median(four[n])):8.2f}  {drift}")
    if result:
        print(f"RESULT int8_speedup={result['int8_speedup']:.2f} ms_base={result['ms_base']:.2f} "
              f"ms_int8={result['ms_int8']:.2f} cosine={result['cosine']:.3f}")
    else:
        print("RESULT int8_speedup=none (no INT8 model among those measured)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
