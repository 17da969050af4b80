"""Outreach venues: their validation, what they claim of the fleet, what they record."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from controller.scheduler import (
    Constraints,
    KelurahanTarget,
    PlanningError,
    Venue,
    VenueError,
    VenueKind,
    plan_backlog,
    plan_rotation,
    simulate,
)
from controller.scheduler.turnout import TurnoutModel

START = date(2024, 3, 4)
PAJANG, LAWEYAN, BUMI = "33.72.01.1001", "33.72.01.1002", "33.72.01.1003"


def targets(left: int = 600) -> list[KelurahanTarget]:
    return [
        KelurahanTarget(code, name, "33.72.01", "Laweyan", 10_000, 10_000 - left)
        for code, name in ((PAJANG, "Pajang"), (LAWEYAN, "Laweyan"), (BUMI, "Bumi"))
    ]


def venue(kind="school", people=120, day=START + timedelta(days=1), **kw) -> Venue:
    base = dict(venue_id="SMA-1", kind=kind, name="SMA Negeri 1", address="Jl. Slamet Riyadi",
                kelurahan_code="3372011002", date=day, expected_people=people)
    return Venue(**{**base, **kw})


@pytest.mark.parametrize("kind", ["school", "market", "hospital", "community_meeting"])
def test_a_group_venue_under_twenty_people_is_refused_by_name(kind):
    with pytest.raises(VenueError, match=r"SMA-1.*SMA Negeri 1.*at least 20.*got 19"):
        venue(kind=kind, people=19)
    assert venue(kind=kind, people=20).expected_people == 20


def test_a_home_visit_may_be_for_one_person_and_takes_a_quarter_hour_each():
    model = TurnoutModel()
    home = venue(kind="home_visit", people=3, venue_id="RUMAH-7", name="Bu Sri (lansia)")
    assert home.kind is VenueKind.HOME_VISIT
    assert home.per_station(model) == 24  # 09:00-15:00, 15 minutes a person
    assert venue(kind="home_visit", people=30).stations_needed(model) == 2
    assert venue(kind="school", people=250).stations_needed(model) == 3  # 07:30-13:30 at 15 an hour
    assert venue(kind="market", people=250, stations=1).stations_needed(model) == 1


def test_venues_have_their_own_hours():
    assert venue(kind="school").hours == (time(7, 30), time(13, 30))
    assert venue(kind="community_meeting").hours[1] == time(21)
    evening_school = venue(kind="school", start=time(18), end=time(21))
    assert evening_school.hours == (time(18), time(21)) and evening_school.per_station(TurnoutModel()) == 45
    with pytest.raises(VenueError, match="both start and end"):
        venue(start=time(8))


def test_a_school_visit_is_planned_in_school_hours():
    school = venue(people=150)
    plan = plan_backlog(targets(), ["A", "B", "C", "D"], START, Constraints(venues=(school,)))
    assert {(a.start, a.end) for a in plan.on(school.date) if a.place == "SMA-1"} == {(time(7, 30), time(13, 30))}


@pytest.mark.parametrize(
    "change, words",
    [
        (dict(kind="mall"), "kind 'mall'"),
        (dict(venue_id="3372011001"), "must not look like a kelurahan code"),
        (dict(kelurahan_code="33.72.01"), "not a kelurahan code"),
        (dict(expected_people=0), "positive"),
        (dict(stations=0), "stations"),
    ],
)
def test_malformed_venues_are_refused_with_the_reason(change, words):
    with pytest.raises(VenueError, match=words):
        venue(**change)


@pytest.mark.parametrize("planner", [plan_rotation, plan_backlog])
def test_a_venue_claims_its_stations_on_its_date_and_its_people_count(planner):
    school = venue(people=150)
    stations = ["A", "B", "C", "D"]
    with_venue = planner(targets(), stations, START, Constraints(venues=(school,)))
    without = planner(targets(), stations, START)
    at_school = [a for a in with_venue.on(school.date) if a.place == "SMA-1"]
    assert len(at_school) == 2 and all(a.kelurahan == LAWEYAN and a.at_venue for a in at_school)
    assert len(with_venue.on(school.date)) <= len(stations)
    assert with_venue.at_kelurahan(LAWEYAN)[0] in with_venue.assignments
    result = simulate(with_venue)
    school_day = [v for v in result.visits if v.place == "SMA-1"]
    assert school_day and school_day[0].recorded == 150
    assert with_venue.assignments != without.assignments


def test_a_venue_short_of_stations_is_planned_with_what_is_free_and_warned_about():
    big = venue(people=500)  # six stations of 90 in school hours
    plan = plan_backlog(targets(), ["A", "B"], START, Constraints(venues=(big,)))
    assert len([a for a in plan.on(big.date) if a.place == "SMA-1"]) == 2
    assert any("SMA-1" in w and "needs 6 stations, only 2 free" in w for w in plan.warnings)


def test_a_venue_outside_the_targets_is_refused():
    elsewhere = venue(kelurahan_code="3372051011")
    with pytest.raises(PlanningError, match="SMA-1.*33.72.05.1011"):
        plan_backlog(targets(), ["A"], START, Constraints(venues=(elsewhere,)))


def test_two_venues_with_one_id_are_refused():
    with pytest.raises(PlanningError, match="used twice"):
        Constraints(venues=(venue(), venue(day=START + timedelta(days=2))))


def test_a_community_meeting_announces_the_campaign_and_brings_the_hard_to_reach_into_reach():
    """After a pengajian at Laweyan, its station visits find more residents; a school visit does not do that."""
    from controller.scheduler.bound import plan_bound, station_recorded

    def at_laweyan(kind: str) -> tuple[float, object, object]:
        meeting = venue(kind=kind, people=40, venue_id="PENGAJIAN-1", name="Pengajian Al-Ikhlas", day=START)
        plan = plan_backlog(targets(2000), ["A", "B", "C"], START, Constraints(venues=(meeting,)))
        result = simulate(plan)
        return sum(v.recorded for v in result.visits if v.place == LAWEYAN), plan, result

    announced, plan, result = at_laweyan("community_meeting")
    school, *_ = at_laweyan("school")
    share = TurnoutModel().params.announce_share
    hard_after_venue = 2000 * (1 - TurnoutModel().params.reach) - 40
    assert announced == pytest.approx(school + share * hard_after_venue, rel=0.05)
    bound = plan_bound(plan, station_recorded(result.visits), max_days=result.days + 5)
    assert bound.days is not None and bound.days <= result.days
