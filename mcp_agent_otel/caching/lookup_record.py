"""What one cache lookup learned, and how it is told: span attributes, events and counters.

The cache opens no span of its own: ``TaskAnalyzer`` opens ``task_analyzer.analyze`` and the
cache records its ``mcp_agent.cache.*`` attributes and ``mcp_agent.cache.invalidated`` events
on it, and counts through ``CacheMetrics``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from mcp_agent_otel.caching.cache_keys import CacheLevel, short_key
from mcp_agent_otel.caching.cache_metrics import CacheMetrics
from mcp_agent_otel.caching.invalidation_strategies import CacheResult, InvalidationReason
from mcp_agent_otel.tracing import semconv, spans


@dataclass
class Lookup:
    """What one ``fetch`` learned and records on its span."""

    result: CacheResult = CacheResult.MISS
    level: CacheLevel = CacheLevel.ANALYSIS
    key: str = ""
    age_s: float | None = None
    similarity: float | None = None
    fault: str | None = None
    events: list[tuple[InvalidationReason, int]] = field(default_factory=list)

    def failed(self, fault: str) -> None:
        """The store failed this lookup (``fault``: a ``FAULT_TEXT`` key)."""
        self.result = CacheResult.ERROR
        self.fault = fault

    def attributes(self) -> dict[str, AttributeValue | None]:
        return {
            semconv.CACHE_HIT: self.result is CacheResult.HIT,
            semconv.CACHE_RESULT: self.result.value,
            semconv.CACHE_LEVEL: int(self.level),
            semconv.CACHE_KEY: short_key(self.key) if self.key else None,
            semconv.CACHE_AGE_S: round(self.age_s, 6) if self.age_s is not None else None,
            semconv.CACHE_SIMILARITY: (
                round(self.similarity, 4) if self.similarity is not None else None
            ),
            semconv.CACHE_ERROR: self.fault,
        }


def announce(span: trace.Span, reason: InvalidationReason, entries: int) -> None:
    """The ``mcp_agent.cache.invalidated`` event: why, and how many entries."""
    spans.add_event(
        span,
        semconv.EVENT_CACHE_INVALIDATED,
        {
            semconv.CACHE_INVALIDATION_REASON: reason.value,
            semconv.CACHE_INVALIDATION_ENTRIES: entries,
        },
    )


def invalidated(
    span: trace.Span, metrics: CacheMetrics, reason: InvalidationReason, entries: int
) -> None:
    """Count ``entries`` invalidated for ``reason`` and say so on ``span``."""
    metrics.invalidated(entries, reason.value)
    announce(span, reason, entries)


def record(span: trace.Span, look: Lookup, metrics: CacheMetrics) -> None:
    """Put a lookup on its span (attributes, invalidation events) and in the counters."""
    spans.set_attributes(span, look.attributes())
    for reason, entries in look.events:
        announce(span, reason, entries)
        metrics.invalidated(entries, reason.value)
    if look.result is CacheResult.HIT:
        metrics.hit(int(look.level))
    else:
        metrics.miss(look.result.value)


__all__ = ["Lookup", "announce", "invalidated", "record"]
