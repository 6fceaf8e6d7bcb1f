"""Benchmarks of the baseline profiler (issue 7): what it costs, and what the gate can see.

- aggregation cost: real SDK spans of demo workflows replayed through ``SpanAggregator``
  (conversion, per-trace buffering, self-times, sketches), per span;
- profiling overhead: the same task run twice back to back over one agent, once with the
  aggregator measuring and once idle (order alternating), so machine drift hits both alike;
  the median of the paired ratios, next to the aggregation cost as a share of a workflow;
- gate power on the real pipeline: base / unchanged / 25%-slower (``meta_coordinator.execute``)
  versions profiled in interleaved blocks, then the gate's own comparison
  (``analyzer.gate.compare_durations``) on the first n runs of each side, n growing: the
  fewest runs per side at which the slowdown fails the gate, and at which the unchanged build
  passes it.

Smoke size: a few seconds, no timing assertion. ``make bench`` runs the full size.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import defaultdict

import numpy as np
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.autonomous.servers import demo_servers_config
from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer
from mcp_agent_otel.autonomous.workload import MIXED_TASKS
from mcp_agent_otel.caching.cache_manager import cache_from_env
from mcp_agent_otel.profiling.baseline_profiler import ProfileSettings, profile_agent
from mcp_agent_otel.profiling.fault_injection import Slowdown
from mcp_agent_otel.profiling.span_aggregator import Phase, SpanAggregator
from mcp_agent_otel.regression import gate
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.setup import configure_tracing
from tests.conftest import BenchRecorder

pytestmark = pytest.mark.bench
TASK = "Calculate 17 * 3"


async def test_aggregation_cost_and_profiling_overhead(
    bench: BenchRecorder, spans: InMemorySpanExporter
) -> None:
    probe = SpanAggregator()
    configure_tracing(extra_processors=[probe])
    cache = cache_from_env()
    pairs = bench.n(40, 1000)
    log_ratios: list[float] = []
    idle: list[float] = []
    async with MetaCoordinator.from_config(
        demo_servers_config(), analyzer=TaskAnalyzer(cache=cache)
    ) as agent:
        for task in MIXED_TASKS:  # warm-up
            await agent.run(task)
        spans.clear()
        for task in MIXED_TASKS:
            await agent.run(task)
        sample: list[ReadableSpan] = list(spans.get_finished_spans())
        # each task twice in a row, measuring and idle in alternating order: paired ratios
        for i in range(pairs):
            task = MIXED_TASKS[i % len(MIXED_TASKS)]
            elapsed: dict[Phase, float] = {}
            for phase in (Phase.MEASURE, Phase.IDLE) if i % 2 else (Phase.IDLE, Phase.MEASURE):
                probe.set_phase(phase)
                started = time.perf_counter()
                await agent.run(task)
                elapsed[phase] = (time.perf_counter() - started) * 1000
            log_ratios.append(math.log(elapsed[Phase.MEASURE] / elapsed[Phase.IDLE]))
            idle.append(elapsed[Phase.IDLE])
            if i % 100 == 99:
                spans.clear()
        probe.set_phase(Phase.IDLE)
    if cache is not None:
        cache.close()
    spans.clear()
    assert probe.accumulator.workflows == pairs

    # replay the real spans of one pass over the mixed workload through a fresh aggregator
    root_ids = {
        s.context.trace_id
        for s in sample
        if s.name == semconv.SPAN_WORKFLOW and s.parent is None and s.context is not None
    }
    assert len(root_ids) == len(MIXED_TASKS)
    assert all(s.context is not None and s.context.trace_id in root_ids for s in sample)
    replay = SpanAggregator(keep_spans=True)
    replay.set_phase(Phase.MEASURE)
    repeats = bench.n(20, 300)
    started = time.perf_counter()
    for _ in range(repeats):
        for span in sample:
            replay.on_end(span)
    per_span_us = (time.perf_counter() - started) / (repeats * len(sample)) * 1e6
    assert replay.accumulator.workflows == repeats * len(MIXED_TASKS)
    assert replay.accumulator.spans == repeats * len(sample)
    bench.record(
        "aggregation cost per span",
        per_span_us,
        "us",
        target="<= 30 us",
        met=per_span_us <= 30,
        note=f"{len(sample) / len(MIXED_TASKS):.1f} spans per workflow, real SDK spans replayed",
    )
    spans_per_workflow = len(sample) / len(MIXED_TASKS)
    share = per_span_us * spans_per_workflow / 1000 / statistics.median(idle)
    bench.record(
        "aggregation cost per workflow / workflow median",
        share * 100,
        "%",
        target="<= 2 %",
        met=share <= 0.02,
        note=f"idle workflow median {statistics.median(idle):.2f} ms",
    )
    ratio = math.exp(statistics.median(log_ratios))
    bench.record(
        "profiling overhead (paired measuring/idle, median ratio)",
        ratio,
        "x",
        target="<= 1.05",
        met=ratio <= 1.05,
        note=f"{pairs} pairs of the same task run back to back; noisy at the 2% level",
    )


def _durations(kept: list[ReadableSpan]) -> dict[OperationKey, list[float]]:
    out: dict[OperationKey, list[float]] = defaultdict(list)
    for s in kept:
        assert s.start_time is not None
        assert s.end_time is not None
        out[OperationKey("bench", s.name)].append((s.end_time - s.start_time) / 1e6)
    return out


def _first(durations: dict[OperationKey, list[float]], runs: int) -> dict[OperationKey, np.ndarray]:
    # one span per operation and workflow (a one-tool task), in completion order
    return {k: np.asarray(v[:runs], dtype=np.float64) for k, v in durations.items()}


async def test_gate_power_on_the_real_pipeline(
    bench: BenchRecorder, spans: InMemorySpanExporter
) -> None:
    versions = {v: SpanAggregator(keep_spans=True) for v in ("base", "same", "slow")}
    configure_tracing(extra_processors=list(versions.values()))
    rounds, block = bench.n(4, 30), bench.n(25, 30)
    cache = cache_from_env()
    async with MetaCoordinator.from_config(
        demo_servers_config(), analyzer=TaskAnalyzer(cache=cache)
    ) as agent:
        for _ in range(5):
            await agent.run(TASK)
        for round_ in range(rounds):
            order = ("base", "same", "slow") if round_ % 2 == 0 else ("same", "base", "slow")
            for version in order:
                fault = (Slowdown(semconv.SPAN_EXECUTE, 1.25),) if version == "slow" else ()
                settings = ProfileSettings(
                    "bench", (TASK,), runs=block, warmup=0, memory_runs=0, slowdowns=fault
                )
                await profile_agent(agent, settings, versions[version])
                spans.clear()
    if cache is not None:
        cache.close()
    per_side = rounds * block
    data = {v: _durations(agg.take_kept()) for v, agg in versions.items()}
    for by_op in data.values():
        assert len(by_op) == 7
        assert all(len(v) == per_side for v in by_op.values())

    sizes = [n for n in (25, 50, 100, 200, 400, 800) if n <= per_side] or [per_side]
    detected: dict[int, bool] = {}
    passed: dict[int, bool] = {}
    codes = []
    for n in sizes:
        base = _first(data["base"], n)
        slow = gate.compare_durations(
            base, _first(data["slow"], n), baseline_name="base", candidate_name="slow"
        )
        same = gate.compare_durations(
            base, _first(data["same"], n), baseline_name="base", candidate_name="same"
        )
        execute = next(c for c in slow.comparisons if c.operation.endswith(semconv.SPAN_EXECUTE))
        detected[n] = (
            slow.exit_code == gate.EXIT_REGRESSION and execute.verdict.value == "regression"
        )
        passed[n] = same.exit_code == gate.EXIT_PASS
        codes.append(f"{n}:{slow.exit_code}/{same.exit_code}")
        print(
            f"n={n}: slow exit {slow.exit_code} (execute ratio {execute.ratio:.3f}), "
            f"same exit {same.exit_code}"
        )

    def stable_from(ok: dict[int, bool]) -> int:
        """The smallest size from which every larger size tried also succeeds (0: none)."""
        from_n = 0
        for n in sorted(ok, reverse=True):
            if not ok[n]:
                break
            from_n = n
        return from_n

    detect_at, pass_at = stable_from(detected), stable_from(passed)
    note = "exit codes slow/same by runs per side: " + ", ".join(codes)
    bench.record(
        "runs per side to fail a 25% slowdown",
        float(detect_at),
        "runs",
        target=f"detected from <= {per_side}",
        met=detect_at > 0,
        note=note,
    )
    bench.record(
        "runs per side for an unchanged build to pass",
        float(pass_at),
        "runs",
        target=f"passes from <= {per_side}",
        met=pass_at > 0,
        note="smallest size from which every larger one passes; 0: none",
    )
