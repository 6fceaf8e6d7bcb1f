"""Wrap a callable as a stage span: the one core behind ``@traced_stage`` and dotted targets.

The wrapper is a ``wrapt.FunctionWrapper``, so the wrapped callable keeps its ``__name__``,
``__doc__``, ``__module__``, ``inspect.signature`` and ``inspect.iscoroutinefunction``, and
binds like the original (methods, classmethods, staticmethods). Each call opens a span named
for the stage — through the tracer the wrapper was given (the instrumentor's, from the
``tracer_provider`` it was handed), else the project's tracer on the global provider
(``tracing.spans.get_tracer()``) — with the same attributes the built-in stage sets.

Tracing never breaks the call: a failure inside the instrumentation (starting the span, an
attribute derivation, a user hook) is swallowed and counted in
``tracing.spans.recording_failures()``; the call then runs as if it were not wrapped. What the
callable returns or raises is passed through untouched: the same object, the same exception
instance with its traceback (plus this wrapper's frame). An exception marks the span ERROR
with ``error.type`` and an exception event, exactly as ``stage_span`` does.

No span is opened inside ``suppress_instrumentation()``, nor directly inside a stage span of
the same name (a function both decorated and named as a target, or named twice, or a wrapped
function that itself opens that ``stage_span``): one stage never appears twice.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from contextvars import Token
from typing import TYPE_CHECKING, Any, TypeVar, cast

import wrapt
from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, SpanKind, Tracer

from mcp_agent_otel.instrumentation import stage_attributes
from mcp_agent_otel.instrumentation.target_spec import stage_name_problem
from mcp_agent_otel.tracing import spans

#: ``request_hook(span, instance, args, kwargs)``: called when the span has started.
RequestHook = Callable[[Span, Any, tuple[Any, ...], Mapping[str, Any]], None]
#: ``response_hook(span, instance, result)``: called when the call has returned.
ResponseHook = Callable[[Span, Any, Any], None]

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    _FunctionWrapper = wrapt.FunctionWrapper[..., Any]
else:  # wrapt < 2 has no runtime subscription
    _FunctionWrapper = wrapt.FunctionWrapper


class StageState:
    """What one wrapper knows: its stage, precomputed attributes, hooks, and an off switch."""

    __slots__ = (
        "active",
        "attributes",
        "call_deriver",
        "request_hook",
        "response_hook",
        "result_deriver",
        "stage",
        "tracer",
    )

    def __init__(
        self,
        stage: str,
        function_name: str,
        request_hook: RequestHook | None = None,
        response_hook: ResponseHook | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.stage = stage
        self.tracer = tracer
        self.attributes = stage_attributes.static_attributes(stage, function_name)
        self.call_deriver = stage_attributes.call_deriver(stage)
        self.result_deriver = stage_attributes.result_deriver(stage)
        self.request_hook = request_hook
        self.response_hook = response_hook
        # Cleared by uninstrument when the wrapper cannot be removed (something wrapped it
        # again on top): the wrapper then only passes calls through.
        self.active = True


_Started = tuple[Span, Token[Context], Token[tuple[str, Span] | None]]


def _start(state: StageState, instance: Any, args: tuple[Any, ...], kwargs: Any) -> _Started | None:
    """Open the stage span and make it current.

    None means "just call the function": the telemetry failed (counted), or there is no SDK
    (a no-op tracer hands out the invalid span: nothing to record, nothing to propagate).
    """
    attributes = state.attributes
    if state.call_deriver is not None:
        try:
            attributes = {**attributes, **state.call_deriver(args, kwargs)}
        except Exception:
            spans.count_recording_failure()
    try:
        tracer = state.tracer if state.tracer is not None else spans.get_tracer()
        span = tracer.start_span(state.stage, kind=SpanKind.INTERNAL, attributes=attributes)
    except Exception:
        spans.count_recording_failure()
        return None
    if span is trace.INVALID_SPAN or span is trace.get_current_span():
        return None  # a no-op tracer (no SDK): nothing new to make current
    try:
        ctx_token = context.attach(trace.set_span_in_context(span))
    except Exception:
        spans.count_recording_failure()
        _end(span)
        return None
    stage_token = spans.enter_stage(state.stage, span)
    if state.request_hook is not None:
        try:
            state.request_hook(span, instance, args, kwargs)
        except Exception:
            spans.count_recording_failure()
    return span, ctx_token, stage_token


def _end(span: Span) -> None:
    try:
        span.end()
    except Exception:
        spans.count_recording_failure()


def _finish(
    started: _Started, state: StageState, instance: Any, result: Any, exc: BaseException | None
) -> None:
    """Record the outcome, restore the context and end the span; never raises."""
    span, ctx_token, stage_token = started
    if exc is not None:
        spans.record_exception(span, exc)
    else:
        if state.result_deriver is not None:
            try:
                spans.set_attributes(span, state.result_deriver(result))
            except Exception:
                spans.count_recording_failure()
        if state.response_hook is not None:
            try:
                state.response_hook(span, instance, result)
            except Exception:
                spans.count_recording_failure()
    spans.exit_stage(stage_token)
    try:
        context.detach(ctx_token)
    except Exception:
        spans.count_recording_failure()
    _end(span)


def _passthrough(state: StageState) -> bool:
    return (
        not state.active
        or not is_instrumentation_enabled()
        or spans.active_stage_span(state.stage) is not None
    )


def _sync_wrapper(state: StageState) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if _passthrough(state):
            return wrapped(*args, **kwargs)
        started = _start(state, instance, args, kwargs)
        if started is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _finish(started, state, instance, None, exc)
            raise
        _finish(started, state, instance, result, None)
        return result

    return wrapper


def _async_wrapper(state: StageState) -> Callable[..., Any]:
    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if _passthrough(state):
            return await wrapped(*args, **kwargs)
        started = _start(state, instance, args, kwargs)
        if started is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            _finish(started, state, instance, None, exc)
            raise
        _finish(started, state, instance, result, None)
        return result

    return wrapper


class StageFunctionWrapper(_FunctionWrapper):
    """A callable wrapped as a stage span; ``stage_state`` says which stage."""

    def __init__(self, wrapped: Any, state: StageState) -> None:
        function = _function_of(wrapped)
        make = _async_wrapper if inspect.iscoroutinefunction(function) else _sync_wrapper
        super().__init__(wrapped, make(state))
        self._self_stage_state = state

    @property
    def stage_state(self) -> StageState:
        state: StageState = self._self_stage_state
        return state


def _function_of(obj: Any) -> Any:
    """The plain function behind a classmethod/staticmethod object (else ``obj``)."""
    if isinstance(obj, (classmethod, staticmethod)):
        return obj.__func__
    return obj


def qualified_name(obj: Any, fallback: str) -> str:
    """``module.Qual.name`` of the function behind ``obj`` (``fallback`` if it has none)."""
    function = _function_of(obj)
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        return f"{module}.{qualname}"
    return fallback


def unwrappable_reason(obj: Any) -> str | None:
    """Why ``obj`` cannot be wrapped as a stage (a class, a generator, not callable), or None."""
    function = _function_of(obj)
    if isinstance(obj, property):
        return "is a property; name a method or function instead"
    if inspect.isclass(function):
        return "is a class; name one of its methods instead (e.g. Class.run)"
    if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
        return (
            "is a generator function; its body runs while the caller iterates, so one stage "
            "span cannot cover it: name the function that consumes it instead"
        )
    if not callable(function):
        return f"is not callable (a {type(function).__name__})"
    return None


def wrap_stage(
    obj: Any,
    stage: str,
    *,
    function_name: str | None = None,
    request_hook: RequestHook | None = None,
    response_hook: ResponseHook | None = None,
    tracer: Tracer | None = None,
) -> StageFunctionWrapper:
    """Wrap a function, method, classmethod or staticmethod object as the stage ``stage``.

    ``tracer``: where its spans go (default: the project's tracer on the global provider).
    """
    state = StageState(
        stage,
        function_name or qualified_name(obj, repr(obj)),
        request_hook=request_hook,
        response_hook=response_hook,
        tracer=tracer,
    )
    return StageFunctionWrapper(obj, state)


def traced_stage(
    stage: str,
    *,
    request_hook: RequestHook | None = None,
    response_hook: ResponseHook | None = None,
) -> Callable[[F], F]:
    """Decorate a function or method so each call is the stage span ``stage``.

    ``@traced_stage("task_analyzer.analyze")`` makes the span a built-in stage would make
    (name and attributes); sync and async functions, methods, classmethods and staticmethods.
    A bad stage name or a generator function raises ``ValueError``/``TypeError`` at decoration.
    """
    problem = stage_name_problem(stage) if isinstance(stage, str) else "a stage must be a str"
    if problem is not None:
        raise ValueError(f"@traced_stage({stage!r}): {problem}")

    def decorate(func: F) -> F:
        reason = unwrappable_reason(func)
        if reason is not None:
            raise TypeError(f"@traced_stage({stage!r}) on {func!r}: it {reason}")
        wrapper = wrap_stage(func, stage, request_hook=request_hook, response_hook=response_hook)
        return cast(F, wrapper)

    return decorate
