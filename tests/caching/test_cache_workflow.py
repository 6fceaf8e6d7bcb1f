"""The cache on real workflows: MetaCoordinator over real stdio MCP servers, with the
``mcp_agent.cache.*`` attributes read from the real ``task_analyzer.analyze`` spans.

Covers the integration hooks (``autonomous.cache_hooks``): ToolDiscovery's environment
listener (registered by ``MetaCoordinator.from_config(cache=...)`` or by ``subscribe``; a real
``tools/list_changed`` from a server that adds a tool) and MetaCoordinator's
``report_outcome`` (a failed step drops the analysis it was planned from).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

# MetaCoordinator and ToolDiscovery are the foundation's; until they land this module skips.
pytest.importorskip("mcp_agent_otel.autonomous.meta_coordinator")
pytest.importorskip("tests.autonomous.test_workflow")

from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.autonomous.models import ToolRef
from mcp_agent_otel.autonomous.server_config import parse_servers_config
from mcp_agent_otel.autonomous.servers import demo_servers_config
from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer
from mcp_agent_otel.autonomous.tool_discovery import ToolDiscovery
from mcp_agent_otel.caching.cache_manager import AnalysisCache, CacheSettings
from mcp_agent_otel.tracing import semconv
from tests.autonomous.fixtures import FAULTY_SERVER
from tests.autonomous.test_workflow import PinnedEngine, _plan
from tests.caching.test_cache_manager import cache_attrs, invalidation_events

FAULTY = {"mcpServers": {"faulty": {"command": sys.executable, "args": [str(FAULTY_SERVER)]}}}


def agent(home: Path, config: dict[str, Any], cache: AnalysisCache) -> MetaCoordinator:
    discovery = ToolDiscovery(
        parse_servers_config(config), environ={"MCP_AGENT_OTEL_HOME": str(home)}
    )
    cache.subscribe(discovery)
    return MetaCoordinator(discovery, analyzer=TaskAnalyzer(cache=cache))


def analyze_spans(exporter: InMemorySpanExporter) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.name == semconv.SPAN_ANALYZE]


async def test_cache_attributes_on_real_workflows(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    cache = AnalysisCache(CacheSettings(directory=tmp_path / "cache"))
    task = "Convert 42 kilometers to miles"
    async with agent(tmp_path, demo_servers_config(), cache) as meta:
        results = [await meta.run(task) for _ in range(3)]
    assert all(r.ok for r in results)
    assert results[0].analysis == results[1].analysis == results[2].analysis
    outcomes = [cache_attrs(s)[semconv.CACHE_RESULT] for s in analyze_spans(spans)]
    # A session's first run discovers before it analyses, so even it can use the cache.
    assert outcomes == ["miss", "hit", "hit"]
    hit_span = analyze_spans(spans)[-1]
    assert hit_span.parent is not None  # nested in the workflow span, no span of its own
    (workflow,) = [
        s
        for s in spans.get_finished_spans()
        if s.name == semconv.SPAN_WORKFLOW and s.context.trace_id == hit_span.context.trace_id
    ]
    assert hit_span.parent.span_id == workflow.context.span_id
    cache.close()


async def test_a_failed_run_drops_its_analysis(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    cache = AnalysisCache(CacheSettings(directory=tmp_path / "cache"))
    meta = agent(tmp_path, FAULTY, cache)
    meta.engine = PinnedEngine(_plan("fail", {"message": "disk on fire"}))  # a plan that fails
    task = "Echo something"
    async with meta:
        await meta.discovery.discover()
        first = await meta.run(task)
        assert not first.ok
        spans.clear()
        await meta.run(task)
    span = analyze_spans(spans)[-1]
    assert cache_attrs(span)[semconv.CACHE_RESULT] == "invalidated"
    assert invalidation_events(span) == [("execution_failed", 1)]
    cache.close()


def test_from_config_uses_the_cache_it_is_given_and_no_other(tmp_path: Path) -> None:
    cache = AnalysisCache(CacheSettings(directory=tmp_path / "cache"))
    assert MetaCoordinator.from_config(FAULTY, cache=cache).analyzer.cache is cache
    assert MetaCoordinator.from_config(FAULTY).analyzer.cache is None  # no default cache
    with pytest.raises(ValueError, match="either cache= or analyzer="):
        MetaCoordinator.from_config(FAULTY, cache=cache, analyzer=TaskAnalyzer())
    assert not (tmp_path / "cache").exists()  # nothing is opened before the first lookup


@pytest.mark.parametrize("wiring", ["from_config", "subscribe"])
async def test_tools_list_changed_invalidates(
    tmp_path: Path, spans: InMemorySpanExporter, wiring: str
) -> None:
    """The coordinator registers the cache it is given with its discovery; ``subscribe`` does
    the same for a ToolDiscovery built by hand (registering twice changes nothing)."""
    cache = AnalysisCache(CacheSettings(directory=tmp_path / "cache"))
    task = 'Echo the text "hello"'
    if wiring == "from_config":
        environ = {"MCP_AGENT_OTEL_HOME": str(tmp_path)}
        meta = MetaCoordinator.from_config(FAULTY, cache=cache, discovery={"environ": environ})
    else:
        meta = agent(tmp_path, FAULTY, cache)
    async with meta:
        await meta.discovery.discover()
        await meta.run(task)
        await meta.run(task)
        assert cache_attrs(analyze_spans(spans)[-1])[semconv.CACHE_RESULT] == "hit"
        before = meta.discovery.fingerprint
        await meta.discovery.call_tool(
            ToolRef("faulty", "add_tool"), {"name": "extra"}, timeout_s=5
        )
        for _ in range(100):  # the notification arrives asynchronously
            if meta.discovery.fingerprint != before:
                break
            await asyncio.sleep(0.05)
        assert meta.discovery.fingerprint != before
        assert cache.stats()["last_invalidation"]["reason"] == "environment_changed"
        spans.clear()
        await meta.run(task)
    span = analyze_spans(spans)[-1]
    assert cache_attrs(span)[semconv.CACHE_RESULT] == "invalidated"
    assert invalidation_events(span) == [("environment_changed", 1)]
    cache.close()
