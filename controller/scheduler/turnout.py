"""The turnout model: how many residents a day of stations at a kelurahan records.

This module owns the formula every planner, the bound and the simulator trust
(the parameters and their origins are in ``params.py``). Rules:

- The residents a kelurahan still has to record split into the *reachable*
  (``reach`` of them when the campaign is announced), the *hard* (the rest:
  they go to the kecamatan office or wait for a home visit) and the
  *home-bound* (elderly, sick, disabled: home visits only).
- A visit day with ``s`` stations records
  ``min(s * capacity(hours), share(hours) * fatigue(gap) * reachable)``:
  stations bound the day from above, residents from below. ``share`` is the
  fitted daily share scaled by how many residents are free in those hours;
  ``fatigue`` is ``1 - exp(-gap / recovery_days)`` for a visit ``gap`` days
  after the last one there, 1 for a first visit. Turnout falls as the
  reachable pool is recorded and recovers with rest.
- Everything is in expected (fractional) residents, so the model is the same
  at any scale: a demo at 1:100 plans the same days as the real backlog.
- Deterministic by default. The optional noise (demos, robustness runs) is
  seeded per (seed, date, place), so a result does not depend on the order
  days are evaluated in; planners always plan on the noise-free model.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import date, time

import numpy as np

from .params import FITTED, HOUR_PROFILE, TurnoutParameters

#: Solo's safari ran afternoon to evening, after residents' working day.
DEFAULT_HOURS: tuple[time, time] = (time(15, 0), time(21, 0))


def hours_between(start: time, end: time) -> float:
    return (end.hour * 60 + end.minute - start.hour * 60 - start.minute) / 60


def availability(start: time, end: time) -> float:
    """Mean share of residents free to come in [start, end), relative to 15:00-21:00."""
    a, b = start.hour * 60 + start.minute, end.hour * 60 + end.minute
    if b <= a:
        return 0.0
    total = 0.0
    for minute_hour in range(a // 60, (b - 1) // 60 + 1):
        lo, hi = max(a, minute_hour * 60), min(b, minute_hour * 60 + 60)
        total += HOUR_PROFILE[minute_hour] * (hi - lo)
    return total / (b - a)


@dataclass(frozen=True)
class TurnoutModel:
    params: TurnoutParameters = FITTED
    noise: float = 0.0  # demo only: +/- this relative spread on share and capacity
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.noise < 1.0:
            raise ValueError(f"noise must be in [0, 1), got {self.noise!r}")

    @classmethod
    def with_capacity(cls, per_day: float, hours: tuple[time, time] = DEFAULT_HOURS, **kw) -> TurnoutModel:
        """The fitted model with a station recording ``per_day`` in a full day of ``hours``."""
        if not per_day > 0:
            raise ValueError(f"a station's capacity must be > 0 a day, got {per_day!r}")
        return cls(replace(FITTED, per_station_hour=per_day / hours_between(*hours)), **kw)

    @property
    def deterministic(self) -> TurnoutModel:
        """The same model without noise: what planners expect."""
        return TurnoutModel(self.params)

    # -- the pieces ------------------------------------------------------------------
    def capacity(self, hours: tuple[time, time] = DEFAULT_HOURS) -> float:
        """Residents one station records in a day of these hours."""
        return self.params.per_station_hour * hours_between(*hours)

    def share(self, hours: tuple[time, time] = DEFAULT_HOURS) -> float:
        """Share of the reachable who come on a rested visit day in these hours."""
        return self.params.daily_share * availability(*hours)

    def fatigue(self, gap: np.ndarray | float) -> np.ndarray | float:
        """Turnout after ``gap`` days' rest relative to a rested day (inf: first visit)."""
        return -np.expm1(-np.asarray(gap, dtype=float) / self.params.recovery_days)

    def home_per_station(self, hours: tuple[time, time] = DEFAULT_HOURS) -> float:
        """People one station serves in a day of home visits."""
        return hours_between(*hours) * 60.0 / self.params.home_visit_minutes

    # -- a day -------------------------------------------------------------------------
    def potential(self, reachable, gap, hours: tuple[time, time] = DEFAULT_HOURS):
        """Residents who would come today if there were stations enough."""
        return self.share(hours) * self.fatigue(gap) * np.asarray(reachable, dtype=float)

    def expected(self, reachable, stations, gap=math.inf, hours: tuple[time, time] = DEFAULT_HOURS):
        """Residents ``stations`` record in a day at a kelurahan with ``reachable`` left."""
        cap = np.asarray(stations, dtype=float) * self.capacity(hours)
        return np.minimum(cap, self.potential(reachable, gap, hours))

    def actual(self, reachable: float, stations: int, gap: float, hours: tuple[time, time],
               day: date, place: str) -> float:
        """Like ``expected``, with the seeded noise applied (equal to it when noise is 0)."""
        if self.noise == 0.0 or reachable <= 0 or stations <= 0:
            return float(self.expected(reachable, stations, gap, hours))
        rng = random.Random(f"{self.seed}|{day.isoformat()}|{place}")
        share = min(1.0, self.share(hours) * (1.0 + rng.uniform(-self.noise, self.noise)))
        cap = stations * self.capacity(hours) * (1.0 + rng.uniform(-self.noise, self.noise))
        return float(min(reachable, cap, share * float(self.fatigue(gap)) * reachable))

    def visit_curve(self, reachable: float, hours: tuple[time, time] = DEFAULT_HOURS,
                    floor: float = 0.5) -> list[tuple[int, float]]:
        """(station-days, most recorded) after 0, 1, 2, ... rested single-station visits.

        One station per visit, each fully rested, records the most any sequence
        of that many station-days can (a visit records at most
        ``min(capacity, share * reachable)`` and what it leaves only shrinks),
        so the curve bounds every plan from above; the bound uses it. Stops once
        a visit would record less than ``floor``.
        """
        cap, share = self.capacity(hours), self.share(hours)
        points, left, n, got = [(0, 0.0)], float(reachable), 0, 0.0
        while True:
            a = min(cap, share * left)
            if a < floor or n > 10_000:
                return points
            left, n, got = left - a, n + 1, got + a
            points.append((n, got))
