"""[schedule] in controller.toml reaches the planner: calendar, deadline, stop rule, home areas."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from controller import config as config_mod
from controller.errors import ConfigError
from controller.scheduler import solo_2013_targets
from controller.scheduler.service import Planning
from controller.store import Store
from protocol.keys import SigningKey

SCHEDULE = """
[schedule]
campaign_start = "2013-10-07"
deadline = "2013-12-31"
weekly_days_off = ["minggu"]
min_per_station_day = 25
[schedule.home_areas]
st-01 = "33.72.01"
st-02 = "3372"
"""


def settings(text: str = SCHEDULE):
    return config_mod.from_mapping(tomllib.loads(text), base_dir=Path("/tmp")).schedule


def test_the_schedule_fields_are_read():
    s = settings()
    assert (s.campaign_start, s.deadline, s.weekly_days_off, s.min_per_station_day) == (
        "2013-10-07", "2013-12-31", ("minggu",), 25)
    assert dict(s.home_areas) == {"st-01": "33.72.01", "st-02": "3372"}
    assert s.holidays and s.cuti_bersama and s.station_capacity == 0
    assert settings(config_mod.EXAMPLE).min_per_station_day == 20


@pytest.mark.parametrize("text, field", [
    ('[schedule]\ndeadline = "31-12-2013"', "schedule.deadline"),
    ("[schedule]\nweekly_days_off = \"sunday\"", "schedule.weekly_days_off"),
    ("[schedule]\nmin_per_station_day = 0", "schedule.min_per_station_day"),
    ("[schedule.home_areas]\nst-01 = 3372", "schedule.home_areas"),
    ('[schedule]\nweekly_days_off = ["someday"]', "schedule.weekly_days_off"),
    ("[schedule]\nweekly_days_off = [7]", "schedule.weekly_days_off"),
    ('[schedule]\ncampaign_start = "2013-02-30"', "schedule.campaign_start"),
])
def test_bad_schedule_fields_are_named(text, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        settings(text)


def test_the_controller_passes_everything_to_the_planner(tmp_path):
    with Store(tmp_path / "c.db") as store:
        ids = [f"st-{i:02d}" for i in range(1, 11)]
        for sid in ids:
            k = SigningKey.generate().public
            store.add_station(sid, k.to_pem(), k.kid)
        planning = Planning(store, settings(), today=lambda: dt.date(2013, 10, 1))
        planning.load_targets(solo_2013_targets())
        plan = planning.make_plan("backlog", ids)
    assert plan.start == dt.date(2013, 10, 7)  # the campaign start, not today
    assert plan.deadline == dt.date(2013, 12, 31) and plan.parameters["min_people"] == 25
    assert not plan.on(dt.date(2013, 10, 15)) and not plan.on(dt.date(2013, 10, 14))  # Iduladha, cuti bersama
    assert not plan.on(dt.date(2013, 10, 13))  # a Sunday
    assert plan.homes == {"st-01": "33.72.01", "st-02": "33.72"}
    assert all(a.kelurahan.startswith("33.72.01") or a.reason for a in plan.for_station("st-01"))


@pytest.mark.parametrize("days_off", [[6], ["6"], ["sunday"], ["Minggu"]])
def test_a_day_off_by_number_or_by_name_reaches_the_calendar(days_off):
    s = settings(f"[schedule]\nweekly_days_off = {days_off!r}".replace("'", '"'))
    with Store(":memory:") as store:
        assert Planning(store, s).calendar().weekdays_off == {6}
