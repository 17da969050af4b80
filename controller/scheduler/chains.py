"""How soon one kelurahan alone can be finished under the stop rule: its chain of visits.

The stop rule (a visit must be expected to record ``minimum`` or more) makes
a kelurahan's last visits wait for rest, since turnout the day after a visit
is lower (``TurnoutModel.fatigue``). A kelurahan is *finished* once even a
rested visit would record fewer than ``minimum``. Rules:

- Stations are unlimited: the chain is what the calendar, rest and the
  rule allow, the critical path of that kelurahan in any plan.
- A visit records at most its whole turnout, less when the last station
  would get fewer than ``minimum`` (that station-day is not planned:
  ``most``), and, when the turnout is more than one station records,
  anything down to one station's capacity (a plan can send fewer stations
  than the turnout needs; a station records everyone who comes up to its
  capacity, never a chosen few). So the pools a kelurahan
  can have after its last visit on a given day form a set, kept as the
  interval around it; a visit is possible from the interval if its largest
  pool clears the rule, and the new interval runs from the least any pool
  in it can be left with to the most.
- Keeping intervals (not every pool reachable exactly) only ever makes the
  chain shorter, so it is a lower bound on every plan (``bound``), and a
  measure of what is left that is not thrown about by rounding (``lookahead``).

Vectorised over kelurahan: per working day, one numpy step per earlier visit day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: ``TurnoutModel.fatigue``: turnout ``gap`` days after a visit, relative to a rested day
Fatigue = Callable[[np.ndarray | float], np.ndarray | float]


def most(turnout: np.ndarray, cap: float, minimum: float) -> np.ndarray:
    """The most a visit can record: every full station, and the last one only if it gets ``minimum`` or more."""
    turnout = np.asarray(turnout, dtype=float)
    if not np.isfinite(cap):
        return np.where(turnout >= minimum, turnout, 0.0)
    full = np.floor(turnout / cap) * cap
    return np.where(turnout - full >= minimum, turnout, full)


def finish_days(pool: np.ndarray, last: np.ndarray, days: Sequence[int], share: float, minimum: float,
                fatigue: Fatigue, limit: int, cap: float = np.inf) -> np.ndarray:
    """Working days (1 = ``days[0]``) until each kelurahan can be finished; 0 if it is; ``limit + 1`` if not within.

    ``pool`` is the reachable still unrecorded, ``last`` the date ordinal of
    the last visit (a very old one for never), ``days`` the ordinals of the
    working days from the first one a visit may fall on, ``fatigue`` the
    model's turnout after a gap of so many days (``TurnoutModel.fatigue``),
    ``cap`` one station's capacity a day (infinite: every visit records its
    whole turnout).
    """
    pool = np.asarray(pool, dtype=float)
    floor = minimum / share
    out = np.where(pool < floor, 0, limit + 1)
    undecided = out > limit
    # (date ordinal of the last visit, smallest pool, largest pool) of every state kept
    states: list[tuple[np.ndarray | float, np.ndarray, np.ndarray]] = [(np.asarray(last, dtype=float), pool, pool)]
    for t, day in enumerate(days[:limit]):
        if not undecided.any():
            break
        lo = np.full(len(pool), np.inf)
        hi = np.full(len(pool), -np.inf)
        for visited, a, b in states:
            x = share * fatigue(day - visited)
            ok = b * x >= minimum
            with np.errstate(divide="ignore", invalid="ignore"):
                start = np.maximum(a, minimum / x)
                low = start - most(x * start, cap, minimum)
                if np.isfinite(cap):
                    # further up the interval, where the last station's share reaches the minimum again
                    edge = (np.floor(x * start / cap) * cap + minimum) / x
                    low = np.where((edge > start) & (edge <= b), np.minimum(low, edge * (1.0 - x)), low)
            lo = np.where(ok, np.minimum(lo, low), lo)
            hi = np.where(ok, np.maximum(hi, np.where(b * x > cap, b - cap, b * (1.0 - x))), hi)
        states.append((float(day), lo, hi))
        done = undecided & (lo < floor)
        out[done] = t + 1
        undecided &= ~done
    return out
