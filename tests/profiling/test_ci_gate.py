"""The CI gate end to end, on the real pipeline: profile -> store -> baseline -> check.

Everything is real: the agent and the four demo MCP servers over stdio, the analysis cache on
disk, the spans recorded through the profiler into the analyzer's SQLite store tagged with
``service.version``, the baseline created and the gate run through the CLI.

Why the versions are profiled in interleaved blocks through one agent: on a shared machine
the latency of the same workload drifts by 2-3x within seconds (measured while writing this
test: 300 runs of one task took 4.4 s, 3.3 s and 1.6 s in three consecutive sequential
runs), so a baseline profiled first and a candidate profiled next would differ by the
machine's mood, not by the code. Interleaving short blocks (base, same, slow, with base and
same alternating their order) gives every version the same mix of machine states, so the
no-fault candidate differs from the baseline only by chance, which the gate's 10% threshold,
its equivalence test and Benjamini-Hochberg at alpha 0.01 absorb. A real CI pipeline cannot
interleave builds; it profiles the candidate on a quiet runner and relies on the same
threshold (see examples/ci_gate.sh).

The workload is a single one-tool task, so each of the 7 operations a workflow produces has
a sample on every run: the gate decides an operation only when its whole confidence interval
lies within +-10% (``no_change``), which needs about a thousand samples per side at the
log-spread tool calls show on this machine (~0.6).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.autonomous.servers import demo_servers_config
from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer
from mcp_agent_otel.caching.cache_manager import cache_from_env
from mcp_agent_otel.cli import main
from mcp_agent_otel.profiling.baseline_profiler import ProfileSettings, profile_agent
from mcp_agent_otel.profiling.fault_injection import slowdowns_from_env
from mcp_agent_otel.profiling.recording import record_in_store
from mcp_agent_otel.profiling.span_aggregator import SpanAggregator
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.setup import configure_tracing

SCRIPT = Path(__file__).parents[2] / "examples" / "ci_gate.sh"
TASK = "Calculate 17 * 3"
SLOW_STAGE = semconv.SPAN_EXECUTE
FAULT = f"{SLOW_STAGE}=1.25"
# Per round: (version, runs). base and same alternate their order from round to round.
ROUNDS = 40
BLOCK = {"base": 25, "same": 25, "slow": 8}


def _check(db: Path, candidate: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        main,
        [
            "check",
            "--baseline",
            "main",
            "--candidate-version",
            candidate,
            "--db",
            str(db),
            "--json",
        ],
    )
    return result.exit_code, json.loads(result.output)


@pytest.mark.timeout(240)
async def test_gate_fails_a_25_percent_slowdown_and_passes_an_unchanged_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "analyzer.db"
    aggregators = {v: SpanAggregator(keep_spans=True) for v in BLOCK}
    configure_tracing(extra_processors=list(aggregators.values()))
    started = time.monotonic()
    cache = cache_from_env()
    async with MetaCoordinator.from_config(
        demo_servers_config(), analyzer=TaskAnalyzer(cache=cache)
    ) as agent:
        for _ in range(5):  # connect, list, fill the analysis cache: never measured
            await agent.run(TASK)
        for round_ in range(ROUNDS):
            order = ("base", "same", "slow") if round_ % 2 == 0 else ("same", "base", "slow")
            for version in order:
                if version == "slow":
                    monkeypatch.setenv(semconv.ENV_FAULT_SLOWDOWN, FAULT)
                else:
                    monkeypatch.delenv(semconv.ENV_FAULT_SLOWDOWN, raising=False)
                settings = ProfileSettings(
                    label="gate",
                    tasks=(TASK,),
                    runs=BLOCK[version],
                    warmup=0,
                    memory_runs=0,
                    slowdowns=slowdowns_from_env(),  # what the profile command reads
                )
                await profile_agent(agent, settings, aggregators[version])
    assert cache is not None
    cache.close()
    profiled_s = time.monotonic() - started

    recorded = {
        version: record_in_store(db, agg.take_kept(), f"v-{version}")
        for version, agg in aggregators.items()
    }
    for version, result in recorded.items():
        assert result.rejected == 0
        assert result.accepted == 7 * ROUNDS * BLOCK[version]  # 7 spans per workflow

    runner = CliRunner()
    created = runner.invoke(
        main, ["analyzer", "baseline", "create", "main", "--version", "v-base", "--db", str(db)]
    )
    assert created.exit_code == 0, created.output

    slow_code, slow = _check(db, "v-slow")
    same_code, same = _check(db, "v-same")
    print(f"profiled {sum(BLOCK.values()) * ROUNDS} workflows in {profiled_s:.1f} s")
    for label, report in (("slow", slow), ("same", same)):
        for c in report["comparisons"]:
            print(
                f"{label}: {c['operation']}: ratio {c['ratio']:.3f} "
                f"[{c['ratio_ci_low']:.3f}, {c['ratio_ci_high']:.3f}] {c['verdict']}"
            )

    by_op = {c["operation"].split(" :: ", 1)[1]: c for c in slow["comparisons"]}
    assert slow_code == 1, slow["message"]
    assert slow["verdict"] == "regression"
    assert SLOW_STAGE in str(slow["message"])  # the gate names the slowed stage
    assert by_op[SLOW_STAGE]["verdict"] == "regression"
    # No timing ratio is asserted (the injected 25% measured 1.26-1.37 over 18 runs, more on a
    # loaded machine; the span-level mechanics are checked exactly in test_profiler.py). The
    # unchanged build must never be called a regression; on a machine busy with other work its
    # noise may leave an operation undecided ("more samples needed", exit 2), which is the
    # gate being honest, not a fault.
    assert same_code in (0, 2), same["message"]
    assert same["verdict"] in ("pass", "inconclusive")
    assert not [c for c in same["comparisons"] if c["verdict"] == "regression"]


def _script(mode: str, tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "WORKLOAD": "simple",
        **settings,
    }
    env.pop(semconv.ENV_FAULT_SLOWDOWN, None)
    return subprocess.run(
        ["bash", str(SCRIPT), mode],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )


@pytest.mark.timeout(400)
def test_ci_gate_script_end_to_end_with_too_few_samples_exits_2(tmp_path: Path) -> None:
    """examples/ci_gate.sh as CI runs it (separate processes, their own tracing set-up): the
    baseline step records runs in a spans file, the check step compares a candidate profiled
    with only 5 runs against it; the A/B step with too few blocks to decide."""
    base = _script("baseline", tmp_path, VERSION="v1", RUNS="30", REPEAT="2")
    assert base.returncode == 0, base.stdout + base.stderr
    lines = (tmp_path / "baseline-spans.jsonl").read_text().splitlines()
    assert len(lines) == 2  # one line per run
    assert all('"v1"' in line for line in lines)

    cand = _script("check", tmp_path, VERSION="v2", RUNS="5")
    assert cand.returncode == 2, cand.stdout + cand.stderr
    flat = " ".join(cand.stdout.split())
    assert "INCONCLUSIVE" in flat
    assert "Too few samples" in flat
    # the candidate's report is kept for the CI artifacts
    report = json.loads((tmp_path / "profile-v2.json").read_text())
    assert report["version"] == "v2"
    assert report["workflows"] == 5
    assert (tmp_path / "profile-v2.md").read_text().startswith("# Profile `simple`")

    missing = _script("ab", tmp_path)
    assert missing.returncode == 2
    assert "BASELINE_CMD" in missing.stderr
    ab = _script(
        "ab",
        tmp_path,
        BASELINE_CMD=str(Path(sys.executable).parent / "mcp-agent-otel"),
        BLOCKS="2",
        BLOCK_RUNS="3",
    )
    assert ab.returncode == 2, ab.stdout + ab.stderr  # 6 workflows per side cannot decide
    assert "INCONCLUSIVE" in ab.stdout
    assert "A/B: spans of both builds in" in ab.stderr
