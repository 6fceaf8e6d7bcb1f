"""Runs as the unit of evidence and A/B in one job, on the real pipeline.

``profile --repeat K`` records K runs (run ids ``<id>.1 .. .K``) in the store and in a spans
file; ``check --ab`` starts two real ``profile --serve-blocks`` workers (this install, as
two "builds") and compares their alternating blocks as pairs.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.cli import main
from mcp_agent_otel.profiling.ab_blocks import AbError, AbPlan, block_order, command, this
from mcp_agent_otel.regression.offline import file_samples
from mcp_agent_otel.tracing import semconv

THIS = shlex.join(this())


def test_profile_repeat_records_each_run_with_its_own_run_id(
    tmp_path: Path, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_RUN_ID, "ci-77")
    out, db = tmp_path / "runs.jsonl", tmp_path / "a.db"
    result = CliRunner().invoke(
        main,
        [
            "profile",
            "simple",
            "-n",
            "4",
            "--repeat",
            "3",
            "--memory-runs",
            "0",
            "--record",
            "stages",
            "--spans-out",
            str(out),
            "--store",
            str(db),
            "--version",
            "r1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 3
    samples, _ = file_samples([out])
    assert {key.name for key in samples} == {semconv.SPAN_WORKFLOW, *semconv.STAGE_SPANS}
    for by_run in samples.values():
        assert {run: len(v) for run, v in by_run.items()} == {
            "ci-77.1": 4,
            "ci-77.2": 4,
            "ci-77.3": 4,
        }
    assert "recorded 60 span(s) in the store" in result.output
    # the file is a baseline the gate reads run by run: three runs against themselves pass
    check = CliRunner().invoke(
        main, ["check", "--baseline-file", str(out), "--candidate-file", str(out), "--json"]
    )
    report = json.loads(check.output)
    assert {c["baseline_runs"] for c in report["comparisons"]} == {3}
    assert {c["design"] for c in report["comparisons"]} == {"runs"}


def test_block_order_alternates() -> None:
    assert block_order(3) == [(0, "A"), (0, "B"), (1, "A"), (1, "B"), (2, "A"), (2, "B")]


def test_a_build_command_must_exist() -> None:
    with pytest.raises(AbError, match="not an executable"):
        command("/nonexistent/bin/mcp-agent-otel")
    with pytest.raises(AbError, match="empty command"):
        command("  ")
    with pytest.raises(AbError, match="at least 2 blocks"):
        AbPlan(baseline=this(), candidate=this(), blocks=1)


@pytest.mark.timeout(300)
def test_check_ab_runs_two_builds_in_alternating_blocks(tmp_path: Path) -> None:
    slowed = f"env {semconv.ENV_FAULT_SLOWDOWN}={semconv.SPAN_DECIDE}=3 {THIS}"
    result = CliRunner().invoke(
        main,
        [
            "check",
            "--ab",
            "--baseline-cmd",
            THIS,
            "--candidate-cmd",
            slowed,
            "--workload",
            "simple",
            "--blocks",
            "12",
            "--block-runs",
            "3",
            "--json",
        ],
    )
    report = json.loads(result.stdout)
    by_op = {c["operation"].split(" :: ")[-1]: c for c in report["comparisons"]}
    assert set(by_op) == {semconv.SPAN_WORKFLOW, *semconv.STAGE_SPANS}
    assert all(c["design"] == "paired" for c in by_op.values())
    assert all(c["baseline_runs"] == c["candidate_runs"] == 12 for c in by_op.values())
    assert all(c["baseline_n"] == c["candidate_n"] == 36 for c in by_op.values())
    # decide made 3x slower in the candidate build only: every one of the 12 pairs says so
    # (the signed-rank test needs about 12 pairs to reach significance at all)
    decide = by_op[semconv.SPAN_DECIDE]
    assert decide["ratio"] > 1.5
    assert decide["verdict"] == "regression"
    assert result.exit_code == 1
    assert "spans of both builds in" in result.stderr


def test_check_ab_says_which_build_failed(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["check", "--ab", "--baseline-cmd", f"{sys.executable} -c 'raise SystemExit(3)'"],
    )
    assert result.exit_code == 2
    assert "build A stopped (exit 3)" in result.output
