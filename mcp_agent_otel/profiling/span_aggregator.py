"""The profiler's span processor: finished spans in, per-name statistics out.

``SpanAggregator`` is an SDK ``SpanProcessor`` added next to the exporters (through
``configure_tracing(extra_processors=...)``). It keeps the spans of each open trace as
``SpanRecord``s and, when a trace's root ends, folds the whole trace into the
``ProfileAccumulator`` (so self-times see every child). What happens to a trace depends on the
phase the profiler set:

- ``MEASURE``: traces rooted at a workflow span are aggregated (and their SDK spans kept when
  the run is to be recorded in the analyzer);
- ``MEMORY``: every span's tracemalloc peak is measured (``memory.PeakTracker``); the
  latency figures ignore these traces;
- ``IDLE`` / ``WARMUP``: nothing is kept.

Other root spans (the MCP SDK's long-lived ``subscriptions/listen`` streams, anything the
application traces outside a workflow) are dropped. Like every processor it never raises
into the traced code.
"""

from __future__ import annotations

import enum
import logging
import threading

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from mcp_agent_otel.profiling.memory import PeakTracker
from mcp_agent_otel.profiling.span_stats import (
    CacheOutcome,
    ProfileAccumulator,
    SpanRecord,
    cache_outcome,
)
from mcp_agent_otel.regression.sketch import DEFAULT_RELATIVE_ACCURACY
from mcp_agent_otel.tracing import semconv

_log = logging.getLogger(__name__)
MAX_OPEN_TRACES = 10_000  # traces whose root has not ended yet (a leak guard)


class Phase(str, enum.Enum):
    IDLE = "idle"
    WARMUP = "warmup"
    MEASURE = "measure"
    MEMORY = "memory"


def span_record(span: ReadableSpan) -> SpanRecord | None:
    """The statistics' view of an SDK span (None for a span without context or times)."""
    ctx = span.context
    if ctx is None or span.start_time is None or span.end_time is None:
        return None
    parent = span.parent
    name = span.name
    cache = CacheOutcome.ABSENT
    listed = None
    # Attributes are read only where the statistics use them (reading them costs).
    if name == semconv.SPAN_ANALYZE:
        cache = cache_outcome(span.attributes or {})
    elif name == semconv.SPAN_DISCOVER:
        value = (span.attributes or {}).get(semconv.DISCOVERY_LISTED)
        listed = value if isinstance(value, int) else None
    return SpanRecord(
        trace_id=ctx.trace_id,
        span_id=ctx.span_id,
        parent_id=parent.span_id if parent is not None and not parent.is_remote else None,
        name=name,
        start_ns=span.start_time,
        end_ns=span.end_time,
        error=span.status.status_code is StatusCode.ERROR,
        cache=cache,
        servers_listed=listed,
    )


class SpanAggregator(SpanProcessor):
    def __init__(
        self,
        *,
        keep_spans: bool = False,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
        root_name: str = semconv.SPAN_WORKFLOW,
    ) -> None:
        self.keep_spans = keep_spans
        self.root_name = root_name
        self.accumulator = ProfileAccumulator(relative_accuracy, root_name)
        self.memory = PeakTracker()
        self.kept: list[ReadableSpan] = []
        self.trace_ids: list[int] = []  # the measured workflows, in completion order
        self.dropped_traces = 0
        self.service: str | None = None  # service.name of the measured spans' resource
        self._phase = Phase.IDLE
        self._open: dict[int, list[tuple[SpanRecord, ReadableSpan]]] = {}
        self._lock = threading.Lock()

    @property
    def phase(self) -> Phase:
        return self._phase

    def set_phase(self, phase: Phase) -> None:
        """Switch phase; traces still open from the previous phase are dropped."""
        with self._lock:
            self._phase = phase
            self._open.clear()
        self.memory.clear_open()

    # --- SpanProcessor -------------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self._phase is Phase.MEMORY:
            try:
                self.memory.start(span.context.span_id)
            except Exception:  # a processor never breaks the traced call
                _log.debug("memory tracking failed at span start", exc_info=True)

    def on_end(self, span: ReadableSpan) -> None:
        phase = self._phase
        if phase in (Phase.IDLE, Phase.WARMUP):
            return
        try:
            self._end(span, phase)
        except Exception:
            _log.debug("span aggregation failed", exc_info=True)

    def _end(self, span: ReadableSpan, phase: Phase) -> None:
        record = span_record(span)
        if record is None:
            return
        if phase is Phase.MEMORY:
            self.memory.end(record.span_id, record.name)
            return
        with self._lock:
            if record.parent_id is not None:
                trace = self._open.get(record.trace_id)
                if trace is None:
                    if len(self._open) >= MAX_OPEN_TRACES:
                        self.dropped_traces += 1
                        return
                    trace = self._open[record.trace_id] = []
                trace.append((record, span))
                return
            finished = self._open.pop(record.trace_id, [])
            if record.name != self.root_name:
                return
            finished.append((record, span))
            self.accumulator.add_trace([r for r, _ in finished])
            self.trace_ids.append(record.trace_id)
            if self.service is None:
                self.service = str(span.resource.attributes.get(semconv.SERVICE_NAME, ""))
            if self.keep_spans:
                self.kept.extend(s for _, s in finished)

    def take_kept(self) -> list[ReadableSpan]:
        """The kept spans so far (emptied): what a caller records, block by block."""
        with self._lock:
            kept, self.kept = self.kept, []
        return kept

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
