"""From the stored plan to what each station is told, and when.

The active plan lives in the store. On every tick this module works out each
station's assignment for today and the next few days and publishes it,
retained, to stations whose view changed, so a station that reconnects after
days offline finds its current assignment waiting. Re-planning is done by
:mod:`controller.scheduler`; this module only turns plans into messages.

Dates are local (WIB, UTC+7: Indonesia has no daylight saving).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Callable, Protocol

from controller.config import ScheduleSettings
from controller.store import AssignmentRow, Store
from protocol import regions
from protocol.messages import Assignment, AssignmentUpdate, Venue

log = logging.getLogger(__name__)

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")


class Publisher(Protocol):
    def publish_assignment(self, update: AssignmentUpdate) -> None: ...


def today_wib() -> dt.date:
    return dt.datetime.now(WIB).date()


class Planning:
    def __init__(self, store: Store, settings: ScheduleSettings, *,
                 today: Callable[[], dt.date] = today_wib, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self._today = today
        self._clock = clock
        self._published: dict[str, tuple] = {}

    def assigned_today(self) -> set[str]:
        plan = self.store.active_plan()
        if plan is None:
            return set()
        day = self._today().isoformat()
        return {a.station_id for a in self.store.assignments(plan[0], from_date=day) if a.date == day}

    def updates(self) -> list[AssignmentUpdate]:
        """Each station's current and upcoming assignments under the active plan."""
        plan = self.store.active_plan()
        if plan is None:
            return []
        plan_id = plan[0]
        today = self._today()
        horizon = (today + dt.timedelta(days=self.settings.publish_days_ahead)).isoformat()
        by_station: dict[str, list[AssignmentRow]] = {}
        for a in self.store.assignments(plan_id, from_date=today.isoformat()):
            if a.date <= horizon:
                by_station.setdefault(a.station_id, []).append(a)
        for st in self.store.stations():
            by_station.setdefault(st.station_id, [])
        out = []
        for station_id, rows in sorted(by_station.items()):
            rows.sort(key=lambda r: (r.date, r.start))
            current = next((r for r in rows if r.date == today.isoformat()), None)
            upcoming = [r for r in rows if r.date > today.isoformat()]
            out.append(AssignmentUpdate(
                station_id=station_id, issued_at=self._clock(), plan_id=plan_id,
                current=_message(current) if current else None,
                upcoming=[_message(r) for r in upcoming],
            ))
        return out

    def tick(self, publisher: Publisher) -> int:
        """Publish to stations whose assignments changed since the last tick; returns how many."""
        n = 0
        for update in self.updates():
            key = (update.plan_id, update.current, tuple(update.upcoming))
            if self._published.get(update.station_id) == key:
                continue
            publisher.publish_assignment(update)
            self._published[update.station_id] = key
            n += 1
        return n


def _message(row: AssignmentRow) -> Assignment:
    try:
        name = regions.kelurahan(row.kelurahan_code).name
    except regions.RegionError:
        name = ""
    venue = Venue(**row.venue) if row.venue else None
    return Assignment(row.assignment_id, row.date, row.start, row.end, row.kelurahan_code, name, venue)
