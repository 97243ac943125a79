"""Shared set-up: environment for every test, and fixtures. Asset paths live in testdata.py."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
for p in (TESTS, TESTS.parent):  # testdata.py for tests in sub-folders; the project for Algorithm/ and GUI/
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from testdata import ASSETS  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("REID_MODELS_DIR", str(ASSETS / "models"))
# Never touch the user's own gallery, settings or added models from a test run.
os.environ["REID_DATA_DIR"] = tempfile.mkdtemp(prefix="reid-test-data-")
os.environ["REID_LOCAL_CONFIG"] = str(Path(os.environ["REID_DATA_DIR"]) / "local_models.json")

if not (ASSETS / "MANIFEST.md").is_file():
    raise pytest.UsageError(f"Test assets not found at {ASSETS}; set REID_TEST_ASSETS")


@pytest.fixture(scope="session")
def assets() -> Path:
    return ASSETS


@pytest.fixture
def engine(tmp_path):
    from Algorithm.outer_api import Engine, Settings

    eng = Engine(tmp_path / "gallery.db", Settings(keep_frames=False))
    yield eng
    eng.close()


def _memoise_detections() -> None:
    """The suite searches the same frames many times (each speed mode, index then find, ...): a detector's boxes
    for a frame it has seen are replayed instead of computed again. Keyed by the model and the frame's bytes, so
    the boxes are those the detector gives; every frame is still detected once. REID_TEST_DETECT_ALWAYS=1 turns
    this off."""
    import hashlib

    from Algorithm.pipeline import detect

    memo: dict[tuple, tuple] = {}
    init = detect.Detector.__init__

    def patched_init(self, spec, path, device="cpu"):
        init(self, spec, path, device)
        predict, model = self._impl.predict, (repr(spec), str(path), device)

        def replay(img, classes, conf):
            a = np.ascontiguousarray(img)
            key = (model, a.shape, a.dtype.str, hashlib.blake2b(a.data, digest_size=16).digest(), tuple(classes), conf)
            if key not in memo:
                memo[key] = tuple(np.array(v, copy=True) for v in predict(img, classes, conf))
            return tuple(v.copy() for v in memo[key])

        self._impl.predict = replay

    detect.Detector.__init__ = patched_init


if os.environ.get("REID_TEST_DETECT_ALWAYS") != "1":
    _memoise_detections()
