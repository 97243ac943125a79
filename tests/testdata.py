"""Paths of the real test assets, importable from any test folder (conftest modules are not: two collide)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(os.environ.get("REID_TEST_ASSETS") or ROOT.parent / "shared" / "assets").resolve()
BUS = ASSETS / "images" / "ultralytics" / "bus.jpg"
ZIDANE = ASSETS / "images" / "ultralytics" / "zidane.jpg"
PED_VIDEO = ASSETS / "videos" / "pedestrians" / "one-by-one-person-detection.mp4"
TRAFFIC_VIDEO = ASSETS / "videos" / "traffic" / "bgslibrary_video03.avi"
MOT = ASSETS / "mot" / "MOT17-mini"
MARKET = ASSETS / "reid_samples" / "market1501_fastreid"


def video_frame(path: Path, index: int):
    """One decoded frame of a video (BGR)."""
    from Algorithm.media import read_video_frame

    return read_video_frame(path, index)


def write_vfr_video(dest: Path, start: int = 100, fast: int = 30, slow: int = 30) -> Path:
    """Frames start.. of the pedestrian video as an H.264 MP4 with a variable frame rate, as a recorder that slows
    down writes it: `fast` frames 0.1 s apart, then `slow` frames 0.5 s apart (frame 30 is at 3.0 s, where its
    average rate of 3.57 fps puts it at 8.4 s)."""
    from fractions import Fraction

    import av

    from Algorithm.media import VideoReader

    ms = Fraction(1, 1000)
    with VideoReader(PED_VIDEO) as v, av.open(str(dest), mode="w", format="mp4") as box:
        stream = box.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = v.info.width, v.info.height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = ms
        for i, (_, img) in enumerate(v.frames(start=start, stop=start + fast + slow)):
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts, frame.time_base = (i * 100 if i < fast else fast * 100 + (i - fast) * 500), ms
            box.mux(stream.encode(frame))
        box.mux(stream.encode(None))
    return dest


def mot_gt_boxes(seq: str, frame: int, min_height: int = 50, min_visibility: float = 0.0):
    """Ground-truth pedestrian boxes (id, x1, y1, x2, y2, visibility) of one MOT17-mini frame, clipped to it."""
    import numpy as np

    gt = np.loadtxt(MOT / seq / "gt" / "gt.txt", delimiter=",")
    gt = gt[(gt[:, 0] == frame) & (gt[:, 6] == 1) & (gt[:, 7] == 1) & (gt[:, 8] >= min_visibility)]
    img_w, img_h = (640, 480) if seq.startswith("MOT17-05") else (1920, 1080)
    out = []
    for r in gt:
        x, y, w, h = r[2:6]
        b = (int(max(0, x)), int(max(0, y)), int(min(img_w, x + w)), int(min(img_h, y + h)))
        if b[3] - b[1] >= min_height and b[2] - b[0] >= 10:
            out.append((int(r[1]), *b, float(r[8])))
    return out


def mot_gt_crop(seq: str, frame: int, pid: int):
    """The ground-truth box of pedestrian `pid` cut out of a MOT17-mini frame (BGR), as a user would save it."""
    from Algorithm.media import read_image

    (box,) = [b for b in mot_gt_boxes(seq, frame, min_height=0) if b[0] == pid]
    _, x1, y1, x2, y2, _ = box
    return read_image(MOT / seq / "img1" / f"{frame:06d}.jpg")[y1:y2, x1:x2].copy()


def van_photo():
    """A photo of a white van: cut from MOT17-10 frame 1 around the van the detector finds there (0.60) at the left
    edge, with a margin. No person in it; as a photo of its own the detector sees a vehicle filling it."""
    from Algorithm.media import read_image

    return read_image(MOT / "MOT17-10-FRCNN" / "img1" / "000001.jpg")[330:770, 0:380].copy()


def uniform_photo(w: int = 640, h: int = 480, grey: int = 128):
    import numpy as np

    return np.full((h, w, 3), grey, np.uint8)


def noise_photo(w: int = 128, h: int = 256, seed: int = 0):
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def kill_when_busy(argv: list[str], delay_s: float) -> int:
    """Starts a child script that prints "ready" once its store is open, lets it work `delay_s` seconds and
    SIGKILLs it (the kill tests of the gallery and the footage index); returns its exit code."""
    import subprocess
    import sys
    import time

    child = subprocess.Popen([sys.executable, *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(delay_s)
    finally:
        child.kill()
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    return child.returncode


def damage_sqlite_pages(path: Path, pages: list[int]) -> None:
    """A disk fault in the middle of an SQLite file (its -wal folded in first): SQLite still opens it."""
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    data = bytearray(path.read_bytes())
    for p in pages:
        data[p * size:p * size + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
