"""Commands sent to stations, tracked to their reply or a timeout.

A command row is written before it is published, so a reply can never beat
its own record. Status moves ``sent`` -> ``replied`` | ``timeout``, or is
``not_sent`` when the broker link was down; a reply that comes after the
timeout is still stored, marked late.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable, ContextManager


@dataclass(frozen=True)
class CommandRecord:
    command_id: str
    batch_id: str
    station_id: str
    name: str
    args: dict[str, Any]
    issued_by: str
    issued_at: float
    deadline: float
    status: str  # sent | not_sent | replied | timeout
    replied_at: float | None
    ok: bool | None
    result: dict[str, Any] | None
    error: str | None
    late: bool


_COLS = ("command_id, batch_id, station_id, name, args, issued_by, issued_at, deadline, status, replied_at, ok, "
         "result, error, late")


def _row(r: tuple) -> CommandRecord:
    return CommandRecord(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7], r[8], r[9],
                         None if r[10] is None else bool(r[10]), json.loads(r[11]) if r[11] else None, r[12],
                         bool(r[13]))


class CommandTables:
    """Mixed into :class:`controller.store.Store`; every method is one transaction (or joins the caller's)."""

    transaction: Callable[[], ContextManager[sqlite3.Connection]]
    _clock: Callable[[], float]

    def add_command(self, command_id: str, batch_id: str, station_id: str, name: str, args: dict[str, Any],
                    issued_by: str, issued_at: float, deadline: float) -> None:
        with self.transaction() as db:
            db.execute(f"INSERT INTO commands({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sent', NULL, NULL, NULL, "
                       "NULL, 0)", (command_id, batch_id, station_id, name, json.dumps(args), issued_by, issued_at,
                                    deadline))

    def command_not_sent(self, command_id: str, error: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE commands SET status = 'not_sent', error = ? WHERE command_id = ?", (error, command_id))

    def command_replied(self, command_id: str, station_id: str, ok: bool, result: dict[str, Any], error: str,
                        at: float) -> CommandRecord | None:
        """Store a reply; None if no such command went to that station (or it already has its reply)."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE commands SET late = (status = 'timeout'), status = 'replied', replied_at = ?, ok = ?, "
                "result = ?, error = ? WHERE command_id = ? AND station_id = ? AND status IN ('sent', 'timeout')",
                (at, int(ok), json.dumps(result, default=str), error, command_id, station_id))
            if cur.rowcount != 1:
                return None
            return _row(db.execute(f"SELECT {_COLS} FROM commands WHERE command_id = ?", (command_id,)).fetchone())

    def expire_commands(self, now: float) -> list[CommandRecord]:
        """Mark every sent command past its deadline as timed out; those commands."""
        with self.transaction() as db:
            rows = db.execute(f"SELECT {_COLS} FROM commands WHERE status = 'sent' AND deadline <= ?",
                              (now,)).fetchall()
            if rows:
                db.execute("UPDATE commands SET status = 'timeout' WHERE status = 'sent' AND deadline <= ?", (now,))
        return [_row(r[:8] + ("timeout",) + r[9:]) for r in rows]

    def command(self, command_id: str) -> CommandRecord | None:
        with self.transaction() as db:
            r = db.execute(f"SELECT {_COLS} FROM commands WHERE command_id = ?", (command_id,)).fetchone()
        return _row(r) if r else None

    def commands(self, *, station_id: str | None = None, batch_id: str | None = None,
                 limit: int = 200) -> list[CommandRecord]:
        where, args = [], []
        if station_id:
            where.append("station_id = ?")
            args.append(station_id)
        if batch_id:
            where.append("batch_id = ?")
            args.append(batch_id)
        q = f"SELECT {_COLS} FROM commands" + (" WHERE " + " AND ".join(where) if where else "")
        with self.transaction() as db:
            return [_row(r) for r in db.execute(q + " ORDER BY issued_at DESC, station_id LIMIT ?", (*args, limit))]
