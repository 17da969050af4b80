"""Simulation: days to finish, station-days, idle, the capacity bound, re-planning on the way."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from controller.scheduler import (
    Constraints,
    KelurahanTarget,
    PlanningError,
    TurnoutModel,
    capacity_bound,
    plan_backlog,
    plan_rotation,
    simulate,
    solo_2013_targets,
)
from protocol.regions import kelurahan_of_city

START = date(2013, 10, 1)
STATIONS = [f"S{i:02d}" for i in range(1, 11)]


def small_targets(lefts: list[int]) -> list[KelurahanTarget]:
    places = kelurahan_of_city("33.72")[: len(lefts)]
    return [
        KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, 5000, 5000 - n)
        for p, n in zip(places, lefts)
    ]


@pytest.mark.parametrize("planner", [plan_rotation, plan_backlog])
def test_the_figures_add_up(planner):
    targets = small_targets([900, 600, 300])
    c = Constraints(weekdays_off=frozenset({6}), unavailable={"B": frozenset({START + timedelta(days=2)})})
    result = simulate(planner, targets, stations=["A", "B", "C"], start=START, constraints=c)
    plan = result.plan
    assert result.finished
    assert result.recorded + sum(result.left.values()) == pytest.approx(sum(t.remaining for t in targets))
    assert result.station_days_used == len(plan.assignments)
    working = [START + timedelta(days=i) for i in range((result.finish_date - START).days + 1)]
    working = [d for d in working if d.weekday() != 6]
    assert result.days == len(working)
    available = sum(c.is_available(s, d) for s in "ABC" for d in working)
    assert result.idle_station_days == available - result.station_days_used
    assert result.days >= result.capacity_bound == math.ceil(result.recorded / (3 * 90))
    assert result.below_minimum == 0


def test_a_plan_run_without_surprises_needs_no_re_plan():
    result = simulate(plan_backlog(solo_2013_targets(), STATIONS, START))
    assert result.replans == 0 and result.finished
    assert result.finish_date == result.plan.end


def test_a_breakdown_re_plans_and_the_broken_station_works_no_more():
    targets = solo_2013_targets()
    broken_on = START + timedelta(days=10)
    calm = simulate(plan_backlog(targets, STATIONS, START))
    result = simulate(plan_backlog(targets, STATIONS, START), breakdowns={"S04": broken_on})
    assert result.replans == 1 and result.finished
    assert not [a for a in result.plan.for_station("S04") if a.date > broken_on]
    planned = calm.plan.assignment("S04", broken_on)
    crew = len([a for a in calm.plan.on(broken_on) if a.place == planned.place])
    that_day = [v for v in result.visits if v.date == broken_on and v.place == planned.place]
    assert sum(v.stations for v in that_day) == crew - 1  # S04 recorded nothing the day it broke
    assert result.days >= calm.days
    assert result.plan.assignments[:10] == calm.plan.assignments[:10]


def test_noise_re_plans_every_evening_and_is_reproducible():
    targets = small_targets([900, 700, 500, 400])
    noisy = TurnoutModel(noise=0.4, seed=3)
    result = simulate(plan_backlog, targets, noisy, stations=["A", "B"], start=START)
    assert result.finished and result.replans >= result.days - 1 > 0
    again = simulate(plan_backlog, targets, noisy, stations=["A", "B"], start=START)
    assert (again.days, again.visits) == (result.days, result.visits)
    calm = simulate(plan_backlog, targets, stations=["A", "B"], start=START)
    assert result.visits != calm.visits


def test_moves_are_counted_by_how_far_they_go():
    result = simulate(plan_backlog(solo_2013_targets(), STATIONS, START))
    assert result.moves == sum(result.moves_by_level.values()) > 0
    assert result.moves_by_level["same province"] == result.moves_by_level["other province"] == 0
    assert result.cross_kabupaten == 0


def test_the_capacity_bound_follows_its_definition():
    assert capacity_bound(1000, 2, TurnoutModel()) == math.ceil(1000 / 180)
    assert capacity_bound(0, 3, TurnoutModel()) == 0
    assert capacity_bound(1000, 2, TurnoutModel(noise=0.25)) == math.ceil(1000 / 225)


def test_simulating_a_planner_needs_its_inputs():
    with pytest.raises(PlanningError, match="needs targets, stations and a start"):
        simulate(plan_backlog, small_targets([10]))
    with pytest.raises(PlanningError, match="different kelurahan"):
        simulate(plan_backlog(small_targets([100]), ["A"], START), small_targets([10, 10]))
    with pytest.raises(PlanningError, match="not in the plan: Z"):
        simulate(plan_backlog(small_targets([100]), ["A"], START), breakdowns={"Z": START})
