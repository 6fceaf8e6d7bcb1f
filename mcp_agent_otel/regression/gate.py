"""Comparisons and the CI gate: a baseline against a candidate, per operation, one verdict.

The candidate is another baseline, the stored spans of a version or a time range, or raw
durations (a CI run's spans file); durations may be grouped by run (``run_variance.Runs``, or
for a stored baseline or version a sample with each run's summary, ``SampledRuns``) or be
paired A/B blocks. The statistics are ``statistics.compare_many`` (one weighted
Benjamini-Hochberg family over the centre, p95 and p99 of every operation compared). The
gate's verdict: ``regression`` (exit 1) when any operation regressed, else ``inconclusive``
(exit 2) when any operation could not be decided (or none could be compared), else ``pass``
(exit 0). Faster never blocks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mcp_agent_otel.regression import live_detection, statistics
from mcp_agent_otel.regression.baselines import Selector, baseline_snapshot, snapshot
from mcp_agent_otel.regression.comparison import Comparison, Verdict
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.run_variance import Runs, SampledRuns
from mcp_agent_otel.regression.store import Store

EXIT_PASS = 0
EXIT_REGRESSION = 1
EXIT_INCONCLUSIVE = 2

PASS = "pass"
REGRESSION = "regression"
INCONCLUSIVE = "inconclusive"

Durations = NDArray[np.float64]
# One side of an operation: its spans, its spans by run, or (stored) a sample and its runs.
Evidence = Durations | Runs | SampledRuns


@dataclasses.dataclass(frozen=True)
class GateReport:
    baseline: str
    candidate: str
    verdict: str
    exit_code: int
    message: str
    comparisons: tuple[Comparison, ...]
    only_in_baseline: tuple[str, ...] = ()
    only_in_candidate: tuple[str, ...] = ()
    threshold: float = statistics.DEFAULT_THRESHOLD
    alpha: float = statistics.DEFAULT_ALPHA
    pass_confidence: float = statistics.DEFAULT_PASS_CONFIDENCE
    metric: str = "wall"  # "wall": span durations; "cpu": the spans' thread CPU time

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "message": self.message,
            "threshold": self.threshold,
            "alpha": self.alpha,
            "pass_confidence": self.pass_confidence,
            "metric": self.metric,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "only_in_baseline": list(self.only_in_baseline),
            "only_in_candidate": list(self.only_in_candidate),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateReport:
        return cls(
            baseline=str(data["baseline"]),
            candidate=str(data["candidate"]),
            verdict=str(data["verdict"]),
            exit_code=int(data["exit_code"]),
            message=str(data["message"]),
            comparisons=tuple(Comparison.from_dict(c) for c in data["comparisons"]),
            only_in_baseline=tuple(data.get("only_in_baseline", ())),
            only_in_candidate=tuple(data.get("only_in_candidate", ())),
            threshold=float(data.get("threshold", statistics.DEFAULT_THRESHOLD)),
            alpha=float(data.get("alpha", statistics.DEFAULT_ALPHA)),
            pass_confidence=float(data.get("pass_confidence", statistics.DEFAULT_PASS_CONFIDENCE)),
            metric=str(data.get("metric", "wall")),
        )


def positive(durations: Durations) -> Durations:
    """The tests work on log durations: zero-length spans cannot take part."""
    return live_detection.positive(np.asarray(durations, dtype=np.float64))


def positive_evidence(evidence: Evidence) -> Evidence:
    if isinstance(evidence, Runs):
        return Runs(tuple(positive(np.asarray(g, dtype=np.float64)) for g in evidence.groups))
    if isinstance(evidence, SampledRuns):
        return SampledRuns(positive(np.asarray(evidence.sample, dtype=np.float64)), evidence.runs)
    return positive(evidence)


def runs_of(by_run: Mapping[str, Durations]) -> Evidence:
    """One operation's durations by run id: ``Runs`` when there are several, else the spans."""
    if len(by_run) == 1:
        return next(iter(by_run.values()))
    return Runs(tuple(by_run[run] for run in sorted(by_run)))


def what_moved(comparison: Comparison) -> str:
    """ "p95 1.64x" for each statistic that regressed (the centre is called the median)."""
    return ", ".join(f"{t.name} {t.ratio:.2f}x" for t in comparison.tests if t.regressed)


NAMED_IN_MESSAGE = 10


def _names(operations: list[str]) -> str:
    shown = ", ".join(operations[:NAMED_IN_MESSAGE])
    more = len(operations) - NAMED_IN_MESSAGE
    return shown + (f" and {more} more" if more > 0 else "")


def verdict_of(comparisons: tuple[Comparison, ...]) -> tuple[str, int, str]:
    """The gate's verdict, exit code and one-line message (pure)."""
    if not comparisons:
        return (
            INCONCLUSIVE,
            EXIT_INCONCLUSIVE,
            "no operation is in both the baseline and the candidate: nothing to compare",
        )
    regressed = [
        f"{c.operation} ({what_moved(c)})" if what_moved(c) else c.operation
        for c in comparisons
        if c.verdict is Verdict.REGRESSION
    ]
    if regressed:
        return (
            REGRESSION,
            EXIT_REGRESSION,
            f"{len(regressed)} operation(s) regressed: {_names(regressed)}",
        )
    undecided = [c.operation for c in comparisons if c.verdict is Verdict.INCONCLUSIVE]
    if undecided:
        return (
            INCONCLUSIVE,
            EXIT_INCONCLUSIVE,
            f"{len(undecided)} operation(s) could not be decided (more samples needed): "
            f"{_names(undecided)}",
        )
    improved = sum(1 for c in comparisons if c.verdict is Verdict.IMPROVEMENT)
    return (
        PASS,
        EXIT_PASS,
        f"no regression in {len(comparisons)} operation(s)"
        + (f" ({improved} improved)" if improved else ""),
    )


def compare_durations(
    baseline: Mapping[OperationKey, Evidence],
    candidate: Mapping[OperationKey, Evidence],
    *,
    baseline_name: str,
    candidate_name: str,
    threshold: float = statistics.DEFAULT_THRESHOLD,
    alpha: float = statistics.DEFAULT_ALPHA,
    min_samples: int = statistics.DEFAULT_MIN_SAMPLES,
    pass_confidence: float = statistics.DEFAULT_PASS_CONFIDENCE,
    paired: bool = False,
    metric: str = "wall",
) -> GateReport:
    """Compare the operations present on both sides (pure)."""
    common = sorted(set(baseline) & set(candidate))
    pairs = {
        key.label: (positive_evidence(baseline[key]), positive_evidence(candidate[key]))
        for key in common
    }
    comparisons = tuple(
        statistics.compare_many(
            pairs,
            threshold=threshold,
            alpha=alpha,
            min_samples=min_samples,
            pass_confidence=pass_confidence,
            paired=paired,
        )
    )
    verdict, code, message = verdict_of(comparisons)
    return GateReport(
        baseline=baseline_name,
        candidate=candidate_name,
        verdict=verdict,
        exit_code=code,
        message=message,
        comparisons=comparisons,
        only_in_baseline=tuple(k.label for k in sorted(set(baseline) - set(candidate))),
        only_in_candidate=tuple(k.label for k in sorted(set(candidate) - set(baseline))),
        threshold=threshold,
        alpha=alpha,
        pass_confidence=pass_confidence,
        metric=metric,
    )


@dataclasses.dataclass(frozen=True)
class Candidate:
    """What to compare a baseline with: exactly one of the fields."""

    baseline: str | None = None
    selector: Selector | None = None
    durations: Mapping[OperationKey, Evidence] | None = None
    label: str = ""

    def __post_init__(self) -> None:
        given = sum(x is not None for x in (self.baseline, self.selector, self.durations))
        if given != 1:
            raise ValueError(
                "give exactly one candidate: another baseline, a version or time range, "
                "or raw durations"
            )

    def describe(self) -> str:
        if self.label:
            return self.label
        if self.baseline is not None:
            return f"baseline {self.baseline}"
        if self.selector is not None:
            return self.selector.describe()
        return "durations"


def candidate_durations(store: Store, candidate: Candidate) -> dict[OperationKey, Evidence]:
    if candidate.durations is not None:
        return {
            k: v if isinstance(v, Runs | SampledRuns) else np.asarray(v, dtype=np.float64)
            for k, v in candidate.durations.items()
        }
    if candidate.baseline is not None:
        snap = baseline_snapshot(store, candidate.baseline)
    else:
        assert candidate.selector is not None
        snap = snapshot(store, candidate.selector)
    return {key: s.evidence for key, s in snap.items()}


def run_comparison(
    store: Store,
    baseline: str,
    candidate: Candidate,
    *,
    service: str | None = None,
    threshold: float = statistics.DEFAULT_THRESHOLD,
    alpha: float = statistics.DEFAULT_ALPHA,
    min_samples: int = statistics.DEFAULT_MIN_SAMPLES,
    pass_confidence: float = statistics.DEFAULT_PASS_CONFIDENCE,
) -> GateReport:
    """Baseline ``baseline`` against ``candidate``. Raises BaselineNotFoundError (with the
    message to show) when a named baseline does not exist."""
    base: dict[OperationKey, Evidence] = {
        key: s.evidence for key, s in baseline_snapshot(store, baseline).items()
    }
    cand = candidate_durations(store, candidate)
    if service is not None:
        base = {k: v for k, v in base.items() if k.service == service}
        cand = {k: v for k, v in cand.items() if k.service == service}
    return compare_durations(
        base,
        cand,
        baseline_name=baseline,
        candidate_name=candidate.describe(),
        threshold=threshold,
        alpha=alpha,
        min_samples=min_samples,
        pass_confidence=pass_confidence,
    )
