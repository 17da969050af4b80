"""Run the provisioning commands as the `rekam` front door would, before the lead wires them in."""

from __future__ import annotations

import argparse

from controller import provision_cli
from station import provision_cli as station_provision_cli


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rekam")
    sub = p.add_subparsers(dest="command")
    provision_cli.add_commands(sub.add_parser("controller").add_subparsers(dest="controller_command"))
    station_provision_cli.add_commands(sub.add_parser("station").add_subparsers(dest="station_command"))
    return p


def rekam(*argv: str) -> int:
    """Parse and run like ``rekam.cli.main``, but let operator errors raise so tests can match them."""
    args = parser().parse_args([str(a) for a in argv])
    return int(args.func(args) or 0)
