"""The result of comparing one operation: ``Comparison``, its ``StatisticTest``s and the
``Verdict`` (the rule that produces them: ``statistics``; its defaults: ``gate_defaults``).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mcp_agent_otel.regression.gate_defaults import DEFAULT_ALPHA, DEFAULT_PASS_CONFIDENCE


class Verdict(str, enum.Enum):
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    NO_CHANGE = "no_change"
    INCONCLUSIVE = "inconclusive"


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def float_or_nan(value: Any) -> float:
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class Comparison:
    """The decision for one operation. Ratios are candidate/baseline durations (1.10 = 10% slower).

    ``ratio_ci_low``/``ratio_ci_high`` are one-sided ``1 - alpha`` bounds (a two-sided
    ``1 - 2*alpha`` interval). ``p_value`` is the one-sided p-value of Welch's t-test on log
    durations in the direction of ``ratio``: that the candidate is slower when ``ratio >= 1``
    (the regression question), faster when ``ratio < 1`` (the improvement question).
    ``p_adjusted`` is its Benjamini-Hochberg adjustment among the operations compared together
    (for the same direction); it is nan for an operation with fewer than ``min_samples`` on a
    side (not tested, not counted in the family), whose ``p_value`` is still shown when it can
    be computed. ``alpha`` is the level used; ``confidence`` the two-sided level of the interval.
    Unknown values (no data) are nan; ``to_dict`` writes them as ``null`` (strict JSON).
    """

    operation: str
    baseline_n: int
    candidate_n: int
    ratio: float
    ratio_ci_low: float
    ratio_ci_high: float
    p_value: float
    p_adjusted: float
    verdict: Verdict
    threshold: float
    required_n: int | None
    reason: str
    alpha: float = DEFAULT_ALPHA
    confidence: float = 1.0 - 2.0 * DEFAULT_ALPHA
    pass_confidence: float = DEFAULT_PASS_CONFIDENCE
    tests: tuple[StatisticTest, ...] = ()
    design: str = "independent"  # "independent" spans, several "runs", or "paired" A/B blocks
    baseline_runs: int = 1
    candidate_runs: int = 1
    run_noise: float = math.nan  # run-to-run (paired: block-to-block) noise, relative

    def test(self, name: str) -> StatisticTest | None:
        """The test of statistic ``name`` ("median", "p95", "p99"), if it was made."""
        return next((t for t in self.tests if t.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "baseline_n": self.baseline_n,
            "candidate_n": self.candidate_n,
            "ratio": finite_or_none(self.ratio),
            "ratio_ci_low": finite_or_none(self.ratio_ci_low),
            "ratio_ci_high": finite_or_none(self.ratio_ci_high),
            "p_value": finite_or_none(self.p_value),
            "p_adjusted": finite_or_none(self.p_adjusted),
            "verdict": self.verdict.value,
            "threshold": self.threshold,
            "required_n": self.required_n,
            "reason": self.reason,
            "alpha": self.alpha,
            "confidence": self.confidence,
            "pass_confidence": self.pass_confidence,
            "statistics": [t.to_dict() for t in self.tests],
            "design": self.design,
            "baseline_runs": self.baseline_runs,
            "candidate_runs": self.candidate_runs,
            "run_noise": finite_or_none(self.run_noise),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        required_n = data.get("required_n")
        return cls(
            operation=str(data["operation"]),
            baseline_n=int(data["baseline_n"]),
            candidate_n=int(data["candidate_n"]),
            ratio=float_or_nan(data.get("ratio")),
            ratio_ci_low=float_or_nan(data.get("ratio_ci_low")),
            ratio_ci_high=float_or_nan(data.get("ratio_ci_high")),
            p_value=float_or_nan(data.get("p_value")),
            p_adjusted=float_or_nan(data.get("p_adjusted")),
            verdict=Verdict(data["verdict"]),
            threshold=float(data["threshold"]),
            required_n=None if required_n is None else int(required_n),
            reason=str(data["reason"]),
            alpha=float(data.get("alpha", DEFAULT_ALPHA)),
            confidence=float(data.get("confidence", 1.0 - 2.0 * DEFAULT_ALPHA)),
            pass_confidence=float(data.get("pass_confidence", DEFAULT_PASS_CONFIDENCE)),
            tests=tuple(StatisticTest.from_dict(t) for t in data.get("statistics", ())),
            design=str(data.get("design", "independent")),
            baseline_runs=int(data.get("baseline_runs", 1)),
            candidate_runs=int(data.get("candidate_runs", 1)),
            run_noise=float_or_nan(data.get("run_noise")),
        )


@dataclass(frozen=True)
class StatisticTest:
    """One statistic of one operation: the centre ("median") or a tail quantile ("p95").

    ``ratio`` is candidate/baseline; ``upper`` its one-sided ``1 - alpha`` upper bound (the
    regression zone is reached when it is at least ``1 + threshold``); ``upper_pass`` the
    one-sided ``pass_confidence`` bound (a slowdown of the threshold is ruled out when it is
    below ``1 + threshold``). ``p_value`` is one-sided, for "slower"; ``p_adjusted`` its
    weighted Benjamini-Hochberg adjustment in the family of every statistic compared together.
    """

    name: str
    ratio: float
    upper: float
    upper_pass: float
    p_value: float
    p_adjusted: float
    regressed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ratio": finite_or_none(self.ratio),
            "upper": finite_or_none(self.upper),
            "upper_pass": finite_or_none(self.upper_pass),
            "p_value": finite_or_none(self.p_value),
            "p_adjusted": finite_or_none(self.p_adjusted),
            "regressed": self.regressed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatisticTest:
        return cls(
            name=str(data["name"]),
            ratio=float_or_nan(data.get("ratio")),
            upper=float_or_nan(data.get("upper")),
            upper_pass=float_or_nan(data.get("upper_pass")),
            p_value=float_or_nan(data.get("p_value")),
            p_adjusted=float_or_nan(data.get("p_adjusted")),
            regressed=bool(data.get("regressed", False)),
        )
