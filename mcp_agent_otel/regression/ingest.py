"""The ingest hot path: validated OTLP spans in, per-bucket aggregates and reservoirs out.

A little over 500 lines on purpose: ``Ingestor`` is one lock around one write-behind buffer, the
spool step and the flush; spreading them over modules would hide what the lock protects.

One call per export request. The request's spans are grouped per (operation, bucket) with
numpy (no per-span SQL, no per-span Python beyond field extraction), merged into an in-memory
write-behind buffer, fed to the live detectors, and written to SQLite in one transaction by
``flush()``: from a background thread every ``flush_interval_seconds``, as soon as
``flush_max_spans`` spans are pending, before any read (``flush()`` is what the API calls
first), and on shutdown.

With a ``Spool`` (the server's case) the request is also appended to the fsynced spool in the
same step, and ``IngestResult.durable`` completes once it is on disk: the receivers answer
only then, so an acknowledged span survives ``kill -9`` (it is replayed by ``recover()`` on
the next start). When the store cannot keep up or cannot write (disk full, locked), requests
are refused with ``StoreUnavailable`` (503 + Retry-After, gRPC UNAVAILABLE) instead of being
acknowledged and lost; nothing pending is dropped, and a failed flush is retried.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from mcp_agent_otel.regression import otlp, reservoir
from mcp_agent_otel.regression.aggregates import aggregate_groups
from mcp_agent_otel.regression.alerts import Alert, AlertFanout
from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.live_detection import DetectorBank
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.run_variance import RunSummary
from mcp_agent_otel.regression.spool import Spool, SpoolError
from mcp_agent_otel.regression.spool import read_records as spool_records
from mcp_agent_otel.regression.store import FlushBatch, Store, StoreError, merge_runs

_log = logging.getLogger(__name__)

# Counter names (the ingest stats the API and `analyzer stats` report).
REQUESTS = "requests"
REQUESTS_INVALID = "requests_invalid"
REQUESTS_DEFERRED = "requests_deferred"  # refused with 503/UNAVAILABLE: the client retries
OPERATIONS_EVICTED = "operations_evicted"  # idle operations removed to admit new ones
SPANS_ACCEPTED = "spans_accepted"
SPANS_REJECTED = "spans_rejected"
ALERTS = "alerts"
REJECTED_PREFIX = "rejected: "
WARNING_PREFIX = "warning: "
INVALID_PREFIX = "invalid request: "

PRUNE_INTERVAL_SECONDS = 60.0
_REFUSED_CACHE = 10_000
RETRY_AFTER_SECONDS = 5
REGISTER_BUSY_MS = 1000


class StoreUnavailable(StoreError):
    """The store cannot take spans now (cannot write, or too far behind): the client should
    retry after ``retry_after`` seconds; nothing was acknowledged."""

    def __init__(self, message: str, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class UnstoredSpansError(StoreError):
    """Shutdown could not write what was pending; the message says how many spans and where
    they are kept."""

    def __init__(self, spans: int, message: str) -> None:
        super().__init__(message)
        self.spans = spans


@dataclasses.dataclass(frozen=True)
class IngestResult:
    accepted: int
    rejected: int
    message: str  # the OTLP partial-success error_message ("" when all is well)
    # Completes when the request is on disk (spool); answer only then. None: nothing to wait for.
    durable: Future[None] | None = dataclasses.field(default=None, compare=False)

    def response(self) -> ExportTraceServiceResponse:
        """The OTLP answer: ``partial_success`` only when spans were rejected or warned about."""
        response = ExportTraceServiceResponse()
        if self.rejected or self.message:
            response.partial_success.CopyFrom(
                ExportTracePartialSuccess(rejected_spans=self.rejected, error_message=self.message)
            )
        return response


class Ingestor:
    def __init__(
        self,
        store: Store,
        config: AnalyzerConfig,
        alerts: AlertFanout | None = None,
        *,
        clock: Callable[[], float] = time.time,
        detect: bool = True,
        spool: Spool | None = None,
    ) -> None:
        self.store = store
        self.spool = spool
        self._spool_committed = store.spool_committed() if spool is not None else 0
        # While ``recover()`` replays the spool: the last segment replayed whole, which is all
        # a flush may mark as written (None: not replaying).
        self._replayed_through: int | None = None
        self.store_problem: str | None = None  # why the last flush failed (None: writable)
        self.spool_problem: str | None = None  # why the last spool append failed
        self.config = config
        self.alerts = alerts or AlertFanout()
        self.clock = clock
        self.relative_accuracy = store.relative_accuracy
        self._lock = threading.RLock()
        self._flush_lock = threading.Lock()
        self._pending = FlushBatch()
        self._pending_spans = 0
        self._op_ids: dict[OperationKey, int] = {}
        self._refused: set[OperationKey] = set()
        self.detectors = (
            DetectorBank(
                store, threshold=config.detector_threshold, cooldown=config.detector_cooldown
            )
            if detect
            else None
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0
        self.flush_failures = 0
        self._cap_message = (
            f"the operation cap is {config.max_operations} "
            "(MCP_AGENT_OTEL_ANALYZER_MAX_OPERATIONS) and every operation was active in the "
            f"last {config.operation_idle_seconds:g} s; span names must be low-cardinality"
        )

    # --- hot path ------------------------------------------------------------------------------
    def limits(self) -> otlp.Limits:
        return otlp.Limits(
            max_duration_ns=int(self.config.max_duration_seconds * 1e9),
            now_ns=int(self.clock() * 1e9),
            max_future_ns=int(self.config.max_future_seconds * 1e9),
            retention_ns=int(self.config.retention_seconds * 1e9),
        )

    def ingest(
        self,
        request: ExportTraceServiceRequest,
        raw: bytes | None = None,
        *,
        spool: bool = True,
        validation: otlp.Limits | None = None,
    ) -> IngestResult:
        """Validate and aggregate one export request. Never raises for bad spans: they are
        rejected and counted, and the answer says how many and why. Raises StoreUnavailable
        (nothing taken) when the store cannot keep the spans. ``validation`` overrides
        ``self.limits()`` (offline files: no retention limit)."""
        columns, rejections = otlp.extract(request, validation or self.limits(), raw)
        durable: Future[None] | None = None
        payload = None
        if spool and self.spool is not None and len(columns):
            payload = raw if raw is not None else request.SerializeToString()
        with self._lock:
            if len(columns) and self._thread is not None:
                self._refuse_when_behind()
            if len(columns):
                self._register(columns)
            if payload is not None:
                assert self.spool is not None
                try:
                    durable = self.spool.append(payload)
                except SpoolError as exc:
                    self._pending.counters[REQUESTS] += 1
                    self._pending.counters[REQUESTS_DEFERRED] += 1
                    self.spool_problem = str(exc)
                    raise StoreUnavailable(f"{exc}; retry later") from None
                self.spool_problem = None
            accepted = self._aggregate(columns, rejections) if len(columns) else 0
            counters = self._pending.counters
            counters[REQUESTS] += 1
            counters[SPANS_ACCEPTED] += accepted
            counters[SPANS_REJECTED] += rejections.total
            for reason, n in rejections.counts.items():
                counters[REJECTED_PREFIX + reason] += n
            for reason, n in rejections.warnings.items():
                counters[WARNING_PREFIX + reason] += n
            self._pending_spans += accepted
            pending = self._pending_spans
        if pending >= self.config.flush_max_spans and self._replayed_through is None:
            if self._thread is None:
                self.flush()  # no background flush (offline ingest): write here
            else:
                self._wake.set()
        limits = self._cap_message if otlp.OVER_CAP in rejections.counts else ""
        return IngestResult(accepted, rejections.total, rejections.message(limits), durable)

    def _register(self, columns: otlp.SpanColumns) -> None:
        """Make sure the request's operations have ids (or are refused) before anything is
        taken: a store that cannot register them (locked, full) answers StoreUnavailable."""
        pairs = dict.fromkeys(zip(columns.resource_index.tolist(), columns.names, strict=True))
        keys = [OperationKey(columns.resources[r].service, name) for r, name in pairs]
        try:
            self._operation_ids(keys)
        except sqlite3.Error as exc:
            self._pending.counters[REQUESTS] += 1
            self._pending.counters[REQUESTS_DEFERRED] += 1
            raise StoreUnavailable(
                f"the analyzer cannot register new operations now ({exc}); retry later"
            ) from None

    def _refuse_when_behind(self) -> None:
        """Back-pressure (under the lock): refuse while the buffer is full because the store
        cannot write or keep up, rather than hold unbounded memory or lose spans."""
        if self._pending_spans < self.config.max_pending_spans:
            return
        self._pending.counters[REQUESTS] += 1
        self._pending.counters[REQUESTS_DEFERRED] += 1
        self._wake.set()
        why = self.store_problem or "it is behind"
        raise StoreUnavailable(
            f"the analyzer's store cannot take more spans now ({why}; {self._pending_spans} "
            f"spans are waiting to be written); retry later"
        )

    def count_invalid_request(self, reason: str) -> None:
        """A request the receiver could not decode at all (400/413/415)."""
        with self._lock:
            self._pending.counters[REQUESTS] += 1
            self._pending.counters[REQUESTS_INVALID] += 1
            self._pending.counters[INVALID_PREFIX + reason] += 1

    def _operation_ids(self, keys: list[OperationKey]) -> list[int | None]:
        unknown = [
            k for k in dict.fromkeys(keys) if k not in self._op_ids and k not in self._refused
        ]
        if unknown:
            evicted: list[int] = []
            registered = self.store.register_operations(
                unknown,
                self.config.max_operations,
                idle_before=self.clock() - self.config.operation_idle_seconds,
                keep=set(self._pending.operations),
                evicted=evicted,
                # Serving, this is on the request path: a locked store answers 503 soon.
                busy_ms=REGISTER_BUSY_MS if self._thread is not None else None,
            )
            if evicted:
                self._forget_operations(evicted)
            for key, op_id in registered.items():
                if op_id is None:
                    if len(self._refused) < _REFUSED_CACHE:
                        self._refused.add(key)
                else:
                    self._op_ids[key] = op_id
        return [self._op_ids.get(k) for k in keys]

    def _forget_operations(self, op_ids: list[int]) -> None:
        """Operations evicted to make room under the cap (idle ones): drop what refers to
        them here, and count them."""
        gone = set(op_ids)
        self._op_ids = {k: v for k, v in self._op_ids.items() if v not in gone}
        self._pending.counters[OPERATIONS_EVICTED] += len(gone)
        if self.detectors is not None:
            self.detectors.forget(gone)
        _log.info("evicted %d idle operation(s) to admit new ones under the cap", len(gone))

    def _aggregate(self, columns: otlp.SpanColumns, rejections: otlp.Rejections) -> int:
        # Local operation index per span: (resource, span name) -> 0..k-1, in first-seen order.
        local_of: dict[tuple[int, str], int] = {}
        local = np.fromiter(
            (
                local_of.setdefault(pair, len(local_of))
                for pair in zip(columns.resource_index.tolist(), columns.names, strict=False)
            ),
            dtype=np.int64,
            count=len(columns),
        )
        pairs = list(local_of)
        resources = [columns.resources[r] for r, _ in pairs]
        keys = [
            OperationKey(res.service, name)
            for res, (_, name) in zip(resources, pairs, strict=False)
        ]
        op_ids = self._operation_ids(keys)
        refused = [i for i, op in enumerate(op_ids) if op is None]
        if refused:
            mask = ~np.isin(local, refused)
            rejections.counts[otlp.OVER_CAP] += int((~mask).sum())
            if not mask.any():
                return 0
            columns = columns.select(mask)
            local = local[mask]

        durations = columns.durations_ms
        end_s = columns.end_ns.astype(np.float64) / 1e9
        width = self.config.bucket_seconds
        bucket = (columns.end_ns // (width * 1_000_000_000)) * width
        b0 = int(bucket.min())
        span_of_buckets = int((bucket.max() - b0) // width) + 1
        composite = local * span_of_buckets + (bucket - b0) // width
        groups, inverse = np.unique(composite, return_inverse=True)
        aggregates = aggregate_groups(
            inverse.astype(np.int64),
            len(groups),
            durations,
            end_s,
            columns.error,
            columns.cache,
            columns.trace_ids,
            columns.span_ids,
            self.relative_accuracy,
        )
        pending = self._pending
        for value, agg in zip(groups.tolist(), aggregates, strict=True):
            li, bi = divmod(value, span_of_buckets)
            op_id = op_ids[li]
            assert op_id is not None
            res = resources[li]
            key = (op_id, res.version, res.environment, b0 + bi * width)
            stored = pending.buckets.get(key)
            if stored is None:
                pending.buckets[key] = agg
            else:
                stored.merge(agg)

        self._summarise_runs(columns, local, pairs, op_ids, durations, end_s)

        # Per operation, in arrival order: reservoirs and the live detector.
        op_order = np.argsort(local, kind="stable")
        op_counts = np.bincount(local, minlength=len(pairs))
        op_bounds = np.concatenate(([0], np.cumsum(op_counts)))
        for li in range(len(pairs)):
            idx = op_order[op_bounds[li] : op_bounds[li + 1]]
            if not idx.size:
                continue
            op_id = op_ids[li]
            assert op_id is not None
            res = resources[li]
            samples = reservoir.make_samples(end_s[idx], durations[idx])
            pending.samples.setdefault((op_id, res.version, res.environment), []).append(samples)
            pending.operations[op_id] = keys[li]
            if self.detectors is not None:
                self._detect(op_id, keys[li], res, durations[idx], columns, idx)
        return len(columns)

    def _summarise_runs(
        self,
        columns: otlp.SpanColumns,
        local: np.ndarray,
        pairs: list[tuple[int, str]],
        op_ids: list[int | None],
        durations: np.ndarray,
        end_s: np.ndarray,
    ) -> None:
        """Per (operation, run id): count, mean and scatter of the positive log durations,
        merged into the pending runs (what a stored baseline's run-to-run variance needs).
        A local operation is one (resource, span name), so it has one run id."""
        positive = np.isfinite(durations) & (durations > 0)
        if not positive.any():
            return
        n = len(pairs)
        loc = local[positive]
        logs = np.log(durations[positive])
        counts = np.bincount(loc, minlength=n)
        means = np.bincount(loc, logs, minlength=n) / np.maximum(counts, 1)
        m2 = np.bincount(loc, (logs - means[loc]) ** 2, minlength=n)
        last = float(end_s.max())  # for retention only: the request's last end will do
        pending = self._pending.runs
        rows = zip(counts.tolist(), means.tolist(), m2.tolist(), pairs, op_ids, strict=True)
        for spans, mean, scatter, (r, _), op_id in rows:
            if spans:
                assert op_id is not None
                res = columns.resources[r]
                key = (op_id, res.version, res.environment, columns.run_ids[r])
                merge_runs(pending, key, RunSummary(spans, mean, scatter), last)

    def _detect(
        self,
        op_id: int,
        key: OperationKey,
        res: otlp.ResourceKey,
        durations: np.ndarray,
        columns: otlp.SpanColumns,
        idx: np.ndarray,
    ) -> None:
        assert self.detectors is not None
        try:
            found = self.detectors.feed(op_id, key, durations)
        except Exception:  # a detector bug must never cost the spans
            _log.exception("live detector of %s failed; its spans are stored", key)
            return
        for baseline, detected in found:
            slowest = int(idx[int(np.argmax(durations))])
            alert = Alert(
                created=self.clock(),
                service=key.service,
                name=key.name,
                baseline=baseline,
                estimated_ratio=float(detected.estimated_ratio),
                statistic=float(detected.statistic),
                baseline_median_ms=float(detected.baseline_median),
                span_index=int(detected.index),
                message=str(detected.message),
                version=res.version,
                environment=res.environment,
                trace_id=columns.trace_ids[slowest].hex(),
            )
            self._pending.alerts.append(alert)
            self._pending.counters[ALERTS] += 1
            self.alerts.send(alert)

    # --- write-behind ------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything pending to SQLite (one transaction). Reads call this first."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending, self._pending_spans = self._pending, FlushBatch(), 0
                if self.detectors is not None:
                    batch.detector_states = self.detectors.take_dirty_states()
                if self.spool is not None:
                    # Replaying: only the segments read whole are in this batch (the rest must
                    # not be discarded); otherwise everything appended so far is.
                    replayed = self._replayed_through
                    sealed = self.spool.seal() if replayed is None else replayed
                    if sealed > self._spool_committed:
                        batch.spool_segment = sealed
            if batch.empty:
                return
            try:
                self.store.apply(batch)
            except Exception as exc:
                self.flush_failures += 1
                problem = f"{type(exc).__name__}: {exc}"
                if problem != self.store_problem:
                    _log.error("the analyzer cannot write its database (%s); retrying", problem)
                self.store_problem = problem
                with self._lock:
                    self._requeue(batch)
                raise
            if self.store_problem is not None:
                _log.warning("the analyzer's database is writable again")
            self.store_problem = None
            if batch.spool_segment is not None and self.spool is not None:
                self._spool_committed = batch.spool_segment
                self.spool.discard_through(batch.spool_segment)

    def try_flush(self) -> None:
        """Flush for a read: when the store cannot write, the read still answers from what is
        stored (``store_problem`` says why the rest is pending)."""
        try:
            self.flush()
        except Exception:
            return

    @property
    def pending_spans(self) -> int:
        with self._lock:
            return self._pending_spans

    def recover(self) -> int:
        """Replay spool segments the database does not hold yet (acknowledged before a crash);
        returns the number of requests replayed. Their spans are written by the next flush."""
        if self.spool is None:
            return 0
        replayed = 0
        self._replayed_through = self._spool_committed
        try:
            for number, path in self.spool.pending_segments(self._spool_committed):
                for payload in spool_records(path):
                    try:
                        request = otlp.parse_protobuf(payload)
                    except otlp.OtlpDecodeError:
                        _log.warning("a spool record in %s is not OTLP; skipped", path)
                        continue
                    try:
                        self.ingest(request, payload, spool=False)
                    except StoreUnavailable as exc:  # nothing of it was taken: keep the spool
                        raise StoreError(
                            f"cannot replay the ingest spool {self.spool.directory}: {exc}. "
                            "Its segments are kept; start the analyzer again once its database "
                            "can be written"
                        ) from None
                    except Exception:  # a record this version cannot take: never block a start
                        _log.exception("a replayed request from %s could not be taken", path)
                    replayed += 1
                # Flushed only between segments, with the segments replayed whole: a flush
                # inside one would discard the segments not read yet, and a crash after it
                # would replay that segment's flushed part again.
                self._replayed_through = number
                if self.pending_spans >= self.config.flush_max_spans:
                    self.try_flush()
        finally:
            self._replayed_through = None
        if replayed:
            _log.warning(
                "replayed %d acknowledged request(s) from the spool %s (the analyzer stopped "
                "before writing them)",
                replayed,
                self.spool.directory,
            )
        self.try_flush()
        return replayed

    def _requeue(self, batch: FlushBatch) -> None:
        """A failed flush (disk full, database locked too long): keep the data for the next."""
        pending = self._pending
        for key, agg in batch.buckets.items():
            if key in pending.buckets:
                agg.merge(pending.buckets[key])
            pending.buckets[key] = agg
        for rkey, chunks in batch.samples.items():
            pending.samples[rkey] = chunks + pending.samples.get(rkey, [])
        for run_key, (summary, last) in batch.runs.items():
            merge_runs(pending.runs, run_key, summary, last)
        pending.operations.update(batch.operations)
        pending.alerts[:0] = batch.alerts
        pending.counters.update(batch.counters)
        for op_id, state in batch.detector_states.items():
            pending.detector_states.setdefault(op_id, state)
        self._pending_spans += sum(a.count for a in batch.buckets.values())

    def maintain(self) -> None:
        """Periodic upkeep: pick up baseline changes, apply retention."""
        if self.detectors is not None:
            with self._lock:
                self.detectors.refresh()
        now = self.clock()
        if now - self._last_prune >= PRUNE_INTERVAL_SECONDS:
            self._last_prune = now
            self.prune()

    def prune(self) -> dict[str, int]:
        self.flush()
        removed = self.store.prune(self.clock() - self.config.retention_seconds)
        if removed.get("operations"):
            with self._lock:
                self._op_ids.clear()
                self._refused.clear()
        elif self._refused:
            with self._lock:
                self._refused.clear()  # room may have been made by another process
        return removed

    def baselines_changed(self) -> None:
        if self.detectors is not None:
            with self._lock:
                self.detectors.refresh(force=True)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="analyzer-flush", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.config.flush_interval_seconds)
            self._wake.clear()
            try:
                self.flush()
                self.maintain()
            except Exception:
                if self.store_problem is None:  # a flush failure is logged once by flush()
                    _log.exception("analyzer upkeep failed; it is retried")

    def close(self) -> None:
        """Stop the background flush and write what is pending; UnstoredSpansError (after
        closing the spool) when that cannot be done."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None
        try:
            self.flush()
        except Exception as exc:
            spans = self.pending_spans
            if self.spool is not None:
                where = (
                    f"they are kept in the spool {self.spool.directory} and stored when the "
                    "analyzer next starts on this database"
                )
            else:
                where = "they are lost"
            raise UnstoredSpansError(
                spans, f"{spans} accepted span(s) could not be stored ({exc}); {where}"
            ) from exc
        finally:
            if self.spool is not None:
                self.spool.close()

    def live_counters(self) -> Counter[str]:
        with self._lock:
            return Counter(self._pending.counters)
