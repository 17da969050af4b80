"""``rekam controller ...``: set up, run and inspect the controller.

Every command takes ``--config`` (default: $REKAM_CONTROLLER_CONFIG, else
/etc/rekam/controller.toml if it exists, else ./controller.toml). Output is
for a fleet operator: tables, counts, and errors that say what to do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time
from pathlib import Path

from adapters.files import read_public, write_atomic
from adapters.terminal import console, show, table
from controller import config as config_mod
from controller import keyfiles
from controller.errors import ControllerError
from controller.fleet import Fleet
from controller.store import Store
from protocol.keys import KeyFormatError, VerifyKey
from protocol.topics import TopicError, check_station_id


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("controller", help="the fleet controller: keys, stations, ingest, schedule",
                       description="Set up, run and inspect the rekam controller.")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
    csub = p.add_subparsers(dest="controller_command", metavar="COMMAND")

    def cmd(name: str, help: str, func, **kw) -> argparse.ArgumentParser:
        c = csub.add_parser(name, help=help, description=help, **kw)
        c.add_argument("--config", type=Path, default=None, help="controller TOML (see `rekam controller init`)")
        c.set_defaults(func=func)
        return c

    c = cmd("init", "create the controller's HPKE key pair (both suites), config and empty store", _init)
    c.add_argument("--dir", type=Path, default=Path("."), help="where to put controller.toml (default: here)")
    c.add_argument("--force", action="store_true", help="replace existing keys (old packets become unreadable!)")

    cmd("run", "run the controller: ingest, fleet, assignments (until SIGTERM)", _run)

    st = csub.add_parser("station", help="register, revoke and list stations")
    st.set_defaults(func=lambda a: (st.print_help(), 2)[1])
    ssub = st.add_subparsers(dest="station_command", metavar="COMMAND")
    for name, help, func in (("add", "register a station's public signing key", _station_add),
                             ("revoke", "stop accepting a station's packets (they are quarantined)", _station_revoke),
                             ("list", "list registered stations", _station_list)):
        s = ssub.add_parser(name, help=help, description=help)
        s.add_argument("--config", type=Path, default=None, help=config_mod.CONFIG_HELP)
        s.set_defaults(func=func)
        if name != "list":
            s.add_argument("station_id", help="the station's id (lower-case letters, digits, '-' or '_')")
        if name == "add":
            s.add_argument("--key", type=Path, required=True, help="the station's station-signing.pub (PEM)")
        if name == "revoke":
            s.add_argument("--reason", default="revoked by operator", help="recorded and sent in rejections")

    f = cmd("fleet", "table of stations: online, last seen, assignment, outbox, drivers, alarms", _fleet)
    f.add_argument("--watch", nargs="?", const=5.0, type=float, metavar="SECONDS",
                   help="refresh every SECONDS (default 5) until Ctrl-C")

    cmd("progress", "recorded vs target per kelurahan and kecamatan", _progress)

    q = cmd("quarantine", "packets refused, with reasons", _quarantine)
    q.add_argument("--station", default=None, help="only this station's refused packets")
    cmd("reviews", "NIKs enrolled more than once, waiting for review", _reviews)

    from controller.export import cli as export_cli
    from controller import web_cli
    from controller.provisioning import cli as provision_cli
    from controller.scheduler import cli as schedule_cli

    schedule_cli.add_commands(csub)
    provision_cli.add_commands(csub)
    export_cli.add_commands(csub)
    web_cli.add_commands(csub)


# -- helpers --------------------------------------------------------------------
def _cfg(args) -> config_mod.ControllerConfig:
    return config_mod.load(args.config or config_mod.default_path())


def _store(args) -> Store:
    return Store(_cfg(args).store_path).open()


def _age(ts: float | None) -> str:
    if ts is None:
        return "never"
    s = max(0, time.time() - ts)
    if s < 90:
        return f"{s:.0f}s ago"
    if s < 5400:
        return f"{s / 60:.0f}m ago"
    if s < 172800:
        return f"{s / 3600:.0f}h ago"
    return f"{s / 86400:.0f}d ago"


# -- commands ---------------------------------------------------------------------
def _init(args) -> int:
    d: Path = args.dir
    conf = args.config or d / "controller.toml"
    if not conf.exists():
        write_atomic(conf, config_mod.EXAMPLE.encode(), 0o644)
        print(f"wrote {conf}")
    cfg = config_mod.load(conf)
    keys = keyfiles.create_keys(cfg.private_key, cfg.public_key, force=args.force)
    with Store(cfg.store_path) as store:
        version = store.migrations[-1]
    print(f"wrote {cfg.private_key} (mode 600: never copy it off this machine)")
    print(f"wrote {cfg.public_key} (give this to every station)")
    for k in keys.public.keys:
        print(f"  key {k.kid}  {k.suite.value}")
    print(f"store {cfg.store_path} at schema {version}")
    if cfg.web.enabled:
        print(f"fleet dashboard on {cfg.web.host}:{cfg.web.port} once running; add its first user with: "
              f"rekam controller user add NAME --role admin --config {conf}")
    return 0


def _run(args) -> int:
    from controller.runtime import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(args.config or config_mod.default_path())


def _station_add(args) -> int:
    cfg = _cfg(args)
    try:
        check_station_id(args.station_id)
        key = VerifyKey.from_pem(read_public(args.key, "station signing key", "from `rekam station keygen`",
                                             ControllerError))
    except (TopicError, KeyFormatError) as exc:
        raise ControllerError(str(exc)) from None
    with Store(cfg.store_path) as store:
        store.add_station(args.station_id, key.to_pem(), key.kid)
    print(f"registered station {args.station_id} with signing key {key.kid}")
    return 0


def _station_revoke(args) -> int:
    from controller.provisioning.cli import revoke_command

    return revoke_command(args)


def _station_list(args) -> int:
    with _store(args) as store:
        rows = [[s.station_id, s.status, s.key_id, "yes" if s.online else "no", _age(s.last_seen),
                 str(store.packet_count(s.station_id))] for s in store.stations()]
    show(table(["station", "status", "key", "online", "last seen", "packets"], rows, numeric=["packets"]))
    return 0


def _fleet(args) -> int:
    cfg = _cfg(args)
    with Store(cfg.store_path) as store:
        fleet = Fleet(store, cfg.fleet)
        while True:
            rows = [[r.station_id + (" (revoked)" if r.status == "revoked" else ""), "yes" if r.online else "NO",
                     _age(r.last_seen), r.assignment or "-",
                     "-" if r.outbox_depth is None else str(r.outbox_depth), r.drivers or "-",
                     ", ".join(r.alarms) or "-"] for r in fleet.table()]
            out = table(["station", "online", "last seen", "assignment", "outbox", "drivers", "alarms"], rows,
                        numeric=["outbox"], title=dt.datetime.now().strftime("fleet at %H:%M:%S"))
            if not args.watch:
                show(out)
                return 0
            screen = console()
            screen.clear()
            screen.print(out)
            try:
                time.sleep(args.watch)
            except KeyboardInterrupt:
                return 0


def _progress(args) -> int:
    with _store(args) as store:
        rows = store.progress()
    if not rows:
        print("no kelurahan targets yet: import them with `rekam controller targets import FILE.csv`")
        return 0
    out: list[list[str]] = []
    by_kec: dict[str, list] = {}
    for r in rows:
        by_kec.setdefault(f"{r.kecamatan_code} {r.kecamatan}", []).append(r)
    tw = tr = 0
    for kec, ks in by_kec.items():
        for r in ks:
            out.append([r.code, r.name, str(r.wajib_ktp), str(r.recorded), str(r.remaining), _pct(r.recorded, r.wajib_ktp)])
        w, rec = sum(k.wajib_ktp for k in ks), sum(k.recorded for k in ks)
        tw, tr = tw + w, tr + rec
        out.append(["", f"= Kecamatan {kec.split(' ', 1)[1]}", str(w), str(rec), str(max(0, w - rec)), _pct(rec, w)])
    out.append(["", "= TOTAL", str(tw), str(tr), str(max(0, tw - tr)), _pct(tr, tw)])
    show(table(["code", "kelurahan", "wajib KTP", "recorded", "remaining", "%"], out,
               numeric=["wajib KTP", "recorded", "remaining", "%"]))
    from controller.export.cli import funnel_table

    with _store(args) as store:
        show(funnel_table(store))
    return 0


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.2f}" if b else "-"


def _quarantine(args) -> int:
    with _store(args) as store:
        entries = store.quarantined(args.station)
        counters = store.counters("refused.")
    rows = [[str(e.id), e.station_id or "?", e.packet_id or "-", e.reason_id, e.reason[:60],
             str(e.size), dt.datetime.fromtimestamp(e.received_at).strftime("%Y-%m-%d %H:%M")] for e in entries]
    show(table(["#", "station", "packet", "reason", "detail", "bytes", "received"], rows, numeric=["#", "bytes"]))
    if counters:
        print("\nrefusals: " + ", ".join(f"{k.removeprefix('refused.')} {v}" for k, v in counters.items()))
    return 0


def _reviews(args) -> int:
    with _store(args) as store:
        pairs = store.duplicate_enrollments()
        handoff = store.handoff_reviews()
    if handoff:  # from the hand-off: the centre's refusals and biometric duplicates (controller/export)
        show(table(["kind", "packet", "other packet", "score", "detail"],
                   [[r.kind, r.packet_id, r.other_packet_id or "-", "-" if r.score is None else f"{r.score:.3f}",
                     r.detail] for r in handoff], title="hand-off reviews"))
    if not pairs:
        print("no NIK enrolled twice")
        return 0
    show(table(["NIK", "packet", "earlier packet"], [[n[:4] + "********" + n[12:], p, o] for n, p, o in pairs]))
    return 0
