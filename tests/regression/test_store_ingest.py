"""The SQLite store and the ingest path: aggregation, write-behind, cap, retention, failures."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from mcp_agent_otel.regression import otlp, reservoir
from mcp_agent_otel.regression.aggregates import aggregate_groups
from mcp_agent_otel.regression.baselines import Selector
from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.offline import SpansFileError, ingest_files
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.regression.store import FlushBatch, Store, StoreError

from .otlp_builders import lognormal_ms, request, to_otlp_json


def _analyzer(tmp_path: Path, **changes: object) -> RegressionAnalyzer:
    config = AnalyzerConfig(db_path=tmp_path / "analyzer.db").with_changes(**changes)
    return RegressionAnalyzer(config, background=False, sinks=[])


def test_database_is_wal_and_keeps_its_accuracy(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    Store(path, relative_accuracy=0.005).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    reopened = Store(path, relative_accuracy=0.02)  # sketches only merge at one accuracy
    assert reopened.relative_accuracy == 0.005
    reopened.close()


def test_a_damaged_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"cannot open the analyzer database .*--db"):
        Store(path)


def test_ingest_aggregates_per_operation_version_and_bucket(tmp_path: Path) -> None:
    with _analyzer(tmp_path) as analyzer:
        durations = lognormal_ms(3_000, 20.0, 0.5, seed=1)
        req = request(
            durations,
            names=["a", "b", "c"],
            version="1.0",
            environment="prod",
            errors=[0, 3, 6],
            cache={1: True, 4: False, 7: True},
        )
        slowest = int(np.argmax(durations))
        result = analyzer.ingestor.ingest(req)
        assert (result.accepted, result.rejected, result.message) == (3_000, 0, "")
        # No explicit flush: queries see everything accepted.
        ops = {o["name"]: o for o in analyzer.operations(since=0)}
        assert set(ops) == {"a", "b", "c"}
        a, b = ops["a"], ops["b"]
        assert a["count"] == 1_000
        assert a["errors"] == 3
        assert a["versions"] == ["1.0"]
        assert a["environments"] == ["prod"]
        exact = np.quantile(durations[0::3], [0.5, 0.95, 0.99])
        got = [a["p50_ms"], a["p95_ms"], a["p99_ms"]]
        assert np.allclose(got, exact, rtol=0.01)
        assert (b["cache_hits"], b["cache_misses"]) == (2, 1)
        assert b["cache_hit_rate"] == pytest.approx(2 / 3)
        assert a["cache_hit_rate"] is None  # no cache lookups on "a"
        spans = req.resource_spans[0].scope_spans[0].spans
        top = [ops[n]["exemplars"]["slow"][0]["trace_id"] for n in "abc"]
        assert spans[slowest].trace_id.hex() in top
        assert a["exemplars"]["error"][-1]["trace_id"] == spans[6].trace_id.hex()
        trend = analyzer.trend(a["id"], since=0, step_seconds=60)
        assert sum(p["count"] for p in trend) == 1_000


def test_flushes_merge_with_what_is_stored(tmp_path: Path) -> None:
    with _analyzer(tmp_path) as analyzer:
        for seed in range(3):
            analyzer.ingestor.ingest(request(lognormal_ms(500, 5.0, 0.3, seed), names="x"))
            analyzer.ingestor.flush()
        (op,) = analyzer.operations(since=0)
        assert op["count"] == 1_500
        (row,) = analyzer.store.reservoir_rows()
        assert row.seen == 1_500
        assert row.samples.size == 1_500  # under the reservoir size: all kept


def test_two_writers_on_one_database_add_up(tmp_path: Path) -> None:
    """A server and `analyzer ingest` may write to one file: every flush read-modify-writes
    inside its own transaction."""
    first, second = _analyzer(tmp_path), _analyzer(tmp_path)
    try:
        for k in range(4):
            writer = first if k % 2 else second
            writer.ingestor.ingest(request(lognormal_ms(2_500, 5.0, 0.3, k), names="x"))
            writer.ingestor.flush()
        (op,) = first.operations(since=0)
        assert op["count"] == 10_000
        (row,) = first.store.reservoir_rows()
        assert (row.seen, row.samples.size) == (10_000, 2_000)
    finally:
        first.close()
        second.close()


def test_operation_flood_past_the_cap_is_refused_and_counted(tmp_path: Path) -> None:
    with _analyzer(tmp_path, max_operations=5) as analyzer:
        analyzer.ingestor.ingest(request([1.0] * 10, names=["keep1", "keep2"]))
        analyzer.ingestor.flush()
        before = analyzer.operations(since=0)
        flood = [f"op-{i}" for i in range(40)]
        result = analyzer.ingestor.ingest(request([2.0] * 400, names=flood))
        assert result.accepted == 30  # 3 more operations fit under the cap of 5
        assert result.rejected == 370
        assert "new operation over the operation cap" in result.message
        assert "MCP_AGENT_OTEL_ANALYZER_MAX_OPERATIONS" in result.message
        stats = analyzer.stats()
        assert stats["operations"] == {
            "count": 5,
            "cap": 5,
            "evicted_idle": 0,
            "idle_seconds": 3600.0,
        }
        assert stats["rejected_by_reason"] == {otlp.OVER_CAP: 370}
        after = {o["name"]: o for o in analyzer.operations(since=0)}
        for op in before:  # what was stored is untouched
            assert after[op["name"]]["count"] == op["count"]


def test_a_failing_transaction_leaves_stored_rows_intact(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    try:
        (op_id,) = store.register_operations([OperationKey("s", "n")], 10).values()
        assert op_id is not None
        (good,) = aggregate_groups(
            np.zeros(2, np.int64),
            1,
            np.array([1.0, 2.0]),
            np.array([1.0, 1.0]),
            np.zeros(2, bool),
            np.full(2, -1, np.int8),
            [b"t" * 16] * 2,
            [b"s" * 8] * 2,
            0.005,
        )
        key = (op_id, "1", "", 60)
        store.apply(FlushBatch(buckets={key: good}))
        bad = FlushBatch(
            buckets={key: good},  # would double the count...
            samples={(op_id, "1", ""): [np.zeros(3)]},  # ...but this chunk is not samples
        )
        with pytest.raises((ValueError, IndexError, TypeError)):
            store.apply(bad)
        (row,) = store.bucket_rows()
        assert row.aggregate.count == 2
        assert store.reservoir_rows() == []
    finally:
        store.close()


def test_a_full_disk_keeps_pending_data_for_the_next_flush(tmp_path: Path) -> None:
    """SQLITE_FULL is produced for real by capping the file's page count."""
    with _analyzer(tmp_path) as analyzer:
        analyzer.ingestor.ingest(request([3.0] * 100, names="x"))
        analyzer.ingestor.flush()
        conn = analyzer.store._conn
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={pages}")
        analyzer.ingestor.ingest(
            request(lognormal_ms(5_000, 3.0, 1.0, 9), names=[f"n{i}" for i in range(50)])
        )
        with pytest.raises(sqlite3.OperationalError, match="full"):
            analyzer.ingestor.flush()
        assert analyzer.ingestor.flush_failures == 1
        conn.execute("PRAGMA max_page_count=1073741823")
        analyzer.ingestor.flush()
        total = sum(o["count"] for o in analyzer.operations(since=0))
        assert total == 5_100


def test_background_flush_and_close_write_everything(tmp_path: Path) -> None:
    config = AnalyzerConfig(db_path=tmp_path / "bg.db", flush_interval_seconds=0.05)
    analyzer = RegressionAnalyzer(config, sinks=[])
    analyzer.ingestor.ingest(request([1.0] * 50, names="x"))
    deadline = time.monotonic() + 5
    while not analyzer.store.bucket_rows() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert analyzer.store.bucket_rows()[0].aggregate.count == 50
    analyzer.ingestor.ingest(request([1.0] * 7, names="y"))
    analyzer.close()
    reopened = Store(tmp_path / "bg.db")
    assert sorted(r.aggregate.count for r in reopened.bucket_rows()) == [7, 50]
    reopened.close()


def test_retention_prunes_old_buckets_and_frees_the_cap(tmp_path: Path) -> None:
    now = [time.time()]
    config = AnalyzerConfig(db_path=tmp_path / "r.db", retention_seconds=3 * 86_400.0)
    analyzer = RegressionAnalyzer(config, background=False, sinks=[])
    analyzer.ingestor.clock = lambda: now[0]
    old_end = int((now[0] - 2 * 86_400) * 1e9)
    analyzer.ingestor.ingest(request([1.0] * 10, names="old", end_ns=old_end))
    analyzer.ingestor.ingest(request([1.0] * 10, names="new"))
    analyzer.ingestor.flush()
    now[0] += 1.5 * 86_400  # the "old" spans are now 3.5 days old
    removed = analyzer.ingestor.prune()
    assert removed["operations"] == 1
    assert [o["name"] for o in analyzer.operations(since=0)] == ["new"]
    analyzer.close()


def test_spans_files_are_ingested_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    lines = [json.dumps(to_otlp_json(request([float(i + 1)] * 10, names="f"))) for i in range(3)]
    path.write_text(
        "\n".join([lines[0], "{broken", lines[1], "", '"just a string"', lines[2]]) + "\n"
    )
    with _analyzer(tmp_path) as analyzer:
        (report,) = ingest_files([path], analyzer.ingestor)
        assert (report.lines, report.accepted, report.bad_lines) == (5, 30, 2)
        assert report.errors[0].startswith(f"{path}:2: the body is not valid JSON")
        assert report.errors[1].startswith(f"{path}:5: an OTLP/JSON trace request must be")
        (op,) = analyzer.operations(since=0)
        assert op["count"] == 30
        with pytest.raises(SpansFileError, match="is not a file"):
            ingest_files([tmp_path / "missing.jsonl"], analyzer.ingestor)


def test_detector_state_survives_a_restart(tmp_path: Path) -> None:
    first = _analyzer(tmp_path)
    first.ingestor.ingest(request(lognormal_ms(2_000, 10.0, 0.5, 1), names="x", version="1"))
    first.create_baseline("v1", Selector(version="1"))
    first.ingestor.ingest(request(lognormal_ms(600, 13.0, 0.5, 2), names="x", version="2"))
    alerts = first.recent_alerts()
    assert len(alerts) == 1
    assert alerts[0].baseline == "v1"
    assert alerts[0].estimated_ratio > 1.1
    first.close()
    second = _analyzer(tmp_path)
    states = second.store.detector_states()
    assert len(states) == 1
    index_before = json.loads(next(iter(states.values()))[1])["index"]
    second.ingestor.ingest(request(lognormal_ms(100, 13.0, 0.5, 3), names="x", version="2"))
    second.ingestor.flush()
    (state,) = second.store.detector_states().values()
    assert json.loads(state[1])["index"] == index_before + 100  # resumed, not rebuilt
    assert len(second.recent_alerts()) == 1  # still cooling down: one regression, one alert
    second.close()


def test_storage_figures_are_reported(tmp_path: Path) -> None:
    with _analyzer(tmp_path) as analyzer:
        analyzer.ingestor.ingest(request(lognormal_ms(5_000, 10.0, 0.5, 1), names="x"))
        stats = analyzer.stats()
        assert stats["storage"]["reservoir_bytes"] == 2_000 * reservoir.SAMPLE_DTYPE.itemsize
        assert 0 < stats["storage"]["sketch_bytes"] < 4_000
        assert stats["spans"] == {"accepted": 5_000, "rejected": 0}


def test_a_name_flood_locks_out_new_operations_only_until_it_is_idle(tmp_path: Path) -> None:
    """The cap is full of flood names: a legitimate new operation is refused (and counted)
    while they are recent, and admitted once they have been idle for operation_idle_seconds,
    evicting the least recently active ones, never one with unflushed spans."""
    now = [time.time()]
    config = AnalyzerConfig(db_path=tmp_path / "cap.db").with_changes(
        max_operations=5, operation_idle_seconds=3600.0
    )
    analyzer = RegressionAnalyzer(config, background=False, sinks=[])
    analyzer.ingestor.clock = lambda: now[0]
    try:
        analyzer.ingestor.ingest(request([1.0] * 4, names=["steady"], end_ns=int(now[0] * 1e9)))
        flood = [f"flood-{i}" for i in range(40)]
        analyzer.ingestor.ingest(request([2.0] * 40, names=flood, end_ns=int(now[0] * 1e9)))
        analyzer.ingestor.flush()
        refused = analyzer.ingestor.ingest(
            request([3.0] * 2, names=["legit"], end_ns=int(now[0] * 1e9))
        )
        assert refused.rejected == 2
        assert "last 3600 s" in refused.message

        now[0] += 1800  # half an hour: everything is still recent
        analyzer.ingestor.prune()  # forgets cached refusals, as the background upkeep does
        assert (
            analyzer.ingestor.ingest(
                request([3.0], names=["legit"], end_ns=int(now[0] * 1e9))
            ).rejected
            == 1
        )

        now[0] += 3600  # the flood names are idle now; "steady" keeps sending
        analyzer.ingestor.prune()
        analyzer.ingestor.ingest(request([1.0] * 4, names=["steady"], end_ns=int(now[0] * 1e9)))
        admitted = analyzer.ingestor.ingest(
            request([3.0] * 2, names=["legit"], end_ns=int(now[0] * 1e9))
        )
        assert admitted.rejected == 0
        analyzer.ingestor.flush()
        names = {op.name for op in analyzer.store.operations().values()}
        assert {"steady", "legit"} <= names
        assert len(names) == 5
        stats = analyzer.stats()
        assert stats["rejected_by_reason"][otlp.OVER_CAP] == 36 + 2 + 1
        assert stats["operations"]["evicted_idle"] == 1
        steady = next(o for o in analyzer.operations(since=0) if o["name"] == "steady")
        assert steady["count"] == 8  # the active operation kept all its spans
    finally:
        analyzer.close()
