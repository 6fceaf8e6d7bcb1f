"""Options more than one command takes, declared once (same name, type, default and help)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

SERVERS_HELP = "mcpServers JSON file (default: the bundled demo servers)"
DEFAULT_CALL_TIMEOUT_S = 10.0


def count_option(*names: str, minimum: int, default: int | None, help: str) -> Callable[[F], F]:
    """A whole number of at least ``minimum`` (the default shown unless it is None)."""
    return click.option(
        *names,
        type=click.IntRange(min=minimum),
        default=default,
        show_default=default is not None,
        help=help,
    )


servers_option = click.option("--servers", type=click.Path(dir_okay=False), help=SERVERS_HELP)
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_CALL_TIMEOUT_S,
    show_default=True,
    help="seconds per tool call",
)
db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="SQLite database (default: $MCP_AGENT_OTEL_ANALYZER_DB, "
    "else $MCP_AGENT_OTEL_HOME/analyzer.db)",
)
json_option = click.option("--json", "as_json", is_flag=True, help="print JSON")
