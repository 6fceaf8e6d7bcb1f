"""A finished trace as a tree: collected in-process, drawn by the CLI (``cli.trace_tree``).

``TraceCollector`` is a span processor that keeps the spans of recent traces (bounded);
``span_tree`` turns a trace's spans into nested nodes (pure).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor


class TraceCollector(SpanProcessor):
    """Keeps the finished spans of the last ``max_traces`` traces, by trace id."""

    def __init__(self, max_traces: int = 64) -> None:
        self._traces: OrderedDict[int, list[ReadableSpan]] = OrderedDict()
        self._max = max_traces
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        ctx = span.context
        if ctx is None:
            return
        with self._lock:
            self._traces.setdefault(ctx.trace_id, []).append(span)
            self._traces.move_to_end(ctx.trace_id)
            while len(self._traces) > self._max:
                self._traces.popitem(last=False)

    def spans(self, trace_id: int | str) -> list[ReadableSpan]:
        key = int(trace_id, 16) if isinstance(trace_id, str) else trace_id
        with self._lock:
            return list(self._traces.get(key, ()))

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass
class SpanNode:
    span: ReadableSpan
    children: list[SpanNode] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        if self.span.start_time is None or self.span.end_time is None:
            return 0.0
        return (self.span.end_time - self.span.start_time) / 1e6


def span_tree(spans: Sequence[ReadableSpan]) -> list[SpanNode]:
    """Nest spans under their parents (roots: no parent, or a parent not in ``spans``)."""
    nodes = {s.context.span_id: SpanNode(s) for s in spans if s.context is not None}
    roots: list[SpanNode] = []
    for node in nodes.values():
        parent = node.span.parent
        if parent is not None and parent.span_id in nodes:
            nodes[parent.span_id].children.append(node)
        else:
            roots.append(node)
    for node in nodes.values():
        node.children.sort(key=lambda n: n.span.start_time or 0)
    return sorted(roots, key=lambda n: n.span.start_time or 0)
