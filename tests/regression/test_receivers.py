"""The OTLP/HTTP and OTLP/gRPC receivers on loopback: encodings, partial success, bad input,
tokens. After every refusal the server still answers and the stored data is intact."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from mcp_agent_otel.regression import otlp
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.regression.service import Endpoints

from .loopback import running_analyzer
from .otlp_builders import request, to_otlp_json

PB = {"content-type": "application/x-protobuf"}
JS = {"content-type": "application/json"}
TOKEN = "s3cret-token"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[RegressionAnalyzer, Endpoints, httpx.Client]]:
    limits = {"max_body_bytes": 64 * 1024, "max_decompressed_bytes": 512 * 1024}
    with (
        running_analyzer(tmp_path, **limits) as (analyzer, endpoints),
        httpx.Client(base_url=endpoints.http_url, timeout=10) as client,
    ):
        yield analyzer, endpoints, client


def _count(analyzer: RegressionAnalyzer) -> int:
    return sum(o["count"] for o in analyzer.operations(since=0))


def test_protobuf_json_and_gzip_bodies_are_accepted(server) -> None:  # type: ignore[no-untyped-def]
    analyzer, _, client = server
    req = request([5.0] * 10, names="pb")
    r = client.post("/v1/traces", content=req.SerializeToString(), headers=PB)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-protobuf"
    response = ExportTraceServiceResponse.FromString(r.content)
    assert not response.HasField("partial_success")  # full success: no partial_success

    body = json.dumps(to_otlp_json(request([6.0] * 10, names="js"))).encode()
    r = client.post(
        "/v1/traces", content=body, headers={"content-type": "application/json; charset=utf-8"}
    )
    assert (r.status_code, r.json()) == (200, {})

    r = client.post(
        "/v1/traces",
        content=gzip.compress(request([7.0] * 10, names="gz").SerializeToString()),
        headers={**PB, "content-encoding": "gzip"},
    )
    assert r.status_code == 200
    # Two gzip members (RFC 1952) in one body: both are read, not just the first.
    two_members = gzip.compress(request([8.0] * 3, names="m1").SerializeToString()) + gzip.compress(
        request([9.0] * 4, names="m2").SerializeToString()
    )
    r = client.post("/v1/traces", content=two_members, headers={**PB, "content-encoding": "gzip"})
    assert r.status_code == 200
    assert {o["name"]: o["count"] for o in analyzer.operations(since=0)} == {
        "pb": 10,
        "js": 10,
        "gz": 10,
        "m1": 3,
        "m2": 4,
    }


def test_partial_success_counts_rejected_spans_with_a_message(server) -> None:  # type: ignore[no-untyped-def]
    analyzer, _, client = server
    req = request([1.0] * 5, names="ok")
    spans = req.resource_spans[0].scope_spans[0].spans
    spans[0].end_time_unix_nano = spans[0].start_time_unix_nano - 1
    spans[1].trace_id = b""
    r = client.post("/v1/traces", content=req.SerializeToString(), headers=PB)
    assert r.status_code == 200
    partial = ExportTraceServiceResponse.FromString(r.content).partial_success
    assert partial.rejected_spans == 2
    assert "1 end time before start time" in partial.error_message
    assert "1 missing or invalid trace id" in partial.error_message
    r = client.post("/v1/traces", content=json.dumps(to_otlp_json(req)), headers=JS)
    assert r.json()["partialSuccess"]["rejectedSpans"] == "2"  # int64 as a JSON string
    assert _count(analyzer) == 6
    assert analyzer.stats()["rejected_by_reason"] == {
        otlp.END_BEFORE_START: 2,
        otlp.MISSING_TRACE_ID: 2,
    }


@pytest.mark.parametrize(
    ("headers", "body", "status", "fragment"),
    [
        ({"content-type": "text/plain"}, b"hello", 415, "unsupported Content-Type"),
        ({}, b"x", 415, "unsupported Content-Type"),
        ({**PB, "content-encoding": "br"}, b"x", 415, "unsupported Content-Encoding"),
        (PB, b"\x0a\xff\xff\xff\xff\x0f", 400, "not a valid OTLP"),
        (JS, b"{broken", 400, "not valid JSON"),
        (JS, b'{"resourceSpans": 3}', 400, "not an OTLP ExportTraceServiceRequest"),
        ({**PB, "content-encoding": "gzip"}, b"not gzip at all", 400, "not valid gzip"),
        ({**PB, "content-encoding": "gzip"}, gzip.compress(b"x") + b"junk", 400, "not valid gzip"),
        (PB, b"\x00" * (64 * 1024 + 1), 413, "larger than 65536 bytes"),
        (
            {**PB, "content-encoding": "gzip"},
            gzip.compress(b"\x00" * (600 * 1024)),
            413,
            "inflates",
        ),
    ],
)
def test_bad_requests_get_a_clear_status(server, headers, body, status, fragment) -> None:  # type: ignore[no-untyped-def]
    analyzer, _, client = server
    client.post(
        "/v1/traces", content=request([2.0] * 3, names="kept").SerializeToString(), headers=PB
    )
    r = client.post("/v1/traces", content=body, headers=headers)
    assert r.status_code == status
    if r.headers["content-type"] == "application/x-protobuf":
        message = status_pb2.Status.FromString(r.content).message
    else:
        message = r.json()["message"]
    assert fragment in message
    assert client.get("/health").json()["status"] == "ok"  # still up
    assert _count(analyzer) == 3  # what was stored before is intact
    assert analyzer.stats()["requests"]["invalid"] == 1


def test_a_chunked_body_over_the_limit_is_413(server) -> None:  # type: ignore[no-untyped-def]
    _, _, client = server

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"\x00" * 1024

    r = client.post("/v1/traces", content=chunks(), headers=PB)
    assert r.status_code == 413


def test_a_token_is_required_when_configured(tmp_path: Path) -> None:
    with running_analyzer(tmp_path, token=TOKEN) as (analyzer, endpoints):
        body = request([1.0] * 4, names="t").SerializeToString()
        with httpx.Client(base_url=endpoints.http_url) as client:
            r = client.post("/v1/traces", content=body, headers=PB)
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == "Bearer"
            assert (
                "MCP_AGENT_OTEL_ANALYZER_TOKEN" in status_pb2.Status.FromString(r.content).message
            )
            r = client.post(
                "/v1/traces", content=body, headers={**PB, "authorization": "Bearer nope"}
            )
            assert r.status_code == 403
            assert client.get("/api/operations").status_code == 401
            assert (
                client.get("/api/stats", headers={"authorization": "Bearer nope"}).status_code
                == 403
            )
            assert client.get("/health").status_code == 200  # probes stay open
            auth = {"authorization": f"Bearer {TOKEN}"}
            assert (
                client.post("/v1/traces", content=body, headers={**PB, **auth}).status_code == 200
            )
            assert (
                client.get("/api/operations", params={"since": "0"}, headers=auth).json()[0][
                    "count"
                ]
                == 4
            )

        with grpc.insecure_channel(endpoints.grpc_target) as channel:
            export = _export(channel)
            with pytest.raises(grpc.RpcError) as denied:
                export(body)
            assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.RpcError) as wrong:
                export(body, metadata=(("authorization", "Bearer wrong"),))
            assert wrong.value.code() == grpc.StatusCode.PERMISSION_DENIED
            export(body, metadata=(("authorization", f"Bearer {TOKEN}"),))
        assert _count(analyzer) == 8
        # two refused OTLP/HTTP and two refused gRPC exports (API refusals are not ingest)
        assert analyzer.stats()["invalid_requests_by_reason"]["unauthorized"] == 4


def _export(channel: grpc.Channel):  # type: ignore[no-untyped-def]
    """A raw-bytes stub, so tests can send malformed messages too."""
    return channel.unary_unary(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        request_serializer=lambda b: b,
        response_deserializer=ExportTraceServiceResponse.FromString,
    )


def test_grpc_receiver_partial_success_gzip_and_malformed(server) -> None:  # type: ignore[no-untyped-def]
    analyzer, endpoints, _ = server
    req = request([3.0] * 6, names="grpc")
    req.resource_spans[0].scope_spans[0].spans[0].span_id = b"\x00" * 8
    with grpc.insecure_channel(endpoints.grpc_target) as channel:
        export = _export(channel)
        response = export(req.SerializeToString(), compression=grpc.Compression.Gzip)
        assert response.partial_success.rejected_spans == 1
        assert "missing or invalid span id" in response.partial_success.error_message
        with pytest.raises(grpc.RpcError) as bad:
            export(b"\x0a\xff\xff\xff\xff\x0f")
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "not a valid OTLP" in bad.value.details()
        with pytest.raises(grpc.RpcError) as big:
            export(b"\x00" * (600 * 1024))
        assert big.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        ok = export(request([1.0], names="grpc").SerializeToString())
        assert not ok.HasField("partial_success")
    assert _count(analyzer) == 6


def test_api_root_points_at_the_docs(server) -> None:  # type: ignore[no-untyped-def]
    _, _, client = server
    pointers = client.get("/api").json()
    assert (pointers["docs"], pointers["otlp_http"]) == ("/docs", "/v1/traces")
    assert client.get("/").status_code == 200  # reserved for the dashboard
    assert client.get("/openapi.json").json()["info"]["title"].startswith("mcp-agent-otel")


def test_empty_request_is_a_full_success(server) -> None:  # type: ignore[no-untyped-def]
    _, _, client = server
    r = client.post(
        "/v1/traces", content=ExportTraceServiceRequest().SerializeToString(), headers=PB
    )
    assert r.status_code == 200
    assert r.content == b""


def test_operation_flood_and_absurd_spans_over_http(tmp_path: Path) -> None:
    with (
        running_analyzer(tmp_path, max_operations=3, max_duration_seconds=60.0) as (_, ep),
        httpx.Client(base_url=ep.http_url, timeout=10) as client,
    ):
        kept = request([4.0] * 6, names=["a", "b"]).SerializeToString()
        assert client.post("/v1/traces", content=kept, headers=PB).status_code == 200
        flood = request([1.0] * 200, names=[f"user-{i}" for i in range(100)])
        slow = flood.resource_spans[0].scope_spans[0].spans[0]
        slow.start_time_unix_nano = slow.end_time_unix_nano - 61 * 10**9  # above the 60 s limit
        r = client.post("/v1/traces", content=flood.SerializeToString(), headers=PB)
        assert r.status_code == 200
        partial = ExportTraceServiceResponse.FromString(r.content).partial_success
        # the first span is absurd; of the rest, "user-1" (first seen) takes the last slot
        assert partial.rejected_spans == 198
        assert "197 new operation over the operation cap" in partial.error_message
        assert "1 duration above the limit" in partial.error_message
        assert "MCP_AGENT_OTEL_ANALYZER_MAX_OPERATIONS" in partial.error_message
        stats = client.get("/api/stats").json()
        assert stats["operations"] == {
            "count": 3,
            "cap": 3,
            "evicted_idle": 0,
            "idle_seconds": 3600.0,
        }
        assert stats["spans"] == {"accepted": 8, "rejected": 198}
        counts = {o["name"]: o["count"] for o in client.get("/api/operations").json()}
        assert counts == {"a": 3, "b": 3, "user-1": 2}
