"""Runs in the analyzer's store: a stored baseline of several runs is widened by the run-to-run
noise exactly as the same spans given as files are, through both the local store and
``/api/comparisons``; an old database without runs compares as before; a spool replay keeps
the run data. Real OTLP requests, real receivers on loopback, real SQLite."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from mcp_agent_otel.cli import main
from mcp_agent_otel.regression import gate
from mcp_agent_otel.regression.baselines import (
    Selector,
    baseline_snapshot,
    create_baseline,
    snapshot,
)
from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.ingest import Ingestor
from mcp_agent_otel.regression.offline import file_samples
from mcp_agent_otel.regression.run_variance import RunSummary, SampledRuns, summarise
from mcp_agent_otel.regression.runtime import RegressionAnalyzer, spool_directory
from mcp_agent_otel.regression.spool import Spool
from mcp_agent_otel.regression.statistics import compare
from mcp_agent_otel.regression.store import Store

from .loopback import running_analyzer
from .otlp_builders import lognormal_ms, request, to_otlp_json

PB = {"content-type": "application/x-protobuf"}
OP = "decision_engine.decide"
LEVELS = {"run-1": 0.9, "run-2": 1.0, "run-3": 1.12, "run-4": 0.96}  # a runner's scatter
SPANS_PER_RUN = 240  # 4 runs: 960 spans, within one reservoir (2000): the sample is every span


def _run_durations() -> dict[str, np.ndarray]:
    return {
        run: lognormal_ms(SPANS_PER_RUN, 20.0 * level, 0.5, seed)
        for seed, (run, level) in enumerate(LEVELS.items(), start=1)
    }


def _requests() -> list[ExportTraceServiceRequest]:
    """Each baseline run in two requests (its summary is merged across them), then one
    candidate run of version 2.0."""
    out = []
    for run, durations in _run_durations().items():
        half = SPANS_PER_RUN // 2
        for part in (durations[:half], durations[half:]):
            out.append(request(part, names=OP, service="agent", version="1.0", run_id=run))
    candidate = lognormal_ms(SPANS_PER_RUN, 21.0, 0.5, 99)
    out.append(request(candidate, names=OP, service="agent", version="2.0", run_id="cand"))
    return out


def _file_report(tmp_path: Path, requests: list[ExportTraceServiceRequest]) -> gate.GateReport:
    """The same spans given as files (what ``check --baseline-file`` does)."""
    base, cand = tmp_path / "base.jsonl", tmp_path / "cand.jsonl"
    with base.open("w") as b, cand.open("w") as c:
        for req in requests:
            version = req.resource_spans[0].resource.attributes[1].value.string_value
            (b if version == "1.0" else c).write(json.dumps(to_otlp_json(req)) + "\n")
    base_runs, _ = file_samples([base])
    cand_runs, _ = file_samples([cand])
    return gate.compare_durations(
        {k: gate.runs_of(v) for k, v in base_runs.items()},
        {k: gate.runs_of(v) for k, v in cand_runs.items()},
        baseline_name="files",
        candidate_name="files",
    )


def test_a_stored_baseline_of_four_runs_is_widened_as_files_are(tmp_path: Path) -> None:
    requests = _requests()
    (from_files,) = _file_report(tmp_path, requests).comparisons
    assert from_files.baseline_runs == 4
    assert from_files.design == "runs"
    with (
        running_analyzer(tmp_path) as (_, endpoints),
        httpx.Client(base_url=endpoints.http_url, timeout=30) as client,
    ):
        for req in requests:
            posted = client.post("/v1/traces", content=req.SerializeToString(), headers=PB)
            assert posted.status_code == 200
        made = client.post("/api/baselines", json={"name": "base", "version": "1.0"})
        assert made.status_code == 201
        report = client.post(
            "/api/comparisons", json={"baseline": "base", "candidate": {"version": "2.0"}}
        ).json()
    (stored,) = report["comparisons"]
    assert stored["baseline_runs"] == 4
    assert stored["candidate_runs"] == 1
    assert stored["design"] == "runs"
    assert stored["run_noise"] == pytest.approx(from_files.run_noise, rel=1e-9)
    assert stored["run_noise"] > 0.03
    # Every baseline span is in the sample: the whole comparison is the files' one (up to
    # the sample's float32 durations; the run summaries are exact).
    assert stored["ratio"] == pytest.approx(from_files.ratio, rel=1e-6)
    assert stored["ratio_ci_high"] == pytest.approx(from_files.ratio_ci_high, rel=1e-6)
    assert stored["verdict"] == from_files.verdict.value
    assert "(baseline 4 run(s), candidate 1) widens the comparison" in stored["reason"]
    assert stored["reason"] == from_files.reason

    # The local store (`check --baseline NAME --db`) says the same.
    db = str(tmp_path / "analyzer.db")
    local = CliRunner().invoke(
        main, ["check", "--baseline", "base", "--candidate-version", "2.0", "--db", db, "--json"]
    )
    assert local.exit_code == gate.verdict_of((from_files,))[1], local.output
    (local_cmp,) = json.loads(local.output)["comparisons"]
    assert local_cmp["baseline_runs"] == 4
    assert local_cmp["run_noise"] == pytest.approx(from_files.run_noise, rel=1e-9)


def _ingest(db: Path, requests: list[ExportTraceServiceRequest]) -> None:
    store = Store(db)
    try:
        ingestor = Ingestor(store, AnalyzerConfig(db_path=db), detect=False)
        for req in requests:
            assert ingestor.ingest(req).accepted == len(req.resource_spans[0].scope_spans[0].spans)
        ingestor.flush()
    finally:
        store.close()


def test_an_old_database_without_runs_compares_as_before(tmp_path: Path) -> None:
    db = tmp_path / "analyzer.db"
    requests = _requests()
    _ingest(db, requests)
    store = Store(db)
    create_baseline(store, "old", Selector(version="1.0"))
    store.close()
    # What a database written before the runs were kept looks like: no such tables.
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE baseline_runs")
        conn.execute("DROP TABLE runs")
    store = Store(db)  # opening adds the tables again, empty
    try:
        create_baseline(store, "made-after", Selector(version="1.0"))
        candidate = gate.Candidate(selector=Selector(version="2.0"))
        for name in ("old", "made-after"):
            (cmp,) = gate.run_comparison(store, name, candidate).comparisons
            assert cmp.baseline_runs == 1
            assert cmp.design == "independent"
            assert math.isnan(cmp.run_noise)
            assert "Run-to-run" not in cmp.reason
        # As before: the baseline's sample against the candidate's, one pool of spans each.
        ((key, old),) = baseline_snapshot(store, "old").items()
        ((_, cand),) = snapshot(store, Selector(version="2.0")).items()
        assert old.runs == ()
        (cmp,) = gate.run_comparison(store, "old", candidate).comparisons
        expected = compare(old.durations, cand.durations, operation=key.label)
        assert cmp.to_dict() == expected.to_dict()
        assert old.durations.size == len(LEVELS) * SPANS_PER_RUN
    finally:
        store.close()


def test_a_spool_replay_keeps_the_run_data(tmp_path: Path) -> None:
    db = tmp_path / "analyzer.db"
    config = AnalyzerConfig(db_path=db)
    requests = _requests()
    store = Store(db)
    spool = Spool(spool_directory(db))
    ingestor = Ingestor(store, config, spool=spool, detect=False)
    for req in requests:
        result = ingestor.ingest(req)
        assert result.durable is not None
        result.durable.result(10)  # what the receiver waits for before answering 200
    spool.close()  # the process dies here: nothing was flushed to SQLite
    store.close()
    store = Store(db)
    assert store.run_rows() == []
    store.close()
    # What the same requests give when written without a crash.
    _ingest(tmp_path / "direct.db", requests)
    direct = Store(tmp_path / "direct.db")
    expected = {r.run_id: r.summary for r in direct.run_rows(version="1.0")}
    direct.close()
    assert sorted(expected) == sorted(LEVELS)
    assert {s.spans for s in expected.values()} == {SPANS_PER_RUN}
    for _ in range(2):  # replayed on the first start, not again on the second
        with RegressionAnalyzer(config, sinks=[]) as restarted:
            rows = {r.run_id: r.summary for r in restarted.store.run_rows(version="1.0")}
        assert rows == expected


def test_run_summaries_merge_as_one() -> None:
    d = lognormal_ms(101, 20.0, 0.5, 7)
    parts = [summarise(d[:1]), summarise(d[1:40]), summarise(d[40:40]), summarise(d[40:])]
    merged = RunSummary(0, 0.0, 0.0)
    for part in parts:
        merged = merged.merge(part)
    whole = summarise(d)
    assert merged.spans == whole.spans == 101
    assert merged.mean == pytest.approx(whole.mean, rel=1e-12)
    assert merged.m2 == pytest.approx(whole.m2, rel=1e-12)


def test_a_stored_baseline_cannot_be_paired() -> None:
    stored = SampledRuns(lognormal_ms(50, 20.0, 0.5, 1), (summarise(lognormal_ms(9, 20, 0.5, 2)),))
    with pytest.raises(ValueError, match="paired comparison needs the spans"):
        compare(stored, lognormal_ms(50, 20.0, 0.5, 3), paired=True)


def test_runs_go_with_the_retention_and_a_time_range_is_one_pool(tmp_path: Path) -> None:
    db = tmp_path / "analyzer.db"
    _ingest(db, _requests())
    store = Store(db)
    try:
        assert len(store.run_rows()) == len(LEVELS) + 1
        now = time.time()
        ranged = snapshot(store, Selector(since=now - 3600, until=now + 60))
        assert {s.runs for s in ranged.values()} == {()}
        kept = store.prune(now - 3600)
        assert kept["runs"] == 0
        assert store.prune(now + 60)["runs"] == len(LEVELS) + 1
        assert store.run_rows() == []
    finally:
        store.close()
