"""The collector hop, for real: OpenTelemetry SDK → rotel (an OTLP collector) → the analyzer.

No Docker engine runs here, so the contrib collector of the compose stack cannot; PyPI's
``rotel`` package ships a working OTLP collector binary (``rotel-agent``, one exporter per
signal) that does. It plays the collector's part of ``traces/analyzer`` exactly: OTLP in on
loopback (gRPC and HTTP), OTLP/HTTP out, gzip-compressed, to a real ``mcp-agent-otel analyzer
serve``. The test then asks the analyzer's API whether every span arrived, under the right
operation, with its error status and its resource (service.name, service.version and the
custom deployment.environment.name) intact — for spans of two services sent in one stream.

The analyzer keeps those three resource attributes and no others (it aggregates per service,
version and environment), so other custom resource attributes cannot be read back from it.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import rotel
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.export import LossCountingExporter
from tests.collector.conftest import (
    RunningAnalyzer,
    free_port,
    stop,
    wait_until_listening,
)

ROTEL_AGENT = Path(rotel.__file__).with_name("rotel-agent")
AGENT_SERVICE = "mcp-agent-otel"
SERVER_SERVICE = "mcp-agent-otel-server-hop"
TOOL = "echo"


@dataclass(frozen=True)
class RotelCollector:
    grpc_port: int
    http_port: int
    log: Path


@pytest.fixture(scope="module")
def rotel_collector(
    analyzer_server: RunningAnalyzer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RotelCollector]:
    if not os.access(ROTEL_AGENT, os.X_OK):
        pytest.fail(f"rotel's collector binary is missing at {ROTEL_AGENT}: pip install rotel")
    work = tmp_path_factory.mktemp("rotel")
    grpc_port, http_port = free_port(), free_port()
    log = work / "rotel.out"
    command = [
        str(ROTEL_AGENT),
        "start",
        "--otlp-grpc-endpoint",
        f"127.0.0.1:{grpc_port}",
        "--otlp-http-endpoint",
        f"127.0.0.1:{http_port}",
        "--exporter",
        "otlp",
        "--otlp-exporter-endpoint",
        analyzer_server.url,  # the exporter appends /v1/traces, like the contrib otlp_http
        "--otlp-exporter-protocol",
        "http",
        "--otlp-exporter-compression",
        "gzip",
        "--batch-timeout",
        "100ms",
        "--pid-file",
        str(work / "rotel.pid"),
        "--log-file",
        str(work / "rotel-agent.log"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROTEL_", "OTEL_"))}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_listening(http_port, process, log, "rotel")
        wait_until_listening(grpc_port, process, log, "rotel")
        yield RotelCollector(grpc_port, http_port, log)
    finally:
        stop(process)


def _exporter(protocol: str, rotel_collector: RotelCollector) -> SpanExporter:
    if protocol == "grpc":
        return GrpcSpanExporter(endpoint=f"127.0.0.1:{rotel_collector.grpc_port}", insecure=True)
    return HttpSpanExporter(
        endpoint=f"http://127.0.0.1:{rotel_collector.http_port}/v1/traces",
        compression=Compression.Gzip,
    )


@dataclass
class Sent:
    counts: Counter[tuple[str, str]]
    errors: Counter[tuple[str, str]]
    error_trace_ids: set[str]
    trace_ids: set[str]


def emit_workflows(agent: TracerProvider, server: TracerProvider, traces: int) -> Sent:
    """Workflow-shaped traces: stage spans, the MCP client call and the server's span.

    Every third workflow's tool call fails (ERROR on the tool, client and server spans).
    """
    sent = Sent(Counter(), Counter(), set(), set())
    agent_tracer = agent.get_tracer(semconv.TRACER_NAME)
    server_tracer = server.get_tracer("mcp-python-sdk")

    def record(service: str, name: str, failed: bool = False) -> None:
        sent.counts[(service, name)] += 1
        if failed:
            sent.errors[(service, name)] += 1

    for i in range(traces):
        failed = i % 3 == 0
        error = Status(StatusCode.ERROR, "tool returned isError")
        with agent_tracer.start_as_current_span(semconv.SPAN_WORKFLOW) as root:
            trace_id = format(root.get_span_context().trace_id, "032x")
            sent.trace_ids.add(trace_id)
            for stage in (semconv.SPAN_ANALYZE, semconv.SPAN_DISCOVER, semconv.SPAN_DECIDE):
                with agent_tracer.start_as_current_span(stage):
                    record(AGENT_SERVICE, stage)
            with agent_tracer.start_as_current_span(semconv.SPAN_EXECUTE):
                tool_span = semconv.execute_tool_span_name(TOOL)
                with agent_tracer.start_as_current_span(tool_span) as tool:
                    client_name = f"MCP send tools/call {TOOL}"
                    with agent_tracer.start_as_current_span(
                        client_name, kind=SpanKind.CLIENT
                    ) as client:
                        with server_tracer.start_as_current_span(
                            f"tools/call {TOOL}", kind=SpanKind.SERVER
                        ) as handled:
                            if failed:
                                handled.set_status(error)
                        record(SERVER_SERVICE, f"tools/call {TOOL}", failed)
                        if failed:
                            client.set_status(error)
                    record(AGENT_SERVICE, client_name, failed)
                    if failed:
                        tool.set_attribute(semconv.ERROR_TYPE, semconv.ERROR_TOOL)
                        tool.set_status(error)
                record(AGENT_SERVICE, tool_span, failed)
            record(AGENT_SERVICE, semconv.SPAN_EXECUTE)
        record(AGENT_SERVICE, semconv.SPAN_WORKFLOW)
        if failed:
            sent.error_trace_ids.add(trace_id)
    return sent


def operations_for(analyzer: RunningAnalyzer, environment: str) -> list[dict[str, Any]]:
    result = analyzer.get(f"/api/operations?since=-1h&environment={environment}")
    assert isinstance(result, list)
    return result


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_every_span_crosses_the_collector_hop_with_its_resource_intact(
    protocol: str, rotel_collector: RotelCollector, analyzer_server: RunningAnalyzer
) -> None:
    environment = f"hop-{protocol.replace('/', '-')}-{uuid.uuid4().hex[:8]}"
    version = f"9.8.{len(protocol)}-hop"
    exporters = []
    providers = []
    for service in (AGENT_SERVICE, SERVER_SERVICE):
        resource = Resource.create(
            {
                "service.name": service,
                "service.version": version,
                semconv.DEPLOYMENT_ENVIRONMENT_NAME: environment,
            }
        )
        exporter = LossCountingExporter(_exporter(protocol, rotel_collector), protocol)
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
        exporters.append(exporter)
        providers.append(provider)

    sent = emit_workflows(providers[0], providers[1], traces=30)
    for provider in providers:
        assert provider.force_flush(10_000)
        provider.shutdown()
    total = sum(sent.counts.values())
    assert sum(e.exported for e in exporters) == total
    assert sum(e.lost for e in exporters) == 0

    deadline = time.monotonic() + 30
    while True:
        operations = operations_for(analyzer_server, environment)
        received = sum(op["count"] for op in operations)
        if received >= total or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert received == total, (
        f"{received} of {total} spans arrived; rotel log:\n"
        + (rotel_collector.log.read_text(errors="replace")[-2000:])
    )

    by_key = {(op["service"], op["name"]): op for op in operations}
    assert set(by_key) == set(sent.counts)
    for key, op in by_key.items():
        assert op["count"] == sent.counts[key], key
        assert op["errors"] == sent.errors[key], key
        assert op["versions"] == [version], key
        assert op["environments"] == [environment], key
        for exemplar in op["exemplars"]["error"]:
            assert exemplar["trace_id"] in sent.error_trace_ids, key
        for exemplar in op["exemplars"]["slow"]:
            assert exemplar["trace_id"] in sent.trace_ids, key

    stats = analyzer_server.get("/api/stats")
    assert stats["spans"]["rejected"] == 0, stats["rejected_by_reason"]
    assert stats["requests"]["invalid"] == 0, stats["invalid_requests_by_reason"]
    assert {"version": version, "environment": environment, "spans": total} in stats["versions"]
