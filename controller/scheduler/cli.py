"""``rekam controller targets ...`` and ``rekam controller schedule ...``.

Targets come from the operator's CSV (or the built-in Solo 2013-like set);
plans are made from the store's targets and registered stations with
everything in ``[schedule]``; ``simulate`` prints the fit, the LP bound, the
rotation baselines, coverage and the sensitivity table (``report.py``)
without touching the store.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from adapters.terminal import show, table
from controller import config as config_mod
from controller.errors import ControllerError
from controller.scheduler import (
    PLANNERS,
    PlanningError,
    TargetsError,
    Venue,
    VenueError,
    VenueKind,
    read_targets_csv,
    solo_2013_targets,
)
from controller.scheduler.codec import venue_to_json
from controller.scheduler.service import Planning
from controller.config import CONFIG_HELP
from controller.store import Store
from protocol import wib



class ScheduleError(ControllerError):
    reason_id = "schedule_error"


def add_commands(csub: argparse._SubParsersAction) -> None:
    t = csub.add_parser("targets", help="import kelurahan targets (wajib KTP, recorded)")
    t.set_defaults(func=lambda a: (t.print_help(), 2)[1])
    tsub = t.add_subparsers(dest="targets_command", metavar="COMMAND")
    imp = tsub.add_parser("import", help="from a CSV: kelurahan code, wajib_ktp, recorded [, name]")
    imp.add_argument("csv", type=Path, help="CSV of kelurahan targets (code, name, wajib KTP, recorded, ...)")
    imp.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    imp.set_defaults(func=_targets_import)
    solo = tsub.add_parser("solo2013", help="load the built-in Solo (Kota Surakarta) 2013-like targets")
    solo.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    solo.set_defaults(func=_targets_solo)

    v = csub.add_parser("venue", help="outreach events: schools, markets, hospitals, home visits, meetings")
    v.set_defaults(func=lambda a: (v.print_help(), 2)[1])
    vsub = v.add_subparsers(dest="venue_command", metavar="COMMAND")
    add = vsub.add_parser("add", help="add an event the schedule must send stations to")
    add.add_argument("venue_id", help="a short id, e.g. sma1-2013-10-07")
    add.add_argument("--kind", required=True, choices=[k.value for k in VenueKind], help="what kind of visit")
    add.add_argument("--name", required=True, help="the venue's name, as stations show it")
    add.add_argument("--address", default="", help="street address")
    add.add_argument("--kelurahan", required=True, help="kelurahan code the attendees belong to")
    add.add_argument("--date", required=True, type=dt.date.fromisoformat, help="the day (YYYY-MM-DD)")
    add.add_argument("--people", required=True, type=int, help="expected attendees (group events: at least 20)")
    add.add_argument("--stations", type=int, default=None, help="stations asked for (default: from the people)")
    add.add_argument("--start", type=dt.time.fromisoformat, default=None, help="HH:MM (default: the kind's hours)")
    add.add_argument("--end", type=dt.time.fromisoformat, default=None, help="HH:MM (default: the kind's hours)")
    add.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    add.set_defaults(func=_venue_add)
    ls = vsub.add_parser("list", help="events from today on")
    ls.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    ls.set_defaults(func=_venue_list)
    rm = vsub.add_parser("remove", help="cancel an event")
    rm.add_argument("venue_id", help="the venue's id (see `venue list`)")
    rm.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    rm.set_defaults(func=_venue_remove)

    s = csub.add_parser("schedule", help="plan, show and simulate the kelurahan schedule")
    s.set_defaults(func=lambda a: (s.print_help(), 2)[1])
    ssub = s.add_subparsers(dest="schedule_command", metavar="COMMAND")
    plan = ssub.add_parser("plan", help="make and activate a plan for the registered stations")
    plan.add_argument("--planner", choices=sorted(PLANNERS), default="backlog",
                      help="backlog (most left first, the default) or rotation (the 2013 practice)")
    plan.add_argument("--stations", type=int, default=None, help="use the first N registered stations (default all)")
    plan.add_argument("--from", dest="start", type=dt.date.fromisoformat, default=None,
                      help="first day, YYYY-MM-DD (default: the config's campaign_start, or today, WIB)")
    plan.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    plan.set_defaults(func=_plan)
    show = ssub.add_parser("show", help="the active plan's assignments")
    show.add_argument("--date", type=dt.date.fromisoformat, default=None, help="only this day")
    show.add_argument("--station", default=None, help="only this station")
    show.add_argument("--days", type=int, default=7, help="how many days from --date or today (default 7)")
    show.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    show.set_defaults(func=_show)
    sim = ssub.add_parser("simulate", help="the fit, the LP bound, the rotation baselines, coverage and the "
                                            "sensitivity table (the store is not changed)")
    sim.add_argument("--stations", type=int, default=10, help="stations in the fleet simulated (default 10)")
    sim.add_argument("--from", dest="start", type=dt.date.fromisoformat, default=None,
                     help="first day (default: the config's campaign_start, else Solo's 2013-10-07)")
    sim.add_argument("--deadline", type=dt.date.fromisoformat, default=None,
                     help="report against this deadline (default: the config's, else Solo's 2013-12-31)")
    sim.add_argument("--targets", default="solo2013",
                     help="'solo2013' (built-in), 'store' (the controller's targets) or a CSV path")
    sim.add_argument("--capacity", type=int, default=None,
                     help="residents one station records a day (default: the fitted model, 15 an hour)")
    sim.add_argument("--residue-rows", type=int, default=15, help="kelurahan listed in the residue table")
    sim.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    sim.set_defaults(func=_simulate)


def _store(args) -> Store:
    return Store(config_mod.load(args.config or config_mod.default_path()).store_path).open()


def _planning(args, store: Store) -> Planning:
    return Planning(store, config_mod.load(args.config or config_mod.default_path()).schedule)


def _venue_add(args) -> int:
    try:
        venue = Venue(args.venue_id, args.kind, args.name, args.address, args.kelurahan, args.date, args.people,
                      args.stations, args.start, args.end)
    except VenueError as exc:
        raise ScheduleError(str(exc)) from None
    with _store(args) as store:
        store.add_venue(venue_to_json(venue))
    print(f"added {venue.kind.value} {venue.name!r} on {venue.date}, {venue.hours[0]:%H:%M}-{venue.hours[1]:%H:%M} "
          f"({venue.expected_people} people); "
          "the running controller re-plans to send stations there")
    return 0


def _venue_list(args) -> int:
    with _store(args) as store:
        rows = [[v["venue_id"], v["date"], v["kind"], v["name"], v["kelurahan_code"], str(v["expected_people"])]
                for v in store.venues(from_date=wib.today().isoformat())]
    show(table(["venue", "date", "kind", "name", "kelurahan", "people"], rows, numeric=["people"]))
    return 0


def _venue_remove(args) -> int:
    with _store(args) as store:
        if not store.remove_venue(args.venue_id):
            raise ScheduleError(f"no venue {args.venue_id}")
    print(f"removed {args.venue_id}; the running controller re-plans without it")
    return 0


def _targets_import(args) -> int:
    store = _store(args)  # the config first: it decides where everything goes
    try:
        targets = read_targets_csv(args.csv)
    except TargetsError as exc:
        store.close()
        raise ScheduleError(str(exc)) from None
    except OSError as exc:
        store.close()
        raise ScheduleError(f"cannot read {args.csv}: {exc.strerror}") from None
    with store:
        _planning(args, store).load_targets(targets)
    left = sum(t.remaining for t in targets)
    print(f"imported {len(targets)} kelurahan: {sum(t.wajib_ktp for t in targets):,} wajib KTP, {left:,} left")
    return 0


def _targets_solo(args) -> int:
    targets = solo_2013_targets()
    with _store(args) as store:
        _planning(args, store).load_targets(targets)
    print(f"loaded Solo 2013-like targets: {len(targets)} kelurahan, {sum(t.remaining for t in targets):,} left")
    return 0


def _plan(args) -> int:
    with _store(args) as store:
        stations = [s.station_id for s in store.stations() if not s.revoked]
        if args.stations is not None:
            if args.stations > len(stations):
                raise ScheduleError(f"--stations {args.stations}, but only {len(stations)} stations are registered")
            stations = stations[: args.stations]
        if not stations:
            raise ScheduleError("no registered stations: add them with `rekam controller station add`")
        planning = _planning(args, store)
        t0 = time.perf_counter()
        try:
            plan = planning.make_plan(args.planner, stations, args.start)
        except PlanningError as exc:
            raise ScheduleError(str(exc)) from None
        print(f"{args.planner} plan for {len(stations)} stations from {plan.start}: {len(plan.assignments)} "
              f"station-days, expected to finish {plan.end} ({'finished' if plan.finished else 'NOT finished'} "
              f"within the horizon), planned in {time.perf_counter() - t0:.2f}s")
        for w in plan.warnings:
            print(f"warning: {w}")
        print("stations receive their assignments (retained) from the running controller")
    return 0


def _show(args) -> int:
    with _store(args) as store:
        planning = _planning(args, store)
        plan = planning.active()
        if plan is None:
            print("no active plan: make one with `rekam controller schedule plan`")
            return 0
        first = args.date or max(plan.start, wib.today())
        days = [first + dt.timedelta(days=i) for i in range(1 if args.date else args.days)]
        rows = []
        names = {p.code: p.name for p in store.progress()}
        for d in days:
            for a in plan.on(d):
                if args.station and a.station_id != args.station:
                    continue
                place = names.get(a.kelurahan, a.kelurahan) + (f" @ {a.place}" if a.at_venue else "")
                rows.append([d.isoformat(), a.station_id, a.kelurahan, place,
                             f"{a.start:%H:%M}-{a.end:%H:%M}"])
        print(f"plan {planning.active_id()} ({plan.planner}), {plan.start} to {plan.end}")
        show(table(["date", "station", "kelurahan", "name", "hours"], rows))
    return 0


def _simulate(args) -> int:
    from controller.scheduler import report

    settings = None
    if args.config is not None or config_mod.default_path().exists():
        settings = config_mod.load(args.config or config_mod.default_path()).schedule
    if args.targets == "solo2013":
        targets = solo_2013_targets()
    elif args.targets == "store":
        with _store(args) as store:
            targets = _planning(args, store).targets_now()
    else:
        try:
            targets = read_targets_csv(args.targets)
        except (TargetsError, OSError) as exc:
            raise ScheduleError(str(exc)) from None
    if args.stations < 1:
        raise ScheduleError("--stations must be at least 1")
    try:
        report.simulate_report(targets, args.stations, settings, start=args.start, deadline=args.deadline,
                               capacity=args.capacity, residue_rows=args.residue_rows)
    except PlanningError as exc:
        raise ScheduleError(str(exc)) from None
    return 0
