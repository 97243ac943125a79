"""What the app's SQLite files share (the gallery, the footage index): WAL, a schema version with migrations in a
`meta` table, one write transaction per change that moves a `revision` counter, and errors explained to the user.

A file of another program, of the app's other kind of store, or of a newer app version is refused before anything
is written to it (the first look is read-only), so such a file is left byte for byte as it was.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from Algorithm.errors import GalleryError


def write_error(path: Path, e: sqlite3.Error, kind: str) -> GalleryError:
    """A failed write, explained: nothing was changed (the transaction rolled back)."""
    text = str(e)
    if "locked" in text or "busy" in text:
        why = "another program kept it locked too long; try again"
    elif "full" in text:
        why = "the disk is full; free some space and try again"
    elif "readonly" in text or "read-only" in text:
        why = "the file or its folder is read-only"
    else:
        why = text
    return GalleryError(f"The {kind} {path} was not changed: {why}")


def stack_vectors(ids: list[int], dims: list[int], blobs: list[bytes],
                  mixed: Callable[[list[int]], Exception], damaged: Callable[[list[int]], Exception]) -> np.ndarray:
    """The stored float32 vectors of one model as an (N, D) array. Raises `mixed(sizes)` when they have several sizes
    (two versions of a model under one name: never compared) and `damaged(ids)` when a blob is not D floats."""
    sizes = sorted(set(dims))
    if len(sizes) > 1:
        raise mixed(sizes)
    dim = sizes[0]
    bad = [i for i, b in zip(ids, blobs) if len(b) != 4 * dim]
    if bad or dim <= 0:
        raise damaged(bad)
    return np.frombuffer(b"".join(blobs), np.float32).reshape(len(blobs), dim)


class SqliteStore:
    """Base of the app's database files. Subclasses name themselves (`KIND`, `OWN_TABLE`) and give their schema
    through `_schema()`, read at call time (tests replace a module's MIGRATIONS to check upgrades)."""

    KIND = "database"  # said in messages: "gallery", "footage index"
    OWN_TABLE = ""  # a table only this kind of file has
    OTHER_KINDS: dict[str, str] = {}  # table -> name of the app's other store that has it (refused by name)
    REPAIR = "Restore a backup of it or start a new one."  # what a user does about a damaged file of this kind

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        if self.path.is_dir():
            raise GalleryError(f"The {self.KIND} must be a file, {self.path} is a folder")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise GalleryError(f"Cannot create the {self.KIND}'s folder {self.path.parent}: {e.strerror or e}") from e
        self.damage: list[str] = []
        self.read_only = False
        self._open()

    def _connect(self) -> sqlite3.Connection:
        """The file as it is: read-write; or read-only where the file or its folder cannot be written (evidence on a
        write-protected disk or a read-only share), where a WAL file would need a -shm beside it that cannot be made."""
        self.read_only = self.path.exists() and not (os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK))
        if not self.read_only:
            return sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
        uri = self.path.resolve().as_uri()
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:  # no -shm and none can be made: read the file as it is on the disk
            db.close()
            return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=30, isolation_level=None,
                                   check_same_thread=False)

    def _open(self) -> None:
        self.db = None
        try:
            self.db = self._connect()
            version = self._stored_version()  # read-only look first: a foreign or newer file is left as it was
            # A damaged file (a disk fault, a copy without its -wal) opens for reading what is left, and every
            # write is refused: writing into it could lose more. Costs one read of the file (~10 ms a MB).
            self.damage = self._quick_check()
            if self.damage and version < self._schema()[0]:
                raise GalleryError(self._damaged_text("it cannot be brought up to this version of the app"))
            if self.read_only:
                if version < self._schema()[0]:
                    raise GalleryError(f"The {self.KIND} {self.path} is read-only and from an older version of the "
                                       f"app: copy it to a folder you can write to, and open the copy")
                return
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            if not self.damage:
                self._migrate()
        except BaseException as e:
            if self.db is not None:
                self.db.close()
            if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
                raise GalleryError(f"The {self.KIND} {self.path} is locked by another program; close it and try again") from e
            if isinstance(e, sqlite3.Error):
                raise GalleryError(f"The file {self.path} is not a readable {self.KIND}: {e}") from e
            raise

    def _schema(self) -> tuple[int, list[str]]:
        """(schema version, migrations: step i takes the schema from version i to i + 1)."""
        raise NotImplementedError

    def _quick_check(self) -> list[str]:
        """SQLite's quick_check (structure, not index contents): the first problems found, [] when sound."""
        try:
            rows = [r[0] for r in self.db.execute("PRAGMA quick_check(3)")]
        except sqlite3.DatabaseError as e:
            return [str(e)]
        lines = [ln.strip() for r in rows for ln in str(r).splitlines()]
        return [] if lines == ["ok"] else [ln for ln in lines if ln and not ln.startswith("***")][:3]

    def read_only_text(self) -> str:
        return (f"The {self.KIND} {self.path} is read-only (its file or folder cannot be written): nothing was "
                f"written to it. To change it, copy it to a folder you can write to and open the copy.")

    def _damaged_text(self, what: str) -> str:
        return (f"The {self.KIND} {self.path} is damaged ({'; '.join(self.damage)[:200]}): {what}. "
                f"What can still be read is shown. {self.REPAIR}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock up front so two processes queue, not fail."""
        if self.damage:
            raise GalleryError(self._damaged_text("nothing was written to it"))
        if self.read_only:
            raise GalleryError(self.read_only_text())
        with self._lock:
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise write_error(self.path, e, self.KIND) from e
            try:
                yield self.db
                self.db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")
                self.db.execute("COMMIT")
            except BaseException as e:
                if self.db.in_transaction:  # SQLite may have rolled back by itself (disk full, I/O error)
                    self.db.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    raise write_error(self.path, e, self.KIND) from e
                raise

    def _stored_version(self) -> int:
        """The file's schema version (0: not laid out yet); GalleryError for files this app must not touch."""
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "meta" not in tables:
            raise GalleryError(
                f"{self.path} is a database of another program, not a {self.KIND} (it has tables {sorted(tables)[:5]}); "
                "choose another file"
            )
        if tables and self.OWN_TABLE not in tables:
            for table, kind in self.OTHER_KINDS.items():
                if table in tables:
                    raise GalleryError(f"{self.path} is a {kind}, not a {self.KIND}; choose another file")
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() if tables else None
        raw = row[0] if row else "0"
        try:
            version = int(raw)
        except (TypeError, ValueError):
            version = -1
        if version < 0:
            raise GalleryError(f"The {self.KIND} {self.path} has an unknown schema version {raw!r}")
        if version > self._schema()[0]:
            raise GalleryError(
                f"The {self.KIND} {self.path} was written by a newer version of the app (schema {version}); update the app"
            )
        return version

    def _migrate(self) -> None:
        schema_version, migrations = self._schema()
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self._stored_version()  # refuses foreign and newer files before anything is written
                self.db.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', '0'), ('revision', '0')")
                version = self._stored_version()
                for step in migrations[version:]:
                    for stmt in filter(str.strip, step.split(";")):
                        self.db.execute(stmt)
                self.db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(schema_version),))
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    def revision(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT value FROM meta WHERE key='revision'").fetchone()[0])

    def schema_version(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
