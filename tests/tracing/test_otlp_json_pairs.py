"""The spans-file encoder's shortcuts keep its output exact: repeated attribute pairs are
encoded once (by key, value and the value's type), and spans are grouped per resource."""

from __future__ import annotations

import json

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.tracing.export import otlp_json


def spans_of(resource: Resource, values: list[object]) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    for value in values:
        with tracer.start_as_current_span("s", attributes={"k": value}):  # type: ignore[dict-item]
            pass
    return list(exporter.get_finished_spans())


def test_equal_values_of_different_types_keep_their_own_encoding() -> None:
    values: list[object] = [True, 1, 1.0, "1", True, 1, (1, 2), ["a", "b"], False, 0]
    spans = spans_of(Resource.create({"service.name": "a"}), values)
    for _ in range(2):  # the second pass is served from the pair cache
        data = json.loads(otlp_json(spans))
        (rs,) = data["resourceSpans"]
        encoded = [s["attributes"][0]["value"] for s in rs["scopeSpans"][0]["spans"]]
        assert encoded == [
            {"boolValue": True},
            {"intValue": "1"},
            {"doubleValue": 1.0},
            {"stringValue": "1"},
            {"boolValue": True},
            {"intValue": "1"},
            {"arrayValue": {"values": [{"intValue": "1"}, {"intValue": "2"}]}},
            {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}},
            {"boolValue": False},
            {"intValue": "0"},
        ]


def test_spans_of_equal_resources_share_one_resource_entry() -> None:
    first = spans_of(Resource.create({"service.name": "a"}), ["x"])
    second = spans_of(Resource.create({"service.name": "a"}), ["y"])
    other = spans_of(Resource.create({"service.name": "b"}), ["z"])
    assert first[0].resource is not second[0].resource
    data = json.loads(otlp_json([*first, *other, *second]))
    services = [
        [
            a["value"]["stringValue"]
            for a in rs["resource"]["attributes"]
            if a["key"] == "service.name"
        ]
        for rs in data["resourceSpans"]
    ]
    assert services == [["a"], ["b"]]
    (a_spans,) = [
        rs for rs in data["resourceSpans"] if rs["resource"] == data["resourceSpans"][0]["resource"]
    ]
    values = [s["attributes"][0]["value"]["stringValue"] for s in a_spans["scopeSpans"][0]["spans"]]
    assert values == ["x", "y"]
