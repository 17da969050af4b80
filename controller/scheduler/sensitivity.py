"""Headline figures, and how each moves when one turnout parameter moves by +/-50%.

This module owns the figures ``rekam controller schedule simulate`` and the
benchmarks print. Rules:

- One ``Headline`` per run: the backlog plan's days and finish date, the LP
  bound and the ratio, the best rotation baseline (days to record as much
  as the plan), coverage (days to 90/95/98%, at the deadline, at the end)
  and the residue left to office service and home visits.
- The sensitivity table is the same headline for every parameter in
  ``params.SENSITIVE`` at 50% and 150% of its value, everything else as
  fitted. Nothing is re-fitted: the table says how much each figure leans
  on each parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from .backlog import plan_backlog
from .baselines import Baseline, best, run_baselines
from .bound import plan_bound, station_recorded
from .coverage import Coverage, coverage
from .model import Constraints, KelurahanTarget, Plan
from .params import SENSITIVE, TurnoutParameters
from .simulate import SimulationResult, simulate
from .turnout import TurnoutModel


@dataclass(frozen=True)
class Headline:
    label: str
    result: SimulationResult
    coverage: Coverage
    bound_days: int | None
    baselines: tuple[Baseline, ...]

    @property
    def best_baseline(self) -> Baseline:
        return best(self.baselines)

    @property
    def ratio(self) -> float | None:
        return self.result.days / self.bound_days if self.bound_days else None


def headline(label: str, targets: Sequence[KelurahanTarget], stations: Sequence[str], start: date,
             constraints: Constraints, model: TurnoutModel, *, deadline: date | None = None,
             min_people: float = 20, hours=None, homes=None, with_bound: bool = True) -> Headline:
    options = {"deadline": deadline, "min_people": min_people}
    if hours is not None:
        options["hours"] = hours
    plan = plan_backlog(targets, stations, start, constraints, model=model, homes=homes, **options)
    return summarise(plan, label, with_bound=with_bound)


def summarise(plan: Plan, label: str = "", *, with_bound: bool = True) -> Headline:
    """The headline figures of a plan already made (the dashboard shows the active plan's)."""
    result = simulate(plan)
    bound = None
    if with_bound and result.days:
        bound = plan_bound(plan, station_recorded(result.visits), max_days=result.days + 5).days
    options = {"deadline": plan.deadline, "min_people": plan.parameters.get("min_people", 20),
               "hours": tuple(plan.parameters.get("hours", ("15:00", "21:00")))}
    baselines = tuple(run_baselines(plan.targets, plan.station_ids, plan.start, plan.constraints, plan.model,
                                    result.recorded, **options))
    return Headline(label, result, coverage(result), bound, baselines)


def sensitivity(targets: Sequence[KelurahanTarget], stations: Sequence[str], start: date,
                constraints: Constraints, params: TurnoutParameters, *, deadline: date | None = None,
                min_people: float = 20, hours=None, with_bound: bool = True,
                progress: Callable[[str], None] | None = None, fitted: Headline | None = None) -> list[Headline]:
    """The headline as fitted (``fitted``, when already worked out), then each sensitive parameter at 50% and 150%."""
    rows = [] if fitted is None else [fitted]
    runs = [(f"{name} x{factor:g}", params.scaled(name, factor)) for name in SENSITIVE for factor in (0.5, 1.5)]
    for label, p in ([] if fitted is not None else [("as fitted", params)]) + runs:
        if progress:
            progress(label)
        rows.append(headline(label, targets, stations, start, constraints, TurnoutModel(p), deadline=deadline,
                             min_people=min_people, hours=hours, with_bound=with_bound))
    return rows


def rows(headlines: Sequence[Headline]) -> tuple[list[str], list[list[object]]]:
    """The sensitivity table's header and rows (every headline figure)."""
    header = ["model", "days", "finish", "LP bound", "days/bound", "best rotation", "rotation days",
              "days to 90%", "days to 95%", "days to 98%", "at deadline", "at end", "office residue",
              "home residue"]
    out = []
    for h in headlines:
        b = h.best_baseline
        c = h.coverage
        out.append([
            h.label, h.result.days, h.result.finish_date, h.bound_days,
            f"{h.ratio:.3f}" if h.ratio else None, b.variant.name,
            b.days_to_target if b.days_to_target is not None else f"never ({b.result.days})",
            *(c.days_to[level] if c.days_to[level] is not None else "never" for level in (0.90, 0.95, 0.98)),
            f"{100 * c.at_deadline:.2f}%" if c.at_deadline is not None else None, f"{100 * c.final:.2f}%",
            f"{sum(r.office for r in c.residue):,.0f}", f"{sum(r.home for r in c.residue):,.0f}",
        ])
    return header, out



