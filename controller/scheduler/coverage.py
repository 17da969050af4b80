"""Honest coverage: how far a run gets, when, and who is left for office service and home visits.

This module owns the figures a campaign is judged by. Rules:

- Coverage is the share of wajib KTP recorded (Dukcapil's measure: Solo
  stood at 92.26%); ``days_to`` gives the working days a run needs to reach
  90, 95 and 98% (0 if it started there, None if it never gets there).
- The residue is everyone a run leaves: per kelurahan, the home-bound go to
  home visits and the rest to kecamatan office service; each kecamatan's
  office needs ``residue / office_per_day`` working days for its share.
- Figures at a deadline count what was recorded on or before it, and how
  many of the priority groups are still left then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .model import Plan, Visit
from .simulate import SimulationResult
from .state import Field

LEVELS = (0.90, 0.95, 0.98)


@dataclass(frozen=True)
class Residue:
    code: str
    name: str
    kecamatan: str
    office: float
    home: float


@dataclass(frozen=True)
class Coverage:
    wajib: int
    recorded_before: int
    backlog: float
    recorded: float  # by the run
    days_to: dict[float, int | None]  # coverage level -> working days from the start
    residue: tuple[Residue, ...]
    office_days: dict[str, float]  # kecamatan -> working days of office service for its residue
    deadline: date | None
    recorded_by_deadline: float | None
    first_voters: float  # at the start
    first_voters_left_at_deadline: float | None
    home_bound: float
    home_bound_left_at_deadline: float | None

    @property
    def final(self) -> float:
        return (self.recorded_before + self.recorded) / self.wajib if self.wajib else 1.0

    @property
    def at_deadline(self) -> float | None:
        if self.recorded_by_deadline is None:
            return None
        return (self.recorded_before + self.recorded_by_deadline) / self.wajib if self.wajib else 1.0


def days_to_record(visits: Sequence[Visit], amount: float, plan: Plan) -> int | None:
    """Working days from the plan's start until the run has recorded ``amount`` (None: never)."""
    if amount <= 1e-9:
        return 0
    by_day: dict[date, float] = {}
    for v in visits:
        by_day[v.date] = by_day.get(v.date, 0.0) + v.recorded
    total = 0.0
    for day in sorted(by_day):
        total += by_day[day]
        if total >= amount - 1e-6:
            return _working_days(plan, day)
    return None


def _working_days(plan: Plan, last: date) -> int:
    c = plan.constraints
    return sum(1 for i in range((last - plan.start).days + 1) if not c.is_day_off(plan.start + timedelta(days=i)))


def coverage(result: SimulationResult, office_per_day: float | None = None) -> Coverage:
    plan = result.plan
    start_state = Field(plan.state if plan.state is not None else Field.fresh(plan.targets, plan.model.params))
    wajib = sum(t.wajib_ktp for t in plan.targets)
    recorded_before = sum(min(t.recorded, t.wajib_ktp) for t in plan.targets)
    backlog = float(start_state.left.sum())
    days_to = {level: days_to_record(result.visits, level * wajib - recorded_before, plan) for level in LEVELS}
    names = {t.code: (t.name, t.kecamatan) for t in plan.targets}
    end = _replay(plan, result.visits, None)
    residue = tuple(
        Residue(c, names[c][0], names[c][1], float(end.reachable[i] + end.hard[i]), float(end.home[i]))
        for i, c in enumerate(end.codes) if end.left[i] > 0.5
    )
    per_day = office_per_day if office_per_day is not None else plan.model.params.office_per_day
    office: dict[str, float] = {}
    for r in residue:
        office[r.kecamatan] = office.get(r.kecamatan, 0.0) + r.office / per_day
    deadline = plan.deadline
    by_deadline = fv_left = home_left = None
    if deadline is not None:
        by_deadline = sum(v.recorded for v in result.visits if v.date <= deadline)
        at = _replay(plan, result.visits, deadline)
        fv_left, home_left = float(at.first_voters.sum()), float(at.home.sum())
    return Coverage(
        wajib=wajib, recorded_before=recorded_before, backlog=backlog, recorded=result.recorded, days_to=days_to,
        residue=residue, office_days=office, deadline=deadline, recorded_by_deadline=by_deadline,
        first_voters=float(start_state.first_voters.sum()), first_voters_left_at_deadline=fv_left,
        home_bound=float(start_state.home.sum()), home_bound_left_at_deadline=home_left,
    )


def _replay(plan: Plan, visits: Sequence[Visit], until: date | None) -> Field:
    """The field after the run's recorded visits (up to ``until``), taken as they were recorded."""
    fld = Field(plan.state if plan.state is not None else Field.fresh(plan.targets, plan.model.params))
    for v in sorted(visits, key=lambda v: (v.date, v.place == v.kelurahan, v.place)):
        if until is not None and v.date > until:
            break
        i = fld.index[v.kelurahan]
        if v.place.startswith("home-"):
            fld.record_home(i, v.recorded)
        elif v.place != v.kelurahan:
            fld.record_venue(i, v.recorded)
        else:
            fld.record_visit(i, v.recorded, v.date)
    return fld


def share_by(result, deadline: date | None, cov: Coverage) -> float | None:
    """Share of wajib KTP recorded by ``deadline`` under ``result`` (a rotation's, say), from ``cov``'s start."""
    if deadline is None:
        return None
    got = sum(v.recorded for v in result.visits if v.date <= deadline)
    return (cov.recorded_before + got) / cov.wajib if cov.wajib else 1.0
