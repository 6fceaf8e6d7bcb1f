"""How many spans per side would decide: the normal-approximation sample size (pure)."""

from __future__ import annotations

import math

from scipy import special

REQUIRED_POWER = 0.95


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
