"""The emulated centre's own SQLite: batches received, records and their statuses, status events, stock.

A batch is recorded when it arrives (its sealed file beside the database)
and processed later in one transaction, so a kill at any point leaves it
either unprocessed (done again at start) or processed whole. Records are
keyed by packet id: one that arrives again in another batch is counted in
``records_received_twice`` and otherwise ignored.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ContextManager

from adapters.sqlite import Database, Migration
from rekam.errors import DemoError

MIGRATIONS = (Migration("0001_central", """
CREATE TABLE batches (
    batch_id    TEXT PRIMARY KEY,
    origin      TEXT NOT NULL,
    received_at REAL NOT NULL,
    count       INTEGER NOT NULL,
    path        TEXT NOT NULL,
    manifest    BLOB NOT NULL,
    processed   INTEGER NOT NULL DEFAULT 0,
    deliveries  INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE records (
    packet_id   TEXT PRIMARY KEY,
    batch_id    TEXT NOT NULL,
    origin      TEXT NOT NULL,
    nik         TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    status_at   REAL NOT NULL
);
CREATE INDEX records_nik ON records(nik);
CREATE INDEX records_status ON records(status);
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    origin      TEXT NOT NULL,
    packet_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    at          REAL NOT NULL
);
CREATE INDEX events_origin ON events(origin, seq);
CREATE TABLE state (
    name        TEXT PRIMARY KEY,
    value       INTEGER NOT NULL
);
"""),)


@dataclass(frozen=True)
class Decision:
    packet_id: str
    nik: str
    status: str
    reason: str = ""


class CentralStore:
    def __init__(self, path: Path, *, clock=time.time) -> None:
        self._db = Database(path, error=DemoError, what="central store", migrations=MIGRATIONS)
        self._clock = clock

    def open(self) -> "CentralStore":
        self._db.open()
        return self

    def close(self) -> None:
        self._db.close()

    def tx(self) -> ContextManager[sqlite3.Connection]:
        return self._db.transaction()

    # -- batches ----------------------------------------------------------------------------
    def receive(self, batch_id: str, origin: str, count: int, path: str, manifest: bytes) -> bool:
        """Record an arriving batch; False if it was already here (a resend)."""
        with self.tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO batches(batch_id, origin, received_at, count, path, manifest) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (batch_id, origin, self._clock(), count, path, manifest))
            if cur.rowcount == 0:
                db.execute("UPDATE batches SET deliveries = deliveries + 1 WHERE batch_id = ?", (batch_id,))
                return False
            return True

    def has_batch(self, batch_id: str) -> bool:
        with self.tx() as db:
            return db.execute("SELECT 1 FROM batches WHERE batch_id = ?", (batch_id,)).fetchone() is not None

    def unprocessed(self) -> list[tuple[str, str, str, bytes]]:
        with self.tx() as db:
            return [(r[0], r[1], r[2], bytes(r[3])) for r in db.execute(
                "SELECT batch_id, origin, path, manifest FROM batches WHERE processed = 0 ORDER BY received_at")]

    def processed_batches(self) -> list[tuple[str, str, bytes]]:
        with self.tx() as db:
            return [(r[0], r[1], bytes(r[2])) for r in db.execute(
                "SELECT batch_id, path, manifest FROM batches WHERE processed = 1 ORDER BY received_at")]

    def nik_holder(self, nik: str) -> str | None:
        with self.tx() as db:
            row = db.execute("SELECT packet_id FROM records WHERE nik = ? LIMIT 1", (nik,)).fetchone()
        return row[0] if row else None

    def has_record(self, packet_id: str) -> bool:
        with self.tx() as db:
            return db.execute("SELECT 1 FROM records WHERE packet_id = ?", (packet_id,)).fetchone() is not None

    def settle(self, batch_id: str, origin: str, decisions: list[Decision]) -> int:
        """Store a processed batch's decisions and events in one transaction; returns records new here."""
        now = self._clock()
        new = 0
        with self.tx() as db:
            for d in decisions:
                cur = db.execute("INSERT OR IGNORE INTO records(packet_id, batch_id, origin, nik, status, reason, "
                                 "status_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (d.packet_id, batch_id, origin, d.nik, d.status, d.reason, now))
                if cur.rowcount == 0:
                    self._bump(db, "records_received_twice")
                    continue
                new += 1
                self._event(db, origin, d.packet_id, d.status, d.reason, now)
            db.execute("UPDATE batches SET processed = 1 WHERE batch_id = ?", (batch_id,))
        return new

    # -- the print schedule --------------------------------------------------------------------
    def advance(self, status: str, to: str, after_s: float, *, needs_card: bool = False, limit: int = 500) -> int:
        """Move records that have been ``status`` for ``after_s`` on to ``to`` (taking a blank card if asked)."""
        now = self._clock()
        with self.tx() as db:
            rows = db.execute("SELECT packet_id, origin FROM records WHERE status = ? AND status_at <= ? "
                              "ORDER BY status_at LIMIT ?", (status, now - after_s, limit)).fetchall()
            moved = 0
            for packet_id, origin in rows:
                if needs_card:
                    if self._get(db, "stock") <= 0:
                        break  # the Semarang backlog: print-ready records wait for blank cards
                    self._bump(db, "stock", -1)
                db.execute("UPDATE records SET status = ?, status_at = ? WHERE packet_id = ?", (to, now, packet_id))
                self._event(db, origin, packet_id, to, "", now)
                moved += 1
        return moved

    def stock(self) -> int:
        with self.tx() as db:
            return self._get(db, "stock")

    def add_stock(self, n: int) -> int:
        with self.tx() as db:
            self._bump(db, "stock", n)
            return self._get(db, "stock")

    def init_stock(self, n: int) -> None:
        with self.tx() as db:
            db.execute("INSERT OR IGNORE INTO state(name, value) VALUES ('stock', ?)", (n,))

    # -- reading -----------------------------------------------------------------------------------
    def events(self, origin: str, after: int, limit: int) -> list[tuple[int, str, str, str, float]]:
        with self.tx() as db:
            return [tuple(r) for r in db.execute(
                "SELECT seq, packet_id, status, reason, at FROM events WHERE origin = ? AND seq > ? ORDER BY seq "
                "LIMIT ?", (origin, after, limit))]

    def counts(self) -> dict[str, int]:
        with self.tx() as db:
            out = dict(db.execute("SELECT status, COUNT(*) FROM records GROUP BY status").fetchall())
            out["batches"] = db.execute("SELECT COUNT(*) FROM batches").fetchone()[0]
            out["batch_deliveries"] = db.execute("SELECT COALESCE(SUM(deliveries), 0) FROM batches").fetchone()[0]
            out["records"] = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
            out["records_received_twice"] = self._get(db, "records_received_twice")
            out["stock"] = self._get(db, "stock")
            return out

    def record_status(self, packet_id: str) -> tuple[str, str] | None:
        with self.tx() as db:
            row = db.execute("SELECT status, reason FROM records WHERE packet_id = ?", (packet_id,)).fetchone()
        return (row[0], row[1]) if row else None

    # -- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def _event(db: sqlite3.Connection, origin: str, packet_id: str, status: str, reason: str, at: float) -> None:
        db.execute("INSERT INTO events(origin, packet_id, status, reason, at) VALUES (?, ?, ?, ?, ?)",
                   (origin, packet_id, status, reason, at))

    @staticmethod
    def _get(db: sqlite3.Connection, name: str) -> int:
        row = db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _bump(db: sqlite3.Connection, name: str, by: int = 1) -> None:
        db.execute("INSERT INTO state(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET "
                   "value = value + excluded.value", (name, by))
