"""The campaign calendar: holidays from maintained sources, cuti bersama, weekly days off."""

from __future__ import annotations

from datetime import date

import pytest

from controller.scheduler import Calendar, PlanningError, national_holidays
from controller.scheduler.calendar import holiday_source, parse_weekday


def test_solo_2013_holidays_come_from_the_holidays_package():
    days = national_holidays([2013])
    assert holiday_source(2013) == "holidays"
    assert date(2013, 10, 15) in days  # Iduladha 1434 H, in Solo's first fortnight
    assert date(2013, 12, 25) in days and date(2013, 8, 17) in days
    assert date(2013, 10, 14) in days  # its cuti bersama
    assert date(2013, 10, 14) not in national_holidays([2013], cuti_bersama=False)


def test_years_lokal_id_ships_come_from_its_official_decree():
    assert holiday_source(2026) == "lokal-id"
    days = national_holidays([2026])
    assert days[date(2026, 3, 21)].startswith("Idulfitri")
    assert date(2026, 3, 20) in days  # cuti bersama, per the SKB
    assert date(2026, 3, 20) not in national_holidays([2026], cuti_bersama=False)


def test_a_calendar_gives_the_days_off_of_a_stretch():
    cal = Calendar(weekdays_off=frozenset({"minggu"}), extra_days_off=frozenset({date(2013, 10, 10)}))
    off = cal.days_off(date(2013, 10, 7), 30)
    assert {date(2013, 10, 10), date(2013, 10, 14), date(2013, 10, 15)} <= off
    assert all(date(2013, 10, 7) <= d < date(2013, 11, 6) for d in off)
    assert cal.weekdays_off == frozenset({6})
    assert not Calendar(holidays=False).days_off(date(2013, 10, 7), 30)


@pytest.mark.parametrize("name, day", [("sunday", 6), ("Minggu", 6), ("jumat", 4), (0, 0), ("SABTU", 5)])
def test_weekdays_by_name_in_english_or_indonesian(name, day):
    assert parse_weekday(name) == day


def test_nonsense_days_off_are_refused():
    with pytest.raises(PlanningError, match="'someday'"):
        parse_weekday("someday")
    with pytest.raises(PlanningError, match="every day"):
        Calendar(weekdays_off=frozenset(range(7)))
