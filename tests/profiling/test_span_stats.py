"""The profiler's pure core: self-time, cache outcomes, quantiles, bottlenecks, parsing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_agent_otel.caching.invalidation_strategies import CacheResult
from mcp_agent_otel.profiling.baseline_profiler import (
    ProfileInputError,
    ProfileSettings,
    parse_task_file,
    resolve_workload,
)
from mcp_agent_otel.profiling.fault_injection import (
    FaultSettingError,
    Slowdown,
    parse_slowdowns,
)
from mcp_agent_otel.profiling.memory import parse_proc_status, span_memory
from mcp_agent_otel.profiling.profile_run import resource_attribute, with_resource_attribute
from mcp_agent_otel.profiling.span_stats import (
    CacheOutcome,
    DistributionAccumulator,
    OperationStats,
    ProfileAccumulator,
    SpanRecord,
    bottlenecks,
    cache_outcome,
    cache_stats,
    covered_ns,
    self_times_ns,
)
from mcp_agent_otel.regression.sketch import DEFAULT_RELATIVE_ACCURACY
from mcp_agent_otel.tracing import semconv


def rec(
    span_id: int, parent: int | None, name: str, start: int, end: int, **kw: object
) -> SpanRecord:
    return SpanRecord(1, span_id, parent, name, start, end, **kw)  # type: ignore[arg-type]


def test_covered_merges_overlaps_and_clips_to_the_parent() -> None:
    assert covered_ns([], 0, 100) == 0
    assert covered_ns([(10, 20), (30, 40)], 0, 100) == 20
    assert covered_ns([(10, 30), (20, 40)], 0, 100) == 30  # overlapping: counted once
    assert covered_ns([(-50, 10), (90, 200)], 0, 100) == 20  # clipped to [0, 100]
    assert covered_ns([(10, 20), (12, 15), (20, 25)], 0, 100) == 15  # nested and touching


def test_self_time_subtracts_direct_children_once() -> None:
    records = [
        rec(1, None, semconv.SPAN_WORKFLOW, 0, 100),
        rec(2, 1, semconv.SPAN_ANALYZE, 0, 10),
        rec(3, 1, semconv.SPAN_EXECUTE, 20, 90),
        rec(4, 3, "execute_tool a", 25, 60),  # two tools in parallel
        rec(5, 3, "execute_tool b", 30, 70),
        rec(6, 4, "MCP send tools/call a", 26, 59),
    ]
    assert self_times_ns(records) == [100 - 10 - 70, 10, 70 - 45, 35 - 33, 40, 33]


@given(
    st.lists(
        st.tuples(st.integers(0, 1000), st.integers(0, 1000)).map(sorted),
        max_size=12,
    )
)
def test_self_time_is_never_negative_nor_above_the_duration(children: list[list[int]]) -> None:
    records = [rec(1, None, "root", 100, 900)] + [
        rec(i + 2, 1, "child", a, b) for i, (a, b) in enumerate(children)
    ]
    root_self = self_times_ns(records)[0]
    assert 0 <= root_self <= 800


@pytest.mark.parametrize(
    ("attributes", "outcome"),
    [
        ({semconv.CACHE_RESULT: CacheResult.HIT.value, semconv.CACHE_HIT: True}, CacheOutcome.HIT),
        ({semconv.CACHE_RESULT: CacheResult.MISS.value}, CacheOutcome.MISS),
        ({semconv.CACHE_RESULT: CacheResult.EXPIRED.value}, CacheOutcome.MISS),
        ({semconv.CACHE_RESULT: CacheResult.INVALIDATED.value}, CacheOutcome.MISS),
        # bypass wins over cache.hit=False: not a lookup
        ({semconv.CACHE_RESULT: "bypass", semconv.CACHE_HIT: False}, CacheOutcome.NOT_CONSULTED),
        ({semconv.CACHE_RESULT: CacheResult.ERROR.value}, CacheOutcome.NOT_CONSULTED),
        ({semconv.CACHE_HIT: True}, CacheOutcome.HIT),
        ({semconv.CACHE_HIT: False}, CacheOutcome.MISS),
        ({}, CacheOutcome.ABSENT),
    ],
)
def test_cache_outcome(attributes: dict[str, object], outcome: CacheOutcome) -> None:
    assert cache_outcome(attributes) is outcome


def test_cache_hit_rate_counts_only_lookups() -> None:
    stats = cache_stats({CacheOutcome.HIT: 6, CacheOutcome.MISS: 2, CacheOutcome.NOT_CONSULTED: 5})
    assert (stats.analyses, stats.hits, stats.misses, stats.not_consulted) == (13, 6, 2, 5)
    assert stats.hit_rate == 0.75
    assert cache_stats({CacheOutcome.NOT_CONSULTED: 3}).hit_rate is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=0.001, max_value=1e5, allow_nan=False), min_size=1, max_size=3000)
)
def test_sketch_quantiles_are_within_relative_accuracy_of_the_exact_ones(
    values: list[float],
) -> None:
    acc = DistributionAccumulator(DEFAULT_RELATIVE_ACCURACY)
    for v in values:
        acc.add(v)
    summary = acc.summary()
    assert summary.count == len(values)
    assert summary.min_ms == min(values)
    assert summary.max_ms == max(values)
    assert math.isclose(summary.total_ms, math.fsum(values), rel_tol=1e-9)
    for q, got in zip(
        (0.5, 0.95, 0.99), (summary.p50_ms, summary.p95_ms, summary.p99_ms), strict=True
    ):
        exact = float(np.quantile(values, q, method="lower"))  # the sketch's rank
        assert got is not None
        assert abs(got - exact) <= DEFAULT_RELATIVE_ACCURACY * exact * (1 + 1e-9)


def test_accumulator_folds_traces() -> None:
    acc = ProfileAccumulator()
    for trace_id, hit in ((1, True), (2, False)):
        acc.add_trace(
            [
                SpanRecord(
                    trace_id,
                    2,
                    1,
                    semconv.SPAN_ANALYZE,
                    0,
                    1_000_000,
                    cache=CacheOutcome.HIT if hit else CacheOutcome.MISS,
                ),
                SpanRecord(
                    trace_id,
                    3,
                    1,
                    semconv.SPAN_DISCOVER,
                    1_000_000,
                    2_000_000,
                    servers_listed=4 if trace_id == 1 else 0,
                ),
                SpanRecord(
                    trace_id, 1, None, semconv.SPAN_WORKFLOW, 0, 5_000_000, error=trace_id == 2
                ),
            ]
        )
    stats = acc.operation_stats()
    assert stats[semconv.SPAN_WORKFLOW].latency.count == 2
    assert stats[semconv.SPAN_WORKFLOW].errors == 1
    assert stats[semconv.SPAN_WORKFLOW].self_time.total_ms == pytest.approx(6.0)
    assert (acc.workflows, acc.failed_workflows, acc.spans) == (2, 1, 6)
    assert (acc.discoveries, acc.servers_listed) == (2, 4)
    assert acc.cache_stats().hit_rate == 0.5
    assert acc.workflow_total_ms == pytest.approx(10.0)


def test_bottlenecks_rank_by_total_self_time() -> None:
    def op(name: str, self_total: float, count: int) -> OperationStats:
        acc = DistributionAccumulator(DEFAULT_RELATIVE_ACCURACY)
        for _ in range(count):
            acc.add(self_total / count)
        return OperationStats(name, acc.summary(), acc.summary(), 0)

    ops = [op("a", 10.0, 5), op("b", 60.0, 3), op("c", 30.0, 2), op("d", 30.0, 1)]
    top = bottlenecks(ops, workflow_total_ms=200.0, workflows=4, top=3)
    assert [b.name for b in top] == ["b", "c", "d"]  # ties broken by name
    assert top[0].share == pytest.approx(0.3)
    assert top[0].per_workflow_ms == pytest.approx(15.0)


def test_task_file_parsing() -> None:
    text = "# comment\n\nCalculate 2 + 2\n  Define the term span  \n"
    assert parse_task_file(text, "t.txt") == ("Calculate 2 + 2", "Define the term span")
    with pytest.raises(ProfileInputError, match="holds no task"):
        parse_task_file("# only a comment\n\n", "t.txt")
    with pytest.raises(ProfileInputError, match=r"t\.txt:2: the task is .* over the limit"):
        parse_task_file("ok task\n" + "x" * 30_000 + "\n", "t.txt")


def test_workload_resolution(tmp_path: object) -> None:
    assert resolve_workload("simple")[0] == "simple"
    with pytest.raises(ProfileInputError, match=r"unknown profile 'nope'.*simple, moderate"):
        resolve_workload("nope")


def test_settings_refuse_bad_counts() -> None:
    for kwargs, fragment in (
        ({"runs": 0}, "runs must be at least 1"),
        ({"concurrency": 0}, "concurrency"),
        ({"warmup": -1}, "warm-up"),
        ({"memory_runs": -1}, "memory runs"),
        ({"tasks": ()}, "no task"),
    ):
        args: dict[str, object] = {"label": "x", "tasks": ("t",), "runs": 1, **kwargs}
        with pytest.raises(ProfileInputError, match=fragment):
            ProfileSettings(**args)  # type: ignore[arg-type]
    assert ProfileSettings("x", ("a", "b"), 1).warmup_runs == 2  # default: one pass


def test_slowdown_parsing() -> None:
    assert parse_slowdowns("") == ()
    assert parse_slowdowns(f"{semconv.SPAN_EXECUTE}=1.25") == (
        Slowdown(semconv.SPAN_EXECUTE, 1.25),
    )
    assert parse_slowdowns(f" {semconv.SPAN_WORKFLOW} = 2 , {semconv.SPAN_ANALYZE}=1") == (
        Slowdown(semconv.SPAN_WORKFLOW, 2.0),
        Slowdown(semconv.SPAN_ANALYZE, 1.0),
    )
    for text, fragment in (
        ("execute", "is not <stage>=<factor>"),
        ("execute_tool calculate=2", "not a stage the profiler can slow down"),
        (f"{semconv.SPAN_EXECUTE}=0.5", "from 1 to 100"),
        (f"{semconv.SPAN_EXECUTE}=fast", "from 1 to 100"),
        (f"{semconv.SPAN_EXECUTE}=nan", "from 1 to 100"),
        (f"{semconv.SPAN_EXECUTE}=2,{semconv.SPAN_EXECUTE}=3", "named twice"),
    ):
        with pytest.raises(FaultSettingError, match=fragment) as info:
            parse_slowdowns(text)
        assert semconv.ENV_FAULT_SLOWDOWN in str(info.value)


def test_resource_attribute_helpers() -> None:
    assert with_resource_attribute("", "service.version", "1.2") == "service.version=1.2"
    merged = with_resource_attribute("a=b,service.version=old", "service.version", "v 2/x")
    assert merged == "a=b,service.version=v%202%2Fx"
    assert resource_attribute(merged, "service.version") == "v 2/x"
    assert resource_attribute("a=b", "service.version") is None


def test_proc_status_and_span_memory() -> None:
    status = "Name:\tpython\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t3\n"
    memory = parse_proc_status(status)
    assert (memory.rss_bytes, memory.peak_rss_bytes) == (1024 * 1024, 2048 * 1024)
    assert parse_proc_status("nothing here").rss_bytes is None
    spans = span_memory({"a": [5, 1, 3], "b": []}, ["b", "a"])
    assert [(s.name, s.samples, s.peak_p50_bytes, s.peak_max_bytes) for s in spans] == [
        ("a", 3, 3, 5)
    ]
