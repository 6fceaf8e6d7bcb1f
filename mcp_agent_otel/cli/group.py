"""The ``mcp-agent-otel`` group: every command lives in its own module, imported on first use.

``--help`` lists the commands from ``lazy_help`` without importing any of them, and each
command module imports its subsystem inside the command, so that a command's ``--help``
loads no scipy, numpy, FastAPI or uvicorn (tests/cli/test_imports.py checks both).
"""

from __future__ import annotations

import importlib
from typing import Any, Final

import click

from mcp_agent_otel._version import __version__


class _LazyGroup(click.Group):
    """Commands named in ``lazy`` are imported when first used."""

    lazy: Final = {
        "analyzer": "mcp_agent_otel.cli.analyzer_commands:analyzer_group",
        "cache": "mcp_agent_otel.cli.cache_commands:cache_group",
        "check": "mcp_agent_otel.cli.check_command:check_command",
        "dashboard": "mcp_agent_otel.cli.dashboard_command:dashboard_command",
        "demo": "mcp_agent_otel.cli.agent_commands:demo",
        "profile": "mcp_agent_otel.cli.profile_command:profile_command",
        "run": "mcp_agent_otel.cli.agent_commands:run",
    }
    # What `--help` lists for each, so that listing imports none of them
    # (tests/cli/test_imports.py checks these are the commands' own short help).
    lazy_help: Final = {
        "analyzer": "The regression analyzer: OTLP receiver, baselines, comparisons, alerts.",
        "cache": "The TaskAnalyzer cache (MCP_AGENT_OTEL_CACHE, _CACHE_DIR, _CACHE_TTL, ...).",
        "check": "CI gate: compare a candidate against --baseline NAME (or --baseline-file F), "
        "or run both builds here with --ab.",
        "dashboard": "Open the latency dashboard on the analyzer's store.",
        "demo": "Run the demo workload over the bundled MCP servers, printing each trace.",
        "profile": "Profile a workload through the real pipeline and report it from its spans.",
        "run": "Run one TASK through the agent and print its trace.",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            module, attr = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:
            from mcp_agent_otel import extras

            if not extras.is_analyzer_module(exc.name):
                raise
            from mcp_agent_otel.cli.console import fail

            missing = extras.missing_analyzer_modules() or [str(exc.name)]
            fail(
                f"mcp-agent-otel {ctx.invoked_subcommand}: {extras.analyzer_extra_message(missing)}"
            )

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, with a stand-in carrying the short help of each command that is
        not imported yet: click's own layout, no import."""
        commands = dict(self.commands)
        for name, text in self.lazy_help.items():
            commands.setdefault(name, click.Command(name, help=text))
        stand_in = click.Group(self.name, commands=commands)
        click.Group.format_commands(stand_in, ctx, formatter)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mcp-agent-otel")
def main() -> None:
    """An observable autonomous MCP agent and its performance tools."""
