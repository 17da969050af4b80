"""Packets as the dashboard sees them: index columns only, their timeline, the quarantine, reviews.

Nothing here reads an envelope: the sealed bytes stay in the store, and no
method returns them. The timeline of a packet is the union of its packet row
(sealed, received and stored), its quarantine entries (with the reason and
how each was handled) and ``packet_events``: the open list where other parts
add rows (requeued, deleted, reviews), and the hand-off's own tables: the
batch it was exported in, its payload purged, each status the centre sent back.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Callable, ContextManager


@dataclass(frozen=True)
class PacketInfo:
    packet_id: str
    station_id: str
    seq: int
    nik: str = field(repr=False)
    kelurahan_code: str = ""
    assignment_id: str | None = None
    operator_id: str | None = None
    captured_at: float = 0.0
    sealed_at: float = 0.0
    received_at: float = 0.0
    status: str = "stored"
    size: int = 0
    stored_by: str | None = None


@dataclass(frozen=True)
class QuarantineRow:
    id: int
    packet_id: str | None
    station_id: str | None
    topic: str
    received_at: float
    reason_id: str
    reason: str
    size: int
    payload_kept: bool
    handled: str | None
    handled_by: str | None
    handled_at: float | None
    handled_note: str | None


@dataclass(frozen=True)
class PacketEvent:
    at: float
    kind: str  # sealed | stored | quarantined | requeued | deleted | exported | central:<STATUS> | ...
    detail: str = ""
    source: str = ""


@dataclass(frozen=True)
class ReviewPair:
    nik: str = field(repr=False)
    packet_id: str = ""
    other_packet_id: str = ""
    flagged_at: float = 0.0
    decision: str | None = None
    resolved_by: str | None = None
    resolved_at: float | None = None
    reason: str | None = None


_P = ("packet_id, station_id, seq, nik, kelurahan_code, assignment_id, operator_id, captured_at, sealed_at, "
      "received_at, status, size, stored_by")
_Q = ("id, packet_id, station_id, topic, received_at, reason_id, reason, size, payload_kept, handled, handled_by, "
      "handled_at, handled_note")


def _q(r: tuple) -> QuarantineRow:
    return QuarantineRow(*r[:8], bool(r[8]), *r[9:])


class PacketLookup:
    """Mixed into :class:`controller.store.Store`; every method is one transaction (or joins the caller's)."""

    transaction: Callable[[], ContextManager[sqlite3.Connection]]
    _clock: Callable[[], float]

    # -- finding packets -------------------------------------------------------------------
    def packet_info(self, packet_id: str) -> PacketInfo | None:
        with self.transaction() as db:
            r = db.execute(f"SELECT {_P} FROM packets WHERE packet_id = ?", (packet_id,)).fetchone()
        return PacketInfo(*r) if r else None

    def packet_at(self, station_id: str, seq: int) -> list[PacketInfo]:
        with self.transaction() as db:
            return [PacketInfo(*r) for r in db.execute(
                f"SELECT {_P} FROM packets WHERE station_id = ? AND seq = ? ORDER BY received_at", (station_id, seq))]

    def packet_infos_by_nik(self, nik: str) -> list[PacketInfo]:
        with self.transaction() as db:
            return [PacketInfo(*r) for r in db.execute(
                f"SELECT {_P} FROM packets WHERE nik = ? ORDER BY received_at", (nik,))]

    def quarantine_for_packet(self, packet_id: str) -> list[QuarantineRow]:
        with self.transaction() as db:
            return [_q(r) for r in db.execute(f"SELECT {_Q} FROM quarantine WHERE packet_id = ? ORDER BY id",
                                              (packet_id,))]

    # -- the timeline -------------------------------------------------------------------------
    def add_packet_event(self, packet_id: str, kind: str, detail: str = "", source: str = "",
                         at: float | None = None) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO packet_events(packet_id, at, kind, detail, source) VALUES (?, ?, ?, ?, ?)",
                       (packet_id, self._clock() if at is None else at, kind, detail, source))

    def packet_events(self, packet_id: str) -> list[PacketEvent]:
        with self.transaction() as db:
            return [PacketEvent(*r) for r in db.execute(
                "SELECT at, kind, detail, source FROM packet_events WHERE packet_id = ? ORDER BY at, id", (packet_id,))]

    def packet_timeline(self, packet_id: str) -> list[PacketEvent]:
        """Everything known about one packet, oldest first."""
        with self.transaction() as db:
            info = self.packet_info(packet_id)
            quarantined = self.quarantine_for_packet(packet_id)
            extra = self.packet_events(packet_id)
            handoff = _handoff_events(db, packet_id)
        out: list[PacketEvent] = []
        if info is not None:
            out.append(PacketEvent(info.sealed_at, "sealed", "", info.station_id))
            out.append(PacketEvent(info.received_at, "stored", "", info.stored_by or ""))
        for q in quarantined:
            out.append(PacketEvent(q.received_at, "quarantined", f"{q.reason_id}: {q.reason}", q.station_id or ""))
        out += extra + handoff
        return sorted(out, key=lambda e: e.at)

    # -- the quarantine -------------------------------------------------------------------------
    def quarantine_rows(self, *, station_id: str | None = None, include_handled: bool = False,
                        limit: int = 500) -> list[QuarantineRow]:
        where, args = [], []
        if station_id:
            where.append("station_id = ?")
            args.append(station_id)
        if not include_handled:
            where.append("handled IS NULL")
        q = f"SELECT {_Q} FROM quarantine" + (" WHERE " + " AND ".join(where) if where else "")
        with self.transaction() as db:
            return [_q(r) for r in db.execute(q + " ORDER BY id DESC LIMIT ?", (*args, limit))]

    def quarantine_row(self, entry_id: int) -> QuarantineRow | None:
        with self.transaction() as db:
            r = db.execute(f"SELECT {_Q} FROM quarantine WHERE id = ?", (entry_id,)).fetchone()
        return _q(r) if r else None

    def handle_quarantined(self, entry_id: int, handled: str, by: str, note: str = "", *,
                           drop_payload: bool = False) -> bool:
        """Mark an entry requeued (its outcome in ``note``); False if unknown or already handled.

        ``drop_payload``: the packet is stored now, so this sealed copy is one too many.
        """
        keep = "" if not drop_payload else "payload = NULL, payload_kept = 0, "
        with self.transaction() as db:
            return db.execute(f"UPDATE quarantine SET {keep}handled = ?, handled_by = ?, handled_at = ?, "
                              "handled_note = ? WHERE id = ? AND handled IS NULL",
                              (handled, by, self._clock(), note, entry_id)).rowcount == 1

    def delete_quarantined(self, entry_id: int, by: str, note: str = "") -> bool:
        """Drop the kept bytes for good; the entry stays as the record that they existed and who deleted them."""
        with self.transaction() as db:
            return db.execute("UPDATE quarantine SET payload = NULL, payload_kept = 0, handled = 'deleted', "
                              "handled_by = ?, handled_at = ?, handled_note = ? WHERE id = ? "
                              "AND (handled IS NULL OR handled != 'deleted')",
                              (by, self._clock(), note, entry_id)).rowcount == 1

    # -- reviews (a NIK enrolled twice) ------------------------------------------------------------
    def review_pairs(self, *, unresolved_only: bool = True, limit: int = 500) -> list[ReviewPair]:
        q = ("SELECT nik, packet_id, other_packet_id, flagged_at, resolved, resolved_by, resolved_at, resolved_reason "
             "FROM duplicate_enrollments" + (" WHERE resolved IS NULL" if unresolved_only else ""))
        with self.transaction() as db:
            return [ReviewPair(*r) for r in db.execute(q + " ORDER BY resolved IS NOT NULL, flagged_at DESC LIMIT ?",
                                                       (limit,))]

    def resolve_review(self, packet_id: str, other_packet_id: str, decision: str, reason: str, by: str) -> bool:
        with self.transaction() as db:
            return db.execute(
                "UPDATE duplicate_enrollments SET resolved = ?, resolved_reason = ?, resolved_by = ?, resolved_at = ? "
                "WHERE packet_id = ? AND other_packet_id = ? AND resolved IS NULL",
                (decision, reason, by, self._clock(), packet_id, other_packet_id)).rowcount == 1


def _handoff_events(db: sqlite3.Connection, packet_id: str) -> list[PacketEvent]:
    """From the hand-off's tables (controller/store/handoff.py): exported, central statuses, purged."""
    out = [PacketEvent(at, "exported", batch_id, by) for batch_id, at, by in db.execute(
        "SELECT b.batch_id, b.created_at, b.created_by FROM export_items i JOIN export_batches b "
        "ON b.batch_id = i.batch_id WHERE i.packet_id = ?", (packet_id,))]
    out += [PacketEvent(at, f"central:{status}", reason, "central") for status, reason, at in db.execute(
        "SELECT status, reason, received_at FROM central_status_history WHERE packet_id = ? ORDER BY at, id",
        (packet_id,))]
    purged = db.execute("SELECT purged_at FROM packets WHERE packet_id = ? AND purged_at IS NOT NULL",
                        (packet_id,)).fetchone()
    if purged:
        out.append(PacketEvent(purged[0], "purged"))
    return out
