"""The scheduler's data: targets, constraints, plans and their lookups."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from controller.scheduler import (
    DEFAULT_HOURS,
    Constraints,
    KelurahanTarget,
    Plan,
    PlanningError,
    StationDay,
    TurnoutModel,
    plan_backlog,
)

D = date(2024, 3, 4)


def test_a_target_normalises_its_code_and_never_goes_below_zero_left():
    t = KelurahanTarget("3372011001", "Pajang", "33.72.01", "Laweyan", 100, 120)
    assert t.code == "33.72.01.1001"
    assert t.remaining == 0
    assert KelurahanTarget("33.72.01.1001", "Pajang", "33.72.01", "Laweyan", 100, 40).remaining == 60


@pytest.mark.parametrize("code, wajib, recorded", [("33.72.01", 1, 0), ("3372011001", -1, 0), ("3372011001", 1, 1.5)])
def test_a_bad_target_is_refused_by_name(code, wajib, recorded):
    with pytest.raises(PlanningError, match="Pajang"):
        KelurahanTarget(code, "Pajang", "33.72.01", "Laweyan", wajib, recorded)


def test_default_hours_are_solos_afternoon_to_evening():
    a = StationDay(D, "A", "33.72.01.1001", "33.72.01.1001")
    assert (a.start, a.end) == DEFAULT_HOURS == (time(15), time(21))
    assert a.hours == 6 and not a.at_venue


def test_constraints_know_days_off_stations_away_and_drop_outs():
    c = Constraints(
        days_off=frozenset({D}),
        weekdays_off=frozenset({6}),
        unavailable={"A": frozenset({D + timedelta(days=1)})},
        dropped_out={"B": D + timedelta(days=3)},
    )
    assert c.is_day_off(D) and c.is_day_off(date(2024, 3, 10)) and not c.is_day_off(D + timedelta(days=1))
    assert not c.is_available("A", D + timedelta(days=1)) and c.is_available("A", D + timedelta(days=2))
    assert c.is_available("B", D + timedelta(days=2)) and not c.is_available("B", D + timedelta(days=30))
    merged = c.with_unavailable({"A": [D + timedelta(days=5)]}, {"B": D + timedelta(days=2)})
    assert not merged.is_available("A", D + timedelta(days=1)) and not merged.is_available("A", D + timedelta(days=5))
    assert not merged.is_available("B", D + timedelta(days=2))


def _plan(assignments) -> Plan:
    return Plan(tuple(assignments), "test", {}, (), ("A", "B"), D, Constraints(), TurnoutModel(), True)


def test_a_plan_refuses_a_station_in_two_places_on_one_day():
    with pytest.raises(PlanningError, match="station A has two assignments on 2024-03-04"):
        _plan([
            StationDay(D, "A", "33.72.01.1001", "33.72.01.1001"),
            StationDay(D, "A", "33.72.01.1002", "33.72.01.1002"),
        ])


def test_plan_lookups_by_date_station_and_kelurahan():
    k1, k2 = "33.72.01.1001", "33.72.01.1002"
    plan = _plan([
        StationDay(D + timedelta(days=1), "A", k2, k2),
        StationDay(D, "B", "SMA-1", k1),
        StationDay(D, "A", k1, k1),
    ])
    assert [a.station_id for a in plan.on(D)] == ["A", "B"]
    assert [a.place for a in plan.for_station("A")] == [k1, k2]
    assert {a.place for a in plan.at_kelurahan("3372011001")} == {k1, "SMA-1"}
    assert plan.assignment("A", D + timedelta(days=1)).place == k2
    assert plan.assignment("B", D + timedelta(days=1)) is None
    assert plan.dates() == (D, D + timedelta(days=1)) and plan.end == D + timedelta(days=1)


def test_plans_from_the_same_input_are_equal_whatever_their_creation_time():
    targets = [KelurahanTarget("33.72.01.1001", "Pajang", "33.72.01", "Laweyan", 1000, 500)]
    a = plan_backlog(targets, ["A", "B"], D, now=datetime(2024, 1, 1, tzinfo=timezone.utc))
    b = plan_backlog(targets, ["A", "B"], D, now=datetime(2025, 1, 1, tzinfo=timezone.utc))
    assert a.created != b.created and a == b
    assert a.planner == "backlog" and a.parameters["min_people"] == 20 and a.finished


def test_scheduler_errors_are_controller_errors():
    from controller.errors import ControllerError
    from controller.scheduler import TargetsError, VenueError

    assert issubclass(PlanningError, ControllerError) and issubclass(VenueError, ControllerError)
    assert issubclass(TargetsError, ControllerError)


@pytest.mark.parametrize("extra, words", [(dict(first_voters=400, home_bound=200), "more than the 500 left"),
                                          (dict(lat=-7.5), "lat/lon"), (dict(lat=100.0, lon=110.0), "lat/lon")])
def test_priority_counts_and_coordinates_are_checked(extra, words):
    with pytest.raises(PlanningError, match=words):
        KelurahanTarget("33.72.01.1001", "Pajang", "33.72.01", "Laweyan", 1000, 500, **extra)


def test_planner_input_errors_name_what_is_wrong():
    t = KelurahanTarget("33.72.01.1001", "Pajang", "33.72.01", "Laweyan", 1000, 500)
    with pytest.raises(PlanningError, match="appears twice"):
        plan_backlog([t, t], ["A"], D)
    with pytest.raises(PlanningError, match="station ids appear twice: A"):
        plan_backlog([t], ["A", "A"], D)
    with pytest.raises(PlanningError, match="no stations"):
        plan_backlog([t], [], D)
