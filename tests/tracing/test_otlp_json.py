"""The spans file's OTLP/JSON encoder equals protobuf's own JSON mapping of the SDK encoding.

``otlp_json`` writes the text straight from the spans for speed; the reference here is the
slow, obviously-right path: the SDK's OTLP protobuf encoder, protobuf's ``MessageToDict`` and
the OTLP/JSON rule that ids are hex, not base64.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    StatusCode,
    set_span_in_context,
)
from opentelemetry.trace.span import TraceFlags, TraceState

from mcp_agent_otel.tracing.export import otlp_json

_IDS = frozenset({"traceId", "spanId", "parentSpanId"})


def _reference(spans: list[ReadableSpan]) -> dict[str, Any]:
    data: dict[str, Any] = MessageToDict(encode_spans(spans), use_integers_for_enums=True)

    def hexify(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _IDS and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    hexify(value)
        elif isinstance(node, list):
            for item in node:
                hexify(item)

    hexify(data)
    return data


def _spans() -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    finished: list[ReadableSpan] = []
    for resource in (
        Resource.create({"service.name": "a", "service.version": "1", "n": 3}),
        Resource({}, schema_url="https://opentelemetry.io/schemas/1.26.0"),
    ):
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        first = provider.get_tracer("mcp_agent_otel", "0.1.0")
        second = provider.get_tracer(
            "other", schema_url="https://example.test/s", attributes={"x": 1}
        )
        remote = SpanContext(
            trace_id=0x1234,
            span_id=0x99,
            is_remote=True,
            trace_flags=TraceFlags(1),
            trace_state=TraceState([("vendor", "v1")]),
        )
        with first.start_as_current_span(
            "root",
            attributes={
                "s": "text",
                "empty": "",
                "t": True,
                "f": False,
                "i": 7,
                "zero": 0,
                "d": 1.5,
                "dz": 0.0,
                "nan": math.nan,
                "inf": -math.inf,
                "strs": ["a", "b"],
                "ints": [1, 2],
                "none": [],
            },
        ) as root:
            root.add_event("something", {"k": "v"})
            root.add_event("bare")
            with second.start_as_current_span(
                "child", kind=SpanKind.CLIENT, links=[Link(remote, {"why": "batch"})]
            ) as child:
                child.set_status(StatusCode.ERROR, "boom")
            with first.start_as_current_span("ok", kind=SpanKind.SERVER) as ok:
                ok.set_status(StatusCode.OK)
        with first.start_as_current_span(
            "from afar",
            context=set_span_in_context(NonRecordingSpan(remote)),
            kind=SpanKind.CONSUMER,
        ):
            pass
        with second.start_as_current_span("producer", kind=SpanKind.PRODUCER):
            pass
        finished = list(exporter.get_finished_spans())
    return finished


def test_the_direct_encoder_equals_protobufs_json_mapping() -> None:
    spans = _spans()
    assert len(spans) == 10
    ours = json.loads(otlp_json(spans))
    # Compare canonical JSON texts: key order aside, every field and value must be the same.
    assert json.dumps(ours, sort_keys=True) == json.dumps(_reference(spans), sort_keys=True)


def test_no_spans_is_an_empty_request() -> None:
    assert json.loads(otlp_json([])) == _reference([]) == {}
