"""What the dashboard shows, as plain frozen data, and how it is read from the analyzer.

``collect`` is the only function here that does I/O (it reads the store through the analyzer,
after flushing the write-behind buffer so every accepted span is visible). Everything else is
pure: choosing the time step, merging bucket rows into steps, ordering operations.

The comparison table compares each operation's **active baseline** (the newest baseline that
contains it, the one the live detector uses) with a **candidate version**: the newest
``service.version`` seen, or the one asked for. The statistics and verdicts are the CI gate's
(``gate.run_comparison``), so the page and ``mcp-agent-otel check`` never disagree.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from mcp_agent_otel.errors import InputError
from mcp_agent_otel.regression import gate, ingest
from mcp_agent_otel.regression.aggregates import BucketAggregate, Exemplar
from mcp_agent_otel.regression.alerts import Alert
from mcp_agent_otel.regression.baselines import Selector
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.regression.sketch import QuantileSketch
from mcp_agent_otel.regression.statistics import Comparison, Verdict
from mcp_agent_otel.regression.store import BaselineNotFoundError, BucketRow

WINDOWS: Mapping[str, int] = {
    "15m": 900,
    "1h": 3600,
    "6h": 6 * 3600,
    "24h": 86400,
    "7d": 7 * 86400,
}
DEFAULT_WINDOW = "1h"
MAX_POINTS = 90  # per chart: the time step grows with the window
STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MAX_ALERTS = 20
MAX_VERSION_CHARS = 200


class DashboardInputError(InputError):
    """A query parameter the dashboard cannot use; the message says what to give instead."""


def parse_window(text: str | None) -> tuple[str, int]:
    """(label, seconds) of a window name such as ``1h``."""
    label = (text or DEFAULT_WINDOW).strip()
    if label not in WINDOWS:
        raise DashboardInputError(
            f"window {label[:40]!r} is not one of {', '.join(WINDOWS)}; "
            f"for example ?window={DEFAULT_WINDOW}"
        )
    return label, WINDOWS[label]


def step_for(window_seconds: int, bucket_seconds: int, max_points: int = MAX_POINTS) -> int:
    """Seconds per chart point: the smallest nice step that is a multiple of the store's
    bucket width and gives at most ``max_points`` points over the window."""
    bucket = max(int(bucket_seconds), 1)
    for candidate in STEPS:
        step = math.ceil(candidate / bucket) * bucket
        if window_seconds / step <= max_points:
            return step
    return math.ceil(window_seconds / max_points / bucket) * bucket


# --- the view data ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class StepStats:
    """Spans of one operation in one time step (or in the whole window)."""

    start: float
    count: int
    errors: int
    sum_ms: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    cache_hits: int
    cache_misses: int

    @property
    def cache_lookups(self) -> int:
        return self.cache_hits + self.cache_misses

    @property
    def hit_rate(self) -> float | None:
        return self.cache_hits / self.cache_lookups if self.cache_lookups else None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.count if self.count else None


@dataclasses.dataclass(frozen=True)
class BaselineStats:
    name: str
    count: int
    p50_ms: float | None
    p95_ms: float | None


@dataclasses.dataclass(frozen=True)
class OperationView:
    op_id: int
    key: OperationKey
    total: StepStats
    steps: tuple[StepStats, ...]  # time order, only steps with spans
    slow: tuple[Exemplar, ...]  # slowest spans of the window
    failed: tuple[Exemplar, ...]  # latest failed spans of the window
    baseline: BaselineStats | None = None
    comparison: Comparison | None = None
    note: str = ""  # why there is no comparison

    @property
    def verdict(self) -> Verdict | None:
        return self.comparison.verdict if self.comparison is not None else None


@dataclasses.dataclass(frozen=True)
class DashboardData:
    now: float
    window: str
    since: float  # start of the first step
    until: float  # end of the last step
    step: int
    candidate_version: str | None
    versions: tuple[str, ...]  # newest data first
    baselines: tuple[str, ...]
    operations: tuple[OperationView, ...]
    alerts: tuple[Alert, ...]  # newest first
    total: StepStats
    accepted_spans: int = 0


# --- pure transforms -----------------------------------------------------------------------------
def step_stats(start: float, aggregate: BucketAggregate) -> StepStats:
    p50, p95, p99 = aggregate.sketch.quantiles((0.5, 0.95, 0.99))
    return StepStats(
        start=start,
        count=aggregate.count,
        errors=aggregate.errors,
        sum_ms=aggregate.sum_ms,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        cache_hits=aggregate.cache_hits,
        cache_misses=aggregate.cache_misses,
    )


def group_rows(
    rows: Iterable[BucketRow], step: int, relative_accuracy: float
) -> dict[int, dict[int, BucketAggregate]]:
    """Per operation id, per step start: the merged aggregate of its bucket rows (all versions
    and environments together)."""
    out: dict[int, dict[int, BucketAggregate]] = {}
    for row in rows:
        start = row.start // step * step
        steps = out.setdefault(row.op_id, {})
        merged = steps.get(start)
        if merged is None:
            merged = steps[start] = BucketAggregate(QuantileSketch(relative_accuracy))
        merged.merge(row.aggregate)
    return out


_VERDICT_ORDER = {
    Verdict.REGRESSION: 0,
    Verdict.INCONCLUSIVE: 1,
    Verdict.IMPROVEMENT: 2,
    Verdict.NO_CHANGE: 3,
}


def order_operations(views: Iterable[OperationView]) -> list[OperationView]:
    """Regressions first, then undecided ones, then by total time spent (where time goes)."""
    return sorted(
        views,
        key=lambda v: (
            _VERDICT_ORDER.get(v.verdict, 4) if v.verdict is not None else 4,
            -v.total.sum_ms,
            v.key.label,
        ),
    )


def candidate_version(versions: Sequence[str], requested: str | None) -> str | None:
    """The version to compare: the one requested (it must have spans), else the newest."""
    if requested is not None:
        if len(requested) > MAX_VERSION_CHARS:
            raise DashboardInputError(
                f"version is longer than {MAX_VERSION_CHARS} characters; pick one from the list"
            )
        if requested not in versions:
            shown = ", ".join(repr(v) for v in versions[:10]) or "none yet"
            raise DashboardInputError(
                f"no stored spans have service.version {requested!r}; versions seen: {shown}"
            )
        return requested
    return versions[0] if versions else None


# --- reading the analyzer -----------------------------------------------------------------------
def collect(
    analyzer: RegressionAnalyzer,
    *,
    window: str | None = None,
    version: str | None = None,
    only: int | None = None,
    now: float | None = None,
    cache: DashboardCache | None = None,
) -> DashboardData:
    """The dashboard's data (``only``: one operation id, for its detail page). ``cache``
    keeps pages' data and comparisons between loads (see ``DashboardCache``)."""
    label, seconds = parse_window(window)
    now = time.time() if now is None else now
    analyzer.ingestor.try_flush()
    store = analyzer.store
    step = step_for(seconds, analyzer.config.bucket_seconds)
    since = int(now - seconds) // step * step
    until = math.ceil(now / step) * step
    freshness: tuple[Any, int] = ((), 0)
    if cache is not None:
        freshness = (
            store.baselines_signature(),
            store.counters().get(ingest.SPANS_ACCEPTED, 0),
        )
        page = cache.get(("page", label, version, only, since, until), *freshness)
        if isinstance(page, DashboardData):
            return dataclasses.replace(page, now=now)
    known = store.operations()
    if only is not None and only not in known:
        raise LookupError(f"no operation with id {only}")
    versions: list[str] = []
    for name, _, _ in store.versions():
        if name not in versions:
            versions.append(name)
    candidate = candidate_version(versions, version)

    rel = store.relative_accuracy
    rows = store.bucket_rows(op_ids=[only] if only is not None else None, since=since, until=until)
    grouped = group_rows(rows, step, rel)
    active = store.active_baselines()
    shown_keys = [known[i] for i in grouped if i in known]
    baseline_stats = _baseline_stats(analyzer, {active[k] for k in shown_keys if k in active})
    comparisons = _comparisons(
        analyzer, {active[k][1] for k in shown_keys if k in active}, candidate, cache, freshness
    )

    views = []
    everything = []
    for op_id, steps in grouped.items():
        key = known.get(op_id)
        if key is None:  # pruned meanwhile
            continue
        total = BucketAggregate.merged(steps.values(), rel)
        everything.append(total)
        baseline = None
        comparison = None
        note = ""
        if key in active:
            baseline_id, baseline_name = active[key]
            baseline = baseline_stats.get((baseline_id, key))
            found = comparisons.get(baseline_name)
            if isinstance(found, str):
                note = found
            elif found is not None:
                comparison = found.get(key.label)
                if comparison is None:
                    note = f"no spans of version {candidate!r} for this operation"
        else:
            note = "no baseline contains this operation yet"
        views.append(
            OperationView(
                op_id=op_id,
                key=key,
                total=step_stats(since, total),
                steps=tuple(step_stats(start, agg) for start, agg in sorted(steps.items())),
                slow=tuple(total.slow),
                failed=tuple(reversed(total.failed)),
                baseline=baseline,
                comparison=comparison,
                note=note,
            )
        )
    if only is None:
        alerts = store.alerts(limit=MAX_ALERTS)
    else:
        key = known[only]
        alerts = [
            a
            for a in store.alerts(limit=MAX_ALERTS * 50)
            if (a.service, a.name) == (key.service, key.name)
        ][:MAX_ALERTS]
    counters = store.counters()
    data = DashboardData(
        now=now,
        window=label,
        since=float(since),
        until=float(until),
        step=step,
        candidate_version=candidate,
        versions=tuple(versions),
        baselines=tuple(b.name for b in store.baselines()),
        operations=tuple(order_operations(views)),
        alerts=tuple(alerts),
        total=step_stats(since, BucketAggregate.merged(everything, rel)),
        accepted_spans=counters.get(ingest.SPANS_ACCEPTED, 0),
    )
    if cache is not None:
        cache.put(("page", label, version, only, since, until), *freshness, data)
    return data


def _baseline_stats(
    analyzer: RegressionAnalyzer, baselines: Iterable[tuple[int, str]]
) -> dict[tuple[int, OperationKey], BaselineStats]:
    out: dict[tuple[int, OperationKey], BaselineStats] = {}
    for baseline_id, name in baselines:
        for row in analyzer.store.baseline_operations(baseline_id):
            p50, p95 = row.sketch.quantiles((0.5, 0.95))
            out[(baseline_id, row.key)] = BaselineStats(name, row.count, p50, p95)
    return out


def _comparisons(
    analyzer: RegressionAnalyzer,
    names: Iterable[str],
    candidate: str | None,
    cache: DashboardCache | None = None,
    freshness: tuple[Any, int] = ((), 0),
) -> dict[str, dict[str, Comparison] | str]:
    """Per baseline name: its comparisons with the candidate version by operation label, or
    the reason there are none."""
    out: dict[str, dict[str, Comparison] | str] = {}
    for name in sorted(names):
        if candidate is None:
            out[name] = "no version to compare yet"
            continue
        if cache is not None:
            found = cache.get(("comparisons", name, candidate), *freshness)
            if found is not None:
                out[name] = found
                continue
        try:
            report = gate.run_comparison(
                analyzer.store, name, gate.Candidate(selector=Selector(version=candidate))
            )
        except BaselineNotFoundError:
            out[name] = f"baseline {name!r} was deleted meanwhile; reload"
            continue
        except ValueError as exc:
            out[name] = f"could not compare: {exc}"
            continue
        out[name] = {c.operation: c for c in report.comparisons}
        if cache is not None:
            cache.put(("comparisons", name, candidate), *freshness, out[name])
    return out


ComparisonResult = dict[str, Comparison] | str  # by operation label, or why there is none


class DashboardCache:
    """What the dashboard computed, kept between page loads until spans arrive.

    Two kinds of entries: the comparisons (``gate.run_comparison``, per baseline and candidate
    version, shared by every window and page) and whole pages' data (per window, version,
    operation and first time step). An entry is reused while the same baselines exist and no
    span was accepted since it was computed. The first load after spans arrive recomputes it
    (spans sent after a quiet spell show at once); while spans keep arriving, it is recomputed
    at most once per ``min_interval_s``, so a page under steady ingest costs one computation
    per interval rather than one per load. A baseline created or deleted is seen at once; a
    new time step starts a new page entry. Safe to share between the server's threads.
    """

    def __init__(
        self, min_interval_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (baselines signature, spans accepted, computed at, value, computed because
        # spans had arrived: the throttle applies only then, i.e. while ingest is steady)
        self._entries: dict[tuple[Any, ...], tuple[Any, int, float, Any, bool]] = {}

    def get(self, key: tuple[Any, ...], baselines: Any, accepted: int) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] != baselines:
            return None
        if entry[1] != accepted and (
            not entry[4] or self._clock() - entry[2] >= self.min_interval_s
        ):
            return None
        return entry[3]

    def put(self, key: tuple[Any, ...], baselines: Any, accepted: int, value: Any) -> None:
        with self._lock:
            if len(self._entries) >= _MAX_CACHED:
                self._entries.clear()
            previous = self._entries.get(key)
            refreshed = previous is not None and previous[1] != accepted
            self._entries[key] = (baselines, accepted, self._clock(), value, refreshed)


_MAX_CACHED = 256
