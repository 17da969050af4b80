"""Refused packets: a record of every one, their bytes only within a budget.

Every refusal leaves a row (reason, station, topic, size, SHA-256), so an
operator can see what came and why, and the counters count it. The bytes are
kept for inspection only while they fit:

* a payload that never passed the signature check could have come from
  anyone, so only its first bytes are kept (enough to recognise it);
* a station's kept bytes, and everyone's together, stay under the budget; past
  it a row keeps the digest and the first bytes only;
* past ``max_rows`` rows, or a station's ``station_rows``, nothing more is
  written for it but the counters (one station cannot spend everyone's rows).

Usage is kept per station by triggers (migration 0003), so a delete from
anywhere frees its bytes. Payloads from no registered station share one
bucket, so made-up station ids on an open broker cannot multiply the budget.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Callable, ContextManager

from controller.store.counting import bump
from controller.store.rows import QuarantineEntry


@dataclass(frozen=True)
class QuarantineBudget:
    station_bytes: int = 64 * 2**20
    total_bytes: int = 1024 * 2**20
    max_rows: int = 200_000
    #: Rows one station (or the bucket of unregistered ones) may hold.
    station_rows: int = 20_000
    #: Bytes kept of a payload that is not kept whole.
    prefix_bytes: int = 256


class QuarantineTables:
    """Mixed into :class:`controller.store.Store`; every method is one transaction (or joins the caller's)."""

    transaction: Callable[[], ContextManager[sqlite3.Connection]]
    _clock: Callable[[], float]
    quarantine_budget: QuarantineBudget

    def quarantine(self, *, topic: str, reason_id: str, reason: str, payload: bytes,
                   packet_id: str | None = None, station_id: str | None = None,
                   verified: bool = False) -> int | None:
        """Record a refusal; ``station_id`` only for a registered station, ``verified`` once its signature held.

        Returns the row id, or None when the row budget is spent (only counted then)."""
        b = self.quarantine_budget
        with self.transaction() as db:
            bump(db, f"refused.{reason_id}")
            rows, total = db.execute("SELECT COALESCE(SUM(rows), 0), COALESCE(SUM(bytes), 0) "
                                     "FROM quarantine_usage").fetchone()
            mine = db.execute("SELECT bytes, rows FROM quarantine_usage WHERE station_id = ?",
                              (station_id or "",)).fetchone()
            if rows >= b.max_rows or (mine[1] if mine else 0) >= b.station_rows:
                bump(db, "quarantine.rows_dropped")
                return None
            kept = payload if verified else payload[:b.prefix_bytes]
            if (mine[0] if mine else 0) + len(kept) > b.station_bytes or total + len(kept) > b.total_bytes:
                kept = payload[:b.prefix_bytes]
                bump(db, "quarantine.trimmed")
            cur = db.execute(
                "INSERT INTO quarantine(packet_id, station_id, topic, received_at, reason_id, reason, size, payload, "
                "payload_kept, sha256, kept_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (packet_id, station_id, topic, self._clock(), reason_id, reason, len(payload), kept or None,
                 int(len(kept) == len(payload)), hashlib.sha256(payload).hexdigest(), len(kept)))
            return cur.lastrowid

    def quarantined(self, station_id: str | None = None, limit: int = 1000) -> list[QuarantineEntry]:
        with self.transaction() as db:
            q = ("SELECT id, packet_id, station_id, topic, received_at, reason_id, reason, size, payload_kept, "
                 "sha256, kept_bytes FROM quarantine")
            args: tuple = ()
            if station_id is not None:
                q += " WHERE station_id = ?"
                args = (station_id,)
            rows = db.execute(q + " ORDER BY id LIMIT ?", (*args, limit)).fetchall()
        return [QuarantineEntry(*r[:8], payload_kept=bool(r[8]), sha256=r[9], kept_bytes=r[10]) for r in rows]

    def quarantined_payload(self, entry_id: int) -> bytes | None:
        """What was kept of a refused payload (all of it, or its first bytes)."""
        with self.transaction() as db:
            row = db.execute("SELECT payload FROM quarantine WHERE id = ?", (entry_id,)).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def quarantine_usage(self) -> dict[str, tuple[int, int]]:
        """Rows and kept bytes per station ('' for payloads from no registered station)."""
        with self.transaction() as db:
            return {r[0]: (r[1], r[2]) for r in db.execute("SELECT station_id, rows, bytes FROM quarantine_usage")}
