"""``rekam central ...``: the emulated central Dukcapil system (for tests, demos and rehearsals)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("central", help="an emulated central Dukcapil system that takes export batches over HTTPS",
                       description=__doc__)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
    csub = p.add_subparsers(dest="central_command", metavar="COMMAND")
    c = csub.add_parser("init", help="create its directory: config, HPKE key pair, trusted controller keys")
    c.add_argument("--dir", type=Path, required=True, help="the emulated centre's directory (created)")
    c.add_argument("--trust", type=Path, action="append", default=[],
                   help="a controller's export-signing.pub to accept manifests from (repeatable)")
    c.add_argument("--port", type=int, default=8443, help="0 = any free port (written to central.url)")
    c.add_argument("--blank-cards", type=int, default=1000,
                   help="blank e-KTP cards in stock (printing holds when they run out; default 1000)")
    c.add_argument("--schedule-s", type=float, default=60.0,
                   help="seconds between SENT_FOR_ENROLLMENT, PRINT_READY_RECORD, PRINTED and DISTRIBUTED")
    c.set_defaults(func=_init)
    r = csub.add_parser("run", help="serve until SIGTERM or Ctrl-C")
    r.add_argument("--dir", type=Path, required=True, help="the centre's directory (from `rekam central init`)")
    r.set_defaults(func=_run)
    s = csub.add_parser("status", help="what the centre holds, by status")
    s.add_argument("--dir", type=Path, required=True, help="the centre's directory (from `rekam central init`)")
    s.set_defaults(func=_status)


def _init(args) -> int:
    from rekam.central.server import init

    cdir = init(args.dir, settings={"port": args.port, "blank_cards": args.blank_cards,
                                    "print_ready_after_s": args.schedule_s, "printed_after_s": args.schedule_s,
                                    "distributed_after_s": args.schedule_s}, trust=args.trust)
    print(f"central system in {cdir.path}")
    print(f"  its public key for [export] central_public_key: {cdir.public_key}")
    print(f"  trusted controller keys: {cdir.trusted_dir}/*.pub")
    return 0


def _run(args) -> int:
    from rekam.central.server import CentralServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *a: stop.set())
    server = CentralServer(args.dir).start()
    print(f"central system emulator at {server.url} (certificate {server.dir.cert})", flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


def _status(args) -> int:
    from adapters.terminal import show, table
    from rekam.central.config import load
    from rekam.central.store import CentralStore

    cdir = load(args.dir)
    store = CentralStore(cdir.db).open()
    try:
        counts = store.counts()
    finally:
        store.close()
    show(table(["what", "count"], sorted(counts.items()), numeric=["count"]))
    return 0
