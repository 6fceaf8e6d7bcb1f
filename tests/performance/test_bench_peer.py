"""Peer benchmark (issue 12): the agent's cost over the raw MCP SDK call it makes.

The floor is the SDK's own ``ClientSession.call_tool`` to the bundled ``mathdata`` server
over stdio; against it, in the same process and on the same session, interleaved (see
peer_timing.py): the agent's tool call (``execute_tool`` span + ``ToolDiscovery.call_tool``)
and the whole one-tool workflow ``run("Calculate 2 + 3")``, each with tracing off and on.
Printed as medians and ratios of medians to the floor of the same tracing mode.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BenchRecorder

pytestmark = pytest.mark.bench
TIMING_SCRIPT = Path(__file__).with_name("peer_timing.py")
TARGETS = {  # (contender, tracing mode) -> target ratio to the raw call
    ("tool_call", "off"): 1.05,
    ("tool_call", "on"): 1.08,
    ("workflow", "on"): 1.3,
}


def test_peer_tool_call_and_workflow_vs_raw_sdk(bench: BenchRecorder, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["MCP_AGENT_OTEL_HOME"] = str(tmp_path / "home")
    rounds, calls = bench.n(2, 10), bench.n(20, 200)
    proc = subprocess.run(
        [sys.executable, str(TIMING_SCRIPT), str(rounds), str(calls)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    timings: dict[str, dict[str, list[float]]] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(timings) == {"off", "on"}
    for mode, by_contender in timings.items():
        assert set(by_contender) == {"raw", "tool_call", "workflow"}, mode
        assert all(len(v) == rounds * calls for v in by_contender.values())
    assert (tmp_path / "home" / "spans.jsonl").exists()  # the "on" side did export spans
    for mode in ("off", "on"):
        floor = statistics.median(timings[mode]["raw"])
        bench.record(
            f"raw ClientSession.call_tool median, tracing {mode}",
            floor * 1000,
            "us",
            note=f"{rounds}x{calls} calls, mathdata calculate over stdio",
        )
        for contender in ("tool_call", "workflow"):
            median = statistics.median(timings[mode][contender])
            ratio = median / floor
            target = TARGETS.get((contender, mode))
            bench.record(
                f"{contender} / raw call, tracing {mode}",
                ratio,
                "x",
                target=f"<= {target}" if target else "",
                met=ratio <= target if target else None,
                note=f"median {median * 1000:.0f} us vs {floor * 1000:.0f} us",
            )
