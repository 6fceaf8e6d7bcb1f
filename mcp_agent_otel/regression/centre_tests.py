"""Tests of the centre: Hodges-Lehmann on pairwise log differences with Moses/Lehmann bounds,
Welch's t on log durations, and for paired A/B blocks the Wilcoxon signed-rank test with the
pseudo-median and Tukey's bounds (pure).

The pairwise-difference order statistics are exact at every size; above ``DIRECT_PAIRS_LIMIT``
pairs they are found without materializing the ``n*m`` differences, by bisecting on the value
with an exact count per row and sorting only the few differences left in the final bracket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special
from scipy.stats import rankdata

from mcp_agent_otel.regression.log_durations import (
    FloatArray,
    as_durations,
    exp_ratio,
    log_durations,
)
from mcp_agent_otel.regression.one_sided import Stat

IntArray = NDArray[np.int64]

# Up to this many pairs the pairwise log differences are materialized and partitioned;
# above it, the bracketing selection (same values, O(n + m) memory) is used.
DIRECT_PAIRS_LIMIT = 250_000
# The bracketing selection sorts explicitly once a bracket holds at most this many differences.
BRACKET_PAIRS = 8_192


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


def hodges_lehmann_log(
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
    log_b, log_c = log_durations(base, cand)
    est, ((low, high),) = hodges_lehmann_log(log_b, log_c, (alpha,))
    return exp_ratio(est), exp_ratio(low), exp_ratio(high)


# --- Welch's t on log durations -------------------------------------------------------------


@dataclass(frozen=True)
class WelchResult:
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


def welch_log(log_b: FloatArray, log_c: FloatArray) -> WelchResult:
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
        return WelchResult(math.nan, math.nan, spread_sq)
    diff = mean_c - mean_b
    a, b = var_b / nb, var_c / nc
    se_sq = a + b
    if se_sq == 0.0:  # both samples constant: the difference is known exactly
        return WelchResult(
            0.0 if diff > 0 else 1.0, 0.0 if diff < 0 else 1.0, spread_sq, 0.0, math.inf
        )
    t = diff / math.sqrt(se_sq)
    df = se_sq * se_sq / (a * a / (nb - 1) + b * b / (nc - 1))
    return WelchResult(
        float(special.stdtr(df, -t)), float(special.stdtr(df, t)), spread_sq, math.sqrt(se_sq), df
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


def signed_rank_stat(name: str, diffs: FloatArray, alpha: float, pass_confidence: float) -> Stat:
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
        return Stat(name, estimate, high, low, high_pass, 1.0, 1.0)
    ranks = rankdata(np.abs(nonzero))
    w_plus = float(ranks[nonzero > 0].sum())
    n = nonzero.size
    mean = n * (n + 1) / 4.0
    _, counts = np.unique(np.abs(nonzero), return_counts=True)
    var = n * (n + 1) * (2 * n + 1) / 24.0 - float((counts**3 - counts).sum()) / 48.0
    sd = math.sqrt(var) if var > 0 else math.inf
    p_slower = float(special.ndtr(-(w_plus - mean - 0.5) / sd))
    p_faster = float(special.ndtr((w_plus - mean + 0.5) / sd))
    return Stat(name, estimate, high, low, high_pass, p_slower, p_faster)
