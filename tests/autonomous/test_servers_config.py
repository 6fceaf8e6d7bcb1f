"""The mcpServers config loader and the environment fingerprint (pure parts of ToolDiscovery)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_agent_otel.autonomous.errors import ServerConfigError
from mcp_agent_otel.autonomous.models import ToolCategory, ToolInfo, canonical_json
from mcp_agent_otel.autonomous.server_config import (
    ServerSpec,
    load_servers_config,
    parse_servers_config,
)
from mcp_agent_otel.autonomous.tool_discovery import environment_fingerprint


def test_parses_stdio_and_http_servers() -> None:
    specs = parse_servers_config(
        {
            "mcpServers": {
                "files": {"command": "python", "args": ["-m", "srv"], "env": {"A": "1"}},
                "remote": {"url": "http://127.0.0.1:9000/mcp", "timeout": 3},
                "off": {"command": "x", "disabled": True},
            }
        }
    )
    assert specs == (
        ServerSpec(name="files", command="python", args=("-m", "srv"), env=(("A", "1"),)),
        ServerSpec(name="remote", url="http://127.0.0.1:9000/mcp", timeout_s=3.0),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], '"mcpServers" object'),
        ({"servers": {}}, '"mcpServers" object'),
        ({"mcpServers": {}}, "is empty"),
        ({"mcpServers": {"a": "python"}}, 'server "a" must be an object'),
        ({"mcpServers": {"a": {}}}, 'exactly one of "command"'),
        ({"mcpServers": {"a": {"command": "x", "url": "http://h"}}}, 'exactly one of "command"'),
        ({"mcpServers": {"a": {"command": " "}}}, '"command" must be a non-empty string'),
        ({"mcpServers": {"a": {"url": "ftp://h"}}}, "http:// or https://"),
        ({"mcpServers": {"a": {"command": "x", "args": "-m"}}}, '"args" must be a list'),
        ({"mcpServers": {"a": {"command": "x", "env": {"A": 1}}}}, '"env" must be an object'),
        ({"mcpServers": {"a": {"command": "x", "timeout": 0}}}, '"timeout" must be a positive'),
        ({"mcpServers": {"a": {"command": "x", "timeout": True}}}, '"timeout" must be a positive'),
        ({"mcpServers": {"a": {"command": "x", "disabled": True}}}, "every server is disabled"),
    ],
)
def test_bad_config_names_the_source_and_the_problem(data: object, message: str) -> None:
    with pytest.raises(ServerConfigError) as info:
        parse_servers_config(data, "servers.json")
    assert str(info.value).startswith("servers.json: ")
    assert message in str(info.value)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ServerConfigError, match=r"nope\.json: no such servers file"):
        load_servers_config(missing)


def test_malformed_json_names_the_file_and_position(tmp_path: Path) -> None:
    bad = tmp_path / "servers.json"
    bad.write_text('{"mcpServers": {"a": {"command": "x",}}}')
    with pytest.raises(ServerConfigError, match=r"servers\.json: not valid JSON \(line 1, column"):
        load_servers_config(bad)


def test_loads_a_valid_file(tmp_path: Path) -> None:
    good = tmp_path / "servers.json"
    good.write_text(json.dumps({"mcpServers": {"a": {"command": "python"}}}))
    assert load_servers_config(good) == (ServerSpec(name="a", command="python"),)


def _tool(server: str, name: str, schema: dict[str, object]) -> ToolInfo:
    return ToolInfo(server, name, "d", canonical_json(schema), ToolCategory.GENERAL)


def test_fingerprint_is_stable_under_order_and_changes_with_tools() -> None:
    a = _tool("s1", "search", {"type": "object"})
    b = _tool("s2", "read", {"type": "object", "properties": {"path": {"type": "string"}}})
    base = environment_fingerprint([a, b])
    assert base == environment_fingerprint([b, a])
    assert len(base) == 16
    # A tool added, removed, renamed, moved to another server, or with a changed schema.
    assert environment_fingerprint([a]) != base
    assert environment_fingerprint([a, b, _tool("s2", "write", {})]) != base
    assert environment_fingerprint([a, _tool("s2", "read2", {"type": "object"})]) != base
    assert environment_fingerprint([_tool("s3", "search", {"type": "object"}), b]) != base
    assert environment_fingerprint([a, _tool("s2", "read", {"type": "object"})]) != base
    # The description is not part of the environment's identity.
    renamed = ToolInfo("s1", "search", "other words", a.input_schema, ToolCategory.SEARCH)
    assert environment_fingerprint([renamed, b]) == base
