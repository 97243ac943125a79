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
    from Algorithm.media import VideoReader

    with VideoReader(path) as v:
        for _, frame in v.frames(start=index, stop=index + 1):
            return frame
    raise AssertionError(f"{path} has no frame {index}")
