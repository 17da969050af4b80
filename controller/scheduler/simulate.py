"""Simulation: run a plan against the turnout model, day by day, re-planning as it goes.

This module owns judging a planner. Rules:

- The field is the turnout model's ``actual`` (noise included if the model has
  any); the plan only ever expected the noise-free ``expected``.
- Re-planning happens the evening a station breaks down (``breakdowns``: it
  records nothing that day and is out from the next) and, when the model is
  noisy, every evening with the day's actual recordings, as the controller
  does. Days already run are never re-planned.
- ``days`` counts working days (days off excluded) from the start to the
  last day a station worked (the finish: after it, what is left goes to
  office service and home visits). ``capacity_bound`` is
  ceil(recorded / (fleet * a station's capacity)): no plan can beat it; the
  LP bound (``bound.py``) is the tight one, computed apart because it costs
  more.
- Moves are counted by how far they go (same kecamatan, same kabupaten,
  ...), and a move out of a station's home area without a reason on the
  assignment is counted apart: it should never happen.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .dayloop import DEFAULT_HORIZON_DAYS, HOME_PREFIX, apply_day
from .geography import LEVELS, in_area, travel_level
from .model import Constraints, KelurahanTarget, Plan, PlanningError, StationDay, Visit
from .replan import replan
from .state import Field
from .turnout import TurnoutModel

Planner = Callable[..., Plan]


@dataclass(frozen=True)
class SimulationResult:
    planner: str
    finished: bool  # the stop rule ended the plan within the horizon
    days: int  # working days from the start to the last day a station worked
    finish_date: date | None
    station_days_used: int  # station-days worked, venues included
    idle_station_days: int  # available station-days (to the finish) left without an assignment
    below_minimum: int  # station-days that recorded fewer than the plan's minimum per station
    capacity_bound: int
    moves: int  # times a station worked somewhere other than its previous place
    moves_by_level: Mapping[str, int]
    #: moves into another kabupaten/kota: all, and those whose assignment gives no reason
    cross_kabupaten: int
    cross_kabupaten_without_reason: int
    #: station-days outside the station's home area without a reason (should be none)
    out_of_area_without_reason: int
    replans: int
    recorded: float
    backlog: int  # residents unrecorded at the start
    left: Mapping[str, float]  # per kelurahan, at the end: office service and home visits
    visits: tuple[Visit, ...]
    plan: Plan  # the plan as finally executed, re-plans included

    @property
    def ratio(self) -> float:
        """Days over the capacity bound: 1.0 would be a fleet never short of residents."""
        return self.days / self.capacity_bound if self.capacity_bound else 1.0


def capacity_bound(recorded: float, stations: int, model: TurnoutModel, hours=None) -> int:
    """ceil(recorded / fleet capacity per day): days no plan can beat."""
    cap = model.capacity(hours) if hours else model.capacity()
    return math.ceil(recorded / (stations * cap * (1.0 + model.noise)) - 1e-9) if recorded > 0 else 0


def simulate(
    plan_or_planner: Plan | Planner,
    targets: Sequence[KelurahanTarget] | None = None,
    model: TurnoutModel | None = None,
    *,
    stations: Sequence[str] | None = None,
    start: date | None = None,
    constraints: Constraints | None = None,
    breakdowns: Mapping[str, date] = {},
    horizon_days: int | None = None,
    now: datetime | None = None,
    **planner_options,
) -> SimulationResult:
    """Run a plan (or make one with ``planner``) until it has nothing left to do."""
    if isinstance(plan_or_planner, Plan):
        plan = plan_or_planner
        model = model if model is not None else plan.model
    else:
        if targets is None or stations is None or start is None:
            raise PlanningError("simulating a planner needs targets, stations and a start date")
        model = model if model is not None else TurnoutModel()
        plan = plan_or_planner(targets, stations, start, constraints or Constraints(), model=model, now=now,
                               **planner_options)
    if targets is not None and {t.code for t in targets} != {t.code for t in plan.targets}:
        raise PlanningError("the simulated targets and the plan's targets are for different kelurahan")
    unknown = sorted(set(breakdowns) - set(plan.station_ids))
    if unknown:
        raise PlanningError(f"breakdowns name stations not in the plan: {', '.join(unknown)}")

    wajib = {t.code: t.wajib_ktp for t in plan.targets}
    fld = Field(plan.state if plan.state is not None else Field.fresh(plan.targets, plan.model.params))
    backlog = round(float(fld.left.sum()))
    first = plan.start
    if horizon_days is None:
        horizon_days = int(plan.parameters.get("horizon_days", DEFAULT_HORIZON_DAYS))
    minimum = float(plan.parameters.get("min_people", 0))
    broken: set[str] = set()
    visits: list[Visit] = []
    worked: list[StationDay] = []
    used = idle = below = replans = days = 0
    finish: date | None = None
    noisy = model.noise > 0
    for offset in range(horizon_days):
        day = first + timedelta(days=offset)
        if plan.end is None or day > plan.end:
            break
        if plan.constraints.is_day_off(day):
            continue
        days += 1
        failing = {s for s, d in breakdowns.items() if d <= day and s not in broken}
        todays = [a for a in plan.on(day) if a.station_id not in broken]
        available = [s for s in plan.station_ids if plan.constraints.is_available(s, day) and s not in broken]
        visits_today = apply_day(fld, todays, plan.constraints.venue_by_id, model, day, noisy=True,
                                 working=lambda a: a.station_id not in failing)
        visits.extend(visits_today)
        worked.extend(a for a in todays if a.station_id not in failing)
        used += len([a for a in todays if a.station_id not in failing])
        idle += len(available) - len(todays)
        below += sum(v.stations for v in visits_today
                     if not v.place.startswith(HOME_PREFIX) and v.recorded < minimum * v.stations - 1e-6
                     and v.place == v.kelurahan)
        if visits_today:
            finish = day
        broken |= failing
        if failing or noisy:
            recorded = {k: round(wajib[k] - float(n)) for k, n in zip(fld.codes, fld.left)}
            plan = replan(plan, day + timedelta(days=1), recorded, sorted(broken), now=now).plan
            replans += 1
    days = _working_days(first, finish, plan.constraints) if finish else 0
    total = sum(v.recorded for v in visits)
    moves = _moves(worked, plan.homes)
    return SimulationResult(
        planner=plan.planner,
        finished=plan.finished,
        days=days,
        finish_date=finish,
        station_days_used=used,
        idle_station_days=idle,
        below_minimum=below,
        capacity_bound=capacity_bound(total, len(plan.station_ids), model),
        moves=sum(moves.by_level.values()),
        moves_by_level=moves.by_level,
        cross_kabupaten=moves.cross,
        cross_kabupaten_without_reason=moves.cross_unexplained,
        out_of_area_without_reason=moves.out_unexplained,
        replans=replans,
        recorded=total,
        backlog=backlog,
        left={c: float(n) for c, n in zip(fld.codes, fld.left) if n > 1e-6},
        visits=tuple(visits),
        plan=plan,
    )


def _working_days(first: date, last: date, constraints: Constraints) -> int:
    return sum(1 for i in range((last - first).days + 1) if not constraints.is_day_off(first + timedelta(days=i)))


@dataclass
class Moves:
    by_level: dict[str, int]
    cross: int = 0
    cross_unexplained: int = 0
    out_unexplained: int = 0


def count_moves(worked: Sequence[StationDay], homes: Mapping[str, str]) -> Moves:
    """Moves by how far they go; cross-kabupaten moves and out-of-area days without a reason."""
    m = Moves({level: 0 for level in LEVELS[1:]})
    last: dict[str, StationDay] = {}
    for a in sorted(worked, key=lambda a: (a.date, a.station_id)):
        home = homes.get(a.station_id, "")
        if home and not in_area(a.kelurahan, home) and not a.reason:
            m.out_unexplained += 1
        before = last.get(a.station_id)
        if before is not None and before.place != a.place:
            level = max(1, travel_level(before.kelurahan, a.kelurahan))
            m.by_level[LEVELS[level]] += 1
            if level >= 3:
                m.cross += 1
                m.cross_unexplained += not a.reason
        last[a.station_id] = a
    return m


_moves = count_moves
