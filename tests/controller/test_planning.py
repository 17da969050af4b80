"""Plans in the store, re-planning from the field, and what stations are told."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from controller.config import ScheduleSettings
from controller.scheduler.codec import plan_from_json, plan_to_json
from controller.scheduler.service import Planning
from controller.scheduler import Constraints, PlanningError, Venue, plan_backlog, solo_2013_targets
from controller.store import Store
from protocol.keys import SigningKey

STATIONS = [f"st-{i:02d}" for i in range(1, 11)]
START = dt.date(2013, 10, 1)


class Day:
    def __init__(self, d: dt.date) -> None:
        self.d = d

    def __call__(self) -> dt.date:
        return self.d


class Recorder:
    def __init__(self) -> None:
        self.updates = []

    def publish_assignment(self, update) -> None:
        self.updates.append(update)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "c.db") as s:
        for sid in STATIONS:
            k = SigningKey.generate().public
            s.add_station(sid, k.to_pem(), k.kid)
        yield s


def test_plan_json_round_trip_with_venues_homes_deadline_and_state():
    venue = Venue("v-sma1", "school", "SMA Negeri 1", "Jl. Monginsidi", "33.72.05.1001", START + dt.timedelta(days=2), 60)
    homes = {"st-01": "33.72.01", "st-02": "33.72"}
    plan = plan_backlog(solo_2013_targets(), STATIONS, START, Constraints(venues=(venue,)), homes=homes,
                        deadline=dt.date(2013, 12, 31), horizon_days=30)
    again = plan_from_json(json.loads(json.dumps(plan_to_json(plan))))
    assert again == plan
    assert again.state == plan.state and again.homes == homes and again.deadline == dt.date(2013, 12, 31)
    assert [a.reason for a in again.assignments] == [a.reason for a in plan.assignments]
    inf = plan_to_json(plan)
    inf["parameters"]["priority_weight"] = float("inf")
    assert plan_from_json(json.loads(json.dumps(plan_to_json(plan_from_json(inf))))).parameters[
        "priority_weight"] == float("inf")


@pytest.mark.parametrize("change, where", [
    (lambda d: d["targets"][3].__setitem__(4, "many"), r"\$\.targets\[3\]\[4\]"),
    (lambda d: d["assignments"][0].__setitem__(4, "3pm"), r"\$\.assignments\[0\]\[4\]"),
    (lambda d: d.pop("start"), "start"),
    (lambda d: d["constraints"]["venues"][0].__setitem__("expected_people", 0), "expected_people"),
])
def test_a_stored_plan_that_does_not_fit_is_refused_naming_the_field(change, where):
    venue = Venue("v-sma1", "school", "SMA Negeri 1", "", "33.72.05.1001", START + dt.timedelta(days=2), 60)
    doc = plan_to_json(plan_backlog(solo_2013_targets(), STATIONS, START, Constraints(venues=(venue,)),
                                    horizon_days=5))
    change(doc)
    with pytest.raises(PlanningError, match=where):
        plan_from_json(doc)


def test_publishes_each_station_its_assignment_once(store):
    day = Day(START)
    planning = Planning(store, ScheduleSettings(), today=day)
    planning.load_targets(solo_2013_targets())
    plan = planning.make_plan("backlog", STATIONS, START)
    pub = Recorder()
    assert planning.tick(pub) == 10
    first = {u.station_id: u for u in pub.updates}
    for sid in STATIONS:
        a = plan.assignment(sid, START)
        assert first[sid].current.kelurahan_code == a.kelurahan
        assert first[sid].current.date == START.isoformat()
    assert planning.tick(pub) == 0  # nothing changed, nothing re-sent
    assert planning.assigned_today() == {a.station_id for a in plan.on(START)}


def test_station_offline_during_assignment_is_replanned_from_tomorrow(store):
    day = Day(START)
    planning = Planning(store, ScheduleSettings(), today=day)
    planning.load_targets(solo_2013_targets())
    plan = planning.make_plan("backlog", STATIONS, START)
    pub = Recorder()
    planning.tick(pub)
    store.raise_alarm("st-03", "offline", "offline for 20 min during its assignment")
    pub.updates.clear()
    planning.tick(pub)
    new = planning.active()
    assert new is not plan
    tomorrow = START + dt.timedelta(days=1)
    assert new.assignment("st-03", START) == plan.assignment("st-03", START)  # today untouched
    assert new.for_station("st-03") == tuple(a for a in plan.for_station("st-03") if a.date <= START)
    told = {u.station_id: u for u in pub.updates}
    assert "st-03" in told and told["st-03"].upcoming == []
    assert planning.history and "st-03 offline" in planning.history[-1][1]
    # why, stored with the plan itself (with or without a dashboard): newest first, the first plan last
    entries = store.plan_entries()
    assert "st-03 offline" in entries[0].reason and entries[-1].reason == "new plan"
    # the alarm clears because st-03 has nothing assigned any more: that alone does not bring it back
    store.clear_alarm("st-03", "offline")
    planning.tick(pub)
    assert planning.active().assignment("st-03", tomorrow + dt.timedelta(days=1)) is None
    # it comes back online: planned again from tomorrow
    store.record_state("st-03", True, 2, "0.1.0", {}, time.time())
    planning.tick(pub)
    assert planning.active().assignment("st-03", tomorrow + dt.timedelta(days=1)) is not None


def test_kelurahan_finished_early_frees_its_stations(store):
    day = Day(START)
    planning = Planning(store, ScheduleSettings(), today=day)
    targets = solo_2013_targets()
    planning.load_targets(targets)
    plan = planning.make_plan("backlog", STATIONS, START)
    code = plan.on(START)[0].kelurahan
    t = next(x for x in targets if x.code == code)
    assert any(a.date > START for a in plan.at_kelurahan(code))
    # the operator's import says everyone there is recorded now
    store.upsert_kelurahan([(t.code, t.name, t.kecamatan_code, t.kecamatan, t.wajib_ktp, t.wajib_ktp)])
    planning.tick(Recorder())
    new = planning.active()
    assert not any(a.date > START for a in new.at_kelurahan(code))
    assert "finished" in planning.history[-1][1]


def test_outreach_event_gets_stations_and_a_new_one_triggers_a_replan(store):
    from controller.scheduler.codec import venue_to_json

    day = Day(START)
    planning = Planning(store, ScheduleSettings(), today=day)
    planning.load_targets(solo_2013_targets())
    school = Venue("sma1", "school", "SMA Negeri 1", "Jl. Monginsidi 40", "33.72.05.1001",
                   START + dt.timedelta(days=1), 60)
    store.add_venue(venue_to_json(school))
    plan = planning.make_plan("backlog", STATIONS, START)
    at_school = [a for a in plan.on(START + dt.timedelta(days=1)) if a.place == "sma1"]
    assert at_school and all(a.kelurahan == "33.72.05.1001" for a in at_school)
    pub = Recorder()
    planning.tick(pub)
    told = [u for u in pub.updates if any(x.venue and x.venue.venue_id == "sma1" for x in u.upcoming)]
    assert told and told[0].upcoming[0].venue.name == "SMA Negeri 1"

    market = Venue("pasar-gede", "market", "Pasar Gede", "Jl. Urip Sumoharjo", "33.72.04.1001",
                   START + dt.timedelta(days=2), 30)
    store.add_venue(venue_to_json(market))
    planning.tick(pub)
    assert "outreach events changed" in planning.history[-1][1]
    assert any(a.place == "pasar-gede" for a in planning.active().on(START + dt.timedelta(days=2)))


def test_group_venue_needs_twenty_people():
    from controller.scheduler import VenueError

    with pytest.raises(VenueError, match="20"):
        Venue("rt05", "community_meeting", "Pengajian RT 05", "", "33.72.05.1001", START, 12)
