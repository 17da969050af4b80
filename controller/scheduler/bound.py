"""An independent bound: the LP relaxation of the time-indexed assignment, solved by HiGHS.

No planner is consulted: the bound only knows the field at the start, the
turnout model and how many stations can work on each working day. Rules:

- Variables: ``r[k,t]`` residents recorded at kelurahan ``k`` on working day
  ``t`` and ``x[k,t]`` stations there (fractional: the relaxation).
- Constraints, each implied by the model, so every real plan satisfies them:
  a day records no more than ``share * (reachable - recorded before)``
  (turnout rested, the most it can be); no more than ``capacity * x``; the
  fleet is at most the stations available that day; and a kelurahan's
  station-days are at least what single-station rested visits need to record
  as much (``TurnoutModel.visit_curve``, convex, taken as its tangent lines).
  That last family is what makes the relaxation tight: without it a fraction
  of a station would record a kelurahan's last few residents at no cost.
- ``lp_days`` is the fewest working days in which the relaxation records a
  given number of residents at kelurahan stations (venues and home visits
  aside), found by bisection on the horizon; no plan can do it in fewer.
- Per area: with stations kept in their home areas the problem splits
  exactly, so each area's bound uses its own kelurahan and stations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

import os
import sys

import highspy
import numpy as np

from .geography import in_area
from .model import Plan, PlanningError
from .state import Field
from .turnout import TurnoutModel


class BoundError(PlanningError):
    reason_id = "bound_error"


def _lines(model: TurnoutModel, reachable: float, hours: tuple[time, time]) -> list[tuple[float, float]]:
    """Tangent lines (a, b) of the convex station-days curve: x >= a + b * y."""
    pts = model.visit_curve(reachable, hours)
    lines: list[tuple[float, float]] = []
    for (n0, y0), (n1, y1) in zip(pts, pts[1:]):
        b = (n1 - n0) / (y1 - y0)
        if lines and abs(lines[-1][1] - b) < 1e-12:
            continue
        lines.append((n0 - b * y0, b))
    return lines


def lp_max(reachable: np.ndarray, model: TurnoutModel, hours: tuple[time, time], fleet: Sequence[int]) -> float:
    """Most residents the relaxation records in ``len(fleet)`` working days."""
    K, T = len(reachable), len(fleet)
    if K == 0 or T == 0:
        return 0.0
    q, cap = model.share(hours), model.capacity(hours)
    inf = highspy.kHighsInf
    nr = K * T  # r[k,t] at k*T + t; x[k,t] at nr + k*T + t
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    row = 0
    # pool: r[k,t] + q * sum_{s<t} r[k,s] <= q * reachable[k]
    kk = np.repeat(np.arange(K), T * (T + 1) // 2)
    tt_list, ss_list = [], []
    for t in range(T):
        tt_list.append(np.full(t + 1, t))
        ss_list.append(np.arange(t + 1))
    tt1, ss1 = np.concatenate(tt_list), np.concatenate(ss_list)
    tt, ss = np.tile(tt1, K), np.tile(ss1, K)
    rows.append(row + kk * T + tt)
    cols.append(kk * T + ss)
    vals.append(np.where(ss == tt, 1.0, q))
    lo.append(np.full(K * T, -inf))
    hi.append(np.repeat(q * reachable, T))
    row += K * T
    # capacity: r[k,t] - cap * x[k,t] <= 0
    idx = np.arange(nr)
    rows += [row + idx, row + idx]
    cols += [idx, nr + idx]
    vals += [np.ones(nr), np.full(nr, -cap)]
    lo.append(np.full(nr, -inf))
    hi.append(np.zeros(nr))
    row += nr
    # fleet: sum_k x[k,t] <= fleet[t]
    k2, t2 = np.divmod(idx, T)
    rows.append(row + t2)
    cols.append(nr + idx)
    vals.append(np.ones(nr))
    lo.append(np.full(T, -inf))
    hi.append(np.asarray(fleet, dtype=float))
    row += T
    # station-days: sum_t x[k,t] - b * sum_t r[k,t] >= a, for every tangent line
    for k in range(K):
        for a, b in _lines(model, float(reachable[k]), hours):
            ks = k * T + np.arange(T)
            rows += [np.full(T, row), np.full(T, row)]
            cols += [nr + ks, ks]
            vals += [np.ones(T), np.full(T, -b)]
            lo.append(np.array([a]))
            hi.append(np.array([inf]))
            row += 1
    r_, c_, v_ = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    order = np.lexsort((r_, c_))
    r_, c_, v_ = r_[order], c_[order], v_[order]
    n = 2 * nr
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, row
    lp.col_cost_ = np.concatenate([np.ones(nr), np.zeros(nr)])
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.full(n, inf)
    lp.row_lower_ = np.concatenate(lo)
    lp.row_upper_ = np.concatenate(hi)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(c_, np.arange(n + 1)).astype(np.int32)
    lp.a_matrix_.index_ = r_.astype(np.int32)
    lp.a_matrix_.value_ = v_
    h = _solver()
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise BoundError(f"the LP relaxation did not solve: {h.modelStatusToString(h.getModelStatus())}")
    return float(h.getInfo().objective_function_value)


_SOLVER: highspy.Highs | None = None


def _solver() -> highspy.Highs:
    """One quiet HiGHS instance per process (each model replaces the last).

    HiGHS prints its banner to the C-level stdout when an instance is made,
    before any option can silence it; a report on stdout must not carry it,
    so the one construction runs with file descriptor 1 pointed at /dev/null.
    """
    global _SOLVER
    if _SOLVER is None:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                solver = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        solver.setOptionValue("output_flag", False)
        solver.setOptionValue("threads", 1)
        _SOLVER = solver
    return _SOLVER


def lp_days(reachable: np.ndarray, model: TurnoutModel, hours: tuple[time, time], fleet: Sequence[int],
            target: float) -> int | None:
    """Fewest working days in which the relaxation records ``target``; None if not within ``fleet``."""
    if target <= 1e-6:
        return 0
    lo, hi = 0, len(fleet)
    if lp_max(reachable, model, hours, fleet) < target * (1 - 1e-7):
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if lp_max(reachable, model, hours, fleet[:mid]) >= target * (1 - 1e-7):
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True)
class Bound:
    area: str  # "" for the whole target set
    days: int | None  # None: not within the horizon looked at
    target: float  # residents recorded at kelurahan stations that the bound is for
    stations: int


def fleet_by_day(plan: Plan, stations: Sequence[str], days: int) -> list[int]:
    """Stations available on each of the first ``days`` working days from the plan's start."""
    out: list[int] = []
    day = plan.start
    while len(out) < days:
        if not plan.constraints.is_day_off(day):
            out.append(sum(1 for s in stations if plan.constraints.is_available(s, day)))
        day += timedelta(days=1)
        if (day - plan.start).days > 20 * days + 400:
            break
    return out


def plan_bound(plan: Plan, recorded_at: dict[str, float], *, area: str = "", max_days: int) -> Bound:
    """The LP bound for recording what ``recorded_at`` says (kelurahan code -> residents at stations).

    ``area`` restricts it to one home area's kelurahan and stations.
    """
    fld = Field(plan.state if plan.state is not None else Field.fresh(plan.targets, plan.model.params))
    hours = tuple(time.fromisoformat(h) for h in plan.parameters.get("hours", ("15:00", "21:00")))
    pick = np.array([in_area(c, area) for c in fld.codes], dtype=bool)
    stations = [s for s in plan.station_ids if not area or plan.homes.get(s, "") == area]
    if area and not stations:
        raise BoundError(f"no station has home area {area}")
    target = sum(n for c, n in recorded_at.items() if in_area(c, area))
    fleet = fleet_by_day(plan, stations, max_days)
    days = lp_days(fld.reachable[pick], plan.model.deterministic, hours, fleet, target)
    return Bound(area, days, target, len(stations))


def station_recorded(visits) -> dict[str, float]:
    """Residents recorded at kelurahan stations (not venues, not home visits), per kelurahan."""
    out: dict[str, float] = {}
    for v in visits:
        if v.place == v.kelurahan:
            out[v.kelurahan] = out.get(v.kelurahan, 0.0) + v.recorded
    return out


def days_between(first: date, last: date) -> int:
    return (last - first).days + 1
