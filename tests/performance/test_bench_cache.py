"""Benchmark: the TaskAnalyzer cache (issue 4). Figures are reported, never asserted on time.

- hit latency: ``fetch`` of a cached task inside a real (recording) SDK span, so it includes
  normalisation, key derivation, the SQLite lookup and recording the ``mcp_agent.cache.*``
  attributes; targets p50 <= 50 µs, p99 <= 300 µs. Beside it, in the same run: the same hits
  with *true* LRU (the access time written on every hit: ``touch_interval_s=0``), diskcache's
  own ``get`` with and without its LRU policy, and ``analyze_task`` itself (the baseline).
- miss overhead: ``fetch`` of a new task minus ``analyze_task`` of the same task, paired per
  task; target p50 <= 200 µs.
- hit rate on a replay: a seeded pool of distinct tasks (templates × values, the demo
  workload's kinds of task), requested with Zipf(1.1) popularity, one request every 50 ms on a
  simulated clock so the 300 s TTL matters; the cache starts cold; target > 70 %.
- disk size at 1000 entries (database + WAL after a checkpoint).
- end to end: the demo workload over the real demo MCP servers, cache off vs on (rounds
  interleaved on the same open sessions); the speed-up is the ratio of median workflow times.
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import diskcache
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from mcp_agent_otel.autonomous.models import TaskAnalysis
from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer, analyze_task
from mcp_agent_otel.caching.cache_manager import AnalysisCache, CacheSettings, directory_bytes
from mcp_agent_otel.tracing import semconv
from tests.conftest import BenchRecorder

pytestmark = pytest.mark.bench
ENV = "bench-env"

_TOPICS = (
    "OpenTelemetry|context propagation|MCP tool discovery|span links|tail sampling|"
    "baggage|W3C trace context|metrics exemplars|log correlation|histograms"
)
_SENTENCES = [
    "the quick brown fox jumps over the lazy dog",
    "tracing makes agents observable",
    "latency is a distribution not a number",
    "caches trade memory for time",
    "every span has a parent except the root",
]
_TEMPLATES = [
    "Search the knowledge base for {topic}",
    "Define the term {topic}",
    "Convert {n} kilometers to miles",
    "Calculate {a} * ({b} + {n}) / 2",
    'Count the words in "{sentence} {n}"',
    'Summarize the text "{sentence}. It matters for {topic}."',
    "Compute statistics for the numbers {a}, {b}, {n} and {c}",
    'Write the text "{sentence}" to the file note-{n}.txt, then read the file note-{n}.txt',
    "Search for {topic} and calculate {a} ** 2",
    "Sort the numbers {a}, {b}, {c}, {n} in descending order",
]


def task_pool(size: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    topics = _TOPICS.split("|")
    pool: dict[str, None] = {}
    while len(pool) < size:
        template = rng.choice(_TEMPLATES)
        pool.setdefault(
            template.format(
                topic=rng.choice(topics),
                sentence=rng.choice(_SENTENCES),
                n=rng.randint(1, 400),
                a=rng.randint(1, 99),
                b=rng.randint(1, 99),
                c=rng.randint(1, 99),
            )
        )
    return list(pool)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(
    fn: Callable[[], object], n: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    out = []
    for _ in range(n):
        start = clock()
        fn()
        out.append(clock() - start)
    return out


def make_cache(directory: Path, **settings: object) -> AnalysisCache:
    return AnalysisCache(CacheSettings(directory=directory, **settings))  # type: ignore[arg-type]


def test_hit_latency_and_true_lru_cost(tmp_path: Path, bench: BenchRecorder) -> None:
    n = bench.n(2_000, 20_000)
    tasks = task_pool(200)
    tracer = TracerProvider().get_tracer("bench")  # a real, recording SDK span; no export
    throttled = make_cache(tmp_path / "throttled")
    true_lru = make_cache(tmp_path / "true-lru", touch_interval_s=0.0)
    for cache in (throttled, true_lru):
        for _ in range(2):  # store, then the first read (which records the access once)
            for task in tasks:
                cache.fetch(task, ENV, analyze_task)
    span = tracer.start_span(semconv.SPAN_ANALYZE)
    results: dict[str, list[float]] = {}
    with trace.use_span(span, end_on_exit=True):
        gc.collect()
        gc.freeze()  # long-lived objects out of the collector's way, as a service would do
        for name, cache in (("throttled", throttled), ("true_lru", true_lru)):
            i = iter(range(10**9))
            results[name] = timed(
                lambda c=cache, i=i: c.fetch(tasks[next(i) % len(tasks)], ENV, analyze_task), n
            )
        i = iter(range(10**9))
        results["analyze"] = timed(lambda: analyze_task(tasks[next(i) % len(tasks)]), n)
        # The same hits timed in this thread's CPU time: what is left once the scheduler's
        # preemptions (this machine's 2 cores are shared) are taken out.
        i = iter(range(10**9))
        results["throttled_cpu"] = timed(
            lambda: throttled.fetch(tasks[next(i) % len(tasks)], ENV, analyze_task),
            n,
            time.thread_time,
        )
    gc.unfreeze()
    assert span.attributes is not None
    assert span.attributes[semconv.CACHE_RESULT] == "hit"  # what was measured were hits
    assert throttled.metrics.snapshot()["hits"] >= n

    # diskcache's own get, with and without its LRU policy (a write per hit), same values.
    raw: dict[str, list[float]] = {}
    for policy in ("none", "least-recently-used"):
        dc = diskcache.Cache(str(tmp_path / f"dc-{policy}"), eviction_policy=policy)
        for k in range(200):
            dc.set(f"k{k}", analyze_task(tasks[k]).to_json())
        i = iter(range(10**9))
        raw[policy] = timed(lambda dc=dc, i=i: dc.get(f"k{next(i) % 200}"), n)
        dc.close()

    p50, p99 = (
        percentile(results["throttled"], 0.5) * 1e6,
        percentile(results["throttled"], 0.99) * 1e6,
    )
    lru50 = percentile(results["true_lru"], 0.5) * 1e6
    lru99 = percentile(results["true_lru"], 0.99) * 1e6
    base50 = percentile(results["analyze"], 0.5) * 1e6
    bench.record("hit p50", p50, "µs", target="<= 50", met=p50 <= 50)
    bench.record("hit p99", p99, "µs", target="<= 300", met=p99 <= 300)
    cpu99 = percentile(results["throttled_cpu"], 0.99) * 1e6
    bench.record(
        "hit p99 in thread CPU time (no preemption)", cpu99, "µs", target="<= 300", met=cpu99 <= 300
    )
    bench.record("true-LRU hit p50 (touch every hit)", lru50, "µs")
    bench.record("true-LRU hit p99 (touch every hit)", lru99, "µs")
    bench.record("true-LRU / throttled hit p50", lru50 / p50, "x")
    dc_none = percentile(raw["none"], 0.5) * 1e6
    dc_lru = percentile(raw["least-recently-used"], 0.5) * 1e6
    bench.record("diskcache get p50, policy none", dc_none, "µs")
    bench.record("diskcache get p50, policy least-recently-used", dc_lru, "µs")
    bench.record("analyze_task p50 (baseline)", base50, "µs")
    bench.record(
        "analyze_task p99 (baseline; scheduler noise shows here too)",
        percentile(results["analyze"], 0.99) * 1e6,
        "µs",
    )
    bench.record("diskcache get p99, policy none", percentile(raw["none"], 0.99) * 1e6, "µs")
    bench.record("analysis speed-up on a hit (analyze p50 / hit p50)", base50 / p50, "x")
    print(
        f"\nhit p50 {p50:.1f} µs p99 {p99:.1f} µs; true LRU p50 {lru50:.1f} µs p99 {lru99:.1f} µs;"
        f" diskcache get none {dc_none:.1f} µs / LRU {dc_lru:.1f} µs; analyze {base50:.1f} µs"
    )
    throttled.close()
    true_lru.close()


def test_miss_overhead(tmp_path: Path, bench: BenchRecorder) -> None:
    n = bench.n(500, 3_000)
    tasks = task_pool(n, seed=11)
    cache = make_cache(tmp_path / "cache", max_entries=max(1000, n))
    cache.fetch("warm up the connection", ENV, analyze_task)
    tracer = TracerProvider().get_tracer("bench")
    overheads: list[float] = []
    with tracer.start_as_current_span(semconv.SPAN_ANALYZE) as span:
        for task in tasks:
            start = time.perf_counter()
            analyze_task(task)
            base = time.perf_counter() - start
            start = time.perf_counter()
            cache.fetch(task, ENV, analyze_task)  # a miss: analyse and store
            overheads.append(time.perf_counter() - start - base)
        assert span.attributes is not None  # type: ignore[attr-defined]
        assert span.attributes[semconv.CACHE_RESULT] == "miss"  # type: ignore[attr-defined]
    assert cache.metrics.snapshot()["misses"] == n + 1
    p50 = statistics.median(overheads) * 1e6
    bench.record("miss overhead p50", p50, "µs", target="<= 200", met=p50 <= 200)
    bench.record("miss overhead p95", percentile(overheads, 0.95) * 1e6, "µs")
    print(f"\nmiss overhead p50 {p50:.1f} µs")
    cache.close()


def test_hit_rate_on_a_zipf_replay(tmp_path: Path, bench: BenchRecorder) -> None:
    requests = bench.n(3_000, 20_000)
    pool = task_pool(600, seed=3)
    rng = random.Random(42)
    order = pool[:]
    rng.shuffle(order)  # popularity rank independent of the generation order
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(order))]
    replay = rng.choices(order, weights=weights, k=requests)
    now = [1_000_000.0]
    cache = AnalysisCache(
        CacheSettings(directory=tmp_path / "cache", max_entries=1000, ttl_s=300.0),
        clock=lambda: now[0],
    )
    computed = 0

    def compute(task: str) -> TaskAnalysis:
        nonlocal computed
        computed += 1
        return analyze_task(task)

    for task in replay:
        assert cache.fetch(task, ENV, compute) == analyze_task(task)  # hits equal fresh analyses
        now[0] += 0.05  # 20 requests per second
    hits = cache.metrics.snapshot().get("hits", 0)
    assert hits + computed == requests
    rate = hits / requests
    ideal = 1 - len(set(replay)) / requests
    bench.record(
        "hit rate (Zipf 1.1, 600 tasks, TTL 300 s)", rate * 100, "%", target="> 70", met=rate > 0.70
    )
    bench.record("ideal hit rate (unbounded, no TTL)", ideal * 100, "%")
    print(f"\nhit rate {rate:.1%} (ideal {ideal:.1%}) over {requests} requests")
    cache.close()


def test_disk_size_at_1000_entries(tmp_path: Path, bench: BenchRecorder) -> None:
    directory = tmp_path / "cache"
    cache = make_cache(directory, max_entries=1000)
    report = cache.warm(task_pool(1000, seed=5), ENV, analyze_task)
    assert report.stored == 1000
    assert cache.stats()["entries"] == 1000
    store = cache._health.store
    assert store is not None
    store.cache._sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    size = directory_bytes(directory)
    bench.record("disk size at 1000 entries", size / 1024, "KiB")
    print(f"\ndisk size at 1000 entries: {size / 1024:.0f} KiB")
    cache.close()


def test_end_to_end_speed_up_on_the_demo_workload(tmp_path: Path, bench: BenchRecorder) -> None:
    meta = pytest.importorskip("mcp_agent_otel.autonomous.meta_coordinator")
    from mcp_agent_otel.autonomous.servers import demo_servers_config
    from mcp_agent_otel.autonomous.workload import DEMO_TASKS

    rounds = bench.n(2, 10)
    cache = make_cache(tmp_path / "cache")
    analyzers = {"off": TaskAnalyzer(cache=None), "on": TaskAnalyzer(cache=cache)}
    durations: dict[str, list[float]] = {"off": [], "on": []}
    analyze_ms: dict[str, list[float]] = {"off": [], "on": []}

    async def workload() -> None:
        async with meta.MetaCoordinator.from_config(demo_servers_config()) as agent:
            await agent.discovery.discover()  # so the first analysis knows the environment
            for task in DEMO_TASKS:  # warm both paths once (imports, first cache fill)
                for analyzer in analyzers.values():
                    agent.analyzer = analyzer
                    await agent.run(task)
            for _ in range(rounds):
                for mode in ("off", "on"):
                    agent.analyzer = analyzers[mode]
                    for task in DEMO_TASKS:
                        start = time.perf_counter()
                        await agent.run(task)
                        durations[mode].append(time.perf_counter() - start)
                        start = time.perf_counter()
                        agent.analyzer.analyze(task, agent.discovery.fingerprint)
                        analyze_ms[mode].append(time.perf_counter() - start)

    asyncio.run(workload())
    off, on = statistics.median(durations["off"]), statistics.median(durations["on"])
    a_off, a_on = statistics.median(analyze_ms["off"]), statistics.median(analyze_ms["on"])
    assert cache.metrics.snapshot().get("hits", 0) > 0
    bench.record("demo workflow p50, cache off", off * 1000, "ms")
    bench.record("demo workflow p50, cache on", on * 1000, "ms")
    bench.record("end-to-end speed-up (off / on)", off / on, "x")
    bench.record("analyze stage speed-up (off / on)", a_off / a_on, "x")
    print(
        f"\nworkflow p50 off {off * 1000:.2f} ms, on {on * 1000:.2f} ms: {off / on:.3f}x;"
        f" analyze stage {a_off * 1e6:.0f} µs -> {a_on * 1e6:.0f} µs"
    )
    cache.close()
