"""The turnout model: how many residents a day of stations at a kelurahan records.

This module owns the one formula both planners and the simulator trust. Rules:

- A day at a kelurahan records ``min(stations * capacity, ceil(fraction * left))``
  where ``left`` is the residents of that kelurahan still unrecorded. Stations
  bound the day from above; word of mouth from below: each day only a fraction
  of those still missing comes, and the ones left are ever harder to reach.
  ``ceil`` keeps the integer model honest: a day with someone left records at
  least one, so every target is reachable.
- Defaults come from the Solo 2013 field facts. ``capacity = 100``: one set does
  roughly 50-150 a day. ``fraction = 0.15``: with ~32,000 left over 54
  kelurahan (~595 each), a three-day block of a typical kelurahan records
  595 * (1 - 0.85**3) / 3 ~= 80 a day, so five kelurahan together make ~400 a
  day as Solo reported; and a kelurahan with >= 1,200 left (Solo's large ones)
  fills ceil(0.15 * 1,200) = 180 of its two stations' 200 on the first day, the
  180 Solo reached. A larger fraction overshoots the 400; a smaller one never
  reaches 180 with Solo's backlog.
- Deterministic by default, so plans and simulations are reproducible. The
  optional noise (for demos) is seeded per (seed, date, place), so a result
  does not depend on the order days are evaluated in. Planners always plan on
  ``expected``; only the simulator's "actual" side uses ``actual``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import lru_cache

DEFAULT_CAPACITY = 100
DEFAULT_FRACTION = 0.15


@dataclass(frozen=True)
class TurnoutModel:
    capacity: int = DEFAULT_CAPACITY  # residents one station records in a day
    fraction: float = DEFAULT_FRACTION  # share of those still unrecorded who come on a day
    noise: float = 0.0  # demo only: +/- this relative spread on fraction and capacity
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.capacity, int) or self.capacity < 1:
            raise ValueError(f"capacity must be a positive whole number, got {self.capacity!r}")
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction!r}")
        if not 0.0 <= self.noise < 1.0:
            raise ValueError(f"noise must be in [0, 1), got {self.noise!r}")

    @property
    def deterministic(self) -> TurnoutModel:
        """The same model without noise: what planners expect."""
        return TurnoutModel(self.capacity, self.fraction)

    @property
    def max_station_day(self) -> float:
        """The most one station can ever record in a day, noise included (for lower bounds)."""
        return self.capacity * (1.0 + self.noise)

    def expected(self, left: int, stations: int) -> int:
        """Residents recorded by ``stations`` in one day at a kelurahan with ``left`` unrecorded."""
        return _day(left, stations, self.capacity, self.fraction)

    def actual(self, left: int, stations: int, day: date, place: str) -> int:
        """Like ``expected``, with the seeded noise applied (equal to it when noise is 0)."""
        if self.noise == 0.0 or left <= 0 or stations <= 0:
            return self.expected(left, stations)
        rng = random.Random(f"{self.seed}|{day.isoformat()}|{place}")
        fraction = min(1.0, self.fraction * (1.0 + rng.uniform(-self.noise, self.noise)))
        capacity = stations * self.capacity * (1.0 + rng.uniform(-self.noise, self.noise))
        return min(left, math.floor(capacity), max(1, _ceil_share(fraction, left)))

    def marginal(self, left: int, stations: int) -> int:
        """What one more station adds to a day that already has ``stations`` there."""
        return self.expected(left, stations + 1) - self.expected(left, stations)

    def useful_stations(self, left: int) -> int:
        """The most stations that still add anything to a day at this kelurahan."""
        return math.ceil(self.expected(left, 10**9) / self.capacity) if left > 0 else 0

    def visits(self, left: int, stations: int) -> int:
        """Days needed with ``stations`` at the kelurahan every day."""
        return _visits(left, stations, self.capacity, self.fraction)

    def single_station_visits(self, left: int) -> int:
        """Days of one station needed to record everyone left.

        One station a day is the most station-day-efficient way to clear a
        kelurahan (each station-day records the most it can, and leaves the most
        for the next), so this is also the fewest station-days that can do it.
        """
        return _visits(left, 1, self.capacity, self.fraction)

    def fewest_visits(self, left: int) -> int:
        """Days needed with as many stations as help: no plan finishes a kelurahan sooner."""
        return _visits(left, 10**9, self.capacity, self.fraction)


def _day(left: int, stations: int, capacity: int, fraction: float) -> int:
    if left <= 0 or stations <= 0:
        return 0
    return min(left, stations * capacity, _ceil_share(fraction, left))


@lru_cache(maxsize=64)
def _ratio(fraction: float) -> tuple[int, int]:
    share = Fraction(fraction).limit_denominator(10**6)
    return share.numerator, share.denominator


def _ceil_share(fraction: float, left: int) -> int:
    """ceil(fraction * left) in exact integers: 0.15 * 100 is 15, not 15.000000000000002 -> 16."""
    num, den = _ratio(fraction)
    return -(-num * left // den)


@lru_cache(maxsize=65536)
def _visits(left: int, stations: int, capacity: int, fraction: float) -> int:
    days = 0
    while left > 0:
        left -= _day(left, stations, capacity, fraction)
        days += 1
    return days
