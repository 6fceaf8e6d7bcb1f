"""The ``mcp-agent-otel`` command. A thin shell: parsing, wiring and printing, no logic.

Each subsystem owns its command group in its own module; this file assembles them.
"""

from __future__ import annotations

import click

from mcp_agent_otel._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mcp-agent-otel")
def main() -> None:
    """An observable autonomous MCP agent and its performance tools."""


# Subsystem command groups are registered below (one line each).
from mcp_agent_otel.caching.commands import cache_group  # noqa: E402

main.add_command(cache_group)
