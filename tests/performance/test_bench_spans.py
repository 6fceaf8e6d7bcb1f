"""Benchmark (issue 12): the cost of one of our stage spans against a bare SDK span.

Same SDK TracerProvider for both (its only span processor counts ended spans, so export cost
is in no figure), same span name and attributes, interleaved rounds:

- ``sdk span``: ``with tracer.start_as_current_span(name, attributes=...)``;
- ``stage span``: ``with spans.stage_span(name, {...})`` — what every stage of the workflow
  opens (current span, active-stage marker, attributes with None values skipped).

Also the cost with no SDK installed (the no-op tracer). Reported as medians per span and the
ratio; never asserted on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing import spans as stage_spans
from tests.conftest import BenchRecorder
from tests.performance.conftest import CountingProcessor
from tests.performance.test_bench_instrumentation import medians

pytestmark = pytest.mark.bench
NAME = "execute_tool calculate"
ATTRIBUTES: dict[str, Any] = {
    semconv.GEN_AI_OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
    semconv.GEN_AI_TOOL_NAME: "calculate",
    semconv.MCP_SERVER: "mathdata",
    semconv.STEP_INDEX: 0,
    semconv.STEP_ATTEMPT: 0,
    semconv.STEP_FALLBACK: False,
}


def test_stage_span_against_a_bare_sdk_span(
    bench: BenchRecorder, counted: tuple[TracerProvider, CountingProcessor]
) -> None:
    tp, counting = counted
    tracer = tp.get_tracer("bench")

    def sdk_span(task: str) -> int:
        with tracer.start_as_current_span(NAME, attributes=ATTRIBUTES):
            return len(task)

    def stage_span(task: str) -> int:
        with stage_spans.stage_span(NAME, {**ATTRIBUTES, semconv.CONSENT: None}):
            return len(task)

    variants: dict[str, Callable[[str], Any]] = {"sdk span": sdk_span, "stage span": stage_span}
    # Correctness first: the same span either way, current inside, nothing leaked.
    assert sdk_span("abc") == stage_span("abc") == 3
    assert counting.ended == 2
    with stage_spans.stage_span(NAME, ATTRIBUTES) as span:
        assert trace.get_current_span() is span
        assert dict(span.attributes or {}) == ATTRIBUTES  # type: ignore[attr-defined]
    assert trace.get_current_span() is trace.INVALID_SPAN

    calls, rounds = bench.n(300, 4000), bench.n(7, 31)
    m = medians(variants, calls, rounds)
    ratio = m["stage span"] / m["sdk span"]
    stage_spans.use_tracer_provider(trace.NoOpTracerProvider())
    no_sdk = medians({"stage span": stage_span}, calls, rounds)["stage span"]
    stage_spans.use_tracer_provider(tp)
    print(
        f"\nper span, median of {rounds} rounds x {calls}: sdk {m['sdk span']:.0f} ns, "
        f"stage {m['stage span']:.0f} ns -> {ratio:.2f}x; no SDK {no_sdk:.0f} ns"
    )
    bench.record("bare sdk span (6 attributes)", m["sdk span"], "ns")
    bench.record("stage span (same attributes)", m["stage span"], "ns")
    bench.record("stage span / bare sdk span", ratio, "x", target="<= 1.1", met=ratio <= 1.1)
    bench.record("stage span with no SDK (no-op tracer)", no_sdk, "ns")
