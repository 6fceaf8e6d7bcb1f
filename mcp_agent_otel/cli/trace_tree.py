"""A trace drawn as a tree (rich): span name, kind, duration, key attributes, errors in red.

The nodes come from ``tracing.tree.span_tree``; this module only draws them.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.trace import SpanKind, StatusCode
from rich.text import Text
from rich.tree import Tree

from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.spans import shorten
from mcp_agent_otel.tracing.tree import SpanNode

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
