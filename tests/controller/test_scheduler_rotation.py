"""The Solo rotation: blocks of D days, N kelurahan a block, S stations each, in kecamatan order."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest

from controller.scheduler import Constraints, KelurahanTarget, PlanningError, plan_rotation, simulate, solo_2013_targets
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


def test_the_first_pass_walks_the_city_in_kecamatan_order_five_kelurahan_per_three_days():
    targets = solo_2013_targets()
    plan = plan_rotation(targets, STATIONS, START)
    days = kelurahan_by_day(plan)
    order = [t.code for t in targets]
    first_visit = {}
    for day in sorted(days):
        for k in days[day]:
            first_visit.setdefault(k, day)
    assert sorted(first_visit, key=lambda k: (first_visit[k], k)) == order
    for block in range(10):  # 10 full blocks of pass one; the 11th tops up from pass two
        block_days = [START + timedelta(days=3 * block + d) for d in range(3)]
        expected = set(order[5 * block : 5 * block + 5])
        for day in block_days:
            assert set(days[day]) == expected
            assert all(n == 2 for n in days[day].values())
    assert max(first_visit.values()) < START + timedelta(days=33)


def test_stations_stay_put_for_their_block():
    plan = plan_rotation(solo_2013_targets(), STATIONS, START)
    for station in STATIONS:
        places = [a.place for a in plan.for_station(station)[:30]]
        for block in range(10):
            assert len(set(places[3 * block : 3 * block + 3])) == 1


def test_later_passes_return_only_where_residents_remain():
    # A kelurahan with one left is cleared on the first day; the others take many passes.
    targets = small_targets([1, 400, 400, 1])
    plan = plan_rotation(targets, ["A", "B", "C", "D"], START, kelurahan_per_block=2, stations_per_kelurahan=2)
    visited = {t.code: {a.date for a in plan.at_kelurahan(t.code)} for t in targets}
    assert visited[targets[0].code] == {START}
    assert len(visited[targets[3].code]) == 1
    assert len(visited[targets[1].code]) > 3 and len(visited[targets[2].code]) > 3
    assert plan.finished and not plan.expected_left


def test_a_kelurahan_finished_mid_block_leaves_its_slot_idle_until_the_block_ends():
    targets = small_targets([1, 400])
    plan = plan_rotation(targets, ["A", "B", "C", "D"], START, kelurahan_per_block=2, stations_per_kelurahan=2)
    assert len(plan.on(START)) == 4
    assert len(plan.on(START + timedelta(days=1))) == 2  # the rotation does not chase the backlog


@pytest.mark.parametrize("days_per_block, per_block, per_kelurahan", [(2, 3, 1), (4, 2, 3), (1, 5, 2)])
def test_block_size_kelurahan_and_stations_per_kelurahan_are_honoured(days_per_block, per_block, per_kelurahan):
    targets = solo_2013_targets()
    stations = [f"X{i}" for i in range(per_block * per_kelurahan)]
    plan = plan_rotation(
        targets, stations, START, days_per_block=days_per_block,
        kelurahan_per_block=per_block, stations_per_kelurahan=per_kelurahan,
    )
    days = kelurahan_by_day(plan)
    order = [t.code for t in targets]
    for day_index in range(days_per_block * 3):
        block = day_index // days_per_block
        day = days[START + timedelta(days=day_index)]
        assert set(day) == set(order[block * per_block : (block + 1) * per_block])
        assert set(day.values()) == {per_kelurahan}


def test_extra_stations_idle_and_a_short_fleet_serves_the_block_in_order():
    targets = solo_2013_targets()
    big = plan_rotation(targets, [f"S{i}" for i in range(13)], START)
    assert len(big.on(START)) == 10
    short = plan_rotation(targets, [f"S{i}" for i in range(7)], START)
    counts = kelurahan_by_day(short)[START]
    assert [counts.get(t.code, 0) for t in targets[:5]] == [2, 2, 2, 1, 0]


def test_days_off_are_skipped_and_blocks_count_working_days():
    sunday = date(2013, 10, 6)
    holiday = date(2013, 10, 15)  # Iduladha 1434 H
    c = Constraints(days_off=frozenset({holiday}), weekdays_off=frozenset({6}))
    plan = plan_rotation(solo_2013_targets(), STATIONS, START, c)
    assert not plan.on(sunday) and not plan.on(holiday)
    # Tue-Wed-Thu, Fri-Sat-Mon: the second block runs across the Sunday.
    days = kelurahan_by_day(plan)
    assert set(days[date(2013, 10, 4)]) == set(days[date(2013, 10, 7)])
    assert set(days[date(2013, 10, 8)]).isdisjoint(days[date(2013, 10, 7)])


def test_a_station_away_is_not_assigned_and_its_kelurahan_keeps_its_other_station():
    away = START + timedelta(days=1)
    c = Constraints(unavailable={"S03": frozenset({away})})
    plan = plan_rotation(solo_2013_targets(), STATIONS, START, c)
    assert plan.assignment("S03", away) is None
    before = {a.station_id: a.place for a in plan.on(START)}
    during = {a.station_id: a.place for a in plan.on(away)}
    assert all(during[s] == before[s] for s in during)


def test_the_rotation_is_slower_than_the_lower_bound_but_finishes():
    result = simulate(plan_rotation(solo_2013_targets(), STATIONS, START))
    assert result.finished and result.days >= result.model_lower_bound >= result.lower_bound


def test_bad_parameters_are_refused():
    with pytest.raises(PlanningError, match="kelurahan_per_block"):
        plan_rotation(solo_2013_targets(), STATIONS, START, kelurahan_per_block=0)
