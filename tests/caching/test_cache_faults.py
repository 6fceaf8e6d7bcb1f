"""Faults: a corrupt or truncated database, a lock held by another process, a read-only or a
full directory. Each time the analysis still answers (as a miss, ``cache.result=error``), one
warning says what happened, and the cache recovers without losing anything.

Read-only and full directories are real: a small tmpfs is mounted for the test (remounted
read-only, or filled up). That needs root (CI and the dev machines run as root); elsewhere the
read-only case falls back to ``chmod`` and the full case is skipped, saying why.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer, analyze_task
from mcp_agent_otel.caching.cache_manager import AnalysisCache, CacheSettings
from mcp_agent_otel.tracing import semconv
from tests.caching.conftest import CacheFactory
from tests.caching.test_cache_manager import analyze_span, cache_attrs

TASK = "Search the documents for OpenTelemetry and then summarize it"
OTHER = "count the words in 'alpha beta gamma'"
ENV = "env-a"
LOGGER = "mcp_agent_otel.caching"


def result_of(analyzer: TaskAnalyzer, task: str, spans: InMemorySpanExporter) -> dict[str, object]:
    spans.clear()
    assert analyzer.analyze(task, ENV) == analyze_task(task)
    return cache_attrs(analyze_span(spans))


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def fast(make_cache: CacheFactory, directory: Path | None = None) -> AnalysisCache:
    return make_cache(directory=directory, lock_timeout_s=0.1, retry_after_s=0.0)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_database_is_moved_aside_and_recreated(
    damage: str,
    make_cache: CacheFactory,
    cache_dir: Path,
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = fast(make_cache)
    for i in range(30):
        first.fetch(f"count the words in 'text {i}'", ENV, analyze_task)
    first.close()
    db = cache_dir / "cache.db"
    size = db.stat().st_size
    with db.open("r+b") as f:
        if damage == "garbage":
            f.write(os.urandom(size))
        else:
            f.truncate(size // 3)
    for suffix in ("-wal", "-shm"):
        (cache_dir / f"cache.db{suffix}").unlink(missing_ok=True)
    damaged = db.read_bytes()

    analyzer = TaskAnalyzer(cache=fast(make_cache))
    caplog.set_level(logging.WARNING, logger=LOGGER)
    first_try = result_of(analyzer, TASK, spans)
    assert first_try[semconv.CACHE_RESULT] == "error"
    assert first_try[semconv.CACHE_ERROR] == "corrupt"
    assert result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] == "miss"
    assert result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] == "hit"
    (message,) = warnings_in(caplog)
    assert "corrupt" in message
    assert "moved aside" in message
    # Nothing is lost: the damaged file is kept next to the fresh database.
    (kept,) = cache_dir.glob("cache.db.corrupt-*[0-9]")
    assert kept.read_bytes() == damaged


def test_database_corrupted_while_in_use(
    make_cache: CacheFactory,
    cache_dir: Path,
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = fast(make_cache)
    analyzer = TaskAnalyzer(cache=cache)
    for i in range(50):
        analyzer.analyze(f"count the words in 'text {i}'", ENV)
    db = cache_dir / "cache.db"
    store = cache._health.store
    assert store is not None
    store.cache._sql("PRAGMA wal_checkpoint(TRUNCATE)")
    with db.open("r+b") as f:  # another program scribbles over the database
        f.seek(0)
        f.write(os.urandom(db.stat().st_size))
    caplog.set_level(logging.WARNING, logger=LOGGER)
    results = [result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] for _ in range(4)]
    assert results[0] == "error"
    assert results[-1] == "hit"
    assert len(warnings_in(caplog)) == 1
    assert list(cache_dir.glob("cache.db.corrupt-*"))


_LOCKER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
con.execute("ROLLBACK")
"""


@contextlib.contextmanager
def lock_held_by_another_process(db: Path) -> Iterator[None]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _LOCKER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=10)


def test_lock_held_by_another_process(
    make_cache: CacheFactory,
    cache_dir: Path,
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    analyzer = TaskAnalyzer(cache=fast(make_cache))
    analyzer.analyze(TASK, ENV)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with lock_held_by_another_process(cache_dir / "cache.db"):
        started = time.monotonic()
        locked = result_of(analyzer, OTHER, spans)
        assert time.monotonic() - started < 5  # bounded by lock_timeout_s, not diskcache's 60 s
        assert locked[semconv.CACHE_RESULT] == "error"
        assert locked[semconv.CACHE_ERROR] == "locked"
        assert result_of(analyzer, OTHER, spans)[semconv.CACHE_RESULT] in ("miss", "error")
        # Reads are not blocked by a writer in WAL mode: cached analyses are still served.
        assert result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] == "hit"
    (message,) = warnings_in(caplog)
    assert "locked by another process" in message
    assert result_of(analyzer, OTHER, spans)[semconv.CACHE_RESULT] == "miss"  # recovered
    assert result_of(analyzer, OTHER, spans)[semconv.CACHE_RESULT] == "hit"


def test_lock_held_while_opening(
    make_cache: CacheFactory,
    cache_dir: Path,
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fast(make_cache).fetch(TASK, ENV, analyze_task)
    analyzer = TaskAnalyzer(cache=fast(make_cache))  # a new process's cache, not open yet
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with lock_held_by_another_process(cache_dir / "cache.db"):
        started = time.monotonic()
        assert result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] == "error"
        assert time.monotonic() - started < 5
    assert len(warnings_in(caplog)) == 1
    assert result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] == "hit"  # nothing was lost


# --- read-only and full directories (a real tmpfs) ----------------------------------------------


def _mount(target: Path, options: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@contextlib.contextmanager
def tmpfs(target: Path, size: str) -> Iterator[Path]:
    if os.geteuid() != 0 or not _mount(target, f"size={size},mode=0755"):
        pytest.skip("mounting a small tmpfs needs root (and mount permission) on this machine")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def remount(target: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(target)], check=True)


def test_read_only_directory(
    make_cache: CacheFactory,
    tmp_path: Path,
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The agent starts with its cache on a read-only file system (a tmpfs remounted ro; a file
    system with files open for writing cannot be remounted, so the writer is closed first)."""
    with tmpfs(tmp_path / "fs", "8m") as fs:
        writer = fast(make_cache, fs / "cache")
        writer.fetch(TASK, ENV, analyze_task)
        writer.close()
        remount(fs, "ro")
        caplog.set_level(logging.WARNING, logger=LOGGER)
        analyzer = TaskAnalyzer(cache=fast(make_cache, fs / "cache"))
        new_dir = TaskAnalyzer(cache=fast(make_cache, fs / "elsewhere"))
        try:
            for _ in range(3):  # keeps answering, without a warning per lookup
                ro = result_of(analyzer, OTHER, spans)
                assert ro[semconv.CACHE_RESULT] == "error"
                assert ro[semconv.CACHE_ERROR] in ("read_only", "io")
                assert result_of(new_dir, TASK, spans)[semconv.CACHE_RESULT] == "error"
                # What the read-only cache holds is still served.
                assert result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] == "hit"
        finally:
            remount(fs, "rw")
        assert len(warnings_in(caplog)) == 2  # one per cache object, not one per lookup
        assert "read-only" in warnings_in(caplog)[0]
        assert result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] == "hit"  # nothing lost
        assert result_of(analyzer, OTHER, spans)[semconv.CACHE_RESULT] == "miss"  # recovered
        assert result_of(analyzer, OTHER, spans)[semconv.CACHE_RESULT] == "hit"


def test_read_only_directory_by_permissions(
    make_cache: CacheFactory, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions; the tmpfs test covers this as root")
    directory = tmp_path / "ro"
    directory.mkdir(mode=0o500)
    analyzer = TaskAnalyzer(cache=fast(make_cache, directory / "cache"))
    assert result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] == "error"


def test_full_directory(
    make_cache: CacheFactory,
    tmp_path: Path,
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with tmpfs(tmp_path / "fs", "2m") as fs:
        analyzer = TaskAnalyzer(cache=fast(make_cache, fs / "cache"))
        analyzer.analyze(TASK, ENV)
        filler = fs / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for chunk in (65536, 4096, 512, 1):  # fill the file system to the last byte
                with contextlib.suppress(OSError):
                    while os.write(fd, b"\0" * chunk):
                        pass
        finally:
            os.close(fd)
        assert os.statvfs(fs).f_bavail == 0
        caplog.set_level(logging.WARNING, logger=LOGGER)
        results = []
        for i in range(40):  # enough new entries to need new pages
            task = f"count the words in '{'long text ' * 40} {i}'"
            results.append(result_of(analyzer, task, spans))
        errors = [r for r in results if r[semconv.CACHE_RESULT] == "error"]
        assert errors
        assert all(r[semconv.CACHE_ERROR] in ("full", "io") for r in errors)
        assert result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] == "hit"  # still served
        assert len(warnings_in(caplog)) == 1
        filler.unlink()
        task = "convert 5 km to miles"
        assert result_of(analyzer, task, spans)[semconv.CACHE_RESULT] == "miss"
        assert result_of(analyzer, task, spans)[semconv.CACHE_RESULT] == "hit"


def test_unusable_directory_path(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    """The configured directory is a file: answers, warns once, and retries later."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = AnalysisCache(CacheSettings(directory=blocker / "cache", retry_after_s=0.0))
    analyzer = TaskAnalyzer(cache=cache)
    assert result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] == "error"
    blocker.unlink()
    assert result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] == "miss"
    assert result_of(analyzer, TASK, spans)[semconv.CACHE_RESULT] == "hit"
    cache.close()
