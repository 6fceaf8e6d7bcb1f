"""Two real processes (``multiprocessing``, spawn) with several threads each share one cache
directory while a coordinator keeps changing the environment: no stale hit, no crash, the
entry bound holds.

The environment fingerprint alternates between two values (a tool removed, then added back),
so keys of different periods collide unless the generation separates them. The compute
function stamps the cache generation it ran in into the analysis (its ``keywords``); a hit
stamped with a generation older than the one current before the lookup is a stale hit.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sqlite3
import threading
import time
from pathlib import Path

from mcp_agent_otel.autonomous.models import TaskAnalysis
from mcp_agent_otel.autonomous.task_analyzer import analyze_task
from mcp_agent_otel.caching.cache_manager import AnalysisCache, CacheSettings

MAX_ENTRIES = 25
TASKS = [f"count the words in 'text number {i}'" for i in range(60)]


def _current_env(env_file: Path) -> str:
    return env_file.read_text().strip()


def _generation(db: Path) -> int:
    con = sqlite3.connect(db, timeout=5)
    try:
        (value,) = con.execute("SELECT value FROM Cache WHERE key = 'meta:state'").fetchone()
    finally:
        con.close()
    return int(json.loads(bytes(value))["generation"])


def _worker(directory: str, env_file: str, seconds: float, seed: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    import random

    cache = AnalysisCache(
        CacheSettings(directory=Path(directory), max_entries=MAX_ENTRIES, lock_timeout_s=2.0)
    )
    db = Path(directory) / "cache.db"
    stale: list[str] = []
    errors: list[str] = []
    counts = {"lookups": 0, "hits": 0}
    lock = threading.Lock()

    def run(thread_seed: int) -> None:
        rng = random.Random(thread_seed)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            env = _current_env(Path(env_file))
            task = TASKS[min(int(rng.paretovariate(1.2)) - 1, len(TASKS) - 1)]
            current = _generation(db)

            def compute(text: str) -> TaskAnalysis:
                stamp = _generation(db)
                if rng.random() < 0.2:
                    time.sleep(0.005)  # slow analyses widen the race window
                analysis = analyze_task(text)
                return TaskAnalysis.from_dict({**analysis.to_dict(), "keywords": [str(stamp)]})

            try:
                before = cache.metrics.snapshot().get("hits", 0)
                result = cache.fetch(task, env, compute)
                hit = cache.metrics.snapshot().get("hits", 0) > before
            except Exception as exc:
                errors.append(repr(exc))
                continue
            with lock:
                counts["lookups"] += 1
                counts["hits"] += hit
            if int(result.keywords[0]) < current:
                stale.append(f"{task!r}: generation {result.keywords[0]} served in {current}")

    threads = [threading.Thread(target=run, args=(seed * 10 + i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cache.close()
    out.put({"stale": stale, "errors": errors, **counts})


def test_two_processes_and_threads_share_one_cache(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    env_file = tmp_path / "env"
    env_file.write_text("env-a")
    coordinator = AnalysisCache(CacheSettings(directory=directory, max_entries=MAX_ENTRIES))
    coordinator.stats()  # creates the database and its state row
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    seconds = 3.0
    procs = [
        ctx.Process(target=_worker, args=(str(directory), str(env_file), seconds, seed, out))
        for seed in (1, 2)
    ]
    for p in procs:
        p.start()
    bounds: list[int] = []
    deadline = time.monotonic() + seconds + 2.0
    generation = 0
    time.sleep(0.8)  # let the workers start (spawn imports the package)
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
        time.sleep(0.25)
        generation += 1
        old, new = ("env-a", "env-b") if generation % 2 else ("env-b", "env-a")
        # The tool set changes: callers see the new fingerprint, the listener bumps the generation.
        env_file.write_text(new)
        coordinator.on_environment_change(old, new)
        db = sqlite3.connect(directory / "cache.db", timeout=5)
        (count,) = db.execute("SELECT COUNT(*) FROM Cache WHERE key != 'meta:state'").fetchone()
        db.close()
        bounds.append(count)
    reports = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0  # no crash
    coordinator.close()
    assert all(not r["errors"] for r in reports), [r["errors"][:3] for r in reports]
    assert all(not r["stale"] for r in reports), [r["stale"][:3] for r in reports]
    assert max(bounds) <= MAX_ENTRIES, bounds
    lookups = sum(r["lookups"] for r in reports)
    hits = sum(r["hits"] for r in reports)
    assert lookups > 100, lookups
    assert hits > 0, hits
    assert generation >= 3
