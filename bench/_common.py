"""Shared by the bench scripts: paths to the real assets, machine description, the 10-identity gallery."""
from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ASSETS = Path(os.environ.get("REID_TEST_ASSETS") or ROOT.parent / "shared" / "assets").resolve()
os.environ.setdefault("REID_MODELS_DIR", str(ASSETS / "models"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch the user's own gallery, settings or model choices (a bench that switches models writes them).
os.environ.setdefault("REID_DATA_DIR", tempfile.mkdtemp(prefix="reid-bench-data-"))
os.environ.setdefault("REID_LOCAL_CONFIG", str(Path(os.environ["REID_DATA_DIR"]) / "local_models.json"))

PED_VIDEO = ASSETS / "videos" / "pedestrians" / "one-by-one-person-detection.mp4"
BUS = ASSETS / "images" / "ultralytics" / "bus.jpg"
ZIDANE = ASSETS / "images" / "ultralytics" / "zidane.jpg"
TRAFFIC_VIDEO = ASSETS / "videos" / "traffic" / "bgslibrary_video03.avi"
MOT = ASSETS / "mot" / "MOT17-mini"
MARKET = ASSETS / "reid_samples" / "market1501_fastreid"

# The pedestrian video shows six people, one after the other (found by running the detector over it):
# (label, frame used to register them, frames where they are in view).
VIDEO_PEOPLE = [
    ("grey-cardigan", 120, (60, 205)),
    ("black-jacket", 300, (225, 450)),
    ("long-hair-black", 600, (505, 700)),
    ("black-tshirt", 800, (745, 870)),
    ("grey-sweater", 1050, (925, 1200)),
    ("grey-shirt", 1300, (1235, 1365)),
]
# Four more identities that never appear in the video (distractors): two Market-1501 crops, two MOT17 people.
MARKET_PEOPLE = [("market-0022", "0022_c6s1_002976_01.jpg"), ("market-0048", "0048_c1s1_005351_01.jpg")]
MOT_PEOPLE = [("mot17-02-largest", "MOT17-02-FRCNN"), ("mot17-09-largest", "MOT17-09-FRCNN")]


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        phys, logical = psutil.cpu_count(logical=False), psutil.cpu_count()
    except Exception:
        phys, logical = None, os.cpu_count()
    try:
        load = " load avg %.1f %.1f %.1f" % os.getloadavg()
    except OSError:
        load = ""
    import onnxruntime as ort

    from Algorithm.models.runtime import device_options

    cuda = next(o for o in device_options() if o.name == "cuda")
    gpu = "CUDA GPU available" if cuda.available else f"no GPU: {cuda.reason}"
    return (
        f"{cpu}, {phys} physical / {logical} logical cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, onnxruntime {ort.__version__} ({gpu}).{load}"
    )


def header(title: str, argv: list[str] | None = None) -> None:
    print(f"== {title}")
    print(f"   command: python {' '.join(argv if argv is not None else sys.argv)}")
    print(f"   machine: {machine()}")
    print(f"   date:    {time.strftime('%Y-%m-%d %H:%M:%S')}")


def video_frames(path: Path, indices: list[int]):
    from Algorithm.media import VideoReader

    want, out = set(indices), {}
    with VideoReader(path) as v:
        for i, f in v.frames(stop=max(indices) + 1):
            if i in want:
                out[i] = f
    return out


def largest_gt_box(seq: str):
    """(first frame image, box x1,y1,x2,y2) of the largest fully visible pedestrian in frame 1 of a MOT17 sequence."""
    from Algorithm.media import read_image

    d = MOT / seq
    best = None
    for line in (d / "gt" / "gt.txt").read_text().splitlines():
        f, _tid, x, y, w, h, flag, cls, vis = line.split(",")[:9]
        if int(f) != 1 or int(flag) != 1 or int(cls) != 1 or float(vis) < 0.9:
            continue
        if best is None or float(w) * float(h) > best[2] * best[3]:
            best = (float(x), float(y), float(w), float(h))
    img = read_image(d / "img1" / "000001.jpg")
    x, y, w, h = best
    H, W = img.shape[:2]
    return img, (max(0.0, x), max(0.0, y), min(W, x + w), min(H, y + h))


def register_gallery(engine) -> dict[str, int]:
    """Registers the 10 identities; returns label -> identity id."""
    ids = {}
    frames = video_frames(PED_VIDEO, [f for _, f, _ in VIDEO_PEOPLE])
    for label, f, _ in VIDEO_PEOPLE:
        ids[label] = engine.register(frames[f], label).identity_id
    for label, name in MARKET_PEOPLE:
        ids[label] = engine.register(MARKET / name, label, whole=True).identity_id
    for label, seq in MOT_PEOPLE:
        img, box = largest_gt_box(seq)
        ids[label] = engine.register(img, label, box=box).identity_id
    return ids


def truth_label(frame_idx: int) -> str | None:
    """Who is in view in this frame of the pedestrian video (None: nobody)."""
    for label, _, (a, b) in VIDEO_PEOPLE:
        if a <= frame_idx < b:
            return label
    return None


class BusyLoad:
    """N background processes spinning on the CPU: a reproducible "busy machine" (a browser, a second app,
    the video decoder of another program) for measuring how a setting behaves when the cores are shared.
    Only the processes started here are stopped, by their own handles."""

    def __init__(self, n: int):
        self.n, self.procs = n, []

    def __enter__(self):
        import subprocess

        code = "import time\nwhile True:\n    sum(i * i for i in range(10000))\n"
        self.procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(self.n)]
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except Exception:
                p.kill()
        self.procs = []


# -- synthetic ReID features shaped like the real ones (bench_search.py, bench_index.py) ---------------------------
SYN_DIM = 512
SYN_PER_ID = 5  # vectors per identity
SYN_LOOKS = 1000  # shared "clothing" directions: people of the same look are near each other


def unit(x):
    """Rows scaled to length 1, in place."""
    import numpy as np

    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def synthetic_features(n: int, seed: int = 0, chunk: int = 100_000):
    """n vectors: identity centre = look + own part; entry = shared + centre + noise (then normalised).
    Same person ~0.91 cosine, different people ~0.45 on average and ~0.73 for the nearest other person
    at 100k: like the OSNet features of the assets (0.92 / 0.44, MANIFEST.md).
    Returns (vectors, identity of each, the model to draw queries from)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shared = unit(rng.standard_normal((1, SYN_DIM), dtype=np.float32))
    looks = unit(rng.standard_normal((SYN_LOOKS, SYN_DIM), dtype=np.float32))
    n_ids = (n + SYN_PER_ID - 1) // SYN_PER_ID
    centres = np.empty((n_ids, SYN_DIM), np.float32)
    for a in range(0, n_ids, chunk):
        b = min(n_ids, a + chunk)
        pick = rng.integers(0, SYN_LOOKS, b - a)  # drawn before the own part: the order the figures were made with
        centres[a:b] = unit(looks[pick] + unit(rng.standard_normal((b - a, SYN_DIM), dtype=np.float32)))
    labels = np.repeat(np.arange(n_ids), SYN_PER_ID)[:n]
    out = np.empty((n, SYN_DIM), np.float32)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        noise = unit(rng.standard_normal((b - a, SYN_DIM), dtype=np.float32))
        out[a:b] = unit(shared + centres[labels[a:b]] + 0.45 * noise)
    return out, labels, (shared, centres)


def synthetic_queries(model, n_gallery: int, nq: int, seed: int = 1):
    """nq new views of identities of a synthetic gallery of n_gallery vectors; returns (queries, identities)."""
    import numpy as np

    shared, centres = model
    rng = np.random.default_rng(seed)
    who = rng.integers(0, (n_gallery + SYN_PER_ID - 1) // SYN_PER_ID, nq)
    noise = unit(rng.standard_normal((nq, SYN_DIM), dtype=np.float32))
    return unit(shared + centres[who] + 0.45 * noise), who
