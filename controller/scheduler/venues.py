"""Outreach venues ("jemput bola"): schools, markets, hospitals, meetings, homes.

This module owns what a venue is and what it asks of the fleet. Rules:

- A group venue (every kind but ``home_visit``) needs at least
  ``MIN_GROUP_PEOPLE`` (20) expected people; fewer is refused at construction,
  with the venue named, because a station sent for a handful is a station-day
  lost to a kelurahan.
- A home visit takes ``HOME_VISIT_MINUTES`` (~15) per person, so one station
  covers (station hours) / 15 minutes people; a group venue covers up to a
  station's daily capacity per station.
- A venue claims its stations on its date before any planner places the rest,
  and the people recorded there count toward its kelurahan's backlog.
- Venue ids must not look like kelurahan codes: ``StationDay.place`` holds
  either, and the two must never be confused.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import date

from protocol.regions import RegionError, normalize

MIN_GROUP_PEOPLE = 20
HOME_VISIT_MINUTES = 15


class VenueError(ValueError):
    """A venue that cannot be planned as given; the message names the venue."""


class VenueKind(str, enum.Enum):
    SCHOOL = "school"
    MARKET = "market"
    HOSPITAL = "hospital"
    HOME_VISIT = "home_visit"
    COMMUNITY_MEETING = "community_meeting"  # pengajian, RT/RW, PKK, Posyandu

    @property
    def is_group(self) -> bool:
        return self is not VenueKind.HOME_VISIT


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

    def __post_init__(self) -> None:
        label = f"venue {self.venue_id!r} ({self.name})"
        if not self.venue_id or is_kelurahan_code(self.venue_id):
            raise VenueError(f"{label}: the id must be non-empty and must not look like a kelurahan code")
        try:
            object.__setattr__(self, "kind", VenueKind(self.kind))
        except ValueError:
            kinds = ", ".join(k.value for k in VenueKind)
            raise VenueError(f"{label}: kind {self.kind!r} is not one of {kinds}") from None
        try:
            object.__setattr__(self, "kelurahan_code", normalize(self.kelurahan_code))
        except RegionError as exc:
            raise VenueError(f"{label}: {exc}") from None
        if not is_kelurahan_code(self.kelurahan_code):
            raise VenueError(f"{label}: {self.kelurahan_code} is not a kelurahan code (10 digits)")
        if not isinstance(self.expected_people, int) or self.expected_people < 1:
            raise VenueError(f"{label}: expected_people must be a positive whole number, got {self.expected_people!r}")
        if self.kind.is_group and self.expected_people < MIN_GROUP_PEOPLE:
            raise VenueError(
                f"{label}: a {self.kind.value} visit needs at least {MIN_GROUP_PEOPLE} expected people, "
                f"got {self.expected_people}; plan a home visit or join a larger event"
            )
        if self.stations is not None and (not isinstance(self.stations, int) or self.stations < 1):
            raise VenueError(f"{label}: stations must be a positive whole number or None, got {self.stations!r}")

    def per_station(self, capacity: int, hours: float) -> int:
        """People one station can record here in a day of ``hours``."""
        if self.kind is VenueKind.HOME_VISIT:
            return max(1, min(capacity, int(hours * 60 // HOME_VISIT_MINUTES)))
        return capacity

    def stations_needed(self, capacity: int, hours: float) -> int:
        """How many stations the venue claims on its date."""
        if self.stations is not None:
            return self.stations
        return math.ceil(self.expected_people / self.per_station(capacity, hours))

    def recordable(self, stations: int, capacity: int, hours: float) -> int:
        """People the venue records with ``stations`` (before the kelurahan's backlog caps it)."""
        return min(self.expected_people, stations * self.per_station(capacity, hours))
