"""The overview's comparisons are kept between page loads until spans arrive (real SQLite,
real OTLP requests through the ingestor, the real gate comparison)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mcp_agent_otel.regression import dashboard_model, gate
from mcp_agent_otel.regression.baselines import Selector
from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from tests.regression.otlp_builders import request

NAMES = ["op-a", "op-b"]


@pytest.fixture
def analyzer(tmp_path: Path) -> Iterator[RegressionAnalyzer]:
    config = AnalyzerConfig(db_path=tmp_path / "analyzer.db")
    with RegressionAnalyzer(config, background=False, sinks=[]) as running:
        rng = np.random.default_rng(3)
        for version in ("1.0", "2.0"):
            durations = rng.lognormal(np.log(10.0), 0.3, 200)
            assert running.ingestor.ingest(request(durations, names=NAMES, version=version))
            if version == "1.0":
                running.create_baseline("v1", Selector(version="1.0"))
        yield running


@pytest.fixture
def comparisons_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each gate comparison the dashboard runs, by baseline name (it still runs)."""
    runs: list[str] = []
    original = gate.run_comparison

    def counted(store: object, baseline: str, candidate: gate.Candidate) -> object:
        runs.append(baseline)
        return original(store, baseline, candidate)  # type: ignore[arg-type]

    monkeypatch.setattr(gate, "run_comparison", counted)
    return runs


def test_comparisons_are_reused_until_spans_arrive(
    analyzer: RegressionAnalyzer, comparisons_run: list[str]
) -> None:
    clock = [100.0]
    cache = dashboard_model.DashboardCache(min_interval_s=5.0, clock=lambda: clock[0])
    first = dashboard_model.collect(analyzer, cache=cache, version="2.0")
    again = dashboard_model.collect(analyzer, cache=cache, version="2.0")
    assert comparisons_run == ["v1"]
    assert [v.comparison for v in again.operations] == [v.comparison for v in first.operations]
    assert all(v.comparison is not None for v in first.operations)
    # The same comparisons as without a cache.
    uncached = dashboard_model.collect(analyzer, version="2.0")
    assert [v.comparison for v in uncached.operations] == [v.comparison for v in first.operations]
    comparisons_run.clear()

    # New spans: recomputed at the next load (the interval since the last one has passed) ...
    slow = np.full(200, 30.0)
    analyzer.ingestor.ingest(request(slow, names=NAMES, version="2.0"))
    clock[0] += 6.0
    after = dashboard_model.collect(analyzer, cache=cache, version="2.0")
    assert comparisons_run == ["v1"]
    assert after.operations[0].comparison != first.operations[0].comparison
    # ... and while spans keep arriving, at most once per interval.
    analyzer.ingestor.ingest(request(slow, names=NAMES, version="2.0"))
    clock[0] += 1.0
    dashboard_model.collect(analyzer, cache=cache, version="2.0")
    assert comparisons_run == ["v1"]
    clock[0] += 5.0
    dashboard_model.collect(analyzer, cache=cache, version="2.0")
    assert comparisons_run == ["v1", "v1"]


def test_the_first_spans_after_a_quiet_spell_show_at_the_next_load(
    analyzer: RegressionAnalyzer, comparisons_run: list[str]
) -> None:
    clock = [100.0]
    cache = dashboard_model.DashboardCache(min_interval_s=5.0, clock=lambda: clock[0])
    dashboard_model.collect(analyzer, cache=cache, version="2.0")
    analyzer.ingestor.ingest(request(np.full(200, 30.0), names=NAMES, version="2.0"))
    clock[0] += 0.1  # well within the interval: no steady ingest yet, so no throttle
    dashboard_model.collect(analyzer, cache=cache, version="2.0")
    assert comparisons_run == ["v1", "v1"]


def test_a_new_baseline_or_another_version_is_compared_at_once(
    analyzer: RegressionAnalyzer, comparisons_run: list[str]
) -> None:
    cache = dashboard_model.DashboardCache(min_interval_s=3600.0)
    dashboard_model.collect(analyzer, cache=cache, version="2.0")
    dashboard_model.collect(analyzer, cache=cache, version="1.0")  # another candidate
    assert comparisons_run == ["v1", "v1"]
    analyzer.create_baseline("v2", Selector(version="2.0"))  # now the active baseline
    data = dashboard_model.collect(analyzer, cache=cache, version="1.0")
    assert comparisons_run == ["v1", "v1", "v2"]
    assert {v.baseline.name for v in data.operations if v.baseline} == {"v2"}


def test_the_page_served_by_the_analyzer_reuses_its_comparisons(
    analyzer: RegressionAnalyzer, comparisons_run: list[str]
) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from mcp_agent_otel.regression import dashboard_routes

    app = FastAPI()
    app.include_router(dashboard_routes.router(analyzer))
    with TestClient(app) as client:
        for _ in range(3):
            assert client.get("/?refresh=0").status_code == 200
    assert comparisons_run == ["v1"]


def test_pages_are_kept_per_window_and_step_and_share_the_comparisons(
    analyzer: RegressionAnalyzer, comparisons_run: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[object] = []
    original = analyzer.store.bucket_rows

    def bucket_rows(*args: object, **kwargs: object) -> object:
        if kwargs.get("since") is not None:  # the page's window (the gate reads all)
            reads.append(kwargs["since"])
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(analyzer.store, "bucket_rows", bucket_rows)
    cache = dashboard_model.DashboardCache(min_interval_s=3600.0)
    # Mid-way through the hour page's time step, so that now + 1 is in the same step (a page
    # is kept per step: a load in the next step reads afresh, as the end of this test checks).
    step = dashboard_model.step_for(3600, analyzer.config.bucket_seconds)
    now = time.time() // step * step + step / 2
    hour = dashboard_model.collect(analyzer, cache=cache, version="2.0", now=now)
    again = dashboard_model.collect(analyzer, cache=cache, version="2.0", now=now + 1)
    assert len(reads) == 1  # the page's data came from the cache ...
    assert again.now == now + 1  # ... with the time of this load
    assert again.operations == hour.operations
    assert again == dashboard_model.collect(analyzer, version="2.0", now=now + 1)  # uncached
    assert len(reads) == 2
    assert comparisons_run == ["v1", "v1"]  # the first load's, and the uncached one's
    day = dashboard_model.collect(analyzer, cache=cache, version="2.0", window="24h", now=now)
    assert len(reads) == 3  # another window: its own page ...
    assert comparisons_run == ["v1", "v1"]  # ... and the same comparisons
    assert [v.comparison for v in day.operations] == [v.comparison for v in hour.operations]
    dashboard_model.collect(analyzer, cache=cache, version="2.0", now=now + 3600)
    assert len(reads) == 4  # a later time step: read afresh
