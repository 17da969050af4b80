"""Alarms: raised once per station and kind, cleared when the cause goes away."""

from __future__ import annotations

import sqlite3
from typing import Callable, ContextManager

from controller.store.rows import Alarm


class AlarmTables:
    """Mixed into :class:`controller.store.Store`; every method is one transaction (or joins the caller's)."""

    transaction: Callable[[], ContextManager[sqlite3.Connection]]
    _clock: Callable[[], float]

    # -- alarms ---------------------------------------------------------------------------
    def raise_alarm(self, station_id: str, kind: str, message: str) -> bool:
        """True if this opened a new alarm (an open one of the same kind is kept as is)."""
        with self.transaction() as db:
            cur = db.execute("INSERT OR IGNORE INTO alarms(station_id, kind, message, raised_at) VALUES (?, ?, ?, ?)",
                             (station_id, kind, message, self._clock()))
            return cur.rowcount == 1

    def clear_alarm(self, station_id: str, kind: str) -> bool:
        with self.transaction() as db:
            cur = db.execute("UPDATE alarms SET cleared_at = ? WHERE station_id = ? AND kind = ? AND cleared_at IS NULL",
                             (self._clock(), station_id, kind))
            return cur.rowcount == 1

    def open_alarms(self, station_id: str | None = None) -> list[Alarm]:
        q = "SELECT id, station_id, kind, message, raised_at, cleared_at FROM alarms WHERE cleared_at IS NULL"
        args: tuple = ()
        if station_id is not None:
            q += " AND station_id = ?"
            args = (station_id,)
        with self.transaction() as db:
            return [Alarm(*r) for r in db.execute(q + " ORDER BY raised_at", args)]
