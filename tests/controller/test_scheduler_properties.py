"""Properties both planners keep for any targets, fleet and constraints (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.scheduler import (
    Constraints,
    KelurahanTarget,
    Venue,
    plan_backlog,
    plan_rotation,
    replan,
    simulate,
)
from controller.scheduler.bound import plan_bound, station_recorded
from controller.scheduler.turnout import TurnoutModel
from protocol.regions import kelurahan_of_city

START = date(2024, 7, 1)
PLACES = kelurahan_of_city("33.72")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def situations(draw):
    places = draw(st.lists(st.sampled_from(PLACES), min_size=1, max_size=7, unique_by=lambda p: p.code))
    targets = []
    for p in places:
        left = draw(st.integers(0, 1200))
        recorded = draw(st.integers(0, 3000))
        targets.append(KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, recorded + left, recorded))
    stations = [f"ST{i}" for i in range(draw(st.integers(1, 5)))]
    day = st.integers(0, 40).map(lambda n: START + timedelta(days=n))
    unavailable = draw(st.dictionaries(st.sampled_from(stations), st.frozensets(day, max_size=6), max_size=3))
    venues = []
    for i in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["school", "market", "hospital", "home_visit", "community_meeting"]))
        people = draw(st.integers(1 if kind == "home_visit" else 20, 200))
        venues.append(Venue(f"V{i}", kind, f"venue {i}", "-", draw(st.sampled_from(places)).code, draw(day), people))
    constraints = Constraints(
        days_off=draw(st.frozensets(day, max_size=8)),
        weekdays_off=draw(st.sampled_from([frozenset(), frozenset({6}), frozenset({5, 6})])),
        unavailable=unavailable,
        venues=tuple(venues),
    )
    planner = draw(st.sampled_from(["rotation", "backlog"]))
    if planner == "rotation":
        params = dict(
            days_per_block=draw(st.integers(1, 4)),
            kelurahan_per_block=draw(st.integers(1, 5)),
            stations_per_kelurahan=draw(st.integers(1, 3)),
        )
        make = plan_rotation
    else:
        params = dict(priority_weight=draw(st.sampled_from([0.0, 1.0, 3.0])),
                      max_stations_per_kelurahan=draw(st.sampled_from([None, 1, 2])))
        make = plan_backlog

    def plan():
        return make(targets, stations, START, constraints, **params)

    return targets, stations, constraints, plan


@SETTINGS
@given(situations())
def test_no_station_is_in_two_places_on_one_day_nor_assigned_when_away(situation):
    _, stations, constraints, make = situation
    plan = make()
    seen = set()
    for a in plan.assignments:
        assert (a.station_id, a.date) not in seen
        seen.add((a.station_id, a.date))
        assert a.station_id in stations
        assert constraints.is_available(a.station_id, a.date)
        assert not constraints.is_day_off(a.date)


@SETTINGS
@given(situations())
def test_every_kelurahan_worth_a_visit_is_visited_and_nothing_is_planned_below_the_minimum(situation):
    targets, _, _, make = situation
    plan = make()
    assert plan.finished
    model = TurnoutModel()
    for t in targets:
        if model.share() * model.params.reach * t.remaining >= 20 + 1e-9:
            assert plan.at_kelurahan(t.code), f"{t.code} has {t.remaining} left and no visit"
    assert simulate(plan).below_minimum == 0


@SETTINGS
@given(situations())
def test_no_plan_beats_the_lp_bound(situation):
    _, _, constraints, make = situation
    result = simulate(make())
    assert result.finished
    assert result.days >= result.capacity_bound
    recorded = station_recorded(result.visits)
    if sum(recorded.values()) > 0:
        bound = plan_bound(result.plan, recorded, max_days=result.days + 3)
        assert bound.days is not None and bound.days <= result.days


@SETTINGS
@given(situations())
def test_plans_are_deterministic(situation):
    *_, make = situation
    first, second = make(), make()
    assert first == second
    assert first.assignments == second.assignments


@SETTINGS
@given(situations(), st.data())
def test_re_planning_keeps_the_past_and_never_uses_a_station_that_is_away(situation, data):
    targets, stations, _, make = situation
    plan = make()
    from_date = START + timedelta(days=data.draw(st.integers(0, 30)))
    dropped = data.draw(st.lists(st.sampled_from(stations), unique=True, max_size=len(stations) - 1))
    away = {s: data.draw(st.frozensets(st.integers(0, 20).map(lambda n: from_date + timedelta(days=n)), max_size=5))
            for s in stations if s not in dropped}
    actual = {t.code: data.draw(st.integers(t.recorded, t.wajib_ktp)) for t in targets}

    unchanged = replan(plan, from_date)
    assert unchanged.changed == frozenset() and unchanged.plan.assignments == plan.assignments

    gone = replan(plan, from_date, actual, dropped)
    before = [a for a in plan.assignments if a.date < from_date]
    assert [a for a in gone.plan.assignments if a.date < from_date] == before
    assert not [a for a in gone.plan.assignments if a.date >= from_date and a.station_id in dropped]

    out = replan(plan, from_date, actual, away)
    for a in out.plan.assignments:
        if a.date >= from_date:
            assert a.date not in away.get(a.station_id, ())
    old = {(a.station_id, a.date): a for a in plan.assignments if a.date >= from_date}
    new = {(a.station_id, a.date): a for a in out.plan.assignments if a.date >= from_date}
    assert out.changed == {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    assert all(d >= from_date for _, d in out.changed)
