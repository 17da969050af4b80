"""The Solo 2013 facts, the rotation as Solo practised it, and the fit of the turnout model to them.

This module owns the link between the model and what was observed. Rules:

- The facts are the reported ones (``../shared/ARCHITECTURE.md``): recording
  moved to the kelurahan from 7 Oct 2013, "safari" style, 5 kelurahan at a
  time with 10 devices in the afternoon and evening; 16 kelurahan had been
  served by 25 Oct; five kelurahan recorded ~400 a day; a kelurahan day
  reached 180 (Pajang); 383,427 of 415,549 were recorded (92.26%, ~32,000
  left) with a deadline at the end of 2013.
- The announced rhythm was 3 days per block, yet 16 kelurahan by 25 Oct is
  slower than 5 every 3 working days (that would be 25). The model explains
  the pace by what the teams did: each team of two stayed at least the 3
  announced days and then for as long as a day there was still expected to
  give both stations the group minimum (20 each); then it moved to the next
  kelurahan in code order. That rotation is simulated on Solo's calendar
  (Sundays, Iduladha and its cuti bersama off) and its first-pass figures
  are what the fit matches.
- Fitted: ``per_station_hour``, ``reach``, ``daily_share`` (three facts,
  three parameters, so the fit itself is exact by construction and proves
  little), by a deterministic coarse-to-fine grid minimising the squared
  relative errors. What the fit never saw is the check: the first pass
  ending before the end-2013 deadline, reported with its days to spare.
  ``recovery_days`` is a prior the first pass does not identify; the
  sensitivity table shows what it and every fitted parameter move.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from .calendar import Calendar
from .model import KelurahanTarget
from .params import FITTED, MIN_PER_STATION_DAY, TurnoutParameters
from .state import Field
from .turnout import DEFAULT_HOURS, TurnoutModel

SOLO_START = date(2013, 10, 7)
SOLO_REPORT = date(2013, 10, 25)
SOLO_DEADLINE = date(2013, 12, 31)
SOLO_CALENDAR = Calendar(weekdays_off=frozenset({6}), holidays=True, cuti_bersama=True)
TEAMS, PER_TEAM, ANNOUNCED_DAYS = 5, 2, 3


@dataclass(frozen=True)
class Fact:
    name: str
    field: float | str
    model: float | str
    #: relative error when both are numbers (None otherwise)
    error: float | None
    #: what the fact is to the model: "fitted" (the fit matched it), "held out" (a check the fit never saw)
    #: or "input" (a figure of the targets themselves)
    role: str = "fitted"

    @property
    def within(self) -> bool | None:
        return None if self.error is None else abs(self.error) <= 0.15


@dataclass(frozen=True)
class FirstPass:
    served_by_report: int  # kelurahan whose stay had ended by 25 Oct
    daily_mean: float  # recorded a working day, 7-25 Oct, all five teams
    best_day: float  # the most one kelurahan recorded in a day, first pass
    first_pass_end: date | None  # the day the last kelurahan's stay ended
    recorded_by_deadline: float
    backlog: float


def practised_rotation(targets: Sequence[KelurahanTarget], params: TurnoutParameters,
                       start: date = SOLO_START, report: date = SOLO_REPORT,
                       deadline: date = SOLO_DEADLINE, min_people: float = MIN_PER_STATION_DAY) -> FirstPass:
    """One pass of Solo's safari as practised: five teams of two, each stays 3 days, then while it pays."""
    model = TurnoutModel(params)
    fld = Field(Field.fresh(targets, params))
    backlog = float(fld.left.sum())
    off = SOLO_CALENDAR.days_off(start, 400)
    days = [start + timedelta(days=i) for i in range(400)]
    days = [d for d in days if d.weekday() not in SOLO_CALENDAR.weekdays_off and d not in off]
    queue = list(range(len(fld.codes)))
    team: list[int | None] = [None] * TEAMS
    stay = [0] * TEAMS
    served = 0
    daily: list[float] = []
    best = 0.0
    end = None
    recorded_by_deadline = 0.0
    for n, day in enumerate(days):
        for j in range(TEAMS):
            if team[j] is None and queue:
                team[j], stay[j] = queue.pop(0), 0
        total = 0.0
        for j in range(TEAMS):
            k = team[j]
            if k is None:
                continue
            got = float(model.expected(fld.reachable[k], PER_TEAM, float(fld.gap(day, k)), DEFAULT_HOURS))
            fld.record_visit(k, got, day)
            total += got
            best = max(best, got)
            stay[j] += 1
            tomorrow = days[n + 1] if n + 1 < len(days) else day + timedelta(days=1)
            ahead = float(model.expected(fld.reachable[k], PER_TEAM, float(fld.gap(tomorrow, k)), DEFAULT_HOURS))
            if stay[j] >= ANNOUNCED_DAYS and ahead < PER_TEAM * min_people:
                team[j] = None
                served += day <= report
        if day <= report:
            daily.append(total)
        if day <= deadline:
            recorded_by_deadline += total
        if not queue and all(t is None for t in team):
            end = day
            break
    return FirstPass(served, float(np.mean(daily)) if daily else 0.0, best, end, recorded_by_deadline, backlog)


def facts(targets: Sequence[KelurahanTarget], params: TurnoutParameters = FITTED) -> list[Fact]:
    """Each reported Solo fact beside the model's figure."""
    p = practised_rotation(targets, params)
    wajib = sum(t.wajib_ktp for t in targets)
    recorded = sum(t.recorded for t in targets)

    def rel(model: float, field: float) -> float:
        return (model - field) / field

    end = p.first_pass_end
    if end is None:
        verdict = "no (never)"
    elif end <= SOLO_DEADLINE:
        verdict = f"yes, {(SOLO_DEADLINE - end).days} days to spare ({end})"
    else:
        verdict = f"no, {(end - SOLO_DEADLINE).days} days late ({end})"
    return [
        Fact("campaign start (kelurahan safari)", "2013-10-07", SOLO_START.isoformat(), None, "input"),
        Fact("kelurahan served by 25 Oct", 16, p.served_by_report, rel(p.served_by_report, 16)),
        Fact("recorded a day, 5 kelurahan x 2 stations", 400, round(p.daily_mean), rel(p.daily_mean, 400)),
        Fact("best kelurahan day (Pajang, 2 stations)", 180, round(p.best_day), rel(p.best_day, 180)),
        Fact("recorded at the start (of 415,549)", "383,427 (92.26%)",
             f"{recorded:,} ({100 * recorded / wajib:.2f}%)", rel(recorded, 383_427), "input"),
        Fact("left at the start", "~32,000", f"{wajib - recorded:,}", rel(wajib - recorded, 32_000), "input"),
        Fact("first pass done by the end-2013 deadline", "yes (31 Dec)", verdict, None, "held out"),
    ]


def _loss(targets: Sequence[KelurahanTarget], params: TurnoutParameters) -> float:
    p = practised_rotation(targets, params)
    return ((p.served_by_report - 16) / 16) ** 2 + ((p.daily_mean - 400) / 400) ** 2 + ((p.best_day - 180) / 180) ** 2


def fit(targets: Sequence[KelurahanTarget], prior: TurnoutParameters = FITTED) -> tuple[TurnoutParameters, float]:
    """The (per_station_hour, reach, daily_share) that best reproduce the first-pass facts, and the loss.

    Pajang's 180 with two stations in six hours sets the capacity
    (15 an hour) when that day was at capacity; the grid then searches reach
    and daily share, coarse (0.05) then fine (0.01), and finally the capacity
    around 15. Deterministic: the first best point in grid order wins ties.
    """
    best = (math.inf, prior)

    def consider(p: TurnoutParameters) -> None:
        nonlocal best
        loss = _loss(targets, p)
        if loss < best[0] - 1e-12:
            best = (loss, p)

    base = replace(prior, per_station_hour=180 / (PER_TEAM * 6))
    for reach in np.arange(0.40, 1.0001, 0.05):
        for share in np.arange(0.15, 0.8001, 0.05):
            consider(replace(base, reach=round(float(reach), 2), daily_share=round(float(share), 2)))
    centre = best[1]
    for reach in np.arange(centre.reach - 0.05, centre.reach + 0.0501, 0.01):
        for share in np.arange(centre.daily_share - 0.05, centre.daily_share + 0.0501, 0.01):
            if 0 < reach <= 1 and 0 < share <= 1:
                consider(replace(centre, reach=round(float(reach), 2), daily_share=round(float(share), 2)))
    centre = best[1]
    for rate in np.arange(centre.per_station_hour - 2.5, centre.per_station_hour + 2.501, 0.5):
        consider(replace(centre, per_station_hour=round(float(rate), 2)))
    return best[1], best[0]
