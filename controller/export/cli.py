"""``rekam controller export ...`` and the hand-off views: what left, what came back, who must return.

``rekam controller export`` first resends sealed batches the centre has not
confirmed (a run that was killed), then exports everything stored and in no
batch yet, with a progress bar, pushes, and fetches statuses. Each run writes
an audit entry (who, when, how many, which batches).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import logging
from pathlib import Path

from adapters.terminal import progress, show, table
from controller import config as config_mod
from controller import keyfiles
from controller.config import CONFIG_HELP
from controller.errors import ControllerError
from controller.export import keys as export_keys
from controller.export.client import CentralError
from controller.export.delivery import NEEDS_RESIDENT
from controller.store import Store
from protocol import regions


def add_commands(csub: argparse._SubParsersAction) -> None:
    e = csub.add_parser("export", help="hand stored records to the central system (sealed, signed, audited)",
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    e.add_argument("--actor", default=None, help="who runs the export, for the audit (default: login name)")
    e.add_argument("--no-send", action="store_true", help="seal batches only; the running controller sends them")
    e.add_argument("--limit", type=int, default=None, help="export at most this many records")
    e.set_defaults(func=_export)
    esub = e.add_subparsers(dest="export_command", metavar="COMMAND")

    def cmd(name: str, help: str, func) -> argparse.ArgumentParser:
        c = esub.add_parser(name, help=help, description=help)
        c.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
        c.set_defaults(func=func)
        return c

    c = cmd("init", "create the export signing key (give its .pub to the central system)", _init)
    c.add_argument("--force", action="store_true", help="replace an existing export signing key")
    cmd("status", "backlog, batches and the audit trail", _status)
    c = cmd("purge", "delete sealed payloads the centre confirmed longer ago than the grace period", _purge)
    c.add_argument("--vacuum", action="store_true", help="also rewrite the database file to shrink it")
    c = cmd("history", "a packet's statuses at the central system", _history)
    c.add_argument("packet_id", help="the packet (its full id)")
    cmd("revisits", "residents the centre refused for a reason only they can fix, per kelurahan", _revisits)
    cmd("funnel", "recorded -> sent -> enrolled -> print-ready -> printed -> distributed, per kecamatan", _funnel)


def _cfg(args) -> config_mod.ControllerConfig:
    return config_mod.load(args.config or config_mod.default_path())


def _export(args) -> int:
    from controller.export.worker import build

    logging.getLogger("httpx").setLevel(logging.WARNING)
    cfg = _cfg(args)
    keys = keyfiles.load_private(cfg.private_key)
    actor = args.actor or getpass.getuser()
    with Store(cfg.store_path) as store:
        exporter, handoff = build(cfg, store, keys, actor=actor)
        if args.no_send:
            handoff.client = None
        try:
            if handoff.client is not None and store.batches("sealed"):
                ok, failed = handoff.push(force=True)
                print(f"resent {ok} batch(es) left from an earlier run" + (f"; {failed} still waiting" if failed else ""))
            with progress() as bar:
                task = bar.add_task("export", total=None)
                report = exporter.run(actor, on_progress=lambda done, total: bar.update(task, completed=done,
                                                                                        total=total),
                                      limit=args.limit)
            store.export_audit(actor, "export.run", report.exported, report.batches[-1] if report.batches else None,
                        f"batches {' '.join(report.batches) or '-'}; refused {report.refused}; "
                        f"flagged {report.flagged}")
            print(f"sealed {report.exported} record(s) in {len(report.batches)} batch(es); "
                  f"{report.refused} refused, {report.flagged} flagged as possible duplicates "
                  "(rekam controller reviews)")
            if handoff.client is None:
                print("not sent: " + ("--no-send" if args.no_send else "no [export] central_url configured"))
                return 0
            ok, failed = handoff.push(force=True)
            print(f"delivered {ok} batch(es) to {cfg.export.central_url}"
                  + (f"; {failed} not delivered, retried later (rekam controller export status)" if failed else ""))
            try:
                print(f"{handoff.poll()} new status(es) from the central system")
            except CentralError as exc:
                print(f"statuses not fetched: {exc}")
        finally:
            if handoff.client is not None:
                handoff.client.close()
    return 0


def _init(args) -> int:
    cfg = _cfg(args)
    path = cfg.export.signing_key
    assert path is not None
    key = export_keys.create_signing_key(path, path.with_suffix(".pub"), force=args.force)
    print(f"wrote {path} (mode 600) and {path.with_suffix('.pub')}: give the .pub to the central system")
    print(f"  signing key {key.public.kid}")
    return 0


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def _status(args) -> int:
    with Store(_cfg(args).store_path) as store:
        backlog = store.export_backlog()
        batches = store.batches()
        trail = store.export_audit_trail(20)
    print(f"stored and not yet in a batch: {backlog}")
    show(table(["batch", "created", "by", "records", "state", "attempts", "last error"],
               [[b.batch_id, _when(b.created_at), b.created_by, b.count, b.state, b.attempts, b.last_error or "-"]
                for b in batches[-30:]], numeric=["records", "attempts"], title="batches"))
    show(table(["when", "who", "what", "records", "batch", "detail"],
               [[_when(a.at), a.actor, a.action, a.count, a.batch_id or "-", a.detail] for a in trail],
               numeric=["records"], title="audit"))
    return 0


def _purge(args) -> int:
    from controller.export.delivery import HandOff

    cfg = _cfg(args)
    with Store(cfg.store_path) as store:
        n = HandOff(store, cfg.export, origin=cfg.controller_id, client=None, actor=getpass.getuser()).purge(
            vacuum=args.vacuum)
    print(f"deleted the sealed payloads of {n} record(s) confirmed by the central system more than "
          f"{cfg.export.purge_grace_days:g} day(s) ago; their index and statuses are kept")
    return 0


def _history(args) -> int:
    with Store(_cfg(args).store_path) as store:
        rows = store.status_history(args.packet_id)
        purged = store.purged(args.packet_id)
    if not rows:
        raise ControllerError(f"no central status for packet {args.packet_id} yet")
    show(table(["status", "reason", "at the centre", "heard"], [[s, r or "-", _when(a), _when(h)] for s, r, a, h in rows]))
    print("sealed payload: " + ("purged" if purged else "held"))
    return 0


def _kelurahan_name(code: str) -> str:
    try:
        return regions.kelurahan(code).name
    except regions.RegionError:
        return code


def _revisits(args) -> int:
    with Store(_cfg(args).store_path) as store:
        rows = store.revisits(NEEDS_RESIDENT)
    if not rows:
        print("no resident needs to come back")
        return 0
    show(table(["kelurahan", "name", "packet", "NIK", "why"],
               [[k, _kelurahan_name(k), p, n[:4] + "********" + n[12:], s.removeprefix("ENROLL_FAILURE_")]
                for k, p, n, s in rows]))
    return 0


def funnel_table(store: Store):
    rows = store.funnel()
    names = {}
    for r in rows:
        try:
            names[r.kecamatan_code] = regions.region(r.kecamatan_code).name
        except regions.RegionError:
            names[r.kecamatan_code] = r.kecamatan_code
    cols = ["recorded", "sent", "enrolled", "print-ready", "printed", "distributed"]
    out = [[r.kecamatan_code, names[r.kecamatan_code], r.recorded, r.sent, r.enrolled, r.print_ready, r.printed,
            r.distributed] for r in rows]
    if rows:
        out.append(["", "= TOTAL", *(sum(getattr(r, f) for r in rows) for f in
                                     ("recorded", "sent", "enrolled", "print_ready", "printed", "distributed"))])
    return table(["code", "kecamatan", *cols], out, numeric=cols, title="hand-off to the central system")


def _funnel(args) -> int:
    with Store(_cfg(args).store_path) as store:
        show(funnel_table(store))
    return 0
