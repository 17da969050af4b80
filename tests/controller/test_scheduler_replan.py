"""Re-planning from a day on: the past is kept, the changes are named, drop-outs respected."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from controller.scheduler import (
    KelurahanTarget,
    PlanningError,
    Venue,
    expected_recorded,
    plan_backlog,
    plan_rotation,
    replan,
    simulate,
    solo_2013_targets,
)

START = date(2013, 10, 1)
STATIONS = [f"S{i:02d}" for i in range(1, 11)]
PLANNERS = [plan_rotation, plan_backlog]


@pytest.fixture(scope="module", params=PLANNERS, ids=lambda p: p.__name__)
def plan(request):
    return request.param(solo_2013_targets(), STATIONS, START)


def diff(old, new, from_date):
    def table(p):
        return {(a.station_id, a.date): (a.place, a.start, a.end) for a in p.assignments if a.date >= from_date}

    a, b = table(old), table(new)
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


@pytest.mark.parametrize("offset", [0, 1, 2, 4, 31, 90])
def test_re_planning_an_unchanged_situation_changes_nothing(plan, offset):
    # The planner picks up a rotation block or a station's stay from the history it is given.
    result = replan(plan, START + timedelta(days=offset))
    assert result.changed == frozenset()
    assert result.plan.assignments == plan.assignments


def test_a_station_dropping_out_is_never_assigned_again_and_the_past_is_kept(plan):
    from_date = START + timedelta(days=7)
    gone = plan.on(from_date)[0].station_id
    result = replan(plan, from_date, unavailable_stations=[gone])
    assert not [a for a in result.plan.for_station(gone) if a.date >= from_date]
    assert [a for a in result.plan.assignments if a.date < from_date] == [
        a for a in plan.assignments if a.date < from_date
    ]
    assert result.changed == diff(plan, result.plan, from_date)
    assert (gone, from_date) in result.changed and gone in result.stations
    assert result.plan.finished


def test_a_station_away_for_two_days_is_back_after_them(plan):
    from_date = START + timedelta(days=7)
    away = {from_date, from_date + timedelta(days=1)}
    station = plan.on(from_date)[0].station_id
    result = replan(plan, from_date, unavailable_stations={station: away})
    assert all(result.plan.assignment(station, d) is None for d in away)
    assert result.plan.assignment(station, from_date + timedelta(days=2)) is not None
    assert result.changed == diff(plan, result.plan, from_date)
    # The disruption is local: the next week is mostly as published.
    week = {k for k in result.changed if k[1] < from_date + timedelta(days=7)}
    assert len(week) < len([a for a in plan.assignments if from_date <= a.date < from_date + timedelta(days=7)]) / 3


def test_a_kelurahan_that_finished_early_is_not_visited_again(plan):
    from_date = START + timedelta(days=1)
    done = plan.on(START)[0].kelurahan
    assert [a for a in plan.at_kelurahan(done) if a.date >= from_date]  # the plan expected to return
    wajib = {t.code: t.wajib_ktp for t in plan.targets}
    result = replan(plan, from_date, {done: wajib[done]})
    assert not [a for a in result.plan.at_kelurahan(done) if a.date >= from_date]
    assert result.changed and result.changed == diff(plan, result.plan, from_date)


def test_a_kelurahan_behind_the_plan_gets_more_visits():
    targets = solo_2013_targets()
    plan = plan_backlog(targets, STATIONS, START)
    from_date = START + timedelta(days=3)
    k = plan.on(START)[0].kelurahan
    expected = expected_recorded(plan, from_date)
    assert expected[k] > next(t.recorded for t in targets if t.code == k)
    result = replan(plan, from_date, {k: expected[k] - 600})  # far fewer came than expected

    def visits(p):
        return len([a for a in p.at_kelurahan(k) if a.date >= from_date])

    assert visits(result.plan) > visits(plan)


def test_new_venues_and_days_off_from_the_re_plan_on():
    plan = plan_backlog(solo_2013_targets(), STATIONS, START)
    from_date = START + timedelta(days=5)
    market = Venue(
        "PASAR-GEDE", "market", "Pasar Gede", "Jl. Urip Sumoharjo", "3372041003", from_date + timedelta(days=2), 180
    )
    holiday = from_date + timedelta(days=4)
    result = replan(plan, from_date, venues=[market], days_off=[holiday])
    assert len([a for a in result.plan.on(market.date) if a.place == "PASAR-GEDE"]) == 3  # 75 each, 06:00-11:00
    assert not result.plan.on(holiday)
    assert result.changed == diff(plan, result.plan, from_date)


def test_nothing_before_the_plans_start_or_outside_it_can_be_re_planned():
    plan = plan_backlog(solo_2013_targets(), STATIONS, START)
    with pytest.raises(PlanningError, match="cannot re-plan from 2013-09-30"):
        replan(plan, START - timedelta(days=1))
    with pytest.raises(PlanningError, match="not in the plan: S99"):
        replan(plan, START, unavailable_stations=["S99"])
    with pytest.raises(PlanningError, match="33.72.05.9999"):
        replan(plan, START, {"3372059999": 3})


def test_expected_recorded_follows_the_plan():
    targets = [KelurahanTarget("33.72.01.1001", "Pajang", "33.72.01", "Laweyan", 1000, 400)]
    plan = plan_backlog(targets, ["A"], START)
    assert expected_recorded(plan, START) == {"33.72.01.1001": 400}
    assert expected_recorded(plan, START + timedelta(days=1)) == {"33.72.01.1001": 400 + 90}  # ceil(0.15 * 600)


def _working_days(plan, first, last):
    return sum(1 for i in range((last - first).days + 1) if not plan.constraints.is_day_off(first + timedelta(days=i)))


@pytest.mark.parametrize("offset, which", [(3, 0), (10, 4), (20, 9)])
def test_a_drop_out_costs_no_more_than_that_stations_share_of_the_remaining_work(plan, offset, which):
    from_date = START + timedelta(days=offset)
    gone = STATIONS[which]
    before = simulate(plan)
    after = simulate(replan(plan, from_date, unavailable_stations=[gone]).plan)
    n = len(STATIONS)
    remaining = _working_days(plan, from_date, before.finish_date)
    now_remaining = _working_days(plan, from_date, after.finish_date)
    assert now_remaining <= math.ceil(remaining * n / (n - 1))
    # the others take its work on: it does not go to the residue
    assert after.recorded >= 0.98 * sum(v.recorded for v in before.visits if v.date >= from_date)
