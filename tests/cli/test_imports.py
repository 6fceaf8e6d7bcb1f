"""Which modules the CLI imports to print help (not how long it takes: that is never asserted).

`--help` lists every command without importing any subsystem; `run --help` and `demo --help`
import neither the MCP SDK nor the tracing SDK: those load when a task runs.
"""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from mcp_agent_otel import cli

# Each run happens in a fresh interpreter: this test session has imported everything already.
PROBE = """
import json, sys
from mcp_agent_otel.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""
ANALYZER_STACK = ("scipy", "numpy", "fastapi", "uvicorn", "starlette", "grpc", "google.protobuf")
AGENT_STACK = ("mcp", "mcp_types", "pydantic", "anyio", "opentelemetry.sdk", "diskcache", "sqlite3")


def imported(*argv: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    lines = proc.stdout.strip().splitlines()
    modules: list[str] = json.loads(lines[-1])
    assert "Usage:" in proc.stdout  # the help was printed
    return set(modules)


def loaded(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


def test_help_imports_no_subsystem() -> None:
    modules = imported("--help")
    assert loaded(modules, ANALYZER_STACK + AGENT_STACK) == []
    assert loaded(modules, ("mcp_agent_otel",)) == [
        "mcp_agent_otel",
        "mcp_agent_otel._version",
        "mcp_agent_otel.cli",
    ]


@pytest.mark.parametrize("command", ["run", "demo"])
def test_agent_command_help_imports_neither_sdk(command: str) -> None:
    modules = imported(command, "--help")
    assert loaded(modules, ANALYZER_STACK + AGENT_STACK) == []


def test_help_lists_each_lazy_command_with_its_own_short_help() -> None:
    """The stand-in text `--help` shows for a command not imported yet is the command's own."""
    ctx = click.Context(cli.main)
    assert set(cli.main.lazy_help) == set(cli.main.lazy)
    for name, text in cli.main.lazy_help.items():
        command = cli.main.get_command(ctx, name)
        assert command is not None
        assert command.get_short_help_str(limit=1000) == text, name
