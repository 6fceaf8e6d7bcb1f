"""With the MCP SDK (>= 2), its own MCP spans stay, nest under our stage, and are not doubled.

Uses a real MCP server over stdio (``echo_server.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mcp_agent_otel.instrumentation import McpAgentInstrumentor, traced_stage
from mcp_agent_otel.tracing import semconv
from tests.instrumentation import sample_components as sc

ECHO_SERVER = str(Path(__file__).with_name("echo_server.py"))
MOD = "tests.instrumentation.sample_components"


@pytest.fixture
def instrumentor() -> Iterator[McpAgentInstrumentor]:
    inst = McpAgentInstrumentor()
    if inst.is_instrumented_by_opentelemetry:
        inst.uninstrument()
    yield inst
    if inst.is_instrumented_by_opentelemetry:
        inst.uninstrument()


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    out: list[str] = []
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        found = by_id[parent.span_id]
        out.append(found.name)
        parent = found.parent
    return out


def check_one_sdk_call_under(stage: str, exporter: InMemorySpanExporter) -> None:
    got = list(exporter.get_finished_spans())
    by_id = {s.context.span_id: s for s in got}
    ours = [
        s
        for s in got
        if s.instrumentation_scope and s.instrumentation_scope.name == semconv.TRACER_NAME
    ]
    assert [s.name for s in ours] == [stage]
    calls = [s for s in got if s.name == "MCP send tools/call echo"]
    assert len(calls) == 1, [s.name for s in got]
    call = calls[0]
    assert call.kind is SpanKind.CLIENT
    assert call.instrumentation_scope is not None
    assert call.instrumentation_scope.name == "mcp-python-sdk"
    assert ancestors(call, by_id) == [stage]
    # Every client span is the SDK's and sits directly under our stage: none of ours.
    client = [s for s in got if s.kind is SpanKind.CLIENT]
    assert {s.instrumentation_scope.name for s in client if s.instrumentation_scope} == {
        "mcp-python-sdk"
    }
    assert all(ancestors(s, by_id) == [stage] for s in client)


async def test_decorated_stage_keeps_the_sdk_spans(spans: InMemorySpanExporter) -> None:
    traced = traced_stage(semconv.SPAN_EXECUTE)(sc.call_echo)
    assert await traced(ECHO_SERVER, "hello") == "hello"
    check_one_sdk_call_under(semconv.SPAN_EXECUTE, spans)


async def test_dotted_target_keeps_the_sdk_spans(
    instrumentor: McpAgentInstrumentor, spans: InMemorySpanExporter
) -> None:
    instrumentor.instrument(targets={f"{MOD}:call_echo": semconv.SPAN_EXECUTE})
    assert await sc.call_echo(ECHO_SERVER, "hi") == "hi"
    check_one_sdk_call_under(semconv.SPAN_EXECUTE, spans)
