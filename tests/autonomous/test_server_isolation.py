"""What a stdio MCP server gets from the agent, and what the agent says about a server.

Real server processes over stdio (the test-only faulty server): the environment a server sees
(least privilege: no exporter headers, tokens or our own settings for a third-party server),
the roots it is given, its annotations, its stderr kept off the terminal, and a server that
exits at start reported with its own last words.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from mcp_agent_otel.autonomous.meta_coordinator import tool_output
from mcp_agent_otel.autonomous.models import ToolRef
from mcp_agent_otel.autonomous.server_config import ServerSpec, parse_servers_config, server_env
from mcp_agent_otel.autonomous.tool_discovery import ToolDiscovery
from tests.autonomous.fixtures import FAULTY_SERVER

SECRETS = {
    "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer vendor-key",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-api-key=vendor-key",
    "MCP_AGENT_OTEL_ANALYZER_TOKEN": "analyzer-secret",
}
TELEMETRY = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
    "OTEL_TRACES_SAMPLER": "always_off",
    "MCP_AGENT_OTEL_CAPTURE_CONTENT": "false",
}


def _faulty(*flags: str, **entry: Any) -> dict[str, Any]:
    return {
        "mcpServers": {
            "faulty": {"command": sys.executable, "args": [str(FAULTY_SERVER), *flags], **entry}
        }
    }


async def _call(discovery: ToolDiscovery, tool: str, args: dict[str, Any] | None = None) -> str:
    await discovery.discover()
    result = await discovery.call_tool(ToolRef("faulty", tool), args or {}, timeout_s=30)
    assert not result.is_error, tool_output(result)
    return tool_output(result)


async def test_a_third_party_server_gets_no_credentials_and_none_of_our_settings() -> None:
    environ = {**SECRETS, **TELEMETRY, "PATH": "/usr/bin:/bin", "AWS_SECRET_ACCESS_KEY": "x"}
    specs = parse_servers_config(_faulty(env={"OWN_SETTING": "1"}))
    async with ToolDiscovery(specs, environ=environ) as discovery:
        names = set(json.loads(await _call(discovery, "environment")))
    assert "OWN_SETTING" in names  # its configured env, as a desktop MCP client passes it
    assert not {n for n in names if n.startswith(("OTEL_", "MCP_AGENT_OTEL_"))}
    assert not {n for n in names if "HEADERS" in n or "TOKEN" in n or "SECRET" in n}


async def test_a_server_that_traces_itself_gets_telemetry_settings_but_no_credentials() -> None:
    environ = {**SECRETS, **TELEMETRY}
    specs = parse_servers_config(_faulty(telemetry=True))
    async with ToolDiscovery(specs, environ=environ) as discovery:
        names = set(json.loads(await _call(discovery, "environment")))
    assert set(TELEMETRY) <= names
    assert not names & set(SECRETS)


def test_server_env_is_the_configured_env_plus_telemetry_only_when_marked() -> None:
    environ = {**SECRETS, **TELEMETRY}
    third_party = ServerSpec(name="x", command="x", env=(("A", "1"),))
    assert server_env(third_party, environ) == {"A": "1"}
    traced = ServerSpec(name="x", command="x", env=(("A", "1"),), telemetry=True)
    assert server_env(traced, environ) == {**TELEMETRY, "A": "1"}


def test_telemetry_must_be_a_boolean() -> None:
    from mcp_agent_otel.autonomous.errors import ServerConfigError

    with pytest.raises(ServerConfigError, match='"telemetry" must be true or false'):
        parse_servers_config(_faulty(telemetry="yes"))


def test_directories_are_the_existing_directories_among_the_args(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "file.txt").write_text("x")
    spec = ServerSpec(
        name="git",
        command="mcp-server-git",
        args=("--repository", "repo", "file.txt", "missing", str(tmp_path / "repo")),
    )
    assert spec.directories(tmp_path) == (str((tmp_path / "repo").resolve()),)


def test_contexts_are_each_servers_configured_directories(tmp_path: Path) -> None:
    config = _faulty(str(tmp_path))
    config["mcpServers"]["other"] = {"command": "x"}
    discovery = ToolDiscovery(parse_servers_config(config))
    assert discovery.contexts == {"faulty": (str(tmp_path.resolve()),), "other": ()}


async def test_annotations_are_kept_with_each_tool() -> None:
    async with ToolDiscovery(parse_servers_config(_faulty())) as discovery:
        tools = {t.name: t for t in await discovery.discover()}
    assert tools["remove_item"].annotation_hints() == {
        "readOnlyHint": False,
        "destructiveHint": True,
    }
    assert tools["echo"].annotation_hints() == {}


async def test_a_server_that_exits_at_start_is_reported_with_its_last_stderr_line(
    capfd: pytest.CaptureFixture[str],
) -> None:
    async with ToolDiscovery(parse_servers_config(_faulty("--exit-on-start", "3"))) as discovery:
        assert await discovery.discover() == ()
        failure = discovery.server_failure("faulty")
    assert failure is not None
    assert "during start-up" in failure
    assert "faulty server: exiting on start with code 3" in failure
    assert "ExceptionGroup" not in failure
    assert "Connection closed" not in failure
    # The server's own stderr did not reach the terminal.
    assert "exiting on start" not in capfd.readouterr().err


async def test_server_stderr_goes_where_the_user_asked() -> None:
    sink = io.StringIO()
    specs = parse_servers_config(_faulty("--exit-on-start", "4"))
    async with ToolDiscovery(specs, server_stderr=sink) as discovery:
        await discovery.discover()
    assert "[faulty] faulty server: exiting on start with code 4" in sink.getvalue()
