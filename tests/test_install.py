"""The README's install command, run a second time, downloads and reinstalls nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testdata import ROOT

IN_PROJECT_VENV = Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()


@pytest.mark.skipif(sys.platform == "win32", reason="install.bat is the Windows twin")
@pytest.mark.skipif(not IN_PROJECT_VENV, reason="needs the project's own .venv, made by install.sh")
def test_second_install_changes_nothing():
    stamp = sorted((ROOT / ".venv").glob(".installed-*"))
    weights = sorted(p for ext in ("*.onnx", "*.xml", "*.bin") for p in (ROOT / "models").rglob(ext))
    assert stamp and weights
    before = {p: p.stat().st_mtime_ns for p in stamp + weights}
    env = {k: v for k, v in os.environ.items() if k != "REID_MODELS_DIR"}  # nothing to copy from: must not need it
    r = subprocess.run(["bash", str(ROOT / "install.sh"), "--dev"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Packages are up to date." in r.stdout
    manifest = json.loads((ROOT / "models" / "models.json").read_text(encoding="utf-8"))["models"]
    assert r.stdout.count(": present") == len(manifest)  # one line per model, its companion files included
    # an INT8 model quantised at install is an .xml and its .bin, like a model with one companion
    assert len(weights) == sum(1 + len(m.get("companions", [])) + bool(m.get("build", {}).get("quantize"))
                               for m in manifest.values())
    assert "Installing" not in r.stdout and "copied" not in r.stdout and "downloaded" not in r.stdout
    assert {p: p.stat().st_mtime_ns for p in before} == before
