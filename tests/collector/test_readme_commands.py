"""The walk-through's commands are ones a user can paste: checked against the CLI and compose.

Every ``mcp-agent-otel`` command in a bash block of collector/README.md (and of the
"Inspect traces in Jaeger" section of README.md, once it is there) names a real subcommand
and real options; every ``localhost`` port is one compose publishes; every variable set in
front of a command is one something reads; every file a command names exists.
"""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.collector.otelcol_config import env_references, load_yaml

ROOT = Path(__file__).resolve().parents[2]
COLLECTOR_DIR = ROOT / "collector"
JAEGER_SECTION = "## Inspect traces in Jaeger"
ANALYZER_SETTINGS = {
    "MCP_AGENT_OTEL_ANALYZER_TOKEN",
    "MCP_AGENT_OTEL_ANALYZER_WEBHOOK",
    "MCP_AGENT_OTEL_ANALYZER_RETENTION_DAYS",
    "MCP_AGENT_OTEL_ANALYZER_MAX_OPERATIONS",
}
ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=")


def bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL)


def walkthrough_commands() -> list[tuple[str, str]]:
    """(source, command line) for every command in the walk-throughs."""
    sources = {"collector/README.md": (COLLECTOR_DIR / "README.md").read_text()}
    readme = (ROOT / "README.md").read_text()
    if JAEGER_SECTION in readme:
        section = readme.split(JAEGER_SECTION, 1)[1]
        sources["README.md"] = re.split(r"\n## ", section, maxsplit=1)[0]
    return [
        (name, line.strip())
        for name, text in sources.items()
        for block in bash_blocks(text)
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


COMMANDS = walkthrough_commands()


def _ids() -> list[str]:
    return [f"{source}:{i}" for i, (source, _) in enumerate(COMMANDS)]


def _published_host_ports() -> set[int]:
    compose = load_yaml(COLLECTOR_DIR / "docker-compose.yaml")
    return {
        int(str(entry).split(":")[-2])
        for service in compose["services"].values()
        for entry in service.get("ports", [])
    }


def test_the_walkthrough_covers_start_send_look_and_report() -> None:
    text = "\n".join(line for _, line in COMMANDS)
    assert "docker compose -f collector/docker-compose.yaml up -d --build --wait" in text
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 mcp-agent-otel demo" in text
    assert "mcp-agent-otel check --url http://localhost:4418" in text
    assert "/api/operations" in text
    assert "docker compose -f collector/docker-compose.yaml down" in text


@pytest.mark.parametrize(("source", "line"), COMMANDS, ids=_ids())
def test_each_command_names_real_things(source: str, line: str) -> None:
    words = shlex.split(line)
    known_env = set(env_references(load_yaml(COLLECTOR_DIR / "otelcol-config.yaml")))
    assigned = words[: _command_start(words)]
    if words[0] == "export":
        assigned = words[1:2]
    assigned += [b for a, b in itertools.pairwise(words) if a == "-e"]
    for word in assigned:
        name = word.split("=", 1)[0]
        assert name.startswith("OTEL_") or name in known_env | ANALYZER_SETTINGS, name
    for port in re.findall(r"localhost:(\d+)", line):
        assert int(port) in _published_host_ports(), f"{source}: port {port} is not published"
    for path in re.findall(r"\bcollector/[\w.-]+", line):
        assert (ROOT / path).exists(), f"{source}: {path} does not exist"

    if "mcp-agent-otel" not in words:
        return
    from mcp_agent_otel.cli import main

    args = words[words.index("mcp-agent-otel") + 1 :]
    subcommand = [a for a in args[:2] if not a.startswith("-") and a in _subcommands(main)]
    assert subcommand, f"{source}: `{line}` names no mcp-agent-otel subcommand"
    result = CliRunner().invoke(main, [*_command_path(args), "--help"])
    assert result.exit_code == 0, result.output
    for option in (a for a in args if a.startswith("--")):
        assert option in result.output, f"{source}: `{line}`: no {option} option"


def _command_start(words: list[str]) -> int:
    for i, word in enumerate(words):
        if not ASSIGNMENT.match(word):
            return i
    return len(words)


def _commands(group: object) -> dict[str, click.Command]:
    """A group's commands, lazily loaded ones included (whatever this process loaded so far)."""
    if not isinstance(group, click.Group):
        return {}
    ctx = click.Context(group)
    found = (group.get_command(ctx, name) for name in group.list_commands(ctx))
    return {command.name: command for command in found if command is not None and command.name}


def _subcommands(group: object) -> set[str]:
    commands = _commands(group)
    names = set(commands)
    for command in commands.values():
        names |= set(_commands(command))
    return names


def _command_path(args: list[str]) -> list[str]:
    """``analyzer serve --host x`` → ``["analyzer", "serve"]``: the leading non-option words
    that are command names."""
    from mcp_agent_otel.cli import main

    path: list[str] = []
    group: object = main
    for arg in args:
        commands = _commands(group)
        if arg not in commands:
            break
        path.append(arg)
        group = commands[arg]
    return path
