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
