"""The scheduler's data: targets, constraints, station-day assignments and plans.

This module owns the shapes every other scheduler module passes around. Rules:

- Everything is a frozen dataclass of plain values (str, int, date, time,
  tuples), so the controller can store it and publish it without this package.
- Kelurahan codes are dotted (``33.72.01.1001``); a place is either such a code
  or a venue id, never ambiguous (see ``venues.is_kelurahan_code``).
- A plan holds one assignment per (station, date) at most, sorted by date then
  station; its lookups are built once on first use.
- A plan carries what made it (targets, stations and their home areas, start,
  constraints, model, the field state at its start, planner and parameters)
  so it can be re-planned without the caller remembering any of it. Its
  targets describe the residents at ``start``;
  assignments before ``start`` are history a re-plan kept unchanged. Its
  creation time is not part of its identity: two plans from the same input
  compare equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from controller.errors import ControllerError
from protocol.regions import RegionError, normalize

from .turnout import DEFAULT_HOURS, TurnoutModel, hours_between
from .venues import Venue, is_kelurahan_code

if TYPE_CHECKING:
    from .state import FieldState


class PlanningError(ControllerError, ValueError):
    """Input a planner cannot plan from; the message names the offending item."""

    reason_id = "planning_error"


@dataclass(frozen=True)
class KelurahanTarget:
    code: str
    name: str
    kecamatan_code: str
    kecamatan: str
    wajib_ktp: int  # residents obliged to hold an e-KTP: the target
    recorded: int
    #: Of those left: first-time voters (turning 17 before the election), a priority group.
    first_voters: int = 0
    #: Of those left: elderly, sick or disabled who can only be recorded at home.
    home_bound: int = 0
    #: Where the kelurahan office is, when the targets file gives it (for travel).
    lat: float | None = None
    lon: float | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "code", normalize(self.code))
        except RegionError as exc:
            raise PlanningError(f"kelurahan {self.name!r}: {exc}") from None
        if not is_kelurahan_code(self.code):
            raise PlanningError(f"kelurahan {self.name!r}: {self.code} is not a 10-digit kelurahan code")
        for attr in ("wajib_ktp", "recorded", "first_voters", "home_bound"):
            value = getattr(self, attr)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise PlanningError(
                    f"kelurahan {self.code} ({self.name}): {attr} must be a whole number >= 0, got {value!r}"
                )

        if (self.lat is None) != (self.lon is None) or (
            self.lat is not None and not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180)
        ):
            raise PlanningError(f"kelurahan {self.code} ({self.name}): lat/lon must both be given, in degrees")
        if self.first_voters + self.home_bound > self.remaining:
            raise PlanningError(
                f"kelurahan {self.code} ({self.name}): first_voters + home_bound "
                f"({self.first_voters} + {self.home_bound}) is more than the {self.remaining} left"
            )

    @property
    def remaining(self) -> int:
        """Residents still to record; never negative (movers-in can push recorded past the target)."""
        return max(0, self.wajib_ktp - self.recorded)


@dataclass(frozen=True)
class StationDay:
    date: date
    station_id: str
    place: str  # a kelurahan code, or a venue id
    kelurahan: str  # the kelurahan served: the place itself, or the venue's kelurahan
    start: time = DEFAULT_HOURS[0]
    end: time = DEFAULT_HOURS[1]
    #: Why the station works outside its home area ("" when it does not).
    reason: str = ""

    @property
    def at_venue(self) -> bool:
        return self.place != self.kelurahan

    @property
    def hours(self) -> float:
        return hours_between(self.start, self.end)


@dataclass(frozen=True)
class Visit:
    """What one place recorded on one day (the simulator's and the expectation's unit)."""

    date: date
    place: str
    kelurahan: str
    stations: int
    recorded: float


def parse_hours(hours: tuple[time | str, time | str]) -> tuple[time, time]:
    """``(time(15), time(21))`` or ``("15:00", "21:00")`` -> times; PlanningError otherwise."""
    try:
        start, end = (h if isinstance(h, time) else time.fromisoformat(h) for h in hours)
    except (TypeError, ValueError):
        raise PlanningError(f"hours must be two times such as ('15:00', '21:00'), got {hours!r}") from None
    if hours_between(start, end) <= 0:
        raise PlanningError(f"hours {start:%H:%M}-{end:%H:%M} do not make a working day")
    return start, end


@dataclass(frozen=True)
class Constraints:
    """What the fleet cannot do: days off, stations away, venues claiming stations."""

    days_off: frozenset[date] = frozenset()
    weekdays_off: frozenset[int] = frozenset()  # date.weekday(): 6 is Sunday
    #: Station id -> dates it cannot work (repair, leave, transport).
    unavailable: Mapping[str, frozenset[date]] = field(default_factory=dict, hash=False)
    #: Station id -> first date it is out for good (broken, withdrawn).
    dropped_out: Mapping[str, date] = field(default_factory=dict, hash=False)
    venues: tuple[Venue, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "days_off", frozenset(self.days_off))
        object.__setattr__(self, "weekdays_off", frozenset(self.weekdays_off))
        object.__setattr__(self, "unavailable", {s: frozenset(d) for s, d in sorted(self.unavailable.items())})
        object.__setattr__(self, "dropped_out", dict(sorted(self.dropped_out.items())))
        object.__setattr__(self, "venues", tuple(sorted(self.venues, key=lambda v: (v.date, v.venue_id))))
        seen: set[str] = set()
        for venue in self.venues:
            if venue.venue_id in seen:
                raise PlanningError(f"venue id {venue.venue_id!r} is used twice")
            seen.add(venue.venue_id)

    def is_day_off(self, day: date) -> bool:
        return day in self.days_off or day.weekday() in self.weekdays_off

    def is_available(self, station_id: str, day: date) -> bool:
        out = self.dropped_out.get(station_id)
        if out is not None and day >= out:
            return False
        return day not in self.unavailable.get(station_id, ())

    def venues_on(self, day: date) -> tuple[Venue, ...]:
        return tuple(v for v in self.venues if v.date == day)

    @cached_property
    def venue_by_id(self) -> dict[str, Venue]:
        return {v.venue_id: v for v in self.venues}

    def with_unavailable(
        self,
        unavailable: Mapping[str, Iterable[date]] = {},
        dropped_out: Mapping[str, date] = {},
    ) -> Constraints:
        """These constraints plus more stations away; an earlier drop-out date wins."""
        merged = {s: set(d) for s, d in self.unavailable.items()}
        for station, days in unavailable.items():
            merged.setdefault(station, set()).update(days)
        out = dict(self.dropped_out)
        for station, day in dropped_out.items():
            out[station] = min(day, out.get(station, day))
        return Constraints(
            self.days_off, self.weekdays_off, {s: frozenset(d) for s, d in merged.items()}, out, self.venues
        )


@dataclass(frozen=True)
class Plan:
    assignments: tuple[StationDay, ...]
    planner: str
    parameters: Mapping[str, Any] = field(hash=False)
    targets: tuple[KelurahanTarget, ...]
    station_ids: tuple[str, ...]
    start: date
    constraints: Constraints
    model: TurnoutModel
    #: True when the stop rule ended the plan within the horizon: no station-day
    #: left anywhere that would record the minimum.
    finished: bool
    #: Residents the plan leaves to office service or home visits, per kelurahan.
    expected_left: Mapping[str, float] = field(default_factory=dict, hash=False)
    warnings: tuple[str, ...] = ()
    created: datetime | None = field(default=None, compare=False)
    #: Station id -> home area (kabupaten/kota or kecamatan code); absent: anywhere.
    homes: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: The field at ``start`` (None: fresh from the targets).
    state: FieldState | None = field(default=None, hash=False)
    #: The campaign's deadline, if it has one (figures are reported against it).
    deadline: date | None = None

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.assignments, key=lambda a: (a.date, a.station_id)))
        object.__setattr__(self, "assignments", ordered)
        for before, after in zip(ordered, ordered[1:]):
            if (before.date, before.station_id) == (after.date, after.station_id):
                raise PlanningError(f"station {after.station_id} has two assignments on {after.date}")

    @cached_property
    def _by_date(self) -> dict[date, tuple[StationDay, ...]]:
        return _group(self.assignments, lambda a: a.date)

    @cached_property
    def _by_station(self) -> dict[str, tuple[StationDay, ...]]:
        return _group(self.assignments, lambda a: a.station_id)

    @cached_property
    def _by_kelurahan(self) -> dict[str, tuple[StationDay, ...]]:
        return _group(self.assignments, lambda a: a.kelurahan)

    def on(self, day: date) -> tuple[StationDay, ...]:
        return self._by_date.get(day, ())

    def for_station(self, station_id: str) -> tuple[StationDay, ...]:
        return self._by_station.get(station_id, ())

    def at_kelurahan(self, code: str) -> tuple[StationDay, ...]:
        """Assignments serving a kelurahan, its venues included."""
        return self._by_kelurahan.get(normalize(code), ())

    def assignment(self, station_id: str, day: date) -> StationDay | None:
        for a in self.on(day):
            if a.station_id == station_id:
                return a
        return None

    def dates(self) -> tuple[date, ...]:
        return tuple(self._by_date)

    @property
    def end(self) -> date | None:
        """The last day with an assignment (the expected finish when ``finished``)."""
        return self.assignments[-1].date if self.assignments else None


def _group(items: Iterable[StationDay], key: Any) -> dict[Any, tuple[StationDay, ...]]:
    groups: dict[Any, list[StationDay]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return {k: tuple(v) for k, v in groups.items()}
