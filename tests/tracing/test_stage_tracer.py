"""Which tracer the stage spans use: before and after a global provider is installed.

Run in a fresh interpreter: this test session installs its own provider at start-up, and the
API lets a process set the global provider only once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from mcp_agent_otel.tracing import spans

    before = type(spans.get_tracer()).__name__
    with spans.stage_span("before_any_provider") as span:
        recording_before = span.is_recording()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    with spans.stage_span("outer", {"n": 1}):
        with spans.stage_span("inner"):
            pass
    after = spans.get_tracer()
    print(json.dumps({
        "before": before,
        "recording_before": recording_before,
        "after": type(after).__module__ + "." + type(after).__name__,
        "scopes": sorted({s.instrumentation_scope.name for s in exporter.get_finished_spans()}),
        "spans": [
            [s.name, s.parent.span_id if s.parent else None, s.context.span_id,
             dict(s.attributes)]
            for s in exporter.get_finished_spans()
        ],
    }))
    """
)


def test_stage_spans_go_through_the_proxy_until_a_provider_is_set_then_its_own_tracer() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(proc.stdout)
    assert seen["before"] == "ProxyTracer"  # taken at import, before any provider
    assert seen["recording_before"] is False  # the proxy's no-op: nothing to record yet
    assert seen["after"] == "opentelemetry.sdk.trace.Tracer"
    assert seen["scopes"] == ["mcp_agent_otel"]
    (inner_name, inner_parent, _, _), (outer_name, outer_parent, outer_id, attrs) = seen["spans"]
    assert (inner_name, outer_name) == ("inner", "outer")
    assert inner_parent == outer_id
    assert outer_parent is None
    assert attrs == {"n": 1}
