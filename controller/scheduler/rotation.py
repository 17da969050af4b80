"""The Solo rotation ("safari"): N kelurahan per block of D days, S stations each.

This module owns the baseline planner, Solo 2013's practice made exact. Rules:

- Kelurahan go in kecamatan order (their codes sort that way). A block takes
  the next N kelurahan that still have residents to record, least recently
  visited first, so the first pass walks the city in order and later passes
  return "where residents remain" in the same order; a short last block of a
  pass is topped up from the start of the next pass rather than left idle.
- A block lasts D block days: working days on which it had stations (a day
  with every station away or at a venue does not count). Each block day,
  every kelurahan of the block gets S stations, in code order while stations
  last (extra stations idle, as in Solo); short of stations, each first
  keeps those already there. The stop rule holds here too: a kelurahan gets
  only as many stations as each still expect ``min_people`` (none once it
  falls below), and a kelurahan that would not clear the minimum even
  rested is no longer queued. A kelurahan whose turnout drops mid-block
  leaves its slot empty until the block ends: the rotation is a published
  timetable residents rely on, not a planner that chases the backlog. A
  block with nothing left to do ends early; the rotation ends when no
  kelurahan would clear the minimum.
- The rotation's state (block in progress, its days done, last visits) is
  defined by the assignments alone, through one rule the planner applies to
  itself day by day, so a re-plan rebuilds it exactly from the history and
  continues the block in progress. The price: a kelurahan that gets no
  station on its block's first day (fleet short) is not in that block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time

import numpy as np

from .dayloop import DEFAULT_HORIZON_DAYS, Day, Setting, run, setting
from .geography import place
from .model import Constraints, KelurahanTarget, Plan, PlanningError, StationDay
from .params import MIN_PER_STATION_DAY
from .state import Field, FieldState
from .turnout import DEFAULT_HOURS, TurnoutModel

NAME = "rotation"


class _Rotation:
    def __init__(self, s: Setting, days: int, per_block: int, per_kelurahan: int, history: Sequence[StationDay]):
        self.s = s
        self.model = s.model.deterministic
        self.cap = self.model.capacity(s.hours)
        self.codes = s.state.codes
        self.order = {k: i for i, k in enumerate(self.codes)}
        self.days, self.per_block, self.per_kelurahan = days, per_block, per_kelurahan
        self.block: list[str] = []
        self.block_days = 0
        self.last_visit: dict[str, date] = {}
        self._resume(history)

    def _resume(self, history: Sequence[StationDay]) -> None:
        """Rebuild the block in progress and the visit order from earlier assignments."""
        by_day: dict[date, set[str]] = {}
        for a in history:
            if not a.at_venue and a.kelurahan in self.order:
                by_day.setdefault(a.date, set()).add(a.kelurahan)
        for day in sorted(by_day):
            self._observe(day, by_day[day])

    def _observe(self, day: date, served: set[str]) -> None:
        """Advance the block by a day on which ``served`` had stations.

        The planner updates itself through this rule and a re-plan rebuilds
        the same state through it from the assignments alone: a day continues
        the block while it has days left and serves only kelurahan of the
        block; otherwise the day's kelurahan are a new block.
        """
        if self.block and self.block_days < self.days and served <= set(self.block):
            self.block_days += 1
        else:
            self.block = sorted(served, key=self.order.__getitem__)
            self.block_days = 1
        for k in served:
            self.last_visit[k] = day

    def _useful(self, fld: Field, day: date) -> dict[str, int]:
        """Stations each kelurahan can take today with every one expecting the minimum.

        The stations of a kelurahan share its crowd, as Solo's pairs did, so a
        second station is sent while the day's crowd gives each the minimum.
        """
        gap = fld.gap(day)
        potential = self.model.potential(fld.reachable, gap, self.s.hours)
        n = np.floor(potential / self.s.min_people + 1e-9)
        return {self.codes[i]: int(x) for i, x in enumerate(n) if x >= 1}

    def done(self, fld: Field) -> bool:
        rested = np.minimum(self.model.share(self.s.hours) * fld.reachable, self.cap)
        return not bool((rested >= self.s.min_people).any())

    def allocate(self, day: Day) -> None:
        free = day.free
        if not free:
            return  # a day without stations does not count against the block
        fld = day.field
        rested = np.minimum(self.model.share(self.s.hours) * fld.reachable, self.cap)
        alive = {self.codes[i] for i in np.flatnonzero(rested >= self.s.min_people)}
        useful = self._useful(fld, day.date)
        if not self.block or self.block_days >= self.days or not any(k in useful for k in self.block):
            queue = sorted(
                (k for k in self.codes if k in alive),
                key=lambda k: (k in self.last_visit, self.last_visit.get(k, date.min), self.order[k]),
            )
            # a fresh block starts where something can be recorded today
            queue = [k for k in queue if k in useful] + [k for k in queue if k not in useful]
            self.block = sorted(queue[: self.per_block], key=self.order.__getitem__)
            self.block_days = 0
        # Short of stations, a kelurahan first keeps the ones already there, so a
        # station dropping out costs its own kelurahan a station, not a reshuffle.
        active = [k for k in self.block if useful.get(k, 0) > 0]
        want = {k: min(self.per_kelurahan, useful[k]) for k in active}
        here = {k: sum(1 for s in free if s in day.positions and day.positions[s].place == k) for k in active}
        counts = {k: min(want[k], here[k]) for k in active}
        stations = len(free) - sum(counts.values())
        for k in active:
            more = min(want[k] - counts[k], stations)
            counts[k] += more
            stations -= more
        counts = {k: n for k, n in counts.items() if n}
        if not counts:
            return
        if self.block_days == 0:
            self.block = []  # a fresh block: let the day's kelurahan define it, as a re-plan would see it
        self._observe(day.date, set(counts))
        index = fld.index
        positions = {s: index[p.kelurahan] for s, p in day.positions.items() if p.kelurahan in index}
        wanted = {s: index[k] for s, k in day.preferred.items() if k in index}
        placed = place({index[k]: n for k, n in counts.items()}, free, positions, self.codes, wanted)
        for s, k in placed.items():
            day.placed[s] = (self.codes[k], self.codes[k], "")


def plan_rotation(
    targets: Sequence[KelurahanTarget],
    stations: Sequence[str],
    start: date,
    constraints: Constraints = Constraints(),
    *,
    model: TurnoutModel = TurnoutModel(),
    days_per_block: int = 3,
    kelurahan_per_block: int = 5,
    stations_per_kelurahan: int = 2,
    min_people: float = MIN_PER_STATION_DAY,
    homes: Mapping[str, str] | None = None,
    hours: tuple[time | str, time | str] = DEFAULT_HOURS,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    history: Sequence[StationDay] = (),
    state: FieldState | None = None,
    deadline: date | None = None,
    now: datetime | None = None,
    previous: Sequence[StationDay] = (),
) -> Plan:
    """Solo's safari: blocks of D days, N kelurahan a block, S stations each, until nothing clears the minimum."""
    for name, value in (
        ("days_per_block", days_per_block),
        ("kelurahan_per_block", kelurahan_per_block),
        ("stations_per_kelurahan", stations_per_kelurahan),
    ):
        if not isinstance(value, int) or value < 1:
            raise PlanningError(f"{name} must be a whole number >= 1, got {value!r}")
    s = setting(targets, stations, start, constraints, model, hours, homes, state, min_people, deadline,
                horizon_days)
    history = [a for a in history if a.date < start]
    planner = _Rotation(s, days_per_block, kelurahan_per_block, stations_per_kelurahan, history)
    parameters = {
        "days_per_block": days_per_block,
        "kelurahan_per_block": kelurahan_per_block,
        "stations_per_kelurahan": stations_per_kelurahan,
    }
    return run(NAME, parameters, planner.allocate, planner.done, s, history, now, previous)
