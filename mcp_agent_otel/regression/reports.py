"""Read models for the API and the CLI: operations with quantiles, an operation's trend.

Plain dicts of JSON-safe values (no NaN: unknown values are None).
"""

from __future__ import annotations

from typing import Any

from mcp_agent_otel.regression.aggregates import BucketAggregate
from mcp_agent_otel.regression.store import BucketRow, Store
from mcp_agent_otel.regression.time_ranges import iso

QUANTILES = (0.5, 0.95, 0.99)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summarize(aggregate: BucketAggregate) -> dict[str, Any]:
    p50, p95, p99 = aggregate.sketch.quantiles(QUANTILES)
    lookups = aggregate.cache_hits + aggregate.cache_misses
    return {
        "count": aggregate.count,
        "errors": aggregate.errors,
        "error_rate": _rate(aggregate.errors, aggregate.count),
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p99,
        "mean_ms": aggregate.sum_ms / aggregate.count if aggregate.count else None,
        "min_ms": aggregate.min_ms if aggregate.count else None,
        "max_ms": aggregate.max_ms if aggregate.count else None,
        "cache_hits": aggregate.cache_hits,
        "cache_misses": aggregate.cache_misses,
        "cache_hit_rate": _rate(aggregate.cache_hits, lookups),
        "exemplars": {
            "slow": [e.to_dict() for e in aggregate.slow],
            "error": [e.to_dict() for e in aggregate.failed],
        },
    }


def operations(
    store: Store,
    *,
    since: float,
    until: float | None = None,
    service: str | None = None,
    version: str | None = None,
    environment: str | None = None,
) -> list[dict[str, Any]]:
    """Every operation with spans in the window: counts, p50/p95/p99, cache hit rate."""
    known = store.operations()
    ids = [i for i, k in known.items() if service is None or k.service == service]
    if not ids:
        return []
    grouped: dict[int, list[BucketRow]] = {}
    for row in store.bucket_rows(
        op_ids=ids, since=since, until=until, version=version, environment=environment
    ):
        grouped.setdefault(row.op_id, []).append(row)
    out = []
    for op_id, rows in grouped.items():
        key = known[op_id]
        out.append(
            {
                "id": op_id,
                "service": key.service,
                "name": key.name,
                "operation": key.label,
                "versions": sorted({r.version for r in rows}),
                "environments": sorted({r.environment for r in rows}),
                "last_seen": iso(max(r.start for r in rows)),
                **summarize(
                    BucketAggregate.merged((r.aggregate for r in rows), store.relative_accuracy)
                ),
            }
        )
    out.sort(key=lambda o: (o["service"], o["name"]))
    return out


def trend(
    store: Store,
    op_id: int,
    *,
    since: float,
    until: float | None = None,
    step_seconds: int = 60,
    version: str | None = None,
    environment: str | None = None,
) -> list[dict[str, Any]]:
    """Per time step: counts, quantiles, cache hit rate and exemplars (oldest first)."""
    step = max(int(step_seconds), 1)
    grouped: dict[int, list[BucketRow]] = {}
    for row in store.bucket_rows(
        op_ids=[op_id], since=since, until=until, version=version, environment=environment
    ):
        grouped.setdefault(row.start // step * step, []).append(row)
    return [
        {
            "start": start,
            "start_iso": iso(start),
            **summarize(
                BucketAggregate.merged((r.aggregate for r in rows), store.relative_accuracy)
            ),
        }
        for start, rows in sorted(grouped.items())
    ]
