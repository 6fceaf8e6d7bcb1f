"""Tests of the tails: exact sample quantiles, the distribution-free standard error of a log
quantile, and for paired A/B blocks a seeded bootstrap over the block pairs (pure).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from mcp_agent_otel.regression.log_durations import FloatArray

BOOTSTRAP_RESAMPLES = 400
BOOTSTRAP_SEED = 20261205


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


def log_quantile_se(sorted_logs: FloatArray, q: float) -> float:
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


def bootstrap_paired_quantiles(
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
