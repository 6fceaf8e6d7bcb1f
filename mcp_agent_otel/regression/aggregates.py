"""Per-bucket aggregates of span durations and how two of them merge (pure, no I/O).

A bucket is (operation id, service.version, deployment environment, bucket start). Its
aggregate holds counts, errors, cache hits/misses, the duration sum/min/max, a mergeable
quantile sketch, and exemplars: the trace ids of the slowest spans and of the latest failed
ones, so a dashboard can link a slow bucket to the trace in Jaeger.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mcp_agent_otel.regression.sketch import QuantileSketch, sketches_by_group

EXEMPLARS_PER_KIND = 3

BucketKey = tuple[int, str, str, int]  # (operation id, version, environment, bucket start s)
ReservoirKey = tuple[int, str, str]  # (operation id, version, environment)


@dataclasses.dataclass(frozen=True)
class Exemplar:
    trace_id: str  # hex, as Jaeger and OTLP/JSON write it
    span_id: str
    duration_ms: float
    time: float  # end time, unix seconds

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Exemplar:
        return cls(
            str(data["trace_id"]),
            str(data["span_id"]),
            float(data["duration_ms"]),
            float(data["time"]),
        )


@dataclasses.dataclass
class BucketAggregate:
    sketch: QuantileSketch
    count: int = 0
    errors: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    sum_ms: float = 0.0
    min_ms: float = float("inf")
    max_ms: float = float("-inf")
    slow: list[Exemplar] = dataclasses.field(default_factory=list)
    failed: list[Exemplar] = dataclasses.field(default_factory=list)

    def merge(self, other: BucketAggregate) -> None:
        self.sketch.merge(other.sketch)
        self.count += other.count
        self.errors += other.errors
        self.cache_hits += other.cache_hits
        self.cache_misses += other.cache_misses
        self.sum_ms += other.sum_ms
        self.min_ms = min(self.min_ms, other.min_ms)
        self.max_ms = max(self.max_ms, other.max_ms)
        self.slow = _top_slow(self.slow + other.slow)
        self.failed = _latest(self.failed + other.failed)

    @classmethod
    def merged(
        cls, aggregates: Iterable[BucketAggregate], relative_accuracy: float
    ) -> BucketAggregate:
        """One aggregate of many (buckets, versions, steps): the one way they are combined."""
        total = cls(QuantileSketch(relative_accuracy))
        for aggregate in aggregates:
            total.merge(aggregate)
        return total

    def exemplars_json(self) -> str:
        return json.dumps(
            {"slow": [e.to_dict() for e in self.slow], "error": [e.to_dict() for e in self.failed]},
            separators=(",", ":"),
        )

    @staticmethod
    def exemplars_from_json(text: str) -> tuple[list[Exemplar], list[Exemplar]]:
        try:
            data = json.loads(text or "{}")
            slow = [Exemplar.from_dict(d) for d in data.get("slow", [])]
            failed = [Exemplar.from_dict(d) for d in data.get("error", [])]
        except (ValueError, TypeError, KeyError, AttributeError):
            return [], []
        return slow, failed


def aggregate_groups(
    group: NDArray[np.int64],
    groups: int,
    durations_ms: NDArray[np.float64],
    end_s: NDArray[np.float64],
    error: NDArray[np.bool_],
    cache: NDArray[np.int8],
    trace_ids: Sequence[bytes],
    span_ids: Sequence[bytes],
    relative_accuracy: float,
) -> list[BucketAggregate]:
    """One aggregate per group (``group[i]`` in ``0..groups-1``; every group non-empty), from
    a handful of vectorized passes over all spans of a request."""
    order = np.argsort(group, kind="stable")
    g_sorted = group[order]
    d = durations_ms[order]
    counts = np.bincount(group, minlength=groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    sums = np.add.reduceat(d, starts)
    mins = np.minimum.reduceat(d, starts)
    maxs = np.maximum.reduceat(d, starts)
    err = error[order]
    errors = np.add.reduceat(err.astype(np.int64), starts)
    c = cache[order]
    hits = np.add.reduceat((c == 1).astype(np.int64), starts)
    misses = np.add.reduceat((c == 0).astype(np.int64), starts)
    sketches = sketches_by_group(d, g_sorted, groups, relative_accuracy)
    # Exemplars: the slowest spans of each group, and its latest failed ones.
    by_duration = np.lexsort((-d, g_sorted))  # group blocks keep their bounds
    position = np.arange(d.size) - np.repeat(starts, counts)
    slow_at = order[by_duration[position < EXEMPLARS_PER_KIND]]
    slow: list[list[Exemplar]] = [[] for _ in range(groups)]
    for i in slow_at.tolist():
        slow[int(group[i])].append(_exemplar(i, durations_ms, end_s, trace_ids, span_ids))
    failed: list[list[Exemplar]] = [[] for _ in range(groups)]
    if err.any():
        for i in order[np.flatnonzero(err)].tolist():
            failed[int(group[i])].append(_exemplar(i, durations_ms, end_s, trace_ids, span_ids))
    return [
        BucketAggregate(
            sketch=sketches[g],
            count=int(counts[g]),
            errors=int(errors[g]),
            cache_hits=int(hits[g]),
            cache_misses=int(misses[g]),
            sum_ms=float(sums[g]),
            min_ms=float(mins[g]),
            max_ms=float(maxs[g]),
            slow=_top_slow(slow[g]),
            failed=_latest(failed[g]),
        )
        for g in range(groups)
    ]


def _exemplar(
    i: Any,
    durations_ms: NDArray[np.float64],
    end_s: NDArray[np.float64],
    trace_ids: Sequence[bytes],
    span_ids: Sequence[bytes],
) -> Exemplar:
    j = int(i)
    return Exemplar(trace_ids[j].hex(), span_ids[j].hex(), float(durations_ms[j]), float(end_s[j]))


def _top_slow(items: list[Exemplar]) -> list[Exemplar]:
    return sorted(items, key=lambda e: (-e.duration_ms, e.trace_id))[:EXEMPLARS_PER_KIND]


def _latest(items: list[Exemplar]) -> list[Exemplar]:
    return sorted(items, key=lambda e: e.time)[-EXEMPLARS_PER_KIND:]  # stable: arrival order
