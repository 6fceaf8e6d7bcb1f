"""Regression statistics: pure functions over plain arrays of durations (numpy/scipy, no I/O).

The question asked of each operation is "did the candidate get slower (or faster) than the
baseline by more than ``threshold``?". Latency is heavy-tailed and close to log-normal, so
every computation works on **log durations**, where a relative slowdown is a shift.

How a comparison is decided (``compare`` / ``compare_many``):

* **Significance: Welch's t-test on log durations, one-sided.** On the log scale latency is
  near-normal and a relative change is a location shift, where this test is the most powerful
  one; its level is robust (central limit theorem, Welch's correction for unequal spreads) at
  the sample sizes we decide on, and a single outlier moves a log-mean by ``log(x)/n`` only.
  The Mann-Whitney U test was measured as the alternative: its efficiency against this test is
  3/pi = 0.955 on normal data, which at 900 samples per side costs the ~1 point of power that
  separates meeting the 95% power target (with the 1% false-alarm target) from missing it.
* **Magnitude: the Hodges-Lehmann estimate of the ratio** (median of all pairwise differences
  of log durations) with its distribution-free confidence interval (Moses/Lehmann: order
  statistics of the pairwise differences at the ranks given by the Mann-Whitney U distribution,
  normal approximation with continuity correction). ``ratio_ci_low`` and ``ratio_ci_high`` are
  each a one-sided ``1 - alpha`` bound; together they form a two-sided ``1 - 2*alpha``
  interval (98% at the default ``alpha`` of 0.01): the interval used by the two one-sided tests
  of equivalence (TOST). ``ci_low > 1`` agrees with a one-sided Mann-Whitney test at ``alpha``.
  Because the robust HL interval must also leave the threshold open, outliers that move the
  log-mean without moving the bulk of the distribution cannot alone produce a regression.
* **Multiplicity: Benjamini-Hochberg** over the operations compared together, separately for
  the two questions (the "slower" p-values and the "faster" p-values), so the false-discovery
  rate of regressions is controlled at ``alpha`` (under no change at all, the chance of any
  regression alarm is ``alpha``).
* **Verdict**, with ``m = log(1 + threshold)`` and ``[lo, hi]`` the log interval:

  1. fewer than ``min_samples`` on a side: ``INCONCLUSIVE``;
  2. ``-m < lo`` and ``hi < m`` (the whole interval inside +-threshold): ``NO_CHANGE``
     (equivalence; this also covers a *significant* change that is smaller than the threshold);
  3. slower significantly (BH-adjusted p < alpha) with the estimate above 1: ``REGRESSION``;
  4. faster significantly, estimate below 1: ``IMPROVEMENT`` (mirror image);
  5. otherwise ``INCONCLUSIVE``, with ``required_n``.

  So a regression is "significant, and the data do not rule out a slowdown of at least the
  threshold" (rule 2 did not apply, i.e. the upper bound reaches ``1 + threshold``). Requiring
  the *point estimate* to exceed the threshold would detect a true slowdown of exactly the
  threshold only about half the time, and requiring the *lower bound* to exceed it only about
  ``alpha`` of the time; neither meets the power target (>= 95% for a true 10% regression at
  900 samples per side, log-sigma 0.5).
* **Why the default alpha is 0.01.** Under no change, Benjamini-Hochberg raises some alarm in
  ``alpha`` of runs, so the <= 1% false-alarm target across 12 operations needs ``alpha`` <= 0.01;
  the power target needs ``alpha`` >= 0.0082 with this test (and is out of reach with a rank
  test at ``alpha`` 0.01). At 900 samples per side the two targets leave no other room.
* ``required_n`` (for ``INCONCLUSIVE``) is the per-side size that decides with 95% power at the
  observed log spread: the classic ``(sb^2 + sc^2) (z_{1-alpha} + z_{0.95})^2 / e^2`` with
  ``e = log(1 + threshold)`` when the observed change is zero or the threshold, and larger (up to
  4x) when the observed change sits between them, where ``e = max(|d|, m - |d|)`` is the distance
  the interval must resolve. With too few samples to trust ``d``, ``e = m``.

Exactness and determinism: no resampling at all. The pairwise-difference order statistics are
exact at every size; above ``DIRECT_PAIRS_LIMIT`` pairs they are found without materializing the
``n*m`` differences, by bisecting on the value with an exact count per row (``searchsorted`` on
the sorted samples, corrected for rounding) and sorting only the few differences left in the
final bracket: memory O(n + m), time O((n + m) log(n) * steps). Durations are rescaled by a
power of two (from the pooled median) before taking logs, so multiplying both samples by any
power of two gives bit-identical results; swapping baseline and candidate gives exactly the
mirrored result.
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

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DEFAULT_THRESHOLD = 0.10
DEFAULT_ALPHA = 0.01
DEFAULT_MIN_SAMPLES = 20
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


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (step-up; reject where adjusted < q), input order."""
    p = np.asarray(list(p_values), dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("benjamini_hochberg needs a flat sequence of p-values")
    if p.size == 0:
        return []
    if not (np.isfinite(p) & (p >= 0.0) & (p <= 1.0)).all():
        raise ValueError(f"p-values must be numbers in [0, 1], got {p.tolist()!r}")
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
    log_b: FloatArray, log_c: FloatArray, alpha: float
) -> tuple[float, float, float]:
    """(estimate, lower, upper) of the log ratio; nan where not computable."""
    n, m = log_b.size, log_c.size
    if n == 0 or m == 0:
        return math.nan, math.nan, math.nan
    xs, ys = np.sort(log_b), np.sort(log_c)  # no-op copies when already sorted
    total = n * m
    mid = [(total - 1) // 2, total // 2]
    k_low = _moses_rank(n, m, alpha)
    ranks = [*mid, k_low, total - 1 - k_low] if k_low >= 0 else mid
    values = pairwise_difference_order_statistics(xs, ys, ranks)
    estimate = (values[0] + values[1]) / 2.0
    if k_low < 0:
        return estimate, math.nan, math.nan
    return estimate, values[2], values[3]


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
    est, low, high = _hodges_lehmann_log(log_b, log_c, alpha)
    return _exp(est), _exp(low), _exp(high)


# --- Welch's t on log durations -------------------------------------------------------------


@dataclass(frozen=True)
class _WelchResult:
    p_slower: float
    p_faster: float
    spread_sq: float  # var_b + var_c of the log durations (nan when not estimable)


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
        return _WelchResult(0.0 if diff > 0 else 1.0, 0.0 if diff < 0 else 1.0, spread_sq)
    t = diff / math.sqrt(se_sq)
    df = se_sq * se_sq / (a * a / (nb - 1) + b * b / (nc - 1))
    return _WelchResult(float(special.stdtr(df, -t)), float(special.stdtr(df, t)), spread_sq)


# --- the comparison ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Measured:
    operation: str
    nb: int
    nc: int
    log_ratio: float
    log_low: float
    log_high: float
    welch: _WelchResult
    enough: bool


def _measure(
    operation: str,
    baseline: Sequence[float] | NDArray[Any],
    candidate: Sequence[float] | NDArray[Any],
    alpha: float,
    min_samples: int,
) -> _Measured:
    label = f"operation {operation!r}: " if operation else ""
    base = as_durations(baseline, f"{label}baseline")
    cand = as_durations(candidate, f"{label}candidate")
    log_b, log_c = _log_durations(base, cand)
    # Sorted once: the HL selection needs it, and it makes every sum independent of input order.
    log_b, log_c = np.sort(log_b), np.sort(log_c)
    est, low, high = _hodges_lehmann_log(log_b, log_c, alpha)
    welch = _welch_log(log_b, log_c)
    enough = base.size >= min_samples and cand.size >= min_samples and math.isfinite(welch.p_slower)
    return _Measured(operation, base.size, cand.size, est, low, high, welch, enough)


def _pct(log_ratio: float) -> str:
    return f"{abs(_exp(log_ratio) - 1.0) * 100.0:.1f}%"


def _interval(m: _Measured, confidence: float) -> str:
    if not (math.isfinite(m.log_low) and math.isfinite(m.log_high)):
        return "no confidence interval at these sample sizes"
    return f"{confidence:.0%} CI {_exp(m.log_low):.3f}-{_exp(m.log_high):.3f}"


def _required_n(m: _Measured, threshold: float, alpha: float, min_samples: int) -> int:
    margin = math.log1p(threshold)
    spread_sq = m.welch.spread_sq
    if not math.isfinite(spread_sq):
        return min_samples
    effect = margin
    if m.enough and math.isfinite(m.log_ratio):
        effect = max(abs(m.log_ratio), margin - abs(m.log_ratio))
    sigma = math.sqrt(spread_sq / 2.0)
    n = required_sample_size_for_log_effect(sigma, effect, alpha, REQUIRED_POWER)
    floor = min(m.nb, m.nc) + 1 if m.enough else min_samples
    return max(n, floor, min_samples)


def _decide(
    m: _Measured,
    p_adj_slower: float,
    p_adj_faster: float,
    threshold: float,
    alpha: float,
    min_samples: int,
) -> Comparison:
    margin = math.log1p(threshold)
    confidence = 1.0 - 2.0 * alpha
    slower_side = not (m.log_ratio < 0.0)  # nan counts as the slower question
    p_value = m.welch.p_slower if slower_side else m.welch.p_faster
    p_adjusted = p_adj_slower if slower_side else p_adj_faster
    required_n: int | None = None
    if not m.enough:
        verdict = Verdict.INCONCLUSIVE
        required_n = _required_n(m, threshold, alpha, min_samples)
        reason = (
            f"Too few samples (baseline {m.nb}, candidate {m.nc}; at least {min_samples} per "
            f"side are needed to test); about {required_n} per side would decide."
        )
    elif -margin < m.log_low and m.log_high < margin:
        verdict = Verdict.NO_CHANGE
        reason = (
            f"The change is within the {threshold:.0%} threshold: ratio {_exp(m.log_ratio):.3f}"
            f" with {_interval(m, confidence)} inside {_exp(-margin):.3f}-"
            f"{_exp(margin):.3f}."
        )
    elif p_adj_slower < alpha and m.log_ratio > 0.0:
        verdict = Verdict.REGRESSION
        reason = (
            f"{_pct(m.log_ratio)} slower (ratio {_exp(m.log_ratio):.3f}, "
            f"{_interval(m, confidence)}), significant (adjusted p {p_adj_slower:.2g} < {alpha:g})"
            f" and a slowdown of {threshold:.0%} or more is not ruled out."
        )
    elif p_adj_faster < alpha and m.log_ratio < 0.0:
        verdict = Verdict.IMPROVEMENT
        reason = (
            f"{_pct(m.log_ratio)} faster (ratio {_exp(m.log_ratio):.3f}, "
            f"{_interval(m, confidence)}), significant (adjusted p {p_adj_faster:.2g} < {alpha:g})"
            f" and a speed-up of {threshold:.0%} or more is not ruled out."
        )
    else:
        verdict = Verdict.INCONCLUSIVE
        required_n = _required_n(m, threshold, alpha, min_samples)
        reason = (
            f"Not significant (adjusted p {p_adjusted:.2g} >= {alpha:g}) yet the "
            f"{_interval(m, confidence)} around ratio {_exp(m.log_ratio):.3f} reaches past "
            f"the {threshold:.0%} threshold; about {required_n} per side would decide."
        )
    return Comparison(
        operation=m.operation,
        baseline_n=m.nb,
        candidate_n=m.nc,
        ratio=_exp(m.log_ratio),
        ratio_ci_low=_exp(m.log_low),
        ratio_ci_high=_exp(m.log_high),
        p_value=p_value,
        p_adjusted=p_adjusted if m.enough else math.nan,
        verdict=verdict,
        threshold=threshold,
        required_n=required_n,
        reason=reason,
        alpha=alpha,
        confidence=confidence,
    )


def compare_many(
    samples: Mapping[str, tuple[Sequence[float] | NDArray[Any], Sequence[float] | NDArray[Any]]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> list[Comparison]:
    """Compare every operation's (baseline, candidate) durations; BH across them; sorted by name.

    Raises ValueError naming the operation when any duration is not a positive finite number.
    """
    _check_parameters(threshold, alpha, min_samples)
    measured = [
        _measure(op, base, cand, alpha, min_samples) for op, (base, cand) in sorted(samples.items())
    ]
    tested = [i for i, m in enumerate(measured) if m.enough]
    adj_slower = dict(
        zip(tested, benjamini_hochberg([measured[i].welch.p_slower for i in tested]), strict=True)
    )
    adj_faster = dict(
        zip(tested, benjamini_hochberg([measured[i].welch.p_faster for i in tested]), strict=True)
    )
    return [
        _decide(
            m,
            adj_slower.get(i, math.nan),
            adj_faster.get(i, math.nan),
            threshold,
            alpha,
            min_samples,
        )
        for i, m in enumerate(measured)
    ]


def compare(
    baseline: Sequence[float] | NDArray[Any],
    candidate: Sequence[float] | NDArray[Any],
    *,
    operation: str = "",
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> Comparison:
    """Compare one operation's candidate durations against its baseline (see the module doc)."""
    return compare_many(
        {operation: (baseline, candidate)},
        threshold=threshold,
        alpha=alpha,
        min_samples=min_samples,
    )[0]
