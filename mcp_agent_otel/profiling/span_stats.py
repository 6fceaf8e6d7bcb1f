"""Statistics of finished spans, as plain data: pure functions and a span-free accumulator.

The baseline profiler's figures come from here, computed from the spans the workflows
produced (never from separate timers):

- per span name: count, errors, and the latency distribution in a DDSketch (the analyzer's
  ``QuantileSketch``: every quantile within its relative accuracy of the exact order statistic);
- self-time: a span's duration minus the time covered by its children in the same process
  (the union of the children's intervals, clipped to the span, so concurrent children are
  not subtracted twice);
- the analysis cache's hit rate, from ``mcp_agent.cache.result`` / ``mcp_agent.cache.hit``.

Nothing here touches the OpenTelemetry SDK, a clock or a file: ``SpanRecord`` is built by the
span processor (``span_aggregator``) and handed in.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mcp_agent_otel.autonomous.models import Model
from mcp_agent_otel.caching.invalidation_strategies import CacheResult
from mcp_agent_otel.regression.sketch import DEFAULT_RELATIVE_ACCURACY, QuantileSketch
from mcp_agent_otel.tracing import semconv

QUANTILES = (0.50, 0.95, 0.99)
_BATCH = 1024  # durations are fed to a sketch in vectorized batches of this size


class CacheOutcome(str, enum.Enum):
    """What an analysis span says about the cache."""

    HIT = "hit"
    MISS = "miss"
    NOT_CONSULTED = "not_consulted"  # bypass, or the cache failed (the analysis was computed)
    ABSENT = "absent"  # no cache attribute at all


_MISSES = frozenset(
    {CacheResult.MISS.value, CacheResult.EXPIRED.value, CacheResult.INVALIDATED.value}
)


def cache_outcome(attributes: Mapping[str, Any]) -> CacheOutcome:
    """``mcp_agent.cache.result`` wins over ``mcp_agent.cache.hit`` (as in the analyzer): a
    bypassed or failed cache is neither a hit nor a miss."""
    result = attributes.get(semconv.CACHE_RESULT)
    if isinstance(result, str):
        if result == CacheResult.HIT.value:
            return CacheOutcome.HIT
        if result in _MISSES:
            return CacheOutcome.MISS
        return CacheOutcome.NOT_CONSULTED
    hit = attributes.get(semconv.CACHE_HIT)
    if isinstance(hit, bool):
        return CacheOutcome.HIT if hit else CacheOutcome.MISS
    return CacheOutcome.ABSENT


@dataclasses.dataclass(frozen=True, slots=True)
class SpanRecord:
    """What the statistics need of one finished span."""

    trace_id: int
    span_id: int
    parent_id: int | None  # None for a root (or a parent in another process)
    name: str
    start_ns: int
    end_ns: int
    error: bool = False
    cache: CacheOutcome = CacheOutcome.ABSENT
    servers_listed: int | None = None  # tool_discovery.discover: servers listed this time

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns)


def covered_ns(intervals: Iterable[tuple[int, int]], lo: int, hi: int) -> int:
    """Length of the union of ``intervals`` clipped to [lo, hi]."""
    clipped = sorted((max(a, lo), min(b, hi)) for a, b in intervals if min(b, hi) > max(a, lo))
    total = 0
    cur_a: int | None = None
    cur_b = 0
    for a, b in clipped:
        if cur_a is None or a > cur_b:
            if cur_a is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_a is not None:
        total += cur_b - cur_a
    return total


def self_times_ns(records: Sequence[SpanRecord]) -> list[int]:
    """Each record's self-time: its duration minus the union of its children's intervals."""
    children: dict[int, list[tuple[int, int]]] = {}
    for r in records:
        if r.parent_id is not None:
            children.setdefault(r.parent_id, []).append((r.start_ns, r.end_ns))
    return [
        r.duration_ns - covered_ns(children[r.span_id], r.start_ns, r.end_ns)
        if r.span_id in children
        else r.duration_ns
        for r in records
    ]


@dataclasses.dataclass(frozen=True)
class LatencySummary(Model):
    """A distribution of durations in milliseconds; quantiles from the sketch."""

    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    min_ms: float | None
    max_ms: float | None
    total_ms: float


class DistributionAccumulator:
    """Count, sum, extremes and a DDSketch of durations (ms), fed one value at a time and
    folded in vectorized batches."""

    __slots__ = ("_buffer", "count", "max_ms", "min_ms", "sketch", "total_ms")

    def __init__(self, relative_accuracy: float) -> None:
        self.sketch = QuantileSketch(relative_accuracy)
        self._buffer: list[float] = []
        self.count = 0
        self.total_ms = 0.0
        self.min_ms = math.inf
        self.max_ms = -math.inf

    def add(self, value_ms: float) -> None:
        self._buffer.append(value_ms)
        if len(self._buffer) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        batch = np.asarray(self._buffer, dtype=np.float64)
        self._buffer = []
        self.count += int(batch.size)
        self.total_ms += math.fsum(batch.tolist())
        self.min_ms = min(self.min_ms, float(batch.min()))
        self.max_ms = max(self.max_ms, float(batch.max()))
        self.sketch.add_many(batch)

    def summary(self) -> LatencySummary:
        self.flush()
        if not self.count:
            return LatencySummary(0, None, None, None, None, None, None, 0.0)
        p50, p95, p99 = self.sketch.quantiles(QUANTILES)
        return LatencySummary(
            count=self.count,
            p50_ms=p50,
            p95_ms=p95,
            p99_ms=p99,
            mean_ms=self.total_ms / self.count,
            min_ms=self.min_ms,
            max_ms=self.max_ms,
            total_ms=self.total_ms,
        )


class OperationAccumulator:
    """One span name: its durations, its self-times and its errors."""

    __slots__ = ("duration", "errors", "self_time")

    def __init__(self, relative_accuracy: float) -> None:
        self.duration = DistributionAccumulator(relative_accuracy)
        self.self_time = DistributionAccumulator(relative_accuracy)
        self.errors = 0


@dataclasses.dataclass(frozen=True)
class OperationStats(Model):
    name: str
    latency: LatencySummary
    self_time: LatencySummary
    errors: int


@dataclasses.dataclass(frozen=True)
class CacheStats(Model):
    """Analysis-cache lookups seen on ``task_analyzer.analyze`` spans."""

    analyses: int
    hits: int
    misses: int
    not_consulted: int  # bypassed, failed, or no cache attribute: not a lookup
    hit_rate: float | None  # hits / (hits + misses); None when there was no lookup


def cache_stats(outcomes: Mapping[CacheOutcome, int]) -> CacheStats:
    hits = outcomes.get(CacheOutcome.HIT, 0)
    misses = outcomes.get(CacheOutcome.MISS, 0)
    return CacheStats(
        analyses=sum(outcomes.values()),
        hits=hits,
        misses=misses,
        not_consulted=outcomes.get(CacheOutcome.NOT_CONSULTED, 0)
        + outcomes.get(CacheOutcome.ABSENT, 0),
        hit_rate=hits / (hits + misses) if hits + misses else None,
    )


@dataclasses.dataclass(frozen=True)
class Bottleneck(Model):
    """A span name ranked by the self-time its spans spent, summed over the profile."""

    name: str
    total_self_ms: float
    share: float  # of the summed duration of the profiled workflows
    per_workflow_ms: float
    self_p95_ms: float | None
    count: int


def bottlenecks(
    operations: Sequence[OperationStats], workflow_total_ms: float, workflows: int, top: int
) -> tuple[Bottleneck, ...]:
    """The ``top`` span names by total self-time (ties by name), with their share."""
    ranked = sorted(operations, key=lambda o: (-o.self_time.total_ms, o.name))
    return tuple(
        Bottleneck(
            name=o.name,
            total_self_ms=o.self_time.total_ms,
            share=o.self_time.total_ms / workflow_total_ms if workflow_total_ms > 0 else 0.0,
            per_workflow_ms=o.self_time.total_ms / workflows if workflows else 0.0,
            self_p95_ms=o.self_time.p95_ms,
            count=o.self_time.count,
        )
        for o in ranked[:top]
        if o.self_time.count
    )


class ProfileAccumulator:
    """Folds whole traces (the spans of one workflow) into per-name statistics."""

    def __init__(
        self,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
        root_name: str = semconv.SPAN_WORKFLOW,
    ) -> None:
        self.relative_accuracy = relative_accuracy
        self.root_name = root_name
        self.operations: dict[str, OperationAccumulator] = {}
        self.cache: Counter[CacheOutcome] = Counter()
        self.workflows = 0
        self.failed_workflows = 0
        self.workflow_total_ms = 0.0
        self.discoveries = 0
        self.servers_listed = 0
        self.spans = 0

    def add_trace(self, records: Sequence[SpanRecord]) -> None:
        for record, self_ns in zip(records, self_times_ns(records), strict=True):
            op = self.operations.get(record.name)
            if op is None:
                op = self.operations[record.name] = OperationAccumulator(self.relative_accuracy)
            duration_ms = record.duration_ns / 1e6
            op.duration.add(duration_ms)
            op.self_time.add(self_ns / 1e6)
            op.errors += record.error
            self.spans += 1
            if record.name == semconv.SPAN_ANALYZE:
                self.cache[record.cache] += 1
            elif record.name == semconv.SPAN_DISCOVER:
                self.discoveries += 1
                self.servers_listed += record.servers_listed or 0
            if record.parent_id is None and record.name == self.root_name:
                self.workflows += 1
                self.failed_workflows += record.error
                self.workflow_total_ms += duration_ms

    def operation_stats(self) -> dict[str, OperationStats]:
        return {
            name: OperationStats(name, op.duration.summary(), op.self_time.summary(), op.errors)
            for name, op in sorted(self.operations.items())
        }

    def cache_stats(self) -> CacheStats:
        return cache_stats(self.cache)
