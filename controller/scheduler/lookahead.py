"""Whether a kelurahan is better visited today, with fewer stations, or not today: one step of look-ahead.

The stop rule makes a kelurahan's last visits wait for rest: a visit must be
expected to record ``minimum`` or more, and turnout the day after a visit is
lower. Visiting whenever the rule allows can leave a pool just above the
point where the kelurahan is finished, which then needs days of rest for
each last small visit; on Jawa Tengah that cost the largest desa two working
days. Rules:

- For each kelurahan a station could visit today, three options: visit with
  stations enough for the whole turnout, visit with one station fewer (if
  that still records the minimum), or not today. Each is scored by how soon
  the kelurahan can then be finished (``chains.finish_days``, which is
  optimistic), then by how soon visiting whenever the rule allows would
  finish it (a plan that exists).
- The option that scores best is taken; at a tie, the one that records
  more today (so a kelurahan far from its end is visited in full).
- That finishing day is also the kelurahan's remaining critical path, which
  the planner serves longest first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .chains import Fatigue, finish_days, most

LOOK_DAYS = 40  # working days looked ahead at most; a kelurahan not finished by then counts as that many


def choose(pool: np.ndarray, last: np.ndarray, days: Sequence[int], share: float, cap: float, minimum: float,
           fatigue: Fatigue) -> tuple[np.ndarray, np.ndarray]:
    """(what to record today, working days to finish) for each kelurahan; 0 today means do not visit."""
    turnout = share * fatigue(days[0] - last) * pool
    full = most(turnout, cap, minimum)
    fewer = np.maximum(np.ceil(turnout / cap - 1e-9) - 1.0, 0.0) * cap
    fewer = np.where((fewer >= minimum) & (fewer < full), fewer, 0.0)
    floor = minimum / share
    best, best_finish, best_greedy = None, None, None
    for take in (full, fewer, np.zeros(len(pool))):
        left = pool - take
        after = np.where(take > 0, float(days[0]), last)
        finish = 1 + finish_days(left, after, days[1:], share, minimum, fatigue, LOOK_DAYS, cap)
        finish = np.where((take > 0) & (left < floor), 1, finish)
        greedy = 1 + greedy_days(left, after, days[1:], share, minimum, fatigue, cap)
        greedy = np.where((take > 0) & (left < floor), 1, greedy)
        if best is None:
            best, best_finish, best_greedy = take.copy(), finish, greedy
            continue
        better = (finish < best_finish) | ((finish == best_finish) & (greedy < best_greedy))
        best = np.where(better, take, best)
        best_finish = np.where(better, finish, best_finish)
        best_greedy = np.where(better, greedy, best_greedy)
    return best, best_finish.astype(float)


def greedy_days(pool: np.ndarray, last: np.ndarray, days: Sequence[int], share: float, minimum: float,
                fatigue: Fatigue, cap: float = np.inf) -> np.ndarray:
    """Working days until finished when every visit the rule allows is made in full (a plan that exists)."""
    pool = pool.astype(float, copy=True)
    last = np.asarray(last, dtype=float).copy()
    floor = minimum / share
    out = np.where(pool < floor, 0, LOOK_DAYS + 1)
    open_ = pool >= floor
    for t, day in enumerate(days[:LOOK_DAYS]):
        if not open_.any():
            break
        turnout = most(share * fatigue(day - last) * pool, cap, minimum)
        go = open_ & (turnout > 0)
        pool = np.where(go, pool - turnout, pool)
        last = np.where(go, float(day), last)
        closed = go & (pool < floor)
        out[closed] = t + 1
        open_ &= ~closed
    return out
