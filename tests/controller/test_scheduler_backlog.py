"""The backlog planner: station-days where the most visits are needed, stations kept put."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from controller.scheduler import (
    KelurahanTarget,
    PlanningError,
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
        KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, 30000, 30000 - n)
        for p, n in zip(places, lefts)
    ]


@pytest.fixture(scope="module")
def solo():
    targets = solo_2013_targets()
    return targets, plan_backlog(targets, STATIONS, START), plan_rotation(targets, STATIONS, START)


def test_on_solo_it_finishes_at_the_model_lower_bound_and_well_before_the_rotation(solo):
    _, backlog, rotation = solo
    ours, theirs = simulate(backlog), simulate(rotation)
    assert ours.finished and theirs.finished
    assert ours.model_lower_bound <= ours.days <= ours.model_lower_bound + 2
    assert theirs.days >= 1.5 * ours.days
    assert ours.idle_station_days < theirs.idle_station_days


def test_on_solo_it_records_more_early_than_the_rotation(solo):
    _, backlog, rotation = solo

    def first_pass(plan):
        return sum(v.recorded for v in simulate(plan).visits if v.date < START + timedelta(days=33))

    assert first_pass(backlog) > 1.3 * first_pass(rotation)


def test_the_first_day_goes_to_the_largest_backlogs(solo):
    targets, backlog, _ = solo
    largest = {t.code for t in sorted(targets, key=lambda t: -t.remaining)[:10]}
    assert {a.kelurahan for a in backlog.on(START)} == largest


def test_a_station_that_moved_stays_its_minimum_unless_its_kelurahan_no_longer_needs_it(solo):
    _, backlog, _ = solo
    min_stay = backlog.parameters["min_stay"]
    for station in STATIONS:
        runs: list[list] = []
        for a in backlog.for_station(station):
            if runs and runs[-1][-1].place == a.place:
                runs[-1].append(a)
            else:
                runs.append([a])
        for run in runs[:-1]:
            if len(run) < min_stay:
                last = run[-1]
                crew_then = len([a for a in backlog.on(last.date) if a.place == last.place])
                crew_next = len([a for a in backlog.on(last.date + timedelta(days=1)) if a.place == last.place])
                assert crew_next < crew_then, f"{station} left {last.place} after {len(run)} days"


def test_moving_less_eagerly_means_fewer_moves_at_no_cost_in_days():
    targets = solo_2013_targets()
    eager, default, never = (
        simulate(plan_backlog(targets, STATIONS, START, move_factor=f)) for f in (1.0, 2.0, float("inf"))
    )
    assert eager.moves > default.moves > never.moves
    assert eager.days == default.days == never.days


def test_a_large_kelurahan_gets_stacked_stations_up_to_what_helps():
    targets = small_targets([3000])
    plan = plan_backlog(targets, ["A", "B", "C", "D", "E", "F"], START)
    assert len(plan.on(START)) == 5  # ceil(0.15 * 3000 / 100): a sixth would add nothing
    capped = plan_backlog(targets, ["A", "B", "C", "D", "E", "F"], START, max_stations_per_kelurahan=2)
    assert len(capped.on(START)) == 2


def test_a_station_that_would_add_nothing_stays_idle():
    plan = plan_backlog(small_targets([100]), ["A", "B", "C"], START)
    assert len(plan.on(START)) == 1


def test_a_bottleneck_kelurahan_is_stacked_before_small_ones_get_their_first_station():
    targets = small_targets([5000, 50, 50, 50])
    plan = plan_backlog(targets, ["A", "B", "C", "D"], START)
    assert {a.kelurahan for a in plan.on(START)} == {targets[0].code}
    result = simulate(plan)
    spread = simulate(plan_backlog(targets, ["A", "B", "C", "D"], START, max_stations_per_kelurahan=1))
    assert result.days < spread.days


def test_the_horizon_cap_is_reported_with_what_is_left():
    plan = plan_backlog(solo_2013_targets(), STATIONS, START, horizon_days=10)
    assert not plan.finished
    assert sum(plan.expected_left.values()) > 0
    assert any("horizon of 10 days" in w for w in plan.warnings)
    assert plan.end < START + timedelta(days=10)


@pytest.mark.parametrize("bad", [dict(min_stay=0), dict(max_stations_per_kelurahan=0), dict(horizon_days=0)])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(PlanningError):
        plan_backlog(small_targets([100]), ["A"], START, **bad)
