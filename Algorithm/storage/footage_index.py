"""The footage index: processed videos and their tracks, kept so footage is processed once and searched forever.

One SQLite file (WAL) holds the sources (one row per video file, with what is needed to notice that it
changed or went missing), their tracks (category, frames, compact boxes, best view, a small JPEG of it) and
the tracks' ReID features per model (an aggregate feature and up to MAX_CROP_FEATURES best-crop features).

Writing a source is one transaction: `begin_source` stats and fingerprints the file, `add_tracks`
gathers the tracks in memory while the pipeline runs, and `finish_source` writes the source row, its
tracks and their features in one short transaction (replacing an earlier run of that file). A run killed
mid-file therefore loses only that file, never leaves half of it, and holds the write lock for the
milliseconds of the commit rather than the minutes of the processing (the GUI and the CLI can share the file).

Beside the SQLite file, a folder `<file>.vectors/` keeps one Faiss index per (ReID model, category) of
the tracks' aggregate features. The index is derived data: SQLite is the truth. It follows changes
incrementally (add_with_ids for new tracks, remove_ids for removed ones), is saved atomically by `flush()`
/ `close()` (and after a change when the last save is older than SAVE_EVERY_S), and on opening is
- reused as is when its stored revision equals the one SQLite keeps for that (model, category),
- caught up by ids (only the missing tracks added, the gone ones removed) when it is older, e.g. after
  a killed run or a change by another process,
- rebuilt from SQLite only when the file is missing or unreadable.
`nearest` checks that revision on every call (one indexed SELECT), so another process's changes are seen.
Past a size threshold (exact to IVF, IVF cells trained again) the index is built anew on a thread while the
old one keeps answering and following changes, then swapped in (`_rebuild`).
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import faiss
import numpy as np

from Algorithm.errors import GalleryError, ModelError
from Algorithm.media import fingerprint
from Algorithm.rules import time_caution
from Algorithm.storage.sqlite_store import SqliteStore, stack_vectors
from Algorithm.storage.vector_index import search_few

SCHEMA_VERSION = 4

# View features kept per track and model besides the aggregate: every vector a live search compared with the
# gallery (each embedded crop and each running aggregate, 2-8 for most tracks), so a later `find` takes the
# same closest view as the search would; 24 x 512 floats = 48 KiB is the most a track can take.
MAX_CROP_FEATURES = 24
# Crop images kept per track (the best few views, JPEG, ~5-10 KB each): another ReID model can embed them
# later without decoding the video again.
MAX_CROP_IMAGES = 3

STATUSES = ("done", "partial", "failed")  # stored; "new", "missing", "changed" are observed by source_status

_SCHEMA_V1 = """
CREATE TABLE sources(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL,
    camera TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('done', 'partial', 'failed')),
    reason TEXT NOT NULL DEFAULT '',
    duration_s REAL,
    fps REAL,
    frames INTEGER,
    indexed_at TEXT NOT NULL
);
CREATE TABLE tracks(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    track_no INTEGER NOT NULL,
    start_frame INTEGER NOT NULL,
    end_frame INTEGER NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    n_boxes INTEGER NOT NULL,
    boxes BLOB NOT NULL,
    best_frame INTEGER NOT NULL,
    best_box TEXT NOT NULL,
    thumbnail BLOB
);
CREATE INDEX tracks_source ON tracks(source_id);
CREATE INDEX tracks_category ON tracks(category);
CREATE TABLE features(
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    dim INTEGER NOT NULL,
    aggregate BLOB NOT NULL,
    n_crops INTEGER NOT NULL,
    crops BLOB NOT NULL,
    PRIMARY KEY(track_id, model)
);
CREATE INDEX features_model ON features(model);
CREATE TABLE index_revisions(
    model TEXT NOT NULL,
    category TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY(model, category)
);
"""

# Version 2: what find needs to answer like a search (the source's kind and frame size, the settings it was
# processed with, each box's detector confidence) and the crop images another model can embed.
_SCHEMA_V2 = """
ALTER TABLE sources ADD COLUMN kind TEXT NOT NULL DEFAULT 'video';
ALTER TABLE sources ADD COLUMN width INTEGER;
ALTER TABLE sources ADD COLUMN height INTEGER;
ALTER TABLE sources ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tracks ADD COLUMN scores BLOB;
CREATE TABLE crop_images(
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    box TEXT NOT NULL,
    jpeg BLOB NOT NULL,
    PRIMARY KEY(track_id, n)
);
"""

# Version 3: how far into a video a partial run got (frames from the start), so a shorter run does not replace a
# longer one. NULL for runs stored before it (read from their tracks then: covered_frames).
_SCHEMA_V3 = """
ALTER TABLE sources ADD COLUMN covered_frames INTEGER;
"""

# Version 4: how far a video's frames' own timestamps strayed from frame / fps (a variable frame rate: its times are
# approximate, rules.time_caution). NULL for runs stored before it.
_SCHEMA_V4 = """
ALTER TABLE sources ADD COLUMN time_drift_s REAL;
"""

# Each step takes the schema from version i to i + 1, applied inside one transaction (as in gallery.py).
MIGRATIONS: list[str] = [_SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3, _SCHEMA_V4]


# ------------------------------------------------------------------------------------------------ records
@dataclass(frozen=True)
class ModelFeatures:
    """One ReID model's features of a track: the aggregate (searched) and up to MAX_CROP_FEATURES best crops."""

    aggregate: np.ndarray
    crops: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))


@dataclass
class TrackRecord:
    """A track as the pipeline hands it over: every processed frame's box, its best view and its features."""

    category: str
    track_no: int
    frames: np.ndarray  # (n,) frame indices, increasing
    boxes: np.ndarray  # (n, 4) x1, y1, x2, y2 in pixels
    best_frame: int
    best_box: tuple[float, float, float, float]
    features: dict[str, ModelFeatures]
    thumbnail: bytes | None = None  # small JPEG of the best crop
    scores: np.ndarray | None = None  # (n,) detector confidence of each box
    crop_images: list[CropImage] = field(default_factory=list)  # best views first, at most MAX_CROP_IMAGES


@dataclass(frozen=True)
class CropImage:
    """One stored view of a track: where it was taken and its pixels (JPEG)."""

    frame: int
    box: tuple[float, float, float, float]
    jpeg: bytes


@dataclass(frozen=True)
class SourceStatus:
    """What the index knows of a file: status is new (never indexed), done, partial, failed (see reason),
    missing (indexed, but the file is gone) or changed (indexed, but size, time or content differ)."""

    path: str
    status: str
    reason: str = ""
    source_id: int | None = None
    indexed_at: str | None = None


@dataclass(frozen=True)
class SourceInfo:
    id: int
    path: str
    size: int
    mtime_ns: int
    hash: str
    camera: str
    status: str
    reason: str
    duration_s: float | None
    fps: float | None
    frames: int | None
    indexed_at: str
    n_tracks: int
    kind: str = "video"
    width: int | None = None
    height: int | None = None
    settings: str = "{}"  # JSON: what the source was processed with (sampleFt, categories, models, ...)
    time_drift_s: float | None = None  # Stats.time_drift_s of the run (None: stored before it was measured)

    @property
    def time_caution(self) -> str:
        """What to say of this file's times (a variable frame rate; rules.time_caution); empty: nothing."""
        return time_caution(self.time_drift_s or 0.0, self.fps or 0.0)


@dataclass(frozen=True)
class TrackInfo:
    id: int
    source_id: int
    source_path: str
    camera: str
    category: str
    track_no: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    n_boxes: int
    best_frame: int
    best_box: tuple[float, ...]
    thumbnail: bytes | None
    models: tuple[str, ...]


@dataclass(frozen=True)
class Track:
    """One track in full: its summary, every box, and its features per model."""

    info: TrackInfo
    frames: np.ndarray
    boxes: np.ndarray
    features: dict[str, ModelFeatures]
    scores: np.ndarray | None = None  # (n,) detector confidences; None for tracks stored by schema 1


# ------------------------------------------------------------------------------------------------ helpers
def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _key(path: str | Path) -> str:
    """Sources are keyed by their absolute path (not resolved: a link's own name is what the user gave)."""
    return os.path.abspath(os.fspath(path))


# Boxes: int16 pixel coordinates (videos up to 32,767 px wide; sub-pixel precision is noise at tracker level)
# and int32 frame indices, zlib'd: a 300-box track takes ~1.5 KB instead of 6 KB of float32 + int64.
def pack_boxes(frames: np.ndarray, boxes: np.ndarray) -> bytes:
    f = np.ascontiguousarray(frames, np.int64).reshape(-1)
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    if len(f) != len(b):
        raise GalleryError(f"A track has {len(f)} frame indices but {len(b)} boxes")
    b16 = np.clip(np.rint(b), -32768, 32767).astype("<i2")
    deltas = np.diff(f, prepend=0).astype("<i4")  # increasing frames: small deltas compress well
    return zlib.compress(deltas.tobytes() + b16.tobytes(), 6)


def unpack_boxes(blob: bytes, n: int) -> tuple[np.ndarray, np.ndarray]:
    raw = zlib.decompress(blob)
    if len(raw) != n * (4 + 8):
        raise GalleryError(f"A track's stored boxes are damaged ({len(raw)} bytes for {n} boxes)")
    frames = np.cumsum(np.frombuffer(raw[: 4 * n], "<i4").astype(np.int64))
    boxes = np.frombuffer(raw[4 * n :], "<i2").reshape(n, 4).astype(np.float32)
    return frames, boxes


# Confidences: one byte each (0-255 for 0-1); the detector's third decimal is noise.
def pack_scores(scores: np.ndarray) -> bytes:
    return zlib.compress(np.clip(np.rint(np.asarray(scores) * 255), 0, 255).astype(np.uint8).tobytes(), 6)


def unpack_scores(blob: bytes, n: int) -> np.ndarray:
    raw = zlib.decompress(blob)
    if len(raw) != n:
        raise GalleryError(f"A track's stored confidences are damaged ({len(raw)} bytes for {n} boxes)")
    return np.frombuffer(raw, np.uint8).astype(np.float32) / 255.0


def _clean_vectors(v: np.ndarray, what: str) -> np.ndarray:
    a = np.ascontiguousarray(v, np.float32)
    if a.size and not np.isfinite(a).all():
        raise ModelError(f"The ReID model gave an invalid {what} (NaN or infinite); the source was not stored")
    return a


# ------------------------------------------------------------------------------------------------ vectors
# Index choice by size (bench/bench_index.py, bench/README.md section 7; 2-core CPU shared with other work,
# load 3-4, 512-d, one nearest() call with 10 vectors = a 10-identity query, k = 10): the exact scan
# (IndexFlatIP in an IndexIDMap2) answers in 0.8 ms at 1k but 158-190 ms at 100k (the README's quiet-machine
# figure for one vector: 15 ms); IVF-Flat (add_with_ids and remove_ids work, unlike HNSW in faiss) answers
# at 100k in 20-55 ms with nprobe 8-16 and recall@10 0.997-1.000 (nprobe 32: 60-100 ms, 1.000). Hence exact
# below IVF_FROM tracks, IVF-Flat from it, back to exact below IVF_FROM / 2 (hysteresis, so a size around the
# limit does not switch back and forth).
IVF_FROM = 50_000
IVF_NPROBE = 16
# The cell cap: 4096 cells already take ~3.5 min to build at 800k on 2 cores (k-means on 30 x 4096 points, then
# every vector against every cell); past 3.2M the cells stay 4096 and hold more.
IVF_MIN_LIST, IVF_MAX_LIST = 256, 4096
IVF_TRAIN_PER_LIST = 30  # k-means sample: 30 points per cell (faiss warns below 39; 30 measured as enough)
IVF_NITER = 10  # k-means iterations: 10 are plenty for recall, the default 25 triples the training
# A query's cost follows the vectors in the cells it probes, and cells trained at n fill up as the index grows.
# So they are trained for the size the index reaches before its next training (RETRAIN_GROWTH x n) and trained
# again past it: at 50k (1024 cells), 200k (2048), 800k (4096), 3.2M. Just before a training, the grown index
# answered in 29 ms at 200k and 33 ms at 800k (512 cells trained at 50k and a 16x rule: 78 and 325 ms). The
# build (~23 s at 50k, ~1 min at 200k, ~3.5 min at 800k) runs on a thread, never inside the add (_rebuild).
RETRAIN_GROWTH = 4
SAVE_EVERY_S = 30.0
_MAGIC = b"REIDFVX1"


def _nlist_for(n: int) -> int:
    want = 2 ** round(np.log2(max(1.0, 2 * np.sqrt(n))))
    return int(min(IVF_MAX_LIST, max(IVF_MIN_LIST, want)))


def build_vectors(vectors: np.ndarray, ids: np.ndarray, dim: int) -> tuple[faiss.Index, str, int]:
    """(index, kind, size it was trained at) for these vectors: exact below IVF_FROM, IVF-Flat past it with
    cells for the size it may reach before the next training (RETRAIN_GROWTH x)."""
    vectors = np.ascontiguousarray(vectors, np.float32).reshape(-1, dim)
    ids = np.ascontiguousarray(ids, np.int64)
    n = len(vectors)
    if n < IVF_FROM:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        kind = "flat"
    else:
        nlist = _nlist_for(RETRAIN_GROWTH * n)
        quant = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quant, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.own_fields = True
        quant.this.disown()
        index.cp.niter = IVF_NITER
        rng = np.random.default_rng(0)
        sample = vectors[np.sort(rng.choice(n, min(n, IVF_TRAIN_PER_LIST * nlist), replace=False))]
        index.train(sample)
        index.nprobe = IVF_NPROBE
        kind = "ivf"
    if n:
        index.add_with_ids(vectors, ids)
    return index, kind, n


def index_ids(index: faiss.Index) -> np.ndarray:
    """Every id held by an index built by build_vectors."""
    if isinstance(index, faiss.IndexIDMap2) or hasattr(index, "id_map"):
        return faiss.vector_to_array(faiss.downcast_index(index).id_map).astype(np.int64)
    ivf = faiss.extract_index_ivf(index)
    lists = ivf.invlists
    parts = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
             for i in range(ivf.nlist) if lists.list_size(i)]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


@dataclass
class _Vectors:
    index: faiss.Index
    kind: str
    dim: int
    trained_n: int
    revision: int
    saved: bool
    build: threading.Thread | None = None  # the index being built again for it (_rebuild), if any


def _select_features(db: sqlite3.Connection, model: str, category: str,
                     only: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(track ids, aggregate features) of one model and category by id, all or those of `only`."""
    sql = ("SELECT t.id, f.dim, f.aggregate FROM features f JOIN tracks t ON t.id = f.track_id "
           "WHERE f.model = ? AND t.category = ?")
    if only is None:
        rows = db.execute(sql + " ORDER BY t.id", (model, category)).fetchall()
    else:
        part = [int(i) for i in only]
        rows = [r for a in range(0, len(part), 500) for r in db.execute(
            sql + f" AND t.id IN ({','.join('?' * len(part[a : a + 500]))})", (model, category, *part[a : a + 500]))]
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    vecs = stack_vectors(
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
        mixed=lambda sizes: ModelError(
            f"The footage index holds features of different sizes {sizes} under ReID model '{model}': they "
            "come from different versions of that model and cannot be compared. Process those sources again."),
        damaged=lambda bad: GalleryError(
            f"The stored features of track(s) {bad[:5]} are damaged; process their sources again"))
    return np.fromiter((r[0] for r in rows), np.int64, len(rows)), vecs


# ------------------------------------------------------------------------------------------------ the store
class SourceWriter:
    """Gathers one source's tracks; `finish` writes them in one transaction. Nothing is written before."""

    def __init__(self, store: FootageIndex, path: str, size: int, mtime_ns: int, digest: str, camera: str,
                 fps: float | None, frames: int | None, duration_s: float | None, kind: str = "video",
                 width: int | None = None, height: int | None = None, settings: dict | None = None):
        self.store = store
        self.path, self.size, self.mtime_ns, self.hash = path, size, mtime_ns, digest
        self.camera, self.fps, self.frames, self.duration_s = camera, fps, frames, duration_s
        self.kind, self.width, self.height = kind, width, height
        self.settings = json.dumps(settings or {}, sort_keys=True)
        self.tracks: list[TrackRecord] = []
        self.covered_frames: int | None = None  # frames of the video the run went through, from its start
        self.time_drift_s: float | None = None  # Stats.time_drift_s: its frames' timestamps against frame / fps
        self.finished = False

    def add_tracks(self, tracks: Iterable[TrackRecord]) -> None:
        if self.finished:
            raise GalleryError(f"The source {self.path} was already written; begin it again to add tracks")
        self.tracks.extend(tracks)

    def finish(self, status: str = "done", reason: str = "") -> int:
        """Writes the source and its tracks (replacing an earlier run of the file); returns the source id."""
        if self.finished:
            raise GalleryError(f"The source {self.path} was already written")
        source_id = self.store._write_source(self, status, reason)
        self.finished = True
        return source_id


class FootageIndex(SqliteStore):
    KIND = "footage index"
    OWN_TABLE = "sources"
    OTHER_KINDS = {"identities": "gallery"}
    REPAIR = ("Searches go on without adding to it. To index again, move it away (with its .vectors folder): the "
              "app starts a new one.")

    def __init__(self, path: str | Path):
        self._vectors: dict[tuple[str, str], _Vectors] = {}
        self._last_save = time.monotonic()
        # (loaded | caught_up | rebuilt | building | switched | build_failed, model, category)
        self.events: list[tuple[str, str, str]] = []
        super().__init__(path)
        self.vectors_dir = self.path.with_name(self.path.name + ".vectors")

    def _schema(self) -> tuple[int, list[str]]:
        return SCHEMA_VERSION, MIGRATIONS

    def close(self) -> None:
        with self._lock:
            if self.db is None:
                return
            try:
                self.flush()
            finally:
                self.db.close()
                self.db = None

    def _key_revision(self, model: str, category: str, db: sqlite3.Connection | None = None) -> int:
        row = (db or self.db).execute("SELECT revision FROM index_revisions WHERE model=? AND category=?",
                                      (model, category)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _bump(db: sqlite3.Connection, keys: Iterable[tuple[str, str]]) -> None:
        for model, category in keys:
            db.execute("INSERT INTO index_revisions VALUES (?, ?, 1) ON CONFLICT(model, category) "
                       "DO UPDATE SET revision = revision + 1", (model, category))

    # -- writes ---------------------------------------------------------------------------------------
    def begin_source(self, path: str | Path, camera: str = "", fps: float | None = None, frames: int | None = None,
                     duration_s: float | None = None, kind: str = "video", width: int | None = None,
                     height: int | None = None, settings: dict | None = None, digest: str | None = None) -> SourceWriter:
        """Starts a source: the file is fingerprinted now (`digest`: by the caller, just before), so a file that
        changes while it is processed is seen as changed afterwards. Nothing is written until the writer's finish()."""
        key = _key(path)
        try:
            st = os.stat(key)
            digest = digest or fingerprint(key, st.st_size)
        except OSError as e:
            raise GalleryError(f"Cannot read {key}: {e.strerror or e}") from e
        return SourceWriter(self, key, st.st_size, st.st_mtime_ns, digest, str(camera), fps, frames, duration_s,
                            kind, width, height, settings)

    @contextmanager
    def source(self, path: str | Path, **kw) -> Iterator[SourceWriter]:
        """`with store.source(path) as w: w.add_tracks(...)`: written as done on a normal exit (unless the block
        called w.finish itself, e.g. as partial); on an error, recorded as failed with the reason, no tracks."""
        w = self.begin_source(path, **kw)
        try:
            yield w
        except Exception as e:
            if not w.finished:
                w.tracks = []
                w.finish("failed", f"{type(e).__name__}: {e}")
            raise
        if not w.finished:
            w.finish("done")

    def _write_source(self, w: SourceWriter, status: str, reason: str) -> int:
        if status not in STATUSES:
            raise GalleryError(f"Unknown source status {status!r}; use one of {', '.join(STATUSES)}")
        fps = float(w.fps) if w.fps else None
        rows = [self._track_row(t, fps) for t in w.tracks]  # validates before the transaction starts
        added: dict[tuple[str, str], list[tuple[int, np.ndarray]]] = {}
        with self._tx() as db:
            old = db.execute("SELECT id FROM sources WHERE path = ?", (w.path,)).fetchone()
            removed = self._track_keys(db, "t.source_id = ?", (old[0],)) if old else {}
            if old:
                db.execute("DELETE FROM sources WHERE id = ?", (old[0],))
            sid = db.execute(
                "INSERT INTO sources(path, size, mtime_ns, hash, camera, status, reason, duration_s, fps, frames, indexed_at,"
                " kind, width, height, settings, covered_frames, time_drift_s)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (w.path, w.size, w.mtime_ns, w.hash, w.camera, status, str(reason), w.duration_s, fps, w.frames, _now(),
                 w.kind, w.width, w.height, w.settings, w.covered_frames, w.time_drift_s),
            ).lastrowid
            for t, (track_row, feats) in zip(w.tracks, rows):
                tid = db.execute(
                    "INSERT INTO tracks(source_id, category, track_no, start_frame, end_frame, start_s, end_s, n_boxes,"
                    " boxes, best_frame, best_box, thumbnail, scores) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sid, *track_row),
                ).lastrowid
                for n, c in enumerate(t.crop_images[:MAX_CROP_IMAGES]):
                    db.execute("INSERT INTO crop_images VALUES (?, ?, ?, ?, ?)",
                               (tid, n, int(c.frame), json.dumps([float(v) for v in c.box]), sqlite3.Binary(c.jpeg)))
                for model, (dim, agg, n_crops, crops) in feats.items():
                    db.execute("INSERT INTO features VALUES (?, ?, ?, ?, ?, ?)", (tid, model, dim, agg, n_crops, crops))
                    added.setdefault((model, t.category), []).append((tid, np.frombuffer(agg, np.float32)))
            self._bump(db, set(added) | set(removed))
            revisions = {k: self._key_revision(*k) for k in set(added) | set(removed)}
        self._apply(added, removed, revisions)
        return sid

    def _track_row(self, t: TrackRecord, fps: float | None):
        frames = np.asarray(t.frames, np.int64).reshape(-1)
        if len(frames) == 0:
            raise GalleryError(f"Track {t.track_no} has no boxes")
        if np.any(np.diff(frames) < 0):
            raise GalleryError(f"Track {t.track_no}'s frames are not in order")
        blob = pack_boxes(frames, t.boxes)
        start, end = int(frames[0]), int(frames[-1])
        rate = fps or 1.0
        feats = {}
        for model, mf in t.features.items():
            agg = _clean_vectors(mf.aggregate, "feature").reshape(-1)
            if agg.size == 0:
                raise ModelError(f"Track {t.track_no} has an empty feature for model '{model}'")
            crops = _clean_vectors(mf.crops, "crop feature")
            crops = crops.reshape(-1, agg.size) if crops.size else np.zeros((0, agg.size), np.float32)
            crops = crops[:MAX_CROP_FEATURES]
            feats[model] = (int(agg.size), sqlite3.Binary(agg.tobytes()), len(crops), sqlite3.Binary(crops.tobytes()))
        box = json.dumps([float(v) for v in t.best_box])
        thumb = sqlite3.Binary(t.thumbnail) if t.thumbnail else None
        scores = None
        if t.scores is not None:
            sc = np.asarray(t.scores, np.float64).reshape(-1)
            if len(sc) != len(frames):
                raise GalleryError(f"Track {t.track_no} has {len(frames)} boxes but {len(sc)} confidences")
            scores = sqlite3.Binary(pack_scores(sc))
        return (t.category, int(t.track_no), start, end, start / rate, end / rate, len(frames), sqlite3.Binary(blob),
                int(t.best_frame), box, thumb, scores), feats

    @staticmethod
    def _track_keys(db, where: str, args: tuple) -> dict[tuple[str, str], list[int]]:
        out: dict[tuple[str, str], list[int]] = {}
        for tid, model, cat in db.execute(
            f"SELECT t.id, f.model, t.category FROM tracks t JOIN features f ON f.track_id = t.id WHERE {where}", args
        ):
            out.setdefault((model, cat), []).append(tid)
        return out

    def adopt_moved(self, path: str | Path, camera: str | None = None) -> str | None:
        """A file indexed under a path where it no longer is (moved or renamed: the same size and fingerprint)
        keeps its tracks under its new path, and its camera unless `camera` is given; returns the old path, or
        None when no such entry exists. So a reorganised folder is neither processed again nor listed twice."""
        key = _key(path)
        try:
            st = os.stat(key)
        except OSError:
            return None
        size, mtime_ns = st.st_size, st.st_mtime_ns
        with self._lock:
            rows = self.db.execute("SELECT id, path, hash FROM sources WHERE size = ? AND path != ?", (size, key)).fetchall()
        rows = [r for r in rows if not os.path.exists(r[1])]
        if not rows:
            return None
        digest = fingerprint(key, size)
        for sid, old, h in rows:
            if h != digest:
                continue
            with self._tx() as db:
                if db.execute("SELECT 1 FROM sources WHERE path = ?", (key,)).fetchone():
                    return None  # indexed under the new path meanwhile (another process)
                db.execute("UPDATE sources SET path = ?, mtime_ns = ?, camera = COALESCE(?, camera) WHERE id = ?",
                           (key, mtime_ns, camera, sid))
            return old
        return None

    def remove_source(self, path: str | Path) -> bool:
        """Forgets a source and its tracks (the file itself is not touched). False when it was not indexed."""
        key = _key(path)
        with self._lock:  # look first: a no-op must not move the revision (nor take the write lock)
            if not self.db.execute("SELECT 1 FROM sources WHERE path = ?", (key,)).fetchone():
                return False
        with self._tx() as db:
            row = db.execute("SELECT id FROM sources WHERE path = ?", (key,)).fetchone()
            if not row:  # removed by another process in between
                return False
            removed = self._track_keys(db, "t.source_id = ?", (row[0],))
            db.execute("DELETE FROM sources WHERE id = ?", (row[0],))
            self._bump(db, removed)
            revisions = {k: self._key_revision(*k) for k in removed}
        self._apply({}, removed, revisions)
        return True

    # -- the vector indexes ---------------------------------------------------------------------------
    def _vector_file(self, model: str, category: str) -> Path:
        tag = hashlib.sha1(f"{model}\x00{category}".encode()).hexdigest()[:16]
        return self.vectors_dir / f"{tag}.faiss"

    def _apply(self, added, removed, revisions) -> None:
        """Brings the loaded indexes along with a committed change (indexes not loaded catch up when loaded)."""
        with self._lock:
            for key in set(added) | set(removed):
                v = self._vectors.get(key)
                if v is None:
                    continue
                if v.revision + 1 != revisions[key]:  # another process changed it meanwhile: catch up by ids
                    self._catch_up(key, v)
                    continue
                gone = removed.get(key, [])
                if gone:
                    v.index.remove_ids(np.asarray(gone, np.int64))
                new = added.get(key, [])
                if new:
                    self._add(key, v, np.asarray([i for i, _ in new], np.int64), np.stack([f for _, f in new]))
                v.revision = revisions[key]
                v.saved = False
                self._maybe_switch(key, v)
            if time.monotonic() - self._last_save > SAVE_EVERY_S:
                self.flush()

    def _add(self, key, v: _Vectors, ids: np.ndarray, vecs: np.ndarray) -> None:
        if vecs.shape[1] != v.dim:
            raise ModelError(
                f"The footage index holds {v.dim}-d features for ReID model '{key[0]}' but new tracks have "
                f"{vecs.shape[1]}-d: they come from another model file under the same name and cannot be compared."
            )
        v.index.add_with_ids(np.ascontiguousarray(vecs, np.float32), ids)

    def _maybe_switch(self, key, v: _Vectors) -> None:
        n = v.index.ntotal
        if v.build is None and ((v.kind == "flat" and n >= IVF_FROM)
                                or (v.kind == "ivf" and (n < IVF_FROM // 2 or n > RETRAIN_GROWTH * v.trained_n))):
            v.build = threading.Thread(target=self._rebuild, args=(key, v), name="footage-index build", daemon=True)
            v.build.start()
            self.events.append(("building", *key))

    def _rebuild(self, key, v: _Vectors) -> None:
        """Builds v's index again from SQLite on its own thread and connection; v keeps answering and taking
        changes meanwhile, then takes the new index under the lock. A close() meanwhile drops the build: the
        file saved is the old index, consistent with its revision, and the next change starts a build again."""
        faiss.omp_set_num_threads(max(1, faiss.omp_get_max_threads() - 1))  # this thread's: a core left to the app
        new = None
        try:
            db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            try:
                ids, vecs = _select_features(db, *key)  # a snapshot: SQLite is the truth
                index, kind, trained = build_vectors(vecs, ids, v.dim)
                new = _Vectors(index, kind, v.dim, trained, 0, False)
                del ids, vecs
                if self.db is not None:  # the tracks added and removed during the build, still outside the lock
                    new.revision = self._sync(db, key, new)
            finally:
                db.close()
        except Exception:  # derived data: the old index stays, and the next change tries again
            new = None
        with self._lock:
            v.build = None
            if self.db is None or self._vectors.get(key) is not v:
                return
            if new is None:
                self.events.append(("build_failed", *key))
                return
            v.index, v.kind, v.trained_n, v.revision, v.saved = new.index, new.kind, new.trained_n, new.revision, False
            self.events.append(("switched", *key))
            if v.revision != self._key_revision(*key):  # committed between the sync and the lock: a few tracks
                self._catch_up(key, v)

    def _sync(self, db: sqlite3.Connection, key, v: _Vectors) -> int:
        """Adds to and removes from v's index what differs from SQLite's tracks, by id; returns the revision it
        then holds. One read transaction: the revision must match the ids even while this process writes."""
        db.execute("BEGIN")
        try:
            rev = self._key_revision(*key, db=db)
            want = np.fromiter((r[0] for r in db.execute(
                "SELECT t.id FROM tracks t JOIN features f ON f.track_id = t.id WHERE f.model = ? AND t.category = ?",
                key)), np.int64)
            have = index_ids(v.index)
            gone = np.setdiff1d(have, want)
            ids, vecs = _select_features(db, *key, np.setdiff1d(want, have))
        finally:
            db.execute("COMMIT")
        if len(gone):
            v.index.remove_ids(gone)
        if len(ids):
            self._add(key, v, ids, vecs)
        return rev

    def _catch_up(self, key, v: _Vectors) -> None:
        v.revision, v.saved = self._sync(self.db, key, v), False
        self.events.append(("caught_up", *key))
        self._maybe_switch(key, v)

    def _load(self, model: str, category: str) -> _Vectors | None:
        """The index of (model, category), in step with SQLite; None when nothing is stored for it."""
        key = (model, category)
        v = self._vectors.get(key)
        rev = self._key_revision(model, category)
        if v is not None:
            if v.revision != rev:
                self._catch_up(key, v)
            return v
        v = self._read_file(key)
        if v is not None:
            if v.revision == rev:
                self.events.append(("loaded", *key))
            else:
                self._catch_up(key, v)
        else:
            ids, vecs = self.features(model, category)
            if len(ids) == 0:
                return None
            index, kind, trained = build_vectors(vecs, ids, vecs.shape[1])
            v = _Vectors(index, kind, vecs.shape[1], trained, rev, False)
            self.events.append(("rebuilt", *key))
        self._vectors[key] = v
        return v

    def _read_file(self, key) -> _Vectors | None:
        path = self._vector_file(*key)
        try:
            data = path.read_bytes()
            if data[:8] != _MAGIC:
                raise ValueError("not an index file of this app")
            (n_head,) = struct.unpack("<I", data[8:12])
            head = json.loads(data[12 : 12 + n_head])
            if (head["model"], head["category"]) != key:
                raise ValueError("index of another model or category")
            index = faiss.deserialize_index(np.frombuffer(data, np.uint8, offset=12 + n_head).copy())
            if index.d != head["dim"] or index.ntotal != head["ntotal"]:
                raise ValueError("header and index disagree")
            if head["kind"] == "ivf":
                faiss.extract_index_ivf(index).nprobe = IVF_NPROBE
            return _Vectors(index, head["kind"], head["dim"], head["trained_n"], head["revision"], True)
        except FileNotFoundError:
            return None
        except Exception:  # unreadable, truncated, foreign: derived data, rebuilt from SQLite
            return None

    def flush(self) -> None:
        """Saves every changed index atomically (temporary file, fsync, rename): a crash leaves the old or the new."""
        with self._lock:
            for key, v in self._vectors.items():
                if v.saved:
                    continue
                head = json.dumps({"model": key[0], "category": key[1], "revision": v.revision, "kind": v.kind,
                                   "dim": v.dim, "ntotal": int(v.index.ntotal), "trained_n": v.trained_n}).encode()
                path = self._vector_file(*key)
                tmp = path.with_name(path.name + f".{os.getpid()}.part")
                try:
                    self.vectors_dir.mkdir(parents=True, exist_ok=True)
                    with open(tmp, "wb") as fh:
                        fh.write(_MAGIC + struct.pack("<I", len(head)) + head)
                        fh.write(faiss.serialize_index(v.index).tobytes())
                        fh.flush()
                        os.fsync(fh.fileno())
                    os.replace(tmp, path)
                    v.saved = True
                except OSError:
                    tmp.unlink(missing_ok=True)  # derived data: not saved now means caught up on the next open
            self._last_save = time.monotonic()

    def nearest(self, model: str, category: str, queries: np.ndarray, k: int = 10) -> list[list[tuple[int, float]]]:
        """For each query, up to k (track id, cosine distance) of `model`'s `category` tracks, nearest first."""
        q = np.ascontiguousarray(queries, np.float32)
        q = q.reshape(1, -1) if q.ndim == 1 else q
        with self._lock:
            v = self._load(model, category)
            if v is None or v.index.ntotal == 0 or len(q) == 0:
                return [[] for _ in range(len(q))]
            if q.shape[1] != v.dim:
                raise ModelError(
                    f"The footage index holds {v.dim}-d features for ReID model '{model}' but the query is "
                    f"{q.shape[1]}-d: they come from different models and cannot be compared."
                )
            sims, ids = search_few(v.index, q, min(k, v.index.ntotal))
        return [[(int(i), float(1.0 - s)) for s, i in zip(srow, irow) if i >= 0] for srow, irow in zip(sims, ids)]

    def index_size(self, model: str, category: str) -> int:
        with self._lock:
            v = self._load(model, category)
            return 0 if v is None else int(v.index.ntotal)

    def index_kind(self, model: str, category: str) -> str | None:
        with self._lock:
            v = self._load(model, category)
            return None if v is None else v.kind

    # -- reads ----------------------------------------------------------------------------------------
    def source_status(self, path: str | Path, verify: bool = False) -> SourceStatus:
        """Indexed state of a file, checked against the disk: size and mtime first; the content fingerprint
        when the mtime moved but the size did not (a copy or a touch keeps the index), or always with verify."""
        key = _key(path)
        with self._lock:
            row = self.db.execute("SELECT id, size, mtime_ns, hash, status, reason, indexed_at FROM sources WHERE path = ?",
                                  (key,)).fetchone()
        if row is None:
            return SourceStatus(key, "new")
        sid, size, mtime_ns, digest, status, reason, at = row
        try:
            st = os.stat(key)
        except FileNotFoundError:
            return SourceStatus(key, "missing", "the file is no longer there", sid, at)
        except OSError as e:
            return SourceStatus(key, "missing", f"the file cannot be read: {e.strerror or e}", sid, at)
        if st.st_size != size:
            return SourceStatus(key, "changed", f"its size changed ({size} -> {st.st_size} bytes)", sid, at)
        if verify or st.st_mtime_ns != mtime_ns:
            try:
                now = fingerprint(key, st.st_size)
            except OSError as e:
                return SourceStatus(key, "missing", f"the file cannot be read: {e.strerror or e}", sid, at)
            if now != digest:
                return SourceStatus(key, "changed", "its content changed", sid, at)
        return SourceStatus(key, status, reason, sid, at)

    def covered_frames(self, source_id: int) -> int:
        """How many frames from its start a stored run of a video went through (a run stored before this was
        recorded: up to its last tracked frame)."""
        with self._lock:
            row = self.db.execute("SELECT s.covered_frames, (SELECT MAX(end_frame) + 1 FROM tracks WHERE source_id = s.id)"
                                  " FROM sources s WHERE s.id = ?", (source_id,)).fetchone()
        if row is None:
            return 0
        return int(row[0] if row[0] is not None else row[1] or 0)

    def sources(self) -> list[SourceInfo]:
        with self._lock:
            rows = self.db.execute(
                "SELECT s.id, s.path, s.size, s.mtime_ns, s.hash, s.camera, s.status, s.reason, s.duration_s, s.fps, s.frames,"
                " s.indexed_at, (SELECT COUNT(*) FROM tracks t WHERE t.source_id = s.id), s.kind, s.width, s.height,"
                " s.settings, s.time_drift_s FROM sources s ORDER BY s.path"
            ).fetchall()
        return [SourceInfo(*r) for r in rows]

    _TRACK_SQL = """SELECT t.id, t.source_id, s.path, s.camera, t.category, t.track_no, t.start_frame, t.end_frame,
                           t.start_s, t.end_s, t.n_boxes, t.best_frame, t.best_box, t.thumbnail,
                           COALESCE((SELECT GROUP_CONCAT(model) FROM (SELECT model FROM features WHERE track_id = t.id
                                     ORDER BY model)), '')
                    FROM tracks t JOIN sources s ON s.id = t.source_id"""

    @staticmethod
    def _info(r) -> TrackInfo:
        return TrackInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
                         tuple(json.loads(r[12])), bytes(r[13]) if r[13] is not None else None,
                         tuple(m for m in r[14].split(",") if m))

    def tracks(self, source: str | Path | None = None, category: str | None = None, model: str | None = None) -> list[TrackInfo]:
        """Track summaries (no boxes, no features), filtered by source file, category and model embedded."""
        src = _key(source) if source is not None else None
        sql = (self._TRACK_SQL + " WHERE (? IS NULL OR s.path = ?) AND (? IS NULL OR t.category = ?)"
               " AND (? IS NULL OR EXISTS (SELECT 1 FROM features f WHERE f.track_id = t.id AND f.model = ?)) ORDER BY t.id")
        with self._lock:
            rows = self.db.execute(sql, (src, src, category, category, model, model)).fetchall()
        return [self._info(r) for r in rows]

    def track(self, track_id: int) -> Track:
        with self._lock:
            r = self.db.execute(self._TRACK_SQL + " WHERE t.id = ?", (int(track_id),)).fetchone()
            if r is None:
                raise GalleryError(f"No track with id {track_id} in the footage index")
            blob, score_blob = self.db.execute("SELECT boxes, scores FROM tracks WHERE id = ?", (int(track_id),)).fetchone()
            frows = self.db.execute("SELECT model, dim, aggregate, n_crops, crops FROM features WHERE track_id = ?",
                                    (int(track_id),)).fetchall()
        info = self._info(r)
        frames, boxes = unpack_boxes(blob, info.n_boxes)
        scores = unpack_scores(score_blob, info.n_boxes) if score_blob is not None else None
        feats = {}
        for model, dim, agg, n_crops, crops in frows:
            if len(agg) != 4 * dim or len(crops) != 4 * dim * n_crops:
                raise GalleryError(f"The stored features of track {track_id} for model '{model}' are damaged")
            feats[model] = ModelFeatures(np.frombuffer(agg, np.float32).copy(),
                                         np.frombuffer(crops, np.float32).reshape(n_crops, dim).copy())
        return Track(info, frames, boxes, feats, scores)

    def load_tracks(self, track_ids: Iterable[int], model: str | None = None) -> list[Track]:
        """Tracks in full (boxes, confidences; features of `model` only, or of all), in the order given;
        ids no longer stored are left out. A few queries per 500 tracks, not one per track."""
        ids = [int(i) for i in track_ids]
        got: dict[int, Track] = {}
        for a in range(0, len(ids), 500):
            part = ids[a : a + 500]
            marks = ",".join("?" * len(part))
            with self._lock:
                rows = self.db.execute(self._TRACK_SQL + f" WHERE t.id IN ({marks})", part).fetchall()
                blobs = dict((r[0], (r[1], r[2])) for r in self.db.execute(
                    f"SELECT id, boxes, scores FROM tracks WHERE id IN ({marks})", part))
                frows = self.db.execute(
                    f"SELECT track_id, model, dim, aggregate, n_crops, crops FROM features WHERE track_id IN ({marks})"
                    " AND (? IS NULL OR model = ?)", (*part, model, model)).fetchall()
            feats: dict[int, dict[str, ModelFeatures]] = {}
            for tid, m, dim, agg, n_crops, crops in frows:
                if len(agg) != 4 * dim or len(crops) != 4 * dim * n_crops:
                    raise GalleryError(f"The stored features of track {tid} for model '{m}' are damaged")
                feats.setdefault(tid, {})[m] = ModelFeatures(np.frombuffer(agg, np.float32),
                                                             np.frombuffer(crops, np.float32).reshape(n_crops, dim))
            for r in rows:
                info = self._info(r)
                blob, score_blob = blobs[info.id]
                frames, boxes = unpack_boxes(blob, info.n_boxes)
                scores = unpack_scores(score_blob, info.n_boxes) if score_blob is not None else None
                got[info.id] = Track(info, frames, boxes, feats.get(info.id, {}), scores)
        return [got[i] for i in ids if i in got]

    def camera_of(self, path: str | Path) -> str | None:
        """The camera a file was indexed under (None: not in the index), kept when it is indexed again."""
        with self._lock:
            row = self.db.execute("SELECT camera FROM sources WHERE path = ?", (_key(path),)).fetchone()
        return None if row is None else row[0]

    def count_embedded(self, model: str, category: str) -> tuple[int, int]:
        """(tracks of the category with features of `model`, tracks of it that any model embedded): find searches
        only the first; the rest need `reembed` (a library shared from another install, a crop-less track)."""
        with self._lock:
            row = self.db.execute(
                "SELECT SUM(EXISTS (SELECT 1 FROM features f WHERE f.track_id = t.id AND f.model = ?)), "
                "SUM(EXISTS (SELECT 1 FROM features g WHERE g.track_id = t.id)) FROM tracks t WHERE t.category = ?",
                (model, category)).fetchone()
        return int(row[0] or 0), int(row[1] or 0)

    def tracks_without(self, model: str, category: str) -> list[int]:
        """Ids of the category's tracks that have no features of `model` yet (to embed after a model switch). A track
        no model ever embedded (too short to be looked at) is not one of them: there is nothing to embed again."""
        with self._lock:
            return [r[0] for r in self.db.execute(
                "SELECT t.id FROM tracks t WHERE t.category = ? AND NOT EXISTS "
                "(SELECT 1 FROM features f WHERE f.track_id = t.id AND f.model = ?) AND "
                "(EXISTS (SELECT 1 FROM features g WHERE g.track_id = t.id) OR "
                "EXISTS (SELECT 1 FROM crop_images c WHERE c.track_id = t.id)) ORDER BY t.id", (category, model))]

    def add_features(self, model: str, features: dict[int, ModelFeatures]) -> int:
        """Stores another model's features of existing tracks (one transaction); tracks removed meanwhile are
        skipped. Returns how many were stored."""
        rows = {}
        for tid, mf in features.items():
            agg = _clean_vectors(mf.aggregate, "feature").reshape(-1)
            crops = _clean_vectors(mf.crops, "crop feature")
            crops = crops.reshape(-1, agg.size)[:MAX_CROP_FEATURES] if crops.size else np.zeros((0, agg.size), np.float32)
            rows[int(tid)] = (agg, crops)
        added: dict[tuple[str, str], list[tuple[int, np.ndarray]]] = {}
        with self._tx() as db:
            for tid, (agg, crops) in rows.items():
                cat = db.execute("SELECT category FROM tracks WHERE id = ?", (tid,)).fetchone()
                if cat is None:
                    continue
                db.execute("INSERT OR REPLACE INTO features VALUES (?, ?, ?, ?, ?, ?)",
                           (tid, model, int(agg.size), sqlite3.Binary(agg.tobytes()), len(crops),
                            sqlite3.Binary(crops.tobytes())))
                added.setdefault((model, cat[0]), []).append((tid, agg))
            self._bump(db, added)
            revisions = {k: self._key_revision(*k) for k in added}
        self._apply(added, {}, revisions)
        return sum(len(v) for v in added.values())

    def crop_images(self, track_id: int) -> list[CropImage]:
        """The stored views of a track (best first): what another ReID model embeds."""
        with self._lock:
            rows = self.db.execute("SELECT frame, box, jpeg FROM crop_images WHERE track_id = ? ORDER BY n",
                                   (int(track_id),)).fetchall()
        return [CropImage(int(f), tuple(json.loads(b)), bytes(j)) for f, b, j in rows]

    def features(self, model: str, category: str) -> tuple[np.ndarray, np.ndarray]:
        """(track ids, aggregate features) of one model and category, by id; refuses mixed dimensions."""
        with self._lock:
            return _select_features(self.db, model, category)

    def check(self) -> list[str]:
        """Integrity problems found (empty list when sound)."""
        with self._lock:
            problems = [r[0] for r in self.db.execute("PRAGMA integrity_check") if r[0] != "ok"]
            problems += [f"foreign key: {r}" for r in self.db.execute("PRAGMA foreign_key_check")]
            problems += [f"track #{r[0]} has a damaged feature" for r in self.db.execute(
                "SELECT track_id FROM features WHERE dim <= 0 OR LENGTH(aggregate) != 4 * dim "
                "OR LENGTH(crops) != 4 * dim * n_crops")]
        return problems
