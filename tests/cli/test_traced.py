"""The traced-command shell: one loss line at the end, and the exporters' logging muted.

The provider here is a real SDK provider with a real batch processor; its exporter is a
stand-in that blocks (an endpoint that never answers cannot be had on loopback without a
server that accepts and stalls, which is what this is, minus the socket).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from mcp_agent_otel.cli import traced
from mcp_agent_otel.tracing.export import LossCountingExporter
from mcp_agent_otel.tracing.setup import TracingHandle, quiet_export_logs


class StalledExporter(SpanExporter):
    """Blocks every export until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait(10)
        return SpanExportResult.SUCCESS


def test_a_shutdown_that_gives_up_reports_the_dropped_spans_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(traced, "EXPORT_GRACE_S", 0.2)
    stalled = StalledExporter()
    exporter = LossCountingExporter(stalled, "OTLP (http://127.0.0.1:9)")
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=10))
    handle = TracingHandle(provider=provider, owned=True, exporters=(exporter,))
    try:
        with provider.get_tracer("t").start_as_current_span("s"):
            pass
        traced._shut_down(handle, "the workflow results")
    finally:
        stalled.release.set()
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert (
        "spans not exported to OTLP (http://127.0.0.1:9) within 0.2 s were dropped "
        "(the workflow results are unaffected)"
    ) in err


def test_a_clean_shutdown_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    provider = TracerProvider()
    handle = TracingHandle(provider=provider, owned=True)
    traced._shut_down(handle, "the workflow results")
    assert capsys.readouterr().err == ""


def test_quiet_export_logs_mutes_the_per_batch_logging() -> None:
    exporter_log = logging.getLogger("opentelemetry.exporter")
    ours = logging.getLogger(LossCountingExporter.__module__)
    before = exporter_log.level, ours.level
    try:
        quiet_export_logs()
        assert not exporter_log.isEnabledFor(logging.ERROR)  # a traceback per failed batch
        assert not ours.isEnabledFor(logging.WARNING)  # the first-loss warning
        assert ours.isEnabledFor(logging.ERROR)
    finally:
        exporter_log.setLevel(before[0])
        ours.setLevel(before[1])
