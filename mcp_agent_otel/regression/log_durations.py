"""Durations in, log durations out: the validation every comparison starts with (pure).

Every statistic of the gate works on log durations, where a relative slowdown is a shift.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def exp_ratio(log_value: float) -> float:
    """``exp`` that answers inf instead of raising for absurd log ratios (> ~709)."""
    return math.inf if log_value >= 709.0 else math.exp(log_value)


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


def log_durations(baseline: FloatArray, candidate: FloatArray) -> tuple[FloatArray, FloatArray]:
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
