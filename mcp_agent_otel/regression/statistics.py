"""Regression statistics: pure functions over plain arrays of durations (numpy/scipy, no I/O).

The question asked of each operation is "did the candidate get slower (or faster) than the
baseline by more than ``threshold``?". Latency is heavy-tailed and close to log-normal, so
every computation works on **log durations**, where a relative slowdown is a shift.

How a comparison is decided (``compare`` / ``compare_many``). The gate protects against
slowdowns, so every question is one-sided ("is the candidate slower?"), and each operation is
judged on three statistics: the centre ("median") and the tail quantiles p95 and p99.

* **Centre, independent spans: Welch's t-test on log durations** for significance (on the log
  scale latency is near-normal and a relative change is a shift, where this test is the most
  powerful; the Mann-Whitney U test loses 1 - 3/pi of efficiency, the point of power that
  decides the 95% target at 900 per side) and **the Hodges-Lehmann ratio** (median of all
  pairwise log differences) with its distribution-free Moses/Lehmann bounds for the magnitude,
  so outliers that move the log-mean without moving the bulk cannot alone make a regression.
* **Tails: the ratio of sample quantiles p95 and p99**, its standard error from the order
  statistics that bracket each quantile (``log_quantile_se``: distribution-free, no density
  estimate, no resampling), a one-sided normal test. A tail is tested only when the sample
  brackets it (about 600 spans per side for p99, 120 for p95).
* **One family: weighted Benjamini-Hochberg** over every statistic of every operation compared
  together. The centres share ``CENTRE_SHARE`` (90%) of the level and the tails the rest, so
  adding two tail tests per operation costs the centre test almost no power while a spread
  regression (p95 1.64x at 900 per side, z ~ 7) is still found. Under no change at all the
  chance of any regression is at most ``alpha``.
* **Verdict**, with ``m = log(1 + threshold)``:

  1. fewer than ``min_samples`` on a side: ``INCONCLUSIVE``;
  2. any statistic significantly slower (weighted-BH adjusted p < ``alpha``) whose one-sided
     ``1 - alpha`` upper bound reaches ``m`` (a slowdown of the threshold is not ruled out):
     ``REGRESSION``, naming the statistics that moved ("p95 1.640x slower, median unchanged");
  3. else, the centre's one-sided ``pass_confidence`` upper bound below ``m`` (a slowdown of
     the threshold is ruled out): a pass, ``IMPROVEMENT`` when significantly faster by as much
     as the threshold, else ``NO_CHANGE``. Faster never blocks;
  4. else ``INCONCLUSIVE`` (only in between: nothing significant, nothing ruled out), with
     ``required_n``.

  The tails can fail a build; they cannot hold it up: at CI sizes a p99 rests on a handful of
  spans and could never rule out a 10% change, so requiring it would make every gate
  inconclusive.
* **Why alpha 0.01 and pass confidence 0.85** (measured by
  ``tests/performance/test_bench_gate_rates.py``, 900 spans per side, log-sigma 0.5): a 10%
  shift sits 4.0 standard errors from no change. Power >= 95% for that shift needs the centre's
  one-sided level near 0.009 (``alpha`` 0.01 x the 90% share). Twelve unchanged operations pass
  together >= 95% of the time only if each fails to rule out 10% in <= ~0.3% of runs, which
  with the Hodges-Lehmann bound (efficiency 0.955) needs ``pass_confidence`` <= ~0.87; at 0.90
  only 93.7% of such runs passed. Because rule 2 comes before rule 3, a lower pass confidence
  never lets a significant threshold-sized slowdown through.
* **Runs as the unit of evidence.** A side given as ``Runs`` (its spans grouped by run id), or
  as ``SampledRuns`` (a stored baseline: a sample of its spans and each run's summary), with
  several runs gives the run-to-run variance of the log level (one-way random effects, method
  of moments, floored at 0); it is added to the centre's and the tails' variances as
  ``tau^2 (1/runs_b + 1/runs_c)`` with Satterthwaite degrees of freedom: the candidate's run
  cannot be more certain than the runner's run-to-run noise, which the verdict reports. The
  centre is then the difference of log means (Welch), as the random-effects model assumes.
* **Paired A/B blocks** (``paired=True``): baseline block i and candidate block i ran back to
  back on the same machine. The centre is the Hodges-Lehmann pseudo-median of the per-block
  differences of log means with Tukey's bounds and the one-sided Wilcoxon signed-rank test, so
  drift the two share cancels and the one pair that straddles a sudden change (a neighbour's
  load starting between its blocks) cannot swing the verdict; the tails are the pooled
  quantile ratios with a seeded bootstrap over block pairs.
* ``required_n`` (for ``INCONCLUSIVE``) is the per-side size that decides with 95% power at the
  observed log spread: the classic ``(sb^2 + sc^2) (z_{1-alpha} + z_{0.95})^2 / e^2`` with
  ``e = log(1 + threshold)`` when the observed change is zero or the threshold, and larger (up to
  4x) when the observed change sits between them, where ``e = max(|d|, m - |d|)`` is the distance
  the interval must resolve. With too few samples to trust ``d``, ``e = m``.

Exactness and determinism: no resampling except the seeded bootstrap of paired blocks. The
pairwise-difference order statistics are exact at every size; above ``DIRECT_PAIRS_LIMIT`` pairs
they are found without materializing the ``n*m`` differences, by bisecting on the value with an
exact count per row (``searchsorted`` on the sorted samples, corrected for rounding) and sorting
only the few differences left in the final bracket: memory O(n + m), time O((n + m) log(n) *
steps). Durations are rescaled by a power of two (from the pooled median) before taking logs, so
multiplying both samples by any power of two gives bit-identical results; swapping baseline and
candidate gives exactly the mirrored result.

Where the pieces live (all pure): this module is the rule (measure every statistic, one
family, decide, explain); ``centre_tests`` (Hodges-Lehmann, Welch, signed-rank),
``tail_tests`` (quantiles, their standard errors, the paired bootstrap), ``run_variance``
(``Runs`` and the run-to-run variance), ``multiple_testing`` (Benjamini-Hochberg),
``sample_size``, ``one_sided`` (one statistic's one-sided test), ``log_durations`` (input
validation and logs) and ``comparison`` (the result types; the defaults: ``gate_defaults``). The
public names are importable from here as well. (This module is a little over 500 lines, a
fifth of them this description: the rule and its reasons are kept in one place.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mcp_agent_otel.regression.centre_tests import (
    hodges_lehmann_log,
    hodges_lehmann_ratio,
    pairwise_difference_order_statistics,
    signed_rank_stat,
    welch_log,
)
from mcp_agent_otel.regression.comparison import Comparison, StatisticTest, Verdict
from mcp_agent_otel.regression.gate_defaults import (
    DEFAULT_ALPHA,
    DEFAULT_MIN_SAMPLES,
    DEFAULT_PASS_CONFIDENCE,
    DEFAULT_THRESHOLD,
)
from mcp_agent_otel.regression.log_durations import (
    FloatArray,
    as_durations,
    exp_ratio,
    log_durations,
)
from mcp_agent_otel.regression.multiple_testing import benjamini_hochberg
from mcp_agent_otel.regression.one_sided import Stat, normal_stat
from mcp_agent_otel.regression.run_variance import (
    Runs,
    SampledRuns,
    Side,
    run_noise,
    side_durations,
)
from mcp_agent_otel.regression.sample_size import (
    REQUIRED_POWER,
    required_sample_size,
    required_sample_size_for_log_effect,
)
from mcp_agent_otel.regression.tail_tests import (
    bootstrap_paired_quantiles,
    log_quantile_se,
    quantile_label,
    quantiles,
)

# The public names of the comparison, importable from here as before the split.
__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_MIN_SAMPLES",
    "DEFAULT_PASS_CONFIDENCE",
    "DEFAULT_THRESHOLD",
    "Comparison",
    "Runs",
    "SampledRuns",
    "Side",
    "StatisticTest",
    "Verdict",
    "as_durations",
    "benjamini_hochberg",
    "compare",
    "compare_many",
    "hodges_lehmann_ratio",
    "pairwise_difference_order_statistics",
    "quantile_label",
    "quantiles",
    "required_sample_size",
    "required_sample_size_for_log_effect",
]

# The tail quantiles compared besides the centre (same weighted Benjamini-Hochberg family).
TAIL_QUANTILES = (0.95, 0.99)
# Share of the family's level given to the centre tests (the tails share the rest).
CENTRE_SHARE = 0.9


def _check_parameters(threshold: float, alpha: float, min_samples: int) -> None:
    if not (math.isfinite(threshold) and threshold > 0.0):
        raise ValueError(
            f"threshold must be a positive relative slowdown such as 0.10 (10%), got {threshold!r}"
        )
    if not (0.0 < alpha < 0.5):
        raise ValueError(f"alpha must be in (0, 0.5), e.g. 0.01 or 0.05; got {alpha!r}")
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 2:
        raise ValueError(f"min_samples must be an integer >= 2, got {min_samples!r}")


@dataclass(frozen=True)
class _Measured:
    operation: str
    nb: int
    nc: int
    design: str
    runs_b: int
    runs_c: int
    noise: float  # run-to-run (or block-to-block) noise of the log level, as a log sd
    stats: tuple[Stat, ...]  # centre first, then the testable tail quantiles
    spread_sq: float
    enough: bool


def _measure(
    operation: str,
    baseline: Side,
    candidate: Side,
    alpha: float,
    pass_confidence: float,
    min_samples: int,
    paired: bool,
) -> _Measured:
    label = f"operation {operation!r}: " if operation else ""
    base, groups_b, summaries_b = side_durations(baseline, f"{label}baseline")
    cand, groups_c, summaries_c = side_durations(candidate, f"{label}candidate")
    log_b, log_c = log_durations(base, cand)
    # Sorted once: the HL selection needs it, and it makes every sum independent of input order.
    log_b, log_c = np.sort(log_b), np.sort(log_c)
    welch = welch_log(log_b, log_c)
    enough = base.size >= min_samples and cand.size >= min_samples and math.isfinite(welch.p_slower)
    runs_b, runs_c = len(summaries_b), len(summaries_c)
    if paired:
        if isinstance(baseline, SampledRuns) or isinstance(candidate, SampledRuns):
            raise ValueError(
                f"{label}a paired comparison needs the spans of every A/B block; a stored "
                "baseline keeps a sample of its spans only (compare spans files instead)"
            )
        if runs_b != runs_c:
            raise ValueError(
                f"{label}paired comparison needs as many baseline as candidate blocks, got "
                f"{runs_b} and {runs_c}; run the builds in alternating blocks of equal number"
            )
        return _measure_paired(
            operation, groups_b, groups_c, welch.spread_sq, alpha, pass_confidence, enough
        )
    noise = run_noise(summaries_b, summaries_c)
    design = "runs" if noise.df > 0 else "independent"
    if design == "runs":
        se, df = noise.widen(welch.se, welch.df)
        d = float(np.mean(log_c) - np.mean(log_b)) if enough else math.nan
        centre = normal_stat("median", d, se, df, alpha, pass_confidence)
    else:
        est, bounds = hodges_lehmann_log(log_b, log_c, (alpha, 1.0 - pass_confidence))
        (low, high), (_, high_pass) = bounds
        centre = Stat("median", est, high, low, high_pass, welch.p_slower, welch.p_faster)
    stats = [centre]
    if enough:
        for q in TAIL_QUANTILES:
            se_q = math.hypot(log_quantile_se(log_b, q), log_quantile_se(log_c, q))
            if not math.isfinite(se_q):
                continue
            d_q = float(np.quantile(log_c, q) - np.quantile(log_b, q))
            se_q, df_q = noise.widen(se_q, math.inf)
            stats.append(normal_stat(quantile_label(q), d_q, se_q, df_q, alpha, pass_confidence))
    return _Measured(
        operation,
        base.size,
        cand.size,
        design,
        runs_b,
        runs_c,
        math.sqrt(noise.tau_sq) if noise.df else math.nan,
        tuple(stats),
        welch.spread_sq,
        enough,
    )


def _measure_paired(
    operation: str,
    groups_b: tuple[FloatArray, ...],
    groups_c: tuple[FloatArray, ...],
    spread_sq: float,
    alpha: float,
    pass_confidence: float,
    enough: bool,
) -> _Measured:
    """Blocks as pairs: the centre is the pseudo-median of the per-block differences of log
    means (Wilcoxon signed-rank, ``signed_rank_stat``); the tails are the pooled quantile
    ratios with a bootstrap over block pairs. Drift that both builds of a block share cancels."""
    nb = sum(g.size for g in groups_b)
    nc = sum(g.size for g in groups_c)
    blocks = len(groups_b)
    means_b = np.array([float(np.mean(np.log(g))) for g in groups_b])
    means_c = np.array([float(np.mean(np.log(g))) for g in groups_c])
    diffs = means_c - means_b
    enough = enough and blocks >= 2
    drift = float(np.std(means_b, ddof=1)) if blocks >= 2 else math.nan
    if not enough:
        stat = Stat("median", math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
        return _Measured(
            operation, nb, nc, "paired", blocks, blocks, drift, (stat,), spread_sq, False
        )
    stats = [signed_rank_stat("median", diffs, alpha, pass_confidence)]
    log_b = np.log(np.concatenate(groups_b))
    log_c = np.log(np.concatenate(groups_c))
    testable = [
        q
        for q in TAIL_QUANTILES
        if math.isfinite(log_quantile_se(np.sort(log_b), q))
        and math.isfinite(log_quantile_se(np.sort(log_c), q))
    ]
    if testable:
        ses = bootstrap_paired_quantiles(groups_b, groups_c, testable)
        point = np.quantile(log_c, testable) - np.quantile(log_b, testable)
        for q, d_q, se_q in zip(testable, point.tolist(), ses.tolist(), strict=True):
            stats.append(
                normal_stat(quantile_label(q), d_q, se_q, blocks - 1, alpha, pass_confidence)
            )
    return _Measured(
        operation, nb, nc, "paired", blocks, blocks, drift, tuple(stats), spread_sq, True
    )


def _pct(log_ratio: float) -> str:
    return f"{abs(exp_ratio(log_ratio) - 1.0) * 100.0:.1f}%"


def _required_n(m: _Measured, threshold: float, alpha: float, min_samples: int) -> int:
    margin = math.log1p(threshold)
    spread_sq = m.spread_sq
    if not math.isfinite(spread_sq):
        return min_samples
    effect = margin
    log_ratio = m.stats[0].log_ratio
    if m.enough and math.isfinite(log_ratio):
        effect = max(abs(log_ratio), margin - abs(log_ratio))
    sigma = math.sqrt(spread_sq / 2.0)
    n = required_sample_size_for_log_effect(sigma, effect, alpha, REQUIRED_POWER)
    floor = min(m.nb, m.nc) + 1 if m.enough else min_samples
    return max(n, floor, min_samples)


def _x(log_ratio: float) -> str:
    return f"{exp_ratio(log_ratio):.3f}×"


def _moved(tests: Sequence[tuple[Stat, float, bool]], alpha: float, margin: float) -> str:
    """ "p95 1.640× slower (...), median unchanged (1.002×)": what moved and what did not."""
    parts: list[str] = []
    for stat, p_adj, regressed in tests:
        if regressed:
            parts.append(
                f"{stat.name} {_x(stat.log_ratio)} slower (up to {_x(stat.log_upper)} at "
                f"{1.0 - alpha:.0%}, adjusted p {p_adj:.2g})"
            )
    for stat, p_adj, regressed in tests:
        if not regressed and math.isfinite(stat.log_ratio):
            if p_adj < alpha:
                still = "slower, within the threshold"
            elif abs(stat.log_ratio) < margin / 2.0:
                still = "unchanged"
            else:
                still = "not significantly changed"
            parts.append(f"{stat.name} {still} ({_x(stat.log_ratio)})")
    return ", ".join(parts)


def _noise_note(m: _Measured) -> str:
    if m.design == "paired":
        drift = f" (block-to-block drift {_pct(m.noise)} cancelled)" if m.enough else ""
        return f" Paired over {m.runs_b} A/B blocks{drift}."
    if m.design == "runs":
        return (
            f" Run-to-run noise {_pct(m.noise)} (baseline {m.runs_b} run(s), candidate "
            f"{m.runs_c}) widens the comparison."
        )
    return ""


def _decide(
    m: _Measured,
    p_adjusted: Sequence[float],
    p_adj_faster: float,
    threshold: float,
    alpha: float,
    pass_confidence: float,
    min_samples: int,
) -> Comparison:
    margin = math.log1p(threshold)
    centre = m.stats[0]
    regressed = [
        m.enough and p < alpha and s.log_upper >= margin
        for s, p in zip(m.stats, p_adjusted, strict=True)
    ]
    tests = list(zip(m.stats, p_adjusted, regressed, strict=True))
    required_n: int | None = None
    note = _noise_note(m)
    if not m.enough:
        verdict = Verdict.INCONCLUSIVE
        required_n = _required_n(m, threshold, alpha, min_samples)
        what = "; at least 2 A/B blocks are needed" if m.design == "paired" and m.runs_b < 2 else ""
        reason = (
            f"Too few samples (baseline {m.nb}, candidate {m.nc}; at least {min_samples} per "
            f"side are needed to test{what}); about {required_n} per side would decide."
        )
    elif any(regressed):
        verdict = Verdict.REGRESSION
        reason = (
            f"{_moved(tests, alpha, margin)}: significantly slower and a slowdown of "
            f"{threshold:.0%} or more is not ruled out.{note}"
        )
    elif centre.log_upper_pass < margin:
        faster = p_adj_faster < alpha and centre.log_ratio < 0.0 and centre.log_low <= -margin
        verdict = Verdict.IMPROVEMENT if faster else Verdict.NO_CHANGE
        reason = (
            f"A {threshold:.0%} slowdown is ruled out at {pass_confidence:.0%} confidence: "
            f"median {_x(centre.log_ratio)} (up to {_x(centre.log_upper_pass)})"
            + "".join(f", {part}" for part in [_moved(tests[1:], alpha, margin)] if part)
            + f"; nothing significantly slower.{note}"
        )
        if faster:
            reason = f"{_pct(centre.log_ratio)} faster. " + reason
    else:
        verdict = Verdict.INCONCLUSIVE
        required_n = _required_n(m, threshold, alpha, min_samples)
        reason = (
            f"Median {_x(centre.log_ratio)}, up to {_x(centre.log_upper_pass)} at "
            f"{pass_confidence:.0%}: a {threshold:.0%} slowdown is not ruled out, yet nothing "
            f"is significantly slower (adjusted p {min(p_adjusted):.2g} >= {alpha:g}); about "
            f"{required_n} per side would decide.{note}"
        )
    slower_side = not (centre.log_ratio < 0.0)
    return Comparison(
        operation=m.operation,
        baseline_n=m.nb,
        candidate_n=m.nc,
        ratio=exp_ratio(centre.log_ratio),
        ratio_ci_low=exp_ratio(centre.log_low),
        ratio_ci_high=exp_ratio(centre.log_upper),
        p_value=centre.p_slower if slower_side else centre.p_faster,
        p_adjusted=(p_adjusted[0] if slower_side else p_adj_faster) if m.enough else math.nan,
        verdict=verdict,
        threshold=threshold,
        required_n=required_n,
        reason=reason,
        alpha=alpha,
        confidence=1.0 - 2.0 * alpha,
        pass_confidence=pass_confidence,
        tests=tuple(
            StatisticTest(
                name=s.name,
                ratio=exp_ratio(s.log_ratio),
                upper=exp_ratio(s.log_upper),
                upper_pass=exp_ratio(s.log_upper_pass),
                p_value=s.p_slower,
                p_adjusted=p if m.enough else math.nan,
                regressed=r,
            )
            for s, p, r in tests
        ),
        design=m.design,
        baseline_runs=m.runs_b,
        candidate_runs=m.runs_c,
        run_noise=exp_ratio(m.noise) - 1.0 if math.isfinite(m.noise) else math.nan,
    )


def _family_weights(measured: Sequence[_Measured]) -> list[list[float]]:
    """Weighted-BH weights (mean 1 over the family): the centres share ``CENTRE_SHARE`` of the
    level, the tail quantiles the rest, so adding tails costs the centre test little power."""
    tested = [m for m in measured if m.enough]
    centres = len(tested)
    tails = sum(len(m.stats) - 1 for m in tested)
    total = centres + tails
    share = CENTRE_SHARE if tails else 1.0
    weights = []
    for m in measured:
        if not m.enough:
            weights.append([0.0] * len(m.stats))
            continue
        tail_w = total * (1.0 - share) / tails if tails else 0.0
        weights.append([total * share / centres] + [tail_w] * (len(m.stats) - 1))
    return weights


def compare_many(
    samples: Mapping[str, tuple[Side, Side]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    min_samples: int = DEFAULT_MIN_SAMPLES,
    pass_confidence: float = DEFAULT_PASS_CONFIDENCE,
    paired: bool = False,
) -> list[Comparison]:
    """Compare every operation's (baseline, candidate) durations; BH across them; sorted by name.

    A side is a flat sequence of durations (independent spans) or ``Runs`` (grouped by run);
    with ``paired`` both sides are ``Runs`` of A/B blocks, block i of one side paired with
    block i of the other. Raises ValueError naming the operation when any duration is not a
    positive finite number (or paired blocks do not match).
    """
    _check_parameters(threshold, alpha, min_samples)
    if not (0.5 <= pass_confidence < 1.0):
        raise ValueError(f"pass_confidence must be in [0.5, 1), e.g. 0.9; got {pass_confidence!r}")
    measured = [
        _measure(op, base, cand, alpha, pass_confidence, min_samples, paired)
        for op, (base, cand) in sorted(samples.items())
    ]
    weights = _family_weights(measured)
    flat_p = [s.p_slower for m in measured if m.enough for s in m.stats]
    flat_w = [w for m, ws in zip(measured, weights, strict=True) if m.enough for w in ws]
    adjusted = iter(benjamini_hochberg(flat_p, flat_w))
    slower = [
        [next(adjusted) for _ in m.stats] if m.enough else [math.nan] * len(m.stats)
        for m in measured
    ]
    tested = [i for i, m in enumerate(measured) if m.enough]
    adj_faster = dict(
        zip(
            tested,
            benjamini_hochberg([measured[i].stats[0].p_faster for i in tested]),
            strict=True,
        )
    )
    return [
        _decide(
            m,
            slower[i],
            adj_faster.get(i, math.nan),
            threshold,
            alpha,
            pass_confidence,
            min_samples,
        )
        for i, m in enumerate(measured)
    ]


def compare(
    baseline: Side,
    candidate: Side,
    *,
    operation: str = "",
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    min_samples: int = DEFAULT_MIN_SAMPLES,
    pass_confidence: float = DEFAULT_PASS_CONFIDENCE,
    paired: bool = False,
) -> Comparison:
    """Compare one operation's candidate durations against its baseline (see the module doc)."""
    return compare_many(
        {operation: (baseline, candidate)},
        threshold=threshold,
        alpha=alpha,
        min_samples=min_samples,
        pass_confidence=pass_confidence,
        paired=paired,
    )[0]
