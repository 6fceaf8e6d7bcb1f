"""The ingest spool: records survive whole or not at all, replay happens exactly once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.ingest import Ingestor
from mcp_agent_otel.regression.runtime import RegressionAnalyzer, spool_directory
from mcp_agent_otel.regression.spool import Spool, SpoolError, read_records, segment_numbers
from mcp_agent_otel.regression.store import FlushBatch, Store, StoreError, StoreInUseError

from .otlp_builders import request


def _stored(db: Path) -> int:
    store = Store(db)
    try:
        return sum(row.aggregate.count for row in store.bucket_rows())
    finally:
        store.close()


def test_records_are_read_back_whole_and_a_torn_tail_is_ignored(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    for payload in (b"one", b"", b"three" * 1000):
        spool.append(payload).result(10)
    sealed = spool.seal()
    spool.close()
    (segment,) = segment_numbers(tmp_path / "spool")
    assert segment == sealed
    path = next((tmp_path / "spool").glob("*.spool"))
    with open(path, "ab") as f:
        f.write(b"\x10\x00\x00\x00\x01\x02")  # a record cut short by a crash
    assert list(read_records(path)) == [b"one", b"", b"three" * 1000]


def test_a_second_process_cannot_share_the_spool(tmp_path: Path) -> None:
    first = Spool(tmp_path / "spool")
    try:
        with pytest.raises(SpoolError, match="another analyzer process"):
            Spool(tmp_path / "spool")
    finally:
        first.close()


def _acknowledged_then_killed(db: Path, names: list[str]) -> list[int]:
    """One acknowledged request of 100 spans per name, each in a segment of its own, then the
    process dies before any flush (its flush was due later): the spool's segment numbers."""
    store = Store(db)
    spool = Spool(spool_directory(db))
    config = AnalyzerConfig(db_path=db, flush_max_spans=1_000_000)
    ingestor = Ingestor(store, config, spool=spool, detect=False)
    for name in names:
        result = ingestor.ingest(request([5.0] * 100, names=name))
        assert result.durable is not None
        result.durable.result(10)  # what the receiver waits for before answering 200
        spool.seal()  # the next request goes to a new segment (a flush would seal it too)
    spool.close()
    store.close()
    numbers = segment_numbers(spool_directory(db))
    assert len(numbers) == len(names)
    assert _stored(db) == 0
    return numbers


def test_acknowledged_spans_not_yet_written_are_replayed_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "analyzer.db"
    config = AnalyzerConfig(db_path=db)
    store = Store(db)
    spool = Spool(spool_directory(db))
    ingestor = Ingestor(store, config, spool=spool, detect=False)
    for k in range(3):
        result = ingestor.ingest(request([5.0] * 100, names=["a", "b"], service=f"s{k % 2}"))
        assert result.durable is not None
        result.durable.result(10)  # what the receiver waits for before answering 200
    spool.close()  # the process dies here: nothing was flushed to SQLite
    store.close()
    assert _stored(db) == 0

    with RegressionAnalyzer(config, sinks=[]) as restarted:  # replays the spool on start
        assert sum(r.aggregate.count for r in restarted.store.bucket_rows()) == 300
    assert not list(spool_directory(db).glob("*.spool"))  # the database holds them now
    with RegressionAnalyzer(config, sinks=[]):
        pass
    assert _stored(db) == 300  # not replayed twice


def test_a_replay_longer_than_one_flush_loses_no_segment_and_replays_none_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three segments of acknowledged spans, more than ``flush_max_spans`` in all: the replay
    flushes on the way (its memory stays bounded), and a flush marks as written only the
    segments replayed whole, so none is deleted before it is read and none is read twice."""
    db = tmp_path / "analyzer.db"
    config = AnalyzerConfig(db_path=db, flush_max_spans=150)
    _, second, third = _acknowledged_then_killed(db, ["a", "a", "a"])

    marked: list[int | None] = []  # the spool segment each flush records as written
    apply = Store.apply

    def recording_apply(self: Store, batch: FlushBatch) -> None:
        marked.append(batch.spool_segment)
        apply(self, batch)

    monkeypatch.setattr(Store, "apply", recording_apply)
    with RegressionAnalyzer(config, sinks=[]) as restarted:
        assert sum(r.aggregate.count for r in restarted.store.bucket_rows()) == 300
    # One flush after the second segment (200 spans pending), one at the end of the replay.
    assert marked[:2] == [second, third]
    assert not list(spool_directory(db).glob("*.spool"))
    with RegressionAnalyzer(config, sinks=[]):
        pass
    assert _stored(db) == 300


def test_a_replay_the_store_cannot_take_stops_the_start_and_keeps_the_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replayed requests whose operations the database cannot register (full, locked): the
    analyzer does not start, says why, and keeps every segment; once the database can be
    written, the next start stores each acknowledged span once."""
    db = tmp_path / "analyzer.db"
    config = AnalyzerConfig(db_path=db)
    kept = _acknowledged_then_killed(db, ["op-0", "op-1"])

    def full(*args: object, **kwargs: object) -> object:
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as patched:
        patched.setattr(Store, "register_operations", full)
        with pytest.raises(StoreError, match="cannot replay the ingest spool") as refused:
            RegressionAnalyzer(config, sinks=[])
    assert "disk is full" in str(refused.value)
    assert "segments are kept" in str(refused.value)
    assert segment_numbers(spool_directory(db)) == kept
    assert _stored(db) == 0

    with RegressionAnalyzer(config, sinks=[]):  # the spool and database were released
        pass
    assert _stored(db) == 200
    assert not list(spool_directory(db).glob("*.spool"))


def test_spans_flushed_before_a_crash_are_not_replayed(tmp_path: Path) -> None:
    db = tmp_path / "analyzer.db"
    config = AnalyzerConfig(db_path=db)
    store = Store(db)
    spool = Spool(spool_directory(db))
    ingestor = Ingestor(store, config, spool=spool, detect=False)
    first = ingestor.ingest(request([5.0] * 50, names="a"))
    assert first.durable is not None
    first.durable.result(10)
    ingestor.flush()  # written, with its spool segment recorded in the same transaction
    second = ingestor.ingest(request([5.0] * 20, names="a"))
    assert second.durable is not None
    second.durable.result(10)
    spool.close()  # crash before the next flush
    store.close()
    with RegressionAnalyzer(config, sinks=[]):
        pass
    assert _stored(db) == 70


def test_a_second_receiving_analyzer_on_one_database_is_told_so(tmp_path: Path) -> None:
    config = AnalyzerConfig(db_path=tmp_path / "analyzer.db")
    with RegressionAnalyzer(config, sinks=[]):
        with pytest.raises(StoreInUseError, match="another analyzer process"):
            RegressionAnalyzer(config, sinks=[])
        with RegressionAnalyzer(config.with_changes(durable=False), sinks=[]) as viewer:
            assert viewer.ingestor.spool is None  # what `dashboard` falls back to
