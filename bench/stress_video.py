"""Hard footage for the speed modes: the pedestrian video as a camera that moves, shakes, is relit, starts on a
still scene, or runs at a third of its frame rate. Each variant tries a rule of Algorithm/pipeline/schedule.py:

- pan:   a 640x360 window drifting across the picture (up to 3.4 px a frame): a slowly moving camera, whose
         boxes move with the view while the scene looks "still" to a per-frame check;
- shake: every frame shifted by up to 4 px at random: a camera on a pole in the wind;
- flash: 70 grey levels brighter for 20 frames in every 150: lights switched on and off;
- lead:  200 frames of the first frame held still, then the video: the motion gate's quiet start;
- thin:  every third frame: people move three times as far between frames as the stride expects.

Written with OpenCV's MPEG-4 writer at the source's 10 fps.

    python bench/stress_video.py out_folder [--frames 900]
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

import _common as C

VARIANTS = ("pan", "shake", "flash", "lead", "thin")


def _variant(name: str, frames: list[np.ndarray]) -> list[np.ndarray]:
    import cv2

    h, w = frames[0].shape[:2]
    if name == "pan":
        cw, ch = min(640, w), min(360, h)
        ax, ay = (w - cw) // 2, (h - ch) // 2
        return [np.ascontiguousarray(f[ay + int(ay * math.sin(2 * math.pi * i / 200)):][:ch,
                                       ax + int(ax * math.sin(2 * math.pi * i / 120)):][:, :cw])
                for i, f in enumerate(frames)]
    if name == "shake":
        rng = np.random.default_rng(0)
        return [cv2.warpAffine(f, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REFLECT)
                for f, (dx, dy) in zip(frames, rng.integers(-4, 5, (len(frames), 2)))]
    if name == "flash":
        return [cv2.convertScaleAbs(f, alpha=1.0, beta=70) if i % 150 < 20 else f for i, f in enumerate(frames)]
    if name == "lead":
        return [frames[0]] * 200 + frames[:max(0, len(frames) - 200)]
    if name == "thin":
        return frames[::3]
    raise ValueError(f"unknown variant {name!r}; one of {', '.join(VARIANTS)}")


def make(folder: Path, frames: int = 900, variants=VARIANTS) -> dict[str, Path]:
    """Each variant of the pedestrian video's first `frames` frames as `folder/<variant>.mp4`."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    got = C.video_frames(C.PED_VIDEO, list(range(frames)))
    source = [got[i] for i in sorted(got)]
    out = {}
    for name in variants:
        seq = _variant(name, source)
        dest = folder / f"{name}.mp4"
        writer = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (seq[0].shape[1], seq[0].shape[0]))
        for f in seq:
            writer.write(f)
        writer.release()
        out[name] = dest
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--frames", type=int, default=900)
    a = ap.parse_args()
    for name, path in make(a.folder, a.frames).items():
        print(name, path)
    sys.exit(0)
