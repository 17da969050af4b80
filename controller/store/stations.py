"""Stations: registration, revocation, state and telemetry."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Callable, ContextManager

from controller.errors import StoreError, UnknownStation
from controller.store.rows import _STATION_COLS, Station, _station


class StationTables:
    """Mixed into :class:`controller.store.Store`; every method is one transaction (or joins the caller's)."""

    transaction: Callable[[], ContextManager[sqlite3.Connection]]
    _clock: Callable[[], float]

    # -- stations ------------------------------------------------------------
    def add_station(self, station_id: str, signing_key_pem: bytes, key_id: str) -> None:
        with self.transaction() as db:
            row = db.execute("SELECT status FROM stations WHERE station_id = ?", (station_id,)).fetchone()
            if row is not None:
                raise StoreError(f"station {station_id} is already registered (status {row[0]})")
            db.execute(
                "INSERT INTO stations(station_id, signing_key, key_id, registered_at) VALUES (?, ?, ?, ?)",
                (station_id, signing_key_pem, key_id, self._clock()),
            )

    def revoke_station(self, station_id: str, reason: str) -> None:
        with self.transaction() as db:
            cur = db.execute(
                # offline too: its reports are ignored from now on, so no later will could say so
                "UPDATE stations SET status = 'revoked', online = 0, revoked_reason = ?, revoked_at = ? "
                "WHERE station_id = ?",
                (reason, self._clock(), station_id),
            )
            if cur.rowcount == 0:
                raise UnknownStation(f"no station {station_id} is registered")

    def station(self, station_id: str) -> Station | None:
        with self.transaction() as db:
            row = db.execute(f"SELECT {_STATION_COLS} FROM stations WHERE station_id = ?", (station_id,)).fetchone()
        return _station(row) if row else None

    def stations(self) -> list[Station]:
        with self.transaction() as db:
            rows = db.execute(f"SELECT {_STATION_COLS} FROM stations ORDER BY station_id").fetchall()
        return [_station(r) for r in rows]

    def record_state(self, station_id: str, online: bool, connection: int, version: str,
                     drivers: dict[str, str], at: float) -> bool:
        """Apply a state message; False when it belongs to an older connection (a late will)."""
        with self.transaction() as db:
            row = db.execute("SELECT connection FROM stations WHERE station_id = ?", (station_id,)).fetchone()
            if row is None:
                return False
            if connection < row[0]:
                return False
            db.execute(
                "UPDATE stations SET online = ?, connection = ?, version = ?, drivers = ?, state_at = ?, "
                "last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE station_id = ?",
                (int(online), connection, version, json.dumps(drivers), at, at, station_id),
            )
            return True

    def record_telemetry(self, station_id: str, at: float, body: dict[str, Any], keep_days: float = 30,
                         received_at: float | None = None) -> None:
        now = self._clock() if received_at is None else received_at
        with self.transaction() as db:
            db.execute("INSERT INTO telemetry(station_id, at, received_at, body) VALUES (?, ?, ?, ?)",
                       (station_id, at, now, json.dumps(body)))
            db.execute("UPDATE stations SET last_telemetry = ?, telemetry_at = ?, "
                       "last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE station_id = ?",
                       (json.dumps(body), at, now, station_id))
            db.execute("DELETE FROM telemetry WHERE station_id = ? AND received_at < ?",
                       (station_id, now - keep_days * 86400))

    def telemetry_history(self, station_id: str, limit: int = 100) -> list[dict[str, Any]]:
        with self.transaction() as db:
            rows = db.execute("SELECT body FROM telemetry WHERE station_id = ? ORDER BY at DESC LIMIT ?",
                              (station_id, limit)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def touch(self, station_id: str, at: float) -> None:
        with self.transaction() as db:
            db.execute("UPDATE stations SET last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE station_id = ?",
                       (at, station_id))
