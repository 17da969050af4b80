"""The hand-off to the central system: batches, central statuses with history, reviews, audit, purge.

Rules kept here:

* a packet enters ``export_items`` once (primary key): a record is never put
  into two batches, whatever crashes in between;
* every status the centre reports is kept in the history; the current one is
  the latest reported, and waits (``published = 0``) until the station's
  ``status`` topic has it;
* purging empties a packet's sealed envelope and keeps its index columns,
  batch membership and statuses. It runs with ``secure_delete`` so the freed
  pages are zeroed, and :meth:`HandOffTables.compact` then checkpoints the
  WAL (and optionally VACUUMs), so the bytes leave the database file.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Callable, ContextManager, Iterable

from adapters.sqlite import Database

#: Statuses that mean the centre has the record (purge may follow after the grace period).
CONFIRMED = ("SENT_FOR_ENROLLMENT", "PRINT_READY_RECORD", "PRINTED", "DISTRIBUTED")
FUNNEL = ("recorded", "sent", "enrolled", "print_ready", "printed", "distributed")


@dataclass(frozen=True)
class BatchRow:
    batch_id: str
    created_at: float
    created_by: str
    count: int
    path: str
    manifest_path: str
    sealed_sha256: str
    state: str = "sealed"  # sealed -> accepted (the centre has it)
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: float = 0.0
    accepted_at: float | None = None


@dataclass(frozen=True)
class StatusRow:
    packet_id: str
    station_id: str
    status: str
    reason: str
    at: float


@dataclass(frozen=True)
class HandOffReview:
    id: int
    kind: str  # central_duplicate | central_failure | biometric_duplicate
    packet_id: str
    other_packet_id: str
    detail: str
    score: float | None
    raised_at: float


@dataclass(frozen=True)
class FunnelRow:
    kecamatan_code: str
    recorded: int
    sent: int
    enrolled: int
    print_ready: int
    printed: int
    distributed: int


@dataclass(frozen=True)
class ExportAuditEntry:
    id: int
    at: float
    actor: str
    action: str
    count: int
    batch_id: str | None
    detail: str


_BATCH_COLS = ("batch_id, created_at, created_by, count, path, manifest_path, sealed_sha256, state, attempts, "
               "last_error, next_attempt_at, accepted_at")


class HandOffTables:
    """Mixed into :class:`controller.store.Store`; every method is one transaction (or joins the caller's)."""

    transaction: Callable[[], ContextManager[sqlite3.Connection]]
    _clock: Callable[[], float]
    _db: Database

    # -- what is left to export -------------------------------------------------------
    _HELD = ("AND NOT EXISTS (SELECT 1 FROM handoff_reviews r WHERE r.packet_id = p.packet_id "
             "AND r.kind = 'export_refused' AND r.resolved IS NULL) ")

    def packets_to_export(self, limit: int = 1000, *, retry_refused: bool = True) -> list[str]:
        """Stored packets in no batch yet, oldest first (without those once refused, unless ``retry_refused``)."""
        with self.transaction() as db:
            return [r[0] for r in db.execute(
                "SELECT p.packet_id FROM packets p LEFT JOIN export_items e ON e.packet_id = p.packet_id "
                "WHERE e.packet_id IS NULL AND p.purged_at IS NULL " + ("" if retry_refused else self._HELD)
                + "ORDER BY p.received_at, p.rowid LIMIT ?", (limit,))]

    def export_backlog(self, *, retry_refused: bool = True) -> int:
        with self.transaction() as db:
            return db.execute("SELECT COUNT(*) FROM packets p LEFT JOIN export_items e ON e.packet_id = p.packet_id "
                              "WHERE e.packet_id IS NULL AND p.purged_at IS NULL "
                              + ("" if retry_refused else self._HELD)).fetchone()[0]

    # -- batches ---------------------------------------------------------------------------
    def record_batch(self, batch: BatchRow, items: Iterable[tuple[str, str]], *, actor: str) -> None:
        """The batch, the packets it carries and the audit entry, in one transaction."""
        with self.transaction() as db:
            db.execute(f"INSERT INTO export_batches({_BATCH_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (batch.batch_id, batch.created_at, batch.created_by, batch.count, batch.path,
                        batch.manifest_path, batch.sealed_sha256, batch.state, batch.attempts, batch.last_error,
                        batch.next_attempt_at, batch.accepted_at))
            db.executemany("INSERT INTO export_items(packet_id, batch_id, sha256) VALUES (?, ?, ?)",
                           [(pid, batch.batch_id, sha) for pid, sha in items])
            self._export_audit(db, actor, "export.sealed", batch.count, batch.batch_id)

    def batch(self, batch_id: str) -> BatchRow | None:
        with self.transaction() as db:
            row = db.execute(f"SELECT {_BATCH_COLS} FROM export_batches WHERE batch_id = ?", (batch_id,)).fetchone()
        return BatchRow(*row) if row else None

    def batches(self, state: str | None = None) -> list[BatchRow]:
        q = f"SELECT {_BATCH_COLS} FROM export_batches" + (" WHERE state = ?" if state else "") + " ORDER BY created_at"
        with self.transaction() as db:
            return [BatchRow(*r) for r in db.execute(q, (state,) if state else ())]

    def batch_items(self, batch_id: str) -> list[tuple[str, str]]:
        with self.transaction() as db:
            return [tuple(r) for r in db.execute(
                "SELECT packet_id, sha256 FROM export_items WHERE batch_id = ? ORDER BY packet_id", (batch_id,))]

    def batch_failed(self, batch_id: str, error: str, retry_at: float) -> None:
        with self.transaction() as db:
            db.execute("UPDATE export_batches SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
                       "WHERE batch_id = ?", (error[:500], retry_at, batch_id))

    def batch_accepted(self, batch_id: str, *, actor: str) -> bool:
        """The centre has the batch; False if it was already marked (a resend after a crash)."""
        with self.transaction() as db:
            cur = db.execute("UPDATE export_batches SET state = 'accepted', attempts = attempts + 1, "
                             "last_error = NULL, accepted_at = ? WHERE batch_id = ? AND state != 'accepted'",
                             (self._clock(), batch_id))
            if cur.rowcount:
                n = db.execute("SELECT count FROM export_batches WHERE batch_id = ?", (batch_id,)).fetchone()[0]
                self._export_audit(db, actor, "export.delivered", n, batch_id)
            return cur.rowcount == 1

    # -- central statuses -------------------------------------------------------------------
    def apply_statuses(self, updates: Iterable[tuple[str, str, str, float]]) -> list[str]:
        """(packet id, status, reason, at) from the centre; returns the packet ids whose status is new."""
        now = self._clock()
        changed = []
        with self.transaction() as db:
            for packet_id, status, reason, at in updates:
                if db.execute("SELECT 1 FROM packets WHERE packet_id = ?", (packet_id,)).fetchone() is None:
                    continue  # not ours (another controller's store): nothing to record
                cur = db.execute("INSERT OR IGNORE INTO central_status_history(packet_id, status, reason, at, "
                                 "received_at) VALUES (?, ?, ?, ?, ?)", (packet_id, status, reason, at, now))
                if cur.rowcount == 0:
                    continue  # heard before
                db.execute("INSERT INTO central_status(packet_id, status, reason, at, received_at) "
                           "VALUES (?, ?, ?, ?, ?) ON CONFLICT(packet_id) DO UPDATE SET status = excluded.status, "
                           "reason = excluded.reason, at = excluded.at, received_at = excluded.received_at "
                           "WHERE excluded.at >= central_status.at",
                           (packet_id, status, reason, at, now))
                changed.append(packet_id)
        return changed

    def central_status(self, packet_id: str) -> StatusRow | None:
        with self.transaction() as db:
            row = db.execute("SELECT c.packet_id, p.station_id, c.status, c.reason, c.at FROM central_status c "
                             "JOIN packets p ON p.packet_id = c.packet_id WHERE c.packet_id = ?",
                             (packet_id,)).fetchone()
        return StatusRow(*row) if row else None

    def status_history(self, packet_id: str) -> list[tuple[str, str, float, float]]:
        """(status, reason, at, received_at) oldest first: the packet's timeline at the centre."""
        with self.transaction() as db:
            return [tuple(r) for r in db.execute(
                "SELECT status, reason, at, received_at FROM central_status_history WHERE packet_id = ? "
                "ORDER BY at, id", (packet_id,))]

    def unpublished_statuses(self, limit: int = 2000) -> list[StatusRow]:
        """Every status not yet on its station's topic, in the order heard (intermediate ones too)."""
        with self.transaction() as db:
            return [StatusRow(*r) for r in db.execute(
                "SELECT h.packet_id, p.station_id, h.status, h.reason, h.at FROM central_status_history h "
                "JOIN packets p ON p.packet_id = h.packet_id WHERE h.published = 0 ORDER BY h.id LIMIT ?",
                (limit,))]

    def statuses_published(self, rows: Iterable[StatusRow]) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE central_status_history SET published = 1 WHERE packet_id = ? AND status = ?",
                           [(r.packet_id, r.status) for r in rows])

    def handoff_value(self, name: str, default: str = "") -> str:
        with self.transaction() as db:
            row = db.execute("SELECT value FROM handoff_state WHERE name = ?", (name,)).fetchone()
        return row[0] if row else default

    def set_handoff_value(self, name: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO handoff_state(name, value) VALUES (?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value))

    # -- reviews and revisits ----------------------------------------------------------------
    def raise_handoff_review(self, kind: str, packet_id: str, detail: str, *, other_packet_id: str = "",
                             score: float | None = None) -> bool:
        with self.transaction() as db:
            cur = db.execute("INSERT OR IGNORE INTO handoff_reviews(kind, packet_id, other_packet_id, detail, score, "
                             "raised_at) VALUES (?, ?, ?, ?, ?, ?)",
                             (kind, packet_id, other_packet_id, detail, score, self._clock()))
            return cur.rowcount == 1

    def handoff_reviews(self, kind: str | None = None) -> list[HandOffReview]:
        q = ("SELECT id, kind, packet_id, other_packet_id, detail, score, raised_at FROM handoff_reviews "
             "WHERE resolved IS NULL" + (" AND kind = ?" if kind else "") + " ORDER BY raised_at, id")
        with self.transaction() as db:
            return [HandOffReview(*r) for r in db.execute(q, (kind,) if kind else ())]

    def resolve_handoff_review(self, review_id: int, decision: str, reason: str, by: str) -> bool:
        """Record a decision on a review the hand-off raised; False if unknown or already resolved.
        A resolved ``export_refused`` review lets the running controller try that record again."""
        resolution = json.dumps({"decision": decision, "reason": reason, "by": by, "at": self._clock()})
        with self.transaction() as db:
            return db.execute("UPDATE handoff_reviews SET resolved = ? WHERE id = ? AND resolved IS NULL",
                              (resolution, review_id)).rowcount == 1

    def revisits(self, statuses: Iterable[str]) -> list[tuple[str, str, str, str]]:
        """(kelurahan, packet id, NIK, status) of records the centre refused for a reason the resident must fix."""
        wanted = list(statuses)
        if not wanted:
            return []
        marks = ", ".join("?" * len(wanted))
        with self.transaction() as db:
            return [tuple(r) for r in db.execute(
                "SELECT p.kelurahan_code, p.packet_id, p.nik, c.status FROM central_status c JOIN packets p "
                f"ON p.packet_id = c.packet_id WHERE c.status IN ({marks}) ORDER BY p.kelurahan_code, p.received_at",
                wanted)]

    # -- the funnel ---------------------------------------------------------------------------------
    def funnel(self) -> list[FunnelRow]:
        """recorded -> sent -> enrolled -> print-ready -> printed -> distributed, per kecamatan code."""
        conf = ", ".join(f"'{s}'" for s in CONFIRMED)
        with self.transaction() as db:
            rows = db.execute(
                "SELECT substr(p.kelurahan_code, 1, 8) AS kec, COUNT(*), "
                "SUM(b.state = 'accepted'), "
                f"SUM(c.status IN ({conf})), "
                "SUM(c.status IN ('PRINT_READY_RECORD', 'PRINTED', 'DISTRIBUTED')), "
                "SUM(c.status IN ('PRINTED', 'DISTRIBUTED')), "
                "SUM(c.status = 'DISTRIBUTED') "
                "FROM packets p LEFT JOIN export_items e ON e.packet_id = p.packet_id "
                "LEFT JOIN export_batches b ON b.batch_id = e.batch_id "
                "LEFT JOIN central_status c ON c.packet_id = p.packet_id GROUP BY kec ORDER BY kec").fetchall()
        return [FunnelRow(r[0], *(int(v or 0) for v in r[1:])) for r in rows]

    # -- the de-duplication index (sealed rows) ---------------------------------------------------
    def add_dedup_rows(self, rows: Iterable[tuple[str, bytes, bytes]]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO dedup_vectors(packet_id, nonce, sealed) VALUES (?, ?, ?)", rows)

    def dedup_rows(self) -> list[tuple[str, bytes, bytes]]:
        with self.transaction() as db:
            return [(r[0], bytes(r[1]), bytes(r[2])) for r in db.execute(
                "SELECT packet_id, nonce, sealed FROM dedup_vectors ORDER BY rowid")]

    def dedup_rows_for(self, packet_ids: list[str]) -> list[tuple[str, bytes, bytes]]:
        with self.transaction() as db:
            rows = [db.execute("SELECT packet_id, nonce, sealed FROM dedup_vectors WHERE packet_id = ?",
                               (pid,)).fetchone() for pid in packet_ids]
        return [(r[0], bytes(r[1]), bytes(r[2])) for r in rows if r is not None]

    def packet_niks(self, packet_ids: Iterable[str]) -> dict[str, str]:
        ids = list(packet_ids)
        out: dict[str, str] = {}
        with self.transaction() as db:
            for i in range(0, len(ids), 500):
                chunk = ids[i: i + 500]
                out.update(db.execute(f"SELECT packet_id, nik FROM packets WHERE packet_id IN "
                                      f"({', '.join('?' * len(chunk))})", chunk).fetchall())
        return out

    def export_jobs(self, packet_ids: list[str]) -> list[tuple[str, bytes, bytes]]:
        """(packet id, sealed envelope, station signing key PEM) for conversion."""
        out = []
        with self.transaction() as db:
            for pid in packet_ids:
                row = db.execute("SELECT p.envelope, s.signing_key FROM packets p JOIN stations s "
                                 "ON s.station_id = p.station_id WHERE p.packet_id = ?", (pid,)).fetchone()
                if row is not None:
                    out.append((pid, bytes(row[0]), bytes(row[1])))
        return out

    # -- audit ------------------------------------------------------------------------------------
    def export_audit(self, actor: str, action: str, count: int, batch_id: str | None = None, detail: str = "") -> None:
        with self.transaction() as db:
            self._export_audit(db, actor, action, count, batch_id, detail)

    def _export_audit(self, db: sqlite3.Connection, actor: str, action: str, count: int, batch_id: str | None = None,
               detail: str = "") -> None:
        db.execute("INSERT INTO audit(at, actor, action, count, batch_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                   (self._clock(), actor, action, count, batch_id, detail))

    def export_audit_trail(self, limit: int = 200) -> list[ExportAuditEntry]:
        with self.transaction() as db:
            return [ExportAuditEntry(*r) for r in db.execute(
                "SELECT id, at, actor, action, count, batch_id, detail FROM audit ORDER BY id DESC LIMIT ?",
                (limit,))][::-1]

    # -- purge ------------------------------------------------------------------------------------
    def purgeable(self, grace_s: float, now: float | None = None) -> list[str]:
        """Packets the centre confirmed at least ``grace_s`` ago whose sealed payload is still here."""
        cutoff = (self._clock() if now is None else now) - grace_s
        conf = ", ".join(f"'{s}'" for s in CONFIRMED)
        with self.transaction() as db:
            return [r[0] for r in db.execute(
                "SELECT p.packet_id FROM packets p WHERE p.purged_at IS NULL AND EXISTS (SELECT 1 FROM "
                f"central_status_history h WHERE h.packet_id = p.packet_id AND h.status IN ({conf}) "
                "AND h.received_at <= ?) ORDER BY p.packet_id", (cutoff,))]

    def purge_payloads(self, packet_ids: list[str], *, actor: str) -> int:
        """Empty the sealed envelopes and drop the sealed finger templates (zeroing the freed pages);
        the index and the statuses stay."""
        if not packet_ids:
            return 0
        with self.transaction() as db:
            db.execute("PRAGMA secure_delete = ON")
            n = 0
            for pid in packet_ids:
                n += db.execute("UPDATE packets SET envelope = X'', purged_at = ? WHERE packet_id = ? "
                                "AND purged_at IS NULL", (self._clock(), pid)).rowcount
                # its finger templates too: the centre's own matching holds the resident from now on
                db.execute("DELETE FROM dedup_vectors WHERE packet_id = ?", (pid,))
            self._export_audit(db, actor, "purge", n, None, "sealed payloads deleted after central confirmation")
        return n

    def compact(self, *, vacuum: bool = False) -> None:
        """After a purge: checkpoint and truncate the WAL (and VACUUM) so the deleted bytes leave the files."""
        self._db.compact(vacuum=vacuum)

    def purged(self, packet_id: str) -> bool:
        with self.transaction() as db:
            row = db.execute("SELECT purged_at FROM packets WHERE packet_id = ?", (packet_id,)).fetchone()
        return bool(row and row[0] is not None)
