"""The gallery: identities, their photos and features, in one SQLite file (WAL, one transaction per change).

Features are stored per ReID model, so switching models re-embeds stored crops instead of mixing spaces.
A `revision` counter in `meta` moves with every change; search indexes compare it to know they are stale,
also when another process (CLI beside the GUI) changed the file.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import GalleryError
from .types import EntryInfo, IdentityInfo

SCHEMA_VERSION = 1
MAX_LABEL = 100

_SCHEMA_V1 = """
CREATE TABLE identities(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    label TEXT NOT NULL,
    category TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE UNIQUE INDEX identities_label ON identities(label COLLATE NOCASE);
CREATE TABLE entries(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    crop BLOB NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    box TEXT,
    created TEXT NOT NULL
);
CREATE INDEX entries_identity ON entries(identity_id);
CREATE TABLE features(
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY(entry_id, model)
);
"""

# Each step takes the schema from version i to i + 1, applied inside one transaction.
MIGRATIONS: list[str] = [_SCHEMA_V1]


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def clean_label(label: str) -> str:
    label = " ".join(str(label).split())
    if not label:
        raise GalleryError("A label cannot be empty")
    if len(label) > MAX_LABEL:
        raise GalleryError(f"A label can have at most {MAX_LABEL} characters")
    return label


class Gallery:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise GalleryError(f"The gallery file {self.path} is not a readable gallery: {e}") from e

    # -- plumbing -------------------------------------------------------------------------------
    @contextmanager
    def _tx(self):
        """One write transaction; BEGIN IMMEDIATE takes the write lock up front so two processes queue, not fail."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                self.db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def _migrate(self) -> None:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', '0'), ('revision', '0')")
                version = int(self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
                if version > SCHEMA_VERSION:
                    raise GalleryError(
                        f"The gallery {self.path} was written by a newer version of the app (schema {version}); update the app"
                    )
                for step in MIGRATIONS[version:]:
                    for stmt in filter(str.strip, step.split(";")):
                        self.db.execute(stmt)
                self.db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def revision(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT value FROM meta WHERE key='revision'").fetchone()[0])

    def schema_version(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])

    # -- writes ---------------------------------------------------------------------------------
    def add_entry(
        self,
        label: str,
        category: str,
        crop_jpeg: bytes,
        model: str,
        feature: np.ndarray,
        source: str = "",
        box=None,
    ) -> tuple[int, int, bool]:
        """Adds a photo to the identity with this label (created if new). Returns (identity, entry, created)."""
        label = clean_label(label)
        feature = np.ascontiguousarray(feature, np.float32).reshape(-1)
        with self._tx() as db:
            row = db.execute("SELECT id, category FROM identities WHERE label = ? COLLATE NOCASE", (label,)).fetchone()
            if row and row[1] != category:
                raise GalleryError(f"'{label}' is already registered as a {row[1]}, not a {category}; choose another label")
            created = row is None
            if created:
                ident = db.execute(
                    "INSERT INTO identities(label, category, created) VALUES (?, ?, ?)", (label, category, _now())
                ).lastrowid
            else:
                ident = row[0]
            entry = db.execute(
                "INSERT INTO entries(identity_id, crop, source, box, created) VALUES (?, ?, ?, ?, ?)",
                (ident, sqlite3.Binary(crop_jpeg), str(source), json.dumps(box and [float(v) for v in box]), _now()),
            ).lastrowid
            db.execute(
                "INSERT INTO features(entry_id, model, dim, vector) VALUES (?, ?, ?, ?)",
                (entry, model, int(feature.size), sqlite3.Binary(feature.tobytes())),
            )
        return ident, entry, created

    def set_features(self, model: str, items: list[tuple[int, np.ndarray]]) -> None:
        """Stores (entry_id, feature) pairs for a model in one transaction (re-embedding)."""
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO features(entry_id, model, dim, vector) VALUES (?, ?, ?, ?)",
                [(e, model, int(f.size), sqlite3.Binary(np.asarray(f, np.float32).tobytes())) for e, f in items],
            )

    def rename(self, identity_id: int, label: str) -> None:
        label = clean_label(label)
        with self._tx() as db:
            other = db.execute(
                "SELECT id FROM identities WHERE label = ? COLLATE NOCASE AND id != ?", (label, identity_id)
            ).fetchone()
            if other:
                raise GalleryError(f"The label '{label}' is already used by another identity")
            if db.execute("UPDATE identities SET label = ? WHERE id = ?", (label, identity_id)).rowcount == 0:
                raise GalleryError(f"No identity with id {identity_id}")

    def delete_entry(self, entry_id: int) -> bool:
        """Deletes one photo; the identity goes too when it was its last. Returns True if the identity went."""
        with self._tx() as db:
            row = db.execute("SELECT identity_id FROM entries WHERE id = ?", (entry_id,)).fetchone()
            if not row:
                raise GalleryError(f"No photo with id {entry_id}")
            db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
            left = db.execute("SELECT COUNT(*) FROM entries WHERE identity_id = ?", (row[0],)).fetchone()[0]
            if left == 0:
                db.execute("DELETE FROM identities WHERE id = ?", (row[0],))
            return left == 0

    def delete_identity(self, identity_id: int) -> None:
        with self._tx() as db:
            if db.execute("DELETE FROM identities WHERE id = ?", (identity_id,)).rowcount == 0:
                raise GalleryError(f"No identity with id {identity_id}")

    # -- reads ----------------------------------------------------------------------------------
    def identities(self, text: str = "", category: str | None = None) -> list[IdentityInfo]:
        sql = """SELECT i.id, i.label, i.category, i.created, COUNT(e.id),
                        (SELECT crop FROM entries WHERE identity_id = i.id ORDER BY id LIMIT 1)
                 FROM identities i LEFT JOIN entries e ON e.identity_id = i.id
                 WHERE i.label LIKE ? ESCAPE '\\' AND (? IS NULL OR i.category = ?)
                 GROUP BY i.id ORDER BY i.label COLLATE NOCASE"""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._lock:
            rows = self.db.execute(sql, (pattern, category, category)).fetchall()
        return [IdentityInfo(r[0], r[1], r[2], r[3], r[4], bytes(r[5]) if r[5] else None) for r in rows]

    def identity(self, identity_id: int) -> IdentityInfo:
        for info in self.identities():
            if info.id == identity_id:
                return info
        raise GalleryError(f"No identity with id {identity_id}")

    def entries(self, identity_id: int | None = None) -> list[EntryInfo]:
        sql = "SELECT e.id, e.identity_id, COALESCE(GROUP_CONCAT(f.model), ''), e.source, e.box, e.created, e.crop " \
              "FROM entries e LEFT JOIN features f ON f.entry_id = e.id " \
              "WHERE (? IS NULL OR e.identity_id = ?) GROUP BY e.id ORDER BY e.id"
        with self._lock:
            rows = self.db.execute(sql, (identity_id, identity_id)).fetchall()
        out = []
        for r in rows:
            box = json.loads(r[4]) if r[4] else None
            out.append(EntryInfo(r[0], r[1], r[2], r[3], tuple(box) if box else None, r[5], bytes(r[6])))
        return out

    def labels(self) -> dict[int, str]:
        with self._lock:
            return dict(self.db.execute("SELECT id, label FROM identities").fetchall())

    def features(self, model: str, category: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(entry_ids, identity_ids, vectors) of one model and category; refuses mixed dimensions."""
        sql = """SELECT e.id, e.identity_id, f.dim, f.vector FROM features f
                 JOIN entries e ON e.id = f.entry_id JOIN identities i ON i.id = e.identity_id
                 WHERE f.model = ? AND i.category = ? ORDER BY e.id"""
        with self._lock:
            rows = self.db.execute(sql, (model, category)).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        dims = {r[2] for r in rows}
        if len(dims) > 1:
            raise GalleryError(f"The gallery holds features of different sizes {sorted(dims)} under model '{model}'")
        vecs = np.frombuffer(b"".join(r[3] for r in rows), np.float32).reshape(len(rows), dims.pop())
        return (
            np.fromiter((r[0] for r in rows), np.int64, len(rows)),
            np.fromiter((r[1] for r in rows), np.int64, len(rows)),
            vecs,
        )

    def entries_missing_model(self, model: str) -> list[tuple[int, bytes]]:
        """(entry_id, crop) of entries without a feature from `model`: what a model switch must re-embed."""
        with self._lock:
            return [
                (r[0], bytes(r[1]))
                for r in self.db.execute(
                    "SELECT id, crop FROM entries WHERE id NOT IN (SELECT entry_id FROM features WHERE model = ?) ORDER BY id",
                    (model,),
                )
            ]

    def models_in_use(self) -> dict[str, int]:
        with self._lock:
            return dict(self.db.execute("SELECT model, COUNT(*) FROM features GROUP BY model").fetchall())

    def check(self) -> list[str]:
        """Integrity problems found (empty list when sound)."""
        with self._lock:
            problems = [r[0] for r in self.db.execute("PRAGMA integrity_check") if r[0] != "ok"]
            problems += [f"foreign key: {r}" for r in self.db.execute("PRAGMA foreign_key_check")]
        return problems

    # -- backup ---------------------------------------------------------------------------------
    def backup(self, dest: str | Path) -> Path:
        """A consistent single-file copy, taken while others may be writing (SQLite online backup)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        tmp.unlink(missing_ok=True)
        target = sqlite3.connect(str(tmp))
        try:
            with self._lock:
                self.db.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
        tmp.replace(dest)
        return dest

    def restore(self, src: str | Path) -> None:
        """Replaces the gallery's contents with a backup file, in one step."""
        src = Path(src)
        try:
            other = Gallery(src)  # validates and migrates an older backup
        except GalleryError:
            raise
        except Exception as e:
            raise GalleryError(f"{src} is not a gallery backup: {e}") from e
        try:
            if other.check():
                raise GalleryError(f"The backup {src} is damaged: {other.check()[:3]}")
            with self._lock:
                rev = self.revision()
                other.db.backup(self.db)
                # The copy brings the backup's revision; move past ours so every index rebuilds.
                self.db.execute("UPDATE meta SET value = ? WHERE key = 'revision'", (str(max(rev, other.revision()) + 1),))
        finally:
            other.close()
