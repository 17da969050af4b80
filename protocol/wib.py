"""Western Indonesia Time: the one clock every schedule date in rekam is read on.

Assignments, plans and "today" are local dates in WIB (UTC+7; Indonesia keeps
no daylight saving), so station and controller agree on what day it is
wherever their system clocks are set.
"""

from __future__ import annotations

import datetime as dt
import time

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")


def today(now: float | None = None) -> dt.date:
    """The WIB date at ``now`` (seconds since the epoch; default: the current time)."""
    return dt.datetime.fromtimestamp(time.time() if now is None else now, WIB).date()


_WEEKDAYS = {
    "monday": 0, "senin": 0, "tuesday": 1, "selasa": 1, "wednesday": 2, "rabu": 2, "thursday": 3, "kamis": 3,
    "friday": 4, "jumat": 4, "jum'at": 4, "saturday": 5, "sabtu": 5, "sunday": 6, "minggu": 6, "ahad": 6,
}


def weekday_number(value: object) -> int | None:
    """0 (Monday) .. 6 (Sunday) from a number, a digit or a day's name in English or Indonesian; else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= 6 else None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _WEEKDAYS:
            return _WEEKDAYS[text]
        if text in {"0", "1", "2", "3", "4", "5", "6"}:
            return int(text)
    return None
