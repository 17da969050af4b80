"""Run `rekam` commands in-process, letting operator errors raise so tests can match them."""

from __future__ import annotations

from rekam.cli import build_parser


def rekam(*argv: str) -> int:
    """Parse and run like ``rekam.cli.main``, without turning errors into exit codes."""
    args = build_parser().parse_args([str(a) for a in argv])
    return int(args.func(args) or 0)
