"""The backlog planner: the longest chains first, nothing below the minimum, home areas, priorities."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from controller.scheduler import (
    Calendar,
    Constraints,
    KelurahanTarget,
    PlanningError,
    plan_backlog,
    simulate,
    solo_2013_targets,
)
from controller.scheduler.baselines import best, run_baselines
from controller.scheduler.bound import plan_bound, station_recorded
from controller.scheduler.turnout import TurnoutModel
from protocol.regions import kelurahan_of_city

START = date(2013, 10, 7)
STATIONS = [f"S{i:02d}" for i in range(1, 11)]
CAL = Calendar()
SOLO_DAYS = Constraints(days_off=CAL.days_off(START, 400), weekdays_off=CAL.weekdays_off)


def small_targets(lefts: list[int], **kw) -> list[KelurahanTarget]:
    places = kelurahan_of_city("33.72")[: len(lefts)]
    return [
        KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, 30000, 30000 - n, **kw)
        for p, n in zip(places, lefts)
    ]


@pytest.fixture(scope="module")
def solo():
    targets = solo_2013_targets()
    plan = plan_backlog(targets, STATIONS, START, SOLO_DAYS, deadline=date(2013, 12, 31))
    return targets, plan, simulate(plan)


def test_on_solo_it_finishes_within_5_percent_of_the_lp_bound(solo):
    _, plan, result = solo
    bound = plan_bound(plan, station_recorded(result.visits), max_days=result.days + 5)
    assert bound.days is not None and bound.days <= result.days <= 1.05 * bound.days


def test_on_solo_it_beats_the_best_rotation_variant_to_the_same_count(solo):
    targets, _, result = solo
    baselines = run_baselines(targets, STATIONS, START, SOLO_DAYS, TurnoutModel(), result.recorded)
    champion = best(baselines)
    assert champion.days_to_target is None or result.days < champion.days_to_target
    assert all(b.days_to_target is None or b.days_to_target >= champion.days_to_target for b in baselines)


def test_no_station_day_is_planned_below_the_minimum(solo):
    _, plan, result = solo
    assert result.below_minimum == 0
    assert all(v.recorded >= 20 * v.stations - 1e-6 for v in result.visits)
    assert plan.finished and sum(plan.expected_left.values()) > 0  # the residue is left to office and homes


def test_the_first_day_goes_to_the_longest_chains(solo):
    targets, plan, _ = solo
    largest = sorted(targets, key=lambda t: -t.remaining)
    served = {a.kelurahan for a in plan.on(START)}
    assert largest[0].code in served and largest[1].code in served
    assert not served & {t.code for t in largest[-20:]}


def test_a_large_kelurahan_gets_stacked_stations_up_to_what_helps():
    targets = small_targets([3000])  # 0.29 * 0.76 * 3000 = 661 today: 7 full stations and a partial one
    plan = plan_backlog(targets, list("ABCDEFGHIJ"), START)
    # all eight, or one fewer where the look-ahead finds that finishes the kelurahan sooner; never a ninth
    assert len(plan.on(START)) in (7, 8)
    capped = plan_backlog(targets, list("ABCDEFGHIJ"), START, max_stations_per_kelurahan=2)
    assert len(capped.on(START)) == 2


def test_a_station_that_would_record_less_than_the_minimum_stays_idle():
    plan = plan_backlog(small_targets([200]), ["A", "B", "C"], START)  # 44 today: one station
    assert len(plan.on(START)) == 1
    tiny = plan_backlog(small_targets([80]), ["A"], START)  # 17.6 even rested: nobody goes
    assert not tiny.assignments and tiny.finished
    assert tiny.expected_left == {tiny.targets[0].code: 80}


def test_stations_stay_in_their_home_area_and_leave_only_saying_why():
    lefts = [800] * 6
    targets = small_targets(lefts)  # 33.72.01: six kelurahan of Laweyan
    other = kelurahan_of_city("33.72")[-3:]  # Banjarsari
    targets += [KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, 30000, 25000) for p in other]
    homes = {"A": "33.72.01", "B": "33.72.01", "C": other[0].kecamatan_code}
    plan = plan_backlog(targets, ["A", "B", "C"], START, homes=homes)
    result = simulate(plan)
    assert result.out_of_area_without_reason == 0
    for a in plan.assignments:
        if not a.kelurahan.startswith(homes[a.station_id]):
            assert a.reason and homes[a.station_id] in a.reason
    # C's kecamatan has more work than it can do alone: A and B come over once Laweyan is done
    lent = [a for a in plan.assignments if a.reason]
    assert lent and {a.station_id for a in lent} <= {"A", "B"}
    assert min(a.date for a in lent) > START


def test_home_areas_must_be_areas_with_targets():
    with pytest.raises(PlanningError, match="station A"):
        plan_backlog(small_targets([500]), ["A"], START, homes={"A": "33.74"})
    with pytest.raises(PlanningError, match="not in the plan"):
        plan_backlog(small_targets([500]), ["A"], START, homes={"Z": "33.72"})


def test_first_time_voters_go_first():
    plain = small_targets([1000, 1000])
    voters = [plain[0], KelurahanTarget(**{**plain[1].__dict__, "first_voters": 600})]
    plan = plan_backlog(voters, ["A"], START)
    assert plan.on(START)[0].kelurahan == voters[1].code
    assert plan_backlog(plain, ["A"], START).on(START)[0].kelurahan == plain[0].code


def test_the_home_bound_get_home_visit_rounds_and_none_below_the_minimum():
    targets = small_targets([600, 600], home_bound=30)  # 30 at home each: a round of up to 24
    plan = plan_backlog(targets, ["A", "B", "C"], START)
    rounds = [a for a in plan.assignments if a.place.startswith("home-")]
    assert rounds and all(a.start.hour < 12 for a in rounds)  # home visits are in the day
    result = simulate(plan)
    home = [v for v in result.visits if v.place.startswith("home-")]
    assert all(v.recorded >= 20 - 1e-6 for v in home)
    assert sum(v.recorded for v in home) == pytest.approx(48)  # two rounds of 24; the 6 left each are residue


def test_the_horizon_cap_is_reported_with_what_is_left():
    plan = plan_backlog(solo_2013_targets(), STATIONS, START, horizon_days=10)
    assert not plan.finished
    assert any("horizon of 10 days" in w for w in plan.warnings)
    assert plan.end < START + timedelta(days=10)


@pytest.mark.parametrize("bad", [dict(max_stations_per_kelurahan=0), dict(horizon_days=0), dict(min_people=0),
                                 dict(priority_weight=-1)])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(PlanningError, match=next(iter(bad))):
        plan_backlog(small_targets([100]), ["A"], START, **bad)
