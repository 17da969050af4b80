"""The Solo rotation: blocks of D days, N kelurahan a block, S stations each, in kecamatan order, stop rule kept."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest

from controller.scheduler import (
    Constraints,
    KelurahanTarget,
    PlanningError,
    TurnoutModel,
    plan_rotation,
    simulate,
    solo_2013_targets,
)
from protocol.regions import kelurahan_of_city

START = date(2013, 10, 1)  # a Tuesday
STATIONS = [f"S{i:02d}" for i in range(1, 11)]


def kelurahan_by_day(plan) -> dict[date, dict[str, int]]:
    days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a in plan.assignments:
        days[a.date][a.kelurahan] += 1
    return days


def small_targets(lefts: list[int]) -> list[KelurahanTarget]:
    places = kelurahan_of_city("33.72")[: len(lefts)]
    return [
        KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, 5000, 5000 - n)
        for p, n in zip(places, lefts)
    ]


@pytest.fixture(scope="module")
def solo():
    return solo_2013_targets(), plan_rotation(solo_2013_targets(), STATIONS, START)


def test_the_first_pass_walks_the_city_in_kecamatan_order_five_kelurahan_a_block(solo):
    targets, plan = solo
    days = kelurahan_by_day(plan)
    order = [t.code for t in targets]
    first_visit: dict[str, date] = {}
    for day in sorted(days):
        for k in days[day]:
            first_visit.setdefault(k, day)
    assert sorted(first_visit, key=lambda k: (first_visit[k], k)) == order
    for block in range(10):  # each block's first day: the next five kelurahan, two stations each
        day = START + timedelta(days=3 * block)  # unless a crowd is too small to give both the minimum
        assert set(days[day]) == set(order[5 * block: 5 * block + 5])
        assert all(1 <= n <= 2 for n in days[day].values()) and sum(days[day].values()) >= 8
    for day, crews in days.items():
        assert len(crews) <= 5 and all(n <= 2 for n in crews.values())


def test_the_stop_rule_holds_every_station_expects_the_minimum(solo):
    _, plan = solo
    result = simulate(plan)
    assert result.below_minimum == 0
    assert all(v.recorded >= 20 * v.stations - 1e-6 for v in result.visits)


def test_stations_stay_put_for_their_block(solo):
    _, plan = solo
    for station in STATIONS:
        for block in range(10):
            window = {START + timedelta(days=3 * block + d) for d in range(3)}
            assert len({a.place for a in plan.for_station(station) if a.date in window}) <= 1


def test_a_kelurahan_below_the_minimum_is_never_visited_and_later_passes_return_where_residents_remain():
    # 30 left: a rested day would bring 0.29 * 0.76 * 30 = 6.6, below 20, so nobody goes.
    targets = small_targets([30, 2000, 2000, 30])
    plan = plan_rotation(targets, ["A", "B", "C", "D"], START, kelurahan_per_block=2, stations_per_kelurahan=2)
    visited = {t.code: {a.date for a in plan.at_kelurahan(t.code)} for t in targets}
    assert not visited[targets[0].code] and not visited[targets[3].code]
    assert len(visited[targets[1].code]) > 3 and len(visited[targets[2].code]) > 3
    assert plan.finished and set(plan.expected_left) == {t.code for t in targets}


def test_extra_stations_idle_and_a_short_fleet_serves_the_block_in_order(solo):
    targets, plan = solo
    big = plan_rotation(targets, [f"S{i}" for i in range(13)], START)
    assert len(big.on(START)) == len(plan.on(START)) <= 10
    short = plan_rotation(targets, [f"S{i}" for i in range(7)], START)
    counts = kelurahan_by_day(short)[START]
    assert [counts.get(t.code, 0) for t in targets[:5]] == [2, 2, 2, 1, 0]


def test_days_off_are_skipped_and_blocks_count_working_days():
    sunday = date(2013, 10, 6)
    holiday = date(2013, 10, 15)  # Iduladha 1434 H
    c = Constraints(days_off=frozenset({holiday}), weekdays_off=frozenset({6}))
    plan = plan_rotation(solo_2013_targets(), STATIONS, START, c)
    assert not plan.on(sunday) and not plan.on(holiday)
    days = kelurahan_by_day(plan)
    # Tue-Wed-Thu, then Fri-Sat-Mon: the second block runs across the Sunday.
    assert set(days[date(2013, 10, 7)]) <= set(days[date(2013, 10, 4)])
    assert set(days[date(2013, 10, 8)]).isdisjoint(days[date(2013, 10, 4)])


def test_a_station_away_is_not_assigned_and_its_kelurahan_keeps_its_other_station():
    away = START + timedelta(days=1)
    c = Constraints(unavailable={"S03": frozenset({away})})
    plan = plan_rotation(solo_2013_targets(), STATIONS, START, c)
    assert plan.assignment("S03", away) is None
    before = {a.station_id: a.place for a in plan.on(START)}
    partner = next(s for s, k in before.items() if k == before["S03"] and s != "S03")
    assert plan.assignment(partner, away).place == before["S03"]


def test_the_rotation_finishes_and_no_faster_than_the_capacity_bound(solo):
    _, plan = solo
    result = simulate(plan)
    assert plan.finished and result.days >= result.capacity_bound > 0


@pytest.mark.parametrize("bad", [dict(kelurahan_per_block=0), dict(days_per_block=0), dict(stations_per_kelurahan=-1)])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(PlanningError, match=next(iter(bad))):
        plan_rotation(solo_2013_targets(), STATIONS, START, **bad)


def test_same_input_same_plan():
    a = plan_rotation(solo_2013_targets(), STATIONS, START, model=TurnoutModel())
    b = plan_rotation(solo_2013_targets(), STATIONS, START, model=TurnoutModel())
    assert a == b
