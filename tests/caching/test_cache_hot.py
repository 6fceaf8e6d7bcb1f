"""Hits served in process: a repeated hit reads no row, and any write to the database (this
cache object's, another object's on the same directory, another thread's) ends that."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mcp_agent_otel.autonomous.models import TaskAnalysis
from mcp_agent_otel.autonomous.task_analyzer import analyze_task
from mcp_agent_otel.caching.cache_manager import AnalysisCache
from mcp_agent_otel.caching.cache_store import Store
from tests.caching.conftest import CacheFactory

TASK = "Count the words in 'to be or not to be'"
ENV = "env-a"


class Computed:
    def __init__(self) -> None:
        self.tasks: list[str] = []

    def __call__(self, task: str) -> TaskAnalysis:
        self.tasks.append(task)
        return analyze_task(task)


def rows_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every row the store reads (it still reads it)."""
    read: list[str] = []
    original = Store.row

    def row(self: Store, key: str) -> Any:
        read.append(key)
        return original(self, key)

    monkeypatch.setattr(Store, "row", row)
    return read


def warmed(cache: AnalysisCache) -> TaskAnalysis:
    cache.fetch(TASK, ENV, analyze_task)  # miss: computed and stored
    return cache.fetch(TASK, ENV, analyze_task)  # hit from disk: remembered


def test_a_repeated_hit_reads_no_row_and_records_the_same_attributes(
    make_cache: CacheFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = make_cache(touch_interval_s=3600)
    first = warmed(cache)
    read = rows_read(monkeypatch)
    compute = Computed()
    for _ in range(5):
        assert cache.fetch(TASK, ENV, compute) is first
    assert read == []
    assert compute.tasks == []
    assert cache.metrics.snapshot()["hits"] == 6


def test_a_write_by_another_cache_object_is_seen(
    make_cache: CacheFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, other = make_cache(touch_interval_s=3600), make_cache(touch_interval_s=3600)
    warmed(mine)
    assert other.invalidate_all() == 1  # another connection (another process, say) commits
    read = rows_read(monkeypatch)
    compute = Computed()
    mine.fetch(TASK, ENV, compute)
    assert compute.tasks == [TASK]  # not served from memory: the generation moved on
    assert read  # the database was read again


def test_a_write_by_another_thread_is_seen(make_cache: CacheFactory) -> None:
    cache = make_cache(touch_interval_s=3600)
    warmed(cache)
    worker = threading.Thread(target=lambda: cache.invalidate(TASK, ENV))
    worker.start()
    worker.join()
    compute = Computed()
    cache.fetch(TASK, ENV, compute)
    assert compute.tasks == [TASK]


def test_a_dropped_entry_is_not_served_from_memory(make_cache: CacheFactory) -> None:
    cache = make_cache(touch_interval_s=3600)
    warmed(cache)
    cache.report_outcome(TASK, ENV, decision_confidence=0.9, ok=False)  # tombstone
    compute = Computed()
    cache.fetch(TASK, ENV, compute)
    assert compute.tasks == [TASK]


def test_an_environment_change_ends_memory_hits(make_cache: CacheFactory) -> None:
    cache = make_cache(touch_interval_s=3600)
    warmed(cache)
    cache.on_environment_change(ENV, "env-b")
    compute = Computed()
    cache.fetch(TASK, ENV, compute)
    assert compute.tasks == [TASK]


def test_the_access_is_still_recorded_once_per_interval(
    make_cache: CacheFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Served from memory only until the next access is due: then the row is read and
    touched again, so the LRU order stays what the throttled touch makes it."""
    wall = [1_000_000.0]
    monkeypatch.setattr("mcp_agent_otel.caching.cache_manager.time.time", lambda: wall[0])
    cache = make_cache(touch_interval_s=60.0)
    warmed(cache)
    touched: list[str] = []
    original = Store.touch

    def touch(self: Store, key: str, now: float) -> None:
        touched.append(key)
        original(self, key, now)

    monkeypatch.setattr(Store, "touch", touch)
    wall[0] += 30
    cache.fetch(TASK, ENV, analyze_task)
    assert touched == []
    wall[0] += 31
    cache.fetch(TASK, ENV, analyze_task)
    assert len(touched) == 1


def test_a_write_that_lands_while_a_hit_is_read_is_not_hidden(
    make_cache: CacheFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another connection commits between the read of the row and the moment the hit would be
    remembered: that hit is served (it was read first) but not remembered, so the next lookup
    sees the commit."""
    mine, other = make_cache(touch_interval_s=3600), make_cache(touch_interval_s=3600)
    mine.fetch(TASK, ENV, analyze_task)  # stored
    original = Store.row
    committed: list[int] = []

    def row(self: Store, key: str) -> Any:
        found = original(self, key)
        if self is mine._health.store and not committed:
            committed.append(other.invalidate_all())
        return found

    monkeypatch.setattr(Store, "row", row)
    mine.fetch(TASK, ENV, analyze_task)  # the first hit from disk, while the other commits
    assert committed == [1]
    compute = Computed()
    mine.fetch(TASK, ENV, compute)
    assert compute.tasks == [TASK]
