"""What the central system says about this station's packets, kept on the station.

The controller publishes central statuses (SENT_FOR_ENROLLMENT, DUPLICATE_RECORD,
ENROLL_FAILURE_<reason>, PRINT_READY_RECORD, PRINTED, DISTRIBUTED) on the
station's ``status`` topic; the uplink hands each message here. A small
SQLite file beside the outbox keeps the latest status per packet and every
status heard (a message heard twice changes nothing), so ``rekam station
outbox`` and the kiosk can show where each resident's record stands. Only
packet ids and status codes: nothing personal.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from adapters.sqlite import Database, Migration
from protocol.messages import CentralStatuses
from station.errors import OutboxError

MIGRATIONS = (Migration("0001_central_status", """
CREATE TABLE statuses (
    packet_id   TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    at          REAL NOT NULL,
    heard_at    REAL NOT NULL
);
CREATE TABLE history (
    packet_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    at          REAL NOT NULL,
    PRIMARY KEY (packet_id, status)
);
"""),)


@dataclass(frozen=True)
class PacketCentralStatus:
    packet_id: str
    status: str
    reason: str
    at: float


class CentralStatusBook:
    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time,
                 connect: Callable[..., sqlite3.Connection] = sqlite3.connect) -> None:
        self.path = Path(path)
        self._clock = clock
        self._db = Database(self.path, error=OutboxError, what="central status book", migrations=MIGRATIONS,
                            connect=connect)

    def open(self) -> "CentralStatusBook":
        self._db.open()
        return self

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "CentralStatusBook":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def apply(self, msg: CentralStatuses) -> int:
        """Keep the statuses of one message; returns how many were new."""
        now = self._clock()
        new = 0
        with self._db.transaction() as db:
            for s in msg.statuses:
                cur = db.execute("INSERT OR IGNORE INTO history(packet_id, status, reason, at) VALUES (?, ?, ?, ?)",
                                 (s.packet_id, s.status, s.reason, s.at))
                if cur.rowcount == 0:
                    continue
                new += 1
                db.execute("INSERT INTO statuses(packet_id, status, reason, at, heard_at) VALUES (?, ?, ?, ?, ?) "
                           "ON CONFLICT(packet_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, "
                           "at = excluded.at, heard_at = excluded.heard_at WHERE excluded.at >= statuses.at",
                           (s.packet_id, s.status, s.reason, s.at, now))
        return new

    def statuses(self, limit: int = 1000) -> list[PacketCentralStatus]:
        with self._db.transaction() as db:
            return [PacketCentralStatus(*r) for r in db.execute(
                "SELECT packet_id, status, reason, at FROM statuses ORDER BY at DESC LIMIT ?", (limit,))]

    def status(self, packet_id: str) -> PacketCentralStatus | None:
        with self._db.transaction() as db:
            row = db.execute("SELECT packet_id, status, reason, at FROM statuses WHERE packet_id = ?",
                             (packet_id,)).fetchone()
        return PacketCentralStatus(*row) if row else None

    def history(self, packet_id: str) -> list[tuple[str, str, float]]:
        with self._db.transaction() as db:
            return [tuple(r) for r in db.execute(
                "SELECT status, reason, at FROM history WHERE packet_id = ? ORDER BY at", (packet_id,))]
