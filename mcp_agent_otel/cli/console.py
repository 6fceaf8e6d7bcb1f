"""The CLI's two consoles and its one way to stop on bad input.

``console`` is stdout (tables, trees, reports); ``errors`` is stderr (errors, warnings,
progress). ``fail`` prints ``error: <message>`` and exits: 2 for unusable input (the
default; nothing was done), 1 where a command says so (e.g. spans that could not be kept).
"""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

console = Console()
errors = Console(stderr=True, soft_wrap=True, highlight=False)


def error(message: str) -> None:
    errors.print(f"[red]error:[/] {escape(message)}")


def fail(message: str, code: int = 2) -> NoReturn:
    error(message)
    sys.exit(code)


def warn(message: str) -> None:
    errors.print(f"[yellow]warning:[/] {escape(message)}")


def wide_console(min_width: int) -> Console:
    """A stdout console at least ``min_width`` wide when not on a terminal (logs and CI),
    so that long operation names are not folded."""
    wide = Console()
    if not wide.is_terminal:
        wide.width = max(wide.width, min_width)
    return wide
