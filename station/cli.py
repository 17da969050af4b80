"""``rekam station ...``: set up, run, enroll, and look after the outbox.

``--config`` defaults to $REKAM_STATION_CONFIG, else /etc/rekam/station.toml.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import sys
import threading
from pathlib import Path

from adapters.files import write_atomic
from adapters.terminal import show, table
from drivers.errors import DeviceError
from station import config as config_mod
from station.errors import ConfigError, StationError
from station.outbox import Outbox


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("station", help="the recording station: enroll residents, deliver sealed packets",
                       description="Set up and run a rekam recording station.")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
    ssub = p.add_subparsers(dest="station_command", metavar="COMMAND")

    def cmd(name: str, help: str, func) -> argparse.ArgumentParser:
        c = ssub.add_parser(name, help=help, description=help)
        c.add_argument("--config", type=Path, default=None, help="station TOML (default: $REKAM_STATION_CONFIG, "
                                                                  "/etc/rekam/station.toml, ./station.toml)")
        c.set_defaults(func=func)
        return c

    c = ssub.add_parser("init", help="write a commented example config", description="write a commented example config")
    c.add_argument("path", type=Path, nargs="?", default=Path("station.toml"),
                   help="where to write the station TOML (default ./station.toml)")
    c.add_argument("--force", action="store_true", help="overwrite an existing file")
    c.set_defaults(func=_init)

    c = cmd("run", "run the station: uplink, telemetry, commands (and the enrollment console with --console)", _run)
    _console_args(c)
    c.add_argument("--console", action="store_true", help="also run the enrollment console on this terminal")

    c = cmd("enroll", "enroll residents at this terminal (the uplink runs alongside)", _enroll)
    _console_args(c)

    c = cmd("outbox", "sealed packets waiting: counts, bytes, quarantined ones and why", _outbox)
    c.add_argument("--requeue", metavar="PACKET_ID", help="put a quarantined packet back in line ('all' for every one)")

    from station.provisioning import cli as provision_cli

    provision_cli.add_commands(ssub)

    from station.operators import cli as operators_cli

    operators_cli.add_commands(ssub)

    c = cmd("kiosk", "run the station with its touchscreen kiosk on 127.0.0.1 (uplink, telemetry, commands)",
            _kiosk)
    c.add_argument("--trainer", action="store_true", help="trainer mode (every device must be emulated)")
    c.add_argument("--port", type=int, default=None, help="kiosk port (default: [kiosk] port)")


def _console_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--operator", default=None,
                   help="your operator id (asked if not given); the PIN is always asked, the id goes into records")
    c.add_argument("--lang", choices=config_mod.LANGUAGES, default=None, help="screen language (default: config)")
    c.add_argument("--kelurahan", default=None, help="kelurahan code when there is no assignment yet")


def _cfg(args) -> config_mod.StationConfig:
    return config_mod.load(args.config or config_mod.default_path())


def _init(args) -> int:
    if args.path.exists() and not args.force:
        raise ConfigError(f"{args.path} already exists (use --force to overwrite)")
    write_atomic(args.path, config_mod.EXAMPLE.encode(), 0o644)
    print(f"wrote {args.path}: edit station.id, mqtt.host and the device ports, then run `rekam station keygen`")
    return 0


def _run(args) -> int:
    return _serve(args, console=args.console)


def _enroll(args) -> int:
    return _serve(args, console=True)


def _kiosk(args) -> int:
    from station.kiosk.serve import serve_kiosk

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    return serve_kiosk(_cfg(args), trainer=args.trainer, port=args.port)


def _console_login(runtime, operator) -> str:
    """Every record carries the logged-in operator: id and PIN, checked against the station's accounts."""
    from station.operators import LoginFailed

    if runtime.operators.count() == 0:
        raise StationError("no operators on this station yet: make the first supervisor with "
                           "`rekam station operators add ID --role supervisor`")
    creds = operator.credentials(operator.default_id)
    if creds is None:
        raise StationError("login cancelled")
    try:
        return runtime.operators.verify(*creds).operator_id
    except LoginFailed as exc:
        operator.notify(f"e.{exc.reason_id}", **exc.params)
        raise


def _serve(args, *, console: bool) -> int:
    from adapters.sdnotify import Watchdog, notify, watchdog_interval
    from station.console import ConsoleOperator
    from station.runtime import StationRuntime

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    cfg = _cfg(args)
    language = args.lang or cfg.language
    stop = threading.Event()
    runtime = StationRuntime(cfg)

    def on_signal(signum, frame) -> None:
        logging.getLogger("rekam.station").info("received %s: stopping", signal.Signals(signum).name)
        stop.set()
        if console:
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    runtime.start()
    dog = None
    try:
        notify("READY=1")
        interval = watchdog_interval()
        if interval:
            dog = Watchdog(lambda: runtime.uplink is not None and runtime.uplink.alive, interval).start()
        if console:
            operator = ConsoleOperator(language)
            operator.default_id = args.operator
            operator_id = _console_login(runtime, operator)
            current = runtime.current_assignment()
            if current:
                operator.notify("assignment", kelurahan=current.kelurahan_name or current.kelurahan_code,
                                start=current.start, end=current.end)
            else:
                operator.notify("no_assignment", kelurahan=args.kelurahan or "-")
            while not stop.is_set():
                nik = operator.ask_nik()
                if not nik:
                    break  # an empty NIK ends the session, as the prompt says
                try:
                    runtime.enrollment(operator, operator_id, kelurahan_code=args.kelurahan).run(nik)
                except (StationError, DeviceError) as exc:
                    # e.g. low disk space, a device gone: say so and let the operator decide;
                    # the uplink keeps draining, and nothing half-done was stored.
                    params = dict(getattr(exc, "params", {}) or {}, detail=str(exc))
                    if isinstance(exc, DeviceError):
                        params = {"device": (exc.device or "").split(" ")[0] or "device"}
                    operator.notify(f"e.{exc.reason_id}", **params)
                    logging.getLogger("rekam.station").error("%s", exc)
        else:
            while not stop.wait(1.0):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        notify("STOPPING=1")
        if dog is not None:
            dog.stop()
        runtime.stop()
    return 0


def _outbox(args) -> int:
    cfg = _cfg(args)
    # Possibly beside a running station: look and re-queue, but leave its in-flight packets alone.
    with Outbox(cfg.outbox_path, recover_in_flight=False) as ob:
        if args.requeue:
            n = ob.requeue_quarantined(None if args.requeue == "all" else args.requeue)
            print(f"re-queued {n} packet(s); the station sends them at its next connection")
        s = ob.stats()
        q = ob.quarantined()
    print(f"pending {s.pending}  in flight {s.sent}  quarantined {s.quarantined}  "
          f"bytes {s.bytes / 2**20:.1f} MiB  delivered {s.delivered}")
    if s.oldest_sealed_at:
        age = dt.datetime.now().timestamp() - s.oldest_sealed_at
        print(f"oldest waiting packet sealed {age / 3600:.1f} h ago")
    if q:
        show(table(["quarantined packet", "seq", "since", "reason", "detail"],
                   [[item.packet_id, item.seq, dt.datetime.fromtimestamp(item.changed_at).strftime("%Y-%m-%d %H:%M"),
                     item.reason_id, item.reason] for item in q], numeric=["seq"]))
        print("re-queue with: rekam station outbox --requeue PACKET_ID (or all)")
    _central_statuses(cfg)
    return 0


def _central_statuses(cfg) -> None:
    """Per packet, where the central system has it (statuses the controller passed on)."""
    from station.central_status import CentralStatusBook

    path = cfg.data_dir / "central_status.db"
    if not path.exists():
        return
    with CentralStatusBook(path) as book:
        rows = book.statuses()
    if rows:
        show(table(["packet", "central status", "since", "reason"],
                   [[r.packet_id, r.status, dt.datetime.fromtimestamp(r.at).strftime("%Y-%m-%d %H:%M"),
                     r.reason or "-"] for r in rows], title="at the central system"))
