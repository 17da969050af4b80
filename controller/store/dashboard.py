"""Read-mostly queries behind the dashboard's charts and schedule: telemetry over a range,
recordings per hour, plans with the reason each was made, venue edits."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable, ContextManager

from controller.errors import StoreError
from controller.store.rows import _STATION_COLS, AssignmentRow, Station, _station
from protocol.wib import WIB

#: For SQL that buckets by the WIB hour (Indonesia keeps no daylight saving).
WIB_OFFSET_S = int(WIB.utcoffset(None).total_seconds())


@dataclass(frozen=True)
class TelemetryPoint:
    at: float
    outbox_depth: float | None
    disk_free_bytes: float | None
    temperature_c: float | None
    enrollments_today: float | None


@dataclass(frozen=True)
class PlanEntry:
    plan_id: str
    planner: str
    created_at: float
    active: bool
    reason: str | None
    day: str | None
    stations: int | None
    station_days: int | None = None  # changed by this re-plan (None: a new plan)


class DashboardTables:
    """Mixed into :class:`controller.store.Store`; every method is one transaction (or joins the caller's)."""

    transaction: Callable[[], ContextManager[sqlite3.Connection]]
    _clock: Callable[[], float]

    def telemetry_range(self, station_id: str, since: float, until: float, points: int = 600) -> list[TelemetryPoint]:
        """At most ``points`` points: each the max outbox, min disk, mean temperature of its bucket."""
        bucket = max(1.0, (until - since) / max(1, points))
        with self.transaction() as db:
            rows = db.execute(
                "SELECT MIN(at), MAX(json_extract(body, '$.outbox_depth')), MIN(json_extract(body, '$.disk_free_bytes')), "
                "AVG(json_extract(body, '$.temperature_c')), MAX(json_extract(body, '$.enrollments_today')) "
                "FROM telemetry WHERE station_id = ? AND at >= ? AND at <= ? GROUP BY CAST((at - ?) / ? AS INTEGER) "
                "ORDER BY 1", (station_id, since, until, since, bucket)).fetchall()
        return [TelemetryPoint(*r) for r in rows]

    def recordings_by_hour(self, since: float, until: float,
                           station_id: str | None = None) -> list[tuple[str, int, int]]:
        """(station, WIB hour since the epoch, packets captured) between two times."""
        q = ("SELECT station_id, CAST((captured_at + ?) / 3600 AS INTEGER) AS h, COUNT(*) FROM packets "
             "WHERE captured_at >= ? AND captured_at < ?")
        args: list[Any] = [WIB_OFFSET_S, since, until]
        if station_id:
            q += " AND station_id = ?"
            args.append(station_id)
        with self.transaction() as db:
            return [tuple(r) for r in db.execute(q + " GROUP BY station_id, h ORDER BY h", args)]

    def recorded_between(self, since: float, until: float) -> dict[str, int]:
        """Packets captured per kelurahan between two times."""
        with self.transaction() as db:
            return dict(db.execute("SELECT kelurahan_code, COUNT(*) FROM packets WHERE captured_at >= ? "
                                   "AND captured_at < ? GROUP BY kelurahan_code", (since, until)).fetchall())

    def stations_named(self, station_ids: list[str]) -> list[Station]:
        """Only these stations (the live channel reads the few that changed, not the fleet)."""
        out: list[Station] = []
        with self.transaction() as db:
            for i in range(0, len(station_ids), 500):
                chunk = station_ids[i:i + 500]
                out += [_station(r) for r in db.execute(
                    f"SELECT {_STATION_COLS} FROM stations WHERE station_id IN ({','.join('?' * len(chunk))}) "
                    "ORDER BY station_id", chunk)]
        return out

    def assignments_on(self, plan_id: str, date: str) -> list[AssignmentRow]:
        with self.transaction() as db:
            rows = db.execute("SELECT assignment_id, plan_id, station_id, date, start, end_, kelurahan_code, venue "
                              "FROM assignments WHERE plan_id = ? AND date = ?", (plan_id, date)).fetchall()
        return [AssignmentRow(*r[:7], venue=json.loads(r[7]) if r[7] else None) for r in rows]

    def assignment_places(self, assignment_ids: list[str]) -> dict[str, str]:
        """Assignment id -> kelurahan code, for the ids that exist (in any plan)."""
        out: dict[str, str] = {}
        with self.transaction() as db:
            for i in range(0, len(assignment_ids), 500):
                chunk = assignment_ids[i:i + 500]
                out.update(db.execute(f"SELECT assignment_id, kelurahan_code FROM assignments WHERE assignment_id "
                                      f"IN ({','.join('?' * len(chunk))})", chunk).fetchall())
        return out

    # -- plans and why -----------------------------------------------------------------------
    def plan_entries(self, limit: int = 100) -> list[PlanEntry]:
        with self.transaction() as db:
            rows = db.execute(
                "SELECT p.plan_id, p.planner, p.created_at, p.active, r.reason, r.day, r.stations, r.station_days "
                "FROM plans p "
                "LEFT JOIN plan_reasons r ON r.plan_id = p.plan_id ORDER BY p.created_at DESC LIMIT ?",
                (limit,)).fetchall()
        return [PlanEntry(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], r[7]) for r in rows]

    # -- venues -----------------------------------------------------------------------------------
    def replace_venue(self, venue_id: str, venue: dict[str, Any]) -> None:
        """Edit a venue (its id may change) in one transaction."""
        with self.transaction() as db:
            if db.execute("DELETE FROM venues WHERE venue_id = ?", (venue_id,)).rowcount != 1:
                raise StoreError("no venue {venue}", venue=venue_id)
            self.add_venue(venue)  # type: ignore[attr-defined]

    def venue(self, venue_id: str) -> dict[str, Any] | None:
        return next((v for v in self.venues() if v["venue_id"] == venue_id), None)  # type: ignore[attr-defined]
