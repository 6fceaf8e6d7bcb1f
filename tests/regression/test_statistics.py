"""The analyzer's statistics: known answers, agreement with scipy, edge cases and properties."""

from __future__ import annotations

import itertools
import json
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from mcp_agent_otel.regression.centre_tests import (
    hodges_lehmann_ratio,
    pairwise_difference_order_statistics,
)
from mcp_agent_otel.regression.comparison import Comparison, Verdict
from mcp_agent_otel.regression.gate_defaults import DEFAULT_ALPHA
from mcp_agent_otel.regression.multiple_testing import benjamini_hochberg
from mcp_agent_otel.regression.sample_size import (
    required_sample_size,
    required_sample_size_for_log_effect,
)
from mcp_agent_otel.regression.statistics import compare, compare_many
from mcp_agent_otel.regression.tail_tests import quantiles

LOG_SIGMA = 0.5


def lognormal(seed: int, n: int, ratio: float = 1.0, sigma: float = LOG_SIGMA) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(math.log(ratio), sigma, n)


# --- Hodges-Lehmann ------------------------------------------------------------------------


def test_hodges_lehmann_hand_computed_example() -> None:
    # ratios c/b over all 9 pairs: 0.5 1 1 2 2 2 4 4 8 -> median 2. With 3 per side the exact
    # Mann-Whitney null gives P(U <= 0) = 1/20 = 0.05, so the one-sided 95% bounds are the
    # smallest and largest ratios.
    est, low, high = hodges_lehmann_ratio([1.0, 2.0, 4.0], [2.0, 4.0, 8.0], alpha=0.05)
    assert est == pytest.approx(2.0, rel=1e-12)
    assert low == pytest.approx(0.5, rel=1e-12)
    assert high == pytest.approx(8.0, rel=1e-12)


def test_hodges_lehmann_even_count_averages_the_two_middle_differences() -> None:
    # log ratios of c/b for b=[1], c=[1, 4]: 0 and log 4 -> median log 2 -> ratio 2
    est, low, high = hodges_lehmann_ratio([1.0], [1.0, 4.0])
    assert est == pytest.approx(2.0, rel=1e-12)
    assert math.isnan(low)
    assert math.isnan(high)


@pytest.mark.parametrize(("n", "m"), [(5, 7), (40, 33), (120, 90), (600, 700)])
def test_hodges_lehmann_matches_brute_force_median(n: int, m: int) -> None:
    b, c = lognormal(n, n), lognormal(m + 1000, m, ratio=1.2)
    est, _, _ = hodges_lehmann_ratio(b, c)
    brute = math.exp(float(np.median(np.subtract.outer(np.log(c), np.log(b)))))
    assert est == pytest.approx(brute, rel=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_hodges_lehmann_bounds_agree_with_scipy_mann_whitney(seed: int) -> None:
    """The lower bound is above 1 exactly when scipy's one-sided Mann-Whitney test rejects."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(15, 200)), int(rng.integers(15, 200))
    b = rng.lognormal(0.0, 0.5, n)
    c = rng.lognormal(float(rng.uniform(-0.2, 0.2)), 0.5, m)
    for alpha in (0.01, 0.05):
        _, low, high = hodges_lehmann_ratio(b, c, alpha=alpha)
        greater = stats.mannwhitneyu(c, b, alternative="greater", method="asymptotic")
        less = stats.mannwhitneyu(c, b, alternative="less", method="asymptotic")
        assert (low > 1.0) == (greater.pvalue < alpha)
        assert (high < 1.0) == (less.pvalue < alpha)


def test_hodges_lehmann_of_an_exact_scaling_is_that_scale() -> None:
    b = lognormal(3, 301)
    est, low, high = hodges_lehmann_ratio(b, b * 1.25)
    assert est == pytest.approx(1.25, rel=1e-12)
    assert low < 1.25 < high


@pytest.mark.parametrize("seed", range(30))
def test_pairwise_order_statistics_bracketing_equals_materializing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 80)), int(rng.integers(1, 80))
    if seed % 3 == 0:  # heavy ties
        xs = np.sort(rng.integers(0, 4, n) * 0.1)
        ys = np.sort(rng.integers(0, 4, m) * 0.1)
    elif seed % 3 == 1:  # heavy tails on the log scale
        xs, ys = np.sort(rng.standard_cauchy(n)), np.sort(rng.standard_cauchy(m))
    else:
        xs, ys = np.sort(rng.normal(size=n)), np.sort(rng.normal(0.3, 2.0, size=m))
    ranks = sorted({int(k) for k in rng.integers(0, n * m, 6)})
    direct = pairwise_difference_order_statistics(xs, ys, ranks)
    bracketed = pairwise_difference_order_statistics(
        xs, ys, ranks, direct_limit=0, bracket_limit=int(rng.integers(1, 30))
    )
    assert bracketed == direct
    assert direct == [float(v) for v in np.sort(np.subtract.outer(ys, xs).ravel())[ranks]]


def test_pairwise_order_statistics_of_large_samples_without_materializing() -> None:
    """2000 x 3000 = 6M pairs go through the bracketing path; spot-check against a full sort."""
    rng = np.random.default_rng(7)
    xs, ys = np.sort(rng.normal(size=2000)), np.sort(rng.normal(0.1, size=3000))
    ranks = [0, 1_234_567, 2_999_999, 3_000_000, 5_999_999]
    got = pairwise_difference_order_statistics(xs, ys, ranks)
    assert got == [float(v) for v in np.sort(np.subtract.outer(ys, xs).ravel())[ranks]]


def test_pairwise_order_statistics_rejects_bad_ranks() -> None:
    xs = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="ranks must be in"):
        pairwise_difference_order_statistics(xs, xs, [4])


# --- Welch's t on log durations -----------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_p_value_is_scipy_welch_t_on_log_durations(seed: int) -> None:
    rng = np.random.default_rng(seed)
    b = rng.lognormal(0.0, 0.4, int(rng.integers(20, 80)))
    c = rng.lognormal(0.15, 0.7, int(rng.integers(20, 80)))
    result = compare(b, c, min_samples=20)
    direction = "greater" if result.ratio >= 1.0 else "less"  # p_value follows the estimate
    expected = stats.ttest_ind(np.log(c), np.log(b), equal_var=False, alternative=direction)
    assert result.p_value == pytest.approx(float(expected.pvalue), rel=1e-9)
    assert result.p_adjusted == result.p_value  # a single comparison


def test_improvement_p_value_answers_faster() -> None:
    b, c = lognormal(1, 60), lognormal(2, 60, ratio=0.7)
    result = compare(b, c)
    expected = stats.ttest_ind(np.log(c), np.log(b), equal_var=False, alternative="less")
    assert result.ratio < 1.0
    assert result.p_value == pytest.approx(float(expected.pvalue), rel=1e-9)


# --- Benjamini-Hochberg -------------------------------------------------------------------

# Benjamini & Hochberg (1995), section 4: 15 p-values; at q = 0.05 the first four are rejected.
BH_1995 = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
    0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000,
]  # fmt: skip


def test_benjamini_hochberg_worked_example_from_the_paper() -> None:
    adjusted = benjamini_hochberg(BH_1995)
    assert [p < 0.05 for p in adjusted] == [True] * 4 + [False] * 11
    np.testing.assert_allclose(adjusted, stats.false_discovery_control(BH_1995), rtol=1e-12)


def test_benjamini_hochberg_hand_computed_and_in_input_order() -> None:
    # sorted 0.005 0.01 0.03 0.04 -> *4/rank = 0.02 0.02 0.04 0.04 (already monotone)
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert benjamini_hochberg([0.2]) == [0.2]
    assert benjamini_hochberg([]) == []


@pytest.mark.parametrize("bad", [[0.1, math.nan], [-0.1], [1.5], [math.inf]])
def test_benjamini_hochberg_rejects_values_that_are_not_p_values(bad: list[float]) -> None:
    with pytest.raises(ValueError, match=r"p-values must be numbers in \[0, 1\]"):
        benjamini_hochberg(bad)


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40))
def test_benjamini_hochberg_properties(p: list[float]) -> None:
    adjusted = benjamini_hochberg(p)
    assert all(a >= raw - 1e-15 and a <= 1.0 for a, raw in zip(adjusted, p, strict=True))
    for (p1, a1), (p2, a2) in itertools.combinations(zip(p, adjusted, strict=True), 2):
        if p1 <= p2:
            assert a1 <= a2 + 1e-15
    np.testing.assert_allclose(adjusted, stats.false_discovery_control(p), rtol=1e-12, atol=0)


# --- quantiles and sample size ------------------------------------------------------------


def test_exact_quantiles_known_answers() -> None:
    values = np.arange(1.0, 101.0)
    assert quantiles(values) == pytest.approx({"p50": 50.5, "p95": 95.05, "p99": 99.01})
    assert quantiles([7.0], qs=(0.5, 0.999)) == {"p50": 7.0, "p99.9": 7.0}


@pytest.mark.parametrize(
    ("values", "qs", "message"),
    [([], (0.5,), "non-empty"), ([1.0, math.nan], (0.5,), "finite"), ([1.0], (1.5,), "levels")],
)
def test_quantiles_reject_bad_input(values: list[float], qs: tuple[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        quantiles(values, qs)


def test_required_sample_size_is_the_normal_power_formula() -> None:
    z = stats.norm.ppf(0.99) + stats.norm.ppf(0.95)
    expected = math.ceil(2 * (0.5 * z / math.log(1.1)) ** 2)
    assert required_sample_size(0.5, 0.10, 0.01) == expected == 869
    assert required_sample_size(0.5, 0.10, 0.05) == 596
    assert required_sample_size(1.0, 0.10, 0.01) > required_sample_size(0.5, 0.10, 0.01)
    assert required_sample_size(0.5, 0.20, 0.01) < required_sample_size(0.5, 0.10, 0.01)
    assert required_sample_size(0.0, 0.10, 0.01) == 2


@pytest.mark.parametrize(
    "args", [(-0.1, 0.1, 0.01), (0.5, 0.0, 0.01), (0.5, 0.1, 0.0), (math.nan, 0.1, 0.01)]
)
def test_required_sample_size_rejects_bad_arguments(args: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        required_sample_size(*args)
    with pytest.raises(ValueError, match="must be"):
        required_sample_size_for_log_effect(args[0], -1.0, args[2])


# --- compare: verdicts ----------------------------------------------------------------------


def test_clear_regression_and_its_mirror_improvement() -> None:
    b, c = lognormal(1, 900), lognormal(2, 900, ratio=1.3)
    slower = compare(b, c, operation="svc|tools/call search")
    assert slower.verdict is Verdict.REGRESSION
    assert slower.operation == "svc|tools/call search"
    assert slower.ratio == pytest.approx(1.3, rel=0.06)
    assert slower.ratio_ci_low < slower.ratio < slower.ratio_ci_high
    assert slower.p_value < 1e-6
    assert slower.required_n is None
    assert "slower" in slower.reason
    faster = compare(c, b)
    assert faster.verdict is Verdict.IMPROVEMENT
    assert "faster" in faster.reason


def test_true_threshold_sized_regression_at_900_per_side() -> None:
    result = compare(lognormal(11, 900), lognormal(12, 900, ratio=1.10))
    assert result.verdict is Verdict.REGRESSION
    assert result.ratio_ci_high >= 1.10
    assert result.confidence == pytest.approx(0.98)


def test_identical_samples_are_no_change() -> None:
    b = lognormal(5, 900)
    result = compare(b, b.copy())
    assert result.verdict is Verdict.NO_CHANGE
    assert result.ratio == 1.0
    assert result.p_value == pytest.approx(0.5)
    assert 1 / 1.1 < result.ratio_ci_low < 1.0 < result.ratio_ci_high < 1.1
    assert "A 10% slowdown is ruled out at 85% confidence" in result.reason
    assert [t.name for t in result.tests] == ["median", "p95", "p99"]
    assert not any(t.regressed for t in result.tests)


def test_constant_samples() -> None:
    same = compare([10.0] * 30, [10.0] * 30)
    assert same.verdict is Verdict.NO_CHANGE
    assert (same.ratio, same.ratio_ci_low, same.ratio_ci_high) == (1.0, 1.0, 1.0)
    assert same.p_value == 1.0
    slower = compare([10.0] * 30, [12.0] * 30)
    assert slower.verdict is Verdict.REGRESSION
    assert slower.ratio == pytest.approx(1.2)
    assert slower.p_value == 0.0
    assert compare([12.0] * 30, [10.0] * 30).verdict is Verdict.IMPROVEMENT
    # exactly known 5% change: significant, but inside the threshold
    small = compare([10.0] * 30, [10.5] * 30)
    assert small.verdict is Verdict.NO_CHANGE
    assert small.p_value == 0.0


def test_significant_change_smaller_than_the_threshold_is_no_change() -> None:
    result = compare(lognormal(21, 5000), lognormal(22, 5000, ratio=1.03))
    assert result.p_value < DEFAULT_ALPHA  # detectably slower ...
    assert result.verdict is Verdict.NO_CHANGE  # ... but by less than 10%, with confidence
    assert result.ratio_ci_high < 1.10


def test_too_few_samples_is_inconclusive_with_the_size_that_would_decide() -> None:
    result = compare(lognormal(1, 12), lognormal(2, 30, ratio=1.5))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.baseline_n == 12
    assert result.candidate_n == 30
    assert result.required_n is not None
    assert result.required_n >= 20
    assert math.isnan(result.p_adjusted)
    assert "Too few samples" in result.reason
    assert str(result.required_n) in result.reason


def test_empty_sides_are_inconclusive() -> None:
    nothing = compare([], [])
    assert nothing.verdict is Verdict.INCONCLUSIVE
    assert math.isnan(nothing.ratio)
    assert nothing.required_n == 20
    only_baseline = compare(lognormal(1, 900), [])
    assert only_baseline.verdict is Verdict.INCONCLUSIVE
    # spread known from the baseline: the classic size at the threshold
    assert only_baseline.required_n == pytest.approx(869, rel=0.1)


def test_gray_zone_is_inconclusive_and_asks_for_more_than_it_has() -> None:
    result = compare(lognormal(31, 60), lognormal(32, 60, ratio=1.05))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.required_n is not None
    assert result.required_n > 60
    assert "would decide" in result.reason
    more = compare(
        lognormal(33, result.required_n * 2), lognormal(34, result.required_n * 2, ratio=1.05)
    )
    assert more.verdict is not Verdict.INCONCLUSIVE


@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        (math.nan, "nan"),
        (math.inf, "inf"),
        (-3.0, "-3.0"),
        (0.0, "0.0"),
    ],
)
def test_invalid_durations_are_a_clear_value_error(bad: float, shown: str) -> None:
    values = [1.0] * 25
    values[7] = bad
    with pytest.raises(ValueError, match="positive finite") as info:
        compare([1.0] * 25, values, operation="svc|op")
    assert "at index 7" in str(info.value)
    assert shown in str(info.value)
    assert "candidate" in str(info.value)
    assert "svc|op" in str(info.value)
    with pytest.raises(ValueError, match="baseline durations must be positive finite"):
        hodges_lehmann_ratio(values, [1.0])


@pytest.mark.parametrize("bad", ["abc", [[1.0, 2.0]], [1.0, "x"], 5.0])
def test_unreadable_durations_are_a_clear_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match="durations must be"):
        compare(bad, [1.0, 2.0])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": math.nan}, "threshold"),
        ({"alpha": 0.7}, "alpha"),
        ({"alpha": 0.0}, "alpha"),
        ({"min_samples": 1}, "min_samples"),
    ],
)
def test_bad_parameters_are_a_clear_value_error(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compare([1.0] * 30, [1.0] * 30, **kwargs)  # type: ignore[arg-type]


# --- compare_many ------------------------------------------------------------------------


def test_compare_many_adjusts_with_benjamini_hochberg_and_sorts() -> None:
    samples = {f"op{i:02d}": (lognormal(i, 300), lognormal(100 + i, 300)) for i in range(11)}
    samples["op05"] = (lognormal(5, 300), lognormal(105, 300, ratio=1.4))
    samples["few"] = (lognormal(7, 5), lognormal(8, 5))
    results = compare_many(samples)
    assert [r.operation for r in results] == sorted(samples)
    by_op = {r.operation: r for r in results}
    assert by_op["op05"].verdict is Verdict.REGRESSION
    assert by_op["few"].verdict is Verdict.INCONCLUSIVE
    assert math.isnan(by_op["few"].p_adjusted)
    # the family is every statistic of the 11 tested operations (weighted BH), "few" is out
    tested = [r for r in results if r.operation != "few"]
    assert all([t.name for t in r.tests] == ["median", "p95"] for r in tested)  # p99: n too small
    # weights: each centre 1.8 (90% of the level over 11 of 22), each tail 0.2
    assert all(t.p_adjusted >= t.p_value / 1.8 - 1e-12 for r in tested for t in r.tests)
    assert all(r.p_adjusted >= r.p_value for r in tested if r.ratio < 1)
    assert by_op["op05"].test("median").regressed  # type: ignore[union-attr]


def test_compare_many_names_the_operation_with_bad_data() -> None:
    with pytest.raises(ValueError, match=re.escape("'svc|broken'")):
        compare_many({"svc|ok": ([1.0] * 30, [1.0] * 30), "svc|broken": ([1.0], [-1.0])})
    assert compare_many({}) == []


def test_comparison_round_trips_through_strict_json() -> None:
    for result in (
        compare(lognormal(1, 200), lognormal(2, 200, ratio=1.2), operation="a"),
        compare([], [1.0, 2.0], operation="b"),
    ):
        text = json.dumps(result.to_dict(), allow_nan=False)
        back = Comparison.from_dict(json.loads(text))
        assert back.to_dict() == result.to_dict()
        assert back.verdict is result.verdict


def test_deterministic_and_independent_of_input_order() -> None:
    b, c = lognormal(1, 700), lognormal(2, 800, ratio=1.08)
    first = compare(b, c).to_dict()
    assert compare(b, c).to_dict() == first
    rng = np.random.default_rng(0)
    assert compare(rng.permutation(b), rng.permutation(c)).to_dict() == first
    assert compare(b.tolist(), tuple(c.tolist())).to_dict() == first


# --- properties ---------------------------------------------------------------------------

durations = st.lists(
    st.one_of(
        st.sampled_from([1.0, 1.1, 1.2, 2.0, 5.0]),  # ties and exact threshold-sized ratios
        st.floats(0.01, 1000.0, allow_nan=False, allow_infinity=False),
    ),
    min_size=0,
    max_size=60,
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _near_a_boundary(r: Comparison) -> bool:
    """True when rounding in a rescaled copy could move one of the verdict's comparisons."""
    margin = math.log1p(r.threshold)
    close = [
        (math.log(r.ratio_ci_high), margin),
        (math.log(r.ratio_ci_low), -margin),
        (math.log(r.ratio), 0.0),
        *((math.log(t.upper_pass), margin) for t in r.tests),
        *((math.log(t.upper), margin) for t in r.tests),
    ]
    if any(math.isfinite(a) and abs(a - b) < 1e-9 for a, b in close):
        return True
    if any(math.isfinite(t.p_adjusted) and abs(t.p_adjusted - r.alpha) < 1e-9 for t in r.tests):
        return True
    return math.isfinite(r.p_adjusted) and abs(r.p_adjusted - r.alpha) < 1e-9


@PROPERTY_SETTINGS
@given(durations, durations, st.integers(-30, 30))
def test_scaling_by_a_power_of_two_changes_nothing_at_all(
    base: list[float], cand: list[float], exponent: int
) -> None:
    c = 2.0**exponent
    original = compare(base, cand, min_samples=5)
    scaled = compare([v * c for v in base], [v * c for v in cand], min_samples=5)
    assert scaled.to_dict() == original.to_dict()


@PROPERTY_SETTINGS
@given(durations, durations, st.floats(1e-3, 1e3))
def test_scaling_keeps_the_ratio_and_the_verdict(
    base: list[float], cand: list[float], c: float
) -> None:
    original = compare(base, cand, min_samples=5)
    scaled = compare([v * c for v in base], [v * c for v in cand], min_samples=5)
    if math.isnan(original.ratio):
        assert math.isnan(scaled.ratio)
    else:
        assert scaled.ratio == pytest.approx(original.ratio, rel=1e-9)
    if not _near_a_boundary(original):
        assert scaled.verdict is original.verdict


@PROPERTY_SETTINGS
@given(durations, durations)
def test_swapping_baseline_and_candidate_mirrors_the_ratio_and_interval(
    base: list[float], cand: list[float]
) -> None:
    forward = compare(base, cand, min_samples=5)
    backward = compare(cand, base, min_samples=5)
    assert (
        backward.required_n is None
        or forward.required_n is None
        or (backward.required_n == forward.required_n)
    )
    if not math.isnan(forward.ratio):
        assert backward.ratio == pytest.approx(1.0 / forward.ratio, rel=1e-12)
    if not math.isnan(forward.ratio_ci_low):
        assert backward.ratio_ci_high == pytest.approx(1.0 / forward.ratio_ci_low, rel=1e-12)
        assert backward.ratio_ci_low == pytest.approx(1.0 / forward.ratio_ci_high, rel=1e-12)


@PROPERTY_SETTINGS
@given(durations, st.floats(0.2, 0.999))
def test_a_uniformly_faster_candidate_never_regresses(base: list[float], factor: float) -> None:
    """Faster never blocks: every span of the candidate shorter by the same factor."""
    result = compare(base, [v * factor for v in base], min_samples=5)
    assert result.verdict is not Verdict.REGRESSION


def test_absurd_but_finite_durations_do_not_overflow() -> None:
    result = compare([1e-300] * 30 + [1e300], [1e300] * 31)
    assert result.verdict is Verdict.REGRESSION
    assert result.ratio == math.inf
    assert json.loads(json.dumps(result.to_dict(), allow_nan=False))["ratio"] is None
