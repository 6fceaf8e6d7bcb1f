"""Issue 11's gate on seeded data: one-sided verdicts, tails, runs and paired A/B blocks, CPU
time from files, and offline ingest of spans older than the retention period."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mcp_agent_otel.cli import main
from mcp_agent_otel.regression import gate
from mcp_agent_otel.regression.comparison import Verdict
from mcp_agent_otel.regression.multiple_testing import benjamini_hochberg
from mcp_agent_otel.regression.offline import file_samples
from mcp_agent_otel.regression.run_variance import Runs
from mcp_agent_otel.regression.statistics import compare, compare_many
from mcp_agent_otel.tracing import semconv

from .otlp_builders import request, to_otlp_json

SIGMA = 0.5


def lognormal(seed: int, n: int, ratio: float = 1.0, sigma: float = SIGMA) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(math.log(20.0 * ratio), sigma, n)


# --- one-sided verdicts and the tails ------------------------------------------------------


def test_a_spread_regression_is_named_by_its_p95() -> None:
    result = compare(lognormal(1, 900), lognormal(2, 900, sigma=0.8), operation="svc :: op")
    assert result.verdict is Verdict.REGRESSION
    p95 = result.test("p95")
    median = result.test("median")
    assert p95 is not None
    assert median is not None
    assert p95.regressed
    assert not median.regressed
    assert 1.4 < p95.ratio < 1.9
    assert "p95" in result.reason
    assert "median unchanged" in result.reason
    code = gate.verdict_of((result,))
    assert code[1] == gate.EXIT_REGRESSION
    assert "p95" in code[2]


def test_a_faster_candidate_passes_among_unchanged_operations() -> None:
    samples = {f"op{i}": (lognormal(10 + i, 900), lognormal(40 + i, 900)) for i in range(11)}
    samples["fast"] = (lognormal(60, 900), lognormal(61, 900, ratio=0.93))
    results = compare_many(samples)
    assert {r.verdict for r in results} <= {Verdict.NO_CHANGE, Verdict.IMPROVEMENT}
    assert gate.verdict_of(tuple(results))[1] == gate.EXIT_PASS
    fast = next(r for r in results if r.operation == "fast")
    assert fast.ratio < 0.97
    assert "ruled out at 85% confidence" in fast.reason


def test_a_significant_slowdown_below_the_threshold_passes() -> None:
    result = compare(lognormal(3, 20_000), lognormal(4, 20_000, ratio=1.03))
    median = result.test("median")
    assert median is not None
    assert median.p_adjusted < 0.01  # significant ...
    assert result.verdict is Verdict.NO_CHANGE  # ... but a 10% slowdown is ruled out
    assert "slower, within the threshold" in result.reason


def test_inconclusive_only_in_between() -> None:
    base = lognormal(5, 60)
    result = compare(base, base * 1.05)  # 5% slower: neither significant nor ruled out
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.required_n is not None
    assert result.required_n > 60
    assert "not ruled out" in result.reason


def test_weighted_benjamini_hochberg() -> None:
    p = [0.004, 0.02, 0.5]
    # weights 2.7, 0.15, 0.15 (mean 1): p / w = 0.00148, 0.133, 3.33
    adjusted = benjamini_hochberg(p, [2.7, 0.15, 0.15])
    assert adjusted[0] == pytest.approx(0.004 / 2.7 * 3)
    assert adjusted[1] == pytest.approx(0.02 / 0.15 * 3 / 2)
    assert adjusted[2] == 1.0
    assert benjamini_hochberg(p, [1.0, 1.0, 1.0]) == benjamini_hochberg(p)
    with pytest.raises(ValueError, match="weights"):
        benjamini_hochberg(p, [1.0, 0.0, 2.0])


# --- runs as the unit of evidence -------------------------------------------------------------


def _runs(seed: int, levels: list[float], n: int = 300) -> Runs:
    return Runs(tuple(lognormal(seed + i, n, ratio=lv) for i, lv in enumerate(levels)))


def test_run_to_run_noise_widens_the_comparison() -> None:
    """Five baseline runs whose levels scatter by ~8%: a candidate run 15% slower than their
    mean is within that noise, so it is not a regression, and the verdict says why."""
    levels = [0.9, 1.0, 1.1, 0.93, 1.07]
    baseline = _runs(100, levels, n=1000)
    candidate = lognormal(200, 1000, ratio=1.15)
    pooled = np.concatenate(baseline.groups)
    naive = compare(pooled, candidate)
    widened = compare(baseline, candidate)
    assert naive.verdict is Verdict.REGRESSION
    assert widened.verdict is not Verdict.REGRESSION
    assert widened.design == "runs"
    assert widened.baseline_runs == 5
    assert 0.03 < widened.run_noise < 0.15
    assert "Run-to-run noise" in widened.reason
    assert widened.ratio_ci_high > naive.ratio_ci_high


def test_runs_that_agree_cost_little() -> None:
    baseline = _runs(300, [1.0] * 5)
    assert compare(baseline, lognormal(400, 300, ratio=1.3)).verdict is Verdict.REGRESSION
    assert compare(baseline, lognormal(401, 300)).verdict is Verdict.NO_CHANGE


# --- paired A/B blocks ----------------------------------------------------------------------


def _blocks(seed: int, drift: list[float], ratio: float = 1.0, n: int = 90) -> Runs:
    return Runs(tuple(lognormal(seed + i, n, ratio=d * ratio) for i, d in enumerate(drift)))


DRIFT = [1.0, 1.0, 1.3, 1.6, 1.6, 1.5, 1.2, 1.0, 0.9, 1.0]  # a neighbour's load came and went


def test_paired_blocks_cancel_the_drift_both_builds_share() -> None:
    base, same = _blocks(1000, DRIFT), _blocks(2000, DRIFT)
    result = compare(base, same, paired=True)
    assert result.verdict is Verdict.NO_CHANGE
    assert result.design == "paired"
    assert result.run_noise > 0.15  # the drift, reported as cancelled
    assert "Paired over 10 A/B blocks" in result.reason
    slow = compare(base, _blocks(3000, DRIFT, ratio=1.25), paired=True)
    assert slow.verdict is Verdict.REGRESSION
    assert slow.ratio == pytest.approx(1.25, rel=0.06)


def test_one_pair_straddling_a_load_change_does_not_swing_the_verdict() -> None:
    """The neighbour's load starts right after the baseline's first block: that one pair's
    candidate block is 3x slower. The signed-rank centre shrugs it off."""
    drift = [1.0] * 30
    base = _blocks(5000, drift, n=18)
    cand = _blocks(6000, drift, n=18)
    straddled = Runs((np.asarray(cand.groups[0]) * 3.0, *cand.groups[1:]))
    result = compare(base, straddled, paired=True)
    assert result.verdict is Verdict.NO_CHANGE
    assert result.ratio < 1.1


def test_unpaired_the_same_drift_would_not_pass() -> None:
    # The candidate ran only in the loaded half of the time: unpaired, it looks slower.
    loaded = [1.6] * 10
    result = compare(
        np.concatenate(_blocks(1000, [1.0] * 10).groups),
        np.concatenate(_blocks(2000, loaded).groups),
    )
    assert result.verdict is Verdict.REGRESSION


def test_paired_blocks_must_match() -> None:
    with pytest.raises(ValueError, match="as many baseline as candidate blocks"):
        compare(_blocks(1, [1.0] * 3), _blocks(2, [1.0] * 4), paired=True)
    too_few = compare(_blocks(1, [1.0]), _blocks(2, [1.0]), paired=True)
    assert too_few.verdict is Verdict.INCONCLUSIVE


def test_paired_results_are_deterministic() -> None:
    base, cand = _blocks(7, DRIFT), _blocks(8, DRIFT, ratio=1.05)
    assert compare(base, cand, paired=True).to_dict() == compare(base, cand, paired=True).to_dict()


# --- files: runs, CPU time ------------------------------------------------------------------


def _write(
    path: Path, runs: dict[str, np.ndarray], cpu: bool = False, end_ns: int | None = None
) -> Path:
    with path.open("w") as out:
        for run_id, values in runs.items():
            req = request(values, names="decision_engine.decide", service="agent", end_ns=end_ns)
            rs = req.resource_spans[0]
            rs.resource.attributes.add(key=semconv.RUN_ID).value.string_value = run_id
            if cpu:
                for span, value in zip(rs.scope_spans[0].spans, values, strict=True):
                    kv = span.attributes.add(key=semconv.CPU_TIME_MS)
                    kv.value.double_value = float(value) / 4.0
            out.write(json.dumps(to_otlp_json(req)) + "\n")
    return path


def test_file_samples_group_by_run_id_and_read_cpu_time(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.jsonl", {"r1": lognormal(1, 50), "r2": lognormal(2, 70)}, cpu=True)
    wall, _ = file_samples([path])
    ((key, by_run),) = wall.items()
    assert key.name == "decision_engine.decide"
    assert {run: len(v) for run, v in by_run.items()} == {"r1": 50, "r2": 70}
    cpu, _ = file_samples([path], metric="cpu")
    assert np.allclose(cpu[key]["r1"], wall[key]["r1"] / 4.0, rtol=1e-6)
    with pytest.raises(ValueError, match="metric"):
        file_samples([path], metric="gpu")


def test_check_with_baseline_files_and_cpu_metric(tmp_path: Path) -> None:
    base = _write(
        tmp_path / "base.jsonl",
        {f"b{i}": lognormal(10 + i, 300) for i in range(6)},
        cpu=True,
    )
    cand = _write(tmp_path / "cand.jsonl", {"c": lognormal(20, 300, ratio=2.0)}, cpu=True)
    args = ["check", "--baseline-file", str(base), "--candidate-file", str(cand), "--json"]
    wall = CliRunner().invoke(main, args)
    assert wall.exit_code == 1, wall.output
    report = json.loads(wall.output)
    (comparison,) = report["comparisons"]
    assert comparison["design"] == "runs"
    assert comparison["baseline_runs"] == 6
    assert report["metric"] == "wall"
    cpu = CliRunner().invoke(main, [*args, "--metric", "cpu"])
    assert cpu.exit_code == 1, cpu.output
    assert json.loads(cpu.output)["metric"] == "cpu"
    no_cpu = _write(tmp_path / "nocpu.jsonl", {"c": lognormal(21, 300)})
    refused = CliRunner().invoke(
        main,
        [
            "check",
            "--baseline-file",
            str(no_cpu),
            "--candidate-file",
            str(no_cpu),
            "--metric",
            "cpu",
        ],
    )
    assert refused.exit_code == 2
    assert semconv.CPU_TIME_MS in refused.output


def test_check_needs_one_baseline(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--candidate-version", "v"])
    assert result.exit_code == 2
    assert "--baseline NAME or --baseline-file" in result.output


# --- offline ingest ---------------------------------------------------------------------------


def test_ingest_accepts_spans_older_than_the_retention_from_a_file(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    month_ago = time.time_ns() - 30 * 86_400 * 10**9
    old = _write(tmp_path / "old.jsonl", {"r": lognormal(1, 500)}, end_ns=month_ago)
    result = CliRunner().invoke(main, ["analyzer", "ingest", str(old), "--db", db])
    assert result.exit_code == 0, result.output
    assert "500 span(s) accepted, 0 rejected" in result.output
    assert "500 span(s) are older than the retention period" in result.output
    created = CliRunner().invoke(
        main, ["analyzer", "baseline", "create", "old", "--version", "1.0", "--db", db]
    )
    assert created.exit_code == 0, created.output
    assert "500 span(s)" in created.output


def test_ingest_exits_non_zero_when_it_accepted_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"resourceSpans": []}\n')
    result = CliRunner().invoke(main, ["analyzer", "ingest", str(empty), "--db", db])
    assert result.exit_code == 1
    assert "no span was accepted" in result.output
