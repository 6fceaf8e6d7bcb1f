"""Demo MCP server benchmarks: start-up, stdio tool-call round trips, server-side tracing cost.

- start-up: from launching ``python -m mcp_agent_otel.autonomous.servers.<name>`` to a
  connected client (spawn, imports, protocol negotiation), and the close (stdin closed, the
  server flushes its spans and exits);
- round trip: one representative tool call per server over real stdio, client and server
  both traced (the client into the test session's in-memory exporter, the server into its
  OTLP-JSON spans file, the embedded default);
- server tracing cost: the same calls against the same server started with tracing on and
  with ``OTEL_SDK_DISABLED=true``, alternating blocks so machine noise hits both; the ratio of
  medians. Smoke size covers the text server only.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from mcp_agent_otel.autonomous.servers import DEMO_SERVER_NAMES, ENV_SANDBOX, demo_servers_config
from tests.conftest import BenchRecorder

pytestmark = pytest.mark.bench

# One representative call per server, and a check of its answer.
CALLS: dict[str, tuple[str, dict[str, Any], str, Any]] = {
    "knowledge": (
        "search_documents",
        {"query": "span context", "limit": 3},
        "query",
        "span context",
    ),
    "text": ("word_count", {"text": "one two three four"}, "words", 4),
    "mathdata": ("calculate", {"expression": "(12 + 30) * 2"}, "result", 84),
    "files": ("file_info", {"path": "README.txt"}, "type", "file"),
}


def _params(name: str, env: Mapping[str, str]) -> StdioServerParameters:
    entry = demo_servers_config(sys.executable)["mcpServers"][name]
    return StdioServerParameters(command=entry["command"], args=entry["args"], env=dict(env))


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"MCP_AGENT_OTEL_HOME": str(home), ENV_SANDBOX: str(home / "sandbox"), **extra}


def _percentiles(values: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(np.asarray(values), [50, 95])
    return float(p50), float(p95)


async def _round_trips(client: Client, name: str, count: int) -> list[float]:
    tool, arguments, key, expected = CALLS[name]
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        result = await client.call_tool(tool, arguments)
        durations.append((time.perf_counter() - started) * 1000)
        assert not result.is_error
        assert result.structured_content is not None
        assert result.structured_content[key] == expected
    return durations


async def _start(params: StdioServerParameters) -> tuple[Client, float]:
    """A connected client and how long connecting took (ms): spawn, imports, negotiation."""
    client = Client(params, cache=None)
    started = time.perf_counter()
    await client.__aenter__()
    return client, (time.perf_counter() - started) * 1000


async def _close(client: Client) -> float:
    """Close (stdin closed; the server flushes its spans and exits); how long it took (ms)."""
    started = time.perf_counter()
    await client.__aexit__(None, None, None)
    return (time.perf_counter() - started) * 1000


async def test_text_server_round_trip_and_tracing_cost(
    bench: BenchRecorder, tmp_path: Path
) -> None:
    on, on_start = await _start(_params("text", _env(tmp_path / "traced")))
    try:
        off, off_start = await _start(
            _params("text", _env(tmp_path / "untraced", OTEL_SDK_DISABLED="true"))
        )
    except BaseException:
        await _close(on)
        raise
    traced: list[float] = []
    untraced: list[float] = []
    try:
        await _round_trips(on, "text", 5)  # warm-up
        await _round_trips(off, "text", 5)
        for _ in range(bench.n(2, 6)):  # alternating blocks: drift hits both alike
            traced += await _round_trips(on, "text", bench.n(25, 300))
            untraced += await _round_trips(off, "text", bench.n(25, 300))
    finally:  # anyio scopes close in reverse order of opening
        off_close = await _close(off)
        on_close = await _close(on)
    assert (tmp_path / "traced" / "spans.jsonl").exists()  # flushed by the time close returns
    assert not (tmp_path / "untraced" / "spans.jsonl").exists()

    p50, p95 = _percentiles(traced)
    ratio = statistics.median(traced) / statistics.median(untraced)
    bench.record("text server start to connected", on_start, "ms", note="traced")
    bench.record("text server start to connected, untraced", off_start, "ms")
    bench.record("text server close", on_close, "ms", note="traced: spans flushed on exit")
    bench.record("text server close, untraced", off_close, "ms")
    bench.record("text/word_count round trip p50", p50, "ms", note="stdio, both sides traced")
    bench.record("text/word_count round trip p95", p95, "ms")
    bench.record("text/word_count round trip p50, server untraced", _percentiles(untraced)[0], "ms")
    bench.record(
        "server-side tracing overhead (ratio of medians)",
        ratio,
        "x",
        note="same client; server OTLP-JSON file default vs OTEL_SDK_DISABLED=true",
    )
    print(
        f"\ntext round trip median: traced {statistics.median(traced):.3f} ms, "
        f"untraced {statistics.median(untraced):.3f} ms, ratio {ratio:.3f}"
    )


@pytest.mark.skipif("not config.getoption('--bench-size') == 'full'", reason="full size only")
async def test_every_server_start_and_round_trip(bench: BenchRecorder, tmp_path: Path) -> None:
    """Full size only (four servers, several starts each): too slow for the smoke run."""
    for name in DEMO_SERVER_NAMES:
        starts, closes, durations = [], [], []
        for _ in range(3):
            client, started = await _start(_params(name, _env(tmp_path / "home")))
            try:
                await _round_trips(client, name, 5)  # warm-up
                durations += await _round_trips(client, name, 200)
            finally:
                closes.append(await _close(client))
            starts.append(started)
        p50, p95 = _percentiles(durations)
        tool = CALLS[name][0]
        bench.record(
            f"{name} server start to connected (median of 3)", statistics.median(starts), "ms"
        )
        bench.record(f"{name} server close (median of 3)", statistics.median(closes), "ms")
        bench.record(f"{name}/{tool} round trip p50", p50, "ms", note="stdio, both sides traced")
        bench.record(f"{name}/{tool} round trip p95", p95, "ms")
