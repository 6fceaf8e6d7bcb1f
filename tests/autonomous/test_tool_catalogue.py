"""The tool catalogue on disk: discovery without starting servers, lazy start on first call.

Real demo servers over stdio and a real catalogue file under tmp_path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.autonomous.models import ToolRef
from mcp_agent_otel.autonomous.server_config import ServerSpec, parse_servers_config
from mcp_agent_otel.autonomous.servers import demo_servers_config
from mcp_agent_otel.autonomous.tool_catalogue import (
    MAX_AGE_S,
    cached_tools,
    catalogue_key,
    read_catalogue,
)
from mcp_agent_otel.autonomous.tool_discovery import ServerUnavailableError, ToolDiscovery
from mcp_agent_otel.tracing import semconv

CALCULATE = ToolRef("mathdata", "calculate")


def specs(*names: str) -> tuple[ServerSpec, ...]:
    config = demo_servers_config()
    config["mcpServers"] = {n: config["mcpServers"][n] for n in names}
    return parse_servers_config(config)


def running(discovery: ToolDiscovery) -> set[str]:
    """The servers that have a process (an open session)."""
    found = set()
    for spec in specs("mathdata", "text"):
        try:
            discovery.session(spec.name)
        except ServerUnavailableError:
            continue
        found.add(spec.name)
    return found


def span_attributes(spans: InMemorySpanExporter, name: str) -> list[dict[str, Any]]:
    return [dict(s.attributes or {}) for s in spans.get_finished_spans() if s.name == name]


async def test_a_second_discovery_starts_no_server_and_a_call_starts_only_its_own(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    catalogue = tmp_path / "catalogue.json"
    async with ToolDiscovery(specs("mathdata", "text"), catalogue=catalogue) as first:
        listed = await first.discover()
        assert running(first) == {"mathdata", "text"}
    assert len(read_catalogue(catalogue)) == 2
    spans.clear()

    async with ToolDiscovery(specs("mathdata", "text"), catalogue=catalogue) as second:
        tools = await second.discover()
        assert tools == listed
        assert second.fingerprint == first.fingerprint
        assert running(second) == set()
        (discover,) = span_attributes(spans, semconv.SPAN_DISCOVER)
        assert discover[semconv.DISCOVERY_LISTED] == 0
        assert discover[semconv.DISCOVERY_CACHED] == 2
        assert discover[semconv.SERVERS_FAILED] == 0
        assert span_attributes(spans, semconv.list_tools_span_name("mathdata")) == []

        result = await second.call_tool(CALCULATE, {"expression": "2 + 3"}, timeout_s=10)
        assert not result.is_error
        assert result.structured_content is not None
        assert result.structured_content["result"] == 5
        assert running(second) == {"mathdata"}  # the text server was never started
        # Its start is traced: it was listed (and checked against the catalogue) then.
        (listing,) = span_attributes(spans, semconv.list_tools_span_name("mathdata"))
        assert listing[semconv.TOOLS_COUNT] == sum(t.server == "mathdata" for t in tools)
        assert second.fingerprint == first.fingerprint
        assert await second.discover() == tools


async def test_a_catalogue_that_differs_from_the_server_is_corrected_on_first_start(
    tmp_path: Path,
) -> None:
    catalogue = tmp_path / "catalogue.json"
    async with ToolDiscovery(specs("mathdata"), catalogue=catalogue) as first:
        full = await first.discover()
    data = json.loads(catalogue.read_text())
    (entry,) = data["servers"].values()
    entry["tools"] = [t for t in entry["tools"] if t["name"] != "sort_numbers"]
    catalogue.write_text(json.dumps(data))

    changes: list[tuple[str, str]] = []
    async with ToolDiscovery(specs("mathdata"), catalogue=catalogue) as second:
        second.add_listener(lambda old, new: changes.append((old, new)))
        partial = await second.discover()
        assert len(partial) == len(full) - 1
        stale = second.fingerprint
        await second.call_tool(CALCULATE, {"expression": "1 + 1"}, timeout_s=10)
        assert second.tools == full
        assert second.fingerprint == first.fingerprint != stale
        assert changes == [(stale, first.fingerprint)]
    assert len(json.loads(catalogue.read_text())["servers"]) == 1  # corrected, not added


async def test_another_command_line_is_listed_not_served_from_the_catalogue(
    tmp_path: Path,
) -> None:
    catalogue = tmp_path / "catalogue.json"
    async with ToolDiscovery(specs("mathdata"), catalogue=catalogue) as first:
        await first.discover()
    (spec,) = specs("mathdata")
    changed = ServerSpec(
        name=spec.name, command=spec.command, args=spec.args, env=(("EXTRA", "1"),)
    )
    assert catalogue_key(spec.command, spec.args, spec.env, None) != catalogue_key(
        changed.command, changed.args, changed.env, None
    )
    async with ToolDiscovery((changed,), catalogue=catalogue) as second:
        await second.discover()
        assert running(second) == {"mathdata"}
    assert len(read_catalogue(catalogue)) == 2


@pytest.mark.parametrize("content", ["not json", '{"version": 99, "servers": {}}', "[]"])
async def test_an_unreadable_catalogue_counts_as_empty(tmp_path: Path, content: str) -> None:
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(content)
    async with ToolDiscovery(specs("mathdata"), catalogue=catalogue) as discovery:
        assert await discovery.discover()
        assert running(discovery) == {"mathdata"}
    assert len(read_catalogue(catalogue)) == 1  # rewritten whole


def test_old_or_malformed_entries_are_not_used() -> None:
    entries = {
        "old": {"stored_at": 1000.0, "tools": [], "list_changed": True},
        "bad": {"stored_at": 1000.0, "tools": [{"no": "name"}]},
        "good": {"stored_at": 1000.0, "tools": [{"name": "t", "inputSchema": {}}]},
    }
    assert cached_tools(entries, "old", now=1000.0 + MAX_AGE_S) is None
    assert cached_tools(entries, "bad", now=1001.0) is None
    assert cached_tools(entries, "missing", now=1001.0) is None
    found = cached_tools(entries, "good", now=1001.0)
    assert found is not None
    assert [t.name for t in found[0]] == ["t"]


async def test_a_cached_server_that_fails_to_start_says_why(tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.json"
    broken = ServerSpec(name="mathdata", command=sys.executable, args=("-c", "raise SystemExit(3)"))
    async with ToolDiscovery(specs("mathdata"), catalogue=catalogue) as first:
        await first.discover()
    # The broken server's key is its own: give it the working server's listing.
    data = json.loads(catalogue.read_text())
    (entry,) = data["servers"].values()
    data["servers"] = {catalogue_key(broken.command, broken.args, broken.env, None): entry}
    catalogue.write_text(json.dumps(data))
    async with ToolDiscovery((broken,), catalogue=catalogue) as second:
        assert await second.discover()  # from the catalogue: nothing started yet
        with pytest.raises(ServerUnavailableError, match="mathdata"):
            await second.call_tool(CALCULATE, {"expression": "1"}, timeout_s=10)
        assert second.server_failure("mathdata")
        assert second.tools == ()


async def test_an_unchanged_listing_is_not_written_again(tmp_path: Path) -> None:
    """A server listed again with the same tools (refresh, or a server without list_changed,
    listed at every discovery) costs no write of the catalogue."""
    catalogue = tmp_path / "catalogue.json"
    async with ToolDiscovery(specs("mathdata"), catalogue=catalogue) as discovery:
        await discovery.discover()
        written = catalogue.stat().st_ino  # each write replaces the file: a new inode
        await discovery.discover(refresh=True)
        assert catalogue.stat().st_ino == written
