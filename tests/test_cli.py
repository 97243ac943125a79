"""The command line, run as a user runs it: python -m Algorithm ..."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from testdata import BUS, ROOT


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
    # vehicles with the stand-in model at a speed that skips frames: said before the run (rules.speed_caution)
    r = cli("search", tmp_path / "nothing here", "--categories", "person,vehicle", gallery=tmp_path / "g.db")
    assert "Vehicles: choose Exact" in r.stderr and "--speed exact" in r.stderr
    r = cli("search", tmp_path / "nothing here", "--categories", "vehicle", "--speed", "exact", gallery=tmp_path / "g.db")
    assert "choose Exact" not in r.stderr


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
