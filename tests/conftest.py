"""Shared set-up: environment for every test, and fixtures. Asset paths live in testdata.py."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

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
