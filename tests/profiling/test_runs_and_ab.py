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

from mcp_agent_otel.autonomous.workload import SIMPLE_TASKS
from mcp_agent_otel.cli import main
from mcp_agent_otel.profiling.ab_blocks import (
    AbError,
    AbPlan,
    block_order,
    command,
    run_ab,
    this,
)
from mcp_agent_otel.regression.offline import file_samples
from mcp_agent_otel.regression.run_variance import Runs
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


def test_block_order_alternates_over_the_measured_blocks() -> None:
    assert block_order(3) == [(1, "A"), (1, "B"), (2, "A"), (2, "B"), (3, "A"), (3, "B")]


def _analyzed_task_lengths(line: str) -> tuple[str, list[int]]:
    """A spans-file line's run id and the task length of each analyze span, in start order."""
    data = json.loads(line)
    (resource,) = data["resourceSpans"]
    attrs = {a["key"]: a["value"] for a in resource["resource"]["attributes"]}
    spans = [
        span
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
        if span["name"] == semconv.SPAN_ANALYZE
    ]
    spans.sort(key=lambda span: int(span["startTimeUnixNano"]))
    lengths = [
        int(a["value"]["intValue"])
        for span in spans
        for a in span["attributes"]
        if a["key"] == semconv.TASK_LENGTH
    ]
    return attrs[semconv.RUN_ID]["stringValue"], lengths


@pytest.mark.timeout(300)
def test_short_blocks_go_on_through_the_tasks_and_pair_by_block(tmp_path: Path) -> None:
    """Two real workers, 3 measured blocks of 2 workflows each: the warm-up block is not
    kept, blocks run in A B A B order, and block i of both builds ran the same tasks, going
    on through the workload (not its first two tasks every time)."""
    seen: list[tuple[int, str]] = []
    result = run_ab(
        AbPlan(
            baseline=this(),
            candidate=this(),
            workload="simple",
            blocks=3,
            block_runs=2,
            workdir=tmp_path,
        ),
        on_block=lambda block, side: seen.append((block, side)),
    )
    assert seen == block_order(3)
    # the warm-up block ran all 7 tasks unmeasured, then tasks 0 and 1: the blocks go on from 2
    tasks = len(SIMPLE_TASKS)
    expected = [len(SIMPLE_TASKS[(2 + i) % tasks]) for i in range(6)]
    for side in ("A", "B"):
        lines = result.files[side].read_text().splitlines()
        read = [_analyzed_task_lengths(line) for line in lines]
        assert [run_id for run_id, _ in read] == [f"ab-{side}.{b:04d}" for b in (1, 2, 3)]
        assert [n for _, lengths in read for n in lengths] == expected
    base, cand = result.evidence()
    analyze = next(key for key in base if key.name == semconv.SPAN_ANALYZE)
    assert isinstance(base[analyze], Runs)
    assert isinstance(cand[analyze], Runs)
    assert [g.size for g in base[analyze].groups] == [2, 2, 2]
    assert [g.size for g in cand[analyze].groups] == [2, 2, 2]


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
