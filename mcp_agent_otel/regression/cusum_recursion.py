"""The CUSUM recursions, vectorised: the statistic and its run lengths over a batch. Pure."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def lindley(steps: FloatArray, start: float) -> FloatArray:
    """``S_t = max(0, S_{t-1} + steps_t)`` from ``S_{-1} = start``, in closed form."""
    cumulative = np.cumsum(steps)
    return cumulative - np.minimum(-start, np.minimum.accumulate(cumulative))


def run_lengths(statistic: FloatArray, start: int) -> NDArray[np.int64]:
    """Observations since the statistic last was 0 (``start`` carried in), for each step."""
    positions = np.arange(statistic.size, dtype=np.int64)
    last_zero = np.maximum.accumulate(np.where(statistic == 0.0, positions, -1))
    return np.where(last_zero >= 0, positions - last_zero, start + positions + 1)
