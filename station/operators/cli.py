"""``rekam station operators ...``: accounts on this station, from its terminal.

The first account (a supervisor) is made here at installation; later ones by
a supervisor, here or on the kiosk. PINs are read without echo at a terminal
(from stdin otherwise, one per line), never from the command line, so they
stay out of shell history and process lists.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from adapters.terminal import show, table
from station import config as config_mod
from station.operators.store import OperatorError, OperatorStore, Role


def add_commands(ssub: argparse._SubParsersAction) -> None:
    p = ssub.add_parser("operators", help="operator accounts: add, list, remove, unlock, set a PIN",
                        description="Operator accounts kept on this station (PINs as argon2 hashes).")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
    osub = p.add_subparsers(dest="operators_command", metavar="ACTION")

    def cmd(name: str, help: str, func) -> argparse.ArgumentParser:
        c = osub.add_parser(name, help=help, description=help)
        c.add_argument("--config", type=Path, default=None, help="station TOML")
        c.set_defaults(func=func)
        return c

    c = cmd("add", "make an account (a supervisor's id and PIN are asked unless the station has none yet)", _add)
    c.add_argument("operator_id", help="the operator's id (lower-case letters, digits, '.', '_' or '-')")
    c.add_argument("--name", default="", help="name shown on the kiosk")
    c.add_argument("--role", action="append", choices=[r.value for r in Role], default=None,
                   help="operator (default), supervisor, technician; repeat for several")
    c.add_argument("--by", default=None, help="the supervisor making the account")
    cmd("list", "accounts, roles and lockouts", _list)
    c = cmd("remove", "remove an account", _remove)
    c.add_argument("operator_id", help="the operator's id (lower-case letters, digits, '.', '_' or '-')")
    c.add_argument("--by", required=True, help="the supervisor removing it")
    c = cmd("unlock", "lift a lockout after repeated wrong PINs", _unlock)
    c.add_argument("operator_id", help="the operator's id (lower-case letters, digits, '.', '_' or '-')")
    c.add_argument("--by", required=True, help="the supervisor lifting it")
    c = cmd("set-pin", "set a new PIN (a supervisor, or the operator with the old PIN)", _set_pin)
    c.add_argument("operator_id", help="the operator's id (lower-case letters, digits, '.', '_' or '-')")
    c.add_argument("--by", default=None, help="the supervisor setting it (default: the operator themself)")


def _store(args) -> OperatorStore:
    cfg = config_mod.load(args.config or config_mod.default_path())
    return OperatorStore(cfg.data_dir / "operators.db").open()


def _pin(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt + ": ")
    line = sys.stdin.readline()
    if not line:
        raise OperatorError(f"no PIN given ({prompt})", field="pin")
    return line.strip()


def _add(args) -> int:
    with _store(args) as store:
        by = None
        if store.count() > 0:
            if not args.by:
                raise OperatorError("a supervisor must make new accounts: give --by SUPERVISOR_ID", need="supervisor")
            by = (args.by, _pin(f"PIN of supervisor {args.by}"))
        pin = _pin(f"new PIN for {args.operator_id}")
        if sys.stdin.isatty() and _pin("the same PIN again") != pin:
            raise OperatorError("the two PINs differ", field="pin")
        roles = args.role or ([Role.SUPERVISOR.value] if by is None else [Role.OPERATOR.value])
        account = store.add(args.operator_id, args.name or args.operator_id, pin, roles, by=by)
    print(f"added {account.operator_id} ({', '.join(sorted(r.value for r in account.roles))})")
    return 0


def _list(args) -> int:
    with _store(args) as store:
        rows = [[a.operator_id, a.name, ", ".join(sorted(r.value for r in a.roles)),
                 "yes" if a.finger_slot is not None else "-", a.created_by or "-",
                 "locked" if store.locked_until(a.operator_id) else "-"] for a in store.accounts()]
    show(table(["id", "name", "roles", "finger", "made by", "lockout"], rows))
    return 0


def _remove(args) -> int:
    with _store(args) as store:
        store.remove(args.operator_id, by=(args.by, _pin(f"PIN of supervisor {args.by}")))
    print(f"removed {args.operator_id}")
    return 0


def _unlock(args) -> int:
    with _store(args) as store:
        store.unlock(args.operator_id, by=(args.by, _pin(f"PIN of supervisor {args.by}")))
    print(f"unlocked {args.operator_id}")
    return 0


def _set_pin(args) -> int:
    by = args.by or args.operator_id
    with _store(args) as store:
        current = _pin(f"PIN of {by}")
        store.set_pin(args.operator_id, _pin(f"new PIN for {args.operator_id}"), by=(by, current))
    print(f"PIN of {args.operator_id} changed")
    return 0
