"""Re-planning: a plan meets the field, from a given day on.

This module owns changing a plan once it is under way. Rules:

- Nothing before ``from_date`` changes: those assignments are copied as they
  are and handed to the planner as history, so a rotation finishes its block
  and the backlog planner honours stays already begun.
- The state at ``from_date`` is the plan's own expectation for that day (its
  field state carried through the kept days), corrected to the actual
  recorded counts the controller gives. A count equal to the expectation
  rounded changes nothing, so a re-plan of an unchanged situation starts
  from exactly the state the plan had.
- Stations reported unavailable are never assigned on those dates; a station
  given without dates has dropped out from ``from_date`` for good.
- The same planner with the same parameters re-plans, so a re-plan of an
  unchanged situation changes nothing.
- The answer names every (station, date) whose assignment changed (new,
  moved, re-timed or withdrawn), so the controller publishes to those
  stations only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from protocol.regions import RegionError, normalize

from .backlog import NAME as BACKLOG
from .backlog import plan_backlog
from .dayloop import apply_day
from .model import Constraints, Plan, PlanningError, StationDay
from .state import Field
from .rotation import NAME as ROTATION
from .rotation import plan_rotation
from .venues import Venue

PLANNERS: Mapping[str, Callable[..., Plan]] = {ROTATION: plan_rotation, BACKLOG: plan_backlog}


@dataclass(frozen=True)
class Replan:
    plan: Plan
    #: (station id, date) pairs on or after from_date whose assignment differs.
    changed: frozenset[tuple[str, date]]

    @property
    def stations(self) -> frozenset[str]:
        """Stations to publish new assignments to."""
        return frozenset(s for s, _ in self.changed)


def expected_field(plan: Plan, day: date) -> Field:
    """The field at the start of ``day`` if everything went as the plan expects."""
    fld = Field(plan.state if plan.state is not None else Field.fresh(plan.targets, plan.model.params))
    expect = plan.model.deterministic
    for when in sorted({a.date for a in plan.assignments if plan.start <= a.date < day}):
        apply_day(fld, plan.on(when), plan.constraints.venue_by_id, expect, when)
    return fld


def expected_recorded(plan: Plan, day: date) -> dict[str, float]:
    """Recorded per kelurahan at the start of ``day`` if everything went as the plan expects."""
    left = expected_field(plan, day).left
    return {t.code: t.wajib_ktp - float(n) for t, n in zip(plan.targets, left)}


def replan(
    plan: Plan,
    from_date: date,
    actual_recorded: Mapping[str, int] = {},
    unavailable_stations: Iterable[str] | Mapping[str, Iterable[date]] = (),
    *,
    days_off: Iterable[date] = (),
    venues: Sequence[Venue] | None = None,
    now: datetime | None = None,
) -> Replan:
    """Re-plan ``plan`` from ``from_date`` on; earlier days are kept exactly.

    ``venues``, when given, replaces the plan's venues from ``from_date`` on;
    ``days_off`` adds to the plan's.
    """
    if from_date < plan.start:
        raise PlanningError(f"cannot re-plan from {from_date}: the plan's state is known from {plan.start} on")
    planner = PLANNERS.get(plan.planner)
    if planner is None:
        raise PlanningError(f"no planner named {plan.planner!r} to re-plan with")
    known = {t.code for t in plan.targets}
    actual: dict[str, int] = {}
    for code, recorded in actual_recorded.items():
        try:
            k = normalize(code)
        except RegionError as exc:
            raise PlanningError(f"actual_recorded: {exc}") from None
        if k not in known:
            raise PlanningError(f"actual_recorded names kelurahan {k}, which the plan has no target for")
        actual[k] = recorded
    fld = expected_field(plan, from_date)
    wajib = {t.code: t.wajib_ktp for t in plan.targets}
    expected = {c: wajib[c] - float(n) for c, n in zip(fld.codes, fld.left)}
    fld.set_left({c: wajib[c] - n for c, n in actual.items() if n != round(expected[c])})
    recorded = {c: wajib[c] - float(n) for c, n in zip(fld.codes, fld.left)}
    targets = []
    for i, t in enumerate(plan.targets):
        done = min(t.wajib_ktp, max(0, round(recorded[t.code])))
        home = min(t.wajib_ktp - done, round(float(fld.home[i])))
        voters = min(t.wajib_ktp - done - home, round(float(fld.first_voters[i])))
        targets.append(replace(t, recorded=done, home_bound=home, first_voters=voters))

    if isinstance(unavailable_stations, Mapping):
        away = {s: frozenset(d) for s, d in unavailable_stations.items()}
        out: dict[str, date] = {}
    else:
        away, out = {}, {s: from_date for s in unavailable_stations}
    unknown = sorted((set(away) | set(out)) - set(plan.station_ids))
    if unknown:
        raise PlanningError(f"unavailable stations not in the plan: {', '.join(unknown)}")
    base = plan.constraints
    constraints = Constraints(
        base.days_off | frozenset(days_off),
        base.weekdays_off,
        base.unavailable,
        base.dropped_out,
        base.venues if venues is None else tuple(v for v in base.venues if v.date < from_date) + tuple(venues),
    ).with_unavailable(away, out)

    kept = tuple(a for a in plan.assignments if a.date < from_date)
    parameters = dict(plan.parameters)
    fresh = planner(
        targets, plan.station_ids, from_date, constraints, model=plan.model, history=kept, now=now,
        state=fld.snapshot(), homes=plan.homes, deadline=plan.deadline,
        previous=tuple(a for a in plan.assignments if a.date >= from_date), **parameters
    )
    merged = replace(fresh, assignments=kept + fresh.assignments, created=fresh.created)
    return Replan(merged, _changed(plan.assignments, fresh.assignments, from_date))


def _changed(old: Sequence[StationDay], new: Sequence[StationDay], from_date: date) -> frozenset[tuple[str, date]]:
    def key(a: StationDay) -> tuple[str, str, object, object]:
        return (a.place, a.kelurahan, a.start, a.end)

    before = {(a.station_id, a.date): key(a) for a in old if a.date >= from_date}
    after = {(a.station_id, a.date): key(a) for a in new if a.date >= from_date}
    return frozenset(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
