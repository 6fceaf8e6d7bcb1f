"""The cache's counters, through the OpenTelemetry metrics API (a no-op without an SDK).

Counters: ``mcp_agent.cache.hits`` (by level), ``mcp_agent.cache.misses`` (by result:
miss, expired, invalidated, bypass, error), ``mcp_agent.cache.evictions`` and
``mcp_agent.cache.invalidations`` (entries dropped, by reason). The same numbers are kept
in-process for ``AnalysisCache.stats()``; recording never raises.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter

from opentelemetry import metrics

from mcp_agent_otel._version import __version__
from mcp_agent_otel.tracing import semconv

# The hit counter's attributes per cache level, built once (a hit is the hot path).
_LEVELS: dict[int, dict[str, int]] = {level: {semconv.CACHE_LEVEL: level} for level in (1, 2)}


class CacheMetrics:
    """Hit, miss, eviction and invalidation counters of one cache object."""

    def __init__(self, meter_provider: metrics.MeterProvider | None = None) -> None:
        meter = metrics.get_meter(semconv.TRACER_NAME, __version__, meter_provider=meter_provider)
        self._hits = meter.create_counter(
            semconv.METRIC_CACHE_HITS, unit="{lookup}", description="analysis cache hits"
        )
        self._misses = meter.create_counter(
            semconv.METRIC_CACHE_MISSES,
            unit="{lookup}",
            description="analysis cache lookups that did not hit, by mcp_agent.cache.result",
        )
        self._evictions = meter.create_counter(
            semconv.METRIC_CACHE_EVICTIONS,
            unit="{entry}",
            description="entries evicted to keep the cache within its entry bound",
        )
        self._invalidations = meter.create_counter(
            semconv.METRIC_CACHE_INVALIDATIONS,
            unit="{entry}",
            description="entries invalidated, by mcp_agent.cache.invalidation.reason",
        )
        self._lock = threading.Lock()
        self._local: Counter[str] = Counter()

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._local[name] += n

    def hit(self, level: int) -> None:
        self._count("hits")
        attributes = _LEVELS.get(level) or {semconv.CACHE_LEVEL: level}
        try:
            self._hits.add(1, attributes)
        except Exception:  # telemetry never breaks the cache
            return

    def miss(self, result: str) -> None:
        self._count("misses")
        self._count(f"result.{result}")
        with contextlib.suppress(Exception):
            self._misses.add(1, {semconv.CACHE_RESULT: result})

    def evicted(self, n: int) -> None:
        if n <= 0:
            return
        self._count("evictions", n)
        with contextlib.suppress(Exception):
            self._evictions.add(n)

    def invalidated(self, n: int, reason: str) -> None:
        if n <= 0:
            return
        self._count("invalidations", n)
        with contextlib.suppress(Exception):
            self._invalidations.add(n, {semconv.CACHE_INVALIDATION_REASON: reason})

    def snapshot(self) -> dict[str, int]:
        """This process's counts so far (hits, misses, result.*, evictions, invalidations)."""
        with self._lock:
            return dict(self._local)


__all__ = ["CacheMetrics"]
