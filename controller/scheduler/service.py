"""The controller's schedule: stored plans, re-planning from the field, and what each station is told.

The active plan is kept whole in the store. On every tick this module

* re-plans from tomorrow when the field departs from the plan: a station
  went offline during its assignment (it is taken out until it returns) or
  came back, a kelurahan reached its target while visits are still planned
  there, or a new day began (actual recordings replace the plan's guesses);
* publishes, retained, each station's assignment for today and the next few
  days to the stations whose view changed, so a station that reconnects after
  days offline finds its current assignment waiting.

Everything in ``[schedule]`` reaches the planner: the hours, the campaign
start and deadline, national holidays and cuti bersama, weekly days off, the
stop rule's minimum, priority weights and stations' home areas. A re-plan
keeps them, because the plan carries them.

Dates are local (WIB, UTC+7: Indonesia has no daylight saving).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import uuid
from typing import Callable, Protocol

from controller.config import ScheduleSettings
from controller.scheduler import (
    PLANNERS,
    Constraints,
    KelurahanTarget,
    Plan,
    PlanningError,
    Replan,
    TurnoutModel,
    replan,
)
from controller.scheduler.calendar import Calendar
from controller.scheduler.dayloop import DEFAULT_HORIZON_DAYS, HOME_PREFIX
from controller.scheduler.model import parse_hours
from controller.scheduler.codec import (
    plan_from_json,
    plan_to_json,
    venue_from_json,
    venue_to_json,
)
from controller.store import AssignmentRow, Store
from protocol import regions, wib
from protocol.messages import Assignment, AssignmentUpdate, Venue

log = logging.getLogger(__name__)

class Publisher(Protocol):
    def publish_assignment(self, update: AssignmentUpdate) -> None: ...


class Planning:
    def __init__(self, store: Store, settings: ScheduleSettings, *,
                 today: Callable[[], dt.date] = wib.today, clock: Callable[[], float] = time.time,
                 silent_after_s: float = 180.0) -> None:
        self.store = store
        self.silent_after_s = silent_after_s
        self.settings = settings
        self._today = today
        self._clock = clock
        self._published: dict[str, tuple] = {}
        self._plan: tuple[str, Plan] | None = None
        self._last_day: dt.date | None = None
        self._out: frozenset[str] | None = None
        self._unreadable: str | None = None
        #: Re-plans done, with their reason, for the operator and the demo.
        self.history: list[tuple[dt.date, str, int]] = []

    # -- targets -------------------------------------------------------------------
    def load_targets(self, targets: tuple[KelurahanTarget, ...] | list[KelurahanTarget]) -> None:
        self.store.upsert_kelurahan([(t.code, t.name, t.kecamatan_code, t.kecamatan, t.wajib_ktp, t.recorded)
                                     for t in targets])

    def targets_now(self) -> tuple[KelurahanTarget, ...]:
        """Targets with what is recorded so far (before the campaign plus stored here)."""
        return tuple(KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, p.wajib_ktp,
                                     min(p.recorded, p.wajib_ktp)) for p in self.store.progress())

    # -- plans -----------------------------------------------------------------------
    def calendar(self) -> Calendar:
        s = self.settings
        return Calendar(weekdays_off=frozenset(s.weekly_days_off), holidays=s.holidays,
                        cuti_bersama=s.cuti_bersama)

    def model(self) -> TurnoutModel:
        s = self.settings
        if s.station_capacity:
            return TurnoutModel.with_capacity(s.station_capacity, parse_hours((s.start, s.end)))
        return TurnoutModel()

    def start_date(self) -> dt.date:
        """The campaign's first day, or today once it has begun (or when none is set)."""
        today = self._today()
        first = dt.date.fromisoformat(self.settings.campaign_start) if self.settings.campaign_start else today
        return max(first, today)

    def make_plan(self, planner: str, station_ids: list[str], start: dt.date | None = None, *,
                  model: TurnoutModel | None = None, **parameters) -> Plan:
        fn = PLANNERS.get(planner)
        if fn is None:
            raise PlanningError(f"planner must be one of {', '.join(PLANNERS)}, got {planner!r}")
        targets = self.targets_now()
        if not targets:
            raise PlanningError("no kelurahan targets in the store: import them first "
                                "(rekam controller targets import FILE.csv, or targets solo2013)")
        start = start or self.start_date()
        s = self.settings
        venues = tuple(venue_from_json(v) for v in self.store.venues(from_date=start.isoformat()))
        cal = self.calendar()
        constraints = Constraints(days_off=cal.days_off(start, DEFAULT_HORIZON_DAYS), weekdays_off=cal.weekdays_off,
                                  venues=venues)
        homes = {st: area for st, area in s.home_areas.items() if st in station_ids}
        options = dict(min_people=s.min_per_station_day, homes=homes,
                       deadline=dt.date.fromisoformat(s.deadline) if s.deadline else None)
        if planner == "backlog":
            options["priority_weight"] = s.priority_weight
        plan = fn(targets, station_ids, start, constraints, model=model or self.model(),
                  hours=(s.start, s.end), **{**options, **parameters})
        self._save(plan, reason="new plan")
        return plan

    def active(self) -> Plan | None:
        row = self.store.active_plan()
        if row is None:
            return None
        plan_id, _planner, params = row
        if self._plan is None or self._plan[0] != plan_id:
            try:
                self._plan = (plan_id, plan_from_json(params))
            except PlanningError as exc:
                if self._unreadable != plan_id:
                    log.error("active plan %s cannot be read (%s); make a new one with "
                              "`rekam controller schedule plan`", plan_id, exc)
                    self._unreadable = plan_id
                return None
        return self._plan[1]

    def active_id(self) -> str | None:
        row = self.store.active_plan()
        return row[0] if row else None

    def _save(self, plan: Plan, *, reason: str, stations: int | None = None, station_days: int | None = None) -> str:
        plan_id = f"plan-{uuid.uuid4().hex[:12]}"
        venues = plan.constraints.venue_by_id
        rows = [AssignmentRow(f"{plan_id}:{a.station_id}:{a.date.isoformat()}", plan_id, a.station_id,
                              a.date.isoformat(), a.start.strftime("%H:%M"), a.end.strftime("%H:%M"), a.kelurahan,
                              _venue_message(venues[a.place]) if a.at_venue and a.place in venues
                              else _home_message(a.place) if a.place.startswith(HOME_PREFIX) else None)
                for a in plan.assignments]
        self.store.save_plan(plan_id, plan.planner, plan_to_json(plan), rows, reason=reason,
                             day=self._today().isoformat(),
                             stations=len(plan.station_ids) if stations is None else stations,
                             station_days=station_days)
        self._plan = (plan_id, plan)
        log.info("plan %s (%s, %s): %d station-days to %s", plan_id, plan.planner, reason, len(rows), plan.end)
        return plan_id

    # -- re-planning from the field -------------------------------------------------------
    def out_stations(self) -> frozenset[str]:
        """Stations taken out of the plan: alarmed offline during an assignment, and kept
        out until they are online again (without assignments they raise no new alarm)."""
        alarmed = {a.station_id for a in self.store.open_alarms() if a.kind == "offline"}
        now = self._clock()
        # "online" but silent counts as offline too: a lost will must not bring it back in
        still_offline = {st.station_id for st in self.store.stations()
                         if not st.online or st.last_seen is None or now - st.last_seen > self.silent_after_s}
        return frozenset(alarmed | ((self._out or frozenset()) & still_offline))

    def maybe_replan(self) -> Replan | None:
        plan = self.active()
        if plan is None:
            return None
        today = self._today()
        tomorrow = today + dt.timedelta(days=1)
        out = self.out_stations() & set(plan.station_ids)
        reasons = []
        if self._last_day is not None and today != self._last_day:
            reasons.append("new day")
        if self._out is not None and out != self._out:
            gone, back = sorted(out - self._out), sorted(self._out - out)
            reasons += [f"{s} offline" for s in gone] + [f"{s} back" for s in back]
        targets = {t.code: t for t in plan.targets}
        actual = {}
        for p in self.store.progress():
            if p.code in targets:
                actual[p.code] = min(p.recorded, p.wajib_ktp)
        finished_early = sorted(code for code, t in targets.items()
                                if actual.get(code, 0) >= t.wajib_ktp
                                and any(a.date >= tomorrow for a in plan.at_kelurahan(code)))
        reasons += [f"kelurahan {code} finished" for code in finished_early]
        venues = tuple(venue_from_json(v) for v in self.store.venues(from_date=tomorrow.isoformat()))
        planned = tuple(v for v in plan.constraints.venues if v.date >= tomorrow)
        if {v.venue_id for v in venues} != {v.venue_id for v in planned}:
            reasons.append("outreach events changed")
        if not reasons or tomorrow < plan.start:
            self._last_day, self._out = today, out
            return None
        # Stations are taken out only by this module, so one that is back is simply let in again.
        c = plan.constraints
        base = dataclasses.replace(plan, constraints=Constraints(
            c.days_off, c.weekdays_off, c.unavailable, {s: d for s, d in c.dropped_out.items() if s in out}, c.venues))
        result = replan(base, tomorrow, actual_recorded=actual, unavailable_stations=sorted(out - set(c.dropped_out)),
                        venues=venues)
        # Only now: a re-plan that raised is tried again at the next tick, reasons and all.
        self._last_day, self._out = today, out
        if not result.changed:
            return result
        self._save(result.plan, reason=", ".join(reasons), stations=len(result.stations),
                   station_days=len(result.changed))
        self.history.append((today, ", ".join(reasons), len(result.stations)))
        log.info("re-planned from %s (%s): %d station(s) get new assignments, %d station-day(s) changed", tomorrow,
                 ", ".join(reasons), len(result.stations), len(result.changed))
        return result

    # -- what stations are told ---------------------------------------------------------------
    def assigned_today(self) -> set[str]:
        plan = self.active()
        if plan is None:
            return set()
        return {a.station_id for a in plan.on(self._today())}

    def updates(self) -> list[AssignmentUpdate]:
        """Each station's current and upcoming assignments under the active plan."""
        plan_id = self.active_id()
        if plan_id is None:
            return []
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
        """Re-plan if the field asks for it, then publish to stations whose view changed."""
        try:
            self.maybe_replan()
        except PlanningError as exc:
            log.error("re-planning failed, keeping the current plan: %s", exc)
        n = 0
        for update in self.updates():
            key = (tuple(_stable(update.current)), tuple(tuple(_stable(u)) for u in update.upcoming))
            if self._published.get(update.station_id) == key:
                continue
            publisher.publish_assignment(update)
            self._published[update.station_id] = key
            n += 1
        return n


def _stable(a: Assignment | None) -> tuple:
    """An assignment without its plan-specific id: a re-plan that changes nothing re-publishes nothing."""
    if a is None:
        return ()
    return (a.date, a.start, a.end, a.kelurahan_code, a.venue)


def _venue_message(v) -> dict:
    d = venue_to_json(v)
    return {"venue_id": d["venue_id"], "kind": d["kind"], "name": d["name"], "address": d["address"],
            "expected_people": d["expected_people"]}


def _home_message(place: str) -> dict:
    """A home-visit round: the kelurahan's elderly, sick and disabled residents, at home."""
    return {"venue_id": place, "kind": "home_visit", "name": "Kunjungan rumah (lansia, sakit, disabilitas)",
            "address": "", "expected_people": 0}


def _message(row: AssignmentRow) -> Assignment:
    try:
        name = regions.kelurahan(row.kelurahan_code).name
    except regions.RegionError:
        name = ""
    venue = Venue(**row.venue) if row.venue else None
    return Assignment(row.assignment_id, row.date, row.start, row.end, row.kelurahan_code, name, venue)
