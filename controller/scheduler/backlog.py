"""The backlog planner: each day, station-days where they record the most, in each station's home area.

This module owns the planner that chases the remaining residents. Rules:

- Each day every kelurahan offers *slots*: a station there records
  ``min(capacity, what is still to come today)`` under the turnout model, so
  a kelurahan whose potential today is ``P`` offers ``floor(P / capacity)``
  full slots and one partial slot of what is left over. A slot expected to
  record fewer than ``min_people`` (default 20, the group-visit rule) is not
  offered: those residents go to office service or home visits. Home-bound
  residents offer home-visit slots the same way (a station serves
  ``hours / 15 minutes`` people at home).
- Whether today: ``lookahead`` weighs visiting with all the stations the
  turnout needs, with one fewer, or not today, by how soon each lets the
  kelurahan be finished; near its end a kelurahan is sometimes better rested
  a day than visited for just over the minimum.
- Which slots: the longest chains first (Hu's rule for chains of unit tasks
  on identical machines): a kelurahan's chain is the working days it still
  needs (``chains``), weighted up by the share of priority residents it
  holds (first-time voters; home-bound for home-visit slots) by
  ``1 + priority_weight * share``. Among equal chains the slot that records
  more, then a kelurahan where the area's stations already are, then the
  larger potential, then code order. On Solo this finishes within a day of
  the LP bound (``bound.py``), on Jawa Tengah on it; taking the biggest slot
  first instead leaves more kelurahan needing rest at the end.
- Areas: a station works in its home area (kecamatan homes first, then
  kabupaten/kota homes, then stations without one, each taking the best
  slots left). Once its area has nothing left that would clear the minimum
  even after rest, it is lent to the nearest area with slots left (same
  kabupaten, then province, then anywhere), and its assignment says why.
- Which station takes which slot: stay if your kelurahan has one, then the
  nearest (same kecamatan, same kabupaten, then any). The plan ends when no
  kelurahan anywhere would clear the minimum even after rest.

Per day this is a few vector operations over the kelurahan (the look-ahead's
are one per pair of working days it looks across) and a sort of the slots
(O(V log V)) plus a sort of the stations (O(S log S)).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time

import numpy as np

from .dayloop import DEFAULT_HORIZON_DAYS, Day, Setting, home_place, run, setting, working_days
from .geography import in_area, kabupaten_of, place
from .lookahead import choose
from .model import Constraints, KelurahanTarget, Plan, PlanningError, StationDay
from .params import MIN_PER_STATION_DAY
from .state import Field, FieldState
from .turnout import DEFAULT_HOURS, TurnoutModel
from .venues import DEFAULT_VENUE_HOURS, VenueKind

NAME = "backlog"


class _Backlog:
    def __init__(self, s: Setting, priority_weight: float, max_per_kelurahan: int | None):
        self.s = s
        self.model = s.model.deterministic
        self.codes = s.state.codes
        n = len(self.codes)
        self.n = n
        self.cap = self.model.capacity(s.hours)
        self.home_hours = DEFAULT_VENUE_HOURS[VenueKind.HOME_VISIT]
        self.home_cap = self.model.home_per_station(self.home_hours)
        self.min = s.min_people
        self.weight = float(priority_weight)
        self.max_per = max_per_kelurahan
        self.area_of = {st: s.homes.get(st, "") for st in s.stations}
        areas = set(self.area_of.values())
        # most specific first: kecamatan homes, then kabupaten/kota, then anywhere
        self.areas = sorted(areas, key=lambda a: (-len(a), a))
        self.idx = {a: np.array([i for i, c in enumerate(self.codes) if in_area(c, a)], dtype=np.int64)
                    for a in areas}
        self.codes2 = self.codes + self.codes  # visit slots, then home-visit slots
        self._scopes: dict[str, np.ndarray] = {"": np.arange(n)}
        self.days = [d.toordinal() for d in working_days(s.start, s.constraints, s.horizon_days)]

    def _scope(self, area: str) -> np.ndarray:
        if area not in self._scopes:
            self._scopes[area] = np.array([i for i, c in enumerate(self.codes) if in_area(c, area)], dtype=np.int64)
        return self._scopes[area]

    # -- the stop rule ---------------------------------------------------------------
    def _rested_ok(self, fld: Field, idx: np.ndarray | slice = slice(None)) -> bool:
        visit = np.minimum(self.model.share(self.s.hours) * fld.reachable[idx], self.cap)
        home = np.minimum(fld.home[idx], self.home_cap)
        return bool((visit >= self.min).any() or (home >= self.min).any())

    def done(self, fld: Field) -> bool:
        return not self._rested_ok(fld)

    def _look_ahead(self, fld: Field, potential: np.ndarray, day: Day) -> tuple[np.ndarray, np.ndarray]:
        """(what to record today, working days each kelurahan still needs), as ``lookahead`` chooses."""
        open_ = np.flatnonzero(potential >= self.min)
        finish = np.zeros(self.n)
        if not len(open_) or self.cap < self.min:
            return potential, finish
        today = bisect.bisect_left(self.days, day.date.toordinal())
        take, finish[open_] = choose(fld.reachable[open_], fld.last_visit[open_], self.days[today:], self.model.share(day.hours),
                         self.cap, self.min, self.model.fatigue)
        out = potential.copy()
        # a whole number of stations: a hair over, so no partial slot is made of float rounding
        out[open_] = np.where(take < potential[open_], take * (1 + 1e-12), potential[open_])
        return out, finish

    # -- slots ---------------------------------------------------------------------------
    def _slots(self, idx: np.ndarray, potential: np.ndarray, taken: np.ndarray, weight: np.ndarray,
               cap: float, here: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(kelurahan index, value, tie-break 'here', potential) of the slots left at ``idx``."""
        p = np.maximum(0.0, potential[idx] - cap * taken[idx])
        full = np.floor(p / cap).astype(np.int64)
        rem = p - full * cap
        if self.max_per is not None:
            room = np.maximum(0, self.max_per - taken[idx].astype(np.int64))
            full = np.minimum(full, room)
            rem_ok = (rem >= self.min) & (full < room)
        else:
            rem_ok = rem >= self.min
        if cap < self.min:
            full[:] = 0
        w = np.round(weight[idx], 2)
        k = np.concatenate([np.repeat(idx, full), idx[rem_ok]])
        v = np.concatenate([np.repeat(cap * w, full), (rem * w)[rem_ok]])
        h = np.concatenate([np.repeat(here[idx], full), here[idx][rem_ok]])
        pp = np.concatenate([np.repeat(p, full), p[rem_ok]])
        return k, v, h, pp

    def allocate(self, day: Day) -> None:
        fld, model = day.field, self.model
        gap = fld.gap(day.date)
        potential = model.potential(fld.reachable, gap, day.hours)
        potential, finish = self._look_ahead(fld, potential, day)
        pool = fld.reachable + fld.hard
        share = np.divide(fld.first_voters, pool, out=np.zeros(self.n), where=pool > 0)
        weight = 1.0 + self.weight * share
        self.chain = finish * weight
        self.home_chain = np.ceil(fld.home / self.home_cap) * (1.0 + self.weight)
        home_weight = np.full(self.n, 1.0 + self.weight)
        taken = np.zeros(self.n)
        taken_home = np.zeros(self.n)
        by_area: dict[str, list[str]] = {}
        for st in day.free:
            by_area.setdefault(self.area_of[st], []).append(st)
        spare: list[str] = []
        for area in self.areas:
            stations = by_area.get(area)
            if not stations:
                continue
            idx = self.idx[area]
            chosen = self._choose(idx, len(stations), potential, fld.home, taken, taken_home, weight, home_weight,
                                  stations, day)
            placed = self._place(chosen, stations, day, area, "")
            spare += [st for st in stations if st not in placed]
            for st, key in placed.items():
                if key < self.n:
                    taken[key] += 1
                else:
                    taken_home[key - self.n] += 1
        if spare:
            self._lend(spare, day, potential, fld, taken, taken_home, weight, home_weight)

    def _choose(self, idx, n_stations, potential, home, taken, taken_home, weight, home_weight, stations,
                day: Day) -> dict[int, int]:
        here = np.zeros(self.n)
        for st in stations:
            pos = day.positions.get(st)
            if pos is not None and pos.place == pos.kelurahan and pos.kelurahan in day.field.index:
                here[day.field.index[pos.kelurahan]] += 1
            if day.preferred.get(st) in day.field.index:
                here[day.field.index[day.preferred[st]]] += 1e-3  # below a station that is there
        k1, v1, h1, p1 = self._slots(idx, potential, taken, weight, self.cap, here)
        k2, v2, h2, p2 = self._slots(idx, home, taken_home, home_weight, self.home_cap, np.zeros(self.n))
        keys = np.concatenate([k1, k2 + self.n])
        values = np.concatenate([v1, v2])
        if not len(keys):
            return {}
        chain = np.round(np.concatenate([self.chain[k1], self.home_chain[k2]]), 3)
        order = np.lexsort((keys, -np.concatenate([p1, p2]), -np.concatenate([h1, h2]), -values, -chain))
        top = keys[order[:n_stations]]
        got: dict[int, int] = {}
        for k in top.tolist():
            got[k] = got.get(k, 0) + 1
        return got

    def _place(self, slots: Mapping[int, int], stations: Sequence[str], day: Day, area: str,
               reason: str) -> dict[str, int]:
        fld = day.field
        here = {}
        for st in stations:
            pos = day.positions.get(st)
            if pos is not None and pos.kelurahan in fld.index:
                here[st] = fld.index[pos.kelurahan] + (self.n if pos.place.startswith("home-") else 0)
        wanted = {st: fld.index[k] for st, k in day.preferred.items() if k in fld.index}
        placed = place(slots, stations, here, self.codes2, wanted)
        for st, key in placed.items():
            k = key % self.n
            code = self.codes[k]
            where = home_place(code) if key >= self.n else code
            day.placed[st] = (where, code, reason)
        return placed

    def _lend(self, spare, day: Day, potential, fld: Field, taken, taken_home, weight, home_weight) -> None:
        """Stations whose home area is finished go to the nearest area with slots left, saying why."""
        finished = {a: not self._rested_ok(fld, self.idx[a]) for a in {self.area_of[st] for st in spare} if a}
        waiting = sorted((st for st in spare if finished.get(self.area_of[st])), key=lambda st: (self.area_of[st], st))
        for level in (5, 2, 0):  # the kabupaten/kota it is in, the province, anywhere
            groups: dict[str, list[str]] = {}
            for st in waiting:
                pos = day.positions.get(st)
                anchor = pos.kelurahan if pos is not None and pos.kelurahan in fld.index else self.area_of[st]
                groups.setdefault(anchor[:level], []).append(st)
            waiting = []
            for scope, stations in sorted(groups.items()):
                chosen = self._choose(self._scope(scope), len(stations), potential, fld.home, taken, taken_home,
                                      weight, home_weight, stations, day)
                placed = self._place(chosen, stations, day, "", "")
                for st, key in placed.items():
                    where, code, _ = day.placed[st]
                    day.placed[st] = (where, code, f"home area {self.area_of[st]} has no station-day of "
                                                   f"{self.min:g} or more left; lent to {kabupaten_of(code)}")
                    if key < self.n:
                        taken[key] += 1
                    else:
                        taken_home[key - self.n] += 1
                waiting += [st for st in stations if st not in placed]
            if not waiting:
                return


def plan_backlog(
    targets: Sequence[KelurahanTarget],
    stations: Sequence[str],
    start: date,
    constraints: Constraints = Constraints(),
    *,
    model: TurnoutModel = TurnoutModel(),
    min_people: float = MIN_PER_STATION_DAY,
    priority_weight: float = 1.0,
    max_stations_per_kelurahan: int | None = None,
    homes: Mapping[str, str] | None = None,
    hours: tuple[time | str, time | str] = DEFAULT_HOURS,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    history: Sequence[StationDay] = (),
    state: FieldState | None = None,
    deadline: date | None = None,
    now: datetime | None = None,
    previous: Sequence[StationDay] = (),
) -> Plan:
    """Each day, the most valuable station-days in each station's home area, none below ``min_people``."""
    if max_stations_per_kelurahan is not None and (
        not isinstance(max_stations_per_kelurahan, int) or max_stations_per_kelurahan < 1
    ):
        raise PlanningError(f"max_stations_per_kelurahan must be >= 1 or None, got {max_stations_per_kelurahan!r}")
    if not (isinstance(priority_weight, (int, float)) and priority_weight >= 0):
        raise PlanningError(f"priority_weight must be a number >= 0, got {priority_weight!r}")
    s = setting(targets, stations, start, constraints, model, hours, homes, state, min_people, deadline,
                horizon_days)
    planner = _Backlog(s, priority_weight, max_stations_per_kelurahan)
    parameters = {"priority_weight": priority_weight, "max_stations_per_kelurahan": max_stations_per_kelurahan}
    history = [a for a in history if a.date < start]
    return run(NAME, parameters, planner.allocate, planner.done, s, history, now, previous)
