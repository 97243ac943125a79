"""Evidence export: a case folder (clips, best frames, registration photos, results, report.html, sha256 manifest)
on real footage, the blurring of everyone else, and bad input leaving no half-written folder."""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from Algorithm.outer_api import (
    Engine,
    EvidenceSelection,
    InputError,
    Settings,
    export_annotated_video,
    export_json,
    read_image,
    read_results_json,
    read_video_frame,
    select_sightings,
    verify_evidence,
)
from Algorithm.sinks.anonymize import DETECT_CONF, iou
from Algorithm.sinks.evidence import PAD_S

from testdata import MOT, PED_VIDEO, ROOT, mot_gt_boxes, video_frame

av = pytest.importorskip("av")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


@pytest.fixture(scope="module")
def walker(tmp_path_factory):
    """The pedestrian video, frames 220-309 at every 3rd frame, with the walker of frame 300 registered."""
    root = tmp_path_factory.mktemp("evidence")
    eng = Engine(root / "gallery.db", Settings(keep_frames=False, sample_ft=3))
    eng.register(video_frame(PED_VIDEO, 300), "Walker300")
    report = eng.search_all(PED_VIDEO, start_frame=220, max_frames=90)
    calls = []
    case = eng.export_evidence(report, select_sightings(report), root / "case", progress=lambda d, t: calls.append((d, t)))
    yield eng, report, case, calls
    eng.close()


def test_case_folder_holds_every_part_and_the_manifest_proves_each_file(walker):
    _, report, case, calls = walker
    names = {p.relative_to(case).as_posix() for p in case.rglob("*") if p.is_file()}
    assert {"report.html", "results.json", "sightings.csv", "manifest.json", "SHA256SUMS"} <= names
    assert len([n for n in names if n.startswith("clips/")]) == 1 and len([n for n in names if n.startswith("frames/")]) == 1
    assert [n for n in names if n.startswith("photos/")]  # the registration photo
    manifest = json.loads((case / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["files"]) == names - {"manifest.json", "SHA256SUMS"}
    for name, digest in manifest["files"].items():
        assert _sha(case / name) == digest, name
    sums = dict(reversed(line.split("  ", 1)) for line in (case / "SHA256SUMS").read_text().splitlines())
    assert sums == manifest["files"]
    assert verify_evidence(case) == []
    assert calls and calls[-1][0] == calls[-1][1]  # progress ran to the end


def test_a_changed_file_is_caught_by_the_manifest(walker, tmp_path):
    _, _, case, _ = walker
    copy = Path(shutil.copytree(case, tmp_path / "copy"))
    with open(copy / "sightings.csv", "a", encoding="utf-8") as fh:
        fh.write("tampered\n")
    (copy / "extra.txt").write_text("x")
    assert verify_evidence(copy) == ["changed: sightings.csv", "not in the manifest: extra.txt"]


def test_clip_is_browser_h264_with_padding_and_best_frame_decodes(walker):
    _, report, case, _ = walker
    (g,) = report.files[0].sightings[0].segments
    (clip,) = (case / "clips").glob("*.mp4")
    with av.open(str(clip)) as box:
        stream = box.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (768, 432)
        n = sum(1 for _ in box.decode(video=0))
    pad = round(PAD_S * 10)  # the video runs at 10 fps
    assert n == (g.end_frame + pad) - (g.start_frame - pad) + 1
    data = clip.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # index first: plays while it downloads
    (jpg,) = (case / "frames").glob("*.jpg")
    assert jpg.name.endswith(f"_f{g.best_frame}.jpg")
    img = read_image(jpg)
    assert img.shape == (432, 768, 3)


def test_report_names_models_thresholds_sources_and_version(walker):
    _, report, case, _ = walker
    html = (case / "report.html").read_text(encoding="utf-8")
    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M).group(1)
    (g,) = report.files[0].sightings[0].segments
    for text in ("Walker300", report.models.reid["person"].model, _sha(PED_VIDEO), version, f"{report.thresholds['person']:.4f}",
                 f"{g.best_distance:.4f}", "photos/", "clips/", "frames/"):
        assert text in html, text
    for src in re.findall(r"(?:src|href)='([^']+)'", html):  # every link points into the folder
        assert (case / src).is_file(), src
    back = read_results_json(case / "results.json")
    assert [s.label for f in back.files for s in f.sightings] == ["Walker300"]
    rows = list(csv.DictReader(open(case / "sightings.csv", encoding="utf-8-sig")))
    assert [(r["label"], int(r["best_frame"])) for r in rows] == [("Walker300", g.best_frame)]


def test_bad_input_is_refused_and_leaves_no_folder(walker, tmp_path):
    eng, report, _, _ = walker
    with pytest.raises(InputError, match="select at least one"):
        eng.export_evidence(report, [], tmp_path / "empty")
    gone = tmp_path / "moved.mp4"
    f = dataclasses.replace(report.files[0], path=str(gone))
    moved = dataclasses.replace(report, files=[f])
    with pytest.raises(InputError, match="missing"):
        eng.export_evidence(moved, select_sightings(moved), tmp_path / "missing")
    with pytest.raises(InputError, match="no sighting"):
        eng.export_evidence(report, [EvidenceSelection(report.files[0].path, 999)], tmp_path / "nobody")
    with pytest.raises(InputError, match="no segment"):
        eng.export_evidence(report, [EvidenceSelection(report.files[0].path, f.sightings[0].identity_id, (5,))],
                            tmp_path / "noseg")
    # A failure half-way (here: cancelled after some frames) removes what was written.
    ticks = []

    def cancel() -> bool:
        ticks.append(1)
        return len(ticks) > 5

    with pytest.raises(InputError, match="cancelled"):
        eng.export_evidence(report, select_sightings(report), tmp_path / "cancelled", cancel=cancel)
    assert _leftovers(tmp_path) == []
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x.txt").write_text("mine")
    with pytest.raises(InputError, match="not an empty folder"):
        eng.export_evidence(report, select_sightings(report), tmp_path / "taken")
    assert _leftovers(tmp_path) == ["taken"] and _leftovers(tmp_path / "taken") == ["x.txt"]


def test_evidence_is_refused_from_another_file_under_the_searched_name(walker, tmp_path):
    from Algorithm.outer_api import read_results_json

    eng, report, _, _ = walker
    res = report.files[0]
    assert len(res.fingerprint) == 64  # what was searched, kept in the results file too
    assert read_results_json(export_json(report, tmp_path / "r.json")).files[0].fingerprint == res.fingerprint
    swapped = tmp_path / "cam.mp4"  # same name, size and length, other bytes (as a clip cut from the same camera)
    data = bytearray(PED_VIDEO.read_bytes())
    data[-100] ^= 0xFF
    swapped.write_bytes(bytes(data))
    other = dataclasses.replace(report, files=[dataclasses.replace(res, path=str(swapped))])
    with pytest.raises(InputError, match="not the file that was searched"):
        eng.export_evidence(other, select_sightings(other), tmp_path / "case")
    assert not (tmp_path / "case").exists()
    with pytest.raises(InputError, match="not the file that was searched"):  # nor boxes drawn on it
        export_annotated_video(other.files[0], tmp_path / "boxes.mp4", report.settings.sample_ft)
    assert not (tmp_path / "boxes.mp4").exists()
    legacy = dataclasses.replace(other, files=[dataclasses.replace(other.files[0], fingerprint="")])
    # results written before fingerprints are checked by size and length only, as before (this copy passes them)
    assert eng.export_evidence(legacy, select_sightings(legacy), tmp_path / "legacy").is_dir()


def test_cli_exports_a_results_file(walker, tmp_path, capsys):
    from Algorithm.cli import main as cli

    eng, report, _, _ = walker
    results = export_json(report, tmp_path / "results.json")
    assert cli.main(["export-evidence", str(results), "--out", str(tmp_path / "nobody"), "--identity", "Nobody",
                     "--gallery", str(eng.gallery_path), "--quiet"]) == 2
    assert "No sightings of 'nobody'" in capsys.readouterr().err
    out = tmp_path / "case"
    assert cli.main(["export-evidence", str(results), "--out", str(out), "--identity", "walker300",
                     "--gallery", str(eng.gallery_path), "--quiet"]) == 0
    assert verify_evidence(out) == [] and list((out / "photos").glob("*.jpg"))


# -- blurring the others: a street with several people at once (the pedestrian video shows one at a time) ------------
SEQ = "MOT17-05-FRCNN"  # 640x480, 6 frames at 14 fps


@pytest.fixture(scope="module")
def street(tmp_path_factory):
    root = tmp_path_factory.mktemp("street")
    frames = sorted((MOT / SEQ / "img1").glob("*.jpg"))
    video = root / "street.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 14, (640, 480))
    for f in frames:
        w.write(read_image(f))
    w.release()
    eng = Engine(root / "gallery.db", Settings(keep_frames=False))
    (gt,) = [b for b in mot_gt_boxes(SEQ, 1, min_height=0) if b[0] == 125]  # a woman standing, fully in view
    eng.register(read_image(frames[0]), "pid125", box=gt[1:5])
    report = eng.search_all(video)
    sel = select_sightings(report, ["pid125"])
    plain = eng.export_evidence(report, sel, root / "plain")
    blurred = eng.export_evidence(report, sel, root / "blurred", blur_others=True)
    yield eng, report, plain, blurred
    eng.close()


def test_blur_hides_everyone_else_and_keeps_the_match(street):
    eng, report, plain, blurred = street
    (g,) = report.files[0].sightings[0].segments
    a = read_image(next((plain / "frames").glob("*.jpg")))
    b = read_image(next((blurred / "frames").glob("*.jpg")))
    x1, y1, x2, y2 = (int(round(v)) for v in g.best_box)
    # Inside the matched box (away from its drawn border and the JPEG blocks it shares with the outside): unchanged.
    assert np.array_equal(a[y1 + 16:y2 - 16, x1 + 16:x2 - 16], b[y1 + 16:y2 - 16, x1 + 16:x2 - 16])
    source = read_video_frame(report.files[0].path, g.best_frame)
    dets = eng.detector()(source, ("person", "vehicle"), DETECT_CONF).xyxy
    others = [d for d in dets if iou(d, g.best_box) < 0.5 and min(d[2] - d[0], d[3] - d[1]) >= 24]
    assert len(others) >= 2, dets
    outside = np.ones(a.shape[:2], bool)
    outside[y1:y2, x1:x2] = False  # a bystander's pixels inside the match's box stay visible
    for d in others:
        m = np.zeros_like(outside)
        m[int(d[1]):int(d[3]), int(d[0]):int(d[2])] = True
        m &= outside
        diff = np.abs(a.astype(int) - b.astype(int))[m].mean()
        assert diff > 3, (d, diff)
    assert "pixelated" in (blurred / "report.html").read_text(encoding="utf-8")
    assert verify_evidence(blurred) == []
