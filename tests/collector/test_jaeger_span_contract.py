"""The spans the agent emits carry what Jaeger (and the collector's sampling) needs.

The demo workload (``DEMO_TASKS``, one deliberate failure included) runs through the real
MetaCoordinator over the real demo MCP servers (stdio). Jaeger itself cannot run here, so the
test asserts what Jaeger relies on, on the spans as they are exported:

- every process is a service with a version: the agent's resource (``configure_tracing``) and
  each server's, read back from the OTLP-JSON the server processes export;
- span kinds: INTERNAL for our stages, CLIENT for the SDK's outbound MCP calls, SERVER for the
  server side, each SERVER span the child of a CLIENT span of another service (Jaeger's
  dependency graph draws that edge);
- status ERROR (with ``error.type``) on a failed step and its trace, which is also what the
  collector's ``status_code`` tail-sampling policy keeps;
- span names from a closed vocabulary (stage names, server and tool names, MCP methods): no
  IDs, arguments or task text, so Jaeger's operation list and the span metrics stay small.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mcp_agent_otel._version import __version__
from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.autonomous.models import WorkflowResult
from mcp_agent_otel.autonomous.server_config import parse_servers_config
from mcp_agent_otel.autonomous.servers import DEMO_SERVER_NAMES, demo_servers_config
from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer
from mcp_agent_otel.autonomous.tool_discovery import ToolDiscovery
from mcp_agent_otel.autonomous.workload import DEMO_TASKS
from mcp_agent_otel.caching.cache_manager import cache_from_env
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.setup import DEFAULT_SERVICE_NAME, configure_tracing

SDK_SCOPE = "mcp-python-sdk"
SERVER_SERVICE_PREFIX = "mcp-agent-otel-server-"
MCP_METHOD = re.compile(r"^[a-z]+(/[a-zA-Z_]+)*$")
OTLP_KIND_SERVER = 2


def _exported_server_spans(home: Path) -> list[dict[str, Any]]:
    """The server processes' spans from their OTLP-JSON file, each with its resource."""
    found: list[dict[str, Any]] = []
    for line in (home / "spans.jsonl").read_text().splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            resource = {
                a["key"]: a["value"].get("stringValue")
                for a in resource_spans["resource"]["attributes"]
            }
            for scope_spans in resource_spans["scopeSpans"]:
                found += [dict(s, resource=resource) for s in scope_spans["spans"]]
    return found


DemoRun = tuple[list[WorkflowResult], list[ReadableSpan], list[dict[str, Any]], tuple[str, ...]]


async def run_demo(spans: InMemorySpanExporter, tmp_path: Path) -> DemoRun:
    """The demo workload, once: results, the agent's spans, the servers' exported spans."""
    home = tmp_path / "agent-home"
    discovery = ToolDiscovery(
        parse_servers_config(demo_servers_config()), environ={semconv.ENV_HOME: str(home)}
    )
    async with MetaCoordinator(discovery, analyzer=TaskAnalyzer(cache=cache_from_env())) as agent:
        results = [await agent.run(task) for task in DEMO_TASKS]
        tools = tuple(t.ref.name for t in agent.discovery.tools)
    # The servers flush their spans file when the agent closes their stdin (above).
    return results, list(spans.get_finished_spans()), _exported_server_spans(home), tools


def test_the_agent_reports_as_a_named_versioned_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    handle = configure_tracing(
        env={semconv.ENV_HOME: str(tmp_path)}, spans_file=tmp_path / "s.jsonl", set_global=False
    )
    try:
        resource = dict(handle.provider.resource.attributes)  # type: ignore[union-attr]
    finally:
        handle.shutdown()
    assert resource["service.name"] == DEFAULT_SERVICE_NAME == "mcp-agent-otel"
    assert resource["service.version"] == __version__


def check_kinds_and_services(demo: DemoRun) -> None:
    results, agent_spans, server_spans, _ = demo
    assert len(results) == len(DEMO_TASKS)
    by_id = {s.context.span_id: s for s in agent_spans}

    # Kinds: our stages INTERNAL, the SDK's outbound calls CLIENT.
    ours = [s for s in agent_spans if s.instrumentation_scope.name == semconv.TRACER_NAME]
    sdk = [s for s in agent_spans if s.instrumentation_scope.name == SDK_SCOPE]
    assert ours
    assert sdk
    assert {s.kind for s in ours} == {SpanKind.INTERNAL}
    assert {s.kind for s in sdk} == {SpanKind.CLIENT}
    assert all(s.name.startswith("MCP send ") for s in sdk)

    # Every tool attempt has exactly one outbound CLIENT span beneath it, named for the tool.
    tool_spans = [s for s in ours if s.name.startswith(f"{semconv.SPAN_EXECUTE_TOOL_PREFIX} ")]
    assert tool_spans
    for tool_span in tool_spans:
        tool = tool_span.name.split(" ", 1)[1]
        children = [
            s for s in sdk if s.parent is not None and s.parent.span_id == tool_span.context.span_id
        ]
        assert [c.name for c in children] == [f"MCP send tools/call {tool}"]

    # Each server is its own named, versioned service; its SERVER spans are children of the
    # agent's CLIENT spans in the same trace: the agent → server edge of Jaeger's graph.
    services = {s["resource"]["service.name"] for s in server_spans}
    assert services == {f"{SERVER_SERVICE_PREFIX}{name}" for name in DEMO_SERVER_NAMES}
    assert {s["resource"]["service.version"] for s in server_spans} == {__version__}
    calls = [s for s in server_spans if s["name"].startswith("tools/call ")]
    assert len(calls) == len(tool_spans)
    for call in calls:
        assert call["kind"] == OTLP_KIND_SERVER
        parent = by_id[int(call["parentSpanId"], 16)]
        assert parent.kind is SpanKind.CLIENT
        assert parent.name == f"MCP send {call['name']}"
        assert format(parent.context.trace_id, "032x") == call["traceId"]


def check_errors(demo: DemoRun) -> None:
    results, agent_spans, _, _ = demo
    roots = {
        format(s.context.trace_id, "032x"): s
        for s in agent_spans
        if s.name == semconv.SPAN_WORKFLOW and s.parent is None
    }
    # A failed workflow marks its trace's root; a rescued one (a fallback answered) does not.
    for result in results:
        root = roots[result.trace_id or ""]
        expected = StatusCode.UNSET if result.ok else StatusCode.ERROR
        assert root.status.status_code is expected, result.task
    # The deliberate failure (a file that does not exist) is an ERROR tool span with its
    # error.type, so the trace is one the collector's status_code policy sends to Jaeger.
    errors = [s for s in agent_spans if s.status.status_code is StatusCode.ERROR]
    failed_tools = [s for s in errors if s.name.startswith(f"{semconv.SPAN_EXECUTE_TOOL_PREFIX} ")]
    assert failed_tools, "the demo workload includes a deliberate failure"
    for span in errors:
        if span.instrumentation_scope.name == semconv.TRACER_NAME:
            assert (span.attributes or {}).get(semconv.ERROR_TYPE), span.name
    assert {(s.attributes or {})[semconv.ERROR_TYPE] for s in failed_tools} <= {
        semconv.ERROR_TOOL,
        semconv.ERROR_TIMEOUT,
    }


def check_names(demo: DemoRun) -> None:
    _, agent_spans, server_spans, tools = demo
    vocabulary = {
        semconv.SPAN_WORKFLOW,
        *semconv.STAGE_SPANS,
        *(semconv.list_tools_span_name(s) for s in DEMO_SERVER_NAMES),
        *(semconv.execute_tool_span_name(t) for t in tools),
    }

    def allowed(name: str) -> bool:
        if name in vocabulary:
            return True
        method, _, target = name.removeprefix("MCP send ").partition(" ")
        return bool(MCP_METHOD.match(method)) and (not target or target in tools)

    names = {s.name for s in agent_spans} | {s["name"] for s in server_spans}
    assert {n for n in names if not allowed(n)} == set()
    for task in DEMO_TASKS:
        assert not [n for n in names if n in task or task[:24] in n], task
    # Bounded by the catalogue, not by the number of tasks or their arguments.
    assert len(names) <= len(vocabulary) + 2 * len(tools) + 20


async def test_the_demo_workloads_spans_carry_what_jaeger_needs(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    demo = await run_demo(spans, tmp_path)
    check_kinds_and_services(demo)
    check_errors(demo)
    check_names(demo)
