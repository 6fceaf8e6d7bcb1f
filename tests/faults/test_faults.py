"""Fault injection against the real analyzer process: kill -9 under load, a full disk.

Each test starts ``mcp-agent-otel analyzer serve`` on loopback (ephemeral ports) with a real
SQLite database, drives it with real OTLP clients, injects the fault, and counts: every span
that was answered 200/OK must be in the database afterwards. The loads here are short (a few
seconds); the 60 s runs are ``tests/performance/test_bench_faults.py`` (``make bench``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.harness import kill9_under_load, start_load, start_server, stored_spans


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_kill9_under_load_loses_no_acknowledged_span(tmp_path: Path, protocol: str) -> None:
    acknowledged, stored = kill9_under_load(tmp_path, protocol, seconds=2.0, clients=3)
    assert acknowledged > 0
    # Requests in flight at the kill may be stored without having been answered: never fewer.
    assert stored >= acknowledged


# --- a full disk (a small tmpfs; needs root to mount) ----------------------------------------


@contextlib.contextmanager
def _small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with open(filler, "wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
    return filler


def _wait_for(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition was not met in time"
        time.sleep(0.1)


def _health(url: str) -> tuple[int, dict[str, object]]:
    response = httpx.get(f"{url}/health", timeout=30)
    return response.status_code, response.json()


def test_full_disk_answers_retry_and_loses_nothing_then_recovers(tmp_path: Path) -> None:
    with _small_tmpfs(tmp_path / "disk", "24m") as disk:
        server = start_server(disk / "analyzer.db")
        load = start_load(server, "http", clients=3)
        try:
            _wait_for(lambda: load.acknowledged > 0)
            filler = _fill(disk)
            _wait_for(lambda: load.refused > 0)  # clients are told to retry
            _wait_for(lambda: _health(server.http_url)[0] == 503)
            status, health = _health(server.http_url)
            assert health["status"] == "unavailable"
            assert "full" in str(health["store"]).lower()
            stats = httpx.get(f"{server.http_url}/api/stats", timeout=30)
            assert stats.status_code == 200
            assert stats.json()["requests"]["deferred"] > 0
            acknowledged_while_full = load.acknowledged

            filler.unlink()  # space returns
            _wait_for(lambda: _health(server.http_url)[0] == 200)
            _wait_for(lambda: load.acknowledged > acknowledged_while_full + 10_000)
        finally:
            load.join()
            server.terminate()
        assert not load.other, load.other[:3]
        assert stored_spans(disk / "analyzer.db") >= load.acknowledged


def test_shutdown_on_a_full_disk_exits_nonzero_and_keeps_the_spans(tmp_path: Path) -> None:
    with _small_tmpfs(tmp_path / "disk", "24m") as disk:
        db = disk / "analyzer.db"
        server = start_server(db)
        load = start_load(server, "http", clients=2)
        try:
            _wait_for(lambda: load.acknowledged > 0)
            filler = _fill(disk)
            _wait_for(lambda: _health(server.http_url)[1]["store"]["pending_spans"] > 0)  # type: ignore[index]
            _wait_for(lambda: _health(server.http_url)[0] == 503)
        finally:
            load.join()
        code, err = server.terminate()
        assert code == 1, err
        assert "accepted span(s) could not be stored" in err
        assert "spool" in err

        filler.unlink()
        again = start_server(db)  # replays the spool now that there is room
        again.terminate()
        assert stored_spans(db) >= load.acknowledged
