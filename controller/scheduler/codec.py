"""A scheduler :class:`~controller.scheduler.Plan` to JSON and back.

The store keeps each plan whole (targets at its start, constraints, model,
parameters, assignments) so a restarted controller can re-plan from it
without remembering anything else. Floats that JSON cannot hold
(``move_factor = inf``) are written as strings.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from controller.scheduler import (
    Constraints,
    KelurahanTarget,
    Plan,
    StationDay,
    TurnoutModel,
    Venue,
)


def plan_to_json(plan: Plan) -> dict[str, Any]:
    c = plan.constraints
    return {
        "planner": plan.planner,
        "parameters": {k: _num_out(v) for k, v in plan.parameters.items()},
        "start": plan.start.isoformat(),
        "station_ids": list(plan.station_ids),
        "finished": plan.finished,
        "expected_left": dict(plan.expected_left),
        "warnings": list(plan.warnings),
        "model": {"capacity": plan.model.capacity, "fraction": plan.model.fraction,
                  "noise": plan.model.noise, "seed": plan.model.seed},
        "targets": [[t.code, t.name, t.kecamatan_code, t.kecamatan, t.wajib_ktp, t.recorded] for t in plan.targets],
        "constraints": {
            "days_off": sorted(d.isoformat() for d in c.days_off),
            "weekdays_off": sorted(c.weekdays_off),
            "unavailable": {s: sorted(d.isoformat() for d in days) for s, days in c.unavailable.items()},
            "dropped_out": {s: d.isoformat() for s, d in c.dropped_out.items()},
            "venues": [venue_to_json(v) for v in c.venues],
        },
        "assignments": [[a.date.isoformat(), a.station_id, a.place, a.kelurahan, a.start.strftime("%H:%M"),
                         a.end.strftime("%H:%M")] for a in plan.assignments],
    }


def plan_from_json(d: dict[str, Any]) -> Plan:
    c = d["constraints"]
    return Plan(
        assignments=tuple(StationDay(_date(a[0]), a[1], a[2], a[3], dt.time.fromisoformat(a[4]),
                                     dt.time.fromisoformat(a[5])) for a in d["assignments"]),
        planner=d["planner"],
        parameters={k: _num_in(v) for k, v in d["parameters"].items()},
        targets=tuple(KelurahanTarget(*t) for t in d["targets"]),
        station_ids=tuple(d["station_ids"]),
        start=_date(d["start"]),
        constraints=Constraints(
            days_off=frozenset(_date(x) for x in c["days_off"]),
            weekdays_off=frozenset(c["weekdays_off"]),
            unavailable={s: frozenset(_date(x) for x in days) for s, days in c["unavailable"].items()},
            dropped_out={s: _date(x) for s, x in c["dropped_out"].items()},
            venues=tuple(venue_from_json(v) for v in c["venues"]),
        ),
        model=TurnoutModel(**d["model"]),
        finished=d["finished"],
        expected_left=d["expected_left"],
        warnings=tuple(d["warnings"]),
    )


def venue_to_json(v: Venue) -> dict[str, Any]:
    return {"venue_id": v.venue_id, "kind": v.kind.value, "name": v.name, "address": v.address,
            "kelurahan_code": v.kelurahan_code, "date": v.date.isoformat(), "expected_people": v.expected_people,
            "stations": v.stations}


def venue_from_json(d: dict[str, Any]) -> Venue:
    return Venue(d["venue_id"], d["kind"], d["name"], d["address"], d["kelurahan_code"], _date(d["date"]),
                 d["expected_people"], d.get("stations"))


def _date(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def _num_out(v: Any) -> Any:
    return str(v) if isinstance(v, float) and not math.isfinite(v) else v


def _num_in(v: Any) -> Any:
    return float(v) if v in ("inf", "-inf", "nan") else v
