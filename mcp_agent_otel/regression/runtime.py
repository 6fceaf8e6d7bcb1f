"""The analyzer put together: store, ingestor, alert sinks, and the queries the API and the
CLI share. Every query flushes the write-behind buffer first, so it sees all accepted spans."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mcp_agent_otel.regression import baselines, gate, ingest, offline, reports
from mcp_agent_otel.regression.alerts import Alert, AlertFanout, AlertSink, LogSink, WebhookSink
from mcp_agent_otel.regression.auth import TokenCheck
from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.spool import Spool, SpoolBusyError, SpoolError
from mcp_agent_otel.regression.store import Store, StoreError, StoreInUseError


def spool_directory(db_path: os.PathLike[str] | str) -> Path:
    """Where the server's ingest spool for ``db_path`` lives: beside it."""
    return Path(f"{os.fspath(db_path)}-spool")


class RegressionAnalyzer:
    def __init__(
        self,
        config: AnalyzerConfig,
        *,
        background: bool = True,
        sinks: Sequence[AlertSink] | None = None,
    ) -> None:
        self.config = config
        self.store = Store(
            config.db_path,
            relative_accuracy=config.relative_accuracy,
            reservoir_size=config.reservoir_size,
            seed=config.seed,
        )
        if sinks is None:
            sinks = [LogSink()]
            if config.webhook_url:
                sinks.append(
                    WebhookSink(
                        config.webhook_url,
                        timeout=config.webhook_timeout_seconds,
                        retries=config.webhook_retries,
                        queue_size=config.webhook_queue_size,
                    )
                )
        self.alerts = AlertFanout(sinks)
        spool_ = None
        if background and config.durable:
            try:
                spool_ = Spool(spool_directory(config.db_path))
            except SpoolBusyError as exc:
                self.store.close()
                raise StoreInUseError(str(exc)) from None
            except SpoolError as exc:
                self.store.close()
                raise StoreError(str(exc)) from None
        self.ingestor = ingest.Ingestor(self.store, config, self.alerts, spool=spool_)
        self.tokens = TokenCheck(config.token)
        self.started = time.time()
        if background:
            try:
                self.ingestor.recover()
            except BaseException:  # not started: release the spool and the database
                if spool_ is not None:
                    spool_.close()
                self.alerts.close()
                self.store.close()
                raise
            self.ingestor.start()

    def close(self) -> None:
        """Write what is pending and close; UnstoredSpansError (everything else closed) when
        the store cannot take it."""
        try:
            self.ingestor.close()
        finally:
            self.alerts.close()
            self.store.close()

    def __enter__(self) -> RegressionAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- queries ------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Whether spans can be taken: ``ok``, or ``unavailable`` with the store's problem."""
        problem = self.ingestor.store_problem or self.ingestor.spool_problem
        pending = self.ingestor.pending_spans
        if problem is None and pending >= self.config.max_pending_spans:
            problem = "the store is behind: too many spans wait to be written"
        return {
            "status": "ok" if problem is None else "unavailable",
            "store": {
                "writable": problem is None,
                "problem": problem,
                "pending_spans": pending,
                "max_pending_spans": self.config.max_pending_spans,
            },
        }

    def stats(self) -> dict[str, Any]:
        self.ingestor.try_flush()
        counters = Counter(self.store.counters())
        counters.update(self.ingestor.live_counters())  # what a failed flush left pending
        storage = self.store.storage_bytes()

        def by_prefix(prefix: str) -> dict[str, int]:
            return {
                k[len(prefix) :]: v for k, v in sorted(counters.items()) if k.startswith(prefix)
            }

        db_bytes = sum(
            os.path.getsize(p)
            for p in (self.config.db_path, f"{self.config.db_path}-wal")
            if os.path.exists(p)
        )
        return {
            "spans": {
                "accepted": counters.get(ingest.SPANS_ACCEPTED, 0),
                "rejected": counters.get(ingest.SPANS_REJECTED, 0),
            },
            "requests": {
                "total": counters.get(ingest.REQUESTS, 0),
                "invalid": counters.get(ingest.REQUESTS_INVALID, 0),
                "deferred": counters.get(ingest.REQUESTS_DEFERRED, 0),
            },
            "rejected_by_reason": by_prefix(ingest.REJECTED_PREFIX),
            "warnings": by_prefix(ingest.WARNING_PREFIX),
            "invalid_requests_by_reason": by_prefix(ingest.INVALID_PREFIX),
            "alerts": counters.get(ingest.ALERTS, 0),
            "operations": {
                "count": storage["operations"],
                "cap": self.config.max_operations,
                "evicted_idle": counters.get(ingest.OPERATIONS_EVICTED, 0),
                "idle_seconds": self.config.operation_idle_seconds,
            },
            "versions": [
                {"version": v, "environment": e, "spans": n} for v, e, n in self.store.versions()
            ],
            "storage": {
                "database": str(self.config.db_path),
                "database_bytes": db_bytes,
                "sketch_bytes": storage["sketch_bytes"],
                "reservoir_bytes": storage["reservoir_bytes"],
            },
            "webhook": self.alerts.webhook_stats(),
            "flush_failures": self.ingestor.flush_failures,
            "store": self.health()["store"],
            "live_detectors": self.ingestor.detectors.active_count
            if self.ingestor.detectors
            else 0,
        }

    def operations(self, **filters: Any) -> list[dict[str, Any]]:
        self.ingestor.try_flush()
        return reports.operations(self.store, **filters)

    def trend(self, op_id: int, **filters: Any) -> list[dict[str, Any]]:
        self.ingestor.try_flush()
        return reports.trend(self.store, op_id, **filters)

    def create_baseline(self, name: str, selector: baselines.Selector) -> baselines.BaselineInfo:
        self.ingestor.flush()
        info = baselines.create_baseline(self.store, name, selector)
        self.ingestor.baselines_changed()
        return info

    def delete_baseline(self, name: str) -> None:
        baselines.delete_baseline(self.store, name)
        self.ingestor.baselines_changed()

    def list_baselines(self) -> list[baselines.BaselineInfo]:
        return baselines.list_baselines(self.store)

    def get_baseline(self, name: str) -> baselines.BaselineInfo:
        return baselines.get_baseline(self.store, name)

    def compare(self, baseline: str, candidate: gate.Candidate, **options: Any) -> gate.GateReport:
        self.ingestor.try_flush()
        return gate.run_comparison(self.store, baseline, candidate, **options)

    def recent_alerts(self, *, since: float | None = None, limit: int = 100) -> list[Alert]:
        self.ingestor.try_flush()
        return self.store.alerts(since=since, limit=limit)

    def ingest_files(self, paths: Sequence[str | os.PathLike[str]]) -> list[offline.FileReport]:
        return offline.ingest_files(paths, self.ingestor)
