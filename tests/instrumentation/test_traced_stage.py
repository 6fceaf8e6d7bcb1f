"""``@traced_stage``: the stage span a wrapped callable makes, and that the call stays the same."""

from __future__ import annotations

import asyncio
import inspect
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mcp_agent_otel.autonomous.models import ExecutionPattern
from mcp_agent_otel.instrumentation import StageFunctionWrapper, traced_stage
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing import spans as stage_spans
from tests.instrumentation import sample_components as sc

FN = semconv.CODE_FUNCTION_NAME


def finished(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return list(exporter.get_finished_spans())


def only(exporter: InMemorySpanExporter) -> ReadableSpan:
    got = finished(exporter)
    assert len(got) == 1, [s.name for s in got]
    return got[0]


# --- the plain original functions, decorated here so the originals stay comparable ---------


def analyze(task: str, *, strict: bool = False) -> str:
    """Analyze a task."""
    return task.upper()


async def analyze_async(task: str, depth: int = 2) -> str:
    """Analyze a task, asynchronously."""
    await asyncio.sleep(0)
    return task * depth


traced_analyze = traced_stage(semconv.SPAN_ANALYZE)(analyze)
traced_analyze_async = traced_stage(semconv.SPAN_ANALYZE)(analyze_async)


class Component:
    @traced_stage("component.method")
    def method(self, x: int) -> int:
        """A method."""
        return x + 1

    @traced_stage("component.amethod")
    async def amethod(self, x: int) -> int:
        return x + 2

    @traced_stage("component.cm_outer")
    @classmethod
    def cm_outer(cls, x: int) -> tuple[type, int]:
        return cls, x

    @classmethod
    @traced_stage("component.cm_inner")
    def cm_inner(cls, x: int) -> tuple[type, int]:
        return cls, x

    @traced_stage("component.sm")
    @staticmethod
    def sm(x: int) -> int:
        return x * 3


def test_sync_function_span_and_result(spans: InMemorySpanExporter) -> None:
    assert traced_analyze("find x") == "FIND X"
    span = only(spans)
    assert span.name == semconv.SPAN_ANALYZE
    assert span.kind is SpanKind.INTERNAL
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == semconv.TRACER_NAME
    assert dict(span.attributes or {}) == {
        FN: f"{__name__}.analyze",
        semconv.TASK_LENGTH: len("find x"),
    }
    assert span.status.status_code is StatusCode.UNSET


def test_identity_signature_doc_and_asyncness_are_kept() -> None:
    assert isinstance(traced_analyze, StageFunctionWrapper)
    assert traced_analyze.__wrapped__ is analyze
    for name in ("__name__", "__qualname__", "__doc__", "__module__"):
        assert getattr(traced_analyze, name) == getattr(analyze, name)
        assert getattr(traced_analyze_async, name) == getattr(analyze_async, name)
    assert inspect.signature(traced_analyze) == inspect.signature(analyze)
    assert inspect.signature(traced_analyze_async) == inspect.signature(analyze_async)
    assert not inspect.iscoroutinefunction(traced_analyze)
    assert inspect.iscoroutinefunction(traced_analyze_async)
    assert inspect.iscoroutinefunction(Component.amethod)
    assert inspect.iscoroutinefunction(Component().amethod)
    assert str(inspect.signature(Component().method)) == "(x: 'int') -> 'int'"  # self bound
    assert Component.method.__doc__ == "A method."


async def test_async_function_span_and_parenting(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("outer") as outer:
        results = await asyncio.gather(traced_analyze_async("a"), traced_analyze_async("b", 3))
    assert results == ["aa", "bbb"]
    got = finished(spans)
    stage = [s for s in got if s.name == semconv.SPAN_ANALYZE]
    assert len(stage) == 2
    for s in stage:
        assert s.parent is not None
        assert s.parent.span_id == outer.get_span_context().span_id
        assert dict(s.attributes or {})[FN] == f"{__name__}.analyze_async"
    # After the calls, the outer span is current again: no context leaked.
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_methods_classmethods_staticmethods(spans: InMemorySpanExporter) -> None:
    c = Component()
    assert c.method(1) == 2
    assert asyncio.run(c.amethod(1)) == 3
    assert Component.cm_outer(4) == (Component, 4)
    assert c.cm_outer(5) == (Component, 5)
    assert Component.cm_inner(6) == (Component, 6)
    assert Component.sm(2) == 6
    assert c.sm(3) == 9
    got = [(s.name, dict(s.attributes or {})[FN]) for s in finished(spans)]
    q = f"{__name__}.Component"
    assert got == [
        ("component.method", f"{q}.method"),
        ("component.amethod", f"{q}.amethod"),
        ("component.cm_outer", f"{q}.cm_outer"),
        ("component.cm_outer", f"{q}.cm_outer"),
        ("component.cm_inner", f"{q}.cm_inner"),
        ("component.sm", f"{q}.sm"),
        ("component.sm", f"{q}.sm"),
    ]


def _raise_original() -> None:
    raise sc.AnalysisFailed("boom")


def test_exception_is_the_same_object_with_its_traceback_and_an_error_span(
    spans: InMemorySpanExporter,
) -> None:
    traced = traced_stage(semconv.SPAN_DECIDE)(_raise_original)
    with pytest.raises(sc.AnalysisFailed) as bare:
        _raise_original()
    with pytest.raises(sc.AnalysisFailed) as wrapped:
        traced()
    exc = wrapped.value
    assert str(exc) == "boom"
    assert exc.__cause__ is None
    assert exc.__context__ is None
    # The frames the bare call produced are all there, the raise site last.
    bare_frames = [(f.name, f.lineno) for f in traceback.extract_tb(bare.value.__traceback__)]
    wrapped_frames = [(f.name, f.lineno) for f in traceback.extract_tb(exc.__traceback__)]
    assert wrapped_frames[-1] == bare_frames[-1]
    assert wrapped_frames[-1][0] == "_raise_original"
    span = only(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "boom"
    assert dict(span.attributes or {})[semconv.ERROR_TYPE] == "AnalysisFailed"
    assert [e.name for e in span.events] == ["exception"]
    event_attrs = dict(span.events[0].attributes or {})
    assert event_attrs["exception.message"] == "boom"
    assert str(event_attrs["exception.type"]).endswith("AnalysisFailed")


async def test_async_exception_propagates_unchanged(spans: InMemorySpanExporter) -> None:
    original = sc.AnalysisFailed("async boom")

    @traced_stage("component.fails")
    async def fails() -> None:
        await asyncio.sleep(0)
        raise original

    with pytest.raises(sc.AnalysisFailed) as info:
        await fails()
    assert info.value is original
    span = only(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})[semconv.ERROR_TYPE] == "AnalysisFailed"


def test_failing_hooks_do_not_change_the_result(spans: InMemorySpanExporter) -> None:
    def bad_request_hook(span: Any, instance: Any, args: Any, kwargs: Any) -> None:
        raise RuntimeError("request hook broke")

    def bad_response_hook(span: Any, instance: Any, result: Any) -> None:
        raise RuntimeError("response hook broke")

    before = spans_failures()
    traced = traced_stage(
        "component.hooked", request_hook=bad_request_hook, response_hook=bad_response_hook
    )(analyze)
    assert traced("abc") == "ABC"
    assert spans_failures() == before + 2
    span = only(spans)
    assert span.name == "component.hooked"
    assert span.status.status_code is StatusCode.UNSET


def test_working_hooks_see_span_instance_args_and_result(spans: InMemorySpanExporter) -> None:
    seen: list[Any] = []

    def request_hook(span: Any, instance: Any, args: Any, kwargs: Any) -> None:
        seen.append((instance, args, dict(kwargs)))
        span.set_attribute("test.request", 1)

    def response_hook(span: Any, instance: Any, result: Any) -> None:
        seen.append(result)
        span.set_attribute("test.response", result)

    class Host:
        @traced_stage("host.run", request_hook=request_hook, response_hook=response_hook)
        def run(self, x: int, *, y: int = 0) -> int:
            return x + y

    host = Host()
    assert host.run(1, y=2) == 3
    assert seen == [(host, (1,), {"y": 2}), 3]
    attrs = dict(only(spans).attributes or {})
    assert attrs["test.request"] == 1
    assert attrs["test.response"] == 3


class _ExplodingAnalysis:
    """A result whose attribute access raises: the derived attributes fail, the call must not."""

    @property
    def task_type(self) -> str:
        raise RuntimeError("attribute broke")


def test_failing_attribute_derivation_does_not_change_the_result(
    spans: InMemorySpanExporter,
) -> None:
    result = _ExplodingAnalysis()
    traced = traced_stage(semconv.SPAN_ANALYZE)(lambda task: result)
    before = spans_failures()
    assert traced("x") is result
    assert spans_failures() == before + 1
    assert only(spans).name == semconv.SPAN_ANALYZE


class _RaisingProcessor(SpanProcessor):
    """Fault injection: a span processor that fails on start or end (a broken SDK pipeline)."""

    def __init__(self, on: str) -> None:
        self.on = on

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.on == "start":
            raise RuntimeError("processor broke on start")

    def on_end(self, span: ReadableSpan) -> None:
        if self.on == "end":
            raise RuntimeError("processor broke on end")


@pytest.fixture
def broken_provider(request: pytest.FixtureRequest) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(_RaisingProcessor(request.param))
    stage_spans.use_tracer_provider(provider)
    yield provider
    stage_spans.use_tracer_provider(None)


@pytest.mark.parametrize("broken_provider", ["start", "end"], indirect=True)
async def test_a_broken_tracing_pipeline_never_breaks_the_call(
    broken_provider: TracerProvider,
) -> None:
    before = spans_failures()
    assert traced_analyze("q") == "Q"
    assert await traced_analyze_async("q") == "qq"
    with pytest.raises(sc.AnalysisFailed):
        traced_stage("component.fails")(_raise_original)()
    assert spans_failures() >= before + 3
    assert trace.get_current_span() is trace.INVALID_SPAN  # context restored


def test_suppress_instrumentation_opens_no_span(spans: InMemorySpanExporter) -> None:
    with suppress_instrumentation():
        assert traced_analyze("x") == "X"
        with spans_module_stage(semconv.SPAN_DISCOVER) as span:
            assert not span.is_recording()
    assert finished(spans) == []
    assert traced_analyze("y") == "Y"
    assert len(finished(spans)) == 1


def test_same_stage_nested_is_one_span_with_both_attributes(spans: InMemorySpanExporter) -> None:
    @traced_stage(semconv.SPAN_DISCOVER)
    def discover() -> tuple[str, ...]:
        # The wrapped code opens the same stage itself, as the built-in stages do.
        with spans_module_stage(semconv.SPAN_DISCOVER, {semconv.SERVERS_COUNT: 2}) as span:
            span.set_attribute(semconv.ENV_FINGERPRINT, "abc")
            return ("a", "b", "c")

    twice = traced_stage(semconv.SPAN_DISCOVER)(discover)
    assert twice() == ("a", "b", "c")
    span = only(spans)
    assert dict(span.attributes or {}) == {
        FN: f"{__name__}.test_same_stage_nested_is_one_span_with_both_attributes.<locals>.discover",
        semconv.SERVERS_COUNT: 2,
        semconv.ENV_FINGERPRINT: "abc",
        semconv.TOOLS_COUNT: 3,
    }


def test_different_stages_nest(spans: InMemorySpanExporter) -> None:
    inner = traced_stage(semconv.SPAN_DECIDE)(lambda: 1)
    outer = traced_stage(semconv.SPAN_WORKFLOW)(lambda: inner() + 1)
    assert outer() == 2
    got = {s.name: s for s in finished(spans)}
    assert set(got) == {semconv.SPAN_DECIDE, semconv.SPAN_WORKFLOW}
    parent = got[semconv.SPAN_DECIDE].parent
    assert parent is not None
    assert parent.span_id == got[semconv.SPAN_WORKFLOW].context.span_id
    workflow_attrs = dict(got[semconv.SPAN_WORKFLOW].attributes or {})
    assert workflow_attrs[semconv.GEN_AI_OPERATION_NAME] == semconv.OP_INVOKE_WORKFLOW
    assert workflow_attrs[semconv.GEN_AI_WORKFLOW_NAME] == semconv.WORKFLOW_NAME


async def test_known_stages_get_the_built_in_attributes(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_CONTENT, "true")
    analyzer = sc.Analyzer()
    analysis = traced_stage(semconv.SPAN_ANALYZE)(analyzer.analyze_task)("find the docs")
    decision = await traced_stage(semconv.SPAN_DECIDE)(sc.Engine().decide)(analysis)
    traced_stage(semconv.SPAN_EXECUTE)(lambda plan: None)(decision)
    got = {s.name: dict(s.attributes or {}) for s in finished(spans)}
    assert got[semconv.SPAN_ANALYZE] == {
        FN: "tests.instrumentation.sample_components.Analyzer.analyze_task",
        semconv.TASK_LENGTH: len("find the docs"),
        semconv.TASK_TEXT: "find the docs",
        semconv.TASK_TYPE: "information_retrieval",
        semconv.TASK_COMPLEXITY: "simple",
        semconv.TASK_CONFIDENCE: 0.75,
        semconv.TASK_SUBTASKS: 1,
    }
    assert got[semconv.SPAN_DECIDE] == {
        FN: "tests.instrumentation.sample_components.Engine.decide",
        semconv.DECISION_PATTERN: ExecutionPattern.SEQUENTIAL.value,
        semconv.DECISION_CONFIDENCE: 0.5,
        semconv.DECISION_STEPS: 0,
        semconv.DECISION_UNMATCHED: 1,
    }
    execute = got[semconv.SPAN_EXECUTE]
    assert execute[semconv.DECISION_PATTERN] == ExecutionPattern.SEQUENTIAL.value
    assert execute[semconv.DECISION_STEPS] == 0


def test_bad_decorator_use_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a valid span name"):
        traced_stage("two words")
    with pytest.raises(TypeError, match="generator function"):
        traced_stage("x.y")(sc.words)
    with pytest.raises(TypeError, match="is a class"):
        traced_stage("x.y")(sc.Analyzer)


# --- small local helpers ------------------------------------------------------------------


def spans_failures() -> int:
    return stage_spans.recording_failures()


spans_module_stage = stage_spans.stage_span


def test_with_no_sdk_the_wrapper_only_calls_through(spans: InMemorySpanExporter) -> None:
    stage_spans.use_tracer_provider(trace.NoOpTracerProvider())
    try:
        before = stage_spans.recording_failures()
        assert traced_analyze("x") == "X"
        with pytest.raises(sc.AnalysisFailed):
            traced_stage("component.fails")(_raise_original)()
        assert stage_spans.recording_failures() == before
        assert trace.get_current_span() is trace.INVALID_SPAN
    finally:
        stage_spans.use_tracer_provider(None)
    assert finished(spans) == []


def test_stage_span_reuses_only_a_directly_enclosing_span_of_the_same_stage(
    spans: InMemorySpanExporter,
) -> None:
    tracer = trace.get_tracer("test")
    with spans_module_stage(semconv.SPAN_DECIDE, {semconv.DECISION_STEPS: 1}) as outer:
        with spans_module_stage(semconv.SPAN_DECIDE, {semconv.DECISION_CONFIDENCE: 0.5}) as same:
            assert same is outer
        with (
            tracer.start_as_current_span("in between"),
            spans_module_stage(semconv.SPAN_DECIDE) as nested,
        ):
            assert nested is not outer
        with spans_module_stage(semconv.SPAN_ANALYZE) as other:
            assert other is not outer
    got = [(s.name, dict(s.attributes or {})) for s in finished(spans)]
    assert got == [
        (semconv.SPAN_DECIDE, {}),
        ("in between", {}),
        (semconv.SPAN_ANALYZE, {}),
        (semconv.SPAN_DECIDE, {semconv.DECISION_STEPS: 1, semconv.DECISION_CONFIDENCE: 0.5}),
    ]
