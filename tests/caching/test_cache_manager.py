"""The analysis cache end to end over a real diskcache directory and real SDK spans.

Spans come from the real ``TaskAnalyzer`` (it opens ``task_analyzer.analyze`` and calls
``fetch`` inside it); analyses from the real ``analyze_task``.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.autonomous.errors import InvalidTaskError
from mcp_agent_otel.autonomous.models import TaskAnalysis
from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer, analyze_task
from mcp_agent_otel.caching.cache_manager import AnalysisCache, CacheUnavailableError
from mcp_agent_otel.caching.invalidation_strategies import InvalidationReason
from mcp_agent_otel.tracing import semconv
from tests.caching.conftest import CacheFactory

TASK = "Search the documents for OpenTelemetry and then summarize it"
ENV = "env-a"


def analyze_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    found = [s for s in exporter.get_finished_spans() if s.name == semconv.SPAN_ANALYZE]
    assert found, "no task_analyzer.analyze span"
    return found[-1]


def cache_attrs(span: ReadableSpan) -> dict[str, object]:
    return {k: v for k, v in (span.attributes or {}).items() if k.startswith("mcp_agent.cache.")}


def invalidation_events(span: ReadableSpan) -> list[tuple[object, object]]:
    return [
        (
            e.attributes[semconv.CACHE_INVALIDATION_REASON],
            e.attributes[semconv.CACHE_INVALIDATION_ENTRIES],
        )
        for e in span.events
        if e.name == semconv.EVENT_CACHE_INVALIDATED and e.attributes
    ]


def test_miss_then_hit_records_attributes_on_the_analyze_span(
    make_cache: CacheFactory, spans: InMemorySpanExporter
) -> None:
    analyzer = TaskAnalyzer(cache=make_cache())
    first = analyzer.analyze(TASK, ENV)
    miss = cache_attrs(analyze_span(spans))
    assert miss[semconv.CACHE_HIT] is False
    assert miss[semconv.CACHE_RESULT] == "miss"
    assert miss[semconv.CACHE_LEVEL] == 1
    assert str(miss[semconv.CACHE_KEY]).startswith("L1:")
    assert semconv.CACHE_AGE_S not in miss
    spans.clear()

    second = analyzer.analyze(TASK, ENV)
    hit_span = analyze_span(spans)
    hit = cache_attrs(hit_span)
    assert second == first == analyze_task(TASK)
    assert hit[semconv.CACHE_HIT] is True
    assert hit[semconv.CACHE_RESULT] == "hit"
    assert hit[semconv.CACHE_KEY] == miss[semconv.CACHE_KEY]
    assert 0 <= float(hit[semconv.CACHE_AGE_S]) < 60  # type: ignore[arg-type]
    # The key is a short hash, never the task text; no extra span per lookup.
    assert "OpenTelemetry" not in str(hit[semconv.CACHE_KEY])
    assert len(str(hit[semconv.CACHE_KEY])) == len("L1:") + 16
    assert [s.name for s in spans.get_finished_spans()] == [semconv.SPAN_ANALYZE]
    assert hit_span.attributes
    assert hit_span.attributes[semconv.TASK_TYPE] == first.task_type.value


def test_directory_is_private_and_values_are_json(
    make_cache: CacheFactory, cache_dir: Path
) -> None:
    cache = make_cache()
    cache.fetch(TASK, ENV, analyze_task)
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    import sqlite3

    con = sqlite3.connect(cache_dir / "cache.db")
    modes = {row[0] for row in con.execute("SELECT mode FROM Cache")}
    con.close()
    assert modes == {1}  # MODE_RAW: JSON bytes inline, never MODE_PICKLE (4)


def test_existing_directory_is_tightened_to_0700(make_cache: CacheFactory, cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o755)
    cache_dir.chmod(0o755)
    make_cache().fetch(TASK, ENV, analyze_task)
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700


def test_environment_fingerprint_is_part_of_the_key(make_cache: CacheFactory) -> None:
    cache = make_cache()
    calls: list[str] = []

    def compute(task: str) -> TaskAnalysis:
        calls.append(task)
        return analyze_task(task)

    cache.fetch(TASK, "env-a", compute)
    cache.fetch(TASK, "env-b", compute)
    cache.fetch(TASK, "env-a", compute)
    assert len(calls) == 2


def test_unknown_environment_and_oversized_tasks_bypass(
    make_cache: CacheFactory, spans: InMemorySpanExporter
) -> None:
    analyzer = TaskAnalyzer(cache=make_cache())
    analyzer.analyze(TASK, "")
    assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] == "bypass"
    long_task = "count the words in this text: " + "word " * 3300
    analyzer.analyze(long_task, ENV)
    assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] == "bypass"
    assert analyzer.cache is not None
    assert isinstance(analyzer.cache, AnalysisCache)
    assert analyzer.cache.stats()["entries"] == 0


def test_bad_input_errors_pass_through_and_nothing_is_stored(make_cache: CacheFactory) -> None:
    cache = make_cache()
    with pytest.raises(InvalidTaskError, match="empty"):
        cache.fetch("   \n\t ", ENV, analyze_task)
    with pytest.raises(InvalidTaskError, match="empty"):
        TaskAnalyzer(cache=cache).analyze("  ", ENV)
    cache.fetch(TASK, ENV, analyze_task)
    assert cache.stats()["entries"] == 1


def test_ttl_expiry_reports_expired_and_recomputes(
    make_cache: CacheFactory, spans: InMemorySpanExporter
) -> None:
    now = [1_000_000.0]
    cache = make_cache(ttl_s=10.0, clock=lambda: now[0])
    analyzer = TaskAnalyzer(cache=cache)
    analyzer.analyze(TASK, ENV)
    now[0] += 9.0
    analyzer.analyze(TASK, ENV)
    assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] == "hit"
    now[0] += 1.5
    spans.clear()
    analyzer.analyze(TASK, ENV)
    span = analyze_span(spans)
    assert cache_attrs(span)[semconv.CACHE_RESULT] == "expired"
    assert invalidation_events(span) == [("ttl_expired", 1)]
    analyzer.analyze(TASK, ENV)  # recomputed and stored afresh
    assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] == "hit"


def test_entry_bound_evicts_least_recently_used(make_cache: CacheFactory) -> None:
    cache = make_cache(max_entries=5, touch_interval_s=0.0)
    tasks = [f"count the words in 'text number {i}'" for i in range(5)]
    for task in tasks:
        cache.fetch(task, ENV, analyze_task)
    cache.fetch(tasks[0], ENV, analyze_task)  # read the oldest entry
    cache.fetch("count the words in 'one more'", ENV, analyze_task)  # past the bound
    assert cache.stats()["entries"] == 5
    computed: list[str] = []

    def compute(task: str) -> TaskAnalysis:
        computed.append(task)
        return analyze_task(task)

    cache.fetch(tasks[0], ENV, compute)  # survived: it was read recently
    assert computed == []
    cache.fetch(tasks[1], ENV, compute)  # the least recently used one went
    assert computed == [tasks[1]]
    assert cache.metrics.snapshot()["evictions"] >= 2


def test_throttled_touch_keeps_recently_read_entries(make_cache: CacheFactory) -> None:
    """The LRU approximation: with a long touch interval, entries read once after being stored
    (and entries read again after the interval) still survive inserts past the bound; unread
    entries go first."""
    now = [2_000_000.0]
    cache = make_cache(max_entries=10, touch_interval_s=60.0, clock=lambda: now[0])
    tasks = [f"count the words in 'text number {i}'" for i in range(10)]
    for task in tasks:
        cache.fetch(task, ENV, analyze_task)
    read = tasks[:4]
    for _ in range(3):  # repeated reads within the interval: only the first one writes
        for task in read:
            cache.fetch(task, ENV, analyze_task)
    for i in range(4):
        cache.fetch(f"count the words in 'new text {i}'", ENV, analyze_task)
    store = cache._health.store
    assert store is not None
    computed: list[str] = []

    def compute(task: str) -> TaskAnalysis:
        computed.append(task)
        return analyze_task(task)

    for task in read:
        cache.fetch(task, ENV, compute)
    assert computed == []
    assert cache.stats()["entries"] == 10


def test_confidence_and_failure_outcomes_drop_the_entry(
    make_cache: CacheFactory, spans: InMemorySpanExporter
) -> None:
    cache = make_cache(min_confidence=0.5)
    analyzer = TaskAnalyzer(cache=cache)
    analyzer.analyze(TASK, ENV)
    cache.report_outcome(TASK, ENV, 0.9, True)  # fine: kept
    analyzer.analyze(TASK, ENV)
    assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] == "hit"

    cache.report_outcome(TASK, ENV, 0.2, True)  # low confidence: dropped
    spans.clear()
    analyzer.analyze(TASK, ENV)
    span = analyze_span(spans)
    assert cache_attrs(span)[semconv.CACHE_RESULT] == "invalidated"
    assert invalidation_events(span) == [("low_confidence", 1)]

    analyzer.analyze(TASK, ENV)
    cache.report_outcome(TASK, ENV, 0.95, False)  # the plan failed: dropped
    spans.clear()
    analyzer.analyze(TASK, ENV)
    span = analyze_span(spans)
    assert cache_attrs(span)[semconv.CACHE_RESULT] == "invalidated"
    assert invalidation_events(span) == [("execution_failed", 1)]
    assert cache.metrics.snapshot()["invalidations"] >= 2


def test_environment_change_invalidates_with_its_reason(
    make_cache: CacheFactory, spans: InMemorySpanExporter
) -> None:
    cache = make_cache()
    analyzer = TaskAnalyzer(cache=cache)
    analyzer.analyze(TASK, "env-a")
    analyzer.analyze("count the words in 'abc def'", "env-a")
    spans.clear()
    cache.on_environment_change("env-a", "env-b")
    spans.clear()
    analyzer.analyze(TASK, "env-b")
    span = analyze_span(spans)
    assert cache_attrs(span)[semconv.CACHE_RESULT] == "invalidated"
    assert invalidation_events(span) == [("environment_changed", 1)]
    # A caller still passing the old fingerprint is not served the old entry either.
    spans.clear()
    analyzer.analyze("count the words in 'abc def'", "env-a")
    assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] != "hit"
    analyzer.analyze(TASK, "env-b")
    assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] == "hit"
    assert cache.stats()["generation"] == 1


def test_analysis_started_before_an_environment_change_is_not_stored(
    make_cache: CacheFactory, spans: InMemorySpanExporter
) -> None:
    """The race: the environment changes while an analysis is being computed."""
    cache = make_cache()

    def compute_during_change(task: str) -> TaskAnalysis:
        analysis = analyze_task(task)
        cache.on_environment_change("env-a", "env-b")  # tools/list_changed arrives mid-way
        return analysis

    analyzer = TaskAnalyzer(cache=cache)
    result = cache.fetch(TASK, "env-a", compute_during_change)
    assert result == analyze_task(TASK)
    assert cache.stats()["entries"] == 0  # not stored
    for env in ("env-a", "env-b"):
        spans.clear()
        analyzer.analyze(TASK, env)
        assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] != "hit"


def test_race_with_a_second_cache_object_in_the_same_directory(make_cache: CacheFactory) -> None:
    """Another process (here: another cache object on the same directory) bumps the generation
    while this one computes: the late result is not stored, so it can never be served."""
    mine, other = make_cache(), make_cache()

    def compute(task: str) -> TaskAnalysis:
        other.on_environment_change("env-a", "env-b")
        return analyze_task(task)

    mine.fetch(TASK, "env-a", compute)
    assert mine.stats()["entries"] == 0


def test_version_bump_invalidates(
    make_cache: CacheFactory, cache_dir: Path, spans: InMemorySpanExporter
) -> None:
    old = make_cache(analyzer_version="1")
    old.fetch(TASK, ENV, analyze_task)
    old.close()
    new = make_cache(analyzer_version="2")
    spans.clear()
    TaskAnalyzer(cache=new).analyze(TASK, ENV)
    span = analyze_span(spans)
    assert cache_attrs(span)[semconv.CACHE_RESULT] == "invalidated"
    reasons = [r for r, _ in invalidation_events(span)]
    assert reasons.count("version_changed") == 2  # the bump itself, and this entry
    assert new.stats()["version"].endswith("/2")


def test_manual_invalidate_and_clear(make_cache: CacheFactory) -> None:
    cache = make_cache()
    cache.fetch(TASK, ENV, analyze_task)
    assert cache.invalidate(TASK, ENV) is True
    assert cache.invalidate(TASK, ENV) is False  # already a tombstone
    assert cache.invalidate("never seen", ENV) is False
    cache.fetch(TASK, ENV, analyze_task)
    cache.fetch("count the words in 'x y'", ENV, analyze_task)
    assert cache.invalidate_all() == 2
    cache.fetch(TASK, ENV, analyze_task)
    # The fresh TASK entry replaced its superseded predecessor; the other one is still there.
    assert cache.clear() == 2
    assert cache.stats()["entries"] == 0
    assert cache.stats()["last_invalidation"]["reason"] == InvalidationReason.MANUAL.value


def test_warm_writes_all_entries_in_one_transaction(make_cache: CacheFactory) -> None:
    cache = make_cache(max_entries=3)
    tasks = [TASK, "  ", TASK, "count the words in 'a b'", "convert 5 km to miles", "add 2 and 3"]
    report = cache.warm(tasks, ENV, analyze_task)
    assert report.stored == 3
    reasons = dict(report.skipped)
    assert "empty" in reasons[1]
    assert "same task" in reasons[2]
    assert "entry bound" in reasons[5]
    calls: list[str] = []
    for task in (TASK, "count the words in 'a b'", "convert 5 km to miles"):
        cache.fetch(task, ENV, lambda t: calls.append(t) or analyze_task(t))  # type: ignore[func-returns-value]
    assert calls == []
    with pytest.raises(ValueError, match="fingerprint"):
        cache.warm(tasks, "", analyze_task)


def test_counters_go_through_the_otel_metrics_api(make_cache: CacheFactory) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    cache = make_cache(max_entries=1, meter_provider=provider)
    cache.fetch(TASK, ENV, analyze_task)
    cache.fetch(TASK, ENV, analyze_task)
    cache.fetch("count the words in 'a b'", ENV, analyze_task)
    cache.invalidate_all()
    data = reader.get_metrics_data()
    assert data is not None
    sums: dict[str, int] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                sums[metric.name] = sum(p.value for p in metric.data.data_points)  # type: ignore[union-attr]
    assert sums[semconv.METRIC_CACHE_HITS] == 1
    assert sums[semconv.METRIC_CACHE_MISSES] == 2
    assert sums[semconv.METRIC_CACHE_EVICTIONS] == 1
    assert sums[semconv.METRIC_CACHE_INVALIDATIONS] == 1
    provider.shutdown()


def test_counters_are_a_no_op_without_an_sdk(make_cache: CacheFactory) -> None:
    cache = make_cache()  # the global meter provider is the API's no-op one in the tests
    cache.fetch(TASK, ENV, analyze_task)
    cache.fetch(TASK, ENV, analyze_task)
    assert cache.metrics.snapshot()["hits"] == 1


def test_manual_operations_on_an_unusable_directory_say_why(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    from mcp_agent_otel.caching.cache_manager import CacheSettings

    cache = AnalysisCache(CacheSettings(directory=blocker / "cache", retry_after_s=0))
    with pytest.raises(CacheUnavailableError, match="nothing was changed"):
        cache.clear()
    # The agent path still answers.
    assert cache.fetch(TASK, ENV, analyze_task) == analyze_task(TASK)


def test_repeated_hits_do_not_write(make_cache: CacheFactory) -> None:
    """The throttled touch: after the first read records the access, hits within the interval
    write nothing (diskcache's own LRU policy would write on every one)."""
    cache = make_cache(touch_interval_s=3600)
    cache.fetch(TASK, ENV, analyze_task)
    cache.fetch(TASK, ENV, analyze_task)  # first read: touches
    store = cache._health.store
    assert store is not None
    con_changes = store.cache._con.total_changes
    for _ in range(20):
        cache.fetch(TASK, ENV, analyze_task)
    assert store.cache._con.total_changes == con_changes
