"""A video with a variable frame rate (a recorder that slows down while nothing moves): its times, counted from
frame numbers at the average rate, are off by seconds. The results say so, in every place that shows times."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from Algorithm.outer_api import Engine, Settings, export_json, read_results_json, select_sightings

from testdata import PED_VIDEO, ROOT, video_frame, write_vfr_video


@pytest.fixture(scope="module")
def vfr(tmp_path_factory):
    d = tmp_path_factory.mktemp("vfr")
    video = write_vfr_video(d / "recorder ä.mp4")  # frames 100-159: grey-cardigan walks through
    eng = Engine(d / "g.db", Settings(keep_frames=False, index_footage=False, speed="exact"))
    eng.register(video_frame(PED_VIDEO, 120), "grey-cardigan")
    yield eng, video, eng.search_all(video)
    eng.close()


def test_a_variable_frame_rate_is_measured_and_said_in_the_results(vfr, tmp_path):
    _, _, report = vfr
    res = report.files[0]
    assert res.error is None and res.stats.frames_processed == 60
    assert [s.label for s in res.sightings] == ["grey-cardigan"]  # found as in any video
    # frame 30 is at 3.0 s by its own timestamp and at 30 / 3.57 = 8.4 s by the average rate
    assert res.fps == pytest.approx(60 / 16.8, rel=0.02)
    assert 5.0 < res.stats.time_drift_s < 5.8, res.stats.time_drift_s
    assert res.time_caution.startswith("times are approximate (off by up to 5.4 s)")
    assert res.warning is None  # searched to its end: not a video cut short
    data = json.loads(export_json(report, tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["files"][0]["time_caution"] == res.time_caution
    assert read_results_json(tmp_path / "r.json").files[0].time_caution == res.time_caution  # read back


def test_a_constant_frame_rate_gets_no_caution(vfr, tmp_path):
    eng, _, _ = vfr
    report = eng.search_all(PED_VIDEO, max_frames=40)
    res = report.files[0]
    assert res.stats.frames_processed == 40 and res.stats.time_drift_s < 0.01 and res.time_caution == ""
    assert "time_caution" not in json.loads(export_json(report, tmp_path / "r.json").read_text(encoding="utf-8"))["files"][0]


def test_the_cli_says_the_times_are_approximate(vfr, tmp_path):
    eng, video, _ = vfr
    out = subprocess.run([sys.executable, "-m", "Algorithm", "search", str(video), "--gallery", str(eng.gallery_path),
                          "--quiet", "--speed", "exact"], cwd=ROOT, capture_output=True, text=True, encoding="utf-8")
    assert out.returncode == 0, out.stderr
    assert "note: times are approximate (off by up to 5.4 s)" in out.stdout + out.stderr


def test_the_case_report_says_the_times_are_approximate(vfr, tmp_path):
    eng, _, report = vfr
    case = eng.export_evidence(report, select_sightings(report), tmp_path / "case")
    html = (case / "report.html").read_text(encoding="utf-8")
    assert "times are approximate (off by up to 5.4 s)" in html
    # the clip plays at the source's own pace: frames 0.1 s apart, then 0.5 s apart (not all 1 / 3.57 s)
    (clip,) = (case / "clips").glob("*.mp4")
    assert _frame_gaps(clip)[1] == {0.1, 0.5}


def test_the_footage_index_keeps_the_caution_for_find(vfr, tmp_path):
    _, video, _ = vfr
    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False, index_footage=True, speed="exact"))
    try:
        eng.register(video_frame(PED_VIDEO, 120), "grey-cardigan")
        assert eng.search_all(video).files[0].time_caution
        (found,) = eng.find().files  # no decoding: from the index
        assert [s.label for s in found.sightings] == ["grey-cardigan"]
        assert found.time_caution.startswith("times are approximate (off by up to 5.4 s)")
        listed = subprocess.run([sys.executable, "-m", "Algorithm", "library", "list", "--gallery", str(eng.gallery_path)],
                                cwd=ROOT, capture_output=True, text=True, encoding="utf-8")
        assert listed.returncode == 0, listed.stderr
        assert "note: times are approximate (off by up to 5.4 s)" in listed.stdout
        listed = subprocess.run([sys.executable, "-m", "Algorithm", "library", "list", "--json", "--gallery",
                                 str(eng.gallery_path)], cwd=ROOT, capture_output=True, text=True, encoding="utf-8")
        assert json.loads(listed.stdout)[0]["time_caution"] == found.time_caution
    finally:
        eng.close()


def test_a_stopped_and_resumed_run_keeps_the_caution(vfr):
    from Algorithm.outer_api import Finished, FrameDone

    eng, video, _ = vfr
    done: list[int] = []
    for ev in eng.search(video, cancel=lambda: len(done) >= 40):  # stopped in the slow part (frames 30-59)
        if isinstance(ev, FrameDone):
            done.append(ev.result.frame_index)
        report = getattr(ev, "report", None)
    assert report.files[0].stopped and report.files[0].time_caution
    final = None
    for ev in eng.resume(report):
        if isinstance(ev, Finished):
            final = ev.report
    (res,) = final.files
    assert not res.stopped and res.stats.frames_processed == 60
    assert res.time_caution.startswith("times are approximate (off by up to 5.4 s)")


def _frame_gaps(path) -> tuple[int, set[float]]:
    import av

    with av.open(str(path)) as box:
        times = sorted(float(f.pts * f.time_base) for f in box.decode(video=0))
    return len(times), {round(b - a, 2) for a, b in zip(times, times[1:])}


def test_an_annotated_mp4_keeps_the_sources_timing(vfr, tmp_path):
    from Algorithm.outer_api import export_annotated_video

    _, _, report = vfr
    res = report.files[0]
    assert _frame_gaps(export_annotated_video(res, tmp_path / "annotated.mp4")) == (60, {0.1, 0.5})
    avi = export_annotated_video(res, tmp_path / "annotated.avi")  # AVI has one rate: the average, as before
    assert _frame_gaps(avi)[0] == 60
