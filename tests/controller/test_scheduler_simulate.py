"""Simulation: days to finish, station-days, idle, the bounds, re-planning on the way."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from controller.scheduler import (
    Constraints,
    KelurahanTarget,
    PlanningError,
    TurnoutModel,
    lower_bound,
    model_lower_bound,
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
    targets = small_targets([300, 120, 50])
    c = Constraints(weekdays_off=frozenset({6}), unavailable={"B": frozenset({START + timedelta(days=2)})})
    result = simulate(planner, targets, stations=["A", "B", "C"], start=START, constraints=c)
    plan = result.plan
    assert result.finished and not result.left
    assert result.recorded == sum(t.remaining for t in targets)
    assert result.station_days_used == len(plan.assignments)
    working = [START + timedelta(days=i) for i in range((result.finish_date - START).days + 1)]
    working = [d for d in working if d.weekday() != 6]
    assert result.days == len(working)
    available = sum(c.is_available(s, d) for s in "ABC" for d in working)
    assert result.idle_station_days == available - result.station_days_used
    assert result.days >= result.model_lower_bound >= result.lower_bound
    assert result.lower_bound == math.ceil(470 / 300)
    assert result.ratio == result.days / result.lower_bound


def test_bounds_follow_their_definitions():
    targets = small_targets([1000, 10])
    model = TurnoutModel()
    assert lower_bound(targets, 2, model) == math.ceil(1010 / 200)
    assert model_lower_bound(targets, 2, model) == max(
        model.visits(1000, 2), math.ceil((model.single_station_visits(1000) + model.single_station_visits(10)) / 2)
    )
    assert lower_bound(small_targets([0]), 3, model) == model_lower_bound(small_targets([0]), 3, model) == 0
    assert lower_bound(targets, 2, TurnoutModel(noise=0.25)) == math.ceil(1010 / 250)


def test_a_plan_run_without_surprises_needs_no_re_plan():
    result = simulate(plan_backlog(solo_2013_targets(), STATIONS, START))
    assert result.replans == 0 and result.finished
    assert result.finish_date == result.plan.end


def test_a_breakdown_re_plans_and_the_broken_station_works_no_more():
    targets = solo_2013_targets()
    broken_on = START + timedelta(days=10)
    result = simulate(plan_backlog(targets, STATIONS, START), breakdowns={"S04": broken_on})
    calm = simulate(plan_backlog(targets, STATIONS, START))
    assert result.replans >= 1 and result.finished
    assert not [a for a in result.plan.for_station("S04") if a.date > broken_on]
    planned = calm.plan.assignment("S04", broken_on)
    crew = len([a for a in calm.plan.on(broken_on) if a.place == planned.place])
    that_day = [v for v in result.visits if v.date == broken_on and v.place == planned.place]
    assert sum(v.stations for v in that_day) == crew - 1  # S04 recorded nothing the day it broke
    assert result.days > calm.days
    assert result.plan.assignments[: 10] == calm.plan.assignments[: 10]


def test_noise_makes_kelurahan_finish_off_plan_and_the_simulation_re_plans():
    targets = small_targets([400, 300, 200, 100])
    noisy = TurnoutModel(noise=0.4, seed=3)
    result = simulate(plan_backlog, targets, noisy, stations=["A", "B"], start=START)
    assert result.finished and result.replans > 0
    assert result.model_lower_bound is None  # not a true bound under noise
    assert result.days >= result.lower_bound
    assert result.wasted_station_days == 0  # re-planning stops visits to finished kelurahan
    again = simulate(plan_backlog, targets, noisy, stations=["A", "B"], start=START)
    assert (again.days, again.visits) == (result.days, result.visits)


def test_a_rigid_plan_without_re_planning_would_have_wasted_visits():
    # The same noisy field, run on the original plan by hand, wastes station-days the simulator avoids.
    targets = small_targets([400, 300, 200, 100])
    noisy = TurnoutModel(noise=0.4, seed=3)
    plan = plan_backlog(targets, ["A", "B"], START)
    left = {t.code: t.remaining for t in targets}
    wasted = 0
    for a in plan.assignments:
        if left[a.kelurahan] == 0:
            wasted += 1
            continue
        left[a.kelurahan] -= noisy.actual(left[a.kelurahan], 1, a.date, a.kelurahan)
    assert wasted > simulate(plan, targets, noisy).wasted_station_days


def test_simulating_a_planner_needs_its_inputs():
    with pytest.raises(PlanningError, match="needs targets, stations and a start"):
        simulate(plan_backlog, small_targets([10]))
    with pytest.raises(PlanningError, match="different kelurahan"):
        simulate(plan_backlog(small_targets([10]), ["A"], START), small_targets([10, 10]))
