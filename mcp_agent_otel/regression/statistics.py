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
  statistics that bracket each quantile (``_log_quantile_se``: distribution-free, no density
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
* **Runs as the unit of evidence.** A side given as ``Runs`` (its spans grouped by run id) with
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
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special
from scipy.stats import rankdata

from mcp_agent_otel.regression.gate_defaults import DEFAULT_ALPHA as DEFAULT_ALPHA
from mcp_agent_otel.regression.gate_defaults import DEFAULT_MIN_SAMPLES as DEFAULT_MIN_SAMPLES
from mcp_agent_otel.regression.gate_defaults import (
    DEFAULT_PASS_CONFIDENCE as DEFAULT_PASS_CONFIDENCE,
)
from mcp_agent_otel.regression.gate_defaults import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# The tail quantiles compared besides the centre (same weighted Benjamini-Hochberg family).
TAIL_QUANTILES = (0.95, 0.99)
# Share of the family's level given to the centre tests (the tails share the rest).
CENTRE_SHARE = 0.9
BOOTSTRAP_RESAMPLES = 400
BOOTSTRAP_SEED = 20261205
REQUIRED_POWER = 0.95
# Up to this many pairs the pairwise log differences are materialized and partitioned;
# above it, the bracketing selection (same values, O(n + m) memory) is used.
DIRECT_PAIRS_LIMIT = 250_000
# The bracketing selection sorts explicitly once a bracket holds at most this many differences.
BRACKET_PAIRS = 8_192


class Verdict(str, enum.Enum):
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    NO_CHANGE = "no_change"
    INCONCLUSIVE = "inconclusive"


def _exp(log_value: float) -> float:
    """``exp`` that answers inf instead of raising for absurd log ratios (> ~709)."""
    return math.inf if log_value >= 709.0 else math.exp(log_value)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _float_or_nan(value: Any) -> float:
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class Comparison:
    """The decision for one operation. Ratios are candidate/baseline durations (1.10 = 10% slower).

    ``ratio_ci_low``/``ratio_ci_high`` are one-sided ``1 - alpha`` bounds (a two-sided
    ``1 - 2*alpha`` interval). ``p_value`` is the one-sided p-value of Welch's t-test on log
    durations in the direction of ``ratio``: that the candidate is slower when ``ratio >= 1``
    (the regression question), faster when ``ratio < 1`` (the improvement question).
    ``p_adjusted`` is its Benjamini-Hochberg adjustment among the operations compared together
    (for the same direction); it is nan for an operation with fewer than ``min_samples`` on a
    side (not tested, not counted in the family), whose ``p_value`` is still shown when it can
    be computed. ``alpha`` is the level used; ``confidence`` the two-sided level of the interval.
    Unknown values (no data) are nan; ``to_dict`` writes them as ``null`` (strict JSON).
    """

    operation: str
    baseline_n: int
    candidate_n: int
    ratio: float
    ratio_ci_low: float
    ratio_ci_high: float
    p_value: float
    p_adjusted: float
    verdict: Verdict
    threshold: float
    required_n: int | None
    reason: str
    alpha: float = DEFAULT_ALPHA
    confidence: float = 1.0 - 2.0 * DEFAULT_ALPHA
    pass_confidence: float = DEFAULT_PASS_CONFIDENCE
    tests: tuple[StatisticTest, ...] = ()
    design: str = "independent"  # "independent" spans, several "runs", or "paired" A/B blocks
    baseline_runs: int = 1
    candidate_runs: int = 1
    run_noise: float = math.nan  # run-to-run (paired: block-to-block) noise, relative

    def test(self, name: str) -> StatisticTest | None:
        """The test of statistic ``name`` ("median", "p95", "p99"), if it was made."""
        return next((t for t in self.tests if t.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "baseline_n": self.baseline_n,
            "candidate_n": self.candidate_n,
            "ratio": _finite_or_none(self.ratio),
            "ratio_ci_low": _finite_or_none(self.ratio_ci_low),
            "ratio_ci_high": _finite_or_none(self.ratio_ci_high),
            "p_value": _finite_or_none(self.p_value),
            "p_adjusted": _finite_or_none(self.p_adjusted),
            "verdict": self.verdict.value,
            "threshold": self.threshold,
            "required_n": self.required_n,
            "reason": self.reason,
            "alpha": self.alpha,
            "confidence": self.confidence,
            "pass_confidence": self.pass_confidence,
            "statistics": [t.to_dict() for t in self.tests],
            "design": self.design,
            "baseline_runs": self.baseline_runs,
            "candidate_runs": self.candidate_runs,
            "run_noise": _finite_or_none(self.run_noise),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        required_n = data.get("required_n")
        return cls(
            operation=str(data["operation"]),
            baseline_n=int(data["baseline_n"]),
            candidate_n=int(data["candidate_n"]),
            ratio=_float_or_nan(data.get("ratio")),
            ratio_ci_low=_float_or_nan(data.get("ratio_ci_low")),
            ratio_ci_high=_float_or_nan(data.get("ratio_ci_high")),
            p_value=_float_or_nan(data.get("p_value")),
            p_adjusted=_float_or_nan(data.get("p_adjusted")),
            verdict=Verdict(data["verdict"]),
            threshold=float(data["threshold"]),
            required_n=None if required_n is None else int(required_n),
            reason=str(data["reason"]),
            alpha=float(data.get("alpha", DEFAULT_ALPHA)),
            confidence=float(data.get("confidence", 1.0 - 2.0 * DEFAULT_ALPHA)),
            pass_confidence=float(data.get("pass_confidence", DEFAULT_PASS_CONFIDENCE)),
            tests=tuple(StatisticTest.from_dict(t) for t in data.get("statistics", ())),
            design=str(data.get("design", "independent")),
            baseline_runs=int(data.get("baseline_runs", 1)),
            candidate_runs=int(data.get("candidate_runs", 1)),
            run_noise=_float_or_nan(data.get("run_noise")),
        )


# --- input validation ----------------------------------------------------------------------


def as_durations(values: Sequence[float] | NDArray[Any] | Iterable[float], name: str) -> FloatArray:
    """A 1-D float array of positive finite durations, or a ValueError saying what is wrong."""
    try:
        if isinstance(values, np.ndarray):
            arr = values.astype(np.float64, copy=False)
        elif isinstance(values, Sequence):
            arr = np.asarray(values, dtype=np.float64)
        else:
            arr = np.asarray(list(values), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} durations must be numbers (any one time unit); could not read them: {exc}"
        ) from None
    if arr.ndim != 1:
        raise ValueError(
            f"{name} durations must be a flat sequence of numbers, got an array of shape "
            f"{arr.shape}; pass one duration per span"
        )
    bad = ~(np.isfinite(arr) & (arr > 0.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} durations must be positive finite numbers; {int(bad.sum())} of {arr.size} "
            f"are not (first: {arr[first]!r} at index {first}). Drop zero, negative, NaN and "
            f"infinite durations before comparing"
        )
    return arr


def _check_parameters(threshold: float, alpha: float, min_samples: int) -> None:
    if not (math.isfinite(threshold) and threshold > 0.0):
        raise ValueError(
            f"threshold must be a positive relative slowdown such as 0.10 (10%), got {threshold!r}"
        )
    if not (0.0 < alpha < 0.5):
        raise ValueError(f"alpha must be in (0, 0.5), e.g. 0.01 or 0.05; got {alpha!r}")
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 2:
        raise ValueError(f"min_samples must be an integer >= 2, got {min_samples!r}")


def _log_durations(baseline: FloatArray, candidate: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Log durations after an exact power-of-two rescale taken from the pooled median."""
    pooled = np.concatenate([baseline, candidate])
    if pooled.size == 0:
        return np.log(baseline), np.log(candidate)
    _, exponent = np.frexp(np.median(pooled))
    shift = -int(exponent)
    base, cand = np.ldexp(baseline, shift), np.ldexp(candidate, shift)
    if not (np.isfinite(base).all() and np.isfinite(cand).all() and (base > 0).all()):
        return np.log(baseline), np.log(candidate)  # absurd ranges: no rescale, no overflow
    if not (cand > 0).all():
        return np.log(baseline), np.log(candidate)
    return np.log(base), np.log(cand)


# --- exact quantiles ---------------------------------------------------------------------


def quantile_label(q: float) -> str:
    """0.5 -> "p50", 0.95 -> "p95", 0.999 -> "p99.9"."""
    return f"p{round(q * 100.0, 6):g}"


def quantiles(
    values: Sequence[float] | NDArray[Any], qs: Sequence[float] = (0.5, 0.95, 0.99)
) -> dict[str, float]:
    """Exact quantiles of all values (numpy's default linear interpolation between order stats).

    Keys are ``quantile_label(q)``: ``{"p50": ..., "p95": ..., "p99": ...}``.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"quantiles need numbers; could not read them: {exc}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("quantiles need a non-empty flat sequence of numbers")
    if not np.isfinite(arr).all():
        raise ValueError("quantiles need finite values; drop NaN and infinite values first")
    q_arr = np.asarray(list(qs), dtype=np.float64)
    if q_arr.size == 0 or not ((q_arr >= 0.0) & (q_arr <= 1.0)).all():
        raise ValueError(f"quantile levels must be in [0, 1], got {list(qs)!r}")
    result = np.quantile(arr, q_arr)
    return {quantile_label(float(q)): float(v) for q, v in zip(q_arr, result, strict=True)}


# --- Benjamini-Hochberg --------------------------------------------------------------------


def benjamini_hochberg(
    p_values: Sequence[float], weights: Sequence[float] | None = None
) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (step-up; reject where adjusted < q), input order.

    With ``weights`` (positive, mean 1: Genovese, Roeder & Wasserman 2006) each p-value is
    judged as ``p / w``, which keeps the false-discovery rate at q while spending more of the
    level where power matters most. Without them it is the classic procedure.
    """
    p = np.asarray(list(p_values), dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("benjamini_hochberg needs a flat sequence of p-values")
    if p.size == 0:
        return []
    if not (np.isfinite(p) & (p >= 0.0) & (p <= 1.0)).all():
        raise ValueError(f"p-values must be numbers in [0, 1], got {p.tolist()!r}")
    if weights is not None:
        w = np.asarray(list(weights), dtype=np.float64)
        if w.shape != p.shape or not (np.isfinite(w) & (w > 0.0)).all():
            raise ValueError("weights must be positive numbers, one per p-value")
        p = p / (w / float(np.mean(w)))
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1, dtype=np.float64)
    adjusted_sorted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = adjusted_sorted
    return [float(v) for v in adjusted]


# --- sample size ---------------------------------------------------------------------------


def required_sample_size_for_log_effect(
    log_sigma: float, log_effect: float, alpha: float, power: float = REQUIRED_POWER
) -> int:
    """Per-side n for a one-sided test at ``alpha`` to detect a log shift with ``power``.

    ``n = 2 sigma^2 (z_{1-alpha} + z_power)^2 / effect^2`` (normal approximation; at least 2).
    """
    if not (math.isfinite(log_sigma) and log_sigma >= 0.0):
        raise ValueError(f"log_sigma must be a finite number >= 0, got {log_sigma!r}")
    if not (math.isfinite(log_effect) and log_effect > 0.0):
        raise ValueError(f"the effect must be a positive log shift, got {log_effect!r}")
    if not (0.0 < alpha < 1.0) or not (0.0 < power < 1.0):
        raise ValueError(f"alpha and power must be in (0, 1), got {alpha!r} and {power!r}")
    z = float(special.ndtri(1.0 - alpha)) + float(special.ndtri(power))
    n = 2.0 * (log_sigma * z / log_effect) ** 2
    return max(2, math.ceil(n - 1e-9))


def required_sample_size(
    log_sigma: float, threshold: float, alpha: float, power: float = REQUIRED_POWER
) -> int:
    """Per-side n that detects a relative change of ``threshold`` with ``power`` (one-sided)."""
    if not (math.isfinite(threshold) and threshold > 0.0):
        raise ValueError(f"threshold must be a positive relative change, got {threshold!r}")
    return required_sample_size_for_log_effect(log_sigma, math.log1p(threshold), alpha, power)


# --- Hodges-Lehmann on pairwise log differences --------------------------------------------


def _row_starts(xs: FloatArray, ys: FloatArray, v: float) -> IntArray:
    """For each ``ys[j]``: the first index i with ``ys[j] - xs[i] <= v`` (xs ascending).

    Floating subtraction is monotone, so along a row the differences fall as i grows and the
    indices that satisfy the predicate form a suffix. ``searchsorted`` finds the boundary up to
    rounding; the two loops then correct it against the differences actually computed, moving
    over whole runs of tied values, so the count is exact.
    """
    n = xs.size
    starts: IntArray = np.searchsorted(xs, ys - v, side="left").astype(np.int64)
    while True:
        prev = starts - 1
        move = prev >= 0
        rows = np.flatnonzero(move)
        move[rows] = (ys[rows] - xs[prev[rows]]) <= v
        if not move.any():
            break
        starts[move] = np.searchsorted(xs, xs[prev[move]], side="left")
    while True:
        move = starts < n
        rows = np.flatnonzero(move)
        move[rows] = (ys[rows] - xs[starts[rows]]) > v
        if not move.any():
            break
        starts[move] = np.searchsorted(xs, xs[starts[move]], side="right")
    return starts


def _count_at_most(xs: FloatArray, ys: FloatArray, v: float) -> int:
    return int(xs.size * ys.size - _row_starts(xs, ys, v).sum())


def pairwise_difference_order_statistics(
    xs: FloatArray,
    ys: FloatArray,
    ranks: Sequence[int],
    *,
    direct_limit: int = DIRECT_PAIRS_LIMIT,
    bracket_limit: int = BRACKET_PAIRS,
) -> list[float]:
    """Exact order statistics (0-based ``ranks``) of all ``ys[j] - xs[i]``; inputs sorted ascending.

    Small problems materialize the differences; large ones bracket each rank by bisecting on the
    value with exact counts, then sort the few differences in the final bracket. Both paths return
    the very same floating-point values.
    """
    n, m = xs.size, ys.size
    total = n * m
    if any(not 0 <= k < total for k in ranks):
        raise ValueError(f"ranks must be in [0, {total}), got {list(ranks)!r}")
    if total <= direct_limit:
        diffs = np.subtract.outer(ys, xs).ravel()
        wanted = sorted(set(ranks))
        diffs.partition(wanted)
        return [float(diffs[k]) for k in ranks]
    found: dict[int, float] = {}
    low = float(np.nextafter(ys[0] - xs[-1], -np.inf))  # nothing is <= low
    high = float(ys[-1] - xs[0])  # everything is <= high
    stack: list[tuple[float, int, float, int, list[int]]] = [
        (low, 0, high, total, sorted(set(ranks)))
    ]
    while stack:
        a, count_a, b, count_b, wanted = stack.pop()
        if count_b - count_a <= bracket_limit:
            found.update(zip(wanted, _bracket_values(xs, ys, a, b, count_a, wanted), strict=True))
            continue
        mid = a + (b - a) / 2.0
        if not a < mid < b:  # no float strictly between: every difference in (a, b] equals b
            found.update(dict.fromkeys(wanted, b))
            continue
        count_mid = _count_at_most(xs, ys, mid)
        left = [k for k in wanted if k < count_mid]
        right = [k for k in wanted if k >= count_mid]
        if left:
            stack.append((a, count_a, mid, count_mid, left))
        if right:
            stack.append((mid, count_mid, b, count_b, right))
    return [found[k] for k in ranks]


def _bracket_values(
    xs: FloatArray, ys: FloatArray, a: float, b: float, count_a: int, wanted: list[int]
) -> list[float]:
    """The order statistics ``wanted`` among the differences in ``(a, b]`` (count_a are <= a)."""
    start_b = _row_starts(xs, ys, b)
    start_a = _row_starts(xs, ys, a)
    lengths = start_a - start_b
    size = int(lengths.sum())
    rows = np.repeat(np.arange(ys.size), lengths)
    offsets = np.arange(size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    cols = np.repeat(start_b, lengths) + offsets
    values = ys[rows] - xs[cols]
    local = [k - count_a for k in wanted]
    values.partition(local)
    return [float(values[k]) for k in local]


def _moses_rank(n: int, m: int, alpha: float) -> int:
    """0-based rank of the lower one-sided (1 - alpha) bound among the n*m pairwise differences.

    The bound ``D[k]`` is > 0 exactly when the one-sided Mann-Whitney test (normal
    approximation, continuity correction, no ties) rejects at ``alpha``. -1 when no such bound
    exists (samples too small for this alpha).
    """
    total = n * m
    sigma_u = math.sqrt(total * (n + m + 1) / 12.0)
    u_critical = math.floor(total / 2.0 + 0.5 + float(special.ndtri(1.0 - alpha)) * sigma_u) + 1
    return total - u_critical if u_critical <= total else -1


def _hodges_lehmann_log(
    log_b: FloatArray, log_c: FloatArray, alphas: Sequence[float]
) -> tuple[float, list[tuple[float, float]]]:
    """(estimate, [(lower, upper) one-sided 1 - alpha bounds for each alpha]) of the log ratio;
    nan where not computable."""
    n, m = log_b.size, log_c.size
    if n == 0 or m == 0:
        return math.nan, [(math.nan, math.nan) for _ in alphas]
    xs, ys = np.sort(log_b), np.sort(log_c)  # no-op copies when already sorted
    total = n * m
    ranks = [(total - 1) // 2, total // 2]
    lows = [_moses_rank(n, m, a) for a in alphas]
    for k in lows:
        if k >= 0:
            ranks += [k, total - 1 - k]
    values = iter(pairwise_difference_order_statistics(xs, ys, ranks))
    estimate = (next(values) + next(values)) / 2.0
    bounds = []
    for k in lows:
        bounds.append((next(values), next(values)) if k >= 0 else (math.nan, math.nan))
    return estimate, bounds


def hodges_lehmann_ratio(
    baseline: Sequence[float] | NDArray[Any],
    candidate: Sequence[float] | NDArray[Any],
    alpha: float = 0.05,
) -> tuple[float, float, float]:
    """Hodges-Lehmann candidate/baseline ratio and its confidence bounds, from log durations.

    Returns ``(estimate, ci_low, ci_high)``: ``exp`` of the median of all pairwise differences
    ``log(c_j) - log(b_i)``, and of the Moses/Lehmann order-statistic bounds. Each bound is a
    one-sided ``1 - alpha`` bound, so ``[ci_low, ci_high]`` is a two-sided ``1 - 2*alpha``
    interval (90% at the default 0.05). Bounds are nan when the samples are too small for
    ``alpha``; everything is nan when a side is empty.
    """
    if not (0.0 < alpha < 0.5):
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha!r}")
    base = as_durations(baseline, "baseline")
    cand = as_durations(candidate, "candidate")
    log_b, log_c = _log_durations(base, cand)
    est, ((low, high),) = _hodges_lehmann_log(log_b, log_c, (alpha,))
    return _exp(est), _exp(low), _exp(high)


# --- Welch's t on log durations -------------------------------------------------------------


@dataclass(frozen=True)
class _WelchResult:
    p_slower: float
    p_faster: float
    spread_sq: float  # var_b + var_c of the log durations (nan when not estimable)
    se: float = math.nan  # standard error of the difference of log means
    df: float = math.nan  # Welch-Satterthwaite degrees of freedom


def _mean_var(sorted_logs: FloatArray) -> tuple[float, float]:
    """Mean and sample variance; exactly (value, 0) for a constant sample (no rounding residue)."""
    if sorted_logs.size == 0:
        return math.nan, math.nan
    if sorted_logs[0] == sorted_logs[-1]:
        return float(sorted_logs[0]), 0.0 if sorted_logs.size >= 2 else math.nan
    var = float(np.var(sorted_logs, ddof=1)) if sorted_logs.size >= 2 else math.nan
    return float(np.mean(sorted_logs)), var


def _welch_log(log_b: FloatArray, log_c: FloatArray) -> _WelchResult:
    """One-sided Welch t-test p-values on sorted log durations."""
    nb, nc = log_b.size, log_c.size
    mean_b, var_b = _mean_var(log_b)
    mean_c, var_c = _mean_var(log_c)
    if nb < 2 and nc < 2:
        spread_sq = math.nan
    elif nb < 2 or nc < 2:
        spread_sq = 2.0 * (var_c if nb < 2 else var_b)
    else:
        spread_sq = var_b + var_c
    if nb < 2 or nc < 2:
        return _WelchResult(math.nan, math.nan, spread_sq)
    diff = mean_c - mean_b
    a, b = var_b / nb, var_c / nc
    se_sq = a + b
    if se_sq == 0.0:  # both samples constant: the difference is known exactly
        return _WelchResult(
            0.0 if diff > 0 else 1.0, 0.0 if diff < 0 else 1.0, spread_sq, 0.0, math.inf
        )
    t = diff / math.sqrt(se_sq)
    df = se_sq * se_sq / (a * a / (nb - 1) + b * b / (nc - 1))
    return _WelchResult(
        float(special.stdtr(df, -t)), float(special.stdtr(df, t)), spread_sq, math.sqrt(se_sq), df
    )


# --- the evidence: independent spans, runs, or paired A/B blocks ----------------------------


@dataclass(frozen=True, eq=False)
class Runs:
    """Durations grouped by run (a profile or CI run) or, for ``paired`` comparisons, by A/B
    block: the spans of one run share that run's machine state, so the run, not the span, is
    the unit of evidence about the build."""

    groups: tuple[Sequence[float] | NDArray[Any], ...]


Side = Sequence[float] | NDArray[Any] | Runs


def _side(values: Side, name: str) -> tuple[FloatArray, tuple[FloatArray, ...]]:
    """(all durations, the durations of each run) of one side, validated."""
    if isinstance(values, Runs):
        groups = tuple(
            as_durations(g, f"{name} (run {i + 1})") for i, g in enumerate(values.groups)
        )
        groups = tuple(g for g in groups if g.size)
        flat = np.concatenate(groups) if groups else np.zeros(0, dtype=np.float64)
        return flat, groups
    flat = as_durations(values, name)
    return flat, ((flat,) if flat.size else ())


def _t_quantile(confidence: float, df: float) -> float:
    if not math.isfinite(df) or df > 1e6:
        return float(special.ndtri(confidence))
    return float(special.stdtrit(df, confidence))


def _t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom (normal when df is infinite)."""
    if not math.isfinite(df) or df > 1e6:
        return float(special.ndtr(-t))
    return float(special.stdtr(df, -t))


def _run_variance(groups: tuple[FloatArray, ...]) -> tuple[float, int]:
    """(between-run variance of the log mean, its degrees of freedom) from one side's runs.

    Method of moments (one-way random effects): the variance of the run means minus the part
    the spans' own scatter explains, floored at 0. Runs of fewer than 2 spans are left out.
    """
    usable = [np.log(g) for g in groups if g.size >= 2]
    if len(usable) < 2:
        return 0.0, 0
    means = np.array([float(np.mean(g)) for g in usable])
    within = np.array([float(np.var(g, ddof=1)) / g.size for g in usable])
    return max(0.0, float(np.var(means, ddof=1)) - float(np.mean(within))), len(usable) - 1


@dataclass(frozen=True)
class _RunNoise:
    tau_sq: float  # between-run variance of a run's log level
    df: int  # its degrees of freedom (0: not estimable)
    extra: float  # what it adds to the variance of the difference: tau^2 (1/Kb + 1/Kc)

    def widen(self, se: float, df: float) -> tuple[float, float]:
        """(standard error, Satterthwaite df) once the run-to-run variance is added."""
        if self.df == 0 or self.extra == 0.0:
            return se, df
        total = se * se + self.extra
        within = 0.0 if not math.isfinite(df) else se**4 / df
        return math.sqrt(total), total * total / (within + self.extra**2 / self.df)


def _run_noise(groups_b: tuple[FloatArray, ...], groups_c: tuple[FloatArray, ...]) -> _RunNoise:
    """The run-to-run variance, pooled over the sides that hold several runs."""
    tau_b, df_b = _run_variance(groups_b)
    tau_c, df_c = _run_variance(groups_c)
    df = df_b + df_c
    if df == 0:
        return _RunNoise(0.0, 0, 0.0)
    tau_sq = (tau_b * df_b + tau_c * df_c) / df
    runs_b, runs_c = max(len(groups_b), 1), max(len(groups_c), 1)
    return _RunNoise(tau_sq, df, tau_sq * (1.0 / runs_b + 1.0 / runs_c))


# --- tail quantiles --------------------------------------------------------------------------


def _log_quantile_se(sorted_logs: FloatArray, q: float) -> float:
    """Standard error of the sample ``q``-quantile of sorted log durations; nan when the sample
    is too small to bracket it.

    Distribution-free: the order statistics at ranks ``n q -+ z sqrt(n q (1 - q))`` bracket the
    quantile with 95% confidence (binomial counts), so half their distance over ``z`` estimates
    the standard error (Price & Bonett; no density estimate, no resampling).
    """
    n = sorted_logs.size
    z = float(special.ndtri(0.975))
    centre, spread = n * q, z * math.sqrt(n * q * (1.0 - q))
    low, high = math.floor(centre - spread), math.ceil(centre + spread)
    if low < 0 or high > n - 1 or n < 2:
        return math.nan
    return float(sorted_logs[high] - sorted_logs[low]) / (2.0 * z)


def _bootstrap_paired_quantiles(
    groups_b: tuple[FloatArray, ...], groups_c: tuple[FloatArray, ...], qs: Sequence[float]
) -> FloatArray:
    """Standard errors of the log quantile ratios, from resampling the A/B block pairs.

    Blocks are drawn with replacement as pairs (a block's baseline with its candidate), so
    the machine's drift from block to block stays in both sides of every resample. Seeded:
    the same input gives the same answer.
    """
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    logs_b = [np.log(g) for g in groups_b]
    logs_c = [np.log(g) for g in groups_c]
    count = len(logs_b)
    draws = np.empty((BOOTSTRAP_RESAMPLES, len(qs)), dtype=np.float64)
    for r in range(BOOTSTRAP_RESAMPLES):
        pick = rng.integers(0, count, count)
        base = np.concatenate([logs_b[i] for i in pick])
        cand = np.concatenate([logs_c[i] for i in pick])
        draws[r] = np.quantile(cand, qs) - np.quantile(base, qs)
    return np.asarray(np.std(draws, axis=0, ddof=1), dtype=np.float64)


# --- the comparison ------------------------------------------------------------------------


@dataclass(frozen=True)
class StatisticTest:
    """One statistic of one operation: the centre ("median") or a tail quantile ("p95").

    ``ratio`` is candidate/baseline; ``upper`` its one-sided ``1 - alpha`` upper bound (the
    regression zone is reached when it is at least ``1 + threshold``); ``upper_pass`` the
    one-sided ``pass_confidence`` bound (a slowdown of the threshold is ruled out when it is
    below ``1 + threshold``). ``p_value`` is one-sided, for "slower"; ``p_adjusted`` its
    weighted Benjamini-Hochberg adjustment in the family of every statistic compared together.
    """

    name: str
    ratio: float
    upper: float
    upper_pass: float
    p_value: float
    p_adjusted: float
    regressed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ratio": _finite_or_none(self.ratio),
            "upper": _finite_or_none(self.upper),
            "upper_pass": _finite_or_none(self.upper_pass),
            "p_value": _finite_or_none(self.p_value),
            "p_adjusted": _finite_or_none(self.p_adjusted),
            "regressed": self.regressed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatisticTest:
        return cls(
            name=str(data["name"]),
            ratio=_float_or_nan(data.get("ratio")),
            upper=_float_or_nan(data.get("upper")),
            upper_pass=_float_or_nan(data.get("upper_pass")),
            p_value=_float_or_nan(data.get("p_value")),
            p_adjusted=_float_or_nan(data.get("p_adjusted")),
            regressed=bool(data.get("regressed", False)),
        )


@dataclass(frozen=True)
class _Stat:
    """A statistic measured on the log scale, before the family's adjustment."""

    name: str
    log_ratio: float
    log_upper: float  # one-sided 1 - alpha
    log_low: float  # one-sided 1 - alpha lower bound
    log_upper_pass: float  # one-sided pass_confidence
    p_slower: float
    p_faster: float


def _normal_stat(
    name: str, d: float, se: float, df: float, alpha: float, pass_confidence: float
) -> _Stat:
    if not (math.isfinite(d) and math.isfinite(se)):
        return _Stat(name, d, math.nan, math.nan, math.nan, math.nan, math.nan)
    if se == 0.0:
        p_slower = 0.0 if d > 0 else 1.0
        p_faster = 0.0 if d < 0 else 1.0
        return _Stat(name, d, d, d, d, p_slower, p_faster)
    t_reg = _t_quantile(1.0 - alpha, df)
    t_pass = _t_quantile(pass_confidence, df)
    return _Stat(
        name,
        d,
        d + t_reg * se,
        d - t_reg * se,
        d + t_pass * se,
        _t_sf(d / se, df),
        _t_sf(-d / se, df),
    )


@dataclass(frozen=True)
class _Measured:
    operation: str
    nb: int
    nc: int
    design: str
    runs_b: int
    runs_c: int
    noise: float  # run-to-run (or block-to-block) noise of the log level, as a log sd
    stats: tuple[_Stat, ...]  # centre first, then the testable tail quantiles
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
    base, groups_b = _side(baseline, f"{label}baseline")
    cand, groups_c = _side(candidate, f"{label}candidate")
    log_b, log_c = _log_durations(base, cand)
    # Sorted once: the HL selection needs it, and it makes every sum independent of input order.
    log_b, log_c = np.sort(log_b), np.sort(log_c)
    welch = _welch_log(log_b, log_c)
    enough = base.size >= min_samples and cand.size >= min_samples and math.isfinite(welch.p_slower)
    runs_b, runs_c = len(groups_b), len(groups_c)
    if paired:
        if runs_b != runs_c:
            raise ValueError(
                f"{label}paired comparison needs as many baseline as candidate blocks, got "
                f"{runs_b} and {runs_c}; run the builds in alternating blocks of equal number"
            )
        return _measure_paired(
            operation, groups_b, groups_c, welch.spread_sq, alpha, pass_confidence, enough
        )
    noise = _run_noise(groups_b, groups_c)
    design = "runs" if noise.df > 0 else "independent"
    if design == "runs":
        se, df = noise.widen(welch.se, welch.df)
        d = float(np.mean(log_c) - np.mean(log_b)) if enough else math.nan
        centre = _normal_stat("median", d, se, df, alpha, pass_confidence)
    else:
        est, bounds = _hodges_lehmann_log(log_b, log_c, (alpha, 1.0 - pass_confidence))
        (low, high), (_, high_pass) = bounds
        centre = _Stat("median", est, high, low, high_pass, welch.p_slower, welch.p_faster)
    stats = [centre]
    if enough:
        for q in TAIL_QUANTILES:
            se_q = math.hypot(_log_quantile_se(log_b, q), _log_quantile_se(log_c, q))
            if not math.isfinite(se_q):
                continue
            d_q = float(np.quantile(log_c, q) - np.quantile(log_b, q))
            se_q, df_q = noise.widen(se_q, math.inf)
            stats.append(_normal_stat(quantile_label(q), d_q, se_q, df_q, alpha, pass_confidence))
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


def _walsh_bound(walsh: FloatArray, blocks: int, confidence: float) -> tuple[float, float]:
    """(lower, upper) one-sided ``confidence`` bounds of the pseudo-median from the sorted
    Walsh averages (Tukey; the signed-rank statistic's normal approximation)."""
    total = walsh.size
    sd = math.sqrt(blocks * (blocks + 1) * (2 * blocks + 1) / 24.0)
    k = math.floor(total / 2.0 - float(special.ndtri(confidence)) * sd)
    if k < 0:
        return -math.inf, math.inf
    return float(walsh[k]), float(walsh[total - 1 - k])


def _signed_rank_stat(name: str, diffs: FloatArray, alpha: float, pass_confidence: float) -> _Stat:
    """The centre of paired block differences: the Hodges-Lehmann pseudo-median (median of
    the Walsh averages) with Tukey's bounds and the one-sided Wilcoxon signed-rank test, so
    one pair that straddles a sudden change of the machine (a load starting between its two
    blocks) moves neither the estimate nor the test much."""
    blocks = diffs.size
    pairs = np.add.outer(diffs, diffs)[np.triu_indices(blocks)] / 2.0
    walsh = np.sort(pairs)
    estimate = float(np.median(walsh))
    low, high = _walsh_bound(walsh, blocks, 1.0 - alpha)
    _, high_pass = _walsh_bound(walsh, blocks, pass_confidence)
    nonzero = diffs[diffs != 0.0]
    if nonzero.size == 0:
        return _Stat(name, estimate, high, low, high_pass, 1.0, 1.0)
    ranks = rankdata(np.abs(nonzero))
    w_plus = float(ranks[nonzero > 0].sum())
    n = nonzero.size
    mean = n * (n + 1) / 4.0
    _, counts = np.unique(np.abs(nonzero), return_counts=True)
    var = n * (n + 1) * (2 * n + 1) / 24.0 - float((counts**3 - counts).sum()) / 48.0
    sd = math.sqrt(var) if var > 0 else math.inf
    p_slower = float(special.ndtr(-(w_plus - mean - 0.5) / sd))
    p_faster = float(special.ndtr((w_plus - mean + 0.5) / sd))
    return _Stat(name, estimate, high, low, high_pass, p_slower, p_faster)


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
    means (Wilcoxon signed-rank, ``_signed_rank_stat``); the tails are the pooled quantile
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
        stat = _Stat("median", math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
        return _Measured(
            operation, nb, nc, "paired", blocks, blocks, drift, (stat,), spread_sq, False
        )
    stats = [_signed_rank_stat("median", diffs, alpha, pass_confidence)]
    log_b = np.log(np.concatenate(groups_b))
    log_c = np.log(np.concatenate(groups_c))
    testable = [
        q
        for q in TAIL_QUANTILES
        if math.isfinite(_log_quantile_se(np.sort(log_b), q))
        and math.isfinite(_log_quantile_se(np.sort(log_c), q))
    ]
    if testable:
        ses = _bootstrap_paired_quantiles(groups_b, groups_c, testable)
        point = np.quantile(log_c, testable) - np.quantile(log_b, testable)
        for q, d_q, se_q in zip(testable, point.tolist(), ses.tolist(), strict=True):
            stats.append(
                _normal_stat(quantile_label(q), d_q, se_q, blocks - 1, alpha, pass_confidence)
            )
    return _Measured(
        operation, nb, nc, "paired", blocks, blocks, drift, tuple(stats), spread_sq, True
    )


def _pct(log_ratio: float) -> str:
    return f"{abs(_exp(log_ratio) - 1.0) * 100.0:.1f}%"


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
    return f"{_exp(log_ratio):.3f}×"


def _moved(tests: Sequence[tuple[_Stat, float, bool]], alpha: float, margin: float) -> str:
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
        ratio=_exp(centre.log_ratio),
        ratio_ci_low=_exp(centre.log_low),
        ratio_ci_high=_exp(centre.log_upper),
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
                ratio=_exp(s.log_ratio),
                upper=_exp(s.log_upper),
                upper_pass=_exp(s.log_upper_pass),
                p_value=s.p_slower,
                p_adjusted=p if m.enough else math.nan,
                regressed=r,
            )
            for s, p, r in tests
        ),
        design=m.design,
        baseline_runs=m.runs_b,
        candidate_runs=m.runs_c,
        run_noise=_exp(m.noise) - 1.0 if math.isfinite(m.noise) else math.nan,
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
