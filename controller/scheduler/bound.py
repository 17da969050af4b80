"""An independent bound: the LP relaxation of the time-indexed assignment (HiGHS), and each kelurahan's own chain.

No planner is consulted: the bound only knows the field at the start, the
turnout model, the stop rule, the calendar and how many stations can work on
each working day. Rules:

- LP variables: ``c[k,t]`` residents recorded at kelurahan ``k`` by the end
  of working day ``t`` (cumulative, so every constraint below is sparse) and
  ``x[k,t]`` stations there (fractional: the relaxation).
- Constraints, each implied by the model, so every real plan satisfies them:
  - *turnout with rest*: whatever the visits in working days ``s..e``, they
    record at most ``1 - g(s,e)`` of the pool left before ``s``, where
    ``g(s,e)`` is the least share any visit pattern in those days can leave
    (each visit takes ``share * fatigue(gap)`` of the pool, a first visit in
    the window counted as rested). With ``s == e`` this is a rested day's share;
    the longer windows are what stop the relaxation from visiting the same
    kelurahan every day at rested turnout;
  - *stations*: a day records no more than ``capacity * x``, the fleet is at
    most the stations available that day, and a kelurahan's station-days are
    at least what single-station rested visits need to record as much
    (``TurnoutModel.visit_curve``, convex, as its tangent lines): without it a
    fraction of a station would record a kelurahan's last residents for free;
  - *finished*: a plan ends only when no kelurahan would clear the stop rule
    even rested, so each one is brought below ``minimum / share`` reachable
    (kelurahan with a venue are left out: a venue records there too).
- *Chains*: the same stop rule makes a kelurahan's last visits wait for rest
  (a visit must be expected to record ``minimum`` or more), which no LP over
  fractions sees. ``chains.finish_days`` follows one kelurahan alone with
  stations unlimited; no plan finishes that kelurahan sooner.
- ``lp_days`` is the fewest working days in which both hold: the chains, and
  a feasible LP recording the given number of residents at kelurahan
  stations (venues and home visits aside), found by bisection; no plan can
  do it in fewer.
- Per area: with stations kept in their home areas the problem splits
  exactly, so each area's bound uses its own kelurahan and stations.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

import highspy
import numpy as np

from .chains import finish_days
from .geography import in_area
from .model import Plan, PlanningError
from .state import NEVER, Field
from .turnout import TurnoutModel
from .venues import VenueKind


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


def _fatigue(model: TurnoutModel, days: Sequence[date]) -> np.ndarray:
    """f[i, j]: turnout on working day j after a visit on working day i (i < j), relative to rested."""
    ordinal = np.array([d.toordinal() for d in days], dtype=float)
    gap = np.maximum(ordinal[None, :] - ordinal[:, None], 1e-9)
    return np.asarray(model.fatigue(gap), dtype=float)


def leave_share(model: TurnoutModel, hours: tuple[time, time], days: Sequence[date]) -> np.ndarray:
    """g[s, e]: the least share of a pool that visits on working days s..e can leave (1 where e < s)."""
    T, q = len(days), model.share(hours)
    f = _fatigue(model, days)
    g = np.ones((T, T))
    for s in range(T):
        best = np.full(T, np.inf)  # least share left with the last visit on day j
        for j in range(s, T):
            first = 1.0 - q
            before = best[s:j] * (1.0 - q * f[s:j, j]) if j > s else np.array([])
            best[j] = min(first, before.min()) if len(before) else first
        g[s, s:] = np.minimum.accumulate(best[s:])
    return g


def lp_feasible(reachable: np.ndarray, model: TurnoutModel, hours: tuple[time, time], days: Sequence[date],
                fleet: Sequence[int], target: float, floors: np.ndarray | None = None) -> bool:
    """Whether the relaxation records ``target`` (and every kelurahan's floor) within these working days."""
    K, T = len(reachable), len(days)
    if target <= 1e-6 and (floors is None or not (floors > 1e-6).any()):
        return True
    if K == 0 or T == 0:
        return False
    reachable = np.asarray(reachable, dtype=float)
    cap = model.capacity(hours)
    g = leave_share(model, hours, days)
    inf = highspy.kHighsInf
    nc = K * T  # c[k,t] at k*T + t; x[k,t] at nc + k*T + t
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    row = 0

    def add(r_idx, c_idx, v, r_lo, r_hi, n_rows):
        nonlocal row
        rows.append(row + r_idx)
        cols.append(c_idx)
        vals.append(v)
        lo.append(r_lo)
        hi.append(r_hi)
        row += n_rows

    # windows s..e: c[e] - g * c[s-1] <= (1 - g) * R  (c[-1] = 0)
    ss, ee = np.triu_indices(T)
    # a window that can leave next to nothing says no more than c <= R (its tiny g only hurts the numerics)
    keep = g[ss, ee] > 1e-6
    ss, ee = ss[keep], ee[keep]
    W = len(ss)
    kk = np.repeat(np.arange(K), W)
    s_k, e_k = np.tile(ss, K), np.tile(ee, K)
    g_k = g[s_k, e_k]
    rid = np.arange(K * W)
    first = s_k == 0
    r_idx = np.concatenate([rid, rid[~first]])
    c_idx = np.concatenate([kk * T + e_k, (kk * T + s_k - 1)[~first]])
    v = np.concatenate([np.ones(K * W), -g_k[~first]])
    add(r_idx, c_idx, v, np.full(K * W, -inf), (1.0 - g_k) * reachable[kk], K * W)
    # monotone and capacity: 0 <= c[t] - c[t-1] <= cap * x[t]
    idx = np.arange(nc)
    t_of = idx % T
    later = t_of > 0
    add(np.concatenate([idx, idx[later]]), np.concatenate([idx, idx[later] - 1]),
        np.concatenate([np.ones(nc), -np.ones(later.sum())]), np.zeros(nc), np.full(nc, inf), nc)
    add(np.concatenate([idx, idx[later], idx]), np.concatenate([idx, idx[later] - 1, nc + idx]),
        np.concatenate([np.ones(nc), -np.ones(later.sum()), np.full(nc, -cap)]),
        np.full(nc, -inf), np.zeros(nc), nc)
    # fleet: sum_k x[k,t] <= fleet[t]
    add(t_of, nc + idx, np.ones(nc), np.full(T, -inf), np.asarray(fleet[:T], dtype=float), T)
    # station-days: sum_t x[k,t] - b * c[k,T-1] >= a, for every tangent line
    for k in range(K):
        for a, b in _lines(model, float(reachable[k]), hours):
            ks = k * T + np.arange(T)
            add(np.zeros(T + 1, dtype=np.int64), np.concatenate([nc + ks, [k * T + T - 1]]),
                np.concatenate([np.ones(T), [-b]]), np.array([a]), np.array([inf]), 1)
    # finished: each kelurahan's floor, and the residents asked for in all
    last = np.arange(K) * T + T - 1
    if floors is not None:
        need = floors > 1e-9
        add(np.arange(int(need.sum())), last[need], np.ones(int(need.sum())), floors[need],
            np.full(int(need.sum()), inf), int(need.sum()))
    add(np.zeros(K, dtype=np.int64), last, np.ones(K), np.array([target * (1 - 1e-7)]), np.array([inf]), 1)

    r_, c_, v_ = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    order = np.lexsort((r_, c_))
    r_, c_, v_ = r_[order], c_[order], v_[order]
    n = 2 * nc
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, row
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.concatenate([np.repeat(reachable, T), np.full(nc, inf)])
    lp.row_lower_ = np.concatenate(lo)
    lp.row_upper_ = np.concatenate(hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(c_, np.arange(n + 1)).astype(np.int32)
    lp.a_matrix_.index_ = r_.astype(np.int32)
    lp.a_matrix_.value_ = v_
    h = _solver()
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible):
        # Near the edge of feasibility the dual simplex can stall; the interior point method settles it.
        h.setOptionValue("solver", "ipm")
        h.run()
        h.setOptionValue("solver", "choose")
        status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return True
    if status == highspy.HighsModelStatus.kInfeasible:
        return False
    raise BoundError(f"the LP relaxation did not solve: {h.modelStatusToString(status)}")


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


@dataclass(frozen=True)
class Horizon:
    """The working days a bound may use, and the stations available on each."""

    days: tuple[date, ...]
    fleet: tuple[int, ...]

    def __getitem__(self, n: slice) -> Horizon:
        return Horizon(self.days[n], self.fleet[n])

    def __len__(self) -> int:
        return len(self.days)


def lp_days(reachable: np.ndarray, model: TurnoutModel, hours: tuple[time, time], horizon: Horizon,
            target: float, minimum: float | None = None, chained: np.ndarray | None = None,
            last_visit: np.ndarray | None = None) -> int | None:
    """Fewest working days in which no plan can do less: the chains, and the LP recording ``target``.

    ``minimum`` is the stop rule (None: no floors, no chains); ``chained``
    says which kelurahan the floors and chains apply to (default all);
    ``last_visit`` is each one's last visit (date ordinal; default never).
    None if not within the horizon.
    """
    reachable = np.asarray(reachable, dtype=float)
    floors = None
    start = 0
    if minimum is not None and len(reachable):
        pick = np.ones(len(reachable), dtype=bool) if chained is None else np.asarray(chained, dtype=bool)
        floors = np.where(pick, np.maximum(0.0, reachable - minimum / model.share(hours)), 0.0)
        last = np.full(len(reachable), NEVER) if last_visit is None else np.asarray(last_visit, dtype=float)
        chains = finish_days(reachable[pick], last[pick], [d.toordinal() for d in horizon.days], model.share(hours),
                             minimum, model.fatigue, len(horizon), cap=model.capacity(hours))
        start = int(chains.max(initial=0))
        if start > len(horizon):
            return None
    if target <= 1e-6 and (floors is None or not (floors > 1e-6).any()):
        return start
    if not lp_feasible(reachable, model, hours, horizon.days, horizon.fleet, target, floors):
        return None
    lo, hi = max(start, 1) - 1, len(horizon)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        part = horizon[:mid]
        if lp_feasible(reachable, model, hours, part.days, part.fleet, target, floors):
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


def horizon_of(plan: Plan, stations: Sequence[str], days: int) -> Horizon:
    """The first ``days`` working days from the plan's start and the stations available on each."""
    dates: list[date] = []
    fleet: list[int] = []
    day = plan.start
    while len(dates) < days:
        if not plan.constraints.is_day_off(day):
            dates.append(day)
            fleet.append(sum(1 for s in stations if plan.constraints.is_available(s, day)))
        day += timedelta(days=1)
        if (day - plan.start).days > 20 * days + 400:
            break
    return Horizon(tuple(dates), tuple(fleet))


def plan_bound(plan: Plan, recorded_at: dict[str, float], *, area: str = "", max_days: int) -> Bound:
    """The bound for finishing while recording what ``recorded_at`` says (kelurahan code -> residents at stations).

    ``area`` restricts it to one home area's kelurahan and stations.
    """
    fld = Field(plan.state if plan.state is not None else Field.fresh(plan.targets, plan.model.params))
    hours = tuple(time.fromisoformat(h) for h in plan.parameters.get("hours", ("15:00", "21:00")))
    pick = np.array([in_area(c, area) for c in fld.codes], dtype=bool)
    stations = [s for s in plan.station_ids if not area or plan.homes.get(s, "") == area]
    if area and not stations:
        raise BoundError(f"no station has home area {area}")
    target = sum(n for c, n in recorded_at.items() if in_area(c, area))
    with_venue = {v.kelurahan_code for v in plan.constraints.venues}
    chained = np.array([c not in with_venue for c, p in zip(fld.codes, pick) if p], dtype=bool)
    # a community meeting brings some of the hard into reach: let the relaxation have all it could
    for v in plan.constraints.venues:
        if v.kind is VenueKind.COMMUNITY_MEETING:
            fld.announce(fld.index[v.kelurahan_code], plan.model.params.announce_share)
    minimum = plan.parameters.get("min_people")
    days = lp_days(fld.reachable[pick], plan.model.deterministic, hours, horizon_of(plan, stations, max_days),
                   target, minimum=float(minimum) if minimum else None, chained=chained,
                   last_visit=fld.last_visit[pick])
    return Bound(area, days, target, len(stations))


def station_recorded(visits) -> dict[str, float]:
    """Residents recorded at kelurahan stations (not venues, not home visits), per kelurahan."""
    out: dict[str, float] = {}
    for v in visits:
        if v.place == v.kelurahan:
            out[v.kelurahan] = out.get(v.kelurahan, 0.0) + v.recorded
    return out

