"""The quantile sketch (accuracy, merging, bytes, ddsketch interop) and the seeded reservoirs."""

from __future__ import annotations

import numpy as np
import pytest
from ddsketch import DDSketch

from mcp_agent_otel.regression import reservoir
from mcp_agent_otel.regression.sketch import (
    QuantileSketch,
    SketchDecodeError,
    merged,
    sketches_by_group,
)

QS = (0.5, 0.95, 0.99)


def _lower_order_statistic(values: np.ndarray, q: float) -> float:
    """The exact value the DDSketch quantile approximates: rank floor(q * (n - 1))."""
    ordered = np.sort(values)
    return float(ordered[int(np.floor(q * (len(values) - 1)))])


@pytest.mark.parametrize("sigma", [0.3, 0.5, 1.5])
def test_quantiles_are_within_one_percent_of_exact(sigma: float) -> None:
    values = np.random.default_rng(7).lognormal(np.log(12.0), sigma, 20_000)
    sketch = QuantileSketch(0.005)
    sketch.add_many(values)
    for q, got in zip(QS, sketch.quantiles(QS), strict=True):
        assert got is not None
        exact = _lower_order_statistic(values, q)
        assert abs(got - exact) / exact <= 0.005 + 1e-9
        interpolated = float(np.quantile(values, q))
        assert abs(got - interpolated) / interpolated <= 0.01


def test_matches_the_ddsketch_library_bin_for_bin() -> None:
    values = np.random.default_rng(3).lognormal(0.0, 1.0, 5_000)
    ours = QuantileSketch(0.005)
    ours.add_many(values)
    theirs = DDSketch(0.005)
    for v in values:
        theirs.add(float(v))
    for q in (0.01, 0.25, 0.5, 0.9, 0.99, 0.999):
        assert ours.quantile(q) == pytest.approx(theirs.get_quantile_value(q), rel=0.0101)
    restored = ours.to_ddsketch()  # our bytes read by the library
    assert restored.count == pytest.approx(5_000)
    for q in QS:
        assert restored.get_quantile_value(q) == pytest.approx(ours.quantile(q), rel=1e-12)


def test_merge_equals_one_sketch_of_everything() -> None:
    rng = np.random.default_rng(11)
    parts = [rng.lognormal(2.0, 0.7, n) for n in (10, 1_000, 3_333)]
    whole = QuantileSketch()
    whole.add_many(np.concatenate(parts))
    pieces = []
    for part in parts:
        sketch = QuantileSketch()
        sketch.add_many(part)
        pieces.append(sketch)
    combined = merged(pieces, 0.005)
    assert combined.count == whole.count
    assert combined.quantiles(QS) == whole.quantiles(QS)


def test_zero_durations_and_empty_sketches() -> None:
    sketch = QuantileSketch()
    assert sketch.quantile(0.5) is None
    sketch.add_many([0.0, 0.0, 0.0, 5.0])
    assert sketch.quantile(0.5) == 0.0
    assert sketch.quantile(1.0) == pytest.approx(5.0, rel=0.005)
    with pytest.raises(ValueError, match="quantile"):
        sketch.quantile(1.5)


def test_bytes_round_trip_and_damage_is_reported() -> None:
    sketch = QuantileSketch()
    sketch.add_many(np.random.default_rng(5).lognormal(1.0, 0.5, 2_000))
    blob = sketch.to_bytes()
    back = QuantileSketch.from_bytes(blob)
    assert back.quantiles(QS) == sketch.quantiles(QS)
    assert back.count == sketch.count
    assert len(blob) < 2_000  # compact: a few hundred bins, zlib-compressed
    with pytest.raises(SketchDecodeError, match="unreadable"):
        QuantileSketch.from_bytes(b"not a sketch")


def test_merging_different_accuracies_is_refused() -> None:
    with pytest.raises(ValueError, match="relative accuracy"):
        QuantileSketch(0.005).merge(QuantileSketch(0.01))


def test_sketches_by_group_equal_per_group_sketches() -> None:
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.lognormal(0, 1, 300), np.zeros(5)])
    group = rng.integers(0, 4, values.size)
    by_group = sketches_by_group(values, group, 4, 0.005)
    for g in range(4):
        single = QuantileSketch()
        single.add_many(values[group == g])
        assert by_group[g].count == single.count
        assert by_group[g].quantiles(QS) == single.quantiles(QS)


# --- reservoirs ---------------------------------------------------------------------------------


def _stream(n: int, start: int = 0) -> reservoir.Samples:
    ids = np.arange(start, start + n, dtype=np.float64)
    return reservoir.make_samples(ids, ids)


def test_reservoir_is_bounded_deterministic_and_seen_counts_everything() -> None:
    runs = []
    for _ in range(2):
        samples, seen = reservoir.empty(), 0
        for k in range(10):
            rng = reservoir.rng_for(1, 42, seen)
            samples, seen = reservoir.reservoir_add(samples, seen, _stream(700, 700 * k), 500, rng)
        runs.append(samples)
    assert seen == 7_000
    assert runs[0].size == 500
    assert np.array_equal(runs[0], runs[1])
    assert len(np.unique(runs[0]["d"])) == 500  # no item twice


def test_reservoir_is_a_uniform_sample() -> None:
    """Each of 10,000 items is kept with probability 200/10,000: across 300 seeded runs, the
    mean stream position of the kept items is the stream's mean (within 1%)."""
    means = []
    for run in range(300):
        samples, seen = reservoir.empty(), 0
        for k in range(20):
            samples, seen = reservoir.reservoir_add(
                samples, seen, _stream(500, 500 * k), 200, reservoir.rng_for(run, seen)
            )
        means.append(float(samples["d"].mean()))
    assert np.mean(means) == pytest.approx(4_999.5, rel=0.01)


def test_weighted_merge_respects_weights_and_size() -> None:
    big = reservoir.make_samples(np.zeros(1_000), np.full(1_000, 1.0))
    small = reservoir.make_samples(np.zeros(1_000), np.full(1_000, 2.0))
    out = reservoir.weighted_merge([(9_000.0, big), (1_000.0, small)], 500, reservoir.rng_for(3))
    assert out.size == 500
    assert int((out["d"] == 1.0).sum()) == 450
    everything = reservoir.weighted_merge(
        [(1.0, big[:10]), (1.0, small[:10])], 500, reservoir.rng_for(3)
    )
    assert everything.size == 20
    assert reservoir.weighted_merge([], 10, reservoir.rng_for(3)).size == 0


def test_reservoir_bytes_and_time_filter() -> None:
    samples = reservoir.make_samples(np.array([10.0, 20.0, 30.0]), np.array([1.5, 2.5, 3.5]))
    back = reservoir.decode(reservoir.encode(samples))
    assert np.array_equal(back, samples)
    assert reservoir.in_range(back, 15, 30)["d"].tolist() == [2.5]
    with pytest.raises(reservoir.ReservoirDecodeError, match="multiple of 8"):
        reservoir.decode(b"123")
