"""The day loop both planners share: calendar, venues, station placement, the Plan.

This module owns everything a planner does that is not its choice of where
stations go. Rules:

- Days run from the start for ``horizon_days`` calendar days; days off are
  skipped; the loop stops the day after every kelurahan reaches its target
  under the model, or at the horizon (then the plan says ``finished=False`` and
  carries a warning naming what is left).
- Each working day: stations not available are left out; venues on that day
  claim their stations first (stations already in the venue's kelurahan, then
  by id); the planner decides how many stations each kelurahan gets; this
  module then decides which station goes where, keeping stations where they
  already are and moving the rest within their kecamatan when it can, so
  moves stay few and short.
- A planner's state can be picked up from assignments made before its start
  (``history``): that is how a re-plan continues a rotation block or honours a
  station's minimum stay. Planners are deterministic: same input, same plan.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from .model import (
    Constraints,
    KelurahanTarget,
    Plan,
    PlanningError,
    StationDay,
    Visit,
    _hours,
    parse_hours,
)
from .turnout import TurnoutModel
from .venues import Venue

DEFAULT_HORIZON_DAYS = 1096  # three years: the cap after which a plan reports itself unfinished


@dataclass
class Position:
    """Where a station was last assigned and for how many assignments in a row."""

    place: str
    stay: int


#: A planner's daily choice: (day, residents left per kelurahan, free stations,
#: positions) -> stations per kelurahan, plus the stations that must not move.
Allocate = Callable[[date, dict[str, int], list[str], dict[str, Position]], tuple[dict[str, int], set[str]]]


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
            positions[a.station_id] = Position(a.place, 1)
    return positions


def claim_venues(
    day: date,
    venues: Sequence[Venue],
    free: list[str],
    positions: Mapping[str, Position],
    model: TurnoutModel,
    hours: float,
) -> tuple[dict[str, Venue], list[str]]:
    """Stations each venue of the day takes, and warnings for venues left short."""
    claims: dict[str, Venue] = {}
    warnings: list[str] = []
    for venue in venues:
        wanted = venue.stations_needed(model.capacity, hours)
        pool = [s for s in free if s not in claims]
        near = [s for s in pool if positions.get(s) and positions[s].place in (venue.venue_id, venue.kelurahan_code)]
        chosen = (near + [s for s in pool if s not in near])[:wanted]
        for s in chosen:
            claims[s] = venue
        if len(chosen) < wanted:
            warnings.append(
                f"{day}: venue {venue.venue_id!r} ({venue.name}) needs {wanted} stations, only {len(chosen)} free"
            )
    return claims, warnings


def place_stations(
    counts: Mapping[str, int],
    free: Sequence[str],
    positions: Mapping[str, Position],
    kecamatan_of: Mapping[str, str],
    keep_first: Collection[str] = frozenset(),
) -> dict[str, str]:
    """Which free station fills which kelurahan slot: stay if you can, else move near."""
    slots = {k: n for k, n in counts.items() if n > 0}
    placed: dict[str, str] = {}
    ordered = sorted(free, key=lambda s: (s not in keep_first, s))
    for s in ordered:
        pos = positions.get(s)
        if pos is not None and slots.get(pos.place, 0) > 0:
            placed[s] = pos.place
            slots[pos.place] -= 1
    for s in ordered:
        if s in placed:
            continue
        open_slots = [k for k in sorted(slots) if slots[k] > 0]
        if not open_slots:
            break
        pos = positions.get(s)
        home = kecamatan_of.get(pos.place) if pos else None
        near = [k for k in open_slots if kecamatan_of[k] == home]
        k = (near or open_slots)[0]
        placed[s] = k
        slots[k] -= 1
    return placed


def apply_day(
    left: dict[str, int],
    todays: Sequence[StationDay],
    venues: Mapping[str, Venue],
    model: TurnoutModel,
    day: date,
    noisy: bool = False,
) -> list[Visit]:
    """Record one day's assignments into ``left`` (venues first) and say what each place recorded.

    Venues record their expected people up to their crew's capacity; a
    kelurahan records what the turnout model gives for its crew. Both are
    capped by the residents of that kelurahan still left.
    """
    crews: dict[str, list[StationDay]] = {}
    for a in todays:
        crews.setdefault(a.place, []).append(a)
    visits: list[Visit] = []
    for place in sorted(crews, key=lambda p: (not crews[p][0].at_venue, p)):
        crew = crews[place]
        k = crew[0].kelurahan
        if crew[0].at_venue:
            venue = venues[place]
            got = min(left[k], venue.recordable(len(crew), model.capacity, crew[0].hours))
        elif noisy:
            got = model.actual(left[k], len(crew), day, k)
        else:
            got = model.expected(left[k], len(crew))
        left[k] -= got
        visits.append(Visit(day, place, k, len(crew), got))
    return visits


def run(
    planner: str,
    parameters: dict[str, Any],
    allocate: Allocate,
    targets: Sequence[KelurahanTarget],
    stations: Sequence[str],
    start: date,
    constraints: Constraints,
    model: TurnoutModel,
    hours: tuple[time | str, time | str],
    horizon_days: int,
    history: Sequence[StationDay],
    now: datetime | None,
) -> Plan:
    """Drive ``allocate`` day by day under the model and assemble the Plan."""
    check_input(targets, stations, constraints)
    if horizon_days < 1:
        raise PlanningError(f"horizon_days must be at least 1, got {horizon_days}")
    expect = model.deterministic
    hours = parse_hours(hours)
    length = _hours(*hours)
    kecamatan_of = {t.code: t.kecamatan_code for t in targets}
    left = {t.code: t.remaining for t in sorted(targets, key=lambda t: t.code)}
    positions = positions_from(history)
    assignments: list[StationDay] = []
    warnings: list[str] = []
    last_day = start
    for day in working_days(start, constraints, horizon_days):
        if not any(left.values()):
            break
        last_day = day
        free = [s for s in stations if constraints.is_available(s, day)]
        claims, short = claim_venues(day, constraints.venues_on(day), free, positions, expect, length)
        warnings.extend(short)
        todays = [StationDay(day, s, v.venue_id, v.kelurahan_code, *hours) for s, v in claims.items()]
        free = [s for s in free if s not in claims]
        apply_day(left, todays, constraints.venue_by_id, expect, day)
        counts, keep = allocate(day, left, free, positions)
        placed = place_stations(counts, free, positions, kecamatan_of, keep)
        extra = [StationDay(day, s, k, k, *hours) for s, k in placed.items()]
        apply_day(left, extra, constraints.venue_by_id, expect, day)
        assignments.extend(todays + extra)
        for s, place in [(s, v.venue_id) for s, v in claims.items()] + list(placed.items()):
            pos = positions.get(s)
            if pos is not None and pos.place == place:
                pos.stay += 1
            else:
                positions[s] = Position(place, 1)
    finished = not any(left.values())
    if not finished:
        short_of = {k: n for k, n in left.items() if n}
        warnings.append(
            f"horizon of {horizon_days} days from {start} reached with {sum(short_of.values())} residents "
            f"left in {len(short_of)} kelurahan"
        )
    later = [v for v in constraints.venues if v.date > last_day and v.date >= start]
    if finished and later:
        warnings.extend(
            f"venue {v.venue_id!r} on {v.date} not planned: every target is reached before it" for v in later
        )
    return Plan(
        assignments=tuple(assignments),
        planner=planner,
        # JSON-friendly, so the store can keep them and a re-plan can pass them back.
        parameters={**parameters, "hours": [f"{hours[0]:%H:%M}", f"{hours[1]:%H:%M}"], "horizon_days": horizon_days},
        targets=tuple(sorted(targets, key=lambda t: t.code)),
        station_ids=tuple(stations),
        start=start,
        constraints=constraints,
        model=model,
        finished=finished,
        expected_left={} if finished else {k: n for k, n in left.items() if n},
        warnings=tuple(warnings),
        created=now if now is not None else datetime.now(timezone.utc),
    )
