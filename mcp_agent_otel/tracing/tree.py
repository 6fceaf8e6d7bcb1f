"""A finished trace as a tree: collected in-process, printed by the CLI.

``TraceCollector`` is a span processor that keeps the spans of recent traces (bounded);
``span_tree`` turns a trace's spans into nested nodes (pure); ``render_tree`` draws them
with rich: span name, duration, key attributes, errors in red.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode
from rich.text import Text
from rich.tree import Tree

from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.spans import shorten

# Attributes worth showing beside a span name, in this order.
_SHOWN = (
    semconv.TASK_TYPE,
    semconv.TASK_COMPLEXITY,
    semconv.CACHE_RESULT,
    semconv.TOOLS_COUNT,
    semconv.SERVERS_FAILED,
    semconv.ENV_FINGERPRINT,
    semconv.DECISION_PATTERN,
    semconv.DECISION_CONFIDENCE,
    semconv.MCP_SERVER,
    semconv.ERROR_TYPE,
)


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


def _label(node: SpanNode) -> Text:
    span = node.span
    failed = span.status.status_code is StatusCode.ERROR
    text = Text(span.name, style="bold red" if failed else "bold")
    if span.kind is not SpanKind.INTERNAL:
        text.append(f" [{span.kind.name}]", style="dim")
    text.append(f"  {node.duration_ms:.2f} ms", style="cyan")
    attrs = span.attributes or {}
    shown = [f"{key.rsplit('.', 1)[-1]}={attrs[key]!s}" for key in _SHOWN if key in attrs]
    if shown:
        text.append("  " + " ".join(shown), style="red" if failed else "dim")
    if failed and span.status.description:
        text.append(f"  {shorten(span.status.description, 240)}", style="red")
    return text


def render_tree(roots: Sequence[SpanNode], title: str = "trace") -> Tree:
    tree = Tree(Text(title, style="bold magenta"))

    def add(parent: Tree, node: SpanNode) -> None:
        branch = parent.add(_label(node))
        for child in node.children:
            add(branch, child)

    for root in roots:
        add(tree, root)
    return tree
