"""Benchmarks of the analyzer's statistics and streaming detector (fixed seeds, no timed asserts).

Smoke size (CI) runs in seconds and checks that what it measured is sane; ``make bench``
(``--bench-size=full``) runs the sizes the figures in the README come from:

* detection power for a true 10% regression, log-normal latencies (log-sigma 0.5), 900 per side;
* false-alarm rate: no change, 12 operations compared together with Benjamini-Hochberg;
* streaming CUSUM: delay after a 10% step (median, p95) and false alarms before it;
* quantile error of ``ddsketch.DDSketch`` against exact quantiles;
* the time of one ``compare`` at 900 and 2,000 per side, and of one detector update.

Each figure is compared with a baseline measured in the same run (the rank test alone, the
scipy calls a naive implementation would make, a detector that knows the true parameters).
"""

from __future__ import annotations

import math
import statistics as pystats
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pytest
from ddsketch import DDSketch
from scipy import stats

from mcp_agent_otel.regression.centre_tests import hodges_lehmann_ratio
from mcp_agent_otel.regression.comparison import Verdict
from mcp_agent_otel.regression.cusum import CusumDetector
from mcp_agent_otel.regression.gate_defaults import DEFAULT_ALPHA
from mcp_agent_otel.regression.statistics import compare, compare_many
from mcp_agent_otel.regression.tail_tests import quantiles

if TYPE_CHECKING:
    from tests.conftest import BenchRecorder

pytestmark = pytest.mark.bench

LOG_SIGMA = 0.5
STEP = 1.10
PER_SIDE = 900
OPERATIONS = 12
SEED = 20240601


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion."""
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    )
    return max(0.0, centre - half), min(1.0, centre + half)


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return pystats.median(times)


def test_detection_power_for_a_true_10_percent_regression(bench: BenchRecorder) -> None:
    trials = bench.n(200, 2000)
    rng = np.random.default_rng(SEED)
    counts = dict.fromkeys(Verdict, 0)
    rank_test_hits = 0
    for _ in range(trials):
        baseline = rng.lognormal(0.0, LOG_SIGMA, PER_SIDE)
        candidate = rng.lognormal(math.log(STEP), LOG_SIGMA, PER_SIDE)
        counts[compare(baseline, candidate).verdict] += 1
        u_test = stats.mannwhitneyu(candidate, baseline, alternative="greater")
        rank_test_hits += bool(u_test.pvalue < DEFAULT_ALPHA)
    detected = counts[Verdict.REGRESSION]
    power = detected / trials
    low, high = wilson(detected, trials)
    rank_power = rank_test_hits / trials
    print(
        f"\npower at {PER_SIDE}/side, true ratio {STEP}, alpha {DEFAULT_ALPHA}: {power:.4f} "
        f"(95% CI {low:.4f}-{high:.4f}; {trials} trials) verdicts "
        f"{ {v.value: c for v, c in counts.items()} }; Mann-Whitney alone: {rank_power:.4f} "
        f"(ratio {power / rank_power:.3f})"
    )
    assert sum(counts.values()) == trials
    assert 0.0 <= power <= 1.0
    assert power > 0.5, "a true 10% regression at 900/side must be detected most of the time"
    assert counts[Verdict.IMPROVEMENT] == 0
    bench.record(
        "power_10pct_regression_900_per_side",
        power,
        "fraction",
        target=">= 0.95",
        met=power >= 0.95,
        note=f"{trials} trials, 95% CI {low:.4f}-{high:.4f}, alpha {DEFAULT_ALPHA}",
    )
    bench.record(
        "power_mann_whitney_alone_same_data",
        rank_power,
        "fraction",
        note="baseline: one-sided Mann-Whitney U at the same alpha, no magnitude rule",
    )


def test_false_alarm_rate_over_12_operations_with_no_change(bench: BenchRecorder) -> None:
    runs = bench.n(50, 2000)
    rng = np.random.default_rng(SEED + 1)
    alarmed = 0
    significant_at_05 = 0
    verdicts = dict.fromkeys(Verdict, 0)
    for _ in range(runs):
        samples = {
            f"svc|op{i:02d}": (
                rng.lognormal(0.0, LOG_SIGMA, PER_SIDE),
                rng.lognormal(0.0, LOG_SIGMA, PER_SIDE),
            )
            for i in range(OPERATIONS)
        }
        results = compare_many(samples)
        for r in results:
            verdicts[r.verdict] += 1
        alarmed += any(r.verdict is Verdict.REGRESSION for r in results)
        # BH-adjusted p-values do not depend on alpha: the significance half of the verdict
        # at the conventional 0.05 (the equivalence half never vetoes it at this size).
        significant_at_05 += any(r.ratio > 1 and r.p_adjusted < 0.05 for r in results)
    rate = alarmed / runs
    low, high = wilson(alarmed, runs)
    rate_05 = significant_at_05 / runs
    print(
        f"\nruns with any regression alarm, {OPERATIONS} unchanged operations, BH at alpha "
        f"{DEFAULT_ALPHA}: {rate:.4f} (95% CI {low:.4f}-{high:.4f}; {runs} runs); verdicts "
        f"{ {v.value: c for v, c in verdicts.items()} }; at alpha 0.05 it would be {rate_05:.4f}"
    )
    assert sum(verdicts.values()) == runs * OPERATIONS
    assert 0.0 <= rate <= rate_05 <= 1.0
    assert rate < 0.2
    bench.record(
        "false_alarm_runs_12_ops_no_change",
        rate,
        "fraction",
        target="<= 0.01",
        met=rate <= 0.01,
        note=f"{runs} runs, 95% CI {low:.4f}-{high:.4f}, BH at alpha {DEFAULT_ALPHA}",
    )
    bench.record(
        "false_alarm_runs_12_ops_bh_alpha_0.05",
        rate_05,
        "fraction",
        note="baseline: the same runs judged at alpha 0.05 (BH-significant slowdown)",
    )


def _stream(
    detector: CusumDetector, rng: np.random.Generator, pre: int, cap: int
) -> tuple[int, float]:
    """Feed ``pre`` unchanged spans then a 10% step; (false alarms before it, delay in spans)."""
    false_alarms = len(detector.update_many(rng.lognormal(0.0, LOG_SIGMA, pre)))
    after = detector.update_many(rng.lognormal(math.log(STEP), LOG_SIGMA, cap))
    delay = after[0].index - pre + 1 if after else math.inf
    return false_alarms, delay


def test_streaming_detection_delay_and_false_alarms(bench: BenchRecorder) -> None:
    streams = bench.n(25, 1000)
    pre, cap, baseline_spans = 10_000, 5_000, 2_000
    results: dict[str, tuple[list[float], int, int]] = {}
    for label, estimated in (("estimated", True), ("known", False)):
        rng = np.random.default_rng(SEED + 2)
        delays: list[float] = []
        alarms = exposure = 0
        for _ in range(streams):
            baseline = rng.lognormal(0.0, LOG_SIGMA, baseline_spans)
            detector = (
                CusumDetector.from_baseline("svc|op", baseline)
                if estimated
                else CusumDetector("svc|op", 0.0, LOG_SIGMA)
            )
            false_alarms, delay = _stream(detector, rng, pre, cap)
            alarms += false_alarms
            exposure += pre - false_alarms * detector.cooldown
            delays.append(delay)
        results[label] = (delays, alarms, exposure)
    delays, alarms, exposure = results["estimated"]
    finite = [d for d in delays if math.isfinite(d)]
    missed = 1.0 - len(finite) / len(delays)
    median = float(np.median(delays)) if finite else math.inf
    p95 = float(np.percentile(finite, 95)) if finite else math.inf
    per_10k = alarms / exposure * 10_000
    arl0 = exposure / alarms if alarms else float(exposure)
    known_delays, known_alarms, known_exposure = results["known"]
    known_median = float(np.median(known_delays))
    known_per_10k = known_alarms / known_exposure * 10_000
    print(
        f"\nCUSUM, 10% step at log-sigma {LOG_SIGMA}, {streams} streams, baselines of "
        f"{baseline_spans} spans: delay median {median:.0f} p95 {p95:.0f} spans, missed "
        f"{missed:.3f}; {alarms} false alarms in {exposure} spans = {per_10k:.3f}/10k "
        f"(ARL0 {'>=' if not alarms else '~'}{arl0:.0f}); with the true parameters: delay median "
        f"{known_median:.0f}, {known_alarms} false alarms = {known_per_10k:.3f}/10k"
    )
    assert len(delays) == streams
    assert finite, "the step must be detected in some streams"
    assert math.isfinite(median)
    assert median > 0
    assert p95 >= median
    assert per_10k >= 0
    bench.record("stream_delay_median_spans", median, "spans", target="<= 400", met=median <= 400)
    bench.record(
        "stream_delay_p95_spans",
        p95,
        "spans",
        target="<= 400",
        met=p95 <= 400,
        note=f"missed within {cap}: {missed:.3f}",
    )
    bench.record(
        "stream_false_alarms_per_10k_spans",
        per_10k,
        "alarms",
        note=f"{alarms} in {exposure} spans, baselines of {baseline_spans} spans",
    )
    bench.record(
        "stream_arl0_spans",
        arl0,
        "spans",
        note="exposure / false alarms" + ("" if alarms else " (no alarm: a lower bound)"),
    )
    bench.record(
        "stream_false_alarms_per_10k_known_parameters",
        known_per_10k,
        "alarms",
        note="baseline: detectors given the true log mean and sigma",
    )


@pytest.mark.parametrize("relative_accuracy", [0.005, 0.01])
def test_quantile_error_of_ddsketch(bench: BenchRecorder, relative_accuracy: float) -> None:
    n = bench.n(20_000, 1_000_000)
    rng = np.random.default_rng(SEED + 3)
    data = {
        "lognormal_sigma_0.5": rng.lognormal(3.0, 0.5, n),
        "lognormal_sigma_1.5": rng.lognormal(3.0, 1.5, n),
        "bimodal_cache_hit_miss": np.where(
            rng.random(n) < 0.8, rng.lognormal(0.0, 0.3, n), rng.lognormal(4.0, 0.8, n)
        ),
    }
    qs = (0.5, 0.95, 0.99)
    worst = 0.0
    for name, values in data.items():
        sketch = DDSketch(relative_accuracy=relative_accuracy)
        for v in values.tolist():
            sketch.add(v)
        exact = quantiles(values, qs)
        ordered = np.sort(values)
        errors = {}
        for q in qs:
            got = sketch.get_quantile_value(q)
            assert got is not None
            # the library's guarantee: within relative_accuracy of the order statistic at its rank
            at_rank = ordered[math.floor(q * (n - 1))]
            assert abs(got - at_rank) <= relative_accuracy * at_rank * (1 + 1e-9)
            label = f"p{round(q * 100):d}"
            errors[label] = abs(got - exact[label]) / exact[label]
        worst = max(worst, *errors.values())
        print(
            f"\nDDSketch({relative_accuracy}) on {n} {name}: relative error against exact "
            + ", ".join(f"{k} {v:.5f}" for k, v in errors.items())
        )
    bench.record(
        f"ddsketch_{relative_accuracy}_max_rel_error_p50_p95_p99",
        worst,
        "fraction",
        target="<= 0.01",
        met=worst <= 0.01,
        note=f"{n} values x 3 distributions, against exact (interpolated) quantiles",
    )


def test_time_of_one_compare(bench: BenchRecorder) -> None:
    repeats = bench.n(15, 200)
    rng = np.random.default_rng(SEED + 4)
    for per_side in (PER_SIDE, 2_000):
        baseline = rng.lognormal(0.0, LOG_SIGMA, per_side)
        candidate = rng.lognormal(math.log(STEP), LOG_SIGMA, per_side)
        result = compare(baseline, candidate)
        assert result.verdict in set(Verdict)
        ours = median_seconds(lambda b=baseline, c=candidate: compare(b, c), repeats)
        log_b, log_c = np.log(baseline), np.log(candidate)

        def scipy_tests(lb: np.ndarray = log_b, lc: np.ndarray = log_c) -> None:
            stats.ttest_ind(lc, lb, equal_var=False, alternative="greater")
            stats.mannwhitneyu(lc, lb, alternative="greater")

        reference = median_seconds(scipy_tests, repeats)

        def materialized_hl(lb: np.ndarray = log_b, lc: np.ndarray = log_c) -> float:
            return float(np.median(np.subtract.outer(lc, lb)))

        brute = median_seconds(materialized_hl, max(3, repeats // 5))
        hl_ours = median_seconds(
            lambda b=baseline, c=candidate: hodges_lehmann_ratio(b, c), repeats
        )
        assert math.log(hodges_lehmann_ratio(baseline, candidate)[0]) == pytest.approx(
            materialized_hl(), abs=1e-12
        )
        print(
            f"\ncompare at {per_side}/side: {ours * 1e3:.2f} ms (scipy Welch + Mann-Whitney "
            f"alone {reference * 1e3:.2f} ms, ratio {ours / reference:.1f}x); HL estimate + CI "
            f"{hl_ours * 1e3:.2f} ms vs median of all pairwise differences "
            f"{brute * 1e3:.2f} ms (speed-up {brute / hl_ours:.1f}x)"
        )
        bench.record(
            f"compare_time_{per_side}_per_side",
            ours * 1e3,
            "ms",
            note=f"median of {repeats}; scipy tests alone {reference * 1e3:.2f} ms",
        )
        bench.record(
            f"hl_speedup_vs_materialized_median_{per_side}_per_side",
            brute / hl_ours,
            "x",
            note=f"ours {hl_ours * 1e3:.2f} ms, np.median of all pairs {brute * 1e3:.2f} ms",
        )


def test_time_of_one_detector_update(bench: BenchRecorder) -> None:
    n = bench.n(50_000, 1_000_000)
    batch = 1_000
    rng = np.random.default_rng(SEED + 5)
    data = np.concatenate(
        [rng.lognormal(0.0, LOG_SIGMA, n // 2), rng.lognormal(math.log(1.3), LOG_SIGMA, n // 2)]
    )
    values = data.tolist()
    one_by_one = CusumDetector("svc|op", 0.0, LOG_SIGMA)
    start = time.perf_counter()
    expected = [a for a in map(one_by_one.update, values) if a is not None]
    per_update = (time.perf_counter() - start) / n
    batched = CusumDetector("svc|op", 0.0, LOG_SIGMA)
    start = time.perf_counter()
    got = []
    for i in range(0, n, batch):
        got += batched.update_many(data[i : i + batch])
    per_batched = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for v in values:
        math.log(v)
    floor = (time.perf_counter() - start) / n
    assert one_by_one.index == batched.index == n
    assert [a.index for a in got] == [a.index for a in expected]
    assert len(expected) >= 1
    print(
        f"\nCusumDetector: update {per_update * 1e6:.2f} us per span "
        f"({1 / per_update:,.0f} spans/s; a bare math.log loop {floor * 1e6:.2f} us, ratio "
        f"{per_update / floor:.1f}x); update_many in batches of {batch}: "
        f"{per_batched * 1e6:.3f} us per span ({1 / per_batched:,.0f} spans/s, "
        f"{per_update / per_batched:.0f}x faster than one by one)"
    )
    bench.record("detector_update_time", per_update * 1e6, "us", note=f"{n} updates")
    bench.record(
        "detector_update_many_time_per_span",
        per_batched * 1e6,
        "us",
        note=f"{n} spans in batches of {batch}; update one by one {per_update * 1e6:.2f} us",
    )
