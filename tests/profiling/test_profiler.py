"""The profiler on the real pipeline: its figures agree with the spans it produced.

Real agent, real demo MCP servers over stdio, real analysis cache on disk; the spans are the
ones the session's SDK provider exported (the ``spans`` fixture), which the profiler's own
processor saw too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.autonomous.servers import DEMO_SERVER_NAMES, demo_servers_config
from mcp_agent_otel.autonomous.workload import MIXED_TASKS, SIMPLE_TASKS
from mcp_agent_otel.caching.cache_manager import cache_from_env
from mcp_agent_otel.profiling.baseline_profiler import (
    STAGE_ORDER,
    ProfileSettings,
    build_report,
    profile_agent,
    run_profile,
)
from mcp_agent_otel.profiling.fault_injection import SLOWABLE_STAGES, Slowdown
from mcp_agent_otel.profiling.span_aggregator import SpanAggregator
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.setup import configure_tracing


def _ms(span: ReadableSpan) -> float:
    assert span.start_time is not None
    assert span.end_time is not None
    return (span.end_time - span.start_time) / 1e6


def _measured(exported: Sequence[ReadableSpan], aggregator: SpanAggregator) -> list[ReadableSpan]:
    ids = set(aggregator.trace_ids)
    return [s for s in exported if s.context is not None and s.context.trace_id in ids]


def _aggregator() -> SpanAggregator:
    aggregator = SpanAggregator(keep_spans=True)
    configure_tracing(extra_processors=[aggregator])
    return aggregator


async def test_figures_agree_with_the_exported_spans(spans: InMemorySpanExporter) -> None:
    aggregator = _aggregator()
    runs = len(MIXED_TASKS) + 7
    settings = ProfileSettings("mixed", MIXED_TASKS, runs=runs, memory_runs=3)
    run = await run_profile(settings, demo_servers_config(), aggregator)
    report = build_report(settings, aggregator, run, version="v-test", service="svc")

    exported = spans.get_finished_spans()
    measured = _measured(exported, aggregator)
    workflows = [s for s in exported if s.name == semconv.SPAN_WORKFLOW]
    # warm-up (one pass) and the memory pass ran workflows too, and are not in the figures
    assert len(workflows) == runs + len(MIXED_TASKS) + 3
    assert len(aggregator.trace_ids) == report.workflows == runs
    assert report.spans == len(measured)
    assert len(aggregator.take_kept()) == len(measured)  # what --store would record

    by_name: dict[str, list[float]] = defaultdict(list)
    for s in measured:
        by_name[s.name].append(_ms(s))
    assert {o.name for o in report.operations} == set(by_name)
    accuracy = report.relative_accuracy
    for op in report.operations:
        values = by_name[op.name]
        assert op.latency.count == len(values), op.name
        assert op.errors == sum(
            1 for s in measured if s.name == op.name and s.status.status_code.name == "ERROR"
        )
        for q, got in (
            (0.5, op.latency.p50_ms),
            (0.95, op.latency.p95_ms),
            (0.99, op.latency.p99_ms),
        ):
            exact = float(np.quantile(values, q, method="lower"))  # the sketch's rank
            assert got is not None
            assert abs(got - exact) <= accuracy * exact * (1 + 1e-9) + 1e-9, (op.name, q)
    assert [s.name for s in report.stages] == list(STAGE_ORDER)

    # self-time of the workflow: its duration minus its (sequential) stage children
    children: dict[int, float] = defaultdict(float)
    for s in measured:
        if s.parent is not None and s.name in semconv.STAGE_SPANS:
            children[s.parent.span_id] += _ms(s)
    expected_self = sum(
        _ms(s) - children[s.context.span_id] for s in measured if s.name == semconv.SPAN_WORKFLOW
    )
    workflow = next(o for o in report.operations if o.name == semconv.SPAN_WORKFLOW)
    assert workflow.self_time.total_ms == pytest.approx(expected_self, rel=1e-6)
    assert report.bottlenecks
    assert len(report.bottlenecks) <= settings.top
    totals = [b.total_self_ms for b in report.bottlenecks]
    assert totals == sorted(totals, reverse=True)

    # cache hit rate, from the analysis spans' attributes
    analyses = [s for s in measured if s.name == semconv.SPAN_ANALYZE]
    results = [str((s.attributes or {}).get(semconv.CACHE_RESULT)) for s in analyses]
    hits, misses = results.count("hit"), results.count("miss")
    assert (report.cache.hits, report.cache.misses) == (hits, misses)
    assert report.cache.hit_rate == pytest.approx(hits / (hits + misses))
    assert report.cache.hit_rate == 1.0  # every task was analysed once in the warm-up

    # every decision is made (a repeated task is not answered from the engine's memo), so a
    # slower ranking or argument planner shows in decide
    decides = [s for s in measured if s.name == semconv.SPAN_DECIDE]
    assert len(decides) == runs
    assert {(s.attributes or {}).get(semconv.DECISION_MEMO_HIT) for s in decides} == {False}

    # memory: the separate pass, one sample per workflow and stage
    memory = {m.name: m for m in report.memory.spans}
    for stage in STAGE_ORDER:
        assert memory[stage].samples == 3
        assert 0 < memory[stage].peak_p50_bytes <= memory[stage].peak_max_bytes
    assert (
        memory[semconv.SPAN_WORKFLOW].peak_max_bytes >= memory[semconv.SPAN_EXECUTE].peak_p50_bytes
    )
    assert report.memory.rss_start_bytes
    assert report.memory.rss_end_bytes
    # discovery lists nothing in a steady run: the servers announce their list changes
    assert report.discovery.mode == "as needed"
    assert report.discovery.discoveries == runs
    assert report.discovery.servers_listed == 0
    assert report.failed_workflows == 0


async def test_rediscover_measures_a_listing_of_every_server_per_workflow(
    spans: InMemorySpanExporter,
) -> None:
    aggregator = _aggregator()
    settings = ProfileSettings("simple", SIMPLE_TASKS, runs=8, rediscover=True, memory_runs=0)
    async with MetaCoordinator.from_config(demo_servers_config(), cache=cache_from_env()) as agent:
        run = await profile_agent(agent, settings, aggregator)
        assert "discover" not in vars(agent.discovery)  # undone after the profile
    report = build_report(settings, aggregator, run, version="v", service="s")
    assert report.discovery.mode == "rediscover"
    assert report.discovery.discoveries == 8
    assert report.discovery.servers_listed == 8 * len(DEMO_SERVER_NAMES)
    listed = {o.name: o.latency.count for o in report.discovery.list_tools}
    assert listed == {semconv.list_tools_span_name(n): 8 for n in DEMO_SERVER_NAMES}
    measured = _measured(spans.get_finished_spans(), aggregator)
    assert sum(1 for s in measured if s.name.startswith(semconv.SPAN_LIST_TOOLS_PREFIX)) == 32
    assert report.memory.spans == ()  # --memory-runs 0


async def test_the_fault_slows_the_stage_inside_its_span_and_is_undone(
    spans: InMemorySpanExporter,
) -> None:
    aggregator = _aggregator()
    settings = ProfileSettings(
        "simple",
        SIMPLE_TASKS[:2],
        runs=6,
        warmup=2,
        memory_runs=0,
        slowdowns=(Slowdown(semconv.SPAN_EXECUTE, 2.0),),
    )
    async with MetaCoordinator.from_config(demo_servers_config(), cache=cache_from_env()) as agent:
        await profile_agent(agent, settings, aggregator)
        assert "_execute" not in vars(agent)  # the wrapper is gone
        spans.clear()
        await agent.run(SIMPLE_TASKS[0])
        after = [s for s in spans.get_finished_spans() if s.name == semconv.SPAN_EXECUTE]
        assert after
        assert semconv.FAULT_SLOWDOWN not in (after[0].attributes or {})
    measured = _measured(aggregator.take_kept(), aggregator)
    executes = [s for s in measured if s.name == semconv.SPAN_EXECUTE]
    assert len(executes) == 6
    for execute in executes:
        assert (execute.attributes or {})[semconv.FAULT_SLOWDOWN] == 2.0
        tools = [
            s
            for s in measured
            if s.parent is not None and s.parent.span_id == execute.context.span_id
        ]
        assert len(tools) == 1  # one span, reused by the component (no duplicate stage)
        assert execute.start_time is not None
        assert execute.end_time is not None
        natural = max(t.end_time or 0 for t in tools) - execute.start_time
        assert execute.end_time - execute.start_time >= 2.0 * natural * 0.999
    stage_names = [s.name for s in measured]
    assert stage_names.count(semconv.SPAN_EXECUTE) == 6


async def test_concurrent_workflows_over_one_agent(spans: InMemorySpanExporter) -> None:
    aggregator = _aggregator()
    settings = ProfileSettings("simple", SIMPLE_TASKS, runs=24, concurrency=4, memory_runs=0)
    run = await run_profile(settings, demo_servers_config(), aggregator)
    report = build_report(settings, aggregator, run, version="v", service="s")
    assert report.workflows == 24
    assert report.concurrency == 4
    roots = [
        s
        for s in _measured(spans.get_finished_spans(), aggregator)
        if s.name == semconv.SPAN_WORKFLOW
    ]
    events = sorted(
        [(s.start_time or 0, 1) for s in roots] + [(s.end_time or 0, -1) for s in roots]
    )
    in_flight = peak = 0
    for _, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    assert 2 <= peak <= 4
    assert report.throughput_per_s > 0


def test_an_idle_aggregator_ignores_spans(spans: InMemorySpanExporter) -> None:
    from opentelemetry import trace

    aggregator = _aggregator()
    with trace.get_tracer("t").start_as_current_span(semconv.SPAN_WORKFLOW):
        pass
    assert aggregator.accumulator.workflows == 0
    assert not aggregator.kept


async def test_every_slowable_stage_can_be_slowed_and_only_that_one(
    spans: InMemorySpanExporter,
) -> None:
    aggregator = _aggregator()
    tasks = SIMPLE_TASKS[:1]
    async with MetaCoordinator.from_config(demo_servers_config(), cache=cache_from_env()) as agent:
        plain = ProfileSettings("p", tasks, runs=6, warmup=2, memory_runs=0, rediscover=True)
        await profile_agent(agent, plain, aggregator)
        unslowed = aggregator.take_kept()
        for stage in SLOWABLE_STAGES:
            settings = ProfileSettings(
                "p",
                tasks,
                runs=6,
                warmup=0,
                memory_runs=0,
                rediscover=True,
                slowdowns=(Slowdown(stage, 5.0),),
            )
            await profile_agent(agent, settings, aggregator)
            kept = aggregator.take_kept()
            marked = {s.name for s in kept if semconv.FAULT_SLOWDOWN in (s.attributes or {})}
            assert marked == {stage}
            assert sum(1 for s in kept if s.name == stage) == 6  # one span per stage: reused
            # The mechanism, not the clock (timings are for benchmarks): every span of the
            # stage carries the factor it was slowed by, and no span was before.
            factors = [(s.attributes or {}).get(semconv.FAULT_SLOWDOWN) for s in kept]
            assert [f for f in factors if f is not None] == [5.0] * 6
            assert not any(semconv.FAULT_SLOWDOWN in (s.attributes or {}) for s in unslowed)
        assert not {"run", "_execute"} & set(vars(agent))
        assert "analyze" not in vars(agent.analyzer)
        assert "decide" not in vars(agent.engine)
        assert "discover" not in vars(agent.discovery)
