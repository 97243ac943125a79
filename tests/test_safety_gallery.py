"""Issue #6, gallery safety: the gallery is the operators' work and must never be lost or corrupted.

Transactions and WAL, the derived Faiss index (also when another process changes the file), schema
migrations, processes killed mid-change, concurrent processes, backup/restore (API and CLI), and a
property-based test that SQLite and the index always agree.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from Algorithm.errors import GalleryError, ModelError, ReIdError
from Algorithm.storage import gallery as gallery_mod
from Algorithm.storage.gallery import SCHEMA_VERSION, Gallery
from Algorithm.storage.vector_index import FeatureIndex, SearchIndex

from testdata import damage_sqlite_pages, kill_when_busy

ROOT = Path(__file__).resolve().parent.parent
CHILD = ROOT / "tests" / "helpers" / "kill_registering.py"
MODEL = "synthetic-a"
DIM = 32
CROP = b"\xff\xd8\xff not a real jpeg"


def vec(rng: np.random.Generator, dim: int = DIM) -> np.ndarray:
    v = rng.standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def contents(g: Gallery) -> tuple:
    """Everything a user would miss, comparable across files."""
    ids = sorted((i.id, i.label, i.category, i.n_entries) for i in g.identities())
    ents = sorted((e.id, e.identity_id, e.model, e.source, e.crop_jpeg) for e in g.entries())
    feats = g.db.execute("SELECT entry_id, model, dim, vector FROM features ORDER BY entry_id, model").fetchall()
    return ids, ents, feats


def assert_sound(g: Gallery, model: str = MODEL) -> None:
    """integrity_check ok, foreign keys ok, every entry has its feature, every identity >= 1 entry,
    and the derived index agrees with the table."""
    assert g.check() == []
    db = g.db
    assert db.execute("SELECT COUNT(*) FROM entries WHERE id NOT IN (SELECT entry_id FROM features WHERE model=?)",
                      (model,)).fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM identities WHERE id NOT IN (SELECT identity_id FROM entries)").fetchone()[0] == 0
    n_feats = db.execute("SELECT COUNT(*) FROM features WHERE model=?", (model,)).fetchone()[0]
    assert SearchIndex(g).get(model, "person").size == n_feats


def fill(g: Gallery, n: int, seed: int = 0) -> list[int]:
    rng = np.random.default_rng(seed)
    return [g.add_entry(f"person {k % 5}", "person", CROP + bytes([k]), MODEL, vec(rng))[1] for k in range(n)]


# -- transactions ------------------------------------------------------------------------------------
def test_wal_and_one_revision_step_per_change(tmp_path):
    g = Gallery(tmp_path / "g.db")
    assert g.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rng = np.random.default_rng(0)
    r0 = g.revision()
    ident, e1, created = g.add_entry("Alice", "person", CROP, MODEL, vec(rng))
    assert created and g.revision() == r0 + 1
    g.add_entry("alice", "person", CROP, MODEL, vec(rng))  # labels are case-insensitive: same identity
    assert g.revision() == r0 + 2 and len(g.identities()) == 1
    g.rename(ident, "Alice B")
    assert g.revision() == r0 + 3
    g.delete_entry(e1)
    assert g.revision() == r0 + 4


def test_refused_change_leaves_gallery_and_revision_untouched(tmp_path):
    g = Gallery(tmp_path / "g.db")
    rng = np.random.default_rng(1)
    a, _, _ = g.add_entry("Alice", "person", CROP, MODEL, vec(rng))
    g.add_entry("Bob", "person", CROP, MODEL, vec(rng))
    before, rev = contents(g), g.revision()
    with pytest.raises(GalleryError, match="already registered as a person"):
        g.add_entry("Alice", "vehicle", CROP, MODEL, vec(rng))
    with pytest.raises(GalleryError, match="already used"):
        g.rename(a, "BOB")
    with pytest.raises(GalleryError, match="No photo"):
        g.delete_entry(999)
    with pytest.raises(GalleryError, match="cannot be empty"):
        g.add_entry("   ", "person", CROP, MODEL, vec(rng))
    with pytest.raises(ReIdError, match="invalid feature"):  # a NaN feature would poison every search
        g.add_entry("Carol", "person", CROP, MODEL, np.full(DIM, np.nan, np.float32))
    assert contents(g) == before and g.revision() == rev


def test_a_failure_inside_a_transaction_rolls_everything_back(tmp_path, monkeypatch):
    """add_entry writes three rows; a failure on the last one (here: a broken feature insert) leaves none."""
    g = Gallery(tmp_path / "g.db")
    fill(g, 3)
    before, rev = contents(g), g.revision()
    g.db.execute("CREATE TRIGGER boom BEFORE INSERT ON features WHEN NEW.model = 'boom' "
                 "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
    with pytest.raises(GalleryError, match="was not changed: disk on fire"):
        g.add_entry("New person", "person", CROP, "boom", np.ones(DIM, np.float32))
    assert contents(g) == before and g.revision() == rev
    assert not g.db.in_transaction
    assert_sound(g)


def test_busy_gallery_is_explained_not_a_crash(tmp_path, monkeypatch):
    path = tmp_path / "g.db"
    g = Gallery(path)
    fill(g, 1)
    other = sqlite3.connect(str(path), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        g.db.execute("PRAGMA busy_timeout = 200")
        with pytest.raises(GalleryError, match="locked"):
            fill(g, 1, seed=5)
    finally:
        other.execute("ROLLBACK")
        other.close()
    fill(g, 1, seed=6)  # and it works again once the lock is gone
    assert len(g.entries()) == 2


# -- the derived index -------------------------------------------------------------------------------
def test_index_follows_changes_of_this_process(tmp_path):
    g = Gallery(tmp_path / "g.db")
    index = SearchIndex(g)
    assert index.get(MODEL, "person").size == 0
    rng = np.random.default_rng(2)
    v = vec(rng)
    ident, entry, _ = g.add_entry("Alice", "person", CROP, MODEL, v)
    idx = index.get(MODEL, "person")
    assert idx.size == 1 and idx.search(v[None])[0][0].identity_id == ident
    assert index.get(MODEL, "person") is idx  # not rebuilt while the revision stands still
    g.delete_entry(entry)
    assert index.get(MODEL, "person").size == 0


def test_index_follows_changes_of_another_process(tmp_path):
    path = tmp_path / "g.db"
    g = Gallery(path)
    index = SearchIndex(g)
    fill(g, 4)
    assert index.get(MODEL, "person").size == 4
    code = f"""
import sys, numpy as np
sys.path.insert(0, {str(ROOT)!r})
from Algorithm.storage.gallery import Gallery
g = Gallery({str(path)!r})
v = np.zeros({DIM}, np.float32); v[0] = 1
ident, entry, _ = g.add_entry("From the CLI", "person", b"x", {MODEL!r}, v)
g.delete_entry(min(e.id for e in g.entries()))
print(ident)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    new_ident = int(out.stdout.split()[-1])
    idx = index.get(MODEL, "person")
    assert idx.size == 4  # one added, one deleted, by the other process
    q = np.zeros((1, DIM), np.float32)
    q[0, 0] = 1
    hit = idx.search(q)[0][0]
    assert hit.identity_id == new_ident and hit.distance == pytest.approx(0, abs=1e-5)
    assert set(idx.identity_of) == {e.id for e in g.entries()}


# -- schema and migrations ---------------------------------------------------------------------------
def test_v0_file_migrates(tmp_path):
    """Version 0 is a file the app has not laid out yet: an empty SQLite file, or one with meta only."""
    empty = tmp_path / "empty.db"
    sqlite3.connect(str(empty)).close()
    meta_only = tmp_path / "meta_only.db"
    db = sqlite3.connect(str(meta_only))
    db.executescript("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "INSERT INTO meta VALUES ('schema_version', '0'), ('revision', '7');")
    db.close()
    for p in (empty, meta_only, tmp_path / "zero_bytes.db"):
        if p.name == "zero_bytes.db":
            p.write_bytes(b"")
        g = Gallery(p)
        assert g.schema_version() == SCHEMA_VERSION
        fill(g, 2)
        assert_sound(g)
        g.close()
    assert Gallery(meta_only).revision() == 7 + 2  # the old revision carries on


def test_old_version_with_data_migrates_and_keeps_it(tmp_path, monkeypatch):
    """A v1 file holding data opened by an app whose schema is v2 (simulated by adding a migration step)."""
    path = tmp_path / "g.db"
    g = Gallery(path)
    fill(g, 6)
    old = contents(g)
    g.close()
    step = "ALTER TABLE identities ADD COLUMN note TEXT NOT NULL DEFAULT ''; CREATE INDEX entries_created ON entries(created)"
    monkeypatch.setattr(gallery_mod, "MIGRATIONS", gallery_mod.MIGRATIONS + [step])
    monkeypatch.setattr(gallery_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    g = Gallery(path)
    assert g.schema_version() == SCHEMA_VERSION + 1
    assert contents(g) == old
    assert [r[0] for r in g.db.execute("SELECT note FROM identities")] == [""] * len(old[0])
    assert_sound(g)


def test_failed_migration_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "g.db"
    g = Gallery(path)
    fill(g, 4)
    old = contents(g)
    g.close()
    bad = "ALTER TABLE identities ADD COLUMN note TEXT; INSERT INTO no_such_table VALUES (1)"
    monkeypatch.setattr(gallery_mod, "MIGRATIONS", gallery_mod.MIGRATIONS + [bad])
    monkeypatch.setattr(gallery_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(GalleryError, match="not a readable gallery"):
        Gallery(path)
    monkeypatch.undo()
    g = Gallery(path)  # the old app still opens it, unchanged: the half-done step was rolled back
    assert g.schema_version() == SCHEMA_VERSION and contents(g) == old
    assert "note" not in [r[1] for r in g.db.execute("PRAGMA table_info(identities)")]


def test_newer_version_is_refused_with_a_clear_message_and_left_alone(tmp_path):
    path = tmp_path / "g.db"
    g = Gallery(path)
    fill(g, 3)
    g.db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    g.close()
    before = sha(path)
    with pytest.raises(GalleryError, match=r"newer version of the app \(schema %d\); update the app" % (SCHEMA_VERSION + 1)):
        Gallery(path)
    assert sha(path) == before


@pytest.mark.parametrize("kind", ["text", "random", "foreign_sqlite", "folder", "bad_version"])
def test_files_that_are_no_gallery_are_refused(tmp_path, kind):
    path = tmp_path / "g.db"
    if kind == "text":
        path.write_text("these are my notes, not a gallery\n" * 100)
    elif kind == "random":
        path.write_bytes(os.urandom(8192))
    elif kind == "foreign_sqlite":
        db = sqlite3.connect(str(path))
        db.execute("CREATE TABLE invoices(id INTEGER, total REAL)")
        db.commit()
        db.close()
    elif kind == "folder":
        path.mkdir()
    else:
        Gallery(path).db.execute("UPDATE meta SET value='banana' WHERE key='schema_version'")
    before = sha(path) if path.is_file() else None
    with pytest.raises(GalleryError) as e:
        Gallery(path)
    assert str(path) in str(e.value)
    if kind == "foreign_sqlite":
        assert "another program" in str(e.value)
        assert sha(path) == before  # somebody else's database is not touched


# -- killed processes --------------------------------------------------------------------------------
def _check_after_kill(path: Path, last_logged: int, previous: int) -> int:
    g = Gallery(path)
    try:
        assert_sound(g)
        rev = g.revision()
        # the change in flight when killed either committed (rev = logged + 1) or left nothing (rev = logged)
        assert last_logged <= rev <= last_logged + 1, (rev, last_logged)
        assert rev >= previous
        sources = [int(e.source) for e in g.entries() if e.source.isdigit()]
        assert not sources or max(sources) <= rev
        idx = SearchIndex(g).get(MODEL, "person")
        if idx.size:  # a stored vector finds its own identity
            eid, ident, vecs = g.features(MODEL, "person")
            k = len(eid) // 2
            hit = idx.search(vecs[k : k + 1], k_identities=1)[0][0]
            assert hit.identity_id == ident[k] and hit.distance == pytest.approx(0, abs=1e-4)
        return rev
    finally:
        g.close()


def test_killing_a_registering_process_never_corrupts_the_gallery(tmp_path):
    path, log = tmp_path / "g.db", tmp_path / "ops.log"
    rng = random.Random(6)
    previous, kills, changes = 0, 0, 0
    for round_ in range(25):
        code = kill_when_busy([CHILD, path, "--seed", round_, "--log", log], rng.uniform(0.0, 0.3))
        kills += code != 0
        lines = log.read_text().split()
        last = int(lines[-1]) if lines else 0
        changes = len(lines)
        previous = _check_after_kill(path, last, previous)
    assert kills == 25
    assert changes > 100, "the children should have committed many changes between kills"


# -- concurrent processes ----------------------------------------------------------------------------
def test_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "g.db"
    g = Gallery(path)
    rev0 = g.revision()
    procs = [
        subprocess.Popen([sys.executable, str(CHILD), str(path), "--seed", str(p), "--ops", "60", "--proc", str(p)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for p in range(3)
    ]
    # meanwhile this process reads and rebuilds its index, like a GUI beside the CLI
    index = SearchIndex(g)
    while any(p.poll() is None for p in procs):
        idx = index.get(MODEL, "person")
        assert idx.size == len(idx.identity_of)
        time.sleep(0.01)
    results = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert_sound(g)
    assert g.revision() == rev0 + sum(r["tx"] for r in results)  # every committed change counted once
    live = set().union(*(r["live"] for r in results))
    assert {e.id for e in g.entries()} == live  # no lost insert, no lost delete
    assert index.get(MODEL, "person").size == len(live)


# -- backup and restore ------------------------------------------------------------------------------
def test_backup_is_one_consistent_file_and_restore_puts_it_back(tmp_path):
    path = tmp_path / "g.db"
    g = Gallery(path)
    fill(g, 8)
    saved = contents(g)
    backup = g.backup(tmp_path / "backups" / "g-backup.db")
    assert backup.is_file()
    assert not list(backup.parent.glob("*-wal")) and not list(backup.parent.glob("*.part"))
    assert sqlite3.connect(str(backup)).execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    backup_hash = sha(backup)

    other_view = Gallery(path)  # e.g. the GUI's engine on the same file, with its index
    view_index = SearchIndex(other_view)
    assert view_index.get(MODEL, "person").size == 8
    for e in g.entries()[:5]:
        g.delete_entry(e.id)
    fill(g, 2, seed=9)
    rev_before = g.revision()
    g.restore(backup)
    assert contents(g) == saved
    assert g.revision() > rev_before  # every index on the file rebuilds...
    assert view_index.get(MODEL, "person").size == 8  # ...also another connection's
    assert_sound(g)
    # the backup was read, never written: same bytes, no WAL/SHM beside it
    assert sha(backup) == backup_hash
    assert sorted(p.name for p in backup.parent.iterdir()) == ["g-backup.db"]
    fill(g, 1, seed=10)  # and the restored gallery takes new work
    assert len(g.entries()) == 9


def test_restore_of_an_old_version_backup_migrates_a_copy(tmp_path):
    old = tmp_path / "old-backup.db"
    db = sqlite3.connect(str(old))
    db.executescript("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "INSERT INTO meta VALUES ('schema_version', '0'), ('revision', '3');")
    db.close()
    before = sha(old)
    g = Gallery(tmp_path / "g.db")
    fill(g, 3)
    g.restore(old)
    assert g.identities() == [] and g.schema_version() == SCHEMA_VERSION
    assert sha(old) == before


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "foreign_sqlite", "newer", "itself", "damaged"])
def test_bad_backups_are_refused_and_the_gallery_kept(tmp_path, kind):
    path = tmp_path / "g.db"
    g = Gallery(path)
    fill(g, 5)
    before = contents(g)
    src = tmp_path / "backup.db"
    if kind == "empty":
        src.write_bytes(b"")
    elif kind == "text":
        src.write_text("hello")
    elif kind == "foreign_sqlite":
        db = sqlite3.connect(str(src))
        db.execute("CREATE TABLE t(x)")
        db.commit()
        db.close()
    elif kind == "newer":
        g.backup(src)
        db = sqlite3.connect(str(src))
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        db.commit()
        db.close()
    elif kind == "itself":
        src = path
    elif kind == "damaged":
        g.backup(src)
        data = bytearray(src.read_bytes())
        data[4096 * 2 : 4096 * 2 + 2000] = os.urandom(2000)  # garbage over a table page
        src.write_bytes(bytes(data))
    with pytest.raises(GalleryError) as e:
        g.restore(src)
    assert str(src) in str(e.value)
    assert contents(g) == before
    assert_sound(g)


def test_a_damaged_gallery_is_read_not_written_and_a_backup_restores_it(tmp_path):
    """A disk fault in the middle of the file: SQLite still opens it, and writing into it could lose more."""
    p, bk = tmp_path / "g.db", tmp_path / "monday.db"
    g = Gallery(p)
    rng = np.random.default_rng(0)
    for k in range(40):
        g.add_entry(f"person {k}", "person", CROP * 300 + bytes([k]), MODEL, vec(rng))
    g.backup(bk)
    saved, rev = contents(g), g.revision()
    n_pages = g.db.execute("PRAGMA page_count").fetchone()[0]
    g.close()
    damage_sqlite_pages(p, [n_pages // 2, n_pages // 2 + 1])
    damaged = sha(p)

    g = Gallery(p)
    assert g.damage and "damaged" in g._damaged_text("x")
    assert g.identities()  # what is readable is shown
    with pytest.raises(GalleryError, match="is damaged .*nothing was written to it.*Restore a backup"):
        g.add_entry("new", "person", CROP, MODEL, vec(rng))
    with pytest.raises(GalleryError, match="damaged"):
        g.rename(1, "other")
    with pytest.raises(GalleryError, match="no backup was made"):
        g.backup(tmp_path / "tuesday.db")
    assert not (tmp_path / "tuesday.db").exists()
    g.close()
    listed = _cli("gallery", "--gallery", str(p), "list")
    assert listed.returncode == 0 and "warning: The gallery" in listed.stderr and "is damaged" in listed.stderr
    renamed = _cli("gallery", "--gallery", str(p), "rename", "person 1", "other")
    assert renamed.returncode == 2 and "nothing was written to it" in renamed.stderr, renamed.stderr
    assert sha(p) == damaged  # opened and closed: not one byte written

    g = Gallery(p)
    g.restore(bk)  # the damaged rows cannot be rewritten: the backup takes the file's place
    assert g.damage == [] and contents(g) == saved and g.revision() > rev
    assert_sound(g)
    kept = list(tmp_path.glob("g.db.damaged-*"))
    assert [sha(k) for k in kept if not k.name.endswith(("-wal", "-shm"))] == [damaged]  # never deleted
    g.add_entry("new", "person", CROP, MODEL, vec(rng))  # writable again
    g.close()
    assert Gallery(p).damage == []


@pytest.fixture
def read_only_folder(tmp_path):
    """(folder to fill, the same folder mounted read-only): what a write-protected disk or share looks like, even to
    root (who ignores file modes). Skipped where mounts are not allowed."""
    src, mnt = tmp_path / "disk", tmp_path / "mounted"
    src.mkdir()
    mnt.mkdir()
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("a read-only mount needs root on Linux")
    if subprocess.run(["mount", "--bind", str(src), str(mnt)], capture_output=True).returncode:
        pytest.skip("mounts are not allowed here")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(mnt)], capture_output=True).returncode:
            pytest.skip("read-only remounts are not allowed here")
        yield src, mnt
    finally:
        left = subprocess.run(["umount", str(mnt)], capture_output=True, text=True)
        assert left.returncode == 0, f"a file on the mount was left open: {left.stderr}"


def test_a_gallery_on_a_read_only_disk_is_searched_and_never_written(read_only_folder):
    """Evidence handed over on a write-protected disk: SQLite's WAL wants a -shm file beside the gallery."""
    src, mnt = read_only_folder
    g = Gallery(src / "g.db")
    fill(g, 6)
    saved = contents(g)
    g.close()
    before = sorted(p.name for p in src.iterdir())

    g = Gallery(mnt / "g.db")
    assert g.read_only and contents(g) == saved
    assert SearchIndex(g).get(MODEL, "person").size == 6  # searchable
    with pytest.raises(GalleryError, match="is read-only .*nothing was written to it"):
        g.add_entry("someone", "person", CROP, MODEL, vec(np.random.default_rng(1)))
    g.backup(src.parent / "copy.db")  # a copy to work on
    g.close()
    assert sorted(p.name for p in src.iterdir()) == before
    copy = Gallery(src.parent / "copy.db")
    assert not copy.read_only and contents(copy) == saved
    copy.close()


def test_a_search_from_a_read_only_disk_goes_on_without_the_library(read_only_folder):
    from Algorithm.outer_api import Engine, Finished, Settings

    from testdata import MARKET, PED_VIDEO

    src, mnt = read_only_folder
    eng = Engine(src / "g.db", Settings(keep_frames=False))
    eng.register(sorted(MARKET.glob("*.jpg"))[0], "Anna", whole=True)
    eng.close()
    eng = Engine(mnt / "g.db", Settings(keep_frames=False, sample_ft=5))
    try:
        assert "is read-only" in eng.gallery_caution and "cannot be made" in eng.footage_caution
        report = next(ev.report for ev in eng.search(PED_VIDEO, max_frames=30) if isinstance(ev, Finished))
        assert report.files[0].error is None and report.files[0].stats.frames_processed == 6
        with pytest.raises(GalleryError, match="cannot be made"):
            next(iter(eng.index(PED_VIDEO)))
    finally:
        eng.close()


def test_a_gallery_whose_file_cannot_be_written_opens_read_only(tmp_path, monkeypatch):
    """The same without a mount (a file marked read-only; root ignores the mark, so it is faked)."""
    from Algorithm.storage import sqlite_store

    g = Gallery(tmp_path / "g.db")
    fill(g, 3)
    saved = contents(g)
    g.close()
    digest = sha(tmp_path / "g.db")
    monkeypatch.setattr(sqlite_store.os, "access", lambda p, mode: Path(p) != tmp_path / "g.db")
    g = Gallery(tmp_path / "g.db")
    assert g.read_only and contents(g) == saved
    with pytest.raises(GalleryError, match="read-only"):
        g.rename(1, "x")
    g.close()
    assert sha(tmp_path / "g.db") == digest


def test_backup_onto_the_gallery_itself_is_refused(tmp_path):
    g = Gallery(tmp_path / "g.db")
    fill(g, 2)
    with pytest.raises(GalleryError, match="the gallery itself"):
        g.backup(tmp_path / "g.db")
    assert len(g.entries()) == 2 and g.check() == []


def test_backup_while_another_process_writes_is_consistent(tmp_path):
    path = tmp_path / "g.db"
    g = Gallery(path)
    fill(g, 5)
    writer = subprocess.Popen([sys.executable, str(CHILD), str(path), "--seed", "4", "--ops", "150", "--proc", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    n = 0
    while writer.poll() is None or n < 3:
        b = g.backup(tmp_path / f"b{n % 3}.db")
        copy = Gallery(b)
        assert_sound(copy)
        copy.close()
        n += 1
    assert writer.wait(timeout=60) == 0


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "Algorithm", *args], cwd=ROOT, capture_output=True, text=True, errors="replace",
                          timeout=120, env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def test_cli_backup_and_restore(tmp_path):
    path = tmp_path / "gallery dir ü" / "g.db"
    g = Gallery(path)
    fill(g, 6)
    saved = contents(g)
    g.close()
    dest = tmp_path / "backups ñ" / "saved.db"
    r = _cli("gallery", "--gallery", str(path), "backup", str(dest))
    assert r.returncode == 0, r.stderr
    assert "gallery saved to" in r.stdout and dest.is_file()
    dest_hash = sha(dest)

    g = Gallery(path)
    for e in g.entries()[:4]:
        g.delete_entry(e.id)
    g.close()
    r = _cli("gallery", "--gallery", str(path), "restore", str(dest))
    assert r.returncode == 0, r.stderr
    assert "gallery restored from" in r.stdout
    g = Gallery(path)
    assert contents(g) == saved
    assert_sound(g)
    assert sha(dest) == dest_hash and sorted(p.name for p in dest.parent.iterdir()) == ["saved.db"]

    bad = tmp_path / "not-a-backup.db"
    bad.write_text("nope")
    r = _cli("gallery", "--gallery", str(path), "restore", str(bad))
    assert r.returncode == 2 and "error:" in r.stderr and "not a gallery backup" in r.stderr
    assert contents(g) == saved


# -- property: SQLite and the Faiss index always agree -----------------------------------------------
ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 7), st.sampled_from(["person", "vehicle"]), st.integers(0, 2**31)),
        st.tuples(st.just("add_other_model"), st.integers(0, 7), st.integers(0, 2**31)),
        st.tuples(st.just("rename"), st.integers(0, 50), st.integers(0, 9)),
        st.tuples(st.just("delete_entry"), st.integers(0, 50)),
        st.tuples(st.just("delete_identity"), st.integers(0, 50)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_sqlite_and_index_agree_under_random_changes(steps):
    with tempfile.TemporaryDirectory() as tmp:
        g = Gallery(Path(tmp) / "g.db")
        g.db.execute("PRAGMA synchronous=OFF")  # speed only; durability is the kill test's business
        index = SearchIndex(g)
        stored: dict[int, tuple[np.ndarray, str, str]] = {}  # entry -> (vector, model, category)
        deleted: set[int] = set()
        for n, step in enumerate(steps):
            kind = step[0]
            entries = sorted(stored)
            idents = sorted(g.labels())
            try:
                if kind == "add":
                    _, label, cat, seed = step
                    v = vec(np.random.default_rng([seed, n]))  # distinct per step: no two photos tie
                    _, e, _ = g.add_entry(f"L{label}-{cat}", cat, CROP, MODEL, v)
                    stored[e] = (v, MODEL, cat)
                elif kind == "add_other_model":  # another model's features (other dimension) under the same labels
                    _, label, seed = step
                    v = vec(np.random.default_rng([seed, n]), 8)
                    _, e, _ = g.add_entry(f"L{label}-person", "person", CROP, "other-model", v)
                    stored[e] = (v, "other-model", "person")
                elif kind == "rename" and idents:
                    g.rename(idents[step[1] % len(idents)], f"R{step[2]}")
                elif kind == "delete_entry" and entries:
                    e = entries[step[1] % len(entries)]
                    g.delete_entry(e)
                    deleted.add(e)
                elif kind == "delete_identity" and idents:
                    ident = idents[step[1] % len(idents)]
                    gone = {e.id for e in g.entries(ident)}
                    g.delete_identity(ident)
                    deleted |= gone
            except GalleryError:
                pass  # refused (label taken, category clash): must change nothing, checked below
            for e in deleted:
                stored.pop(e, None)
            _check_agreement(g, index, stored, deleted)
        g.close()


def _check_agreement(g, index, stored, deleted):
    assert g.check() == []
    live = {e.id: e.identity_id for e in g.entries()}
    assert set(live) == set(stored)
    for model, dim in ((MODEL, DIM), ("other-model", 8)):
        for cat in ("person", "vehicle"):
            mine = {e: s for e, s in stored.items() if s[1] == model and s[2] == cat}
            if any(s[2] == cat and s[1] != model for s in stored.values()):
                # photos only another model embedded: searching with this model is refused, and explained...
                with pytest.raises(ModelError, match="cannot be compared"):
                    index.get(model, cat)
                idx = FeatureIndex(*g.features(model, cat))  # ...and what it would search holds none of them
            else:
                idx = index.get(model, cat)
            n_rows = g.db.execute(
                "SELECT COUNT(*) FROM features f JOIN entries e ON e.id = f.entry_id JOIN identities i ON i.id = e.identity_id "
                "WHERE f.model = ? AND i.category = ?", (model, cat)).fetchone()[0]
            assert idx.size == n_rows == len(mine)
            assert set(idx.identity_of) == set(mine)  # never another model's or category's entry
            if not mine:
                continue
            assert idx.dim == dim
            entries = sorted(mine)
            hits = idx.search(np.stack([mine[e][0] for e in entries]), k_identities=50)
            for e, h in zip(entries, hits):
                assert h[0].identity_id == live[e] and h[0].distance == pytest.approx(0, abs=1e-4)
                assert not {x.entry_id for x in h} & deleted
                assert {x.identity_id for x in h} <= set(live.values())


def test_labels_are_one_identity_whatever_their_case_and_unicode_form(tmp_path):
    import unicodedata

    from Algorithm.rules import label_key

    g = Gallery(tmp_path / "g.db")
    rng = np.random.default_rng(0)
    nfd = unicodedata.normalize("NFD", "Ölaf")  # what a macOS file name gives: O + combining diaeresis
    assert nfd != "Ölaf" and label_key(nfd) == label_key("ölaf") == label_key(" ÖLAF ")
    first, _, created = g.add_entry("Ölaf", "person", CROP, MODEL, vec(rng))
    assert created
    for label in ("ölaf", nfd, "ÖLAF"):  # SQLite's NOCASE folds ASCII only: these were three more identities
        ident, _, created = g.add_entry(label, "person", CROP, MODEL, vec(rng))
        assert (ident, created) == (first, False), label
    (info,) = g.identities()
    assert info.label == "Ölaf" and info.n_entries == 4
    other, _, _ = g.add_entry("Zoë", "person", CROP, MODEL, vec(rng))
    with pytest.raises(GalleryError, match="already used"):
        g.rename(other, "öLAF")
    g.rename(other, unicodedata.normalize("NFD", "Zoë Ann"))
    assert {i.label for i in g.identities()} == {"Ölaf", "Zoë Ann"}  # stored in one (NFC) form
    assert_sound(g)
    g.close()
