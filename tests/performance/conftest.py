"""Fixtures the span benchmarks share: a real SDK provider whose only processor counts spans."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

from mcp_agent_otel.tracing import spans as stage_spans


class CountingProcessor(SpanProcessor):
    def __init__(self) -> None:
        self.ended = 0

    def on_end(self, span: ReadableSpan) -> None:
        self.ended += 1


@pytest.fixture
def counted() -> Iterator[tuple[TracerProvider, CountingProcessor]]:
    """Stage spans routed to a provider that only counts them (the SDK's own cost, no export)."""
    counting = CountingProcessor()
    tp = TracerProvider()
    tp.add_span_processor(counting)
    stage_spans.use_tracer_provider(tp)
    yield tp, counting
    stage_spans.use_tracer_provider(None)
    tp.shutdown()
