"""Multiple testing: (weighted) Benjamini-Hochberg adjusted p-values (pure)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
