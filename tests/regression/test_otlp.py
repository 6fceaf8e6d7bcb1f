"""Decoding and validating OTLP trace requests (pure functions)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from mcp_agent_otel.regression import otlp

from .otlp_builders import request, to_otlp_json

NOW_NS = time.time_ns()
LIMITS = otlp.Limits(
    max_duration_ns=86_400 * 10**9,
    now_ns=NOW_NS,
    max_future_ns=3_600 * 10**9,
    retention_ns=7 * 86_400 * 10**9,
)


def test_protobuf_request_becomes_columns() -> None:
    req = request(
        [1.0, 2.0, 3.0],
        names=["a", "b"],
        version="2.1",
        environment="prod",
        errors=[1],
        cache={0: True, 2: False},
    )
    raw = req.SerializeToString()
    columns, rejected = otlp.extract(otlp.parse_protobuf(raw), LIMITS, raw)
    assert rejected.total == 0
    assert columns.names == ["a", "b", "a"]
    assert columns.resources == [otlp.ResourceKey("svc", "2.1", "prod")]
    assert columns.durations_ms.tolist() == pytest.approx([1.0, 2.0, 3.0])
    assert columns.error.tolist() == [False, True, False]
    assert columns.cache.tolist() == [1, -1, 0]


def test_cache_result_wins_over_cache_hit_and_bypass_is_not_a_lookup() -> None:
    req = request([1.0] * 4, cache={0: "hit", 1: "expired", 2: "bypass", 3: "miss"})
    span = req.resource_spans[0].scope_spans[0].spans[2]
    span.attributes.add(key="mcp_agent.cache.hit").value.bool_value = False
    columns, _ = otlp.extract(req, LIMITS)
    assert columns.cache.tolist() == [1, 0, -1, 0]


def test_json_with_hex_ids_is_the_same_request() -> None:
    req = request([4.0, 5.0], names="x", legacy_environment="staging")
    data = to_otlp_json(req)
    assert len(data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]) == 32
    data["unknownField"] = {"ignored": True}  # receivers must ignore unknown fields
    parsed = otlp.parse_json(json.dumps(data).encode())
    assert parsed == req
    columns, _ = otlp.extract(parsed, LIMITS)
    assert columns.resources[0].environment == "staging"  # the older attribute is honoured


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"resourceSpans": "nope"}', "not an OTLP ExportTraceServiceRequest"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "x"}]}]}]}', "int"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        # found by the fuzz test: NaN/Infinity are not JSON, and 1e400 overflows an enum field
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": Infinity}]}]}]}', "Infinity"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"status": {"code": NaN}}]}]}]}', "NaN"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": 1e400}]}]}]}', "OTLP"),
    ],
)
def test_bad_json_is_a_clear_error(body: bytes, fragment: str) -> None:
    with pytest.raises(otlp.OtlpDecodeError, match=fragment):
        otlp.parse_json(body)


def test_bad_protobuf_is_a_clear_error() -> None:
    with pytest.raises(otlp.OtlpDecodeError, match="not a valid OTLP ExportTraceServiceRequest"):
        otlp.parse_protobuf(b"\x0a\xff\xff\xff\xff\x0f garbage")


def test_invalid_spans_are_rejected_and_counted_by_reason() -> None:
    req = request([1.0] * 9, names="ok")
    spans = req.resource_spans[0].scope_spans[0].spans
    spans[0].trace_id = b""  # missing
    spans[1].span_id = bytes(8)  # all zero: invalid
    spans[2].end_time_unix_nano = spans[2].start_time_unix_nano - 5  # end before start
    spans[3].start_time_unix_nano = spans[3].end_time_unix_nano - 2 * 86_400 * 10**9  # absurd
    spans[4].name = ""
    spans[5].start_time_unix_nano = 0
    spans[6].end_time_unix_nano = NOW_NS + 2 * 3_600 * 10**9  # far future
    spans[6].start_time_unix_nano = spans[6].end_time_unix_nano - 1
    spans[7].end_time_unix_nano = NOW_NS - 8 * 86_400 * 10**9  # past retention
    spans[7].start_time_unix_nano = spans[7].end_time_unix_nano - 1
    columns, rejected = otlp.extract(req, LIMITS)
    assert len(columns) == 1
    assert rejected.total == 8
    assert rejected.counts == {
        otlp.MISSING_TRACE_ID: 1,
        otlp.MISSING_SPAN_ID: 1,
        otlp.END_BEFORE_START: 1,
        otlp.ABSURD_DURATION: 1,
        otlp.MISSING_NAME: 1,
        otlp.MISSING_TIME: 1,
        otlp.IN_FUTURE: 1,
        otlp.TOO_OLD: 1,
    }
    message = rejected.message()
    assert message.startswith("rejected 8 span(s): ")
    assert "1 end time before start time" in message


def test_invalid_hex_ids_in_json_are_rejected_not_fatal() -> None:
    data = to_otlp_json(request([1.0, 2.0]))
    data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "zz-not-hex"
    columns, rejected = otlp.extract(otlp.parse_json(json.dumps(data)), LIMITS)
    assert len(columns) == 1
    assert rejected.counts == {otlp.MISSING_TRACE_ID: 1}


def test_unknown_enum_values_are_kept_with_a_warning() -> None:
    req = request([1.0, 2.0, 3.0])
    spans = req.resource_spans[0].scope_spans[0].spans
    spans[0].status.code = 7
    spans[1].kind = 42
    columns, rejected = otlp.extract(req, LIMITS)
    assert len(columns) == 3
    assert rejected.total == 0
    assert rejected.warnings == {otlp.UNKNOWN_STATUS: 1, otlp.UNKNOWN_KIND: 1}
    assert columns.error.tolist() == [False, False, False]
    assert "accepted with warnings" in rejected.message()


def test_unknown_enum_names_in_json_are_read_as_unset() -> None:
    data = to_otlp_json(request([1.0]))
    span = data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["kind"] = "SPAN_KIND_FROM_THE_FUTURE"
    span["status"] = {"code": "STATUS_CODE_WHATEVER"}
    columns, rejected = otlp.extract(otlp.parse_json(json.dumps(data)), LIMITS)
    assert len(columns) == 1
    assert rejected.total == 0


def test_timestamps_beyond_int64_do_not_overflow() -> None:
    req = request([1.0])
    span = req.resource_spans[0].scope_spans[0].spans[0]
    span.start_time_unix_nano = 2**64 - 10
    span.end_time_unix_nano = 2**64 - 1
    columns, rejected = otlp.extract(req, LIMITS)
    assert len(columns) == 0
    assert rejected.counts == {otlp.IN_FUTURE: 1}


def test_a_resource_without_service_name_is_unknown_service() -> None:
    req = request([1.0])
    del req.resource_spans[0].resource.attributes[:]
    columns, _ = otlp.extract(req, LIMITS)
    assert columns.resources == [otlp.ResourceKey("unknown_service", "", "")]
    assert np.all(columns.resource_index == 0)


def test_empty_request_is_fine() -> None:
    columns, rejected = otlp.extract(otlp.parse_protobuf(b""), LIMITS)
    assert len(columns) == 0
    assert rejected.message() == ""
