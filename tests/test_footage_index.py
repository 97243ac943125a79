"""The footage index ("process once, search forever"): sources, tracks, boxes, thumbnails and features in
SQLite, the derived Faiss index per (model, category) kept in step and persisted beside it.

Synthetic L2-normalised features of dimension 256 and 512 (storage needs no model)."""
from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import faiss
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from Algorithm import media
from Algorithm.errors import GalleryError, ModelError
from Algorithm.storage import footage_index as fx
from Algorithm.storage.footage_index import SCHEMA_VERSION, FootageIndex, ModelFeatures, TrackRecord, index_ids

from testdata import kill_when_busy

ROOT = Path(__file__).resolve().parent.parent
CHILD = ROOT / "tests" / "helpers" / "kill_indexing.py"
A, DA = "synthetic-256", 256
B, DB = "synthetic-512", 512
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


def unit(rng, n, dim):
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def track(rng, no=0, category="person", models=((A, DA),), n=40, start=100) -> TrackRecord:
    frames = start + np.arange(n) * 2
    xy = rng.uniform(0, 1900, (n, 2)).round()
    boxes = np.hstack([xy, xy + rng.uniform(30, 200, (n, 2)).round()])
    feats = {m: ModelFeatures(unit(rng, 1, d)[0], unit(rng, 4, d)) for m, d in models}
    return TrackRecord(category, no, frames, boxes, int(frames[n // 2]), tuple(boxes[n // 2]), feats, JPEG)


def video(folder: Path, name="cam1.mp4", size=3 * 1024 * 1024 + 17, seed=0) -> Path:
    p = folder / name
    p.write_bytes(np.random.default_rng(seed).bytes(size))
    return p


def assert_agree(store: FootageIndex) -> None:
    """SQLite sound, and every loaded or loadable index holds exactly SQLite's tracks."""
    assert store.check() == []
    keys = store.db.execute("SELECT DISTINCT f.model, t.category FROM features f JOIN tracks t ON t.id = f.track_id").fetchall()
    for model, cat in keys:
        ids, vecs = store.features(model, cat)
        v = store._load(model, cat)
        assert sorted(index_ids(v.index).tolist()) == ids.tolist()
        k = len(ids) // 2
        hit = store.nearest(model, cat, vecs[k], 1)[0][0]
        assert hit[0] == ids[k] and hit[1] == pytest.approx(0, abs=1e-4)


# -- round trip --------------------------------------------------------------------------------------
def test_round_trip_of_sources_tracks_boxes_thumbnails_and_features(tmp_path):
    store = FootageIndex(tmp_path / "f.db")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rng = np.random.default_rng(0)
    src = video(tmp_path)
    tracks = [track(rng, 0), track(rng, 1, "vehicle", ((A, DA), (B, DB)), n=300, start=7), track(rng, 2, n=1)]
    w = store.begin_source(src, camera="Gate 2", fps=25.0, frames=9000, duration_s=360.0)
    w.add_tracks(tracks[:2])
    assert store.sources() == []  # nothing written before finish
    w.add_tracks(tracks[2:])
    sid = w.finish()
    [s] = store.sources()
    assert (s.id, s.path, s.camera, s.status, s.fps, s.frames, s.duration_s, s.n_tracks) == \
        (sid, str(src), "Gate 2", "done", 25.0, 9000, 360.0, 3)
    assert s.size == src.stat().st_size and len(s.hash) == 64
    infos = store.tracks(source=src)
    assert [t.track_no for t in infos] == [0, 1, 2]
    for rec, info in zip(tracks, infos):
        full = store.track(info.id)
        assert full.info == info
        assert np.array_equal(full.frames, rec.frames)
        assert np.array_equal(full.boxes, rec.boxes.astype(np.float32))
        assert info.start_frame == rec.frames[0] and info.end_frame == rec.frames[-1]
        assert info.start_s == pytest.approx(rec.frames[0] / 25.0) and info.end_s == pytest.approx(rec.frames[-1] / 25.0)
        assert info.best_frame == rec.best_frame and info.best_box == pytest.approx(rec.best_box)
        assert info.thumbnail == JPEG and info.camera == "Gate 2"
        assert set(full.features) == set(rec.features) and info.models == tuple(sorted(rec.features))
        for m, f in rec.features.items():
            assert np.array_equal(full.features[m].aggregate, f.aggregate)
            assert np.array_equal(full.features[m].crops, f.crops)
    assert [t.track_no for t in store.tracks(category="vehicle")] == [1]
    assert [t.track_no for t in store.tracks(model=B)] == [1]
    ids, vecs = store.features(A, "person")
    assert ids.tolist() == [infos[0].id, infos[2].id] and vecs.shape == (2, DA)
    assert store.nearest(B, "vehicle", tracks[1].features[B].aggregate, 5)[0][0][0] == infos[1].id
    assert store.nearest(B, "person", unit(rng, 1, DB), 5) == [[]]
    with pytest.raises(ModelError, match="256-d"):
        store.nearest(A, "person", unit(rng, 1, DB), 5)
    with pytest.raises(GalleryError, match="No track"):
        store.track(999)
    store.close()
    again = FootageIndex(tmp_path / "f.db")
    assert again.tracks() == infos


def test_boxes_are_compact(tmp_path):
    rng = np.random.default_rng(1)
    t = track(rng, n=300)
    blob = fx.pack_boxes(t.frames, t.boxes)
    assert len(blob) < 300 * (8 + 16) / 2  # under half of int64 frames + float32 boxes
    frames, boxes = fx.unpack_boxes(blob, 300)
    assert np.array_equal(frames, t.frames) and np.array_equal(boxes, t.boxes)


def test_reindexing_a_source_replaces_its_tracks_and_context_manager_records_failures(tmp_path):
    store = FootageIndex(tmp_path / "f.db")
    rng = np.random.default_rng(2)
    src = video(tmp_path)
    with store.source(src, fps=10) as w:
        w.add_tracks([track(rng, k) for k in range(5)])
    first = {t.id for t in store.tracks()}
    assert store.index_size(A, "person") == 5
    with store.source(src, fps=10) as w:
        w.add_tracks([track(rng, k) for k in range(2)])
        w.finish("partial", "stopped by the user")
    assert store.source_status(src).status == "partial" and store.source_status(src).reason == "stopped by the user"
    assert len(store.tracks()) == 2 and not first & {t.id for t in store.tracks()}
    assert store.index_size(A, "person") == 2
    with pytest.raises(RuntimeError):
        with store.source(src) as w:
            w.add_tracks([track(rng, 9)])
            raise RuntimeError("decoder gave up at frame 812")
    s = store.source_status(src)
    assert s.status == "failed" and "decoder gave up" in s.reason
    assert store.tracks() == [] and store.index_size(A, "person") == 0
    assert_agree(store)


def test_invalid_input_changes_nothing(tmp_path):
    store = FootageIndex(tmp_path / "f.db")
    rng = np.random.default_rng(3)
    src = video(tmp_path)
    with store.source(src) as w:
        w.add_tracks([track(rng)])
    before, rev = store.tracks(), store.revision()
    bad = track(rng)
    bad.features[A] = ModelFeatures(np.full(DA, np.nan, np.float32))
    w = store.begin_source(src)
    w.add_tracks([track(rng), bad])
    with pytest.raises(ModelError, match="invalid feature"):
        w.finish()
    with pytest.raises(GalleryError, match="Unknown source status"):
        store.begin_source(src).finish("maybe")
    with pytest.raises(GalleryError, match="Cannot read"):
        store.begin_source(tmp_path / "nope.mp4")
    assert store.tracks() == before and store.revision() == rev
    assert_agree(store)


# -- changed and missing files -----------------------------------------------------------------------
def test_changed_and_missing_files_are_noticed(tmp_path):
    store = FootageIndex(tmp_path / "f.db")
    rng = np.random.default_rng(4)
    assert store.source_status(tmp_path / "never.mp4").status == "new"
    paths = {k: video(tmp_path, f"{k}.mp4", seed=i) for i, k in enumerate(["same", "touched", "grown", "edited", "gone"])}
    for p in paths.values():
        with store.source(p) as w:
            w.add_tracks([track(rng)])
    assert {store.source_status(p).status for p in paths.values()} == {"done"}
    os.utime(paths["touched"], ns=(time.time_ns(), time.time_ns() + 10**9))  # same bytes, new time: still done
    with open(paths["grown"], "ab") as fh:
        fh.write(b"more frames")
    data = bytearray(paths["edited"].read_bytes())
    data[-10] ^= 0xFF  # same size, last MiB differs
    paths["edited"].write_bytes(bytes(data))
    paths["gone"].unlink()
    got = {k: store.source_status(p) for k, p in paths.items()}
    assert got["same"].status == "done" and got["touched"].status == "done"
    assert got["grown"].status == "changed" and "size" in got["grown"].reason
    assert got["edited"].status == "changed" and "content" in got["edited"].reason
    assert got["gone"].status == "missing" and got["gone"].source_id is not None
    assert store.remove_source(paths["gone"]) and not store.remove_source(paths["gone"])
    assert store.source_status(paths["gone"]).status == "new"
    assert len(store.tracks()) == 4
    assert_agree(store)


def test_a_moved_file_keeps_its_tracks_under_its_new_path(tmp_path):
    from Algorithm.sinks.footage_sink import FootageSink

    store = FootageIndex(tmp_path / "f.db")
    rng = np.random.default_rng(5)
    (tmp_path / "cam1").mkdir()
    (tmp_path / "archive").mkdir()
    old = video(tmp_path / "cam1", "a.mp4", seed=1)
    kept = video(tmp_path / "cam1", "b.mp4", seed=2)
    for p in (old, kept):
        with store.source(p, camera="cam1") as w:
            w.add_tracks([track(rng), track(rng, no=1)])
    copy = tmp_path / "archive" / "b-copy.mp4"
    copy.write_bytes(kept.read_bytes())  # a copy: the original is still there, so it is a file of its own
    new = tmp_path / "archive" / "renamed.mp4"
    old.rename(new)
    sink = FootageSink(store)
    assert not sink.wanted(new)  # not processed again...
    assert sink.wanted(copy)
    paths = {s.path: s for s in store.sources()}
    assert str(old) not in paths and paths[str(new)].camera == "cam1" and paths[str(new)].n_tracks == 2  # ...nor twice
    assert store.source_status(new).status == "done" and {t.source_path for t in store.tracks()} == {str(new), str(kept)}
    assert store.adopt_moved(copy) is None  # nothing missing has its bytes
    assert_agree(store)


def test_only_tracks_a_model_embedded_are_left_to_embed_after_a_switch(tmp_path):
    store = FootageIndex(tmp_path / "f.db")
    rng = np.random.default_rng(6)
    with store.source(video(tmp_path, "cam.mp4")) as w:
        w.add_tracks([track(rng, no=0), track(rng, no=1, models=())])  # the second was never looked at (too short)
    looked, never = sorted(t.id for t in store.tracks())
    assert store.tracks_without("another-model", "person") == [looked]  # "no stored crop" counted the other too
    assert store.tracks_without(A, "person") == []


def test_fingerprint_reads_both_ends(tmp_path):
    p = video(tmp_path, size=5 * media.HASH_CHUNK)
    h = media.fingerprint(p)
    data = bytearray(p.read_bytes())
    data[2 * media.HASH_CHUNK] ^= 1  # the middle is not read (documented)
    p.write_bytes(bytes(data))
    assert media.fingerprint(p) == h
    data[0] ^= 1
    p.write_bytes(bytes(data))
    assert media.fingerprint(p) != h
    small = video(tmp_path, "small.mp4", size=10)
    assert len(media.fingerprint(small)) == 64


# -- schema ------------------------------------------------------------------------------------------
def test_migrations_and_refusals(tmp_path, monkeypatch):
    path = tmp_path / "f.db"
    store = FootageIndex(path)
    rng = np.random.default_rng(5)
    with store.source(video(tmp_path)) as w:
        w.add_tracks([track(rng)])
    old = store.tracks()
    store.close()
    monkeypatch.setattr(fx, "MIGRATIONS", fx.MIGRATIONS + ["ALTER TABLE sources ADD COLUMN note TEXT NOT NULL DEFAULT ''"])
    monkeypatch.setattr(fx, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    store = FootageIndex(path)
    assert store.schema_version() == SCHEMA_VERSION + 1 and store.tracks() == old
    store.close()
    monkeypatch.undo()
    with pytest.raises(GalleryError, match="newer version"):
        FootageIndex(path)
    foreign = tmp_path / "other.db"
    db = sqlite3.connect(str(foreign))
    db.execute("CREATE TABLE invoices(id)")
    db.commit()
    db.close()
    with pytest.raises(GalleryError, match="another program"):
        FootageIndex(foreign)
    (tmp_path / "text.db").write_text("notes " * 1000)
    with pytest.raises(GalleryError, match="not a readable footage index"):
        FootageIndex(tmp_path / "text.db")


# -- the persisted vector index ----------------------------------------------------------------------
def _filled(tmp_path, n_sources=4, per=6) -> FootageIndex:
    store = FootageIndex(tmp_path / "f.db")
    rng = np.random.default_rng(6)
    for s in range(n_sources):
        with store.source(video(tmp_path, f"c{s}.mp4", size=1000, seed=s)) as w:
            w.add_tracks([track(rng, k, models=((A, DA), (B, DB))) for k in range(per)])
    return store


def test_persisted_index_is_reused_caught_up_or_rebuilt(tmp_path):
    store = _filled(tmp_path)
    store.nearest(A, "person", unit(np.random.default_rng(0), 1, DA))
    assert store.events == [("rebuilt", A, "person")]  # first use: no file yet
    store.close()
    files = sorted(store.vectors_dir.glob("*.faiss"))
    assert len(files) == 1

    store = FootageIndex(tmp_path / "f.db")
    assert store.index_size(A, "person") == 24
    assert store.events == [("loaded", A, "person")]  # reused, not rebuilt
    assert_agree(store)
    store.remove_source(tmp_path / "c0.mp4")  # incremental: remove_ids on the loaded indexes
    assert [e for e in store.events if e[1] == A] == [("loaded", A, "person")] and store.index_size(A, "person") == 18
    store.db.close()  # killed before saving: the file on disk is one change behind
    store.db = None

    store = FootageIndex(tmp_path / "f.db")
    assert store.index_size(A, "person") == 18 and store.events == [("caught_up", A, "person")]
    assert_agree(store)
    store.close()
    files = [store._vector_file(A, "person")]

    files[0].write_bytes(files[0].read_bytes()[: 5000])  # truncated
    store = FootageIndex(tmp_path / "f.db")
    assert store.index_size(A, "person") == 18 and store.events == [("rebuilt", A, "person")]
    store.close()
    files[0].write_bytes(os.urandom(3000))  # garbage
    store = FootageIndex(tmp_path / "f.db")
    assert store.index_size(A, "person") == 18 and store.events == [("rebuilt", A, "person")]
    store.close()
    files[0].unlink()
    store = FootageIndex(tmp_path / "f.db")
    assert store.index_size(A, "person") == 18 and store.events[-1] == ("rebuilt", A, "person")
    assert_agree(store)
    store.close()
    assert not list(store.vectors_dir.glob("*.part"))


def test_index_follows_another_process(tmp_path):
    store = _filled(tmp_path, 2, 3)
    assert store.index_size(A, "person") == 6
    other = FootageIndex(tmp_path / "f.db")  # e.g. the CLI beside the GUI
    rng = np.random.default_rng(9)
    t = track(rng, 0)
    with other.source(video(tmp_path, "new.mp4", size=500)) as w:
        w.add_tracks([t])
    other.remove_source(tmp_path / "c0.mp4")
    other.close()
    hit = store.nearest(A, "person", t.features[A].aggregate, 1)[0][0]
    assert hit[1] == pytest.approx(0, abs=1e-5) and store.index_size(A, "person") == 4
    assert ("caught_up", A, "person") in store.events
    assert_agree(store)


def assert_reloads_ivf(path) -> None:
    """Reopened, the store loads its saved IVF index as it is and that index holds exactly SQLite's tracks."""
    store = FootageIndex(path)
    assert store.index_kind(A, "person") == "ivf" and store.events == [("loaded", A, "person")]
    assert_agree(store)
    store.close()


def settle(store: FootageIndex) -> None:
    """Waits for the indexes being built again on a thread (FootageIndex._rebuild) to be taken in."""
    for v in list(store._vectors.values()):
        t = v.build
        if t is not None:
            t.join(60)
            assert not t.is_alive()


def test_switches_to_ivf_past_the_limit_and_back(tmp_path, monkeypatch):
    monkeypatch.setattr(fx, "IVF_FROM", 600)
    monkeypatch.setattr(fx, "IVF_MIN_LIST", 8)
    store = FootageIndex(tmp_path / "f.db")
    store.db.execute("PRAGMA synchronous=OFF")
    rng = np.random.default_rng(10)
    paths = []
    for s in range(8):
        paths.append(video(tmp_path, f"c{s}.mp4", size=100, seed=s))
        with store.source(paths[-1]) as w:
            w.add_tracks([track(rng, k, n=2) for k in range(100)])
        store.index_size(A, "person")
    settle(store)
    assert store.index_kind(A, "person") == "ivf" and ("switched", A, "person") in store.events
    assert_agree(store)
    store.close()
    store = FootageIndex(tmp_path / "f.db")
    assert store.index_kind(A, "person") == "ivf" and store.events == [("loaded", A, "person")]
    for p in paths[:6]:
        store.remove_source(p)
    settle(store)
    assert store.index_kind(A, "person") == "flat" and store.index_size(A, "person") == 200
    assert_agree(store)


# -- the index built again on a thread ---------------------------------------------------------------
@pytest.fixture
def gated(monkeypatch):
    """Small IVF thresholds, and build_vectors held at a gate once armed (by whichever thread runs it), so a
    test acts while an index is being built. Yields (armed, started, gate, builders)."""
    monkeypatch.setattr(fx, "IVF_FROM", 300)
    monkeypatch.setattr(fx, "IVF_MIN_LIST", 8)
    armed, started, gate, builders = threading.Event(), threading.Event(), threading.Event(), []
    real = fx.build_vectors

    def build(vectors, ids, dim):
        if armed.is_set():
            builders.append(threading.current_thread())
            started.set()
            gate.wait(30)  # a build inside the add would hold the add this long
        return real(vectors, ids, dim)

    monkeypatch.setattr(fx, "build_vectors", build)
    yield armed, started, gate, builders
    gate.set()  # never leave a build thread waiting


def _add_source(store, tmp_path, name, rng, n):
    """Indexes n one-model tracks as a new source; returns their aggregates by track id and the call's seconds."""
    tracks = [track(rng, k, n=2) for k in range(n)]
    t0 = time.perf_counter()
    with store.source(video(tmp_path, name, size=100, seed=len(name))) as w:
        w.add_tracks(tracks)
    spent = time.perf_counter() - t0
    ids = [t.id for t in store.tracks(tmp_path / name)]
    return dict(zip(ids, (t.features[A].aggregate for t in tracks))), spent


def _exact_hit(store, vec) -> tuple[int, float]:
    return store.nearest(A, "person", vec, 1)[0][0]


def test_crossing_the_size_builds_on_a_thread_while_the_old_index_answers(tmp_path, gated):
    armed, started, gate, builders = gated
    store = FootageIndex(tmp_path / "f.db")
    store.db.execute("PRAGMA synchronous=OFF")
    rng = np.random.default_rng(20)
    first = {}
    for s in range(5):
        first.update(_add_source(store, tmp_path, f"a{s}.mp4", rng, 50)[0])
    assert store.index_kind(A, "person") == "flat" and store.index_size(A, "person") == 250

    armed.set()
    crossing, spent = _add_source(store, tmp_path, "cross.mp4", rng, 100)  # 350 >= IVF_FROM
    # (a) the add returned while the build waits at the gate, on another thread
    assert started.wait(5) and not gate.is_set() and spent < 5
    assert builders and all(b is not threading.main_thread() for b in builders)
    assert ("building", A, "person") in store.events and store._vectors[(A, "person")].build.is_alive()

    # (b) meanwhile the old index answers and follows adds and removals
    during, _ = _add_source(store, tmp_path, "during.mp4", rng, 60)
    store.remove_source(tmp_path / "a0.mp4")
    removed = [i for i in first if i not in {t.id for t in store.tracks()}]
    assert len(removed) == 50
    assert store.index_kind(A, "person") == "flat" and store.index_size(A, "person") == 360
    for tid, vec in [*list(crossing.items())[:3], *list(during.items())[:3]]:
        assert _exact_hit(store, vec) == (tid, pytest.approx(0, abs=1e-5))
    assert all(_exact_hit(store, first[i])[0] != i for i in removed[:3])

    # (c) taken in: cells for RETRAIN_GROWTH x the snapshot, and exactly SQLite's tracks, with the changes made
    # during the build caught up by id
    gate.set()
    settle(store)
    v = store._vectors[(A, "person")]
    assert v.kind == "ivf" and ("switched", A, "person") in store.events and v.trained_n == 350
    assert faiss.extract_index_ivf(v.index).nlist == fx._nlist_for(fx.RETRAIN_GROWTH * 350) > fx._nlist_for(350)
    ids, _ = store.features(A, "person")
    assert sorted(index_ids(v.index).tolist()) == ids.tolist() and v.index.ntotal == 360
    assert v.revision == store._key_revision(A, "person")
    for tid, vec in [*list(during.items())[-3:], *list(crossing.items())[-3:]]:
        assert _exact_hit(store, vec) == (tid, pytest.approx(0, abs=1e-5))
    assert all(_exact_hit(store, first[i])[0] != i for i in removed[-3:])

    # past RETRAIN_GROWTH x the trained size the cells are trained again, the same way
    armed.clear()
    for s in range(3):
        _add_source(store, tmp_path, f"grow{s}.mp4", rng, 400)
        settle(store)
    v = store._vectors[(A, "person")]
    assert v.trained_n > 4 * 350 and faiss.extract_index_ivf(v.index).nlist == fx._nlist_for(4 * v.trained_n)
    assert_agree(store)
    store.close()
    assert_reloads_ivf(tmp_path / "f.db")


def test_closing_during_a_build_keeps_the_saved_index_consistent(tmp_path, gated):
    armed, started, gate, builders = gated
    store = FootageIndex(tmp_path / "f.db")
    store.db.execute("PRAGMA synchronous=OFF")
    rng = np.random.default_rng(21)
    for s in range(5):
        _add_source(store, tmp_path, f"a{s}.mp4", rng, 50)
    assert store.index_size(A, "person") == 250
    armed.set()
    _add_source(store, tmp_path, "cross.mp4", rng, 100)
    assert started.wait(5)
    late, _ = _add_source(store, tmp_path, "late.mp4", rng, 20)
    build = store._vectors[(A, "person")].build
    t0 = time.perf_counter()
    store.close()  # the build is still at the gate: close neither waits for it nor saves it
    assert time.perf_counter() - t0 < 5 and build.is_alive()
    saved = store._vector_file(A, "person")
    on_disk = saved.read_bytes()

    gate.set()  # the abandoned build ends, finds its store closed and drops its index
    build.join(60)
    assert not build.is_alive() and saved.read_bytes() == on_disk
    assert ("switched", A, "person") not in store.events
    assert not list(store.vectors_dir.glob("*.part"))

    armed.clear()
    store = FootageIndex(tmp_path / "f.db")  # the old index, as saved at close, matching SQLite's revision
    assert store.index_kind(A, "person") == "flat" and store.events == [("loaded", A, "person")]
    assert store.index_size(A, "person") == 370
    tid, vec = next(iter(late.items()))
    assert _exact_hit(store, vec) == (tid, pytest.approx(0, abs=1e-5))
    assert_agree(store)
    store.remove_source(tmp_path / "a0.mp4")  # the next change starts the build again
    assert ("building", A, "person") in store.events
    settle(store)
    assert store.index_kind(A, "person") == "ivf" and store.index_size(A, "person") == 320
    assert_agree(store)
    store.close()
    assert_reloads_ivf(tmp_path / "f.db")


# -- killed writers ----------------------------------------------------------------------------------
def _check_after_kill(path: Path, log: Path, previous: int) -> int:
    store = FootageIndex(path)
    try:
        assert_agree(store)
        for s in store.sources():  # each source has all of its tracks or none
            assert s.camera in ("n=3",) or s.n_tracks == int(s.camera[2:]), s
        lines = log.read_text().split("\n")
        committed = [ln.split(" ", 1) for ln in lines if ln]
        last = int(committed[-1][0]) if committed else 0
        rev = store.revision()
        assert last <= rev <= last + 1 and rev >= previous  # the change in flight: committed whole or not at all
        return rev
    finally:
        store.close()


KILLS = 50  # SIGKILLs at random moments of indexing (the issue asks for at least 50)


def test_killed_indexing_leaves_the_store_consistent_and_a_rerun_completes(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    for i in range(30):
        video(folder, f"v{i:02d}.mp4", size=2000 + i, seed=i)
    path, log = tmp_path / "f.db", tmp_path / "ops.log"
    rng = random.Random(7)
    previous, kills = 0, 0
    for round_ in range(KILLS):
        code = kill_when_busy([CHILD, path, folder, "--seed", round_, "--log", log], rng.uniform(0.05, 0.4))
        kills += code != 0
        previous = _check_after_kill(path, log, previous)
    assert kills == KILLS
    assert len(log.read_text().split("\n")) > 40, "the children should have committed many changes between kills"
    out = subprocess.run([sys.executable, str(CHILD), str(path), str(folder), "--complete"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    store = FootageIndex(path)
    assert {store.source_status(p).status for p in folder.iterdir()} == {"done"}
    assert_agree(store)
    store.close()


# -- property: SQLite and the Faiss index never disagree ---------------------------------------------
steps = st.lists(
    st.one_of(
        st.tuples(st.just("index"), st.integers(0, 5), st.integers(0, 6), st.sampled_from(["person", "vehicle"]),
                  st.booleans(), st.integers(0, 2**31)),
        st.tuples(st.just("remove"), st.integers(0, 5)),
        st.tuples(st.just("reopen"), st.booleans()),  # True: a clean close (saved); False: killed (not saved)
        st.tuples(st.just("delete_file"), st.booleans()),  # a lost or damaged index file
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_sqlite_and_the_index_never_disagree(ops):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(6):
            video(tmp, f"s{i}.mp4", size=300, seed=i)
        store = FootageIndex(tmp / "f.db")
        store.db.execute("PRAGMA synchronous=OFF")
        for n, step in enumerate(ops):
            if step[0] == "index":
                _, s, count, cat, both, seed = step
                rng = np.random.default_rng([seed, n])
                models = ((A, DA), (B, DB)) if both else ((A, DA),)
                with store.source(tmp / f"s{s}.mp4") as w:
                    w.add_tracks([track(rng, k, cat, models, n=3) for k in range(count)])
            elif step[0] == "remove":
                store.remove_source(tmp / f"s{step[1]}.mp4")
            elif step[0] == "reopen":
                if step[1]:
                    store.close()
                else:
                    store.db.close()
                store = FootageIndex(tmp / "f.db")
                store.db.execute("PRAGMA synchronous=OFF")
            else:
                store.flush()
                for f in store.vectors_dir.glob("*.faiss"):
                    f.unlink() if step[1] else f.write_bytes(b"REIDFVX1garbage")
                store.close()
                store = FootageIndex(tmp / "f.db")
            assert_agree(store)
            for model in (A, B):
                for cat in ("person", "vehicle"):
                    ids, _ = store.features(model, cat)
                    assert store.index_size(model, cat) == len(ids)
        store.close()
