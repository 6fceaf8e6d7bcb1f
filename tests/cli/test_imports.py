"""Which modules the CLI imports (not how long it takes: that is never asserted).

`--help` lists every command without importing any command module; every command's and
subcommand's `--help` loads none of the analyzer's stack (scipy, numpy, FastAPI, uvicorn);
`run --help` and `demo --help` import neither the MCP SDK nor the tracing SDK: those load
when a task runs. And only `mcp_agent_otel.cli` imports click or rich.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

import mcp_agent_otel
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
ANALYZER_STACK = ("scipy", "numpy", "fastapi", "uvicorn", "starlette")
AGENT_STACK = ("mcp", "mcp_types", "pydantic", "anyio", "opentelemetry.sdk", "diskcache", "sqlite3")
PACKAGE = Path(mcp_agent_otel.__file__).parent
CLI_ONLY = ("click", "rich")


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


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and subcommand below ``group``, as the words that name it."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))


ALL_COMMANDS = sorted(command_paths(cli.main))


def test_help_imports_no_command_module() -> None:
    modules = imported("--help")
    assert loaded(modules, ANALYZER_STACK + AGENT_STACK) == []
    assert loaded(modules, ("mcp_agent_otel",)) == [
        "mcp_agent_otel",
        "mcp_agent_otel._version",
        "mcp_agent_otel.cli",
        "mcp_agent_otel.cli.group",
    ]


def test_every_command_is_probed() -> None:
    """The list below covers the nested groups too (a new subcommand is probed unasked)."""
    top = {path[0] for path in ALL_COMMANDS}
    assert top == {"analyzer", "cache", "check", "dashboard", "demo", "profile", "run"}
    assert ("analyzer", "baseline", "create") in ALL_COMMANDS
    assert ("cache", "warm") in ALL_COMMANDS


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_command_help_imports_no_analyzer_stack(path: tuple[str, ...]) -> None:
    modules = imported(*path, "--help")
    assert loaded(modules, ANALYZER_STACK) == []


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


def imports_of(path: Path) -> set[str]:
    """The top-level packages a module imports (anywhere in it, also inside functions)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_cli_imports_click_or_rich() -> None:
    outside = [
        p for p in sorted(PACKAGE.rglob("*.py")) if "cli" not in p.relative_to(PACKAGE).parts[:1]
    ]
    assert len(outside) > 50  # the walk sees the package
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(imports_of(p) & set(CLI_ONLY))
        for p in outside
        if imports_of(p) & set(CLI_ONLY)
    }
    assert offenders == {}


def test_the_import_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from rich.table import Table\n    import click.testing\n")
    assert imports_of(module) == {"rich", "click"}
