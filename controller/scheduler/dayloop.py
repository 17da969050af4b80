"""The day loop every planner shares: calendar, venues, the field, the Plan.

This module owns everything a planner does that is not its choice of where
stations go. Rules:

- Days run from the start for ``horizon_days`` calendar days; days off are
  skipped. The loop stops once the planner says nothing is left worth a
  station-day (``done``) and no venue is ahead, or at the horizon (then the
  plan says ``finished=False`` and carries a warning naming what is left).
- Each working day: stations not available are left out; venues on that day
  claim their stations first (stations already there, then by id); the
  planner places the rest (``allocate``); the day's visits are applied to
  the field under the noise-free model, venues first.
- A planner's state can be picked up from assignments made before its start
  (``history``): positions and a rotation's block come from there, the
  field's last visits from the plan's state. Same input, same plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from .geography import check_homes
from .model import Constraints, KelurahanTarget, Plan, PlanningError, StationDay, Visit, parse_hours
from .state import Field, FieldState
from .turnout import TurnoutModel
from .venues import DEFAULT_VENUE_HOURS, Venue, VenueKind

DEFAULT_HORIZON_DAYS = 1096  # three years: the cap after which a plan reports itself unfinished
HOME_PREFIX = "home-"  # a home-visit round's place: "home-33.72.01.1001"


def home_place(code: str) -> str:
    return HOME_PREFIX + code


@dataclass
class Position:
    """Where a station was last assigned and for how many assignments in a row."""

    place: str
    kelurahan: str
    stay: int


@dataclass
class Day:
    """What a planner sees when it places the day's free stations."""

    date: date
    field: Field
    free: list[str]
    positions: dict[str, Position]
    hours: tuple[time, time]
    #: station id -> the kelurahan an earlier plan had it at today (a re-plan keeps it there when it can)
    preferred: dict[str, str] = field(default_factory=dict)
    #: station id -> (place, kelurahan code, reason); filled by the planner
    placed: dict[str, tuple[str, str, str]] = field(default_factory=dict)


#: A planner's daily choice: fill ``day.placed``.
Allocate = Callable[[Day], None]
#: True when nothing is left that the planner would send a station to (rested).
Done = Callable[[Field], bool]


@dataclass(frozen=True)
class Setting:
    """Everything a plan is made from, checked once."""

    targets: tuple[KelurahanTarget, ...]
    stations: tuple[str, ...]
    start: date
    constraints: Constraints
    model: TurnoutModel
    hours: tuple[time, time]
    homes: Mapping[str, str]
    state: FieldState
    min_people: float
    deadline: date | None
    horizon_days: int


def setting(
    targets: Sequence[KelurahanTarget], stations: Sequence[str], start: date, constraints: Constraints,
    model: TurnoutModel, hours: tuple[time | str, time | str], homes: Mapping[str, str] | None,
    state: FieldState | None, min_people: float, deadline: date | None, horizon_days: int,
) -> Setting:
    check_input(targets, stations, constraints)
    if horizon_days < 1:
        raise PlanningError(f"horizon_days must be at least 1, got {horizon_days}")
    if not min_people > 0:
        raise PlanningError(f"min_people must be > 0, got {min_people!r}")
    targets = tuple(sorted(targets, key=lambda t: t.code))
    if state is None:
        state = Field.fresh(targets, model.params)
    elif state.codes != tuple(t.code for t in targets):
        raise PlanningError("the field state and the targets are for different kelurahan")
    return Setting(targets, tuple(stations), start, constraints, model, parse_hours(hours),
                   check_homes(homes or {}, stations, targets), state, float(min_people), deadline, horizon_days)


def check_input(targets: Sequence[KelurahanTarget], stations: Sequence[str], constraints: Constraints) -> None:
    seen: set[str] = set()
    for t in targets:
        if t.code in seen:
            raise PlanningError(f"kelurahan {t.code} ({t.name}) appears twice in the targets")
        seen.add(t.code)
    if not stations:
        raise PlanningError("no stations to plan for")
    if len(set(stations)) != len(stations):
        dupes = sorted({s for s in stations if list(stations).count(s) > 1})
        raise PlanningError(f"station ids appear twice: {', '.join(dupes)}")
    for venue in constraints.venues:
        if venue.kelurahan_code not in seen:
            raise PlanningError(
                f"venue {venue.venue_id!r} ({venue.name}) is in kelurahan {venue.kelurahan_code}, which has no target"
            )


def working_days(start: date, constraints: Constraints, horizon_days: int) -> Iterator[date]:
    for offset in range(horizon_days):
        day = start + timedelta(days=offset)
        if not constraints.is_day_off(day):
            yield day


def positions_from(history: Sequence[StationDay]) -> dict[str, Position]:
    """Each station's last place and how many of its assignments in a row were there."""
    positions: dict[str, Position] = {}
    for a in sorted(history, key=lambda a: (a.date, a.station_id)):
        pos = positions.get(a.station_id)
        if pos is not None and pos.place == a.place:
            pos.stay += 1
        else:
            positions[a.station_id] = Position(a.place, a.kelurahan, 1)
    return positions


def claim_venues(
    day: date, venues: Sequence[Venue], free: list[str], positions: Mapping[str, Position], model: TurnoutModel,
) -> tuple[dict[str, Venue], list[str]]:
    """Stations each venue of the day takes, and warnings for venues left short."""
    claims: dict[str, Venue] = {}
    warnings: list[str] = []
    for venue in venues:
        wanted = venue.stations_needed(model)
        pool = [s for s in free if s not in claims]
        near = [s for s in pool if positions.get(s) and positions[s].kelurahan == venue.kelurahan_code]
        chosen = (near + [s for s in pool if s not in near])[:wanted]
        for s in chosen:
            claims[s] = venue
        if len(chosen) < wanted:
            warnings.append(
                f"{day}: venue {venue.venue_id!r} ({venue.name}) needs {wanted} stations, only {len(chosen)} free"
            )
    return claims, warnings


def apply_day(
    fld: Field, todays: Sequence[StationDay], venues: Mapping[str, Venue], model: TurnoutModel, day: date,
    noisy: bool = False, working: Callable[[StationDay], bool] | None = None,
) -> list[Visit]:
    """Record one day's assignments into the field (venues first) and say what each place recorded.

    ``working`` (default: all) says which of the assigned stations actually
    worked; the others record nothing (a station that broke down that day).
    """
    crews: dict[str, list[StationDay]] = {}
    for a in todays:
        if working is None or working(a):
            crews.setdefault(a.place, []).append(a)
    gaps = {}
    for place, crew in crews.items():
        if not crew[0].at_venue:
            gaps[place] = float(fld.gap(day, fld.index[crew[0].kelurahan]))
    visits: list[Visit] = []
    for place in sorted(crews, key=lambda p: (not crews[p][0].at_venue, p)):
        crew = crews[place]
        k = crew[0].kelurahan
        i = fld.index[k]
        hours = (crew[0].start, crew[0].end)
        if place.startswith(HOME_PREFIX):
            got = fld.record_home(i, len(crew) * model.home_per_station(hours))
        elif crew[0].at_venue:
            venue = venues[place]
            got = fld.record_venue(i, venue.recordable(len(crew), model))
            if venue.kind is VenueKind.COMMUNITY_MEETING:
                fld.announce(i, model.params.announce_share)
        else:
            reachable = float(fld.reachable[i])
            if noisy:
                want = model.actual(reachable, len(crew), gaps[place], hours, day, k)
            else:
                want = float(model.expected(reachable, len(crew), gaps[place], hours))
            got = fld.record_visit(i, want, day)
        visits.append(Visit(day, place, k, len(crew), got))
    return visits


def run(
    planner: str, parameters: dict[str, Any], allocate: Allocate, done: Done, s: Setting,
    history: Sequence[StationDay], now: datetime | None, previous: Sequence[StationDay] = (),
) -> Plan:
    """Drive ``allocate`` day by day under the model and assemble the Plan.

    ``previous`` is the plan being replaced: at equal choice, each station
    keeps the kelurahan it had there, so a re-plan changes as little as it can.
    """
    preferred: dict[date, dict[str, str]] = {}
    for a in previous:
        if a.date >= s.start and not a.at_venue:
            preferred.setdefault(a.date, {})[a.station_id] = a.kelurahan
    expect = s.model.deterministic
    fld = Field(s.state)
    positions = positions_from(history)
    assignments: list[StationDay] = []
    warnings: list[str] = []
    venues = s.constraints.venue_by_id
    last_venue = max((v.date for v in s.constraints.venues), default=None)
    last_day = s.start
    for day in working_days(s.start, s.constraints, s.horizon_days):
        if done(fld) and (last_venue is None or day > last_venue):
            break
        last_day = day
        free = [st for st in s.stations if s.constraints.is_available(st, day)]
        claims, short = claim_venues(day, s.constraints.venues_on(day), free, positions, expect)
        warnings.extend(short)
        todays = [StationDay(day, st, v.venue_id, v.kelurahan_code, *v.hours) for st, v in claims.items()]
        apply_day(fld, todays, venues, expect, day)
        ctx = Day(day, fld, [st for st in free if st not in claims], positions, s.hours, preferred.get(day, {}))
        allocate(ctx)
        extra = []
        for st, (place, kelurahan, reason) in sorted(ctx.placed.items()):
            hours = DEFAULT_VENUE_HOURS[VenueKind.HOME_VISIT] if place.startswith(HOME_PREFIX) else s.hours
            extra.append(StationDay(day, st, place, kelurahan, *hours, reason=reason))
        apply_day(fld, extra, venues, expect, day)
        assignments.extend(todays + extra)
        for a in todays + extra:
            pos = positions.get(a.station_id)
            if pos is not None and pos.place == a.place:
                pos.stay += 1
            else:
                positions[a.station_id] = Position(a.place, a.kelurahan, 1)
    finished = done(fld)
    residue = {c: round(float(n), 6) for c, n in zip(fld.codes, fld.left) if n > 1e-6}
    if not finished:
        warnings.append(
            f"horizon of {s.horizon_days} days from {s.start} reached with stations still needed "
            f"({sum(residue.values()):.0f} residents left in {len(residue)} kelurahan)"
        )
    later = [v for v in s.constraints.venues if v.date > last_day and v.date >= s.start]
    warnings.extend(f"venue {v.venue_id!r} on {v.date} not planned: beyond the horizon" for v in later)
    return Plan(
        assignments=tuple(assignments),
        planner=planner,
        # JSON-friendly, so the store can keep them and a re-plan can pass them back.
        parameters={**parameters, "hours": [f"{s.hours[0]:%H:%M}", f"{s.hours[1]:%H:%M}"],
                    "horizon_days": s.horizon_days, "min_people": s.min_people},
        targets=s.targets,
        station_ids=s.stations,
        start=s.start,
        constraints=s.constraints,
        model=s.model,
        finished=finished,
        expected_left=residue,
        warnings=tuple(warnings),
        created=now if now is not None else datetime.now(timezone.utc),
        homes=dict(s.homes),
        state=s.state,
        deadline=s.deadline,
    )

