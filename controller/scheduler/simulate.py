"""Simulation: run a plan against the turnout model, day by day, re-planning as it goes.

This module owns judging a planner. Rules:

- The field is the turnout model's ``actual`` (noise included if the model has
  any); the plan only ever expected the noise-free ``expected``.
- Re-planning happens the evening a kelurahan finishes while the plan still
  sends stations there, a kelurahan with residents left has no visit ahead,
  or a station breaks down (``breakdowns``: it records nothing that day and is
  out from the next). Days already run are never re-planned.
- ``days`` counts working days (days off excluded) from the start to the day
  the last kelurahan reaches its target. ``lower_bound`` is
  ceil(total backlog / (fleet size * most a station can record a day)): no
  plan can beat it. ``model_lower_bound`` also respects the turnout model
  (every kelurahan needs ``single_station_visits`` station-days, and as many
  days as it takes with the whole fleet there every day); it is given only when
  it is a true bound (no venues, no noise), and shows how much of the gap to
  ``lower_bound`` is the residents' pace rather than the planner.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .dayloop import DEFAULT_HORIZON_DAYS, apply_day
from .model import Constraints, KelurahanTarget, Plan, PlanningError, StationDay, Visit
from .replan import replan
from .turnout import TurnoutModel

Planner = Callable[..., Plan]


@dataclass(frozen=True)
class SimulationResult:
    planner: str
    finished: bool
    days: int  # working days until every kelurahan reached its target (or simulated, if not finished)
    finish_date: date | None
    station_days_used: int  # station-days worked, venues included
    idle_station_days: int  # available station-days left without an assignment
    wasted_station_days: int  # station-days sent where nobody was left to record
    lower_bound: int
    model_lower_bound: int | None
    moves: int  # times a station worked somewhere other than its previous place
    replans: int
    recorded: int
    left: Mapping[str, int]
    visits: tuple[Visit, ...]
    plan: Plan  # the plan as finally executed, re-plans included

    @property
    def ratio(self) -> float:
        """Days over the lower bound: 1.0 would be a perfect fleet."""
        return self.days / self.lower_bound if self.lower_bound else 1.0


def lower_bound(targets: Sequence[KelurahanTarget], stations: int, model: TurnoutModel) -> int:
    """ceil(total backlog / fleet capacity per day): days no plan can beat."""
    total = sum(t.remaining for t in targets)
    return math.ceil(total / (stations * model.max_station_day)) if total else 0


def model_lower_bound(targets: Sequence[KelurahanTarget], stations: int, model: TurnoutModel) -> int:
    """Days no plan can beat under the noise-free turnout model (without venues)."""
    lefts = [t.remaining for t in targets if t.remaining]
    if not lefts:
        return 0
    work = sum(model.single_station_visits(n) for n in lefts)
    return max(max(model.visits(n, stations) for n in lefts), math.ceil(work / stations))


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
) -> SimulationResult:
    """Run a plan (or make one with ``planner``) until every kelurahan reaches its target."""
    if isinstance(plan_or_planner, Plan):
        plan = plan_or_planner
        targets = tuple(targets) if targets is not None else plan.targets
        model = model if model is not None else plan.model
    else:
        if targets is None or stations is None or start is None:
            raise PlanningError("simulating a planner needs targets, stations and a start date")
        model = model if model is not None else TurnoutModel()
        plan = plan_or_planner(targets, stations, start, constraints or Constraints(), model=model, now=now)
    if {t.code for t in targets} != {t.code for t in plan.targets}:
        raise PlanningError("the simulated targets and the plan's targets are for different kelurahan")
    unknown = sorted(set(breakdowns) - set(plan.station_ids))
    if unknown:
        raise PlanningError(f"breakdowns name stations not in the plan: {', '.join(unknown)}")

    wajib = {t.code: t.wajib_ktp for t in plan.targets}
    left = {t.code: min(t.remaining, wajib[t.code]) for t in targets}
    first = plan.start
    if horizon_days is None:
        horizon_days = int(plan.parameters.get("horizon_days", DEFAULT_HORIZON_DAYS))
    broken: set[str] = set()
    visits: list[Visit] = []
    worked: list[StationDay] = []
    used = idle = wasted = replans = days = 0
    finish: date | None = None
    stalled: set[str] = set()
    last_visit = _last_visits(plan)
    for offset in range(horizon_days):
        if not any(left.values()):
            break
        day = first + timedelta(days=offset)
        if plan.constraints.is_day_off(day):
            continue
        days += 1
        failing = {s for s, d in breakdowns.items() if d <= day and s not in broken}
        todays = [a for a in plan.on(day) if a.station_id not in broken | failing]
        available = [s for s in plan.station_ids if plan.constraints.is_available(s, day) and s not in broken | failing]
        visits_today = apply_day(left, todays, plan.constraints.venue_by_id, model, day, noisy=True)
        visits.extend(visits_today)
        worked.extend(todays)
        used += len(todays)
        idle += len(available) - len(todays)
        wasted += sum(v.stations for v in visits_today if v.recorded == 0)
        if not any(left.values()):
            finish = day
            break
        broken |= failing
        ahead = {k for k, d in last_visit.items() if d > day}
        finished_early = {k for k, n in left.items() if n == 0 and k in ahead}
        uncovered = {k for k, n in left.items() if n > 0 and k not in ahead}
        if failing or finished_early or (uncovered - stalled):
            recorded = {k: wajib[k] - n for k, n in left.items()}
            plan = replan(plan, day + timedelta(days=1), recorded, sorted(broken), now=now).plan
            replans += 1
            last_visit = _last_visits(plan)
            ahead = {k for k, d in last_visit.items() if d > day}
            stalled = {k for k, n in left.items() if n > 0 and k not in ahead}

    bound_model = None
    if not plan.constraints.venues and model.noise == 0.0:
        bound_model = model_lower_bound(targets, len(plan.station_ids), model)
    return SimulationResult(
        planner=plan.planner,
        finished=not any(left.values()),
        days=days,
        finish_date=finish,
        station_days_used=used,
        idle_station_days=idle,
        wasted_station_days=wasted,
        lower_bound=lower_bound(targets, len(plan.station_ids), model),
        model_lower_bound=bound_model,
        moves=_moves(worked),
        replans=replans,
        recorded=sum(v.recorded for v in visits),
        left={k: n for k, n in left.items() if n},
        visits=tuple(visits),
        plan=plan,
    )


def _last_visits(plan: Plan) -> dict[str, date]:
    """Each kelurahan's last planned station-day there (venues aside)."""
    return {a.kelurahan: a.date for a in plan.assignments if not a.at_venue}


def _moves(worked: Sequence[StationDay]) -> int:
    last: dict[str, str] = {}
    moves = 0
    for a in sorted(worked, key=lambda a: (a.date, a.station_id)):
        if a.station_id in last and last[a.station_id] != a.place:
            moves += 1
        last[a.station_id] = a.place
    return moves
