"""What ``rekam controller schedule simulate`` prints: the fit, the bound, the baselines, coverage, sensitivity.

Every table goes through ``adapters.terminal`` (rich), like the rest of the
CLI. The fit is always against Solo's facts (they are Solo's), whatever
targets the rest of the report runs on.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence

from adapters.terminal import show, table

from .calendar import Calendar
from .coverage import share_by
from .fit import SOLO_DEADLINE, SOLO_START, facts
from .model import Constraints, KelurahanTarget, parse_hours
from .params import FITTED, ORIGIN
from .sensitivity import headline, rows, sensitivity
from .targets import solo_2013_targets
from .turnout import TurnoutModel


def simulate_report(targets: Sequence[KelurahanTarget], n_stations: int, settings=None, *,
                    start: dt.date | None = None, deadline: dt.date | None = None, capacity: int | None = None,
                    residue_rows: int = 15) -> None:
    hours = parse_hours((settings.start, settings.end) if settings else ("15:00", "21:00"))
    if start is None:
        start = dt.date.fromisoformat(settings.campaign_start) if settings and settings.campaign_start else SOLO_START
    if deadline is None:
        deadline = dt.date.fromisoformat(settings.deadline) if settings and settings.deadline else SOLO_DEADLINE
    minimum = settings.min_per_station_day if settings else 20
    capacity = capacity if capacity is not None else (settings.station_capacity if settings else 0)
    model = TurnoutModel.with_capacity(capacity, hours) if capacity else TurnoutModel()
    cal = Calendar(weekdays_off=frozenset(settings.weekly_days_off) if settings else frozenset({6}),
                   holidays=settings.holidays if settings else True,
                   cuti_bersama=settings.cuti_bersama if settings else True)
    constraints = Constraints(days_off=cal.days_off(start, 1096), weekdays_off=cal.weekdays_off)
    stations = [f"s{i:03d}" for i in range(1, n_stations + 1)]
    backlog = sum(t.remaining for t in targets)
    print(f"{len(targets)} kelurahan, {backlog:,} residents left of {sum(t.wajib_ktp for t in targets):,} wajib KTP; "
          f"{n_stations} stations, {hours[0]:%H:%M}-{hours[1]:%H:%M}; from {start}, deadline {deadline}; "
          f"days off: {', '.join(_DAYS[d] for d in sorted(cal.weekdays_off)) or 'none'} weekly"
          f"{' + national holidays' if cal.holidays else ''}{' and cuti bersama' if cal.cuti_bersama else ''}; "
          f"stop rule: no station-day under {minimum:g}")

    show(table(["parameter", "value", "origin"],
               [[n, f"{v:g}", ORIGIN[n]] for n, v in model.params.as_dict().items()],
               title="Turnout model (controller/scheduler/params.py)", numeric=["value"]))
    show(table(["Solo 2013 fact", "to the model", "reported", "model", "error", "within 15%"],
               [[f.name, f.role, f.field, f.model, f"{100 * f.error:+.1f}%" if f.error is not None else "-",
                 {True: "yes", False: "NO", None: "-"}[f.within]] for f in facts(solo_2013_targets(), FITTED)],
               title="Fit: each reported fact beside the model's figure (Solo's rotation as practised)"))

    _working_out("the model as fitted")
    head = headline("as fitted", targets, stations, start, constraints, model, deadline=deadline,
                    min_people=minimum, hours=hours)
    r, cov = head.result, head.coverage
    ratio = f"{head.ratio:.3f}" if head.ratio else "-"
    show(table(["plan", "days", "finish", "station-days", "idle", "below minimum", "moves", "recorded",
                "LP bound (days)", "days / bound"],
               [["backlog", r.days, r.finish_date, r.station_days_used, r.idle_station_days, r.below_minimum,
                 r.moves, f"{r.recorded:,.0f}", head.bound_days, ratio]],
               title="The plan and the independent bound (LP relaxation, HiGHS)",
               numeric=["days", "station-days", "idle", "below minimum", "moves", "LP bound (days)"]))
    champion = head.best_baseline
    show(table(["rotation variant", "days", "finish", f"days to record {r.recorded:,.0f}", "recorded",
                f"share by {deadline}", "best"],
               [[b.variant.name, b.result.days, b.result.finish_date,
                 b.days_to_target if b.days_to_target is not None else "never", f"{b.result.recorded:,.0f}",
                 _pct(share_by(b.result, deadline, cov)), "<-" if b is champion else ""] for b in head.baselines],
               title="Rotation baselines (gains are claimed over the best only)"))
    if champion.days_to_target is not None:
        gain = champion.days_to_target - r.days
        print(f"backlog plan vs best rotation: {r.days} vs {champion.days_to_target} working days to record "
              f"{r.recorded:,.0f} ({gain:+d} days); share of wajib KTP by {deadline}: "
              f"{_pct(cov.at_deadline)} vs {_pct(share_by(champion.result, deadline, cov))}")
    else:
        print(f"the best rotation never records {r.recorded:,.0f}: it ends at {champion.result.recorded:,.0f}")

    show(table(["coverage of wajib KTP", "working days"],
               [[f"{int(level * 100)}%", d if d is not None else "not by stations"] for level, d in
                cov.days_to.items()] + [[f"at the deadline {deadline}", _pct(cov.at_deadline)],
                                        ["when the plan ends", _pct(cov.final)]],
               title=f"Coverage (started at {_pct(cov.recorded_before / cov.wajib)})"))
    if cov.first_voters or cov.home_bound:
        target = settings.priority_target_share if settings else 0.95
        groups = []
        for name, start_n, left in (("first-time voters", cov.first_voters, cov.first_voters_left_at_deadline),
                                    ("home-bound", cov.home_bound, cov.home_bound_left_at_deadline)):
            if start_n:
                done = 1 - (left or 0) / start_n
                groups.append([name, f"{start_n:,.0f}", _pct(done), _pct(target), "yes" if done >= target else "NO"])
        show(table(["priority group", "at the start", f"recorded by {deadline}", "target", "met"], groups))
    residue = sorted(cov.residue, key=lambda x: -(x.office + x.home))
    office_total = sum(x.office for x in residue)
    home_total = sum(x.home for x in residue)
    show(table(["kelurahan", "name", "kecamatan", "office service", "home visits"],
               [[x.code, x.name, x.kecamatan, f"{x.office:,.0f}", f"{x.home:,.0f}"] for x in residue[:residue_rows]]
               + [["all", f"{len(residue)} kelurahan", "", f"{office_total:,.0f}", f"{home_total:,.0f}"]],
               title=f"Residue: left to office service and home visits (stop rule: under {minimum:g} "
                     f"a station-day), largest {min(residue_rows, len(residue))}",
               numeric=["office service", "home visits"]))
    show(table(["kecamatan", "office days at 25 a day"],
               [[k, f"{d:,.0f}"] for k, d in sorted(cov.office_days.items())], numeric=["office days at 25 a day"]))

    heads = sensitivity(targets, stations, start, constraints, model.params, deadline=deadline, min_people=minimum,
                        hours=hours, fitted=head, progress=_working_out)
    header, body = rows(heads)
    show(table(header, body, title="Sensitivity: every headline figure with one parameter at 50% / 150%"))


def _working_out(label: str) -> None:
    print(f"planning, bounding and rotating with {label} ...", file=sys.stderr, flush=True)


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"
