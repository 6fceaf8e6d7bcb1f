"""``configure_tracing`` and the project's exporters, with real exporters and real files.

The session installs its own provider (tests/conftest.py), so every test that builds a new
provider passes ``set_global=False``; the one that checks a provider is kept uses the global.
OTLP goes to real receivers on loopback: the OTLP/HTTP one of tests/instrumentation and a
small gRPC TraceService server.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

from mcp_agent_otel._version import __version__
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.export import (
    CountingBatchSpanProcessor,
    LossCountingExporter,
    OtlpJsonFileExporter,
)
from mcp_agent_otel.tracing.setup import (
    DEFAULT_SERVICE_NAME,
    TracingConfigError,
    TracingHandle,
    configure_tracing,
)
from mcp_agent_otel.tracing.tree import TraceCollector
from tests.instrumentation.otlp_capture import OtlpHttpReceiver

_OTEL_VARS = (
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
)


@pytest.fixture(autouse=True)
def _clean_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _OTEL_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def owned() -> Iterator[list[TracingHandle]]:
    """Handles to shut down after the test (their providers are not the global one)."""
    handles: list[TracingHandle] = []
    yield handles
    for handle in handles:
        handle.shutdown()


def _emit(provider: trace.TracerProvider) -> tuple[ReadableSpan, ReadableSpan]:
    tracer = provider.get_tracer("tests.tracing")
    with (
        tracer.start_as_current_span("parent") as parent,
        tracer.start_as_current_span("child", attributes={"n": 7}) as child,
    ):
        child.set_status(Status(StatusCode.ERROR, "boom"))
    assert isinstance(parent, ReadableSpan)
    assert isinstance(child, ReadableSpan)
    return parent, child


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- what is installed ------------------------------------------------------------------------


def test_sdk_disabled_installs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    handle = configure_tracing(env={**os.environ, semconv.ENV_HOME: str(tmp_path)})
    assert handle.provider is None
    assert not handle.enabled
    assert handle.exporters == ()
    assert handle.force_flush()
    assert not (tmp_path / "spans.jsonl").exists()


def test_an_installed_provider_is_kept_and_gets_the_extra_processors(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    installed = trace.get_tracer_provider()
    collector = TraceCollector(max_traces=1)
    handle = configure_tracing(extra_processors=[collector], env={semconv.ENV_HOME: str(tmp_path)})
    assert handle.provider is installed
    assert not handle.owned
    assert handle.exporters == ()
    assert handle.spans_file is None
    handle.shutdown()  # not ours: left running
    parent, _ = _emit(trace.get_tracer_provider())
    assert [s.name for s in collector.spans(parent.context.trace_id)] == ["child", "parent"]
    assert {s.name for s in spans.get_finished_spans()} == {"child", "parent"}
    assert not (tmp_path / "spans.jsonl").exists()


# --- the embedded default: the OTLP-JSON spans file -------------------------------------------


def test_no_endpoint_writes_otlp_json_lines_with_hex_ids(
    tmp_path: Path, owned: list[TracingHandle]
) -> None:
    handle = configure_tracing(env={semconv.ENV_HOME: str(tmp_path / "home")}, set_global=False)
    owned.append(handle)
    assert handle.owned
    assert handle.spans_file == tmp_path / "home" / "spans.jsonl"
    assert handle.provider is not None
    parent, child = _emit(handle.provider)
    assert handle.force_flush()

    path = handle.spans_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert lines
    written: dict[str, dict[str, Any]] = {}
    for line in lines:
        (resource_spans,) = json.loads(line)["resourceSpans"]
        resource = {a["key"]: a["value"] for a in resource_spans["resource"]["attributes"]}
        assert resource["service.name"] == {"stringValue": DEFAULT_SERVICE_NAME}
        assert resource["service.version"] == {"stringValue": __version__}
        for scope_spans in resource_spans["scopeSpans"]:
            assert scope_spans["scope"]["name"] == "tests.tracing"
            written.update({s["name"]: s for s in scope_spans["spans"]})
    assert set(written) == {"parent", "child"}
    trace_hex = format(parent.context.trace_id, "032x")
    assert written["parent"]["traceId"] == written["child"]["traceId"] == trace_hex
    assert written["parent"]["spanId"] == format(parent.context.span_id, "016x")
    assert written["child"]["spanId"] == format(child.context.span_id, "016x")
    assert written["child"]["parentSpanId"] == written["parent"]["spanId"]
    assert "parentSpanId" not in written["parent"]
    assert written["child"]["kind"] == 1  # SPAN_KIND_INTERNAL, an integer enum
    assert written["child"]["status"] == {"code": 2, "message": "boom"}
    assert written["child"]["attributes"] == [{"key": "n", "value": {"intValue": "7"}}]


def test_the_file_exporter_appends_and_a_failure_is_counted_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    provider = TracerProvider()
    spans = _emit(provider)
    good = LossCountingExporter(OtlpJsonFileExporter(tmp_path / "s.jsonl"), "file")
    for _ in range(2):
        assert good.export(spans).name == "SUCCESS"
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 2
    assert (good.exported, good.lost) == (4, 0)

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    bad = LossCountingExporter(OtlpJsonFileExporter(blocker / "s.jsonl"), "file (blocked)")
    with caplog.at_level(logging.WARNING, logger="mcp_agent_otel.tracing.export"):
        for _ in range(3):
            assert bad.export(spans).name == "FAILURE"
    assert (bad.exported, bad.lost) == (0, 6)
    assert bad.first_failure is not None
    assert "Error" in bad.first_failure
    (record,) = caplog.records  # warned once, counted every time
    assert "file (blocked)" in record.getMessage()
    assert blocker.read_text() == "x"


# --- OTLP -------------------------------------------------------------------------------------


def test_an_endpoint_sends_otlp_over_http_protobuf_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owned: list[TracingHandle]
) -> None:
    with OtlpHttpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
        handle = configure_tracing(
            service_name="from-argument",
            env={**os.environ, semconv.ENV_HOME: str(tmp_path)},
            set_global=False,
        )
        owned.append(handle)
        assert handle.spans_file is None
        (exporter,) = handle.exporters
        assert isinstance(exporter.inner, OTLPSpanExporter)
        assert handle.provider is not None
        parent, _ = _emit(handle.provider)
        assert handle.force_flush()
        records = receiver.wait_for(lambda r: len(r) >= 2)
    assert sorted(r.name for r in records) == ["child", "parent"]
    assert {r.trace_id for r in records} == {format(parent.context.trace_id, "032x")}
    assert {r.service for r in records} == {"from-env"}  # OTEL_SERVICE_NAME wins
    assert (exporter.exported, exporter.lost) == (2, 0)
    assert handle.loss_report() is None
    assert not (tmp_path / "spans.jsonl").exists()


def test_each_exporter_counts_the_sampled_spans_its_processor_was_handed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owned: list[TracingHandle]
) -> None:
    """OTLP and an explicit spans file: one batch processor each, counting on its own
    exporter the spans it queued (a span the sampler dropped never reaches it), so what is
    still unexported is known per exporter."""
    with OtlpHttpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        handle = configure_tracing(
            spans_file=tmp_path / "spans.jsonl",
            env={**os.environ, semconv.ENV_HOME: str(tmp_path)},
            set_global=False,
        )
        owned.append(handle)
        assert handle.provider is not None
        otlp, file = handle.exporters
        _emit(handle.provider)
        # A child of a remote parent that was not sampled: the default sampler drops it.
        unsampled = SpanContext(1, 2, is_remote=True, trace_flags=TraceFlags(TraceFlags.DEFAULT))
        dropped = trace.set_span_in_context(NonRecordingSpan(unsampled))
        handle.provider.get_tracer("tests.tracing").start_span("dropped", context=dropped).end()
        assert (otlp.handed, file.handed) == (2, 2)
        assert handle.force_flush()
        receiver.wait_for(lambda r: len(r) >= 2)
    assert [(e.handed, e.exported, e.lost, e.unexported) for e in (otlp, file)] == [
        (2, 2, 0, 0)
    ] * 2
    lines = (tmp_path / "spans.jsonl").read_text().splitlines()
    names = {
        s["name"]
        for line in lines
        for rs in json.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for s in ss["spans"]
    }
    assert names == {"parent", "child"}


def test_a_span_recorded_but_not_sampled_is_not_counted() -> None:
    """A sampler may record a span without sampling it (RECORD_ONLY): the batch processor
    does not export it, so it is not counted as handed to the exporter either."""
    exporter = LossCountingExporter(InMemorySpanExporter(), "memory")
    processor = CountingBatchSpanProcessor(exporter)
    try:
        for flags in (TraceFlags.DEFAULT, TraceFlags.SAMPLED):
            context = SpanContext(1, 2, is_remote=False, trace_flags=TraceFlags(flags))
            processor.on_end(ReadableSpan("span", context=context))
        assert exporter.handed == 1
        assert processor.force_flush()
        assert (exporter.exported, exporter.lost, exporter.unexported) == (1, 0, 0)
    finally:
        processor.shutdown()


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.names: list[str] = []

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                self.names += [s.name for s in ss.spans]
        return trace_service_pb2.ExportTraceServiceResponse()


def test_protocol_grpc_sends_over_grpc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owned: list[TracingHandle]
) -> None:
    service = _TraceService()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(service, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        handle = configure_tracing(
            env={**os.environ, semconv.ENV_HOME: str(tmp_path)}, set_global=False
        )
        owned.append(handle)
        assert handle.provider is not None
        _emit(handle.provider)
        assert handle.force_flush()
    finally:
        server.stop(grace=None)
    assert sorted(service.names) == ["child", "parent"]
    assert handle.lost_spans == 0


def test_an_unsupported_protocol_is_refused_with_what_to_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(TracingConfigError, match="'http/json' is not supported: use 'grpc' or"):
        configure_tracing(env={**os.environ, semconv.ENV_HOME: str(tmp_path)}, set_global=False)


def test_a_refused_endpoint_loses_spans_counted_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owned: list[TracingHandle]
) -> None:
    endpoint = f"http://127.0.0.1:{_refused_port()}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "0.5")
    handle = configure_tracing(
        env={**os.environ, semconv.ENV_HOME: str(tmp_path)}, set_global=False
    )
    owned.append(handle)
    assert handle.provider is not None
    _emit(handle.provider)
    handle.force_flush(5000)
    assert handle.lost_spans == 2
    report = handle.loss_report()
    assert report is not None
    assert report.startswith(f"2 span(s) could not be exported to OTLP ({endpoint}): ")


# --- the resource -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "argument", "name", "version"),
    [
        ({}, None, DEFAULT_SERVICE_NAME, __version__),
        ({}, "my-agent", "my-agent", __version__),
        ({"OTEL_SERVICE_NAME": "env-name"}, "my-agent", "env-name", __version__),
        (
            {"OTEL_RESOURCE_ATTRIBUTES": "service.name=attr-name,service.version=9.9"},
            "my-agent",
            "attr-name",
            "9.9",
        ),
        (
            {
                "OTEL_RESOURCE_ATTRIBUTES": "service.name=attr-name,deployment.environment=ci",
                "OTEL_SERVICE_NAME": "env-name",
            },
            None,
            "env-name",
            __version__,
        ),
    ],
    ids=["default", "argument", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "both"],
)
def test_resource_precedence(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    owned: list[TracingHandle],
    env: dict[str, str],
    argument: str | None,
    name: str,
    version: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    handle = configure_tracing(
        service_name=argument,
        env={**os.environ, semconv.ENV_HOME: str(tmp_path)},
        set_global=False,
    )
    owned.append(handle)
    assert isinstance(handle.provider, TracerProvider)
    attributes = handle.provider.resource.attributes
    assert attributes["service.name"] == name
    assert attributes["service.version"] == version


def test_a_service_name_given_in_env_only_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owned: list[TracingHandle]
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    handle = configure_tracing(
        env={"OTEL_SERVICE_NAME": "from-env-argument", semconv.ENV_HOME: str(tmp_path)},
        set_global=False,
    )
    owned.append(handle)
    assert isinstance(handle.provider, TracerProvider)
    assert handle.provider.resource.attributes["service.name"] == "from-env-argument"


class _Hangup:
    """A TCP endpoint that accepts each connection and closes it at once (a transient
    connection error for the OTLP/HTTP exporter, which retries those with backoff);
    ``connections`` counts the attempts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.connections = 0
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


def test_exit_tries_each_batch_once_instead_of_retrying_an_unreachable_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owned: list[TracingHandle]
) -> None:
    """With a 60 s exporter timeout, retries with backoff would hold the exit for the whole
    grace; at exit each batch gets one attempt (the exporter's own immediate reconnect
    included) and the spans are counted lost, with the count in the report."""
    endpoint = _Hangup()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "60")
        handle = configure_tracing(
            env={**os.environ, semconv.ENV_HOME: str(tmp_path)}, set_global=False
        )
        owned.append(handle)
        assert handle.provider is not None
        _emit(handle.provider)
        assert handle.shutdown(timeout_s=50.0)  # finished, not abandoned at the bound
    finally:
        endpoint.close()
    assert 1 <= endpoint.connections <= 2
    assert handle.lost_spans == 2
    report = handle.loss_report()
    assert report is not None
    assert report.startswith(f"2 span(s) could not be exported to OTLP ({endpoint.endpoint})")


def test_a_shutdown_that_gives_up_counts_the_spans_still_queued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owned: list[TracingHandle]
) -> None:
    """An endpoint that accepts connections and never answers: the bounded shutdown gives
    up, and the spans it could not deliver are in the report's count."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # never accepted: requests hang until the exporter's timeout
    try:
        monkeypatch.setenv(
            "OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}"
        )
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "30")
        handle = configure_tracing(
            env={**os.environ, semconv.ENV_HOME: str(tmp_path)}, set_global=False
        )
        assert handle.provider is not None
        _emit(handle.provider)
        assert not handle.shutdown(timeout_s=0.5)
        report = handle.loss_report()
    finally:
        silent.close()
    assert report is not None
    assert report.startswith("2 span(s) could not be exported to OTLP (")
    assert "2 not exported within 0.5 s" in report


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (semconv.ENV_SPANS_FILE_MAX_MB, "lots"),
        (semconv.ENV_SPANS_FILE_MAX_MB, "-1"),
        (semconv.ENV_SPANS_FILE_BACKUPS, "2.5"),
        (semconv.ENV_SPANS_FILE_BACKUPS, "-3"),
    ],
)
def test_a_bad_spans_file_setting_is_refused_naming_it(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(TracingConfigError, match=name):
        configure_tracing(env={semconv.ENV_HOME: str(tmp_path), name: value}, set_global=False)


def test_the_spans_file_rotation_settings_reach_the_exporter(
    tmp_path: Path, owned: list[TracingHandle]
) -> None:
    handle = configure_tracing(
        env={
            semconv.ENV_HOME: str(tmp_path),
            semconv.ENV_SPANS_FILE_MAX_MB: "0.5",
            semconv.ENV_SPANS_FILE_BACKUPS: "7",
        },
        set_global=False,
    )
    owned.append(handle)
    (exporter,) = handle.exporters
    assert isinstance(exporter.inner, OtlpJsonFileExporter)
    assert (exporter.inner.max_bytes, exporter.inner.backups) == (512 * 1024, 7)
    default = configure_tracing(env={semconv.ENV_HOME: str(tmp_path)}, set_global=False)
    owned.append(default)
    (inner,) = (e.inner for e in default.exporters)
    assert isinstance(inner, OtlpJsonFileExporter)
    assert inner.max_bytes * (inner.backups + 1) <= 64 * 1024 * 1024
