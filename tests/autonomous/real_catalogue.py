"""The 50 tools of five third-party MCP servers (fixtures/real_tools.json), as ToolInfo the way
ToolDiscovery makes them, and the server contexts of a typical configuration."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from mcp_agent_otel.autonomous.lexicon import categorize_tool
from mcp_agent_otel.autonomous.models import ToolInfo, canonical_json

FIXTURE = Path(__file__).with_name("fixtures") / "real_tools.json"
SANDBOX = "/srv/agent/sandbox"
REPO = "/srv/agent/repo"
CONTEXTS = {"filesystem": (SANDBOX,), "git": (REPO,)}


@functools.cache
def real_tools() -> tuple[ToolInfo, ...]:
    listed = json.loads(FIXTURE.read_text(encoding="utf-8"))["tools"]
    return tuple(
        ToolInfo(
            server=t["server"],
            name=t["name"],
            description=t["description"],
            input_schema=canonical_json(t["inputSchema"]),
            category=categorize_tool(t["name"], t["description"], t["inputSchema"]),
            annotations=canonical_json(t["annotations"]),
        )
        for t in listed
    )


def real_tool(server: str, name: str) -> ToolInfo:
    return next(t for t in real_tools() if (t.server, t.name) == (server, name))
