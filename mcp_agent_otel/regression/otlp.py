"""Decode and validate OTLP trace requests: pure functions, no I/O.

``parse_protobuf`` / ``parse_json`` turn a request body into an ``ExportTraceServiceRequest``
(or raise ``OtlpDecodeError`` with a message for the client). ``extract`` turns a request into
columns (one entry per span) and validates every span, counting what it rejects and why, so
the receiver can answer with an OTLP partial success.

OTLP/JSON differs from protobuf's canonical JSON in one way that matters here: trace and span
ids are hex strings, not base64. Unknown JSON fields are ignored, as the OTLP spec requires.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections import Counter
from typing import Any

import numpy as np
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from numpy.typing import NDArray
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from mcp_agent_otel.errors import InputError
from mcp_agent_otel.tracing import semconv

# Why a span is rejected (the keys of Rejections.counts), worded for the partial-success message.
MISSING_TRACE_ID = "missing or invalid trace id"
MISSING_SPAN_ID = "missing or invalid span id"
MISSING_NAME = "empty span name"
MISSING_TIME = "missing start or end time"
END_BEFORE_START = "end time before start time"
ABSURD_DURATION = "duration above the limit"
IN_FUTURE = "end time too far in the future"
TOO_OLD = "end time older than the retention period"
OVER_CAP = "new operation over the operation cap"

# Not rejected, but reported (the span is kept and the value is read as UNSET).
UNKNOWN_STATUS = "unknown status code (read as UNSET)"
UNKNOWN_KIND = "unknown span kind"

# Length limits (characters), as the OTel SDK's attribute limits: a longer value is kept
# truncated, ending in TRUNCATION_MARKER, and counted as a warning. Names are what the store
# keys operations by, so one huge name can cost neither memory nor the dashboard's time.
MAX_SPAN_NAME_CHARS = 256
MAX_RESOURCE_VALUE_CHARS = 128  # service.name, service.version, deployment.environment(.name)
TRUNCATION_MARKER = "…"
NAME_TRUNCATED = f"span name longer than {MAX_SPAN_NAME_CHARS} characters (truncated)"
RESOURCE_TRUNCATED = (
    f"service name, version or environment longer than {MAX_RESOURCE_VALUE_CHARS} "
    "characters (truncated)"
)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the last one TRUNCATION_MARKER."""
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


STATUS_ERROR = 2
_KNOWN_STATUS = (0, 1, 2)
_MAX_KIND = 5
_CACHE_KEY_BYTES = b"mcp_agent.cache."
# The values of mcp_agent.cache.result (caching.invalidation_strategies.CacheResult): a lookup
# that found a usable entry, or one that did not; "bypass" and "error" are not lookups.
_CACHE_HIT_RESULTS = frozenset({"hit"})
_CACHE_MISS_RESULTS = frozenset({"miss", "expired", "invalidated"})

UNKNOWN = ""  # version or environment not set on the resource


class OtlpDecodeError(InputError):
    """A request body that is not an OTLP trace export; the message says what to send."""


def parse_protobuf(body: bytes) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise OtlpDecodeError(
            f"the body is not a valid OTLP ExportTraceServiceRequest protobuf ({exc}); "
            "send an opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"
        ) from None
    return request


def _not_json(constant: str) -> Any:
    raise json.JSONDecodeError(f"{constant} is not a JSON value", constant, 0)


def parse_json(body: bytes | str) -> ExportTraceServiceRequest:
    try:
        data = json.loads(body, parse_constant=_not_json)  # no NaN/Infinity: not JSON
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise OtlpDecodeError(
            f"the body is not valid JSON ({exc}); send an OTLP/JSON ExportTraceServiceRequest "
            'object such as {"resourceSpans": [...]}'
        ) from None
    return request_from_json(data)


def request_from_json(data: Any) -> ExportTraceServiceRequest:
    if not isinstance(data, dict):
        raise OtlpDecodeError(
            f"an OTLP/JSON trace request must be a JSON object, got {type(data).__name__}; "
            'send {"resourceSpans": [...]}'
        )
    request = ExportTraceServiceRequest()
    try:
        _hex_ids_to_base64(data)
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except (
        json_format.ParseError,
        TypeError,
        ValueError,
        AttributeError,
        RecursionError,
        OverflowError,  # a number too large for its field (1e400 is a float infinity)
    ) as exc:
        detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise OtlpDecodeError(
            f"the JSON is not an OTLP ExportTraceServiceRequest: {detail}; see "
            "https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding"
        ) from None
    return request


def _hex_to_base64(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        raw = binascii.unhexlify(value)
    except (binascii.Error, ValueError):
        return ""  # invalid: the span is then rejected for a missing id
    return base64.b64encode(raw).decode("ascii")


def _hex_ids_to_base64(data: dict[str, Any]) -> None:
    """OTLP/JSON ids are hex; protobuf's JSON parser expects base64 for bytes fields."""
    for resource_spans in _list(data.get("resourceSpans")):
        if not isinstance(resource_spans, dict):
            continue
        for scope_spans in _list(resource_spans.get("scopeSpans")):
            if not isinstance(scope_spans, dict):
                continue
            for span in _list(scope_spans.get("spans")):
                if not isinstance(span, dict):
                    continue
                _convert_ids(span)
                for link in _list(span.get("links")):
                    if isinstance(link, dict):
                        _convert_ids(link)


def _convert_ids(node: dict[str, Any]) -> None:
    for key in ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"):
        if key in node:
            node[key] = _hex_to_base64(node[key])


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclasses.dataclass(frozen=True)
class ResourceKey:
    service: str
    version: str
    environment: str


@dataclasses.dataclass
class SpanColumns:
    """The accepted spans of one request, one entry per span in every column."""

    resources: list[ResourceKey]
    resource_index: NDArray[np.int32]
    names: list[str]
    start_ns: NDArray[np.int64]
    end_ns: NDArray[np.int64]
    error: NDArray[np.bool_]
    cache: NDArray[np.int8]  # 1 hit, 0 miss, -1 no cache attribute
    trace_ids: list[bytes]
    span_ids: list[bytes]
    # ``mcp_agent.run.id`` of each resource ("" when absent): the run its spans belong to.
    run_ids: list[str] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def durations_ms(self) -> NDArray[np.float64]:
        return (self.end_ns - self.start_ns).astype(np.float64) / 1e6

    def select(self, mask: NDArray[np.bool_]) -> SpanColumns:
        index = np.flatnonzero(mask)
        return SpanColumns(
            resources=self.resources,
            resource_index=self.resource_index[index],
            names=[self.names[i] for i in index],
            start_ns=self.start_ns[index],
            end_ns=self.end_ns[index],
            error=self.error[index],
            cache=self.cache[index],
            trace_ids=[self.trace_ids[i] for i in index],
            span_ids=[self.span_ids[i] for i in index],
            run_ids=self.run_ids,
        )


@dataclasses.dataclass
class Rejections:
    """Spans refused (``counts``) and accepted with a warning (``warnings``), by reason."""

    counts: Counter[str] = dataclasses.field(default_factory=Counter)
    warnings: Counter[str] = dataclasses.field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def message(self, limits: str = "") -> str:
        """The partial-success ``error_message``: empty when there is nothing to say."""
        parts = []
        if self.counts:
            reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(self.counts.items()))
            parts.append(f"rejected {self.total} span(s): {reasons}")
            if limits:
                parts.append(limits)
        if self.warnings:
            notes = ", ".join(f"{n} {reason}" for reason, n in sorted(self.warnings.items()))
            parts.append(f"accepted with warnings: {notes}")
        return "; ".join(parts)


@dataclasses.dataclass(frozen=True)
class Limits:
    """The validation limits ``extract`` applies (from AnalyzerConfig)."""

    max_duration_ns: int
    now_ns: int
    max_future_ns: int
    retention_ns: int


def _string(value: AnyValue) -> str:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return str(value.string_value)
    if kind is None:
        return ""
    if kind == "int_value":
        return str(value.int_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "double_value":
        return repr(value.double_value)
    return ""


def _capped_resource_key(attributes: Any, rejections: Rejections) -> ResourceKey:
    key = _resource_key(attributes)
    limit = MAX_RESOURCE_VALUE_CHARS
    if max(len(key.service), len(key.version), len(key.environment)) <= limit:
        return key
    rejections.warnings[RESOURCE_TRUNCATED] += 1
    return ResourceKey(
        truncate(key.service, limit), truncate(key.version, limit), truncate(key.environment, limit)
    )


def run_id(attributes: Any) -> str:
    """The resource's ``mcp_agent.run.id`` ("" when absent), capped like the other resource
    values."""
    for kv in attributes:
        if kv.key == semconv.RUN_ID:
            return truncate(_string(kv.value), MAX_RESOURCE_VALUE_CHARS)
    return ""


def _resource_key(attributes: Any) -> ResourceKey:
    service = version = env = legacy_env = ""
    for kv in attributes:
        key = kv.key
        if key == semconv.SERVICE_NAME:
            service = _string(kv.value)
        elif key == semconv.SERVICE_VERSION:
            version = _string(kv.value)
        elif key == semconv.DEPLOYMENT_ENVIRONMENT_NAME:
            env = _string(kv.value)
        elif key == semconv.DEPLOYMENT_ENVIRONMENT_LEGACY:
            legacy_env = _string(kv.value)
    return ResourceKey(service or "unknown_service", version, env or legacy_env)


def _cache_flag(attributes: Any) -> int:
    """1 hit, 0 miss, -1 not a cache lookup. ``mcp_agent.cache.result`` wins over ``.hit``
    (a bypassed or failed cache is neither a hit nor a miss)."""
    hit = -1
    for kv in attributes:
        key = kv.key
        if key == semconv.CACHE_RESULT:
            text = _string(kv.value).lower()
            if text in _CACHE_HIT_RESULTS:
                return 1
            if text in _CACHE_MISS_RESULTS:
                return 0
            return -1
        if key == semconv.CACHE_HIT:
            value = kv.value
            kind = value.WhichOneof("value")
            if kind == "bool_value":
                hit = 1 if value.bool_value else 0
            elif kind == "string_value" and value.string_value.lower() in ("true", "false"):
                hit = 1 if value.string_value.lower() == "true" else 0
    return hit


def _span_cache_flag(span: Any) -> int:
    # Serializing one span (in C) is cheaper than walking all its attributes in Python.
    return _cache_flag(span.attributes) if _CACHE_KEY_BYTES in span.SerializeToString() else -1


_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


def extract(
    request: ExportTraceServiceRequest, limits: Limits, raw: bytes | None = None
) -> tuple[SpanColumns, Rejections]:
    """Columns of the valid spans of ``request`` and the count of rejected ones, by reason.

    ``raw``, the serialized request when the caller has it, lets the scan for cache
    attributes be skipped when no span carries one.
    """
    scan_cache = raw is None or _CACHE_KEY_BYTES in raw
    rejections = Rejections()
    resources: list[ResourceKey] = []
    run_ids: list[str] = []
    res_index: list[int] = []
    names: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    codes: list[int] = []
    kinds: list[int] = []
    cache: list[int] = []
    trace_ids: list[bytes] = []
    span_ids: list[bytes] = []
    for resource_spans in request.resource_spans:
        index = len(resources)
        resources.append(_capped_resource_key(resource_spans.resource.attributes, rejections))
        run_ids.append(run_id(resource_spans.resource.attributes))
        for scope_spans in resource_spans.scope_spans:
            spans = scope_spans.spans
            n = len(spans)
            if not n:
                continue
            res_index.extend([index] * n)
            fields = [
                (
                    s.name,
                    s.start_time_unix_nano,
                    s.end_time_unix_nano,
                    s.status.code,
                    s.kind,
                    s.trace_id,
                    s.span_id,
                )
                for s in spans
            ]
            targets: list[list[Any]] = [
                names,
                starts,
                ends,
                codes,
                kinds,
                trace_ids,
                span_ids,
            ]
            for column, values in zip(targets, zip(*fields, strict=True), strict=True):
                column.extend(values)
            # Walking attributes in Python is the costliest step: skip scopes (then spans)
            # whose serialized bytes do not contain a cache attribute key at all.
            if scan_cache and _CACHE_KEY_BYTES in scope_spans.SerializeToString():
                cache.extend([_span_cache_flag(s) for s in spans])
            else:
                cache.extend([-1] * n)
    total = len(names)
    if total == 0:
        return _empty_columns(resources, run_ids), rejections
    if max(map(len, names)) > MAX_SPAN_NAME_CHARS:
        long_names = sum(len(n) > MAX_SPAN_NAME_CHARS for n in names)
        rejections.warnings[NAME_TRUNCATED] += long_names
        names = [truncate(n, MAX_SPAN_NAME_CHARS) for n in names]

    start_u = np.array(starts, dtype=np.uint64)
    end_u = np.array(ends, dtype=np.uint64)
    code = np.array(codes, dtype=np.int64)
    kind = np.array(kinds, dtype=np.int64)
    valid = np.ones(total, dtype=bool)

    def reject(mask: NDArray[np.bool_], reason: str) -> None:
        hit = mask & valid
        n = int(hit.sum())
        if n:
            rejections.counts[reason] += n
            valid[hit] = False

    reject(np.array([len(t) != 16 or t == _ZERO_TRACE for t in trace_ids]), MISSING_TRACE_ID)
    reject(np.array([len(s) != 8 or s == _ZERO_SPAN for s in span_ids]), MISSING_SPAN_ID)
    reject(np.array([not name for name in names]), MISSING_NAME)
    reject((start_u == 0) | (end_u == 0), MISSING_TIME)
    reject(end_u < start_u, END_BEFORE_START)
    # Beyond int64 is absurd anyway; clip before converting so the arithmetic is safe.
    cap = np.uint64(np.iinfo(np.int64).max)
    start = np.minimum(start_u, cap).astype(np.int64)
    end = np.minimum(end_u, cap).astype(np.int64)
    reject((end - start) > limits.max_duration_ns, ABSURD_DURATION)
    reject(end > limits.now_ns + limits.max_future_ns, IN_FUTURE)
    reject(end < limits.now_ns - limits.retention_ns, TOO_OLD)

    unknown_status = valid & ~np.isin(code, _KNOWN_STATUS)
    if unknown_status.any():
        rejections.warnings[UNKNOWN_STATUS] += int(unknown_status.sum())
    unknown_kind = valid & ((kind < 0) | (kind > _MAX_KIND))
    if unknown_kind.any():
        rejections.warnings[UNKNOWN_KIND] += int(unknown_kind.sum())

    columns = SpanColumns(
        resources=resources,
        resource_index=np.array(res_index, dtype=np.int32),
        names=names,
        start_ns=start,
        end_ns=end,
        error=code == STATUS_ERROR,
        cache=np.array(cache, dtype=np.int8),
        trace_ids=trace_ids,
        span_ids=span_ids,
        run_ids=run_ids,
    )
    if not valid.all():
        columns = columns.select(valid)
    return columns, rejections


def _empty_columns(resources: list[ResourceKey], run_ids: list[str]) -> SpanColumns:
    return SpanColumns(
        resources=resources,
        resource_index=np.zeros(0, dtype=np.int32),
        names=[],
        start_ns=np.zeros(0, dtype=np.int64),
        end_ns=np.zeros(0, dtype=np.int64),
        error=np.zeros(0, dtype=bool),
        cache=np.zeros(0, dtype=np.int8),
        trace_ids=[],
        span_ids=[],
        run_ids=run_ids,
    )
