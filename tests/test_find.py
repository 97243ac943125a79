"""Process once, search forever: footage indexed with an empty gallery, people registered afterwards, and `find`
answering from the index as a full search of the same files does (real models, real footage)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from Algorithm.outer_api import Engine, FileResult, InputError, ModelError, Settings

from testdata import MOT, PED_VIDEO, mot_gt_crop, video_frame

PED_FRAMES = 460  # both pedestrians (frames 60-205 and 225-450) at sampleFt 3: 154 processed frames


def matched(files: list[FileResult]) -> set[tuple[str, int, str]]:
    return {(short(r.path), f.frame_index, b.match.label) for r in files for f in r.frames for b in f.matches}


def short(path: str) -> str:
    """The file's name with its sequence folder (MOT17-mini frames share names across sequences)."""
    parts = path.replace(os.sep, "/").split("/")
    return "/".join(parts[-3:]) if parts[-2] == "img1" else parts[-1]


def side_by_side(find_files, search_files) -> str:
    """Per file and identity: the frames find and search gave, printed when they differ."""
    a, b = matched(find_files), matched(search_files)
    lines = []
    for key in sorted({(f, lab) for f, _, lab in a | b}):
        fa = sorted(i for f, i, lab in a if (f, lab) == key)
        fb = sorted(i for f, i, lab in b if (f, lab) == key)
        lines.append(f"{key[0]:34} {key[1]:14} find {len(fa):4} search {len(fb):4} "
                     f"find only {sorted(set(fa) - set(fb))[:8]} search only {sorted(set(fb) - set(fa))[:8]}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """The pedestrian video (first 460 frames) and the MOT17-mini frames, indexed with an empty gallery."""
    d = tmp_path_factory.mktemp("find")
    eng = Engine(d / "gallery.db", Settings(keep_frames=False, sample_ft=3))
    assert eng.identities() == []
    ped = eng.index_all(PED_VIDEO, max_frames=PED_FRAMES)
    mot = eng.index_all(MOT)
    assert ped.indexed == [str(PED_VIDEO)] and ped.failed == [] and ped.tracks >= 2
    assert len(mot.indexed) == 26 and mot.failed == [] and mot.tracks > 150
    eng.register(video_frame(PED_VIDEO, 300), "black-jacket")
    eng.register(video_frame(PED_VIDEO, 120), "grey-cardigan")
    eng.register(mot_gt_crop("MOT17-09-FRCNN", 1, 1), "mot09-p1")
    eng.register(mot_gt_crop("MOT17-02-FRCNN", 1, 2), "mot02-p2")
    yield eng
    eng.close()


def test_find_gives_what_a_full_search_gives(indexed):
    eng = indexed
    s = eng.settings.with_(index_footage=False)
    searched = eng.search_all(PED_VIDEO, settings=s, max_frames=PED_FRAMES).files + eng.search_all(MOT, settings=s).files
    found = eng.find().files
    print("\n" + side_by_side(found, searched))
    a, b = matched(found), matched(searched)
    assert len(b) >= 100, "the full search should find the registered people"
    assert len(a & b) >= 0.98 * len(b), side_by_side(found, searched)
    assert {lab for _, _, lab in a} <= {lab for _, _, lab in b}, "find gave an identity the full search does not"
    assert len(a - b) <= 0.02 * len(b), side_by_side(found, searched)
    ped = {r.path: r for r in found}[str(PED_VIDEO)]
    assert [s.label for s in ped.sightings] == ["grey-cardigan", "black-jacket"]
    for sg in ped.sightings:
        (seg,) = sg.segments
        span = (60, 205) if sg.label == "grey-cardigan" else (225, 450)
        assert span[0] <= seg.start_frame and seg.end_frame <= span[1], (sg.label, seg)


def test_find_one_label_a_time_window_and_a_source(indexed):
    eng = indexed
    only = eng.find(["black-jacket"]).files
    assert {lab for _, _, lab in matched(only)} == {"black-jacket"}
    everyone = {k for k in matched(eng.find().files) if k[2] == "black-jacket"}
    assert matched(only) == everyone  # the others still compete for each box: the same frames as in a full find
    assert matched(eng.find(["BLACK-JACKET"]).files) == matched(only)  # labels are one regardless of case
    window = eng.find(["black-jacket"], after=30.0, before=35.0, sources=[PED_VIDEO]).files
    assert [r.path for r in window] == [str(PED_VIDEO)]
    frames = [f for _, f, _ in matched(window)]
    assert frames and all(300 <= f <= 350 for f in frames), frames
    with pytest.raises(InputError, match="time window is empty"):  # not an empty answer that reads as "not there"
        eng.find(["black-jacket"], after=35.0, before=30.0)
    with pytest.raises(InputError, match="Nothing indexed in"):
        eng.find(["black-jacket"], sources=[PED_VIDEO.parent / "no-such-camera"])
    assert eng.find(["black-jacket"], sources=[MOT]).files and not matched(eng.find(["black-jacket"], sources=[MOT]).files)


def test_find_by_photo_and_find_similar(indexed, tmp_path):
    from Algorithm.outer_api import write_image

    eng = indexed
    photo = tmp_path / "query.jpg"
    write_image(photo, video_frame(PED_VIDEO, 300))
    got = matched(eng.find([photo]).files)
    assert got and {lab for _, _, lab in got} == {"query.jpg"}
    assert any(name == PED_VIDEO.name for name, _, _ in got)
    assert all(225 <= f <= 450 for name, f, _ in got if name == PED_VIDEO.name), sorted(got)
    # find similar from the track that holds black-jacket: the nearest tracks are her other stretches, not strangers
    rep = eng.find(["black-jacket"], sources=[PED_VIDEO]).files[0]
    tid = rep.frames[len(rep.frames) // 2].matches[0].track_id
    near = eng.find_similar(track_id=tid, top=5)
    assert near and all(n.track.id != tid for n in near)
    assert near == sorted(near, key=lambda n: n.distance)
    # from a box clicked on a frame: her own track comes first
    frame = video_frame(PED_VIDEO, 300)
    box = next(b.box for f in rep.frames if f.frame_index == 300 for b in f.matches)
    clicked = eng.find_similar(image=frame, box=box, top=3)
    assert clicked[0].track.id == tid and clicked[0].distance < 0.1


def test_journey_lists_each_identity_across_sources(indexed):
    eng = indexed
    journeys = {j.label: j for j in eng.journeys()}
    assert {"black-jacket", "grey-cardigan"} <= set(journeys)
    bj = journeys["black-jacket"]
    assert bj.cameras == ["pedestrians"] and all(s.thumbnail for s in bj.stops)
    assert [s.start_time for s in bj.stops] == sorted(s.start_time for s in bj.stops)


def test_recording_times_are_read_from_file_names_recorders_write():
    from datetime import datetime

    from Algorithm.footage.clock import recording_start, stamp_in_name

    at = datetime(2026, 12, 1, 14, 30, 5).timestamp()
    for name in ("cam1_20261201_143005.mp4", "2026-12-01 14.30.05.mp4", "CH01_20261201143005.mp4",
                 "video-2026-12-01T14-30-05.mkv", "/x/20250101_000000/cam1_20261201-143005.avi"):
        assert stamp_in_name(name) == at, name
    for name in ("clip.mp4", "20261399_999999.mp4", "x123202612011430051.mp4", "one-by-one-person-detection.mp4"):
        assert stamp_in_name(name) is None, name  # no date, not a date, or inside a longer number
    assert recording_start("clip.mp4", 1_000_000_000_000_000_000, 60.0).at == 1e9 - 60  # written to its end
    assert recording_start("cam_20261201_143005.mp4", 0, 60.0).source == "file name"


def test_a_journey_follows_the_recording_times_in_the_names_not_the_copy_times(tmp_path):
    import cv2

    cap = cv2.VideoCapture(str(PED_VIDEO))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 290)
    frames = [cap.read()[1] for _ in range(20)]
    clips = {"hall": "hall_20261201_140000.mp4", "door": "door_20261201_130000.mp4"}  # the door saw her first
    for i, (cam, name) in enumerate(clips.items()):
        (tmp_path / cam).mkdir()
        out = cv2.VideoWriter(str(tmp_path / cam / name), cv2.VideoWriter_fourcc(*"mp4v"), 25, (1280, 720))
        for f in frames:
            out.write(cv2.resize(f, (1280, 720)))
        out.release()
        os.utime(tmp_path / cam / name, (1e9 + i, 1e9 + i))  # copied hall first: the file times say the opposite
    eng = Engine(tmp_path / "gallery.db", Settings(keep_frames=False, sample_ft=5))
    eng.index_all([tmp_path / "hall", tmp_path / "door"])
    eng.register(video_frame(PED_VIDEO, 300), "walker")
    (j,) = eng.journeys(["walker"])
    assert [s.camera for s in j.stops] == ["door", "hall"] and {s.clock_from for s in j.stops} == {"file name"}
    assert j.stops[1].clock - j.stops[0].clock == pytest.approx(3600, abs=2)
    eng.close()


def test_library_states_changed_missing_and_failed_files(tmp_path):
    folder = tmp_path / "cam α"
    folder.mkdir()
    clip = folder / "clip.mp4"
    shutil.copyfile(PED_VIDEO, clip)
    (folder / "broken.mp4").write_bytes(b"\x00" * 5000)
    eng = Engine(tmp_path / "gallery.db", Settings(keep_frames=False, sample_ft=5))
    summary = eng.index_all(folder, max_frames=150)  # grey-cardigan walks in at frame 60
    assert [os.path.basename(p) for p, _ in summary.failed] == ["broken.mp4"]
    states = {os.path.basename(s.info.path): s for s in eng.library()}
    assert states["broken.mp4"].status == "failed" and "video" in states["broken.mp4"].reason
    assert states["clip.mp4"].status == "partial" and states["clip.mp4"].info.camera == "cam α"
    n_tracks = states["clip.mp4"].info.n_tracks
    assert n_tracks >= 1
    again = eng.index_all(folder, max_frames=150)  # partial and failed files are processed again, done ones are not
    assert sorted(os.path.basename(p) for p in again.indexed) == ["clip.mp4"]
    with open(clip, "r+b") as fh:  # same size, other content: noticed by the fingerprint
        fh.seek(100)
        fh.write(b"changed!")
        os.utime(clip, ns=(1, 1))
    assert {os.path.basename(s.info.path): s.status for s in eng.library()}["clip.mp4"] == "changed"
    clip.unlink()
    missing = {os.path.basename(s.info.path): s for s in eng.library()}["clip.mp4"]
    assert missing.status == "missing" and missing.info.n_tracks == n_tracks  # its tracks are kept
    assert eng.library_tracks(missing.info.path)[0].thumbnail[:2] == b"\xff\xd8"
    assert eng.remove_from_library(missing.info.path) and not eng.library_tracks(missing.info.path)
    eng.close()


def test_a_search_indexes_what_it_processes_and_a_partial_run_never_replaces_a_complete_one(tmp_path):
    eng = Engine(tmp_path / "gallery.db", Settings(keep_frames=False, sample_ft=5))
    img = MOT / "MOT17-09-FRCNN" / "img1" / "000001.jpg"
    eng.search_all(img)
    (src,) = eng.library()
    assert src.status == "done" and src.info.kind == "image" and src.info.n_tracks >= 3
    before = src.info.indexed_at, [t.id for t in eng.library_tracks(img)]
    eng.search_all(img)
    (src,) = eng.library()
    assert (src.info.indexed_at, [t.id for t in eng.library_tracks(img)]) == before
    eng.close()


def test_model_switch_reembeds_the_library_from_stored_crops(tmp_path, monkeypatch):
    from Algorithm.models import registry

    # the switch is saved in the user's model file: a file of this test's own, or later tests would run on OSNet
    monkeypatch.setattr(registry, "LOCAL_MANIFEST_PATH", tmp_path / "local_models.json")
    other = Engine(tmp_path / "other" / "gallery.db", Settings(keep_frames=False))
    other.register(video_frame(PED_VIDEO, 120), "grey-cardigan")  # embedded by retail-0277; this gallery stays so
    other.close()
    eng = Engine(tmp_path / "gallery.db", Settings(keep_frames=False, sample_ft=5))
    eng.index_all(PED_VIDEO, max_frames=300)
    n = len(eng.library_tracks())
    eng.register(video_frame(PED_VIDEO, 120), "grey-cardigan")
    first = matched(eng.find().files)
    assert first
    seen = []
    eng.set_active_model("person", "osnet_x0_25_msmt17", progress=lambda k, t: seen.append((k, t)))
    assert seen[-1] == (n, n)  # the library's tracks were embedded from their crops after the gallery's photo
    assert eng.reembed_library("person") == (0, 0)  # nothing left to do
    assert {t.models for t in eng.library_tracks()} == {("osnet_x0_25_msmt17", "person_reidentification_retail_0277")}
    again = matched(eng.find().files)
    assert again and {lab for *_, lab in again} == {"grey-cardigan"}
    assert all(60 <= f <= 205 for _, f, _ in again), sorted(again)
    eng.close()
    stale = Engine(tmp_path / "other" / "gallery.db", Settings(keep_frames=False))
    with pytest.raises(ModelError, match="embedded by ReID model"):  # not an empty answer, as a search refuses too
        stale.find()
    stale.close()


def test_cli_index_find_library_similar(tmp_path):
    gal, out = tmp_path / "g.db", tmp_path / "found.json"
    run = lambda *a: subprocess.run([sys.executable, "-m", "Algorithm", *map(str, a), "--gallery", gal],  # noqa: E731
                                    capture_output=True, text=True, timeout=600)
    r = run("library", "list")  # a gallery named that is not there: a mistyped path, not an empty library
    assert r.returncode == 2 and "No file at" in r.stderr and not gal.exists()
    r = run("index", PED_VIDEO, "--sample-ft", "5", "--max-frames", "460", "--camera", "door", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "(partial: only part of the video was processed)" in r.stdout and "1 file(s) indexed" in r.stdout
    n_tracks = r.stdout.split(": ", 1)[1].split(" track")[0]
    r = run("index", PED_VIDEO, "--sample-ft", "5", "--max-frames", "50", "--force", "--quiet")  # a shorter look
    assert r.returncode == 0, r.stderr
    assert f": {n_tracks} track(s) (partial: the earlier, fuller index is kept; this run went less far)" in r.stdout
    photo = tmp_path / "bj.jpg"
    from Algorithm.outer_api import write_image

    write_image(photo, video_frame(PED_VIDEO, 300))
    r = subprocess.run([sys.executable, "-m", "Algorithm", "register", str(photo), "--label", "black-jacket",
                        "--gallery", str(gal)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = run("find", "black-jacket", "--out", out, "--journey")
    assert r.returncode == 0, r.stderr
    assert "journey of black-jacket across 1 camera(s)" in r.stdout and "[door]" in r.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["format"] == "reid-app-results" and data["origin"] == "footage index"
    (f,) = data["files"]
    assert f["path"] == str(PED_VIDEO) and f["frames"] and f["sightings"][0]["label"] == "black-jacket"
    m = f["frames"][0]["matches"][0]
    assert set(m) >= {"box", "label", "distance", "track_id"}
    r = run("library", "list", "--json")
    (row,) = json.loads(r.stdout)
    assert row["status"] == "partial" and row["camera"] == "door" and row["settings"]["sample_ft"] == 5
    r = run("similar", str(m["track_id"]), "--json", "--top", "3")
    assert r.returncode == 0, r.stderr
    assert all(x["track"] != m["track_id"] for x in json.loads(r.stdout))
    r = run("find", "nobody-registered-so")
    assert r.returncode == 2 and "neither a registered identity nor a photo" in r.stderr


def test_view_margin_covers_the_measured_gap(indexed):
    """The candidate margin of find (aggregate vs closest view) holds on the indexed real tracks."""
    from Algorithm.footage.find import VIEW_MARGIN

    eng = indexed
    model = eng.reid_model_name("person")
    _, _, gal = eng.gallery_features("person")
    gaps = []
    for t in eng.library_tracks():
        full = eng._footage().load_tracks([t.id], model)[0].features[model]
        agg = 1.0 - gal @ full.aggregate
        views = 1.0 - np.max(full.crops @ gal.T, axis=0) if len(full.crops) else agg
        gaps.append(float(np.max(agg - np.minimum(agg, views))))
    print(f"largest aggregate-to-view gap {max(gaps):.3f} over {len(gaps)} tracks")
    assert max(gaps) < VIEW_MARGIN


def test_killed_index_runs_lose_at_most_the_file_in_flight_and_a_rerun_completes(tmp_path):
    """The real `index` command (models, decoding, one transaction per file) SIGKILLed at random moments."""
    import random
    import sqlite3
    import time
    from contextlib import closing

    from test_footage_index import assert_agree

    from Algorithm.storage.footage_index import FootageIndex

    folder = tmp_path / "frames"
    shutil.copytree(MOT, folder, ignore=shutil.ignore_patterns("*.txt", "*.ini"))
    gal = tmp_path / "g.db"
    cmd = [sys.executable, "-m", "Algorithm", "index", str(folder), "--gallery", str(gal), "--quiet"]
    db = tmp_path / "footage.db"

    def last_track() -> int:
        try:
            with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05)) as con:
                return con.execute("SELECT coalesce(max(id), 0) FROM tracks").fetchone()[0]
        except sqlite3.Error:  # not created yet, or being written: not committed
            return 0

    def first_commit(child, before: int) -> float:
        """Waits for the run's first stored file (a track id past `before`: ids only grow); its time."""
        while child.poll() is None and last_track() <= before:
            time.sleep(0.01)
        return time.monotonic()

    # One whole run first, timed from its first stored file (models load for ~3-5 s before it, more on a busy
    # machine): the kills land in the writing part of a run, at a fraction of its length on this machine. Fixed
    # seconds, or a fraction of the whole run, missed it when the machine was faster or less busy than at first.
    t0 = time.monotonic()
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    writing_from = first_commit(first, 0)
    _, err = first.communicate(timeout=600)
    writing = time.monotonic() - writing_from
    assert first.returncode == 0, err
    assert writing > 0.2 and writing_from - t0 > 0.5, (writing, writing_from - t0)
    rng = random.Random(5)
    for _ in range(3):  # --force: every round rewrites files already stored, so kills land on replacements
        before = last_track()
        child = subprocess.Popen([*cmd, "--force"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first_commit(child, before)
        time.sleep(rng.uniform(0.1, 0.5) * writing)
        child.kill()
        child.communicate()
        assert child.returncode != 0, "the run ended before the kill: nothing was tested"
        store = FootageIndex(tmp_path / "footage.db")
        assert_agree(store)
        for s in store.sources():  # every stored file is whole: done, and each of its tracks embedded
            assert s.status == "done" and all(t.models for t in store.tracks(s.path)), s.path
        store.close()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    store = FootageIndex(tmp_path / "footage.db")
    assert len(store.sources()) == 26 and {s.status for s in store.sources()} == {"done"}
    assert_agree(store)
    store.close()


def test_a_reindex_that_is_stopped_keeps_the_complete_index(tmp_path):
    """Re-index (the Library's button, `index --force`) then Stop: the file's complete tracks are not swapped for the
    first few frames' (nothing of the old run is written over before the new one ends)."""
    import cv2

    from Algorithm.outer_api import FrameDone

    clip = tmp_path / "clip.mp4"
    cap = cv2.VideoCapture(str(PED_VIDEO))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 240)
    out = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 25, (1280, 720))
    for _ in range(40):
        ok, frame = cap.read()
        assert ok
        out.write(cv2.resize(frame, (1280, 720)))
    out.release()
    eng = Engine(tmp_path / "gallery.db", Settings(keep_frames=False, sample_ft=5))
    eng.index_all(clip)
    (src,) = eng.library()
    complete = [t.id for t in eng.library_tracks(clip)]
    assert src.status == "done" and complete
    seen = []
    events = eng.index(clip, force=True, cancel=lambda: len(seen) >= 2)
    results = [ev.result for ev in events if isinstance(ev, FrameDone) and not seen.append(ev)]
    assert len(results) == 2  # stopped after two processed frames
    (src,) = eng.library()
    assert src.status == "done" and [t.id for t in eng.library_tracks(clip)] == complete
    eng.index_all(clip, force=True)  # a re-index that ends replaces it
    assert eng.library()[0].status == "done" and [t.id for t in eng.library_tracks(clip)] != complete
    eng.close()


def test_a_shorter_partial_run_keeps_the_longer_ones_tracks_and_a_cut_video_is_not_done(tmp_path):
    from Algorithm.outer_api import export_json, read_results_json

    eng = Engine(tmp_path / "gallery.db", Settings(keep_frames=False, sample_ft=5))
    eng.search_all(PED_VIDEO, max_frames=300)
    (src,) = eng.library()
    longer = [t.id for t in eng.library_tracks(PED_VIDEO)]
    assert src.status == "partial" and longer
    eng.search_all(PED_VIDEO, max_frames=50)  # a quick look at the start must not wipe what the longer run indexed
    assert [t.id for t in eng.library_tracks(PED_VIDEO)] == longer
    from Algorithm.sinks.footage_sink import FootageSink

    FootageSink(eng._footage()).failed(PED_VIDEO, "a later run failed")  # nor must a failure
    assert [t.id for t in eng.library_tracks(PED_VIDEO)] == longer and eng.library()[0].status == "partial"
    eng.search_all(PED_VIDEO, max_frames=400)  # a run that goes further replaces it
    assert [t.id for t in eng.library_tracks(PED_VIDEO)] != longer

    # A video cut short (its first 300 kB: the container still says 1394 frames) is searched as far as it goes,
    # said to be incomplete, and indexed as partial, not as done.
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(PED_VIDEO.read_bytes()[:300_000])
    report = eng.search_all(cut)
    (res,) = report.files
    assert res.error is None and not res.stopped and 0 < res.stats.frames_read < 1394
    assert res.warning and f"ended after {res.stats.frames_read} of its 1394 frames" in res.warning
    entry = next(e for e in eng.library() if e.info.path == str(cut))
    assert entry.status == "partial" and entry.info.reason == res.warning
    assert read_results_json(export_json(report, tmp_path / "r.json")).files[0].warning == res.warning
    whole = eng.search_all(MOT / "MOT17-09-FRCNN" / "img1" / "000001.jpg").files[0]
    assert whole.warning is None
    eng.close()
