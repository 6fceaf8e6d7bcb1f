"""Runs as the unit of evidence: durations grouped by run (or A/B block), and the run-to-run
variance of the log level that widens a comparison (pure).

The variance needs of each run only its span count and the mean and scatter of its log
durations (``RunSummary``): the analyzer's store keeps those per (operation, run) at ingest, so
a stored baseline (``SampledRuns``: a bounded sample of its spans plus its runs' summaries)
widens a comparison exactly as the same spans given as files do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from mcp_agent_otel.regression.log_durations import FloatArray, as_durations


@dataclass(frozen=True, eq=False)
class Runs:
    """Durations grouped by run (a profile or CI run) or, for ``paired`` comparisons, by A/B
    block: the spans of one run share that run's machine state, so the run, not the span, is
    the unit of evidence about the build."""

    groups: tuple[Sequence[float] | NDArray[Any], ...]


class RunSummary(NamedTuple):
    """One run's positive durations, as logs: their count, mean and sum of squared deviations
    (what ``run_variance`` needs; mergeable, so it can be kept while spans stream in). A named
    tuple: ingest makes one per operation and request, and a tuple is the cheapest to make."""

    spans: int
    mean: float
    m2: float

    def merge(self, other: RunSummary) -> RunSummary:
        """Both runs' spans as one (Chan et al.'s pairwise update)."""
        if other.spans == 0:
            return self
        if self.spans == 0:
            return other
        n = self.spans + other.spans
        delta = other.mean - self.mean
        return RunSummary(
            n,
            self.mean + delta * other.spans / n,
            self.m2 + other.m2 + delta * delta * self.spans * other.spans / n,
        )


def summarise(durations: FloatArray) -> RunSummary:
    """The summary of one run's (positive) durations."""
    if not durations.size:
        return RunSummary(0, 0.0, 0.0)
    logs = np.log(durations)
    mean = float(np.mean(logs))
    return RunSummary(int(logs.size), mean, float(np.sum((logs - mean) ** 2)))


@dataclass(frozen=True, eq=False)
class SampledRuns:
    """A side kept as a bounded sample of its spans (pooled) and the summary of every run
    (a stored baseline): the sample makes the comparison, the runs widen it."""

    sample: Sequence[float] | NDArray[Any]
    runs: tuple[RunSummary, ...]


Side = Sequence[float] | NDArray[Any] | Runs | SampledRuns


def side_durations(
    values: Side, name: str
) -> tuple[FloatArray, tuple[FloatArray, ...], tuple[RunSummary, ...]]:
    """(all durations, the durations of each run, each run's summary) of one side, validated.
    A ``SampledRuns`` side gives its sample as its one group of durations."""
    if isinstance(values, SampledRuns):
        flat = as_durations(values.sample, name)
        runs = tuple(r for r in values.runs if r.spans)
        return flat, ((flat,) if flat.size else ()), runs
    flat, groups = _groups(values, name)
    return flat, groups, tuple(summarise(g) for g in groups)


def _groups(
    values: Sequence[float] | NDArray[Any] | Runs, name: str
) -> tuple[FloatArray, tuple[FloatArray, ...]]:
    if isinstance(values, Runs):
        groups = tuple(
            as_durations(g, f"{name} (run {i + 1})") for i, g in enumerate(values.groups)
        )
        groups = tuple(g for g in groups if g.size)
        flat = np.concatenate(groups) if groups else np.zeros(0, dtype=np.float64)
        return flat, groups
    flat = as_durations(values, name)
    return flat, ((flat,) if flat.size else ())


def run_variance(runs: tuple[RunSummary, ...]) -> tuple[float, int]:
    """(between-run variance of the log mean, its degrees of freedom) from one side's runs.

    Method of moments (one-way random effects): the variance of the run means minus the part
    the spans' own scatter explains, floored at 0. Runs of fewer than 2 spans are left out.
    """
    usable = [r for r in runs if r.spans >= 2]
    if len(usable) < 2:
        return 0.0, 0
    means = np.array([r.mean for r in usable])
    within = np.array([r.m2 / (r.spans - 1) / r.spans for r in usable])
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


def run_noise(runs_b: tuple[RunSummary, ...], runs_c: tuple[RunSummary, ...]) -> RunNoise:
    """The run-to-run variance, pooled over the sides that hold several runs."""
    tau_b, df_b = run_variance(runs_b)
    tau_c, df_c = run_variance(runs_c)
    df = df_b + df_c
    if df == 0:
        return RunNoise(0.0, 0, 0.0)
    tau_sq = (tau_b * df_b + tau_c * df_c) / df
    kb, kc = max(len(runs_b), 1), max(len(runs_c), 1)
    return RunNoise(tau_sq, df, tau_sq * (1.0 / kb + 1.0 / kc))
