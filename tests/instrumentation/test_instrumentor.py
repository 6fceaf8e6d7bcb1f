"""``McpAgentInstrumentor`` in process: dotted targets, round trip, provider routing, bad input."""

from __future__ import annotations

import gc
import importlib
import inspect
import logging
import sys
import textwrap
import weakref
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from mcp_agent_otel.instrumentation import (
    McpAgentConfigurator,
    McpAgentInstrumentor,
    StageFunctionWrapper,
    traced_stage,
)
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing import spans as stage_spans
from tests.instrumentation import sample_components as sc

MOD = "tests.instrumentation.sample_components"
FN = semconv.CODE_FUNCTION_NAME
LOGGER = "mcp_agent_otel.instrumentation"

ALL_KINDS = {
    f"{MOD}:plan": "component.plan",
    f"{MOD}:fetch": "component.fetch",
    f"{MOD}:Analyzer.analyze_task": semconv.SPAN_ANALYZE,
    f"{MOD}:Analyzer.analyze_async": "component.analyze_async",
    f"{MOD}:Analyzer.count": "component.count",
    f"{MOD}:Analyzer.normalise": "component.normalise",
    f"{MOD}:StrictAnalyzer.analyze_task": "component.strict",
    f"{MOD}:Engine.decide": semconv.SPAN_DECIDE,
}


@pytest.fixture
def instrumentor() -> Iterator[McpAgentInstrumentor]:
    inst = McpAgentInstrumentor()
    if inst.is_instrumented_by_opentelemetry:
        inst.uninstrument()
    yield inst
    if inst.is_instrumented_by_opentelemetry:
        inst.uninstrument()


def names(exporter: InMemorySpanExporter) -> list[str]:
    return [s.name for s in exporter.get_finished_spans()]


def warnings_about(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and r.levelno == logging.WARNING and text in r.getMessage()
    ]


def originals() -> dict[str, Any]:
    return {
        "plan": vars(sc)["plan"],
        "fetch": vars(sc)["fetch"],
        "analyze_task": vars(sc.Analyzer)["analyze_task"],
        "analyze_async": vars(sc.Analyzer)["analyze_async"],
        "count": vars(sc.Analyzer)["count"],
        "normalise": vars(sc.Analyzer)["normalise"],
        "decide": vars(sc.Engine)["decide"],
    }


def test_the_entry_points_resolve() -> None:
    found = {e.name: e for e in entry_points(group="opentelemetry_instrumentor")}
    assert found["mcp_agent"].load() is McpAgentInstrumentor
    configurators = {e.name: e for e in entry_points(group="opentelemetry_configurator")}
    assert configurators["mcp_agent"].load() is McpAgentConfigurator
    assert McpAgentInstrumentor().instrumentation_dependencies() == ("mcp >= 2.3",)


async def test_every_kind_of_target_is_traced_and_the_round_trip_restores_originals(
    instrumentor: McpAgentInstrumentor, spans: InMemorySpanExporter
) -> None:
    before = originals()
    instrumentor.instrument(targets=ALL_KINDS)
    assert instrumentor.target_status() == {f"{k}={v}": "wrapped" for k, v in ALL_KINDS.items()}
    for name in before:
        owner = sc if name in ("plan", "fetch") else None
        current = (
            vars(owner)[name]
            if owner
            else next(vars(c)[name] for c in (sc.Analyzer, sc.Engine) if name in vars(c))
        )
        assert isinstance(current, StageFunctionWrapper), name
    assert "analyze_task" in vars(sc.StrictAnalyzer)  # wrapped on the subclass only
    assert not isinstance(vars(sc.Analyzer)["analyze_task"].__wrapped__, StageFunctionWrapper)
    assert inspect.iscoroutinefunction(sc.fetch)
    assert inspect.iscoroutinefunction(sc.Analyzer().analyze_async)
    assert inspect.signature(sc.Analyzer().analyze_task).parameters.keys() == {"task", "strict"}

    analyzer = sc.Analyzer()
    assert sc.plan("a b") == ["a", "b"]
    assert await sc.fetch("k") == "K"
    analysis = analyzer.analyze_task("find x")
    assert analysis == sc.analysis_for("find x")
    assert await analyzer.analyze_async("y") == sc.analysis_for("y")
    assert sc.Analyzer.count(2) == sc.Analyzer.calls
    assert analyzer.normalise(" A  B ") == "a b"
    assert sc.StrictAnalyzer().analyze_task("z") == sc.analysis_for("z")
    await sc.Engine().decide(analysis)
    got = list(spans.get_finished_spans())
    assert [s.name for s in got] == [
        "component.plan",
        "component.fetch",
        semconv.SPAN_ANALYZE,
        "component.analyze_async",
        "component.count",
        "component.normalise",
        "component.strict",
        semconv.SPAN_DECIDE,
    ]
    assert [dict(s.attributes or {})[FN] for s in got] == [
        f"{MOD}.plan",
        f"{MOD}.fetch",
        f"{MOD}.Analyzer.analyze_task",
        f"{MOD}.Analyzer.analyze_async",
        f"{MOD}.Analyzer.count",
        f"{MOD}.Analyzer.normalise",
        f"{MOD}.Analyzer.analyze_task",  # the function the subclass inherits
        f"{MOD}.Engine.decide",
    ]
    assert dict(got[2].attributes or {})[semconv.TASK_TYPE] == "information_retrieval"

    instrumentor.uninstrument()
    after = originals()
    for name, original in before.items():
        assert after[name] is original, name
    assert "analyze_task" not in vars(sc.StrictAnalyzer)
    assert instrumentor.target_status() == {}
    spans.clear()
    sc.plan("a")
    sc.Analyzer().analyze_task("b")
    assert names(spans) == []


def test_targets_come_from_the_environment_when_not_given(
    instrumentor: McpAgentInstrumentor,
    spans: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        semconv.ENV_INSTRUMENT,
        f"{MOD}:plan=component.plan, {MOD}:Analyzer.analyze_task=task_analyzer.analyze",
    )
    instrumentor.instrument()
    sc.plan("x")
    sc.Analyzer().analyze_task("x")
    assert names(spans) == ["component.plan", semconv.SPAN_ANALYZE]


def test_an_explicit_targets_argument_wins_over_the_environment(
    instrumentor: McpAgentInstrumentor,
    spans: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(semconv.ENV_INSTRUMENT, f"{MOD}:plan=component.plan")
    instrumentor.instrument(targets=[f"{MOD}:fetch=component.fetch"])
    sc.plan("x")
    assert names(spans) == []
    assert isinstance(vars(sc)["fetch"], StageFunctionWrapper)


def test_exceptions_propagate_unchanged_with_error_spans(
    instrumentor: McpAgentInstrumentor, spans: InMemorySpanExporter
) -> None:
    instrumentor.instrument(targets={f"{MOD}:Analyzer.analyze_task": semconv.SPAN_ANALYZE})
    with pytest.raises(sc.AnalysisFailed, match="cannot analyze 'fail'") as info:
        sc.Analyzer().analyze_task("fail")
    assert info.traceback[-1].name == "analyze_task"
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    attrs = dict(span.attributes or {})
    assert attrs[semconv.ERROR_TYPE] == "AnalysisFailed"
    assert semconv.TASK_TYPE not in attrs
    assert [e.name for e in span.events] == ["exception"]


def test_missing_and_malformed_targets_get_one_warning_each_and_are_skipped(
    instrumentor: McpAgentInstrumentor,
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    instrumentor.instrument(
        targets=",".join(
            [
                f"{MOD}:Analyzer.no_such_method=task_analyzer.analyze",
                f"{MOD}:NoSuchClass.run=task_analyzer.analyze",
                f"{MOD}:words=component.words",
                f"{MOD}:Analyzer.name=component.name",
                f"{MOD}:Analyzer=component.class",
                "this is not a target",
                f"{MOD}:plan=two words",
                "no_such_package_for_mcp_agent_otel.sub:run=task_analyzer.analyze",
                f"{MOD}:plan=component.plan",
            ]
        )
    )
    # The good target still works.
    assert sc.plan("a b") == ["a", "b"]
    assert names(spans) == ["component.plan"]
    assert len(warnings_about(caplog, "Analyzer.no_such_method")) == 1
    assert "no attribute path" in warnings_about(caplog, "Analyzer.no_such_method")[0]
    assert len(warnings_about(caplog, "NoSuchClass.run")) == 1
    assert "generator function" in warnings_about(caplog, ":words=")[0]
    assert "is a property" in warnings_about(caplog, "Analyzer.name")[0]
    assert "is a class" in warnings_about(caplog, "Analyzer=component.class")[0]
    assert "no stage given" in warnings_about(caplog, "this is not a target")[0]
    assert "not a valid span name" in warnings_about(caplog, "two words")[0]
    status = instrumentor.target_status()
    assert status[f"{MOD}:plan=component.plan"] == "wrapped"
    assert status[f"{MOD}:Analyzer.no_such_method=task_analyzer.analyze"].startswith("skipped")
    missing = "no_such_package_for_mcp_agent_otel.sub:run=task_analyzer.analyze"
    assert status[missing].startswith("pending")
    # A module never imported is reported once, when the process exits.
    assert warnings_about(caplog, "no_such_package_for_mcp_agent_otel") == []
    patcher = instrumentor._patcher
    assert patcher is not None
    patcher.report_pending()
    patcher.report_pending()
    (message,) = warnings_about(caplog, "no_such_package_for_mcp_agent_otel")
    assert "was never imported" in message
    assert len([r for r in caplog.records if r.name == LOGGER]) == 8


def test_uninstrument_lets_the_patcher_go(instrumentor: McpAgentInstrumentor) -> None:
    """instrument() registers the pending-targets report to run at exit; uninstrument() takes
    it back, so instrument/uninstrument cycles do not keep every old patcher alive."""
    patchers = []
    for _ in range(3):
        instrumentor.instrument(targets=f"{MOD}:plan=component.plan")
        patchers.append(weakref.ref(instrumentor._patcher))
        instrumentor.uninstrument()
    gc.collect()
    assert [ref() for ref in patchers] == [None, None, None]


def test_a_module_imported_later_is_wrapped_when_it_is_imported(
    instrumentor: McpAgentInstrumentor,
    spans: InMemorySpanExporter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "late_vendor_component_for_instrumentation_test"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            '''
            class Planner:
                def plan(self, task):
                    """Plan a task."""
                    return [task]
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    instrumentor.instrument(targets={f"{name}:Planner.plan": semconv.SPAN_DECIDE})
    assert name not in sys.modules  # instrument() did not import it
    assert instrumentor.target_status()[f"{name}:Planner.plan={semconv.SPAN_DECIDE}"].startswith(
        "pending"
    )
    module = importlib.import_module(name)
    original = module.Planner.__dict__["plan"].__wrapped__
    assert module.Planner().plan("t") == ["t"]
    assert names(spans) == [semconv.SPAN_DECIDE]
    assert dict(spans.get_finished_spans()[0].attributes or {})[FN] == f"{name}.Planner.plan"
    instrumentor.uninstrument()
    assert module.Planner.__dict__["plan"] is original
    monkeypatch.delitem(sys.modules, name)


def test_the_mcp_sdk_is_never_wrapped(
    instrumentor: McpAgentInstrumentor, caplog: pytest.LogCaptureFixture
) -> None:
    from mcp import Client

    caplog.set_level(logging.WARNING, logger=LOGGER)
    call_tool = vars(Client)["call_tool"]
    instrumentor.instrument(targets={"mcp.client.client:Client.call_tool": "execute_tool"})
    assert vars(Client)["call_tool"] is call_tool
    (message,) = warnings_about(caplog, "Client.call_tool")
    assert "MCP SDK emits its own" in message


def test_the_given_tracer_provider_receives_only_the_wrapped_targets_spans(
    instrumentor: McpAgentInstrumentor, spans: InMemorySpanExporter
) -> None:
    """Like any instrumentor it owns what it wraps: built-in stage spans stay on the global one."""
    own = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(own))
    instrumentor.instrument(tracer_provider=provider, targets={f"{MOD}:plan": "component.plan"})
    sc.plan("x")
    with stage_spans.stage_span(semconv.SPAN_DISCOVER):
        pass
    assert names(own) == ["component.plan"]
    assert names(spans) == [semconv.SPAN_DISCOVER]
    instrumentor.uninstrument()
    sc.plan("x")  # unwrapped: no span anywhere
    with stage_spans.stage_span(semconv.SPAN_DISCOVER):
        pass
    assert names(own) == ["component.plan"]
    assert names(spans) == [semconv.SPAN_DISCOVER, semconv.SPAN_DISCOVER]


def test_double_instrumentation_does_not_double_spans(
    instrumentor: McpAgentInstrumentor,
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    targets = {f"{MOD}:plan": "component.plan"}
    instrumentor.instrument(targets=targets)
    wrapper = vars(sc)["plan"]
    instrumentor.instrument(targets=targets)  # BaseInstrumentor refuses a second time
    assert vars(sc)["plan"] is wrapper
    assert McpAgentInstrumentor() is instrumentor
    sc.plan("x")
    assert names(spans) == ["component.plan"]


def test_a_decorated_function_named_as_a_target_is_one_span(
    instrumentor: McpAgentInstrumentor,
    spans: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decorated = traced_stage(semconv.SPAN_ANALYZE)(sc.analysis_for)
    monkeypatch.setattr(sc, "analysis_for", decorated)
    instrumentor.instrument(
        targets=f"{MOD}:analysis_for=task_analyzer.analyze,"
        f"{MOD}:Analyzer.analyze_task=task_analyzer.analyze"
    )
    # analyze_task (target) -> analysis_for (target over decorator): all one stage, one span.
    sc.Analyzer().analyze_task("find it")
    assert names(spans) == [semconv.SPAN_ANALYZE]
    instrumentor.uninstrument()
    assert vars(sc)["analysis_for"] is decorated


def test_failing_hooks_and_suppression_with_targets(
    instrumentor: McpAgentInstrumentor, spans: InMemorySpanExporter
) -> None:
    def broken(*args: Any) -> None:
        raise ValueError("hook broke")

    before = stage_spans.recording_failures()
    instrumentor.instrument(
        targets={f"{MOD}:plan": "component.plan"}, request_hook=broken, response_hook=broken
    )
    assert sc.plan("a b") == ["a", "b"]
    assert stage_spans.recording_failures() == before + 2
    with suppress_instrumentation():
        assert sc.plan("c") == ["c"]
    spans_seen: list[ReadableSpan] = list(spans.get_finished_spans())
    assert [s.name for s in spans_seen] == ["component.plan"]


@pytest.mark.parametrize("base_first", [True, False])
def test_a_subclass_target_does_not_depend_on_the_order_of_targets(
    instrumentor: McpAgentInstrumentor, spans: InMemorySpanExporter, base_first: bool
) -> None:
    entries = [
        f"{MOD}:Analyzer.analyze_task=task_analyzer.analyze",
        f"{MOD}:StrictAnalyzer.analyze_task=component.strict",
    ]
    original = vars(sc.Analyzer)["analyze_task"]
    instrumentor.instrument(targets=entries if base_first else entries[::-1])
    sc.StrictAnalyzer().analyze_task("x")
    sc.Analyzer().analyze_task("y")
    assert names(spans) == ["component.strict", semconv.SPAN_ANALYZE]
    instrumentor.uninstrument()
    assert vars(sc.Analyzer)["analyze_task"] is original
    assert "analyze_task" not in vars(sc.StrictAnalyzer)
