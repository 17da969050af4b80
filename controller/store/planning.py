"""Kelurahan targets and progress, plans and their assignments, outreach venues."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Callable, ContextManager

from controller.errors import StoreError
from controller.store.rows import AssignmentRow, KelurahanProgress


class PlanTables:
    """Mixed into :class:`controller.store.Store`; every method is one transaction (or joins the caller's)."""

    transaction: Callable[[], ContextManager[sqlite3.Connection]]
    _clock: Callable[[], float]

    # -- kelurahan and progress -----------------------------------------------------
    def upsert_kelurahan(self, rows: list[tuple[str, str, str, str, int, int]]) -> None:
        """(code, name, kecamatan_code, kecamatan, wajib_ktp, recorded_before) per kelurahan."""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO kelurahan(code, name, kecamatan_code, kecamatan, wajib_ktp, recorded_before) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(code) DO UPDATE SET name = excluded.name, "
                "kecamatan_code = excluded.kecamatan_code, kecamatan = excluded.kecamatan, "
                "wajib_ktp = excluded.wajib_ktp, recorded_before = excluded.recorded_before", rows)

    def progress(self) -> list[KelurahanProgress]:
        with self.transaction() as db:
            rows = db.execute(
                "SELECT k.code, k.name, k.kecamatan_code, k.kecamatan, k.wajib_ktp, k.recorded_before, "
                "(SELECT COUNT(DISTINCT p.nik) FROM packets p WHERE p.kelurahan_code = k.code) "
                "FROM kelurahan k ORDER BY k.code").fetchall()
        return [KelurahanProgress(*r) for r in rows]

    def recorded_by_kelurahan(self) -> dict[str, int]:
        with self.transaction() as db:
            return dict(db.execute(
                "SELECT kelurahan_code, COUNT(DISTINCT nik) FROM packets GROUP BY kelurahan_code").fetchall())

    # -- plans and assignments ---------------------------------------------------------
    def save_plan(self, plan_id: str, planner: str, params: dict[str, Any],
                  assignments: list[AssignmentRow], *, activate: bool = True,
                  reason: str = "", day: str = "", stations: int = 0, station_days: int | None = None) -> None:
        """The plan, its assignments and why it was made (what the dashboard's re-plans show), at once."""
        with self.transaction() as db:
            if activate:
                db.execute("UPDATE plans SET active = 0")
            db.execute("INSERT INTO plans(plan_id, planner, params, created_at, active) VALUES (?, ?, ?, ?, ?)",
                       (plan_id, planner, json.dumps(params), self._clock(), int(activate)))
            db.executemany(
                "INSERT INTO assignments(assignment_id, plan_id, station_id, date, start, end_, kelurahan_code, venue) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(a.assignment_id, plan_id, a.station_id, a.date, a.start, a.end, a.kelurahan_code,
                  json.dumps(a.venue) if a.venue else None) for a in assignments])
            if reason:
                db.execute("INSERT INTO plan_reasons(plan_id, at, day, reason, stations, station_days) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (plan_id, self._clock(), day, reason, stations, station_days))

    def active_plan(self) -> tuple[str, str, dict[str, Any]] | None:
        with self.transaction() as db:
            row = db.execute("SELECT plan_id, planner, params FROM plans WHERE active = 1").fetchone()
        return (row[0], row[1], json.loads(row[2])) if row else None

    def assignments(self, plan_id: str, *, station_id: str | None = None,
                    from_date: str | None = None) -> list[AssignmentRow]:
        q = ("SELECT assignment_id, plan_id, station_id, date, start, end_, kelurahan_code, venue "
             "FROM assignments WHERE plan_id = ?")
        args: list[Any] = [plan_id]
        if station_id is not None:
            q += " AND station_id = ?"
            args.append(station_id)
        if from_date is not None:
            q += " AND date >= ?"
            args.append(from_date)
        with self.transaction() as db:
            rows = db.execute(q + " ORDER BY date, station_id", args).fetchall()
        return [AssignmentRow(*r[:7], venue=json.loads(r[7]) if r[7] else None) for r in rows]

    # -- venues ---------------------------------------------------------------------------
    def add_venue(self, venue: dict[str, Any]) -> None:
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM venues WHERE venue_id = ?", (venue["venue_id"],)).fetchone():
                raise StoreError("venue {venue} already exists", venue=venue['venue_id'])
            db.execute(
                "INSERT INTO venues(venue_id, kind, name, address, kelurahan_code, date, expected_people, stations, "
                "start, end_, added_at) VALUES (:venue_id, :kind, :name, :address, :kelurahan_code, :date, "
                ":expected_people, :stations, :start, :end, :added_at)",
                {"start": None, "end": None, **venue, "added_at": self._clock()})

    def remove_venue(self, venue_id: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM venues WHERE venue_id = ?", (venue_id,)).rowcount == 1

    def venues(self, from_date: str | None = None) -> list[dict[str, Any]]:
        cols = ("venue_id", "kind", "name", "address", "kelurahan_code", "date", "expected_people", "stations",
                "start", "end_")
        q = f"SELECT {', '.join(cols)} FROM venues" + (" WHERE date >= ?" if from_date else "") + " ORDER BY date"
        with self.transaction() as db:
            rows = [dict(zip(cols, r)) for r in db.execute(q, (from_date,) if from_date else ())]
        for row in rows:
            row["end"] = row.pop("end_")
        return rows
