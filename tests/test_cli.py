"""The command line, run as a user runs it: python -m Algorithm ..."""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

import pytest

from testdata import BUS, MOT, PED_VIDEO, ROOT


def cli(*args, gallery):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "Algorithm", *map(str, args), "--gallery", str(gallery)]
                          if args[0] in ("register", "search") else
                          [sys.executable, "-m", "Algorithm", args[0], "--gallery", str(gallery), *map(str, args[1:])],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_register_list_rename_search_delete(tmp_path):
    g = tmp_path / "gallery.db"
    r = cli("register", BUS, "--label", "Ann", gallery=g)
    assert r.returncode == 2 and "4 persons were found" in r.stderr  # must choose one
    r = cli("register", BUS, "--label", "Ann", "--box", "50,397,243,903", gallery=g)
    assert r.returncode == 0, r.stderr
    assert "registered 'Ann'" in r.stdout and "new identity" in r.stdout

    r = cli("gallery", "list", "--json", gallery=g)
    (ident,) = json.loads(r.stdout)
    assert ident["label"] == "Ann" and ident["photos"] == 1 and ident["category"] == "person"

    assert cli("gallery", "rename", "Ann", "Anna", gallery=g).returncode == 0
    out_json, out_csv = tmp_path / "res.json", tmp_path / "res.csv"
    r = cli("search", BUS, "--out", out_json, "--csv", out_csv, "--quiet", gallery=g)
    assert r.returncode == 0, r.stderr
    assert "choose Exact" not in r.stderr  # people only: no caution about the speed
    data = json.loads(out_json.read_text(encoding="utf-8"))
    (m,) = [m for f in data["files"] for fr in f["frames"] for m in fr["matches"]]
    assert m["label"] == "Anna" and m["box"][0] < 100 and m["distance"] < 0.05
    assert "Anna" in out_csv.read_text(encoding="utf-8-sig")

    r = cli("gallery", "delete", "Anna", gallery=g)
    assert r.returncode == 0 and "deleted 'Anna'" in r.stdout
    assert json.loads(cli("gallery", "list", "--json", gallery=g).stdout) == []
    r = cli("gallery", "delete", "Nobody", gallery=g)
    assert r.returncode == 2 and "No identity labelled 'Nobody'" in r.stderr


def test_search_of_a_missing_path_is_a_clear_error(tmp_path):
    r = cli("search", tmp_path / "nothing here", gallery=tmp_path / "g.db")
    assert r.returncode == 2 and "Not found" in r.stderr
    assert not (tmp_path / "g.db").exists()  # refused before anything was opened or made
    # vehicles with the stand-in model at a speed that skips frames: said before the run (rules.speed_caution)
    r = cli("search", BUS, "--categories", "person,vehicle", gallery=tmp_path / "g.db")
    assert r.returncode == 0 and "Vehicles: choose Exact" in r.stderr and "--speed exact" in r.stderr
    assert r.stderr.index("choose Exact") < r.stderr.index("no identities yet")  # before the run, with the notes
    r = cli("search", BUS, "--categories", "vehicle", "--speed", "exact", gallery=tmp_path / "g.db")
    assert r.returncode == 0 and "choose Exact" not in r.stderr


def test_register_several_photos_refusals_and_merge(tmp_path):
    from Algorithm.media import write_image

    from testdata import MARKET, mot_gt_crop, uniform_photo, van_photo

    g = tmp_path / "gallery.db"
    grey, van, near = tmp_path / "grey.png", tmp_path / "van.jpg", tmp_path / "mot11_id1.jpg"
    write_image(grey, uniform_photo())
    write_image(van, van_photo())
    write_image(near, mot_gt_crop("MOT17-11-FRCNN", 1, 1))  # one person's tight crop; someone behind lies in their box
    m1, m2, m3 = sorted(MARKET.glob("*.jpg"))[:3]

    r = cli("register", grey, "--label", "Ghost", gallery=g)
    assert r.returncode == 2 and "No person was found" in r.stderr and "nearly uniform" in r.stderr
    r = cli("register", van, "--label", "Van", gallery=g)
    assert r.returncode == 2 and "this looks like a vehicle" in r.stderr and "--category vehicle" in r.stderr

    # several photos: each one's result or error, the good ones stored, exit status 2 for the bad one
    r = cli("register", near, m1, grey, m2, "--label", "Walker", gallery=g)
    assert r.returncode == 2, r.stderr
    assert r.stdout.count("registered 'Walker'") == 3 and "3 of 4 photos registered as 'Walker'" in r.stdout
    assert f"{near}: registered 'Walker' (person; whole photo (a close crop of one person; 2 boxes found" in r.stdout
    assert f"{grey}: error: No person was found" in r.stderr
    r = cli("register", m1, m2, "--label", "Walker", "--box", "0,0,10,10", gallery=g)
    assert r.returncode == 2 and "one photo" in r.stderr
    r = cli("register", m1, m2, "--label", "All good", gallery=g)
    assert r.returncode == 0 and "2 of 2 photos registered" in r.stdout

    # merge: the photos of the other move to the kept one; across categories it is refused
    assert cli("register", m3, "--label", "Walker twin", gallery=g).returncode == 0
    assert cli("register", van, "--label", "Van", "--category", "vehicle", gallery=g).returncode == 0
    r = cli("gallery", "merge", "Walker", "walker twin", gallery=g)
    assert r.returncode == 0, r.stderr
    assert "merged 'Walker twin' into 'Walker': 1 photo(s) moved, 'Walker' now has 4 photo(s)" in r.stdout
    rows = {i["label"]: i["photos"] for i in json.loads(cli("gallery", "list", "--json", gallery=g).stdout)}
    assert rows == {"Walker": 4, "All good": 2, "Van": 1}
    r = cli("gallery", "merge", "Walker", "Van", gallery=g)
    assert r.returncode == 2 and "one category only" in r.stderr
    r = cli("gallery", "merge", "Walker", "Nobody", gallery=g)
    assert r.returncode == 2 and "No identity labelled 'Nobody'" in r.stderr


def _refused(capsys, *argv) -> str:
    """Runs the CLI in-process; it must stop at the argument parser (status 2, no traceback). Returns stderr."""
    from Algorithm.cli.main import main

    with pytest.raises(SystemExit) as e:
        main([*map(str, argv)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "error: argument" in err and "Traceback" not in err, err
    return err


def test_a_camera_name_cannot_be_blank(tmp_path, capsys):
    for blank in ("", "   "):
        assert "camera name cannot be blank" in _refused(capsys, "index", BUS, "--camera", blank, "--gallery",
                                                         tmp_path / "g.db")
    assert not (tmp_path / "g.db").exists()


def test_a_box_must_be_finite_and_not_empty(tmp_path, capsys):
    from Algorithm.cli.main import build_parser

    g = tmp_path / "gallery.db"
    # nan compares False with everything: it once passed, stored a garbage photo, then crashed printing the box
    for bad in ("nan,0,10,10", "0,0,inf,400", "-inf,0,10,10", "0,0,10,NaN", "10,0,10,10", "0,20,10,5"):
        assert "--box" in _refused(capsys, "register", BUS, "--label", "X", "--box", bad, "--gallery", g)
        for cmd in (("find", "--gallery", g), ("similar", "--image", BUS, "--gallery", g), ("rank", BUS, "--gallery", g)):
            assert "--box" in _refused(capsys, *cmd, "--box", bad)
    assert not g.exists()  # nothing stored
    assert build_parser().parse_args(["find", "--box", "0, 1.5, 10, 20"]).box == (0.0, 1.5, 10.0, 20.0)


def test_categories_are_checked_by_the_parser(tmp_path, capsys):
    from Algorithm.cli.main import _engine, build_parser
    from Algorithm.errors import ReIdError
    from Algorithm.rules import CATEGORIES

    for bad in ("bogus", ",", "person,bogus"):
        err = _refused(capsys, "search", BUS, "--categories", bad, "--gallery", tmp_path / "g.db", "--quiet")
        assert "--categories" in err and ", ".join(CATEGORIES) in err
        assert "--categories" in _refused(capsys, "models", "add", BUS, "--name", "m", "--threshold", "0.3",
                                          "--categories", bad)
    ap = build_parser()
    assert ap.parse_args(["search", "x.jpg"]).categories == ("person",)
    assert ap.parse_args(["search", "x.jpg", "--categories", " vehicle, person "]).categories == ("vehicle", "person")
    # the safety net: a setting the parser let through is a clean error (main prints it, status 2), not a traceback
    with pytest.raises(ReIdError, match="categories must be among"):
        _engine(argparse.Namespace(gallery=tmp_path / "g.db"), categories=("bogus",))


def test_max_frames_must_be_positive(tmp_path, capsys):
    from Algorithm.cli.main import build_parser

    g = tmp_path / "gallery.db"
    # 0 or less processed nothing with status 0, and `index` replaced an indexed file with an empty entry
    for bad in ("0", "-1", "ten"):
        for cmd in (("search", PED_VIDEO, "--quiet", "--gallery", g), ("index", PED_VIDEO, "--quiet", "--gallery", g),
                    ("evaluate", "tracks", MOT), ("evaluate", "tracklets", PED_VIDEO), ("evaluate", "openset", MOT)):
            assert "--max-frames" in _refused(capsys, *cmd, "--max-frames", bad)
    assert not g.exists() and not (tmp_path / "footage.db").exists()
    assert build_parser().parse_args(["search", "x.mp4", "--max-frames", "5"]).max_frames == 5


def test_backup_never_overwrites_a_file_unasked_and_an_empty_gallery_is_said(tmp_path):
    g = tmp_path / "gallery.db"
    r = cli("search", BUS, "--quiet", gallery=tmp_path / "typo.db")
    assert r.returncode == 0 and "has no identities yet" in r.stderr
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(PED_VIDEO.read_bytes()[:150_000])
    r = cli("search", cut, "--quiet", gallery=tmp_path / "typo.db")
    assert r.returncode == 0 and "warning: the video ended after" in r.stdout
    assert "partial file" not in r.stderr and " @ 0x" not in r.stderr  # the app's words, not FFmpeg's lines
    assert cli("register", BUS, "--label", "Ann", "--box", "50,397,243,903", gallery=g).returncode == 0
    precious = tmp_path / "holiday.mp4"
    precious.write_bytes(b"not a gallery")
    r = cli("gallery", "backup", precious, gallery=g)
    assert r.returncode == 2 and "exists; add --force" in r.stderr and precious.read_bytes() == b"not a gallery"
    r = cli("gallery", "backup", precious, "--force", gallery=g)
    assert r.returncode == 0 and precious.read_bytes()[:15] == b"SQLite format 3"


def test_ctrl_c_stops_a_search_and_keeps_what_it_found(tmp_path):
    import signal
    import time

    out, g = tmp_path / "res.json", tmp_path / "gallery.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "Algorithm", "search", str(PED_VIDEO), "--out", str(out),
                          "--gallery", str(g)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen, t0 = b"", time.monotonic()
    moving = re.compile(rb"\b([1-9]\d+)/1394\b")  # the progress bar is past frame 10
    while not moving.search(seen) and time.monotonic() - t0 < 240:
        chunk = os.read(p.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=240)
    assert p.returncode == 130, (seen + stderr).decode(errors="replace")[-2000:]
    assert b"stopped by Ctrl-C" in stderr and b"results written to" in stdout
    (f,) = json.loads(out.read_text(encoding="utf-8"))["files"]
    assert f["stopped"] and 0 < f["stats"]["frames_processed"] < 1394


def test_info_names_the_models_and_creates_no_gallery(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REID_DATA_DIR": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "Algorithm", "info"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "detector: " in r.stdout and "device cpu: available" in r.stdout
    assert "person: " in r.stdout and "vehicle: " in r.stdout and "[stand-in" in r.stdout
    assert list(tmp_path.iterdir()) == []  # asking what is installed must not leave an empty gallery behind


@pytest.mark.parametrize("cmd", ["search", "index"])
def test_asking_for_cuda_without_it_says_so_and_runs_on_the_cpu(tmp_path, cmd):
    from Algorithm.outer_api import device_options

    if next(o for o in device_options() if o.name == "cuda").available:
        pytest.skip("this machine has CUDA")
    r = cli(cmd, BUS, "--device", "cuda", gallery=tmp_path / "gallery.db")
    assert r.returncode == 0, r.stderr
    assert "note: CUDA is not available" in r.stderr and "running on the CPU" in r.stderr
