"""The campaign calendar: national holidays, cuti bersama, weekly days off.

This module owns which dates stations do not work. Rules:

- National holidays come from a maintained source, never a hand-kept list:
  ``lokal-id``'s holidays module (the yearly SKB 3 Menteri, libur nasional
  and cuti bersama as decreed) for the years it ships, and the ``holidays``
  package (Indonesia, computed; ``government`` category for cuti bersama)
  for every other year, such as Solo's 2013.
- Weekly days off are weekday numbers (``date.weekday()``: 0 Monday, 6
  Sunday); names in English or Bahasa Indonesia are accepted.
- A calendar is plain data; ``days_off`` turns it into the dates a
  ``Constraints`` needs for a stretch of days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays as holidays_lib
from lokal import holidays as lokal_holidays

from protocol.wib import weekday_number

from .model import PlanningError


def parse_weekday(value: str | int) -> int:
    """0-6, or a day's name in English or Indonesian (``"minggu"`` -> 6)."""
    day = weekday_number(value)
    if day is None:
        raise PlanningError(f"{value!r} is not a day of the week (0-6, or a name such as 'sunday' or 'minggu')")
    return day


@lru_cache(maxsize=64)
def _year(year: int, cuti_bersama: bool) -> tuple[tuple[date, str, str], ...]:
    if year in lokal_holidays.HOLIDAY_YEARS:
        found = lokal_holidays.get_holidays(year)
        return tuple(
            (date.fromisoformat(h.date), h.name, "lokal-id (" + found.decree + ")")
            for h in found.holidays
            if cuti_bersama or h.type == "libur_nasional"
        )
    categories = ("public", "government") if cuti_bersama else ("public",)
    table = holidays_lib.country_holidays("ID", years=year, categories=categories, language="id")
    return tuple((d, name, "holidays (python-holidays, Indonesia)") for d, name in sorted(table.items()))


def national_holidays(years: Iterable[int], *, cuti_bersama: bool = True) -> dict[date, str]:
    """Date -> name of every national holiday (and cuti bersama, if asked) in these years."""
    out: dict[date, str] = {}
    for year in sorted(set(years)):
        for d, name, _source in _year(year, cuti_bersama):
            out[d] = f"{out[d]}; {name}" if d in out and name not in out[d] else name
    return out


def holiday_source(year: int) -> str:
    """Which maintained source gives this year's holidays."""
    return "lokal-id" if year in lokal_holidays.HOLIDAY_YEARS else "holidays"


@dataclass(frozen=True)
class Calendar:
    weekdays_off: frozenset[int] = frozenset({6})
    holidays: bool = True
    cuti_bersama: bool = True
    extra_days_off: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekdays_off", frozenset(parse_weekday(d) for d in self.weekdays_off))
        object.__setattr__(self, "extra_days_off", frozenset(self.extra_days_off))
        if len(self.weekdays_off) == 7:
            raise PlanningError("every day of the week is a day off: no day is left to work")

    def days_off(self, start: date, days: int) -> frozenset[date]:
        """Holidays (if on) and extra days off from ``start`` for ``days`` calendar days."""
        end = start + timedelta(days=days)
        off = {d for d in self.extra_days_off if start <= d < end}
        if self.holidays:
            off |= {d for d in national_holidays(range(start.year, end.year + 1), cuti_bersama=self.cuti_bersama)
                    if start <= d < end}
        return frozenset(off)
