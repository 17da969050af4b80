"""The SQLite opener both programs use: durable settings, transactions, migrations.

Rules:

* WAL with ``synchronous=FULL``: a committed transaction is on disk when
  :meth:`Database.transaction` returns, so a ``kill -9`` at any moment leaves
  every row as it was before or after one whole transaction.
* Every transaction is ``BEGIN IMMEDIATE ... COMMIT`` under the object's lock;
  nested calls join the outer one. Nesting is counted here, never read from
  ``in_transaction``: after a failed COMMIT the connection may still be inside
  a transaction, and every later call would then believe itself nested and
  never commit. A failed COMMIT is rolled back, so the caller's error means
  "nothing changed on disk".
* Schema changes are named migrations applied in order at open, each in its
  own transaction and recorded in ``schema_migrations``; names that were
  applied are never run again, so migrations added on different branches
  compose.
* Every ``sqlite3.Error`` and ``OSError`` becomes the caller's error class
  (an OutboxError, a StoreError) here and nowhere else.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Iterator, Sequence


@dataclass(frozen=True)
class Migration:
    name: str  # "0001_initial": applied in name order, once
    sql: str

    def statements(self) -> list[str]:
        """The script's statements, one at a time (a trigger's body keeps its inner semicolons)."""
        out, buf = [], ""
        for piece in self.sql.split(";"):
            buf += piece + ";"
            if sqlite3.complete_statement(buf):
                if buf.strip(" \n;"):
                    out.append(buf.strip())
                buf = ""
        if buf.strip(" \n;"):
            out.append(buf.strip())
        return out


def migrations_in(package: str) -> list[Migration]:
    """The ``*.sql`` files shipped in ``package``, in name order."""
    files = [f for f in resources.files(package).iterdir() if f.name.endswith(".sql")]
    return [Migration(f.name[:-4], f.read_text(encoding="utf-8")) for f in sorted(files, key=lambda f: f.name)]


class Database:
    """One connection shared by a program's threads, serialised by a lock."""

    def __init__(self, path: str | Path, *, error: type[Exception], what: str = "database",
                 migrations: Sequence[Migration] = (), busy_timeout_s: float = 10.0,
                 pragmas: Sequence[str] = (),
                 connect: Callable[..., sqlite3.Connection] = sqlite3.connect) -> None:
        """``connect`` is the seam for tests that need a connection to fail on cue."""
        self.path = Path(path)
        self._connect = connect
        self._error = error
        self._what = what
        self._migrations = tuple(migrations)
        self._busy = busy_timeout_s
        self._pragmas = tuple(pragmas)
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._depth = 0

    # -- lifecycle ---------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._db is not None

    def open(self) -> "Database":
        with self._lock:
            if self._db is not None:
                return self
            db = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = self._connect(self.path, check_same_thread=False, isolation_level=None,
                                     timeout=self._busy)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.execute("PRAGMA foreign_keys=ON")
                for pragma in self._pragmas:
                    db.execute(f"PRAGMA {pragma}")
                self._db = db
                self._migrate()
            except (sqlite3.Error, self._error) as exc:
                self._db = None
                if db is not None:
                    db.close()
                raise self._error(f"cannot open {self._what} {self.path}: {exc}") from exc
            except OSError as exc:
                raise self._error(f"cannot create {self.path.parent} for the {self._what}: {exc.strerror}") from exc
        return self

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()

    # -- transactions --------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE ... COMMIT; nested calls join the outer one."""
        with self._lock:
            db = self._db
            if db is None:
                raise self._error(f"{self._what} {self.path} is not open")
            if self._depth:
                self._depth += 1
                try:
                    yield db
                finally:
                    self._depth -= 1
                return
            try:
                if db.in_transaction:
                    db.execute("ROLLBACK")  # left over from a failure: never build on it
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(f"{self._what} {self.path} is unavailable: {exc}") from exc
            self._depth = 1
            try:
                yield db
                db.execute("COMMIT")
            except BaseException as exc:
                _rollback(db)
                if isinstance(exc, sqlite3.Error):
                    raise self._error(f"{self._what} {self.path} failed: {exc}") from exc
                raise
            finally:
                self._depth = 0

    @contextmanager
    def savepoint(self) -> Iterator[sqlite3.Connection]:
        """Part of a transaction that fails alone: its changes are undone, the caller's are kept."""
        with self.transaction() as db:
            db.execute("SAVEPOINT part")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK TO part")
                db.execute("RELEASE part")
                raise
            db.execute("RELEASE part")

    # -- schema --------------------------------------------------------------
    def applied_migrations(self) -> list[str]:
        with self.transaction() as db:
            return [r[0] for r in db.execute("SELECT name FROM schema_migrations ORDER BY name")]

    def _migrate(self) -> None:
        with self.transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
            done = {r[0] for r in db.execute("SELECT name FROM schema_migrations")}
            legacy = db.execute("PRAGMA user_version").fetchone()[0]
            if legacy and not done:
                # A file from before named migrations: its user_version counts the ones applied.
                for m in self._migrations[:legacy]:
                    db.execute("INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)", (m.name, time.time()))
                    done.add(m.name)
        for m in self._migrations:
            if m.name in done:
                continue
            with self.transaction() as db:
                for statement in m.statements():
                    db.execute(statement)
                db.execute("INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)", (m.name, time.time()))

    def compact(self, *, vacuum: bool = False) -> None:
        """Move the WAL into the file and truncate it (optionally VACUUM first), outside any transaction.

        What a transaction deleted can linger in old WAL frames and free pages;
        this is how a caller makes sure it has left the files on disk.
        """
        with self._lock:
            db = self._db
            if db is None:
                raise self._error(f"{self._what} {self.path} is not open")
            if self._depth:
                raise self._error(f"cannot compact the {self._what} inside a transaction")
            try:
                if vacuum:
                    db.execute("VACUUM")
                busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.Error as exc:
                raise self._error(f"{self._what} {self.path} could not be compacted: {exc}") from exc
            if busy:
                raise self._error(f"{self._what} {self.path} is busy (another process reads it); compact again later")

    def integrity_check(self) -> str:
        with self.transaction() as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0]


def _rollback(db: sqlite3.Connection) -> None:
    try:
        if db.in_transaction:
            db.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # the connection is beyond saving; the next transaction starts clean or reports it
