"""Measure the registration crop policy (Algorithm/rules.py, "crop policy") on the real assets.

    python tools/measure_crop_policy.py            # the counts quoted in rules.py
    python tools/measure_crop_policy.py --list     # also every ground-truth crop that would be refused

What a registration without a chosen box would do (Engine.check_photo) for:
  - every MOT17-mini ground-truth pedestrian box at least 50 px high (any visibility), cut out as a photo;
  - crops around two separate MOT17 people (their boxes overlap at most 20%, the union at most 2.5x their areas);
  - the Market-1501 crops, zidane.jpg, bus.jpg, a van cut from MOT17-10, uniform, gradient and noise pictures.
The last stdout line is a JSON summary.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(os.environ.get("REID_TEST_ASSETS") or ROOT.parent / "shared" / "assets")
os.environ.setdefault("REID_MODELS_DIR", str(ASSETS / "models"))
sys.path.insert(0, str(ROOT))

from Algorithm.outer_api import Engine, PhotoCheck, Settings, read_image  # noqa: E402


def kind(check: PhotoCheck, category: str = "person") -> str:
    v = check.verdicts[category]
    if v.box is not None:
        several = check.detections.category.count(category) > 1
        return ("whole: several boxes of one" if several else "whole: nothing found") if v.whole else "box"
    if v.must_choose:
        return "refused: several"
    if v.suggested_category:
        return "refused: other category"
    return "refused: nothing found"


def gt_boxes(seq: Path, frame: int, w: int, h: int):
    gt = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",")
    gt = gt[(gt[:, 0] == frame) & (gt[:, 6] == 1) & (gt[:, 7] == 1)]
    for r in gt:
        x, y, bw, bh = r[2:6]
        b = (int(max(0, x)), int(max(0, y)), int(min(w, x + bw)), int(min(h, y + bh)))
        if b[3] - b[1] >= 50 and b[2] - b[0] >= 10:
            yield b, float(r[8]), int(r[1])


def area(b) -> float:
    return max(0, b[2] - b[0]) * max(0, b[3] - b[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="print every refused ground-truth crop")
    args = ap.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        eng = Engine(Path(tmp) / "g.db", Settings(device="cpu", keep_frames=False))
        singles, pairs, refused = collections.Counter(), collections.Counter(), []
        for seq in sorted((ASSETS / "mot" / "MOT17-mini").iterdir()):
            for p in sorted((seq / "img1").glob("*.jpg")):
                img = read_image(p)
                h, w = img.shape[:2]
                boxes = list(gt_boxes(seq, int(p.stem), w, h))
                for b, vis, pid in boxes:
                    k = kind(eng.check_photo(img[b[1]:b[3], b[0]:b[2]], ("person",)))
                    singles[k] += 1
                    if k.startswith("refused"):
                        size = f"{b[2] - b[0]}x{b[3] - b[1]}"
                        refused.append(f"{seq.name} frame {p.stem} id {pid} ({size}, visibility {vis:.2f}): {k}")
                for i, (a, va, _) in enumerate(boxes):
                    for c, vc, _ in boxes[i + 1:]:
                        inter = area((max(a[0], c[0]), max(a[1], c[1]), min(a[2], c[2]), min(a[3], c[3])))
                        u = (min(a[0], c[0]), min(a[1], c[1]), max(a[2], c[2]), max(a[3], c[3]))
                        if min(va, vc) < 0.7 or inter > 0.2 * min(area(a), area(c)) or area(u) > 2.5 * (area(a) + area(c)):
                            continue
                        pairs[kind(eng.check_photo(img[u[1]:u[3], u[0]:u[2]], ("person",)))] += 1
        others = {}
        for p in sorted((ASSETS / "reid_samples" / "market1501_fastreid").glob("*.jpg")):
            others[p.name] = kind(eng.check_photo(p, ("person",)))
        for name in ("zidane.jpg", "bus.jpg"):
            others[name] = kind(eng.check_photo(ASSETS / "images" / "ultralytics" / name, ("person",)))
        van = read_image(ASSETS / "mot" / "MOT17-mini" / "MOT17-10-FRCNN" / "img1" / "000001.jpg")[330:770, 0:380]
        others["van as person"] = kind(eng.check_photo(van))
        others["van as vehicle"] = kind(eng.check_photo(van), "vehicle")
        rng = np.random.default_rng(0)
        synth = {
            "grey 640x480": np.full((480, 640, 3), 128, np.uint8),
            "grey 128x256": np.full((256, 128, 3), 128, np.uint8),
            "gradient 128x256": np.dstack([np.tile(np.linspace(40, 200, 256, dtype=np.uint8)[:, None], (1, 128))] * 3),
            "noise 128x256": rng.integers(0, 256, (256, 128, 3), np.uint8),
        }
        for name, img in synth.items():
            others[name] = kind(eng.check_photo(img, ("person",)))
        eng.close()
    print("ground-truth person crops:", dict(singles))
    print("two-person crops:", dict(pairs))
    for k, v in others.items():
        print(f"{k}: {v}")
    if args.list:
        print("\n".join(refused))
    print(json.dumps({"gt_crops": dict(singles), "pairs": dict(pairs), "others": others}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
