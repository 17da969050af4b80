"""``rekam controller cmd ...`` and ``rekam controller user ...``: commands and dashboard accounts from a shell.

``cmd`` connects to the broker as a client of its own, records each command
in the store (so the dashboard shows it), publishes it, and waits for every
station's reply or the timeout, then prints what came back. ``user`` manages
the dashboard's accounts; passwords are read without echo (or one line from
stdin with ``--password-stdin``) and stored only as argon2 hashes. Both write
the audit log as ``cli:<login name>``.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
import threading
import time
import uuid
from pathlib import Path

from adapters.errors import LinkError
from adapters.link import PahoLink
from adapters.terminal import show, table
from controller import accounts
from controller import config as config_mod
from controller.config import CONFIG_HELP
from controller.commands import CommandError, CommandTracker, command_args
from controller.errors import ControllerError
from controller.service import link_settings
from controller.store import Store
from protocol import messages, topics


def add_commands(csub: argparse._SubParsersAction) -> None:
    c = csub.add_parser("cmd", help="send a command to stations and wait for their replies",
                        description="Send a command (self-test, driver swap, config reload, requeue) to one "
                                    "station, several, or all, and wait for each reply or the timeout.")
    c.set_defaults(func=lambda a: (c.print_help(), 2)[1])
    sub = c.add_subparsers(dest="cmd_command", metavar="COMMAND")
    for name, help in (("self-test", "run each device's self-test"),
                       ("driver-swap", "swap one device's driver (the old one comes back if the new one fails)"),
                       ("config-reload", "re-read station.toml: devices and quality thresholds"),
                       ("requeue", "send a station's quarantined packets again")):
        s = sub.add_parser(name, help=help, description=help)
        s.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
        s.add_argument("stations", nargs="*", metavar="STATION", help="station ids (or --all)")
        s.add_argument("--all", action="store_true", help="every registered, unrevoked station")
        s.add_argument("--timeout", type=float, default=None, help="seconds to wait for replies ([web] command_timeout_s)")
        s.add_argument("--no-wait", action="store_true", help="send and return; the dashboard shows the replies")
        if name == "driver-swap":
            s.add_argument("--kind", required=True, choices=("camera", "fingerprint", "signature", "indicators"),
                           help="which device's driver to swap")
            s.add_argument("--driver", required=True, help="driver name, see `rekam drivers list`")
            s.add_argument("--options", default="{}", help="driver options as a JSON object")
        if name == "requeue":
            s.add_argument("--packet", default="all", help="one quarantined packet id (default: all)")
        s.set_defaults(func=_send, command=name.replace("-", "_").replace("requeue", "requeue_quarantine"))
    ls = sub.add_parser("list", help="recent commands and their replies")
    ls.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    ls.add_argument("--station", default=None, help="only this station's commands")
    ls.set_defaults(func=_list)

    u = csub.add_parser("user", help="dashboard accounts: add, passwd, remove, list",
                        description="Manage the fleet dashboard's accounts (roles: viewer, operator, admin).")
    u.set_defaults(func=lambda a: (u.print_help(), 2)[1])
    usub = u.add_subparsers(dest="user_command", metavar="COMMAND")
    for name, help, func in (("add", "add a user", _user_add), ("passwd", "set a user's password", _user_passwd),
                             ("remove", "remove a user (their sessions end)", _user_remove),
                             ("list", "list users", _user_list)):
        s = usub.add_parser(name, help=help, description=help)
        s.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
        if name != "list":
            s.add_argument("username", help="the dashboard user")
        if name == "add":
            s.add_argument("--role", required=True, choices=accounts.ROLES,
                           help="viewer (reads), operator (acts) or admin (also users, deletes, reveals NIKs)")
        if name in ("add", "passwd"):
            s.add_argument("--password-stdin", action="store_true", help="read the password as one line from stdin")
        s.set_defaults(func=func)


def _who() -> str:
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli:?"


def _store(args) -> tuple[config_mod.ControllerConfig, Store]:
    cfg = config_mod.load(args.config or config_mod.default_path())
    return cfg, Store(cfg.store_path).open()


# -- commands -------------------------------------------------------------------------------
def _send(args) -> int:
    cfg, store = _store(args)
    with store:
        try:
            options = json.loads(getattr(args, "options", "{}") or "{}")
        except json.JSONDecodeError as exc:
            raise ControllerError(f"--options is not JSON: {exc}") from None
        if not isinstance(options, dict):
            raise ControllerError("--options must be a JSON object")
        try:
            name, cargs = command_args(args.command, kind=getattr(args, "kind", ""), driver=getattr(args, "driver", ""),
                                       options=options, packet_id=getattr(args, "packet", ""))
        except CommandError as exc:
            raise ControllerError(str(exc)) from None
        stations = [s.station_id for s in store.stations() if not s.revoked] if args.all else list(args.stations)
        if not stations:
            raise ControllerError("name at least one station, or --all")
        settings = dataclasses.replace(link_settings(cfg), client_id=f"{cfg.controller_id}-cli-{uuid.uuid4().hex[:8]}",
                                       clean_session=True, manual_ack=False)
        timeout = args.timeout or cfg.web.command_timeout_s
        link = PahoLink(settings)
        tracker = CommandTracker(store, lambda sid, cmd: link.publish(topics.station(sid, topics.Leaf.CMD),
                                                                       messages.encode(cmd), qos=1), timeout_s=timeout)
        changed = threading.Event()
        tracker.listeners.append(lambda records: changed.set())

        def on_message(msg) -> None:
            try:
                sid = topics.parse(msg.topic).station_id
            except topics.TopicError:
                return
            tracker.on_reply(sid, msg.payload)

        link.on_message = on_message
        try:
            link.open()
            if not link.wait_connected(10):
                raise ControllerError(f"cannot reach the broker at {cfg.mqtt.host}:{cfg.mqtt.port}")
            link.subscribe([(topics.station(s, topics.Leaf.CMD_REPLY), 1) for s in stations])
            time.sleep(0.2)  # let the SUBACK land before the first reply can
            try:
                batch = tracker.send(stations, name, cargs, _who())
            except CommandError as exc:
                raise ControllerError(str(exc)) from None
            store.audit(_who(), None, "command.send", ", ".join(stations[:20]), f"{name.value} {json.dumps(cargs)}")
            deadline = time.monotonic() + timeout
            while not args.no_wait and time.monotonic() < deadline:
                if all(c.status != "sent" for c in store.commands(batch_id=batch)):
                    break
                changed.wait(min(0.5, max(0.0, deadline - time.monotonic())))
                changed.clear()
            tracker.expire() if not args.no_wait else None
        except LinkError as exc:
            raise ControllerError(f"MQTT: {exc}") from None
        finally:
            link.close()
        records = store.commands(batch_id=batch)
    show(table(["station", "command", "status", "ok", "reply"],
               [[c.station_id, c.name, c.status, "-" if c.ok is None else ("yes" if c.ok else "NO"),
                 (c.error or json.dumps(c.result, ensure_ascii=False) if c.result or c.error else "")[:400]]
                for c in sorted(records, key=lambda c: c.station_id)]))
    return 0 if all(c.status == "replied" and c.ok for c in records) or args.no_wait else 1


def _list(args) -> int:
    _cfg, store = _store(args)
    with store:
        rows = [[time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(c.issued_at)), c.station_id, c.name, c.issued_by,
                 c.status + (" (late)" if c.late else ""), "-" if c.ok is None else ("yes" if c.ok else "NO"),
                 (c.error or "")[:60]] for c in store.commands(station_id=args.station, limit=50)]
    show(table(["issued", "station", "command", "by", "status", "ok", "error"], rows))
    return 0


# -- users ------------------------------------------------------------------------------------
def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise ControllerError("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise ControllerError("the two passwords differ")
    return first


def _user_add(args) -> int:
    _cfg, store = _store(args)
    with store:
        accounts.add_user(store, args.username, args.role, _password(args))
        store.audit(_who(), None, "user.add", args.username, f"role {args.role}")
    print(f"added {args.username} ({args.role})")
    return 0


def _user_passwd(args) -> int:
    _cfg, store = _store(args)
    with store:
        accounts.change_password(store, args.username, _password(args))
        store.audit(_who(), None, "user.passwd", args.username)
    print(f"changed the password of {args.username}; their sessions have ended")
    return 0


def _user_remove(args) -> int:
    _cfg, store = _store(args)
    with store:
        accounts.remove_user(store, args.username)
        store.audit(_who(), None, "user.remove", args.username)
    print(f"removed {args.username}")
    return 0


def _user_list(args) -> int:
    _cfg, store = _store(args)
    with store:
        rows = [[u.username, u.role, time.strftime("%Y-%m-%d %H:%M", time.localtime(u.created_at))]
                for u in store.users()]
    show(table(["user", "role", "created"], rows))
    return 0
