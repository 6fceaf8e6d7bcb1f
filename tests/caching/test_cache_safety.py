"""A tampered cache cannot run code (pickled rows are refused, CVE-2025-69872) nor read or
delete files outside the cache directory (rows naming such files are corrupt).

diskcache's default ``Disk`` unpickles any row whose mode says "pickle". These tests plant
such rows, with a payload that would create a marker file when unpickled, into a real cache
database, and check the payload never runs and the lookup is answered as a miss.
"""

from __future__ import annotations

import logging
import os
import pickle
import sqlite3
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer, analyze_task
from mcp_agent_otel.caching.cache_keys import META_KEY
from mcp_agent_otel.caching.cache_manager import JsonOnlyDisk, UnsafeRowError
from mcp_agent_otel.caching.invalidation_strategies import BadEntryError
from mcp_agent_otel.tracing import semconv
from tests.caching.conftest import CacheFactory
from tests.caching.test_cache_manager import analyze_span, cache_attrs

TASK = "Search the documents for OpenTelemetry and then summarize it"
ENV = "env-a"
MODE_PICKLE = 4


class _Payload:
    """Unpickling this creates a directory: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def plant_pickle(db: Path, key_like: str, marker: Path) -> int:
    payload = pickle.dumps(_Payload(marker))
    con = sqlite3.connect(db)
    with con:
        n = con.execute(
            "UPDATE Cache SET mode = ?, value = ? WHERE key LIKE ?",
            (MODE_PICKLE, sqlite3.Binary(payload), key_like),
        ).rowcount
    con.close()
    return n


def test_payload_really_would_run_if_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


def test_planted_pickle_entry_is_refused_and_treated_as_a_miss(
    make_cache: CacheFactory,
    cache_dir: Path,
    tmp_path: Path,
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = make_cache()
    analyzer = TaskAnalyzer(cache=cache)
    analyzer.analyze(TASK, ENV)
    marker = tmp_path / "code-ran"
    assert plant_pickle(cache_dir / "cache.db", "L1:%", marker) == 1

    spans.clear()
    with caplog.at_level(logging.WARNING, logger="mcp_agent_otel.caching"):
        result = analyzer.analyze(TASK, ENV)
    assert not marker.exists()
    assert result == analyze_task(TASK)
    attrs = cache_attrs(analyze_span(spans))
    assert attrs[semconv.CACHE_HIT] is False
    assert attrs[semconv.CACHE_RESULT] == "error"
    assert attrs[semconv.CACHE_ERROR] == "unsafe_row"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "pickle" in warnings[0].getMessage()

    # The refused row was replaced by a fresh JSON entry: the next lookup hits.
    spans.clear()
    analyzer.analyze(TASK, ENV)
    assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] == "hit"
    assert not marker.exists()


def test_planted_pickle_state_row_is_refused(
    make_cache: CacheFactory, cache_dir: Path, tmp_path: Path
) -> None:
    cache = make_cache()
    cache.fetch(TASK, ENV, analyze_task)
    cache.close()
    marker = tmp_path / "code-ran"
    assert plant_pickle(cache_dir / "cache.db", META_KEY, marker) == 1
    fresh = make_cache()
    assert fresh.fetch(TASK, ENV, analyze_task) == analyze_task(TASK)
    stats = fresh.stats()
    assert not marker.exists()
    assert stats["generation"] == 0
    assert stats["entries"] == 1


def test_the_disk_refuses_pickles_in_every_direction(tmp_path: Path) -> None:
    disk = JsonOnlyDisk(str(tmp_path))
    with pytest.raises(UnsafeRowError):
        disk.fetch(MODE_PICKLE, None, pickle.dumps(_Payload(tmp_path / "x")), False)
    with pytest.raises(UnsafeRowError):
        disk.get(pickle.dumps(("a", "tuple", "key")), False)
    with pytest.raises(TypeError):
        disk.put(("a", "tuple", "key"))
    with pytest.raises(TypeError):
        disk.store(_Payload(tmp_path / "x"), False)
    assert not (tmp_path / "x").exists()


# --- rows that name files outside the cache -------------------------------------------------

MODE_BINARY = 2


def plant_filename(db: Path, key_like: str, filename: str) -> int:
    con = sqlite3.connect(db)
    with con:
        n = con.execute(
            "UPDATE Cache SET mode = ?, filename = ?, value = NULL WHERE key LIKE ?",
            (MODE_BINARY, filename, key_like),
        ).rowcount
    con.close()
    return n


@pytest.mark.parametrize("escape", ["../../victim/secret.txt", "ABSOLUTE"])
def test_a_row_naming_a_file_outside_the_cache_is_corrupt_and_the_file_untouched(
    escape: str,
    make_cache: CacheFactory,
    cache_dir: Path,
    tmp_path: Path,
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    victim = tmp_path / "victim" / "secret.txt"
    victim.parent.mkdir()
    victim.write_text("keep me")
    filename = str(victim) if escape == "ABSOLUTE" else os.path.relpath(victim, cache_dir)
    cache = make_cache()
    analyzer = TaskAnalyzer(cache=cache)
    analyzer.analyze(TASK, ENV)
    assert plant_filename(cache_dir / "cache.db", "L1:%", filename) == 1

    spans.clear()
    with caplog.at_level(logging.WARNING, logger="mcp_agent_otel.caching"):
        result = analyzer.analyze(TASK, ENV)
    assert result == analyze_task(TASK)
    attrs = cache_attrs(analyze_span(spans))
    assert attrs[semconv.CACHE_RESULT] == "error"
    assert attrs[semconv.CACHE_ERROR] == "bad_entry"
    assert victim.read_text() == "keep me"  # never opened for its value, never deleted
    assert any("outside the cache directory" in r.getMessage() for r in caplog.records)
    spans.clear()
    analyzer.analyze(TASK, ENV)  # the row was replaced by a sound one
    assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] == "hit"

    # Clearing the cache deletes the row, never the file it names.
    assert plant_filename(cache_dir / "cache.db", "L1:%", filename) == 1
    cache.clear()
    cache.close()
    assert victim.read_text() == "keep me"


def test_the_disk_only_touches_files_inside_its_directory(tmp_path: Path) -> None:
    inside_dir = tmp_path / "cache"
    inside_dir.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    (inside_dir / "ab").mkdir()
    own = inside_dir / "ab" / "value.val"
    own.write_text("{}")
    disk = JsonOnlyDisk(str(inside_dir))
    disk.remove("../outside.txt")
    disk.remove(str(outside))
    assert outside.exists()
    link = inside_dir / "link.val"
    link.symlink_to(outside)
    with pytest.raises(BadEntryError):
        disk.fetch(MODE_BINARY, "link.val", None, False)  # a link that leaves the directory
    disk.remove("ab/value.val")
    assert not own.exists()
