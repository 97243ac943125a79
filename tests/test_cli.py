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
