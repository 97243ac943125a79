"""The gallery: identities, their photos and features, in one SQLite file (WAL, one transaction per change).

Features are stored per ReID model, so switching models re-embeds stored crops instead of mixing spaces.
A `revision` counter in `meta` moves with every change; search indexes compare it to know they are stale,
also when another process (CLI beside the GUI) changed the file.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from Algorithm.errors import GalleryError, ModelError
from Algorithm.rules import label_key
from Algorithm.storage.sqlite_store import SqliteStore, stack_vectors
from Algorithm.types import EntryInfo, IdentityInfo, MergeResult

SCHEMA_VERSION = 2
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

# Version 2: the user's verdicts on found tracks. A rejected track is never given that identity again: its boxes
# (the same file processed again) and its views (a negative example of the identity, per ReID model) are kept.
_SCHEMA_V2 = """
CREATE TABLE feedback(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    verdict TEXT NOT NULL CHECK (verdict IN ('confirm', 'reject')),
    source TEXT NOT NULL,
    boxes TEXT NOT NULL,
    start_frame INTEGER NOT NULL,
    end_frame INTEGER NOT NULL,
    thumbnail BLOB,
    created TEXT NOT NULL
);
CREATE INDEX feedback_identity ON feedback(identity_id);
CREATE INDEX feedback_source ON feedback(source);
CREATE TABLE feedback_features(
    feedback_id INTEGER NOT NULL REFERENCES feedback(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    dim INTEGER NOT NULL,
    n INTEGER NOT NULL,
    vectors BLOB NOT NULL,
    PRIMARY KEY(feedback_id, model)
);
"""

# Each step takes the schema from version i to i + 1, applied inside one transaction.
MIGRATIONS: list[str] = [_SCHEMA_V1, _SCHEMA_V2]
VERDICTS = ("confirm", "reject")


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _clean_feature(feature: np.ndarray) -> np.ndarray:
    f = np.ascontiguousarray(feature, np.float32).reshape(-1)
    if f.size == 0 or not np.isfinite(f).all():
        raise ModelError("The ReID model gave an invalid feature (empty, NaN or infinite); the photo was not stored")
    return f


def _require_gallery_file(path: Path, shown: Path) -> None:
    """Refuses anything but an SQLite file this app wrote (restoring an empty file would wipe the gallery)."""
    with open(path, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise GalleryError(f"{shown} is not a gallery backup (not an SQLite database file)")
    db = sqlite3.connect(str(path))
    try:
        has_meta = db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()[0]
    except sqlite3.Error as e:
        raise GalleryError(f"{shown} is not a readable gallery backup: {e}") from e
    finally:
        db.close()
    if not has_meta:
        raise GalleryError(f"{shown} is not a gallery backup (an SQLite file without the gallery's tables)")


def _same_label(db, label: str) -> tuple[int, str] | None:
    """(id, category) of the identity whose label is `label` by rules.label_key, if any (a scan: galleries hold
    thousands of identities at most, and SQLite cannot fold case beyond ASCII)."""
    key = label_key(label)
    return next(((i, c) for i, lab, c in db.execute("SELECT id, label, category FROM identities")
                 if label_key(lab) == key), None)


def clean_label(label: str) -> str:
    label = unicodedata.normalize("NFC", " ".join(str(label).split()))  # one form for one label (macOS gives NFD)
    if not label:
        raise GalleryError("A label cannot be empty")
    if len(label) > MAX_LABEL:
        raise GalleryError(f"A label can have at most {MAX_LABEL} characters")
    return label


class Gallery(SqliteStore):
    KIND = "gallery"
    OWN_TABLE = "identities"
    OTHER_KINDS = {"sources": "footage index"}
    REPAIR = "Restore a backup (Manager page: Restore; or `gallery restore FILE`), or choose another gallery."

    def _schema(self) -> tuple[int, list[str]]:
        return SCHEMA_VERSION, MIGRATIONS

    def close(self) -> None:
        with self._lock:
            self.db.close()

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
        feature = _clean_feature(feature)
        with self._tx() as db:
            row = _same_label(db, label)
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
        rows = [(int(e), model, int(f.size), sqlite3.Binary(f.tobytes())) for e, f in ((e, _clean_feature(f)) for e, f in items)]
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO features(entry_id, model, dim, vector) VALUES (?, ?, ?, ?)", rows)

    def rename(self, identity_id: int, label: str) -> None:
        label = clean_label(label)
        with self._tx() as db:
            other = _same_label(db, label)
            if other and other[0] != identity_id:
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

    def merge_identities(self, keep_id: int, other_id: int) -> MergeResult:
        """Moves every photo of `other_id` to `keep_id` and deletes `other_id`, in one transaction. Refused (nothing
        changed) when either is missing, when they are the same, or when their categories differ."""
        with self._tx() as db:
            rows = {r[0]: r for r in db.execute(
                "SELECT id, label, category FROM identities WHERE id IN (?, ?)", (keep_id, other_id))}
            for i in (keep_id, other_id):
                if i not in rows:
                    raise GalleryError(f"No identity with id {i}")
            keep, other = rows[keep_id], rows[other_id]
            if keep_id == other_id:
                raise GalleryError(f"Choose two different identities to merge, not '{keep[1]}' twice")
            if keep[2] != other[2]:
                raise GalleryError(
                    f"Cannot merge '{other[1]}' ({other[2]}) into '{keep[1]}' ({keep[2]}): an identity holds photos of one "
                    "category only. Nothing was changed."
                )
            moved = db.execute("UPDATE entries SET identity_id = ? WHERE identity_id = ?", (keep_id, other_id)).rowcount
            db.execute("UPDATE feedback SET identity_id = ? WHERE identity_id = ?", (keep_id, other_id))
            db.execute("DELETE FROM identities WHERE id = ?", (other_id,))
            n = db.execute("SELECT COUNT(*) FROM entries WHERE identity_id = ?", (keep_id,)).fetchone()[0]
        return MergeResult(keep_id, keep[1], keep[2], other_id, other[1], moved, n)

    def add_feedback(self, identity_id: int, verdict: str, source: str, boxes: list[tuple[int, tuple]],
                     model: str, views: np.ndarray, thumbnail: bytes | None = None) -> int:
        """Stores a verdict on a found track: its boxes [(frame, (x1, y1, x2, y2)), ...] in `source` and its views
        (features of `model`). Returns the feedback's id."""
        if verdict not in VERDICTS:
            raise GalleryError(f"A verdict is one of {', '.join(VERDICTS)}, not {verdict!r}")
        if not boxes:
            raise GalleryError("A verdict needs the boxes of the track it is about")
        rows = sorted((int(f), [round(float(v), 1) for v in b]) for f, b in boxes)
        views = np.asarray(views, np.float32).reshape(len(views), -1)
        vecs = np.stack([_clean_feature(v) for v in views]) if len(views) else None
        with self._tx() as db:
            if not db.execute("SELECT 1 FROM identities WHERE id = ?", (identity_id,)).fetchone():
                raise GalleryError(f"No identity with id {identity_id}")
            fid = db.execute(
                "INSERT INTO feedback(identity_id, verdict, source, boxes, start_frame, end_frame, thumbnail, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (identity_id, verdict, str(source), json.dumps(rows), rows[0][0], rows[-1][0],
                 sqlite3.Binary(thumbnail) if thumbnail else None, _now())).lastrowid
            if vecs is not None:
                db.execute("INSERT INTO feedback_features VALUES (?, ?, ?, ?, ?)",
                           (fid, model, int(vecs.shape[1]), len(vecs), sqlite3.Binary(vecs.tobytes())))
        return fid

    def delete_feedback(self, feedback_id: int) -> None:
        with self._tx() as db:
            if db.execute("DELETE FROM feedback WHERE id = ?", (feedback_id,)).rowcount == 0:
                raise GalleryError(f"No verdict with id {feedback_id}")

    # -- reads ----------------------------------------------------------------------------------
    def feedback(self, identity_id: int | None = None, source: str | None = None, verdict: str | None = None) -> list[tuple]:
        """(id, identity_id, label, verdict, source, boxes [(frame, box)], start_frame, end_frame, thumbnail, created)."""
        sql = """SELECT f.id, f.identity_id, i.label, f.verdict, f.source, f.boxes, f.start_frame, f.end_frame,
                        f.thumbnail, f.created
                 FROM feedback f JOIN identities i ON i.id = f.identity_id
                 WHERE (? IS NULL OR f.identity_id = ?) AND (? IS NULL OR f.source = ?) AND (? IS NULL OR f.verdict = ?)
                 ORDER BY f.id"""
        with self._lock:
            rows = self.db.execute(sql, (identity_id, identity_id, source, source, verdict, verdict)).fetchall()
        return [(r[0], r[1], r[2], r[3], r[4], [(int(f), tuple(b)) for f, b in json.loads(r[5])], r[6], r[7],
                 bytes(r[8]) if r[8] else None, r[9]) for r in rows]

    def negatives(self, model: str, category: str) -> tuple[np.ndarray, np.ndarray]:
        """(identity ids, vectors) of the rejected views of `category`'s identities embedded by `model`."""
        sql = """SELECT f.identity_id, x.dim, x.n, x.vectors FROM feedback_features x
                 JOIN feedback f ON f.id = x.feedback_id JOIN identities i ON i.id = f.identity_id
                 WHERE f.verdict = 'reject' AND x.model = ? AND i.category = ? ORDER BY f.id"""
        with self._lock:
            rows = self.db.execute(sql, (model, category)).fetchall()
        ids, vecs = [], []
        for ident, dim, n, blob in rows:
            if vecs and dim != vecs[0].shape[1]:
                continue  # another model file under the same name: cannot be compared (the boxes rule still holds)
            if len(blob) != 4 * dim * n:
                raise GalleryError("A stored rejected view is damaged; undo that verdict in the Manager and give it again")
            ids += [ident] * n
            vecs.append(np.frombuffer(blob, np.float32).reshape(n, dim))
        if not vecs:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return np.asarray(ids, np.int64), np.vstack(vecs)

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
        vecs = stack_vectors(
            [r[0] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
            mixed=lambda sizes: ModelError(
                f"The gallery holds features of different sizes {sizes} under ReID model '{model}': they come from "
                "different versions of that model and cannot be compared. Register those photos again."),
            damaged=lambda bad: GalleryError(
                f"The gallery's stored features of photo(s) {bad[:5]} are damaged; delete and register them again"))
        return (
            np.fromiter((r[0] for r in rows), np.int64, len(rows)),
            np.fromiter((r[1] for r in rows), np.int64, len(rows)),
            vecs,
        )

    def foreign_features(self, model: str, category: str) -> dict[str, int]:
        """Photos of `category` that `model` cannot search: {model they were embedded with: count}.

        They hold features only from other ReID models (another name), so comparing them with `model`'s
        features would be meaningless; search refuses instead of silently ignoring them."""
        sql = """SELECT COALESCE((SELECT GROUP_CONCAT(f.model) FROM features f WHERE f.entry_id = e.id), ''), COUNT(*)
                 FROM entries e JOIN identities i ON i.id = e.identity_id
                 WHERE i.category = ? AND NOT EXISTS (SELECT 1 FROM features g WHERE g.entry_id = e.id AND g.model = ?)
                 GROUP BY 1"""
        with self._lock:
            return {(m or "(none)"): n for m, n in self.db.execute(sql, (category, model)).fetchall()}

    def models_in_use(self) -> dict[str, int]:
        with self._lock:
            return dict(self.db.execute("SELECT model, COUNT(*) FROM features GROUP BY model").fetchall())

    def check(self) -> list[str]:
        """Integrity problems found (empty list when sound)."""
        with self._lock:
            try:
                problems = [r[0] for r in self.db.execute("PRAGMA integrity_check") if r[0] != "ok"]
                problems += [f"foreign key: {r}" for r in self.db.execute("PRAGMA foreign_key_check")]
            except sqlite3.DatabaseError as e:  # too damaged to be checked at all
                return [f"the file is damaged ({e})"]
            if problems:
                return problems
            problems += [
                f"identity #{r[0]} has no photo"
                for r in self.db.execute("SELECT id FROM identities WHERE id NOT IN (SELECT identity_id FROM entries)")
            ]
            problems += [
                f"photo #{r[0]} has no feature"
                for r in self.db.execute("SELECT id FROM entries WHERE id NOT IN (SELECT entry_id FROM features)")
            ]
            problems += [
                f"photo #{r[0]} has a damaged feature"
                for r in self.db.execute("SELECT entry_id FROM features WHERE dim <= 0 OR LENGTH(vector) != 4 * dim")
            ]
        return problems

    # -- backup ---------------------------------------------------------------------------------
    def _same_file(self, other: Path) -> bool:
        try:
            return other.exists() and other.resolve().samefile(self.path.resolve())
        except OSError:
            return False

    def backup(self, dest: str | Path) -> Path:
        """A consistent single-file copy, taken while others may be writing (SQLite online backup)."""
        dest = Path(dest)
        if dest.is_dir():
            raise GalleryError(f"Give a file name for the backup, {dest} is a folder")
        if self._same_file(dest) or dest.name in {self.path.name + "-wal", self.path.name + "-shm"}:
            raise GalleryError(f"{dest} is the gallery itself; choose another file for the backup")
        if self.damage:  # a damaged copy could not be restored, and it might replace a sound backup
            raise GalleryError(self._damaged_text("no backup was made of it"))
        tmp = dest.with_name(dest.name + ".part")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
            target = sqlite3.connect(str(tmp))
            try:
                with self._lock:
                    self.db.backup(target)
                target.execute("PRAGMA journal_mode=DELETE")
            finally:
                target.close()
            tmp.replace(dest)
        except (OSError, sqlite3.Error) as e:
            with contextlib.suppress(OSError):  # the place may not be writable at all: the error to tell is e
                tmp.unlink(missing_ok=True)
            raise GalleryError(f"The backup to {dest} failed: {e}") from e
        return dest

    def restore(self, src: str | Path) -> None:
        """Replaces the gallery's contents with a backup file, in one transaction (all or nothing).

        The backup file is never modified: it is copied to a temporary folder, and that copy is checked
        and migrated. The revision moves past this gallery's own, so every open index rebuilds."""
        src = Path(src)
        if not src.is_file():
            raise GalleryError(f"The backup file {src} does not exist")
        if self._same_file(src):
            raise GalleryError(f"{src} is the gallery itself, not a backup")
        with tempfile.TemporaryDirectory(prefix="reid-restore-") as tmpdir:
            copy = Path(tmpdir) / "backup.db"
            try:
                shutil.copyfile(src, copy)
                for suffix in ("-wal", "-journal"):  # a copy taken with its journal replays it, like the original would
                    side = src.with_name(src.name + suffix)
                    if side.is_file():
                        shutil.copyfile(side, copy.with_name(copy.name + suffix))
            except OSError as e:
                raise GalleryError(f"Cannot read the backup {src}: {e}") from e
            _require_gallery_file(copy, src)
            try:
                other = Gallery(copy)  # validates and migrates (the copy) of an older backup
            except GalleryError as e:
                raise GalleryError(str(e).replace(str(copy), str(src))) from e
            try:
                problems = other.check()
            finally:
                other.close()
            if problems:
                raise GalleryError(f"The backup {src} is damaged: {problems[:3]}")
            if self.damage:
                self._replace_damaged_file(copy)
            else:
                self._replace_contents(copy)

    def _replace_damaged_file(self, copy: Path) -> None:
        """Restoring over a damaged gallery: its rows cannot be rewritten, so the backup's copy takes the file's
        place and the damaged file is kept beside it (`NAME.damaged-TIME`, with its -wal), never deleted."""
        with self._lock:
            try:
                old_revision = self.revision()
            except sqlite3.Error:
                old_revision = 0
            db = sqlite3.connect(str(copy), isolation_level=None)
            try:  # one file (no -wal), its revision past the damaged one's so every open index rebuilds
                db.execute("PRAGMA journal_mode=DELETE")
                db.execute("UPDATE meta SET value = CAST(MAX(CAST(value AS INTEGER), ?) + 1 AS TEXT) WHERE key = 'revision'",
                           (old_revision,))
            finally:
                db.close()
            self.db.close()
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            kept = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
            staged = self.path.with_name(self.path.name + ".restoring")
            moved: list[tuple[Path, Path]] = []
            try:
                shutil.copyfile(copy, staged)
                for suffix in ("", "-wal", "-shm"):  # the damaged file's -wal must never meet the restored file
                    side = self.path.with_name(self.path.name + suffix)
                    if side.exists():
                        os.replace(side, kept.with_name(kept.name + suffix))
                        moved.append((side, kept.with_name(kept.name + suffix)))
                os.replace(staged, self.path)
            except OSError as e:
                for back, away in reversed(moved):  # all as it was
                    with contextlib.suppress(OSError):
                        os.replace(away, back)
                with contextlib.suppress(OSError):
                    staged.unlink(missing_ok=True)
                raise GalleryError(f"The damaged gallery {self.path} could not be replaced by the backup "
                                   f"({e.strerror or e}); it was left as it was") from e
            finally:
                self.damage = []
                self._open()  # the restored file, or the damaged one where the swap failed (it says so again)

    def _replace_contents(self, copy: Path) -> None:
        with self._lock:
            self.db.execute("ATTACH DATABASE ? AS src", (str(copy),))
            try:
                tables = [
                    r[0]
                    for r in self.db.execute(
                        "SELECT name FROM main.sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name != 'meta'"
                    )
                ]
                with self._tx() as db:
                    db.execute("PRAGMA defer_foreign_keys=ON")
                    for t in tables:
                        db.execute(f'DELETE FROM main."{t}"')
                    for t in tables:
                        cols = ", ".join(f'"{r[1]}"' for r in db.execute(f'PRAGMA main.table_info("{t}")'))
                        db.execute(f'INSERT INTO main."{t}" ({cols}) SELECT {cols} FROM src."{t}"')
            finally:
                self.db.execute("DETACH DATABASE src")
