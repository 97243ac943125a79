"""A dense-scene video for the benches: about 33 people in view at once, walking at real walking speeds.

The assets hold no long crowd video (MOT17-mini keeps 4-7 frames a sequence), so one is composed from real
pixels: the people are the fully visible pedestrians of the MOT17-mini ground truth (about 60 real people,
cut from their frames), the background is the traffic video's empty road (the median of its frames). Each
person walks a straight line at 0.5-2 px a frame (a few stand), larger when lower in the picture, drawn
far-to-near so they hide each other as in a crowd; whoever leaves the picture comes back in at another edge
as someone else, so tracks keep starting and ending. It is synthetic: the detector sees cut-out people with
their own backgrounds. What it measures honestly is what a crowd costs (boxes, tracks, crops per track);
what it cannot show is the accuracy of tracking in a real crowd.

    python bench/crowd_video.py out.mp4 [--frames 300] [--people 33]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import _common as C

SIZE = (1280, 720)
FPS = 30.0


def sprites(min_h: int = 90, min_vis: float = 0.8) -> list[np.ndarray]:
    """The fully visible pedestrians of frame 1 of every MOT17-mini sequence, cut out."""
    from Algorithm.outer_api import read_image

    out = []
    for seq in sorted(p for p in C.MOT.iterdir() if (p / "gt" / "gt.txt").is_file()):
        img = read_image(seq / "img1" / "000001.jpg")
        H, W = img.shape[:2]
        for line in (seq / "gt" / "gt.txt").read_text().splitlines():
            f, _tid, x, y, w, h, flag, cls, vis = line.split(",")[:9]
            if int(f) != 1 or int(flag) != 1 or int(cls) != 1 or float(vis) < min_vis or float(h) < min_h:
                continue
            x1, y1 = max(0, int(float(x))), max(0, int(float(y)))
            x2, y2 = min(W, int(float(x) + float(w))), min(H, int(float(y) + float(h)))
            if x2 - x1 > 10 and y2 - y1 > 2 * (x2 - x1) * 0.8:
                out.append(img[y1:y2, x1:x2].copy())
    return out


def background() -> np.ndarray:
    """The traffic video's road without its cars: the median of frames spread over the video."""
    import cv2

    from Algorithm.outer_api import video_frames

    frames = [f for _, f in video_frames(C.TRAFFIC_VIDEO, step=25, stop=1500)]
    med = np.median(np.stack(frames), axis=0).astype(np.uint8)
    return cv2.resize(med, SIZE, interpolation=cv2.INTER_CUBIC)


class _Walker:
    def __init__(self, rng, n_sprites: int, first: bool):
        self.rng, self.n = rng, n_sprites
        self.spawn(first)

    def spawn(self, anywhere: bool) -> None:
        r, (W, H) = self.rng, SIZE
        self.sprite = int(r.integers(self.n))
        self.y = float(r.uniform(0.35, 1.0)) * H  # feet
        self.h = 110 + 170 * (self.y / H - 0.35) / 0.65  # 110 px far away, 280 px near
        standing = r.random() < 0.12
        self.vx = 0.0 if standing else float(r.choice([-1, 1]) * r.uniform(0.5, 2.0))
        self.vy = 0.0 if standing else float(r.uniform(-0.25, 0.25))
        if anywhere or standing:
            self.x = float(r.uniform(0.05, 0.95)) * W
        else:  # walk in from the edge they face away from
            self.x = -self.h * 0.25 if self.vx > 0 else W + self.h * 0.25

    def step(self) -> None:
        W, H = SIZE
        self.x += self.vx
        self.y = float(np.clip(self.y + self.vy, 0.35 * H, H))
        if self.x < -self.h or self.x > W + self.h:
            self.spawn(False)


def make(dest: Path, frames: int = 300, people: int = 33, seed: int = 0) -> Path:
    """Writes the crowd video to `dest` (MP4) unless it is there already; returns `dest`."""
    import cv2

    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    people_px, bg = sprites(), background()
    rng = np.random.default_rng(seed)
    walkers = [_Walker(rng, len(people_px), True) for _ in range(people)]
    tmp = dest.with_suffix(".part.mp4")
    w = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    W, H = SIZE
    for _ in range(frames):
        img = bg.copy()
        for p in sorted(walkers, key=lambda p: p.y):  # far first: the near ones hide them
            src = people_px[p.sprite]
            h = int(p.h)
            wd = max(8, int(src.shape[1] * h / src.shape[0]))
            spr = cv2.resize(src, (wd, h), interpolation=cv2.INTER_LINEAR)
            if p.vx < 0:
                spr = spr[:, ::-1]
            x1, y1 = int(p.x - wd / 2), int(p.y - h)
            a, b = max(0, x1), max(0, y1)
            c, d = min(W, x1 + wd), min(H, y1 + h)
            if c > a and d > b:
                img[b:d, a:c] = spr[b - y1 : d - y1, a - x1 : c - x1]
            p.step()
        w.write(img)
    w.release()
    tmp.replace(dest)
    return dest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--people", type=int, default=33)
    args = ap.parse_args(argv)
    make(args.out, args.frames, args.people)
    print(f"wrote {args.out}: {args.frames} frames, {SIZE[0]}x{SIZE[1]} at {FPS:g} fps, {args.people} people in view")
    return 0


if __name__ == "__main__":
    sys.exit(main())
