"""Record a profile run's spans in the regression analyzer, tagged with ``service.version``.

The spans are the profiled workflows' own (kept by ``SpanAggregator``: no warm-up, no memory
pass), encoded as OTLP with each resource's ``service.version`` set to the run's version, so
the analyzer can take them as a baseline (``analyzer baseline create NAME --version V``) or a
candidate (``check --candidate-version V``). Two destinations:

- ``record_in_store(path, ...)``: the local analyzer store (SQLite), ingested in process
  through the analyzer's own ``Ingestor`` (the same validation as its receivers);
- ``post_to_analyzer(url, ...)``: a running analyzer, OTLP/HTTP protobuf ``POST /v1/traces``
  (with ``$MCP_AGENT_OTEL_ANALYZER_TOKEN`` as a bearer token when set).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Sequence

from google.protobuf.message import DecodeError
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.sdk.trace import ReadableSpan

from mcp_agent_otel import errors
from mcp_agent_otel.regression import ingest
from mcp_agent_otel.regression.client import AnalyzerClient, ClientError
from mcp_agent_otel.regression.config import AnalyzerConfigError, config_from_env
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.regression.store import StoreError
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.export import otlp_json

SPANS_PER_REQUEST = 2000  # keeps each request far below the receiver's body limit
STAGE_NAMES = frozenset((semconv.SPAN_WORKFLOW, *semconv.STAGE_SPANS))
TIMEOUT_S = 30.0


class RecordingError(errors.StoreError):
    """The spans could not be recorded; the message says where and what to do."""


@dataclasses.dataclass(frozen=True)
class RecordResult:
    destination: str
    version: str
    sent: int
    accepted: int
    rejected: int
    messages: tuple[str, ...] = ()
    alerts: int = 0  # live-detector alerts the spans raised against stored baselines


def select_spans(spans: Sequence[ReadableSpan], *, only_stages: bool) -> list[ReadableSpan]:
    """All spans, or only the workflow span and its four stage spans."""
    if not only_stages:
        return list(spans)
    return [s for s in spans if s.name in STAGE_NAMES]


def set_resource_attribute(request: ExportTraceServiceRequest, key: str, value: str) -> None:
    """Set (or replace) a string attribute on every resource of ``request`` (in place)."""
    for resource_spans in request.resource_spans:
        attributes = resource_spans.resource.attributes
        kept = [kv for kv in attributes if kv.key != key]
        del attributes[:]
        attributes.extend(kept)
        attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))


def versioned_requests(
    spans: Sequence[ReadableSpan],
    version: str,
    batch: int = SPANS_PER_REQUEST,
    run_id: str | None = None,
) -> Iterator[ExportTraceServiceRequest]:
    """OTLP export requests of ``spans`` (``batch`` spans each), tagged with ``version`` (and
    ``mcp_agent.run.id`` when ``run_id`` is given: one of a profile's ``--repeat`` runs)."""
    for start in range(0, len(spans), batch):
        request = encode_spans(spans[start : start + batch])
        set_resource_attribute(request, semconv.SERVICE_VERSION, version)
        if run_id is not None:
            set_resource_attribute(request, semconv.RUN_ID, run_id)
        yield request


def spans_file_line(spans: Sequence[ReadableSpan], version: str, run_id: str) -> str:
    """One OTLP-JSON line (the spans file format ``check --candidate-file`` reads) of
    ``spans``, every resource tagged with ``service.version`` and ``mcp_agent.run.id``."""
    data = json.loads(otlp_json(spans))
    tags = {semconv.SERVICE_VERSION: version, semconv.RUN_ID: run_id}
    for resource_spans in data.get("resourceSpans", []):
        resource = resource_spans.setdefault("resource", {})
        kept = [a for a in resource.get("attributes", []) if a.get("key") not in tags]
        resource["attributes"] = kept + [
            {"key": key, "value": {"stringValue": value}} for key, value in tags.items()
        ]
    return json.dumps(data, separators=(",", ":"))


def _requests(
    spans: Sequence[ReadableSpan], version: str, runs: Sequence[tuple[str, Sequence[ReadableSpan]]]
) -> Iterator[ExportTraceServiceRequest]:
    if not runs:
        yield from versioned_requests(spans, version)
    for run_id, run_spans in runs:
        yield from versioned_requests(run_spans, version, run_id=run_id)


def record_in_store(
    db_path: str | os.PathLike[str],
    spans: Sequence[ReadableSpan],
    version: str,
    runs: Sequence[tuple[str, Sequence[ReadableSpan]]] = (),
) -> RecordResult:
    """Ingest the spans into the analyzer store at ``db_path`` (created if missing)."""
    try:
        # No alert sink: alerts the live detectors raise are stored (the dashboard and
        # /api/alerts show them) and counted here, not logged into the profiler's output.
        analyzer = RegressionAnalyzer(config_from_env(db_path=db_path), background=False, sinks=[])
    except (AnalyzerConfigError, StoreError, OSError) as exc:
        raise RecordingError(f"cannot open the analyzer store {db_path}: {exc}") from None
    accepted = rejected = 0
    messages: list[str] = []
    try:
        for request in _requests(spans, version, runs):
            result = analyzer.ingestor.ingest(request)
            accepted += result.accepted
            rejected += result.rejected
            if result.message:
                messages.append(result.message)
        alerts = analyzer.ingestor.live_counters()[ingest.ALERTS]
    finally:
        try:
            analyzer.close()
        except Exception as exc:  # the flush failed: say so, nothing was stored
            raise RecordingError(f"cannot write to the analyzer store {db_path}: {exc}") from None
    return RecordResult(
        f"store {db_path}", version, len(spans), accepted, rejected, tuple(messages), alerts
    )


def check_analyzer(url: str) -> None:
    """Fail early (before a long profile) when the analyzer at ``url`` cannot be reached."""
    try:
        AnalyzerClient(url, timeout=10.0).request("GET", "/health")
    except ClientError as exc:
        raise RecordingError(str(exc)) from None


def post_to_analyzer(
    url: str,
    spans: Sequence[ReadableSpan],
    version: str,
    token: str | None = None,
    runs: Sequence[tuple[str, Sequence[ReadableSpan]]] = (),
) -> RecordResult:
    """Send the spans to a running analyzer over OTLP/HTTP (protobuf)."""
    endpoint = url.rstrip("/") + "/v1/traces"
    try:
        client = AnalyzerClient(url, token=token, timeout=TIMEOUT_S)
    except ClientError as exc:
        raise RecordingError(str(exc)) from None
    accepted = rejected = 0
    messages: list[str] = []
    for request in _requests(spans, version, runs):
        count = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        try:
            body = client.send(
                "POST", "/v1/traces", request.SerializeToString(), "application/x-protobuf"
            )
        except ClientError as exc:
            if exc.status is None:
                raise RecordingError(str(exc)) from None
            raise RecordingError(
                f"the analyzer at {url} refused the spans: HTTP {exc.status} {exc.detail[:300]}"
            ) from None
        response = ExportTraceServiceResponse()
        try:
            response.ParseFromString(body)
        except DecodeError:
            raise RecordingError(
                f"{endpoint} did not answer with an OTLP ExportTraceServiceResponse; is it an "
                "OTLP/HTTP receiver?"
            ) from None
        partial = response.partial_success
        rejected += partial.rejected_spans
        accepted += count - partial.rejected_spans
        if partial.error_message:
            messages.append(partial.error_message)
    return RecordResult(f"analyzer {url}", version, len(spans), accepted, rejected, tuple(messages))
