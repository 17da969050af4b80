"""Alarms with severity, parameters, acknowledgement and history; their webhook deliveries.

An alarm row is opened once per station and kind (a unique index on open
alarms makes a second controller's raise a no-op, so only one controller
notifies), acknowledged by a named user, and closed when its cause goes away.
Each raise and each clear of an alarm gets exactly one notification row in
the same transaction; the notifier delivers those rows and never makes new
ones, so a retried or restarted delivery cannot turn into a duplicate.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Iterable


@dataclass(frozen=True)
class AlarmRecord:
    id: int
    station_id: str
    kind: str
    severity: str
    params: dict[str, Any]
    message: str
    raised_at: float
    cleared_at: float | None
    acked_by: str | None
    acked_at: float | None
    ack_note: str | None

    @property
    def open(self) -> bool:
        return self.cleared_at is None


@dataclass(frozen=True)
class Notification:
    alarm: AlarmRecord
    event: str  # raised | cleared
    attempts: int


_COLS = ("id, station_id, kind, severity, params, message, raised_at, cleared_at, acked_by, acked_at, ack_note")


def _alarm(r: tuple) -> AlarmRecord:
    return AlarmRecord(r[0], r[1], r[2], r[3], json.loads(r[4]) if r[4] else {}, r[5], r[6], r[7], r[8], r[9], r[10])


class AlarmBook:
    """Mixed into :class:`controller.store.Store`; every method is one transaction (or joins the caller's)."""

    transaction: Callable[[], ContextManager[sqlite3.Connection]]
    _clock: Callable[[], float]

    def open_alarm_keys(self) -> dict[tuple[str, str], int]:
        """(station, kind) -> alarm id of every open alarm."""
        with self.transaction() as db:
            return {(r[0], r[1]): r[2] for r in db.execute(
                "SELECT station_id, kind, id FROM alarms WHERE cleared_at IS NULL")}

    def open_alarm_full(self, station_id: str, kind: str, severity: str, params: dict[str, Any], message: str,
                        *, notify: bool = False) -> int | None:
        """Open an alarm; its id, or None if one of that kind is already open for the station."""
        now = self._clock()
        with self.transaction() as db:
            cur = db.execute("INSERT OR IGNORE INTO alarms(station_id, kind, message, raised_at, severity, params) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (station_id, kind, message, now, severity, json.dumps(params, sort_keys=True)))
            if cur.rowcount != 1:
                return None
            alarm_id = cur.lastrowid
            if notify:
                db.execute("INSERT OR IGNORE INTO alarm_notifications(alarm_id, event, created_at, next_at) "
                           "VALUES (?, 'raised', ?, ?)", (alarm_id, now, now))
            return alarm_id

    def close_alarm(self, alarm_id: int, *, notify: bool = False) -> bool:
        now = self._clock()
        with self.transaction() as db:
            cur = db.execute("UPDATE alarms SET cleared_at = ? WHERE id = ? AND cleared_at IS NULL", (now, alarm_id))
            if cur.rowcount != 1:
                return False
            if notify:
                db.execute("INSERT OR IGNORE INTO alarm_notifications(alarm_id, event, created_at, next_at) "
                           "VALUES (?, 'cleared', ?, ?)", (alarm_id, now, now))
            return True

    def ack_alarm(self, alarm_id: int, username: str, note: str = "") -> bool:
        """Acknowledge an alarm (open or closed) once; False if unknown or already acknowledged."""
        with self.transaction() as db:
            cur = db.execute("UPDATE alarms SET acked_by = ?, acked_at = ?, ack_note = ? "
                             "WHERE id = ? AND acked_by IS NULL", (username, self._clock(), note, alarm_id))
            return cur.rowcount == 1

    def alarm(self, alarm_id: int) -> AlarmRecord | None:
        with self.transaction() as db:
            r = db.execute(f"SELECT {_COLS} FROM alarms WHERE id = ?", (alarm_id,)).fetchone()
        return _alarm(r) if r else None

    def alarm_records(self, *, open_only: bool = False, station_id: str | None = None, kind: str | None = None,
                      since: float | None = None, limit: int = 500) -> list[AlarmRecord]:
        """Open ones first, newest first: the alarm list and its history."""
        where, args = [], []
        if open_only:
            where.append("cleared_at IS NULL")
        if station_id:
            where.append("station_id = ?")
            args.append(station_id)
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if since is not None:
            where.append("(cleared_at IS NULL OR raised_at >= ?)")
            args.append(since)
        q = f"SELECT {_COLS} FROM alarms" + (" WHERE " + " AND ".join(where) if where else "")
        with self.transaction() as db:
            rows = db.execute(q + " ORDER BY cleared_at IS NOT NULL, raised_at DESC LIMIT ?", (*args, limit))
            return [_alarm(r) for r in rows]

    def open_alarm_counts(self) -> dict[tuple[str, str], int]:
        """(kind, severity) -> open alarms."""
        with self.transaction() as db:
            return {(r[0], r[1]): r[2] for r in db.execute(
                "SELECT kind, severity, COUNT(*) FROM alarms WHERE cleared_at IS NULL GROUP BY kind, severity")}

    # -- webhook deliveries ----------------------------------------------------------------
    def due_notifications(self, now: float, lease_s: float, limit: int = 50) -> list[Notification]:
        """Claim the deliveries that are due for ``lease_s`` (so another controller does not send them too)."""
        with self.transaction() as db:
            rows = db.execute(
                f"SELECT n.event, n.attempts, {', '.join('a.' + c.strip() for c in _COLS.split(','))} "
                "FROM alarm_notifications n JOIN alarms a ON a.id = n.alarm_id "
                "WHERE n.delivered_at IS NULL AND n.failed_at IS NULL AND n.next_at <= ? "
                "ORDER BY n.created_at LIMIT ?", (now, limit)).fetchall()
            db.executemany("UPDATE alarm_notifications SET next_at = ? WHERE alarm_id = ? AND event = ?",
                           [(now + lease_s, r[2], r[0]) for r in rows])
        return [Notification(_alarm(r[2:]), r[0], r[1]) for r in rows]

    def next_notification_at(self) -> float | None:
        with self.transaction() as db:
            return db.execute("SELECT MIN(next_at) FROM alarm_notifications "
                              "WHERE delivered_at IS NULL AND failed_at IS NULL").fetchone()[0]

    def notification_delivered(self, alarm_id: int, event: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE alarm_notifications SET delivered_at = ?, attempts = attempts + 1 "
                       "WHERE alarm_id = ? AND event = ?", (self._clock(), alarm_id, event))

    def notification_failed(self, alarm_id: int, event: str, error: str, retry_at: float | None) -> None:
        """One attempt failed: try again at ``retry_at``, or give up (None)."""
        with self.transaction() as db:
            if retry_at is None:
                db.execute("UPDATE alarm_notifications SET attempts = attempts + 1, last_error = ?, failed_at = ? "
                           "WHERE alarm_id = ? AND event = ?", (error[:500], self._clock(), alarm_id, event))
            else:
                db.execute("UPDATE alarm_notifications SET attempts = attempts + 1, last_error = ?, next_at = ? "
                           "WHERE alarm_id = ? AND event = ?", (error[:500], retry_at, alarm_id, event))

    def notifications(self, alarm_ids: Iterable[int]) -> dict[int, list[tuple[str, int, float | None, str | None]]]:
        """alarm id -> [(event, attempts, delivered_at, last_error)]."""
        ids = list(alarm_ids)
        if not ids:
            return {}
        with self.transaction() as db:
            rows = db.execute(
                f"SELECT alarm_id, event, attempts, delivered_at, last_error FROM alarm_notifications "
                f"WHERE alarm_id IN ({','.join('?' * len(ids))}) ORDER BY created_at", ids).fetchall()
        out: dict[int, list] = {}
        for r in rows:
            out.setdefault(r[0], []).append((r[1], r[2], r[3], r[4]))
        return out

    def quarantined_by_station(self) -> dict[str, int]:
        """Quarantined entries nobody has handled yet, per station."""
        with self.transaction() as db:
            return dict(db.execute("SELECT station_id, COUNT(*) FROM quarantine WHERE handled IS NULL "
                                   "AND station_id IS NOT NULL GROUP BY station_id").fetchall())
