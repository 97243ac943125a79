"""Hardware video decoding (Settings.hw_decode): asked for where OpenCV offers it, software otherwise, and never a
lost video or different frames. This machine's OpenCV has no hardware decoder ("VA: NO"): the option falls back to
software here; a hardware capture is simulated around the real one to test what is kept and what is refused."""
from __future__ import annotations

import json
import re
import sys
from itertools import islice

import cv2
import numpy as np
import pytest

from Algorithm import media
from Algorithm.cli.main import build_parser, main
from Algorithm.outer_api import Engine, Settings, export_json, read_results_json

from testdata import PED_VIDEO, video_frame

N = 30
REAL_CAPTURE = cv2.VideoCapture
# OpenCV builds that may decode in hardware here (Windows wheels: D3D11; Linux only with VA-API)
HW_BUILD = sys.platform == "win32" or bool(re.search(r"VA:\s+YES", cv2.getBuildInformation()))


def first_frames(reader: media.VideoReader, n: int = N) -> list[tuple[int, np.ndarray]]:
    return list(islice(reader.frames(), n))


@pytest.fixture(scope="module")
def software_frames():
    with media.VideoReader(PED_VIDEO) as r:
        assert r.decoder == "software"
        return r.info, first_frames(r)


def assert_same_frames(got, want) -> None:
    assert [i for i, _ in got] == [i for i, _ in want] == list(range(N))
    for (i, a), (_, b) in zip(got, want):
        assert a.shape == b.shape and np.array_equal(a, b), f"frame {i} differs"


def test_asking_for_hardware_decoding_opens_the_video_with_the_same_frames(software_frames):
    info, want = software_frames
    with media.VideoReader(PED_VIDEO, hw_decode=True) as r:
        assert r.info == info
        got = first_frames(r)
        if not HW_BUILD:
            assert r.decoder == "software"
        if r.decoder == "software":
            assert_same_frames(got, want)
        else:  # a real hardware decoder: close to software's, as the reader checked on the first frame
            assert r.decoder.startswith("hardware (")
            assert all(cv2.PSNR(a, b) >= media._HW_MIN_PSNR for (_, a), (_, b) in zip(got, want))


def test_decoder_names():
    assert media.decoder_name(0.0) == media.decoder_name(-1.0) == media.decoder_name(float("nan")) == "software"
    assert media.decoder_name(float(cv2.VIDEO_ACCELERATION_D3D11)) == "hardware (d3d11)"
    assert media.decoder_name(float(cv2.VIDEO_ACCELERATION_VAAPI)) == "hardware (vaapi)"


class FakeCapture:
    """The real capture; opened with parameters (the hardware request) it behaves as `mode` says."""

    calls: list[bool] = []

    def __init__(self, src, api=None, params=None, mode="raise"):
        hw = params is not None
        FakeCapture.calls.append(hw)
        if hw and mode == "raise":
            raise cv2.error("simulated: hardware decoder failed")
        self.cap = REAL_CAPTURE(src)
        self.hw, self.mode = hw, mode

    def isOpened(self) -> bool:
        return self.cap.isOpened() and not (self.hw and self.mode == "closed")

    def read(self):
        ok, frame = self.cap.read()
        if self.hw and self.mode == "no frame":
            return False, None
        if self.hw and self.mode == "wrong colours":  # as a broken driver's output: red and blue swapped
            frame = frame[:, :, ::-1].copy()
        return ok, frame

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_HW_ACCELERATION:
            return float(cv2.VIDEO_ACCELERATION_D3D11) if self.hw else 0.0
        return self.cap.get(prop)

    def grab(self) -> bool:
        return self.cap.grab()

    def getBackendName(self) -> str:
        return self.cap.getBackendName()

    def release(self) -> None:
        self.cap.release()


def fake(monkeypatch, mode: str) -> None:
    FakeCapture.calls = []
    monkeypatch.setattr(media.cv2, "VideoCapture", lambda src, api=None, params=None: FakeCapture(src, api, params, mode))


@pytest.mark.parametrize("mode", ["raise", "closed", "no frame", "wrong colours"])
def test_a_failing_hardware_decoder_falls_back_to_software(monkeypatch, software_frames, mode):
    info, want = software_frames
    fake(monkeypatch, mode)
    with media.VideoReader(PED_VIDEO, hw_decode=True) as r:
        assert r.decoder == "software" and r.info == info
        assert_same_frames(first_frames(r), want)
    assert FakeCapture.calls[0] is True and FakeCapture.calls[-1] is False  # tried hardware, then opened plainly


def test_a_working_hardware_decoder_is_kept_and_named(monkeypatch, software_frames):
    info, want = software_frames
    fake(monkeypatch, "works")
    with media.VideoReader(PED_VIDEO, hw_decode=True) as r:
        assert r.decoder == "hardware (d3d11)" and r.info == info
        assert_same_frames(first_frames(r), want)
    with media.VideoReader(PED_VIDEO) as r:  # not asked: the plain open, as before
        assert r.decoder == "software"
    assert FakeCapture.calls[-1] is False


def test_a_search_with_hardware_decoding_finds_the_same_and_records_the_decoder(tmp_path, monkeypatch):
    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False, index_footage=False))
    try:
        eng.register(video_frame(PED_VIDEO, 300), "black-jacket")

        def search(hw: bool):
            return eng.search_all(PED_VIDEO, max_frames=160, start_frame=200,
                                  settings=eng.settings.with_(hw_decode=hw, sample_ft=2))

        runs = {hw: search(hw) for hw in (False, True)}
        fake(monkeypatch, "works")  # the setting reaches the reader: a (simulated) hardware decoder is used and named
        simulated = search(True)
    finally:
        eng.close()

    def matches(report):
        return [(f.frame_index, b.match.label, round(b.match.distance, 5)) for r in report.files for f in r.frames
                for b in f.matches]

    assert matches(runs[True]) and matches(runs[True]) == matches(runs[False]) == matches(simulated)
    assert runs[False].files[0].stats.decoder == "software"
    assert simulated.files[0].stats.decoder == "hardware (d3d11)"
    data = json.loads(export_json(runs[True], tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["settings"]["hw_decode"] is True
    assert data["files"][0]["stats"]["decoder"] == ("software" if not HW_BUILD else runs[True].files[0].stats.decoder)
    back = read_results_json(tmp_path / "r.json")
    assert back.settings.hw_decode is True and back.files[0].stats.decoder == data["files"][0]["stats"]["decoder"]

    # a results file written before the option: still read, with software decoding and no decoder named
    del data["settings"]["hw_decode"], data["files"][0]["stats"]["decoder"]
    (tmp_path / "old.json").write_text(json.dumps(data), encoding="utf-8")
    old = read_results_json(tmp_path / "old.json")
    assert old.settings.hw_decode is False and old.files[0].stats.decoder == ""


def test_the_cli_flag(tmp_path):
    out = tmp_path / "r.json"
    assert main(["search", str(PED_VIDEO), "--hw-decode", "--max-frames", "3", "--out", str(out), "--quiet",
                 "--gallery", str(tmp_path / "g.db")]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["settings"]["hw_decode"] is True and data["files"][0]["stats"]["decoder"]
    ap = build_parser()
    assert ap.parse_args(["search", "x.mp4", "--hw-decode"]).hw_decode is True
    assert ap.parse_args(["search", "x.mp4"]).hw_decode is False
    assert ap.parse_args(["index", "x.mp4", "--hw-decode"]).hw_decode is True
    assert ap.parse_args(["index", "x.mp4"]).hw_decode is False
    assert Settings().hw_decode is False
