"""Test support: read spans a subprocess exported, over OTLP/HTTP or to the OTLP-JSON file.

``OtlpHttpReceiver`` is a real OTLP/HTTP trace receiver on a free loopback port: it decodes
each ``ExportTraceServiceRequest`` protobuf body (gzip or not) and answers as the protocol
says. ``read_spans_file`` reads the OTLP-JSON lines the project's file exporter writes.
Both give ``SpanRecord``s, so the tests assert on the same shape whatever the transport.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

KIND_INTERNAL, KIND_SERVER, KIND_CLIENT = 1, 2, 3
STATUS_ERROR = 2


@dataclass(frozen=True)
class SpanRecord:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    attributes: Mapping[str, Any]
    status_code: int
    events: tuple[str, ...]
    scope: str
    service: str


def _any_value(value: AnyValue) -> Any:
    field = value.WhichOneof("value")
    if field is None:
        return None
    if field == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    return getattr(value, field)


def records_from_request(request: ExportTraceServiceRequest) -> list[SpanRecord]:
    out: list[SpanRecord] = []
    for rs in request.resource_spans:
        resource = {a.key: _any_value(a.value) for a in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    SpanRecord(
                        name=s.name,
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_id=s.parent_span_id.hex(),
                        kind=s.kind,
                        attributes={a.key: _any_value(a.value) for a in s.attributes},
                        status_code=s.status.code,
                        events=tuple(e.name for e in s.events),
                        scope=ss.scope.name,
                        service=str(resource.get("service.name", "")),
                    )
                )
    return out


def _json_value(value: Mapping[str, Any]) -> Any:
    for key, raw in value.items():
        if key == "intValue":
            return int(raw)
        if key == "arrayValue":
            return [_json_value(v) for v in raw.get("values", [])]
        return raw
    return None


def read_spans_file(path: Path) -> list[SpanRecord]:
    """Spans from the OTLP-JSON lines file (hex ids, lowerCamelCase keys, integer enums)."""
    out: list[SpanRecord] = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        for rs in json.loads(line).get("resourceSpans", []):
            resource = {
                a["key"]: _json_value(a["value"])
                for a in rs.get("resource", {}).get("attributes", [])
            }
            for ss in rs.get("scopeSpans", []):
                for s in ss.get("spans", []):
                    out.append(
                        SpanRecord(
                            name=s["name"],
                            trace_id=s["traceId"],
                            span_id=s["spanId"],
                            parent_id=s.get("parentSpanId", ""),
                            kind=int(s.get("kind", 0)),
                            attributes={
                                a["key"]: _json_value(a["value"]) for a in s.get("attributes", [])
                            },
                            status_code=int(s.get("status", {}).get("code", 0)),
                            events=tuple(e["name"] for e in s.get("events", [])),
                            scope=ss.get("scope", {}).get("name", ""),
                            service=str(resource.get("service.name", "")),
                        )
                    )
    return out


def by_name(records: Sequence[SpanRecord]) -> dict[str, SpanRecord]:
    return {r.name: r for r in records}


class OtlpHttpReceiver:
    """A real OTLP/HTTP receiver for traces on 127.0.0.1 (``/v1/traces``, protobuf)."""

    def __init__(self) -> None:
        self.records: list[SpanRecord] = []
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces":
                    self.send_error(404, "only /v1/traces is served")
                    return
                request = ExportTraceServiceRequest()
                try:
                    request.ParseFromString(body)
                except Exception:
                    self.send_error(400, "body is not an ExportTraceServiceRequest")
                    return
                with receiver._lock:
                    receiver.requests += 1
                    receiver.records.extend(records_from_request(request))
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> OtlpHttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def spans(self) -> list[SpanRecord]:
        with self._lock:
            return list(self.records)

    def wait_for(
        self, done: Callable[[list[SpanRecord]], bool], timeout_s: float = 10.0
    ) -> list[SpanRecord]:
        deadline = time.monotonic() + timeout_s
        while True:
            records = self.spans()
            if done(records) or time.monotonic() > deadline:
                return records
            time.sleep(0.05)


def children(records: Sequence[SpanRecord], parent: SpanRecord) -> list[SpanRecord]:
    return [r for r in records if r.parent_id == parent.span_id]


def iter_tree(records: Sequence[SpanRecord], root: SpanRecord) -> Iterator[SpanRecord]:
    yield root
    for child in children(records, root):
        yield from iter_tree(records, child)
