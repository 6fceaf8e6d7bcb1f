"""Runs as the unit of evidence: durations grouped by run (or A/B block), and the run-to-run
variance of the log level that widens a comparison (pure).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mcp_agent_otel.regression.log_durations import FloatArray, as_durations


@dataclass(frozen=True, eq=False)
class Runs:
    """Durations grouped by run (a profile or CI run) or, for ``paired`` comparisons, by A/B
    block: the spans of one run share that run's machine state, so the run, not the span, is
    the unit of evidence about the build."""

    groups: tuple[Sequence[float] | NDArray[Any], ...]


Side = Sequence[float] | NDArray[Any] | Runs


def side_durations(values: Side, name: str) -> tuple[FloatArray, tuple[FloatArray, ...]]:
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


def run_variance(groups: tuple[FloatArray, ...]) -> tuple[float, int]:
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
class RunNoise:
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


def run_noise(groups_b: tuple[FloatArray, ...], groups_c: tuple[FloatArray, ...]) -> RunNoise:
    """The run-to-run variance, pooled over the sides that hold several runs."""
    tau_b, df_b = run_variance(groups_b)
    tau_c, df_c = run_variance(groups_c)
    df = df_b + df_c
    if df == 0:
        return RunNoise(0.0, 0, 0.0)
    tau_sq = (tau_b * df_b + tau_c * df_c) / df
    runs_b, runs_c = max(len(groups_b), 1), max(len(groups_c), 1)
    return RunNoise(tau_sq, df, tau_sq * (1.0 / runs_b + 1.0 / runs_c))
