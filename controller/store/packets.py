"""Packets (stored still sealed, beside index columns) and the counters."""

from __future__ import annotations

import sqlite3
from typing import Callable, ContextManager

from controller.store.counting import bump
from controller.store.rows import PacketIndex, StoreOutcome


class PacketTables:
    """Mixed into :class:`controller.store.Store`; every method is one transaction (or joins the caller's)."""

    transaction: Callable[[], ContextManager[sqlite3.Connection]]
    _clock: Callable[[], float]

    # -- packets ---------------------------------------------------------------
    def has_packet(self, packet_id: str) -> bool:
        with self.transaction() as db:
            return db.execute("SELECT 1 FROM packets WHERE packet_id = ?", (packet_id,)).fetchone() is not None

    def store_packets(self, batch: list[tuple[PacketIndex, bytes]], stored_by: str = "") -> list[StoreOutcome]:
        """Store a batch in one transaction (one fsync); idempotent by packet id.

        Each packet is written under its own savepoint: a row the database
        refuses (a value it cannot hold) fails that packet only, and its
        outcome says so; an error of the database itself (disk, lock) fails the
        whole batch. The ack counters move in the same transaction as the rows.
        """
        now = self._clock()
        outcomes = []
        with self.transaction() as db:
            for index, envelope in batch:
                db.execute("SAVEPOINT packet")
                try:
                    outcome = self._store_one(db, index, envelope, stored_by, now)
                except (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError, OverflowError) as exc:
                    db.execute("ROLLBACK TO packet")
                    outcome = StoreOutcome(index.packet_id, duplicate=False, refused=exc.__class__.__name__)
                db.execute("RELEASE packet")
                bump(db, "ack.duplicate" if outcome.duplicate else "store.refused" if outcome.refused
                     else "ack.stored")
                outcomes.append(outcome)
        return outcomes

    @staticmethod
    def _store_one(db: sqlite3.Connection, index: PacketIndex, envelope: bytes, stored_by: str,
                   now: float) -> StoreOutcome:
        # Only a packet id already held is a duplicate (and lets the station delete its copy);
        # any other refusal (INSERT OR IGNORE would swallow a NOT NULL one) must raise.
        cur = db.execute(
            "INSERT INTO packets(packet_id, station_id, seq, nik, kelurahan_code, assignment_id, "
            "operator_id, captured_at, sealed_at, received_at, size, envelope, stored_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(packet_id) DO NOTHING",
            (index.packet_id, index.station_id, index.seq, index.nik, index.kelurahan_code, index.assignment_id,
             index.operator_id, index.captured_at, index.sealed_at, now, len(envelope), envelope, stored_by))
        if cur.rowcount == 0:
            return StoreOutcome(index.packet_id, duplicate=True)
        others = tuple(r[0] for r in db.execute(
            "SELECT packet_id FROM packets WHERE nik = ? AND packet_id != ? ORDER BY received_at",
            (index.nik, index.packet_id)))
        for other in others:
            db.execute("INSERT OR IGNORE INTO duplicate_enrollments(nik, packet_id, other_packet_id, flagged_at) "
                       "VALUES (?, ?, ?, ?)", (index.nik, index.packet_id, other, now))
        if others:
            bump(db, "duplicate_enrollment")
        return StoreOutcome(index.packet_id, duplicate=False, same_nik=others)

    def packet_count(self, station_id: str | None = None) -> int:
        with self.transaction() as db:
            if station_id is None:
                return db.execute("SELECT COUNT(*) FROM packets").fetchone()[0]
            return db.execute("SELECT COUNT(*) FROM packets WHERE station_id = ?", (station_id,)).fetchone()[0]

    def packet_ids(self, station_id: str | None = None) -> list[str]:
        with self.transaction() as db:
            q = "SELECT packet_id FROM packets" + (" WHERE station_id = ?" if station_id else "") + " ORDER BY packet_id"
            return [r[0] for r in db.execute(q, (station_id,) if station_id else ())]

    def stored_by(self) -> dict[str, int]:
        """Packets stored by each controller replica."""
        with self.transaction() as db:
            return dict(db.execute("SELECT stored_by, COUNT(*) FROM packets GROUP BY stored_by").fetchall())

    def packet_envelope(self, packet_id: str) -> bytes | None:
        with self.transaction() as db:
            row = db.execute("SELECT envelope FROM packets WHERE packet_id = ?", (packet_id,)).fetchone()
        return bytes(row[0]) if row else None

    def packets_by_nik(self, nik: str) -> list[str]:
        with self.transaction() as db:
            return [r[0] for r in db.execute("SELECT packet_id FROM packets WHERE nik = ? ORDER BY received_at", (nik,))]

    def duplicate_enrollments(self, unresolved_only: bool = True) -> list[tuple[str, str, str]]:
        """(NIK, packet, earlier packet) pairs waiting for review."""
        with self.transaction() as db:
            q = "SELECT nik, packet_id, other_packet_id FROM duplicate_enrollments"
            if unresolved_only:
                q += " WHERE resolved IS NULL"
            return [tuple(r) for r in db.execute(q + " ORDER BY flagged_at")]

    # -- counters -------------------------------------------------------------------
    def count(self, name: str, by: int = 1) -> None:
        with self.transaction() as db:
            bump(db, name, by)

    def counters(self, prefix: str = "") -> dict[str, int]:
        with self.transaction() as db:
            return dict(db.execute("SELECT name, value FROM counters WHERE name LIKE ? ORDER BY name",
                                   (prefix + "%",)).fetchall())
