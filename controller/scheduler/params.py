"""The turnout model's parameters: the one place they are kept, each with where it comes from.

Three are fitted to Solo's reported October 2013 figures by ``fit.py`` (run
``rekam controller schedule simulate`` to see each fact beside the model's
figure); the others are field facts or stated priors. Every one of them is
moved +/-50% in the sensitivity table, so no headline figure hides how much
it leans on a guess.

The model (see ``turnout.py``) in one paragraph: of the residents a kelurahan
still has to record when the campaign is announced, a share ``reach`` can be
reached by a station in the kelurahan; the rest (away, busy, unwilling) only
ever come to the kecamatan office or are served at home. On a visit day a
share ``daily_share`` of the reachable still unrecorded come, scaled by how
many of them are free in the station's hours, and no more than the stations
can record (``per_station_hour`` each). Turnout falls as the easy residents
are recorded (the reachable pool shrinks) and recovers with time between
visits: a day ``d`` days after the last visit gets ``1 - exp(-d / recovery_days)``
of the full share (a first, announced visit gets all of it). Turnout also
recovers with announcements: a community meeting in the kelurahan
(pengajian, RT/RW, PKK, Posyandu: a ``community_meeting`` venue, where the
campaign is announced and residents pre-register) brings ``announce_share``
of its hard-to-reach into reach of the station visits that follow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from controller.errors import ControllerError

#: Residents free to come, by hour of the day (0-23), relative to the late
#: afternoon and evening. Prior: most wajib KTP work or study in office hours
#: (the reason Solo moved to 15:00-21:00), so mornings reach about a third.
HOUR_PROFILE: tuple[float, ...] = (
    0, 0, 0, 0, 0, 0,                  # 00-06
    0.3, 0.35, 0.35, 0.35, 0.35, 0.35,  # 06-12
    0.5, 0.4, 0.4,                     # 12-15
    1.0, 1.0, 1.0, 1.0, 1.0, 1.0,      # 15-21
    0.4, 0, 0,                         # 21-24
)


class ParameterError(ControllerError, ValueError):
    """A turnout parameter outside its meaningful range; names the parameter."""


@dataclass(frozen=True)
class TurnoutParameters:
    #: Residents one station records per hour while people queue. Fitted: Pajang's
    #: best day, 180 with two stations in 15:00-21:00, is two stations at capacity.
    per_station_hour: float = 15.0
    #: Share of those unrecorded at the announcement a kelurahan station can ever
    #: reach. Fitted (with daily_share) to ~400 a day over five kelurahan and to
    #: 16 kelurahan served by 25 Oct.
    reach: float = 0.76
    #: Share of the reachable still unrecorded who come on a rested visit day. Fitted.
    daily_share: float = 0.29
    #: Days for turnout to recover between visits (1 - e^-1 of it after this long).
    #: Prior, not identified by the Solo facts: the day right after a visit gets
    #: 63% of a rested day's turnout, two days after 86%.
    recovery_days: float = 1.0
    #: Share of a kelurahan's hard-to-reach that a community meeting there (the campaign announced,
    #: residents pre-registered by their RT) brings into reach of its station visits. Prior, not identified
    #: by the Solo facts (no such meetings are reported); it acts only where such a venue is planned.
    announce_share: float = 0.25
    #: A kecamatan office records at most this many a day (field fact: ~25).
    office_per_day: float = 25.0
    #: A home visit takes this long per person (field fact: ~15 minutes).
    home_visit_minutes: float = 15.0

    def __post_init__(self) -> None:
        for name in ("per_station_hour", "recovery_days", "office_per_day", "home_visit_minutes"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ParameterError(f"turnout parameter {name} must be a number > 0, got {value!r}")
        for name in ("reach", "daily_share", "announce_share"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 < value <= 1.0):
                raise ParameterError(f"turnout parameter {name} must be in (0, 1], got {value!r}")

    def scaled(self, name: str, factor: float) -> TurnoutParameters:
        """These parameters with one of them multiplied by ``factor`` (shares capped at 1)."""
        value = getattr(self, name) * factor
        if name in ("reach", "daily_share", "announce_share"):
            value = min(1.0, value)
        return replace(self, **{name: value})

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


#: The parameters every planner uses unless told otherwise: the Solo 2013 fit.
FITTED = TurnoutParameters()

#: Which parameters were fitted, which are field facts, which are priors.
ORIGIN: dict[str, str] = {
    "per_station_hour": "fitted (Pajang 180 with 2 stations)",
    "reach": "fitted (~400/day over 5 kelurahan; 16 served by 25 Oct)",
    "daily_share": "fitted (~400/day over 5 kelurahan; 16 served by 25 Oct)",
    "recovery_days": "prior (not identified by the Solo facts)",
    "announce_share": "prior (not identified by the Solo facts)",
    "office_per_day": "field fact (kecamatan office, max ~25 a day)",
    "home_visit_minutes": "field fact (~15 minutes a person)",
}

#: The parameters the sensitivity table moves by +/-50%.
SENSITIVE: tuple[str, ...] = ("per_station_hour", "reach", "daily_share", "recovery_days", "announce_share")

#: The group-visit rule: a station-day expected to record fewer is not planned.
MIN_PER_STATION_DAY = 20
