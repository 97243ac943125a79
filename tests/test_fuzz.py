"""Issue #6, fuzzing: mutated real images and videos (bit flips, truncations, header swaps, wrong
extensions...) through the loaders. The only failure allowed is InputError; a crash inside a decoder
would take the whole window down, so the cases run in a child process that names the one it died on.

A bounded run here (a few seconds); `python tools/fuzz_loaders.py --images 20000 --videos 1500` for more.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from testdata import ASSETS, ROOT


def test_fuzzed_images_and_videos_only_ever_raise_input_error():
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "fuzz_loaders.py"), "--images", "300", "--videos", "40", "--seed", "20240601",
         "--verbose"],
        capture_output=True, text=True, errors="replace", timeout=180, env={**os.environ, "REID_TEST_ASSETS": str(ASSETS)},
    )
    last_case = [line for line in r.stderr.splitlines() if line.startswith(("image #", "video #"))][-1:]
    assert r.returncode in (0, 1), f"the loader process died (signal {-r.returncode}) on: {last_case}"
    report = json.loads(r.stdout.strip().splitlines()[-1])
    failures = report["images"]["failures"] + report["videos"]["failures"]
    assert failures == [], "\n".join(f"{f['case']}: {f['error']}" for f in failures)
    assert report["images"]["cases"] == 300 and report["videos"]["cases"] == 40
    # the mutations must exercise both paths: some files still decode, others are refused
    for kind in ("images", "videos"):
        outcomes = report[kind]["outcomes"]
        assert outcomes.get("InputError", 0) > 0 and outcomes.get("ok", 0) + outcomes.get("ok-empty", 0) > 0, outcomes
