"""The run id on every process's resource, and the CPU time of synchronous stage spans."""

from __future__ import annotations

import re
import time
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span

from mcp_agent_otel.tracing import semconv, spans
from mcp_agent_otel.tracing.setup import configure_tracing, run_id_from_env

CI_VARIABLES = (semconv.ENV_RUN_ID, "GITHUB_RUN_ATTEMPT", *semconv.CI_RUN_ID_VARIABLES)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({semconv.ENV_RUN_ID: " nightly-7 ", "GITHUB_RUN_ID": "99"}, "nightly-7"),
        ({"GITHUB_RUN_ID": "8123", "GITHUB_RUN_ATTEMPT": "2"}, "8123-2"),
        ({"GITHUB_RUN_ID": "8123"}, "8123"),
        ({"CI_PIPELINE_ID": "4711"}, "4711"),
        ({"GITHUB_RUN_ATTEMPT": "2"}, None),
        ({}, None),
    ],
)
def test_run_id_from_env(env: dict[str, str], expected: str | None) -> None:
    assert run_id_from_env(env) == expected


def _resource_run_id(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> str:
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    handle = configure_tracing(env={"OTEL_EXPORTER_OTLP_ENDPOINT": "", **env}, set_global=False)
    assert isinstance(handle.provider, TracerProvider)
    try:
        return str(handle.provider.resource.attributes[semconv.RUN_ID])
    finally:
        handle.shutdown()


def test_the_resource_carries_the_ci_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert _resource_run_id(monkeypatch, {"CI_PIPELINE_ID": "4711"}) == "4711"
    assert _resource_run_id(monkeypatch, {semconv.ENV_RUN_ID: "r1"}) == "r1"


def test_without_any_id_each_process_gets_a_fresh_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    first, second = _resource_run_id(monkeypatch, {}), _resource_run_id(monkeypatch, {})
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert first != second


def test_otel_resource_attributes_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"{semconv.RUN_ID}=given")
    assert _resource_run_id(monkeypatch, {semconv.ENV_RUN_ID: "ignored"}) == "given"


def _busy(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_cpu_time_is_the_thread_cpu_time_of_the_block(spans: InMemorySpanExporter) -> None:
    with spans_module_stage(cpu_time=True):
        _busy(0.02)
        time.sleep(0.05)  # wall time, not CPU time
    with spans_module_stage(cpu_time=False):
        _busy(0.001)
    timed, untimed = spans.get_finished_spans()
    cpu_ms = (timed.attributes or {})[semconv.CPU_TIME_MS]
    assert isinstance(cpu_ms, float)
    assert cpu_ms >= 20.0
    assert timed.end_time is not None
    assert timed.start_time is not None
    wall_ms = (timed.end_time - timed.start_time) / 1e6
    assert cpu_ms < wall_ms - 40.0  # the 50 ms sleep is wall time, not CPU time
    assert semconv.CPU_TIME_MS not in (untimed.attributes or {})


def test_a_reused_stage_span_gets_the_inner_blocks_cpu_time(spans: InMemorySpanExporter) -> None:
    with spans_module_stage() as outer, spans_module_stage(cpu_time=True) as inner:
        assert inner is outer
        _busy(0.01)
    (span,) = spans.get_finished_spans()
    cpu_ms = (span.attributes or {})[semconv.CPU_TIME_MS]
    assert isinstance(cpu_ms, float)
    assert cpu_ms >= 10.0


def test_a_failed_stage_keeps_only_its_error(spans: InMemorySpanExporter) -> None:
    with pytest.raises(RuntimeError), spans_module_stage(cpu_time=True):
        raise RuntimeError("boom")
    (span,) = spans.get_finished_spans()
    assert semconv.CPU_TIME_MS not in (span.attributes or {})
    assert (span.attributes or {})[semconv.ERROR_TYPE] == "RuntimeError"


def spans_module_stage(cpu_time: bool = False) -> AbstractContextManager[Span]:
    return spans.stage_span(semconv.SPAN_DECIDE, cpu_time=cpu_time)


def test_export_false_installs_no_exporter(tmp_path: Path) -> None:
    """The A/B worker hands its spans on itself: no file, no OTLP, only its processors."""
    handle = configure_tracing(
        env={semconv.ENV_HOME: str(tmp_path), "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1"},
        set_global=False,
        export=False,
    )
    try:
        assert handle.exporters == ()
        assert handle.spans_file is None
        assert isinstance(handle.provider, TracerProvider)
    finally:
        handle.shutdown()
    assert not (tmp_path / "spans.jsonl").exists()
