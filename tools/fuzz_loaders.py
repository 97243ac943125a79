"""Fuzz the image and video loaders with mutated real files: the only failure allowed is InputError.

    python tools/fuzz_loaders.py --images 2000 --videos 200 --seed 7
    python tools/fuzz_loaders.py --images 200 --videos 20 --keep /tmp/fuzz-cases   # keep the failing files

Seeds are the real assets (photos, MOT frames, Market-1501 crops, both videos) plus re-encodings of them
(PNG 8/16-bit, gray, alpha, BMP, TIFF, WebP; short MJPG/MP4V clips and cut-off copies of the videos).
Mutations: bit flips, byte runs overwritten, truncation, another format's header pasted on, bytes inserted
or deleted, a chunk duplicated, a huge size written into the PNG/JPEG header, and a wrong file extension.

Each case is announced on stderr before it runs, so a hard crash (a signal inside a decoder) names it.
The last stdout line is a JSON summary; the exit status is 1 when any case raised anything but InputError
or returned a malformed frame.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import sys
import tempfile
import time
import traceback
from pathlib import Path

import cv2
import numpy as np

from Algorithm.outer_api import InputError, read_image, rules, video_frames, video_info

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(os.environ.get("REID_TEST_ASSETS") or ROOT.parent / "shared" / "assets")
MAX_VIDEO_FRAMES = 40  # frames decoded per mutated video

HEADERS = {
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x02\x00\x00\x00",
    "bmp": b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00",
    "tiff": b"II*\x00\x08\x00\x00\x00",
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "avi": b"RIFF\x00\x00\x10\x00AVI LIST\x00\x01\x00\x00hdrlavih",
    "mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
    "mkv": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01",
    "gif": b"GIF89a\x10\x00\x10\x00",
}


# -- seeds -------------------------------------------------------------------------------------------
def image_seeds(work: Path) -> list[Path]:
    photos = [ASSETS / "images" / "ultralytics" / n for n in ("bus.jpg", "zidane.jpg")]
    photos += sorted((ASSETS / "reid_samples" / "market1501_fastreid").glob("*.jpg"))[:3]
    photos += sorted((ASSETS / "mot" / "MOT17-mini").glob("*/img1/000001.jpg"))[:1]
    seeds = [p for p in photos if p.is_file()]
    bus = cv2.imread(str(photos[0]))
    small = cv2.resize(bus, (270, 360), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    variants = {
        "png8.png": small,
        "png16.png": small.astype(np.uint16) * 257,
        "gray16.png": gray.astype(np.uint16) * 257,
        "gray.png": gray,
        "alpha.png": cv2.cvtColor(small, cv2.COLOR_BGR2BGRA),
        "gray.jpg": gray,
        "plain.bmp": small,
        "plain.tiff": small,
        "float.tiff": small.astype(np.float32) / 255.0,
        "plain.webp": small,
        "tiny.png": small[:3, :3],
    }
    for name, img in variants.items():
        ok, buf = cv2.imencode(Path(name).suffix, img)
        if ok:
            p = work / "seed_images" / name
            p.parent.mkdir(parents=True, exist_ok=True)
            buf.tofile(str(p))
            seeds.append(p)
    return seeds


def video_seeds(work: Path) -> list[Path]:
    out = work / "seed_videos"
    out.mkdir(parents=True, exist_ok=True)
    real = [ASSETS / "videos" / "traffic" / "bgslibrary_video02.avi",
            ASSETS / "videos" / "pedestrians" / "one-by-one-person-detection.mp4"]
    real = [p for p in real if p.is_file()]
    seeds = []
    for src in real:  # the head of each real file: its real container and codec, cut short to decode fast
        data = src.read_bytes()
        p = out / ("head_" + src.name)
        p.write_bytes(data[: min(len(data), 400_000)])
        seeds.append(p)
    if real:  # short clean clips in other containers/codecs, re-encoded from real frames
        frames = []
        for _, f in video_frames(real[0], stop=24):
            frames.append(f)
        for name, fourcc in (("clip_mjpg.avi", "MJPG"), ("clip_mp4v.mp4", "mp4v"), ("clip_mp4v.mkv", "mp4v")):
            p = out / name
            w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*fourcc), 25.0, (frames[0].shape[1], frames[0].shape[0]))
            if w.isOpened():
                for f in frames:
                    w.write(f)
            w.release()
            if p.is_file() and p.stat().st_size > 0:
                seeds.append(p)
    return seeds


# -- mutations ---------------------------------------------------------------------------------------
def _bitflips(d: bytearray, rng: random.Random) -> str:
    n = rng.choice((1, 2, 8, 32, 256))
    for _ in range(n):
        i = rng.randrange(len(d))
        d[i] ^= 1 << rng.randrange(8)
    return f"bitflip x{n}"


def _head_bitflips(d: bytearray, rng: random.Random) -> str:  # where the parsers look first
    n = rng.choice((1, 4, 16))
    for _ in range(n):
        i = rng.randrange(min(len(d), 2048))
        d[i] ^= 1 << rng.randrange(8)
    return f"head bitflip x{n}"


def _overwrite(d: bytearray, rng: random.Random) -> str:
    i = rng.randrange(len(d))
    n = rng.choice((1, 4, 64, 4096))
    fill = rng.choice((b"\x00", b"\xff", None))
    chunk = bytes(rng.getrandbits(8) for _ in range(n)) if fill is None else fill * n
    d[i : i + n] = chunk[: max(0, min(n, len(d) - i))]
    return f"overwrite {n}@{i}"


def _truncate(d: bytearray, rng: random.Random) -> str:
    cut = rng.choice((rng.randrange(1, 64), rng.randrange(1, max(2, len(d)))))
    del d[cut:]
    return f"truncate at {cut}"


def _header_swap(d: bytearray, rng: random.Random) -> str:
    name, head = rng.choice(sorted(HEADERS.items()))
    d[: len(head)] = head
    return f"header of {name}"


def _insert(d: bytearray, rng: random.Random) -> str:
    i = rng.randrange(len(d))
    n = rng.choice((1, 16, 1000))
    d[i:i] = bytes(rng.getrandbits(8) for _ in range(n))
    return f"insert {n}@{i}"


def _delete(d: bytearray, rng: random.Random) -> str:
    i = rng.randrange(len(d))
    n = rng.choice((1, 16, 1000))
    del d[i : i + n]
    return f"delete {n}@{i}"


def _duplicate(d: bytearray, rng: random.Random) -> str:
    i = rng.randrange(len(d))
    n = rng.randrange(1, min(len(d) - i, 20000) + 1)
    d[i:i] = d[i : i + n]
    return f"duplicate {n}@{i}"


def _huge_dims(d: bytearray, rng: random.Random) -> str:
    w, h = rng.choice(((65535, 65535), (60000, 3), (1, 65000), (40000, 40000), (0, 0)))
    if d.startswith(b"\x89PNG") and len(d) > 24:
        d[16:24] = struct.pack(">II", w, h)
        return f"png dims {w}x{h}"
    i = 2
    while i + 9 < len(d) and d[i] == 0xFF:  # JPEG: find the frame header
        m = d[i + 1]
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):
            d[i + 5 : i + 9] = struct.pack(">HH", min(h, 65535), min(w, 65535))
            return f"jpeg dims {w}x{h}"
        if m == 0xDA:
            break
        i += 2 + ((d[i + 2] << 8) | d[i + 3])
    return _bitflips(d, rng)


IMAGE_MUTATIONS = [_bitflips, _head_bitflips, _overwrite, _truncate, _header_swap, _insert, _delete, _duplicate, _huge_dims]
VIDEO_MUTATIONS = [_bitflips, _head_bitflips, _overwrite, _truncate, _header_swap, _insert, _delete, _duplicate]


def mutate(data: bytes, rng: random.Random, mutations) -> tuple[bytes, str]:
    d = bytearray(data)
    steps = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if len(d) < 2:  # cut to (almost) nothing already
            break
        steps.append(rng.choice(mutations)(d, rng))
    return bytes(d), "; ".join(steps)


# -- running -----------------------------------------------------------------------------------------
def check_image(path: Path) -> str:
    img = read_image(path)
    if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.size):
        raise AssertionError(f"read_image returned a malformed array {getattr(img, 'shape', None)} {getattr(img, 'dtype', None)}")
    return "ok"


def check_video(path: Path) -> str:
    info = video_info(path)
    if not (info.fps > 0 and info.frame_count >= 0 and info.width > 0 and info.height > 0):
        raise AssertionError(f"bad VideoInfo {info}")
    n = 0
    for _, f in video_frames(path, stop=MAX_VIDEO_FRAMES):
        if not (f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3):
            raise AssertionError(f"malformed frame {f.shape} {f.dtype}")
        n += 1
    return "ok" if n else "ok-empty"


def run(kind: str, seeds: list[Path], n: int, rng: random.Random, work: Path, keep: Path | None, verbose: bool) -> dict:
    check = check_image if kind == "image" else check_video
    mutations = IMAGE_MUTATIONS if kind == "image" else VIDEO_MUTATIONS
    exts = sorted(rules.IMAGE_EXTS if kind == "image" else rules.VIDEO_EXTS)
    outcomes: dict[str, int] = {}
    failures = []
    blobs = {s: s.read_bytes() for s in seeds}
    for i in range(n):
        seed = seeds[i % len(seeds)]
        data, how = mutate(blobs[seed], rng, mutations)
        ext = seed.suffix.lower() if rng.random() < 0.8 else rng.choice(exts)  # sometimes mislabelled
        path = work / "cases" / f"{kind}_{i:05d}{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        label = f"{kind} #{i} from {seed.name}: {how} (as {ext})"
        if verbose:
            print(label, file=sys.stderr, flush=True)
        try:
            outcome = check(path)
        except InputError:
            outcome = "InputError"
        except BaseException as e:  # noqa: BLE001 - anything else is a finding
            outcome = "FAILED"
            failures.append({"case": label, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=4)})
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, keep / path.name)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        path.unlink()
    return {"cases": n, "outcomes": outcomes, "failures": failures}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--videos", type=int, default=200)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--keep", type=Path, help="copy failing cases here")
    ap.add_argument("--verbose", action="store_true", help="name every case on stderr before running it")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    try:  # OpenCV's own warnings about each damaged file would drown the report
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:
        pass
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reid-fuzz-") as tmp:
        work = Path(tmp)
        report = {"seed": args.seed}
        if args.images:
            report["images"] = run("image", image_seeds(work), args.images, rng, work, args.keep, args.verbose)
        if args.videos:
            report["videos"] = run("video", video_seeds(work), args.videos, rng, work, args.keep, args.verbose)
    report["seconds"] = round(time.perf_counter() - t0, 2)
    failures = [f for k in ("images", "videos") for f in report.get(k, {}).get("failures", [])]
    for f in failures:
        print(f"FAILED {f['case']}: {f['error']}\n{f['trace']}", file=sys.stderr)
    print(json.dumps(report))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
