"""The command line refuses what would lose data or waste a run, and fails in one line, never a traceback: an output
that would overwrite the gallery or a searched photo, an output that cannot be written (checked before searching),
a photo number that is not the named identity's, a damaged backup, a closed pipe, a spreadsheet cell that reads as
a formula."""
from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys

from testdata import BUS, ROOT

BUS_MAN = "50,397,243,903"


def cli(*args, gallery):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rest = [*map(str, args[1:])]
    where = ["--gallery", str(gallery)]  # `gallery` takes it before its action, the others anywhere
    cmd = [sys.executable, "-m", "Algorithm", args[0], *(where + rest if args[0] == "gallery" else rest + where)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def registered(tmp_path, label="Ann"):
    g = tmp_path / "gallery.db"
    r = cli("register", BUS, "--label", label, "--box", BUS_MAN, gallery=g)
    assert r.returncode == 0, r.stderr
    return g


def no_traceback(r):
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_an_output_that_would_overwrite_the_gallery_or_the_photo_is_refused_before_searching(tmp_path):
    g = registered(tmp_path)
    photo = tmp_path / "in.jpg"
    shutil.copy(BUS, photo)
    for flag, dest, what in (("--out", g, "the gallery"), ("--csv", photo, "a file being searched"),
                             ("--out", tmp_path, "is a folder"), ("--out", photo / "r.json", "Cannot write")):
        r = no_traceback(cli("search", photo, flag, dest, gallery=g))
        assert r.returncode == 2 and what in r.stderr, (flag, dest, r.stderr)
        assert "file(s) searched" not in r.stdout  # refused before the search, not after it
    assert photo.read_bytes() == BUS.read_bytes()
    r = cli("gallery", "list", gallery=g)
    assert r.returncode == 0 and "Ann" in r.stdout  # the gallery is whole


def test_deleting_a_photo_by_number_checks_it_is_the_named_identitys(tmp_path):
    g = registered(tmp_path, "Ann")
    r = cli("register", BUS, "--label", "Bob", "--box", "670,380,810,880", gallery=g)
    assert r.returncode == 0, r.stderr
    bob_photo = next(line for line in cli("gallery", "list", gallery=g).stdout.splitlines() if "Bob" in line)
    entry = bob_photo.split("[#")[1].split("]")[0]
    r = no_traceback(cli("gallery", "delete", "Ann", "--entry", entry, gallery=g))
    assert r.returncode == 2 and "not one of 'Ann''s photos" in r.stderr
    listed = cli("gallery", "list", gallery=g).stdout
    assert "Ann" in listed and "Bob" in listed  # nothing was deleted
    r = cli("gallery", "delete", "Bob", "--entry", entry, gallery=g)
    assert r.returncode == 0 and "Bob" not in cli("gallery", "list", gallery=g).stdout


def test_unwritable_places_and_damaged_backups_fail_in_one_line(tmp_path):
    g = registered(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    r = no_traceback(cli("gallery", "backup", blocker / "x.db", gallery=g))
    assert r.returncode == 2 and "backup" in r.stderr.lower()
    r = no_traceback(cli("rank", BUS, "--box", BUS_MAN, "--out", tmp_path / "ranked.txt", gallery=g))
    assert r.returncode == 2 and ".png" in r.stderr

    backup = tmp_path / "backup.db"
    assert cli("gallery", "backup", backup, gallery=g).returncode == 0
    data = bytearray(backup.read_bytes())
    for page in range(8192, len(data), 4096):  # scribble over every page after the first two
        data[page:page + 200] = b"\xff" * 200
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(bytes(data))
    r = no_traceback(cli("gallery", "restore", damaged, gallery=g))
    assert r.returncode == 2 and "error:" in r.stderr
    assert "Ann" in cli("gallery", "list", gallery=g).stdout  # the gallery is as it was


def test_a_reader_that_closes_the_pipe_early_gets_no_traceback(tmp_path):
    g = registered(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "Algorithm", "gallery", "--gallery", str(g), "list"], cwd=ROOT,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # as `| head -0` does
    err = p.stderr.read().decode()
    p.wait(timeout=300)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_a_label_that_reads_as_a_formula_is_text_in_the_csv(tmp_path):
    g = registered(tmp_path, "=HYPERLINK(1)")
    r = cli("search", BUS, "--csv", tmp_path / "s.csv", gallery=g)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(tmp_path / "s.csv", encoding="utf-8-sig")))
    assert [row["label"] for row in rows] == ["'=HYPERLINK(1)"]


def test_a_search_for_people_says_the_registered_vehicles_are_left_out(tmp_path):
    g = registered(tmp_path)
    r = cli("register", BUS, "--label", "The bus", "--category", "vehicle", gallery=g)
    assert r.returncode == 0, r.stderr
    r = cli("search", BUS, gallery=g)
    assert r.returncode == 0 and "1 vehicle identity, not searched for (--categories person,vehicle)" in r.stderr


def test_a_mistyped_gallery_for_a_question_is_refused_not_created(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    typo = tmp_path / "nowhere" / "gallery.db"
    for args in (["find", "--gallery", str(typo)], ["library", "list", "--gallery", str(typo)]):
        r = no_traceback(subprocess.run([sys.executable, "-m", "Algorithm", *args], cwd=ROOT, env=env,
                                        capture_output=True, text=True, timeout=300))
        assert r.returncode == 2 and "No file at" in r.stderr and "0 sighting" not in r.stdout, r
    assert not (tmp_path / "nowhere").exists()  # nothing was made


def test_a_file_given_twice_is_indexed_once(tmp_path):
    g = tmp_path / "gallery.db"
    r = no_traceback(cli("index", BUS, BUS.parent, BUS, "--categories", "person", "--force", gallery=g))
    assert r.returncode == 0, r.stderr
    photos = len(list(BUS.parent.glob("*.jpg")))
    assert f"{photos} file(s) indexed" in r.stdout and r.stdout.count(f"indexed {BUS}:") == 1, r.stdout


def test_an_empty_folder_is_said_so_and_an_index_with_nothing_new_says_why(tmp_path):
    g = tmp_path / "gallery.db"
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("not footage")
    for cmd in ("index", "search"):  # "0 file(s)" read as "searched, nobody there"
        r = no_traceback(cli(cmd, empty, gallery=g))
        assert r.returncode == 2 and f"No images or videos were found in {empty}" in r.stderr, (cmd, r.stderr)
    assert not g.exists()  # refused before a gallery was made
    r = cli("index", BUS, "--categories", "person", gallery=g)
    assert r.returncode == 0 and "1 file(s) indexed" in r.stdout, r.stderr
    r = cli("index", BUS, "--categories", "person", gallery=g)
    assert r.returncode == 0 and "nothing new to index: those files are indexed already" in r.stdout, r.stdout


def test_a_folder_is_removed_from_the_library_as_it_was_indexed(tmp_path):
    g = tmp_path / "gallery.db"
    assert cli("index", BUS.parent, "--categories", "person", gallery=g).returncode == 0
    photos = len(list(BUS.parent.glob("*.jpg")))
    r = no_traceback(cli("library", "remove", BUS.parent, gallery=g))
    assert r.returncode == 0 and f"({photos} files)" in r.stdout, r.stdout + r.stderr
    assert "the library is empty" in cli("library", "list", gallery=g).stdout
    r = cli("library", "remove", BUS.parent, gallery=g)
    assert r.returncode == 1 and "nor any file under it" in r.stdout


def test_find_guards_the_library_files_and_says_when_its_answer_is_not_the_footage_on_disk(tmp_path):
    g = registered(tmp_path)
    cam = tmp_path / "cam"
    cam.mkdir()
    shot = cam / "shot.jpg"
    shutil.copy(BUS, shot)
    r = no_traceback(cli("index", shot, "--camera", "gate", gallery=g))
    assert r.returncode == 0, r.stderr
    # an output named as an indexed file (footage is often the only copy) or twice over is refused before the search
    for flags, what in ((("--out", shot), "a file of the footage library"),
                        (("--out", tmp_path / "a.json", "--csv", tmp_path / "a.json"), "are the same file")):
        r = no_traceback(cli("find", "Ann", *flags, gallery=g))
        assert r.returncode == 2 and what in r.stderr, r.stderr
    assert shot.read_bytes() == BUS.read_bytes() and not (tmp_path / "a.json").exists()
    for bad in (("similar", "99999999999999999999999"), ("find", "Ann", "--after", "nan"), ("find", "Ann", "--before", "1:99")):
        r = no_traceback(cli(*bad, gallery=g))
        assert r.returncode == 2, (bad, r.stderr)

    r = cli("find", "Ann", gallery=g)
    assert r.returncode == 0 and f"{shot}: Ann" in r.stdout and "warning" not in r.stderr, r.stdout + r.stderr
    # a query photo of nobody the detector sees, shaped as a close crop, is searched whole: said, not silent
    from Algorithm.outer_api import read_image, write_image

    write_image(tmp_path / "pane.jpg", read_image(BUS)[120:360, 380:500])  # the bus's side, no one in it
    r = cli("find", tmp_path / "pane.jpg", gallery=g)
    assert r.returncode == 0 and "no person was detected in pane.jpg: it was searched whole" in r.stderr, r.stderr
    r = cli("find", BUS, "--box", BUS_MAN, gallery=g)
    assert r.returncode == 0 and "searched whole" not in r.stderr and f"{shot}: bus.jpg" in r.stdout, r.stdout
    # re-indexed without --camera: the camera the user named stays
    assert cli("index", shot, "--force", gallery=g).returncode == 0
    assert json.loads(cli("library", "list", "--json", gallery=g).stdout)[0]["camera"] == "gate"

    # the file replaced by another: the sightings are of the file as it was, and said so (also by `similar`)
    shot.write_bytes((BUS.parent / "zidane.jpg").read_bytes())
    r = cli("find", "Ann", "--journey", gallery=g)
    assert r.returncode == 0 and f"{shot}: Ann" in r.stdout
    assert "changed on disk since it was indexed" in r.stderr and str(shot) in r.stderr, r.stderr
    track = json.loads(cli("library", "list", "--json", gallery=g).stdout)[0]
    r = cli("similar", "--image", BUS, "--box", BUS_MAN, "--json", gallery=g)
    assert r.returncode == 0 and all("changed on disk" in x["warning"] for x in json.loads(r.stdout)), r.stdout
    shot.unlink()
    r = cli("find", "Ann", gallery=g)
    assert r.returncode == 0 and "not on disk now" in r.stderr and "cannot be played back" in r.stderr, r.stderr
    assert track["status"] == "changed"

    # tracks embedded by another model are not searched: said, with what to do, rather than "0 sightings" alone
    footage = sqlite3.connect(g.with_name("footage.db"))
    with footage:
        footage.execute("UPDATE features SET model = 'another-model'")
    footage.close()
    r = cli("find", "Ann", gallery=g)
    assert r.returncode == 0 and "0 sighting(s)" in r.stdout
    assert "have no features of the active model" in r.stderr and "library reembed --category person" in r.stderr
