"""The ``rekam`` command: one entry point, one sub-command group per area.

Each area module exposes ``register(subparsers)`` and sets ``func`` on its
parsers; this module only assembles them, so ``rekam --help`` lists every
group without importing the heavy parts of any.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rekam.errors import one_line, operator_errors

#: Modules that each register one command group, in --help order.
GROUPS: list[str] = [
    "station.cli",
    "controller.cli",
    "rekam.drivers_cli",
    "rekam.sim_cli",
    "rekam.demo_cli",
    "rekam.central.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rekam",
        description="Mobile e-KTP recording: stations, devices, and the fleet controller.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in GROUPS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except operator_errors() as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
