"""Packets (stored still sealed, beside index columns), the quarantine and the counters."""

from __future__ import annotations

import sqlite3
from typing import Callable, ContextManager

from controller.store.rows import PacketIndex, QuarantineEntry, StoreOutcome

#: Quarantined payloads kept per station; beyond it only the reason is kept (flood guard).
QUARANTINE_PAYLOADS_PER_STATION = 1000
#: Largest quarantined payload kept whole; bigger ones keep their first bytes.
QUARANTINE_PAYLOAD_MAX = 16 * 1024 * 1024


class PacketTables:
    """Mixed into :class:`controller.store.Store`; every method is one transaction (or joins the caller's)."""

    transaction: Callable[[], ContextManager[sqlite3.Connection]]
    _clock: Callable[[], float]

    # -- packets ---------------------------------------------------------------
    def has_packet(self, packet_id: str) -> bool:
        with self.transaction() as db:
            return db.execute("SELECT 1 FROM packets WHERE packet_id = ?", (packet_id,)).fetchone() is not None

    def store_packets(self, batch: list[tuple[PacketIndex, bytes]], stored_by: str = "") -> list[StoreOutcome]:
        """Store a batch in one transaction (one fsync); idempotent by packet id."""
        now = self._clock()
        outcomes = []
        with self.transaction() as db:
            for index, envelope in batch:
                cur = db.execute(
                    "INSERT OR IGNORE INTO packets(packet_id, station_id, seq, nik, kelurahan_code, assignment_id, "
                    "operator_id, captured_at, sealed_at, received_at, size, envelope, stored_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (index.packet_id, index.station_id, index.seq, index.nik, index.kelurahan_code,
                     index.assignment_id, index.operator_id, index.captured_at, index.sealed_at, now,
                     len(envelope), envelope, stored_by),
                )
                if cur.rowcount == 0:
                    outcomes.append(StoreOutcome(index.packet_id, duplicate=True))
                    continue
                others = tuple(r[0] for r in db.execute(
                    "SELECT packet_id FROM packets WHERE nik = ? AND packet_id != ? ORDER BY received_at",
                    (index.nik, index.packet_id)))
                for other in others:
                    db.execute(
                        "INSERT OR IGNORE INTO duplicate_enrollments(nik, packet_id, other_packet_id, flagged_at) "
                        "VALUES (?, ?, ?, ?)", (index.nik, index.packet_id, other, now))
                outcomes.append(StoreOutcome(index.packet_id, duplicate=False, same_nik=others))
        return outcomes

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

    # -- quarantine and counters -------------------------------------------------
    def quarantine(self, *, topic: str, reason_id: str, reason: str, payload: bytes,
                   packet_id: str | None = None, station_id: str | None = None) -> int:
        now = self._clock()
        with self.transaction() as db:
            kept_so_far = db.execute(
                "SELECT COUNT(*) FROM quarantine WHERE station_id IS ? AND payload_kept = 1", (station_id,)
            ).fetchone()[0]
            keep = kept_so_far < QUARANTINE_PAYLOADS_PER_STATION
            stored = payload[:QUARANTINE_PAYLOAD_MAX] if keep else None
            cur = db.execute(
                "INSERT INTO quarantine(packet_id, station_id, topic, received_at, reason_id, reason, size, payload, "
                "payload_kept) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (packet_id, station_id, topic, now, reason_id, reason, len(payload), stored, int(keep)),
            )
            self._count(db, f"refused.{reason_id}")
            return cur.lastrowid

    def quarantined(self, station_id: str | None = None, limit: int = 1000) -> list[QuarantineEntry]:
        with self.transaction() as db:
            q = ("SELECT id, packet_id, station_id, topic, received_at, reason_id, reason, size, payload_kept "
                 "FROM quarantine")
            args: tuple = ()
            if station_id is not None:
                q += " WHERE station_id = ?"
                args = (station_id,)
            rows = db.execute(q + " ORDER BY id LIMIT ?", (*args, limit)).fetchall()
        return [QuarantineEntry(*r[:8], payload_kept=bool(r[8])) for r in rows]

    def quarantined_payload(self, entry_id: int) -> bytes | None:
        with self.transaction() as db:
            row = db.execute("SELECT payload FROM quarantine WHERE id = ?", (entry_id,)).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def count(self, name: str, by: int = 1) -> None:
        with self.transaction() as db:
            self._count(db, name, by)

    @staticmethod
    def _count(db: sqlite3.Connection, name: str, by: int = 1) -> None:
        db.execute("INSERT INTO counters(name, value) VALUES (?, ?) "
                   "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (name, by))

    def counters(self, prefix: str = "") -> dict[str, int]:
        with self.transaction() as db:
            return dict(db.execute("SELECT name, value FROM counters WHERE name LIKE ? ORDER BY name",
                                   (prefix + "%",)).fetchall())
