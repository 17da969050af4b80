"""The station's outbox: sealed packets on disk until the controller has them.

SQLite through :mod:`adapters.sqlite` (WAL, ``synchronous=FULL``): a packet is
on disk before :meth:`Outbox.add` returns, and every state change is one
transaction, so a ``kill -9`` at any moment leaves each packet in exactly one
state. Moves are checked against :mod:`station.outbox_states`; sqlite3 errors
arrive as :class:`station.errors.OutboxError`.

Only sealed bytes are stored: nothing in this file can be read without the
controller's private key.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable, ContextManager

from adapters.sqlite import Database, Migration
from protocol.messages import AckStatus
from protocol.packet import Envelope
from station.errors import LowDiskSpace, OutboxError
from station.outbox_states import Event, OutboxStateError, State, next_state

MIGRATIONS = (Migration("0001_outbox", """
CREATE TABLE IF NOT EXISTS packets (
    packet_id   TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL UNIQUE,
    state       TEXT NOT NULL,
    payload     BLOB NOT NULL,
    size        INTEGER NOT NULL,
    sealed_at   REAL NOT NULL,
    sent_at     REAL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    reason_id   TEXT,
    reason      TEXT,
    changed_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS packets_state_seq ON packets(state, seq);
CREATE TABLE IF NOT EXISTS delivered (
    packet_id   TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    status      TEXT NOT NULL,
    acked_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name        TEXT PRIMARY KEY,
    value       INTEGER NOT NULL
);
"""),)

_ACK_EVENTS = {
    AckStatus.STORED: Event.ACK_STORED,
    AckStatus.DUPLICATE: Event.ACK_DUPLICATE,
    AckStatus.REJECTED: Event.ACK_REJECTED,
}


@dataclass(frozen=True)
class OutboxItem:
    packet_id: str
    seq: int
    payload: bytes
    size: int
    attempts: int

    def __repr__(self) -> str:
        return f"OutboxItem({self.packet_id}, seq={self.seq}, {self.size} bytes)"


@dataclass(frozen=True)
class QuarantinedItem:
    packet_id: str
    seq: int
    size: int
    sealed_at: float
    reason_id: str
    reason: str
    changed_at: float


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    sent: int
    quarantined: int
    bytes: int
    delivered: int
    oldest_sealed_at: float | None

    @property
    def depth(self) -> int:
        """Packets not yet in the controller's hands (quarantined ones included)."""
        return self.pending + self.sent + self.quarantined


@dataclass(frozen=True)
class PacketRow:
    """One line of the kiosk's outbox screen (no payload)."""

    packet_id: str
    seq: int
    state: str  # a State value
    changed_at: float
    reason_id: str
    reason: str
    #: For delivered packets: the controller's ack ("stored" or "duplicate").
    acked: str = ""


class AckOutcome(str, Enum):
    REMOVED = "removed"
    QUARANTINED = "quarantined"
    ALREADY_DELIVERED = "already_delivered"
    UNKNOWN = "unknown"
    IGNORED = "ignored"


class Outbox:
    """Thread-safe: the enrollment thread adds, the uplink thread sends and acks."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time,
                 recover_in_flight: bool = True,
                 connect: Callable[..., sqlite3.Connection] = sqlite3.connect) -> None:
        """``recover_in_flight=False`` for tools that look at the outbox of a running
        station: only the station that owns it may put its in-flight packets back."""
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.RLock()
        self._db = Database(self.path, error=OutboxError, what="outbox", migrations=MIGRATIONS, connect=connect)
        self._recover = recover_in_flight

    # -- lifecycle ---------------------------------------------------------
    def open(self) -> "Outbox":
        with self._lock:
            if self._db.is_open:
                return self
            self._db.open()
            if self._recover:
                try:  # whatever was in flight when we stopped is sent again
                    self._recover_in_flight()
                except OutboxError:
                    self._db.close()
                    raise
        return self

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Outbox":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- adding --------------------------------------------------------------
    def check_space(self, min_free_bytes: int) -> int:
        """Raise LowDiskSpace before an enrollment starts if the disk is nearly full."""
        free = shutil.disk_usage(self.path.parent).free
        if free < min_free_bytes:
            raise LowDiskSpace(
                f"only {free // 2**20} MiB free on {self.path.parent}; enrollment needs at least "
                f"{min_free_bytes // 2**20} MiB",
                free_mib=free // 2**20,
                need_mib=min_free_bytes // 2**20,
            )
        return free

    def next_seq(self) -> int:
        """Allocate the next per-station sequence number (durably, so never reused)."""
        return self.bump_counter("seq")

    def bump_counter(self, name: str) -> int:
        with self._tx() as db:
            db.execute(
                "INSERT INTO counters(name, value) VALUES (?, 1) "
                "ON CONFLICT(name) DO UPDATE SET value = value + 1",
                (name,),
            )
            return db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0]

    def counter(self, name: str) -> int:
        with self._tx() as db:
            row = db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            return row[0] if row else 0

    def add(self, envelope: Envelope) -> None:
        """Store a sealed packet as PENDING; it is on disk when this returns."""
        data = envelope.to_bytes()
        now = self._clock()
        with self._tx() as db:
            db.execute(
                "INSERT INTO packets(packet_id, seq, state, payload, size, sealed_at, changed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (envelope.packet_id, envelope.header.seq, State.PENDING.value, data, len(data),
                 envelope.header.sealed_at, now),
            )

    # -- sending -------------------------------------------------------------
    def take_for_sending(self, limit: int, max_bytes: int) -> list[OutboxItem]:
        """Oldest PENDING packets up to ``limit`` items / ``max_bytes`` (at least one)."""
        items: list[OutboxItem] = []
        total = 0
        with self._tx() as db:
            rows = db.execute(
                "SELECT packet_id, seq, payload, size, attempts FROM packets WHERE state = ? ORDER BY seq LIMIT ?",
                (State.PENDING.value, limit),
            )
            for row in rows:
                if items and total + row[3] > max_bytes:
                    break
                items.append(OutboxItem(row[0], row[1], bytes(row[2]), row[3], row[4]))
                total += row[3]
        return items

    def mark_sent(self, packet_id: str) -> None:
        self._move(packet_id, Event.PUBLISH, extra="sent_at = :now, attempts = attempts + 1")

    def quarantine_unsendable(self, packet_id: str, reason_id: str, reason: str) -> None:
        """A packet that can never be published as it is (too large for the broker)."""
        self._move(packet_id, Event.UNSENDABLE, reason_id=reason_id, reason=reason)

    def put_back(self, packet_id: str) -> bool:
        """SENT -> PENDING (no ack in time, or sent before a reconnection); False if it is not SENT any more."""
        with self._lock:
            row = self._row(packet_id)
            if row is None or row["state"] != State.SENT.value:
                return False
            self._move(packet_id, Event.PUT_BACK)
            return True

    def in_flight(self) -> list[tuple[str, float, int]]:
        """(packet id, sent at, size) of every packet published and not yet acked."""
        with self._tx() as db:
            return [(r[0], r[1], r[2]) for r in db.execute(
                "SELECT packet_id, sent_at, size FROM packets WHERE state = ? ORDER BY seq", (State.SENT.value,))]

    # -- acks ------------------------------------------------------------------
    def on_ack(self, packet_id: str, status: AckStatus, reason_id: str = "", reason: str = "") -> AckOutcome:
        """Apply the controller's ack. Duplicate and unknown acks are harmless."""
        with self._lock:
            row = self._row(packet_id)
            if row is None:
                with self._tx() as db:
                    seen = db.execute("SELECT 1 FROM delivered WHERE packet_id = ?", (packet_id,)).fetchone()
                return AckOutcome.ALREADY_DELIVERED if seen else AckOutcome.UNKNOWN
            current = State(row["state"])
            try:
                target = next_state(current, _ACK_EVENTS[status])
            except OutboxStateError:
                return AckOutcome.IGNORED  # e.g. a second "rejected" for a quarantined packet
            now = self._clock()
            with self._tx() as db:
                if target is State.REMOVED:
                    db.execute(
                        "INSERT OR REPLACE INTO delivered(packet_id, seq, status, acked_at) VALUES (?, ?, ?, ?)",
                        (packet_id, row["seq"], status.value, now),
                    )
                    db.execute("DELETE FROM packets WHERE packet_id = ?", (packet_id,))
                    return AckOutcome.REMOVED
                db.execute(
                    "UPDATE packets SET state = ?, reason_id = ?, reason = ?, changed_at = ? WHERE packet_id = ?",
                    (target.value, reason_id or "rejected", reason, now, packet_id),
                )
                return AckOutcome.QUARANTINED

    # -- quarantine ------------------------------------------------------------
    def quarantined(self) -> list[QuarantinedItem]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT packet_id, seq, size, sealed_at, reason_id, reason, changed_at FROM packets "
                "WHERE state = ? ORDER BY seq", (State.QUARANTINED.value,)).fetchall()
        return [QuarantinedItem(*r) for r in rows]

    def requeue_quarantined(self, packet_id: str | None = None) -> int:
        """Put one (or every) quarantined packet back in line; returns how many."""
        ids = [q.packet_id for q in self.quarantined() if packet_id in (None, q.packet_id)]
        if packet_id is not None and not ids:
            raise OutboxError(f"no quarantined packet {packet_id}", packet_id=packet_id)
        for pid in ids:
            self._move(pid, Event.REQUEUE, reason_id=None, reason=None)
        return len(ids)

    # -- reporting -------------------------------------------------------------
    def stats(self) -> OutboxStats:
        with self._tx() as db:
            counts = dict(db.execute("SELECT state, COUNT(*) FROM packets GROUP BY state").fetchall())
            size, oldest = db.execute("SELECT COALESCE(SUM(size), 0), MIN(sealed_at) FROM packets").fetchone()
            delivered = db.execute("SELECT COUNT(*) FROM delivered").fetchone()[0]
        return OutboxStats(
            pending=counts.get(State.PENDING.value, 0),
            sent=counts.get(State.SENT.value, 0),
            quarantined=counts.get(State.QUARANTINED.value, 0),
            bytes=size,
            delivered=delivered,
            oldest_sealed_at=oldest,
        )

    def listing(self, since: float) -> list["PacketRow"]:
        """Packets sealed (still here) or acknowledged (delivered log) since ``since``, newest first."""
        with self._tx() as db:
            here = db.execute("SELECT packet_id, seq, state, sealed_at, changed_at, reason_id, reason FROM packets "
                              "WHERE sealed_at >= ? OR changed_at >= ?", (since, since)).fetchall()
            gone = db.execute("SELECT packet_id, seq, status, acked_at FROM delivered WHERE acked_at >= ?",
                              (since,)).fetchall()
        rows = [PacketRow(r[0], r[1], r[2], r[4], r[5] or "", r[6] or "") for r in here]
        rows += [PacketRow(r[0], r[1], State.REMOVED.value, r[3], "", "", acked=r[2]) for r in gone]
        return sorted(rows, key=lambda r: r.seq, reverse=True)

    def state_of(self, packet_id: str) -> State | None:
        row = self._row(packet_id)
        if row is not None:
            return State(row["state"])
        with self._tx() as db:
            seen = db.execute("SELECT 1 FROM delivered WHERE packet_id = ?", (packet_id,)).fetchone()
        return State.REMOVED if seen else None

    def check_integrity(self) -> str:
        return self._db.integrity_check()

    # -- internals -------------------------------------------------------------
    def _recover_in_flight(self) -> None:
        with self._tx() as db:
            ids = [r[0] for r in db.execute("SELECT packet_id FROM packets WHERE state = ?", (State.SENT.value,))]
        for pid in ids:
            self._move(pid, Event.RESTART)

    def _row(self, packet_id: str) -> dict | None:
        with self._tx() as db:
            cur = db.execute("SELECT packet_id, seq, state FROM packets WHERE packet_id = ?", (packet_id,))
            row = cur.fetchone()
            if row is None:
                return None
            return dict(zip(("packet_id", "seq", "state"), row))

    _UNSET = object()

    def _move(self, packet_id: str, event: Event, *, extra: str = "", reason_id=_UNSET, reason=_UNSET) -> State:
        with self._lock:
            row = self._row(packet_id)
            if row is None:
                raise OutboxStateError(f"packet {packet_id} is not in the outbox")
            target = next_state(State(row["state"]), event)
            sets = ["state = :state", "changed_at = :now"]
            params: dict = {"state": target.value, "now": self._clock(), "pid": packet_id}
            if extra:
                sets.append(extra)
            if reason_id is not Outbox._UNSET:
                sets.append("reason_id = :rid")
                params["rid"] = reason_id
            if reason is not Outbox._UNSET:
                sets.append("reason = :reason")
                params["reason"] = reason
            with self._tx() as db:
                db.execute(f"UPDATE packets SET {', '.join(sets)} WHERE packet_id = :pid", params)
            return target

    def _tx(self) -> ContextManager[sqlite3.Connection]:
        return self._db.transaction()
