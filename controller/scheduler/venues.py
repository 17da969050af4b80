"""Outreach venues ("jemput bola"): schools, markets, hospitals, meetings, homes.

This module owns what a venue is and what it asks of the fleet. Rules:

- A group venue (every kind but ``home_visit``) needs at least
  ``MIN_GROUP_PEOPLE`` (20) expected people; fewer is refused at construction,
  with the venue named, because a station sent for a handful is a station-day
  lost to a kelurahan.
- A venue has its own hours: a school visit is in school hours, a market in
  the morning, a pengajian or RT meeting in the evening (``DEFAULT_VENUE_HOURS``,
  or the hours given). A home visit takes the model's ``home_visit_minutes``
  (~15) per person, so one station covers (hours) / 15 minutes people; a
  group venue covers what a station records in its hours.
- A venue claims its stations on its date before any planner places the rest,
  and the people recorded there count toward its kelurahan's backlog.
- Venue ids must not look like kelurahan codes: ``StationDay.place`` holds
  either, and the two must never be confused.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import date, time
from typing import TYPE_CHECKING

from controller.errors import ControllerError
from protocol.regions import RegionError, normalize

from .params import MIN_PER_STATION_DAY
from .turnout import hours_between

if TYPE_CHECKING:
    from .turnout import TurnoutModel

MIN_GROUP_PEOPLE = MIN_PER_STATION_DAY


class VenueError(ControllerError, ValueError):
    """A venue that cannot be planned as given; the message names the venue."""

    reason_id = "venue_error"


class VenueKind(str, enum.Enum):
    SCHOOL = "school"
    MARKET = "market"
    HOSPITAL = "hospital"
    HOME_VISIT = "home_visit"
    COMMUNITY_MEETING = "community_meeting"  # pengajian, RT/RW, PKK, Posyandu

    @property
    def is_group(self) -> bool:
        return self is not VenueKind.HOME_VISIT


#: When each kind of venue has its people (a school visit is not 15:00-21:00).
DEFAULT_VENUE_HOURS: dict[VenueKind, tuple[time, time]] = {
    VenueKind.SCHOOL: (time(7, 30), time(13, 30)),
    VenueKind.MARKET: (time(6, 0), time(11, 0)),
    VenueKind.HOSPITAL: (time(8, 0), time(14, 0)),
    VenueKind.HOME_VISIT: (time(9, 0), time(15, 0)),
    VenueKind.COMMUNITY_MEETING: (time(16, 0), time(21, 0)),
}


def is_kelurahan_code(place: str) -> bool:
    """True for a 10-digit kelurahan code, bare or dotted (and so not a venue id)."""
    digits = place.replace(".", "")
    return digits.isdigit() and len(digits) == 10


@dataclass(frozen=True)
class Venue:
    venue_id: str
    kind: VenueKind
    name: str
    address: str
    kelurahan_code: str
    date: date
    expected_people: int
    #: Stations the organiser asks for; None lets ``stations_needed`` decide.
    stations: int | None = None
    #: The venue's hours; None for the kind's usual hours.
    start: time | None = None
    end: time | None = None

    def __post_init__(self) -> None:
        label = f"{self.venue_id!r} ({self.name})"
        if not self.venue_id or is_kelurahan_code(self.venue_id):
            raise VenueError("venue {label}: the id must be non-empty and must not look like a kelurahan code",
                             label=label)
        try:
            object.__setattr__(self, "kind", VenueKind(self.kind))
        except ValueError:
            kinds = ", ".join(k.value for k in VenueKind)
            raise VenueError("venue {label}: kind {kind!r} is not one of {kinds}", label=label, kind=self.kind,
                             kinds=kinds) from None
        try:
            object.__setattr__(self, "kelurahan_code", normalize(self.kelurahan_code))
        except RegionError as exc:
            raise VenueError("venue {label}: {problem}", label=label, problem=str(exc)) from None
        if not is_kelurahan_code(self.kelurahan_code):
            raise VenueError("venue {label}: {code} is not a kelurahan code (10 digits)", label=label,
                             code=self.kelurahan_code)
        if not isinstance(self.expected_people, int) or self.expected_people < 1:
            raise VenueError("venue {label}: expected_people must be a positive whole number, got {people!r}",
                             label=label, people=self.expected_people)
        if self.kind.is_group and self.expected_people < MIN_GROUP_PEOPLE:
            raise VenueError(
                "venue {label}: a {kind} visit needs at least {least} expected people, got {people}; "
                "plan a home visit or join a larger event",
                label=label, kind=self.kind.value, least=MIN_GROUP_PEOPLE, people=self.expected_people)
        if self.stations is not None and (not isinstance(self.stations, int) or self.stations < 1):
            raise VenueError("venue {label}: stations must be a positive whole number or None, got {stations!r}",
                             label=label, stations=self.stations)
        if (self.start is None) != (self.end is None):
            raise VenueError("venue {label}: give both start and end hours, or neither", label=label)
        if self.start is not None and hours_between(self.start, self.end) <= 0:
            raise VenueError("venue {label}: hours {start}-{end} do not make a working day", label=label,
                             start=f"{self.start:%H:%M}", end=f"{self.end:%H:%M}")

    @property
    def hours(self) -> tuple[time, time]:
        if self.start is not None and self.end is not None:
            return self.start, self.end
        return DEFAULT_VENUE_HOURS[self.kind]

    def per_station(self, model: TurnoutModel) -> float:
        """People one station can record here in the venue's hours."""
        if self.kind is VenueKind.HOME_VISIT:
            return model.home_per_station(self.hours)
        return model.capacity(self.hours)

    def stations_needed(self, model: TurnoutModel) -> int:
        """How many stations the venue claims on its date."""
        if self.stations is not None:
            return self.stations
        return max(1, math.ceil(self.expected_people / self.per_station(model) - 1e-9))

    def recordable(self, stations: int, model: TurnoutModel) -> float:
        """People the venue records with ``stations`` (before the kelurahan's backlog caps it)."""
        return min(float(self.expected_people), stations * self.per_station(model))
