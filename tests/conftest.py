"""Shared fixtures: real assets from $REID_TEST_ASSETS (default ../shared/assets beside the checkout)."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ASSETS = Path(os.environ.get("REID_TEST_ASSETS") or ROOT.parent / "shared" / "assets").resolve()
os.environ.setdefault("REID_MODELS_DIR", str(ASSETS / "models"))
# Never touch the user's own gallery, settings or added models from a test run.
os.environ["REID_DATA_DIR"] = tempfile.mkdtemp(prefix="reid-test-data-")
os.environ["REID_LOCAL_CONFIG"] = str(Path(os.environ["REID_DATA_DIR"]) / "local_models.json")

if not (ASSETS / "MANIFEST.md").is_file():
    raise pytest.UsageError(f"Test assets not found at {ASSETS}; set REID_TEST_ASSETS")

BUS = ASSETS / "images" / "ultralytics" / "bus.jpg"
ZIDANE = ASSETS / "images" / "ultralytics" / "zidane.jpg"
PED_VIDEO = ASSETS / "videos" / "pedestrians" / "one-by-one-person-detection.mp4"
TRAFFIC_VIDEO = ASSETS / "videos" / "traffic" / "bgslibrary_video03.avi"
MOT = ASSETS / "mot" / "MOT17-mini"
MARKET = ASSETS / "reid_samples" / "market1501_fastreid"


@pytest.fixture(scope="session")
def assets() -> Path:
    return ASSETS


@pytest.fixture
def engine(tmp_path):
    from Algorithm.outer_api import Engine, Settings

    eng = Engine(tmp_path / "gallery.db", Settings(keep_frames=False))
    yield eng
    eng.close()


def video_frame(path: Path, index: int):
    """One decoded frame of a video (BGR)."""
    from Algorithm.media import VideoReader

    with VideoReader(path) as v:
        for i, frame in v.frames(start=index, stop=index + 1):
            return frame
    raise AssertionError(f"{path} has no frame {index}")
