"""``rekam demo``: the whole system on one machine, on an accelerated clock.

Starts a broker, a controller and emulated stations on Solo's 54 kelurahan,
runs a few schedule days with synthetic residents enrolled through the real
station workflow, shows live progress, and ends with a summary and the paths
of everything it wrote.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import threading
import time
from pathlib import Path

from controller.scheduler import PLANNERS

DEFAULT_WEB = "127.0.0.1:8080"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a demo fleet: broker, controller and emulated stations",
                       description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--stations", type=int, default=10, help="emulated stations")
    p.add_argument("--days", type=int, default=6, help="schedule days to simulate")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--day-seconds", type=float, default=10.0, help="real seconds per schedule day (15:00-21:00)")
    pace.add_argument("--speed", type=float, default=None,
                      help="schedule time runs this many times faster than real time (360: a day in a minute; "
                           "60: a day in six minutes, to watch it unfold on the dashboard)")
    p.add_argument("--scale", type=int, default=100,
                   help="one synthetic resident stands for this many of Solo's 32,122 (1 = everyone; slow)")
    p.add_argument("--planner", choices=sorted(PLANNERS), default="backlog",
                   help="backlog (most left first, the default) or rotation (the 2013 practice)")
    p.add_argument("--workdir", type=Path, default=Path("rekam-demo"), help="where the SQLite files go")
    p.add_argument("--offline-station", type=int, default=3, help="station number that loses its network (0: none)")
    p.add_argument("--offline-day", type=int, default=2, help="day (from 0) it goes offline")
    p.add_argument("--offline-days", type=int, default=2, help="days it stays offline")
    p.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2013, 10, 7),
                   help="first schedule day (default 2013-10-07, when Solo began)")
    p.add_argument("--verbose", action="store_true", help="log what every component does")
    p.add_argument("--no-kiosk", dest="kiosk", action="store_false",
                   help="do not offer the touchscreen kiosk of an extra station in trainer mode")
    p.add_argument("--web", default=None, metavar="HOST:PORT",
                   help=f"where the fleet dashboard listens (default {DEFAULT_WEB}, or a free port when that one "
                        "is taken; port 0: any free port; 'off': no dashboard)")
    p.add_argument("--exit", action="store_true",
                   help="end after the schedule days instead of keeping the dashboard and kiosk up until Ctrl-C "
                        "(they stay up only when run from a terminal)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from adapters.terminal import console
    from rekam.demo.fleet import DemoFleet, DemoOptions
    from rekam.demo.report import progress, summary

    if args.speed is not None:
        if args.speed <= 0:
            print("error: --speed must be > 0", file=sys.stderr)
            return 2
        args.day_seconds = 6 * 3600 / args.speed  # a schedule day is 15:00-21:00
    if args.stations < 1 or args.days < 1 or args.day_seconds <= 0 or args.scale < 1:
        print("error: --stations, --days and --scale must be >= 1 and --day-seconds > 0", file=sys.stderr)
        return 2
    web = None
    if args.web != "off":
        host, _, port = (args.web or DEFAULT_WEB).rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            print(f"error: --web must be HOST:PORT (or off), got {args.web!r}", file=sys.stderr)
            return 2
        web = (host.strip("[]"), int(port))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = DemoOptions(stations=args.stations, days=args.days, day_seconds=args.day_seconds, scale=args.scale,
                          planner=args.planner, workdir=args.workdir, start=args.start,
                          offline_station=args.offline_station, offline_day=args.offline_day,
                          offline_days=args.offline_days)
    screen = console()
    fleet = DemoFleet(options, say=lambda text: screen.print(text))
    shown_day = [-1]
    dashboard = None
    banner: list[str] = []

    def show(f: DemoFleet) -> None:
        if screen.is_terminal:
            screen.clear()
            screen.print(progress(f))
            for line in banner:
                screen.print(line)
        elif f.clock.day_index() != shown_day[0]:
            shown_day[0] = f.clock.day_index()
            screen.print(progress(f))

    # Kept up after the schedule days for a person at a terminal; a script or CI just gets the summary.
    stay_up = (web is not None or args.kiosk) and not args.exit and sys.stdin.isatty()
    t0 = time.monotonic()
    drained = False
    kiosk = None
    try:
        print(f"rekam demo: {args.stations} stations, {args.days} days of {args.day_seconds:g} s, "
              f"data in {args.workdir.resolve()}", flush=True)
        fleet.setup()
        if web is not None:
            from rekam.demo.dashboard import DEMO_USER, start_dashboard

            if args.web is None and not _can_listen(*web):  # the default is taken: any free port will do
                web = (web[0], 0)
            dashboard, password = start_dashboard(fleet, *web)
            banner.append(f"dashboard: {dashboard.url}   login: {DEMO_USER} / {password}")
            print(banner[-1], flush=True)
        if args.kiosk:
            from rekam.demo.kiosk import ACCOUNTS, start_kiosk

            kiosk = start_kiosk(fleet)
            banner.append(f"kiosk (trainer mode, station st-kiosk): {kiosk.url}  accounts: "
                          + ", ".join(f"{oid} PIN {pin}" for oid, pin, _ in ACCOUNTS))
            print(banner[-1], flush=True)
        fleet.run(on_progress=show)
        print("schedule days done; every station online to deliver what it holds...", flush=True)
        drained = fleet.drain()
        if fleet.handoff is not None:
            print("handing the records over to the (emulated) central system...", flush=True)
            fleet.handoff.finish(fleet.store)
        screen.print(progress(fleet))
        print(summary(fleet, drained))
        print(f"\nfinished in {time.monotonic() - t0:.0f} s")
        if stay_up:
            print("\n" + "\n".join(banner) + "\nthese stay up; press Ctrl-C to stop", flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        if stay_up and drained:
            return 0  # the way out after the schedule days
        print("\ninterrupted; stopping the fleet", file=sys.stderr)
        return 130
    finally:
        if kiosk is not None:
            kiosk.close()
        if dashboard is not None:
            dashboard.stop()
        fleet.close()
    return 0 if drained else 1


def _can_listen(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
