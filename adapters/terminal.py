"""What the ``rekam`` commands show on a terminal: tables and progress, through rich.

One place decides how output looks, so every command's tables line up the same
way. Piped into a file or another program, output keeps a wide, fixed width and
no colour, so scripts (and tests) read whole cells, never "…".
"""

from __future__ import annotations

import sys
from typing import Iterable, Sequence

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

_WIDE = 240


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    return Console(file=stream, width=None if tty else _WIDE, no_color=not tty, highlight=False,
                   soft_wrap=not tty)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None,
          numeric: Sequence[str] = ()) -> Table:
    """A table with ``headers``; columns named in ``numeric`` are right-aligned."""
    t = Table(title=title, box=box.SIMPLE_HEAD, header_style="bold", title_justify="left", pad_edge=False)
    for h in headers:
        t.add_column(h, justify="right" if h in numeric else "left", overflow="fold")
    for row in rows:
        t.add_row(*("-" if c is None else c if hasattr(c, "__rich_console__") else str(c) for c in row))
    return t


def show(*renderables: object, stderr: bool = False) -> None:
    console(stderr).print(*renderables)


def progress(stderr: bool = True) -> Progress:
    """A progress bar for long work (on stderr, so stdout stays the result)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console(stderr), transient=False)
