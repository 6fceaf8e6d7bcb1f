"""The baseline profiler: run a workload through the real pipeline, report it from its spans.

A profile is a list of tasks (a named profile from ``autonomous.workload.PROFILES`` or a task
file) run ``runs`` times round-robin through one ``MetaCoordinator`` over real MCP servers,
after ``warmup`` runs that are not measured, with ``concurrency`` workflows in flight. Every
figure comes from the spans the workflows produced, folded by ``SpanAggregator``:

- per-stage latency p50/p95/p99 (DDSketch, relative accuracy 0.5%) and self-time;
- tool discovery: ``tool_discovery.discover`` and ``tool_discovery.list_tools {server}``. The
  agent lists servers only when needed (first discovery, ``tools/list_changed``), so a steady
  run has no listing to measure; ``rediscover=True`` forces ``discover(refresh=True)`` in every
  workflow, so each discovery lists every server over its open session;
- the analysis cache's hit rate (``mcp_agent.cache.*`` attributes on the analysis spans);
- memory: tracemalloc peak per span name in a separate pass of ``memory_runs`` workflows run
  one at a time (tracemalloc slows allocation, so the latency runs never trace memory), and
  the process's RSS before and after the latency runs;
- the top bottlenecks by self-time.

The I/O shell is ``profile_agent`` / ``run_profile``; ``build_report`` and the statistics in
``span_stats`` are pure.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan

from mcp_agent_otel.autonomous.decision_engine import DecisionEngine
from mcp_agent_otel.autonomous.errors import InvalidTaskError
from mcp_agent_otel.autonomous.meta_coordinator import (
    DEFAULT_CALL_TIMEOUT_S,
    MetaCoordinator,
    ServersConfig,
)
from mcp_agent_otel.autonomous.models import Model
from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer, validate_task
from mcp_agent_otel.autonomous.tool_discovery import ToolDiscovery
from mcp_agent_otel.autonomous.workload import PROFILES
from mcp_agent_otel.caching.cache_manager import cache_from_env
from mcp_agent_otel.errors import InputError
from mcp_agent_otel.profiling.fault_injection import Slowdown, install_slowdowns, patch_instance
from mcp_agent_otel.profiling.memory import (
    MemoryReport,
    ProcessMemory,
    process_memory,
    span_memory,
)
from mcp_agent_otel.profiling.profile_plan import DEFAULT_MEMORY_RUNS as DEFAULT_MEMORY_RUNS
from mcp_agent_otel.profiling.profile_plan import DEFAULT_TOP as DEFAULT_TOP
from mcp_agent_otel.profiling.span_aggregator import Phase, SpanAggregator
from mcp_agent_otel.profiling.span_stats import (
    Bottleneck,
    CacheStats,
    LatencySummary,
    OperationStats,
    bottlenecks,
)
from mcp_agent_otel.tracing import semconv

# The workflow span, then the stages in workflow order: the rows the report leads with.
STAGE_ORDER: tuple[str, ...] = (semconv.SPAN_WORKFLOW, *semconv.STAGE_SPANS)

#: ``progress(phase, done, total)``: called as workflows finish.
Progress = Callable[[str, int, int], None]


class ProfileInputError(InputError):
    """A profile that cannot be run (unknown name, empty or bad task file, bad counts)."""


def parse_task_file(text: str, source: str) -> tuple[str, ...]:
    """One task per line; blank lines and lines starting with ``#`` are skipped (pure).

    Every task is validated as the agent would (``validate_task``); a bad one is reported
    with its line number.
    """
    tasks = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            validate_task(stripped)
        except InvalidTaskError as exc:
            raise ProfileInputError(f"{source}:{number}: {exc}") from None
        tasks.append(stripped)
    if not tasks:
        raise ProfileInputError(
            f"{source} holds no task: write one task per line (lines starting with # are comments)"
        )
    return tuple(tasks)


def resolve_workload(spec: str) -> tuple[str, tuple[str, ...]]:
    """``(label, tasks)`` for a profile name or a task file path."""
    if spec in PROFILES:
        return spec, PROFILES[spec]
    path = Path(spec)
    if not path.exists():
        raise ProfileInputError(
            f"unknown profile {spec!r}: use one of {', '.join(PROFILES)}, or the path of a "
            "task file (one task per line)"
        )
    if not path.is_file():
        raise ProfileInputError(f"{spec} is not a file: give a task file, one task per line")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileInputError(f"cannot read the task file {spec}: {exc}") from None
    return f"file {path.name}", parse_task_file(text, spec)


@dataclasses.dataclass(frozen=True)
class ProfileSettings:
    label: str
    tasks: tuple[str, ...]
    runs: int
    warmup: int | None = None  # None: one pass over the tasks
    concurrency: int = 1
    rediscover: bool = False
    memory_runs: int = DEFAULT_MEMORY_RUNS
    call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S
    slowdowns: tuple[Slowdown, ...] = ()
    top: int = DEFAULT_TOP
    repeat: int = 1  # measured runs of ``runs`` workflows each (the gate's unit of evidence)

    def __post_init__(self) -> None:
        problems = [
            (not self.tasks, "the workload has no task"),
            (self.runs < 1, f"runs must be at least 1 (got {self.runs})"),
            (self.repeat < 1, f"repeat must be at least 1 (got {self.repeat})"),
            (self.warmup is not None and self.warmup < 0, "warm-up runs cannot be negative"),
            (self.concurrency < 1, f"concurrency must be at least 1 (got {self.concurrency})"),
            (self.memory_runs < 0, "memory runs cannot be negative"),
            (self.call_timeout_s <= 0, "the tool-call timeout must be positive"),
            (self.top < 1, "top must be at least 1"),
        ]
        for bad, message in problems:
            if bad:
                raise ProfileInputError(message)

    @property
    def warmup_runs(self) -> int:
        return len(self.tasks) if self.warmup is None else self.warmup


@dataclasses.dataclass(frozen=True)
class DiscoveryReport(Model):
    mode: str  # "rediscover" (every workflow lists every server) or "as needed"
    discoveries: int
    servers_listed: int
    discover: LatencySummary
    list_tools: tuple[OperationStats, ...]


@dataclasses.dataclass(frozen=True)
class ProfileReport(Model):
    profile: str
    tasks: int
    runs: int
    warmup: int
    concurrency: int
    version: str
    service: str
    fault: str  # the test-only slowdowns applied ("" when none)
    wall_s: float
    workflows: int
    failed_workflows: int
    throughput_per_s: float
    spans: int
    relative_accuracy: float
    stages: tuple[OperationStats, ...]
    operations: tuple[OperationStats, ...]
    discovery: DiscoveryReport
    cache: CacheStats
    bottlenecks: tuple[Bottleneck, ...]
    memory: MemoryReport


@dataclasses.dataclass(frozen=True)
class ProfileRun:
    """What one profiling session measured, before it is turned into a report."""

    wall_s: float
    rss_start: ProcessMemory
    rss_end: ProcessMemory
    memory_runs: int


def _force_rediscovery(discovery: ToolDiscovery) -> Callable[[], None]:
    """Make this instance's ``discover()`` list every server each time (undo returned)."""
    return patch_instance(
        discovery, "discover", functools.partial(discovery.discover, refresh=True)
    )


async def _run_many(
    agent: MetaCoordinator,
    tasks: Sequence[str],
    count: int,
    concurrency: int,
    on_done: Callable[[int], None],
    offset: int = 0,
) -> None:
    """Run ``count`` workflows, task ``(offset + i) % len(tasks)``, ``concurrency`` at a time."""
    claimed = 0
    done = 0

    async def worker() -> None:
        nonlocal claimed, done
        while claimed < count:
            index = claimed
            claimed += 1
            await agent.run(tasks[(offset + index) % len(tasks)])
            done += 1
            on_done(done)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))


async def profile_agent(
    agent: MetaCoordinator,
    settings: ProfileSettings,
    aggregator: SpanAggregator,
    progress: Progress | None = None,
    *,
    first_task: int | None = None,
) -> ProfileRun:
    """Warm up, measure ``settings.runs`` workflows, then the memory pass, on an open agent.

    The measured workflows run the tasks in turn from ``first_task`` (default: where the
    warm-up stopped), so consecutive short A/B blocks go on through the workload.

    The slowdowns and the forced rediscovery apply to this call only (undone at the end).
    """
    report = progress or (lambda phase, done, total: None)
    undo: list[Callable[[], None]] = []
    if settings.rediscover:
        undo.append(_force_rediscovery(agent.discovery))
    undo.append(install_slowdowns(agent, settings.slowdowns))
    try:
        warmup = settings.warmup_runs
        if warmup:
            aggregator.set_phase(Phase.WARMUP)
            await _run_many(
                agent,
                settings.tasks,
                warmup,
                settings.concurrency,
                lambda done: report("warm-up", done, warmup),
            )
        rss_start = process_memory()
        aggregator.set_phase(Phase.MEASURE)
        started = time.perf_counter()
        await _run_many(
            agent,
            settings.tasks,
            settings.runs,
            settings.concurrency,
            lambda done: report("profiling", done, settings.runs),
            offset=warmup if first_task is None else first_task,
        )
        wall_s = time.perf_counter() - started
        aggregator.set_phase(Phase.IDLE)
        rss_end = process_memory()
        if settings.memory_runs:
            await _memory_pass(agent, settings, aggregator, report)
        return ProfileRun(wall_s, rss_start, rss_end, settings.memory_runs)
    finally:
        aggregator.set_phase(Phase.IDLE)
        for restore in reversed(undo):
            restore()


async def _memory_pass(
    agent: MetaCoordinator, settings: ProfileSettings, aggregator: SpanAggregator, report: Progress
) -> None:
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    try:
        aggregator.set_phase(Phase.MEMORY)
        total = settings.memory_runs
        await _run_many(
            agent, settings.tasks, total, 1, lambda done: report("memory pass", done, total)
        )
    finally:
        aggregator.set_phase(Phase.IDLE)
        if started_here:
            tracemalloc.stop()


async def run_profile(
    settings: ProfileSettings,
    servers: ServersConfig,
    aggregator: SpanAggregator,
    progress: Progress | None = None,
    on_repeat: Callable[[int], None] | None = None,
) -> ProfileRun:
    """Open an agent over ``servers`` (with the analysis cache the environment asks for) and
    profile it ``settings.repeat`` times: the warm-up before the first run, the memory pass
    after the last; ``on_repeat(k)`` after run k (0-based), e.g. to take its spans. Raises
    ``CacheConfigError`` / ``ServerConfigError`` for unusable settings."""
    async with _open_agent(settings, servers) as agent:
        runs = []
        for k in range(settings.repeat):
            this = dataclasses.replace(
                settings,
                warmup=settings.warmup_runs if k == 0 else 0,
                memory_runs=settings.memory_runs if k == settings.repeat - 1 else 0,
            )
            runs.append(await profile_agent(agent, this, aggregator, progress))
            if on_repeat is not None:
                on_repeat(k)
        return ProfileRun(
            sum(r.wall_s for r in runs), runs[0].rss_start, runs[-1].rss_end, runs[-1].memory_runs
        )


@contextlib.asynccontextmanager
async def _open_agent(
    settings: ProfileSettings, servers: ServersConfig
) -> AsyncIterator[MetaCoordinator]:
    cache = cache_from_env()
    try:
        agent = MetaCoordinator.from_config(
            servers,
            analyzer=TaskAnalyzer(cache=cache),
            # Every decision is made, not answered from the memo: a workload repeats its tasks,
            # and a slower ranking or argument planner must show in decide.
            engine=DecisionEngine(memo=False),
            call_timeout_s=settings.call_timeout_s,
        )
        async with agent:
            yield agent
    finally:
        if cache is not None:
            cache.close()


async def serve_blocks(
    settings: ProfileSettings,
    servers: ServersConfig,
    aggregator: SpanAggregator,
    next_block: Callable[[], Awaitable[int | None]],
    emit: Callable[[int, list[ReadableSpan]], None],
) -> int:
    """The worker side of an A/B comparison: one agent, kept open, runs blocks on demand.

    ``next_block()`` answers the number of workflows of the next block (None: done); each
    block's measured spans go to ``emit(block, spans)``. The warm-up runs before the first
    block, unmeasured. Blocks go on through the workload's tasks where the previous block
    stopped (a block shorter than the workload is not always its first tasks), so block i of
    two workers given the same block sizes runs the same tasks. Returns the number of blocks run.
    """
    async with _open_agent(settings, servers) as agent:
        block = 0
        measured = 0
        while (runs := await next_block()) is not None:
            this = dataclasses.replace(
                settings, runs=runs, warmup=settings.warmup_runs if block == 0 else 0
            )
            await profile_agent(agent, this, aggregator, first_task=settings.warmup_runs + measured)
            emit(block, aggregator.take_kept())
            block += 1
            measured += runs
        return block


def _ordered_names(names: Sequence[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(STAGE_ORDER)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def build_report(
    settings: ProfileSettings,
    aggregator: SpanAggregator,
    run: ProfileRun,
    *,
    version: str,
    service: str,
) -> ProfileReport:
    """The report of a finished profile (pure over the aggregator's state)."""
    acc = aggregator.accumulator
    stats = acc.operation_stats()
    names = _ordered_names(list(stats))
    stages = tuple(stats[n] for n in STAGE_ORDER if n in stats)
    discover = stats.get(semconv.SPAN_DISCOVER)
    discovery = DiscoveryReport(
        mode="rediscover" if settings.rediscover else "as needed",
        discoveries=acc.discoveries,
        servers_listed=acc.servers_listed,
        discover=discover.latency
        if discover is not None
        else LatencySummary(0, None, None, None, None, None, None, 0.0),
        list_tools=tuple(
            stats[n] for n in names if n.startswith(semconv.SPAN_LIST_TOOLS_PREFIX + " ")
        ),
    )
    peaks = aggregator.memory.peaks
    memory = MemoryReport(
        runs=run.memory_runs,
        spans=span_memory(peaks, _ordered_names(list(peaks))) if run.memory_runs else (),
        rss_start_bytes=run.rss_start.rss_bytes,
        rss_end_bytes=run.rss_end.rss_bytes,
        rss_peak_bytes=run.rss_end.peak_rss_bytes,
    )
    return ProfileReport(
        profile=settings.label,
        tasks=len(settings.tasks),
        runs=settings.runs,
        warmup=settings.warmup_runs,
        concurrency=settings.concurrency,
        version=version,
        service=service,
        fault=",".join(str(s) for s in settings.slowdowns),
        wall_s=run.wall_s,
        workflows=acc.workflows,
        failed_workflows=acc.failed_workflows,
        throughput_per_s=acc.workflows / run.wall_s if run.wall_s > 0 else 0.0,
        spans=acc.spans,
        relative_accuracy=acc.relative_accuracy,
        stages=stages,
        operations=tuple(stats[n] for n in names),
        discovery=discovery,
        cache=acc.cache_stats(),
        bottlenecks=bottlenecks(
            list(stats.values()), acc.workflow_total_ms, acc.workflows, settings.top
        ),
        memory=memory,
    )
