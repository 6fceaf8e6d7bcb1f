"""One statistic on the log scale and its one-sided normal/Student-t test (pure).

``Stat`` carries the estimate of a log ratio, its one-sided bounds at the regression level and
at the pass confidence, and the two one-sided p-values; ``normal_stat`` makes one from an
estimate and its standard error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special


def t_quantile(confidence: float, df: float) -> float:
    if not math.isfinite(df) or df > 1e6:
        return float(special.ndtri(confidence))
    return float(special.stdtrit(df, confidence))


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom (normal when df is infinite)."""
    if not math.isfinite(df) or df > 1e6:
        return float(special.ndtr(-t))
    return float(special.stdtr(df, -t))


@dataclass(frozen=True)
class Stat:
    """A statistic measured on the log scale, before the family's adjustment."""

    name: str
    log_ratio: float
    log_upper: float  # one-sided 1 - alpha
    log_low: float  # one-sided 1 - alpha lower bound
    log_upper_pass: float  # one-sided pass_confidence
    p_slower: float
    p_faster: float


def normal_stat(
    name: str, d: float, se: float, df: float, alpha: float, pass_confidence: float
) -> Stat:
    if not (math.isfinite(d) and math.isfinite(se)):
        return Stat(name, d, math.nan, math.nan, math.nan, math.nan, math.nan)
    if se == 0.0:
        p_slower = 0.0 if d > 0 else 1.0
        p_faster = 0.0 if d < 0 else 1.0
        return Stat(name, d, d, d, d, p_slower, p_faster)
    t_reg = t_quantile(1.0 - alpha, df)
    t_pass = t_quantile(pass_confidence, df)
    return Stat(
        name,
        d,
        d + t_reg * se,
        d - t_reg * se,
        d + t_pass * se,
        t_sf(d / se, df),
        t_sf(-d / se, df),
    )
