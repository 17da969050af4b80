"""The bound: exact where the relaxation is exact, never above a real plan, per area, with rest and the stop rule."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import combinations

import numpy as np
import pytest

from controller.scheduler import Calendar, Constraints, KelurahanTarget, TurnoutModel, plan_backlog, simulate
from controller.scheduler.bound import BoundError, Horizon, lp_days, lp_feasible, plan_bound, station_recorded
from controller.scheduler.chains import finish_days
from controller.scheduler.dayloop import working_days
from controller.scheduler.lookahead import greedy_days
from controller.scheduler.state import NEVER
from controller.scheduler.turnout import DEFAULT_HOURS
from protocol.regions import kelurahan_of_city

MODEL = TurnoutModel()
START = date(2024, 7, 1)  # a Monday
Q, CAP = MODEL.share(), MODEL.capacity()


def days(n: int, start: date = START) -> tuple[date, ...]:
    return tuple(start + timedelta(days=i) for i in range(n))


def test_one_kelurahan_one_station_needs_as_many_days_as_capped_visits():
    curve = MODEL.visit_curve(1000.0)
    n, got = curve[6]  # six visits of 90: turnout stays above a station's capacity even the day after a visit
    assert got == pytest.approx(6 * CAP)
    assert lp_days(np.array([1000.0]), MODEL, DEFAULT_HOURS, Horizon(days(40), (1,) * 40), got) == n
    assert not lp_feasible(np.array([1000.0]), MODEL, DEFAULT_HOURS, days(n - 1), [1] * (n - 1), got)


def test_fractions_of_a_station_cost_their_share():
    """Without the station-day curve, 20 kelurahan of 100 would share one station's day for free."""
    reach = np.full(20, 100.0)
    assert lp_feasible(reach, MODEL, DEFAULT_HOURS, days(1), [1], Q * 100)
    assert not lp_feasible(reach, MODEL, DEFAULT_HOURS, days(1), [1], Q * 100 * 1.01)


def test_the_day_after_a_visit_records_less_than_a_rested_day():
    """Two days in a row at one kelurahan record at most q + f(1) q (1 - q) of it, not q + q (1 - q)."""
    pool = np.array([1000.0])
    f1 = float(MODEL.fatigue(1))
    tired = 1000 * (Q + f1 * Q * (1 - Q))
    rested = 1000 * (Q + Q * (1 - Q))
    assert lp_feasible(pool, MODEL, DEFAULT_HOURS, days(2), [50, 50], tired * 0.999)
    assert not lp_feasible(pool, MODEL, DEFAULT_HOURS, days(2), [50, 50], (tired + rested) / 2)
    # with a Sunday between, the second day is nearly rested
    weekend = (date(2024, 7, 6), date(2024, 7, 8))
    assert lp_feasible(pool, MODEL, DEFAULT_HOURS, weekend, [50, 50], (tired + rested) / 2)


def exhaustive_days(pool: float, calendar: tuple[date, ...], minimum: float = 20.0) -> int | None:
    """The fewest working days to finish one kelurahan, over every visit pattern with whole turnouts."""
    floor = minimum / Q
    best = None
    for n in range(1, 8):
        for pattern in combinations(range(len(calendar)), n):
            left, last, ok = pool, None, True
            for i in pattern:
                f = 1.0 if last is None else float(MODEL.fatigue((calendar[i] - calendar[last]).days))
                turnout = Q * f * left
                if turnout < minimum:
                    ok = False
                    break
                left, last = left - turnout, i
            if ok and left < floor and (best is None or pattern[-1] + 1 < best):
                best = pattern[-1] + 1
    return best


@pytest.mark.parametrize("pool", [80.0, 97.2, 150.0, 300.0])
def test_a_kelurahans_chain_is_never_longer_than_any_pattern_of_visits(pool):
    calendar = days(12)
    exact = exhaustive_days(pool, calendar)
    got = finish_days(np.array([pool]), np.array([NEVER]), [d.toordinal() for d in calendar], Q, 20.0,
                      MODEL.fatigue, len(calendar), cap=CAP)
    assert exact is not None and 1 <= got[0] <= exact


def test_the_stop_rule_makes_the_last_visits_wait_for_rest():
    """97.2 reachable: a rested visit leaves 69.0, just over the 68.97 at which it is finished; then 20 more
    need a turnout share of 0.29, which only a week's rest gives."""
    calendar = days(12)
    got = finish_days(np.array([97.2]), np.array([NEVER]), [d.toordinal() for d in calendar], Q, 20.0,
                      MODEL.fatigue, len(calendar), cap=CAP)
    assert got[0] > 2 and got[0] == exhaustive_days(97.2, calendar)
    assert lp_days(np.array([97.2]), MODEL, DEFAULT_HOURS, Horizon(calendar, (5,) * 12), 20.0, minimum=20.0) == got[0]
    assert lp_days(np.array([97.2]), MODEL, DEFAULT_HOURS, Horizon(calendar, (5,) * 12), 20.0) == 1


def test_out_of_reach_is_none():
    assert lp_days(np.array([100.0]), MODEL, DEFAULT_HOURS, Horizon(days(3), (5,) * 3), 10_000) is None
    assert lp_days(np.array([100.0]), MODEL, DEFAULT_HOURS, Horizon(days(3), (5,) * 3), 0) == 0


def test_the_bound_per_home_area_uses_the_areas_own_kelurahan_and_stations():
    places = kelurahan_of_city("33.72")
    targets = [KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, 9000, 8000) for p in places[:4]]
    targets += [KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, 9000, 8500) for p in places[-4:]]
    homes = {"a": places[0].kecamatan_code, "b": places[0].kecamatan_code, "c": places[-1].kecamatan_code}
    plan = plan_backlog(targets, ["a", "b", "c"], START, homes=homes)
    result = simulate(plan)
    recorded = station_recorded(result.visits)
    whole = plan_bound(plan, recorded, max_days=result.days + 3)
    west = plan_bound(plan, recorded, area=places[0].kecamatan_code, max_days=result.days + 3)
    assert west.stations == 2 and west.target < whole.target
    assert whole.days <= result.days
    with pytest.raises(BoundError, match="no station has home area"):
        plan_bound(plan, recorded, area="33.72.03", max_days=5)


def test_a_plan_of_one_large_kelurahan_finishes_near_its_chain_where_greedy_visits_do_not():
    """Plenty of stations and one kelurahan: the plan can only be as fast as its chain. Visiting whenever the
    rule allows leaves the pool just over its end for days; the look-ahead rests it instead."""
    cal = Calendar()
    start = date(2026, 1, 5)
    c = Constraints(days_off=cal.days_off(start, 120), weekdays_off=cal.weekdays_off)
    place = kelurahan_of_city("33.72")[0]
    targets = [KelurahanTarget(place.code, place.name, place.kecamatan_code, place.kecamatan, 5000, 5000 - 974)]
    plan = plan_backlog(targets, [f"s{i}" for i in range(10)], start, c)
    result = simulate(plan)
    bound = plan_bound(plan, station_recorded(result.visits), max_days=result.days + 5)
    ordinals = [d.toordinal() for d in working_days(start, c, 60)]
    greedy = greedy_days(np.array([740.24]), np.array([NEVER]), ordinals, Q, 20.0, MODEL.fatigue)
    assert bound.days <= result.days <= bound.days + 1 < greedy[0]


def test_a_visit_records_no_station_day_under_the_minimum():
    """98 come: one station takes 90 and a second would get 8, so the visit records 90; 110 come: 90 + 20."""
    from controller.scheduler.chains import most

    assert most(np.array([98.0, 110.0, 60.0, 15.0, 180.0]), CAP, 20.0).tolist() == [90.0, 110.0, 60.0, 0.0, 180.0]
    assert most(np.array([98.0, 15.0]), np.inf, 20.0).tolist() == [98.0, 0.0]
