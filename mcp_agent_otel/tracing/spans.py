"""Stage span helpers: the one way components open spans and record errors.

Components use the OpenTelemetry API only. With no SDK installed the tracer is a no-op
and these helpers cost next to nothing. Tracing never breaks the traced call: a failure
while *recording* (an attribute hook, a broken exporter) is swallowed and counted, while an
exception raised by the traced code itself is recorded and re-raised unchanged.
"""

from __future__ import annotations

import contextvars
import os
import textwrap
import threading
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from types import TracebackType

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.trace import (
    INVALID_SPAN,
    Span,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    TracerProvider,
)
from opentelemetry.util.types import AttributeValue

from mcp_agent_otel._version import __version__
from mcp_agent_otel.env_flags import env_flag
from mcp_agent_otel.tracing import semconv

_lock = threading.Lock()
_tracer: Tracer = trace.get_tracer(semconv.TRACER_NAME, __version__)
_recording_failures = 0
# What ``opentelemetry.instrumentation.utils.suppress_instrumentation`` sets in the context: its
# key, and the plain-string key it sets too (the one ``is_instrumentation_enabled`` also reads).
_SUPPRESSED = (_SUPPRESS_INSTRUMENTATION_KEY, "suppress_instrumentation")
# The innermost stage span this module (or the instrumentation's wrappers) opened, by name.
_active_stage: contextvars.ContextVar[tuple[str, Span] | None] = contextvars.ContextVar(
    "mcp_agent_otel.active_stage", default=None
)


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Route the project's stage spans through ``provider`` (None: back to the global one).

    A process-wide switch for test and benchmark harnesses (the OTel API's global provider can
    be set only once per process). Nothing in the package calls it: the instrumentor gives its
    own tracer to what it wraps and leaves the built-in stage spans on the global provider.
    """
    global _tracer
    with _lock:
        _tracer = trace.get_tracer(semconv.TRACER_NAME, __version__, tracer_provider=provider)


def get_tracer() -> Tracer:
    return _current_tracer()


def _current_tracer() -> Tracer:
    """``_tracer``, taken from the global provider itself once one is installed.

    Obtained at import, before any provider is set, it is the API's proxy, which looks the
    provider up again on every span. The global provider can be set only once per process,
    so once it is, its own tracer is the same tracer without that step (~1 us a span).
    """
    global _tracer
    tracer = _tracer
    if type(tracer) is trace.ProxyTracer:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, trace.ProxyTracerProvider):
            with _lock:
                if _tracer is tracer:
                    _tracer = provider.get_tracer(semconv.TRACER_NAME, __version__)
                tracer = _tracer
    return tracer


def recording_failures() -> int:
    """How many times recording telemetry failed (and was swallowed) in this process."""
    return _recording_failures


def count_recording_failure() -> None:
    """Count one swallowed failure of the telemetry itself (see ``recording_failures``)."""
    global _recording_failures
    with _lock:
        _recording_failures += 1


def active_stage_span(name: str) -> Span | None:
    """The current span, if it is a stage span named ``name`` opened through this module.

    A stage directly inside the same stage (a ``@traced_stage`` function that also opens
    ``stage_span``, or a function instrumented twice) reuses that span instead of doubling it.
    """
    active = _active_stage.get()
    if active is not None and active[0] == name and trace.get_current_span() is active[1]:
        return active[1]
    return None


def enter_stage(name: str, span: Span) -> contextvars.Token[tuple[str, Span] | None]:
    """Mark ``span`` (already current) as the active stage ``name``; undo with ``exit_stage``."""
    return _active_stage.set((name, span))


def exit_stage(token: contextvars.Token[tuple[str, Span] | None]) -> None:
    try:
        _active_stage.reset(token)
    except Exception:  # a token from another context: nothing to undo here
        count_recording_failure()


def set_attributes(span: Span, attributes: Mapping[str, AttributeValue | None]) -> None:
    """Set attributes, skipping None values; never raises."""
    try:
        if not span.is_recording():  # nothing would be kept: build nothing
            return
        if None in attributes.values():
            attributes = {k: v for k, v in attributes.items() if v is not None}
        span.set_attributes(attributes)
    except Exception:  # tracing never breaks the traced call
        count_recording_failure()


def set_attribute(span: Span, key: str, value: AttributeValue) -> None:
    """Set one attribute; never raises. For a single value: the SDK's one-attribute path
    costs less than a mapping of one."""
    try:
        span.set_attribute(key, value)
    except Exception:  # tracing never breaks the traced call
        count_recording_failure()


def add_event(
    span: Span, name: str, attributes: Mapping[str, AttributeValue] | None = None
) -> None:
    try:
        span.add_event(name, attributes=dict(attributes or {}))
    except Exception:
        count_recording_failure()


def mark_error(span: Span, error_type: str, message: str | None = None) -> None:
    """Status ERROR with ``error.type``; for failures that are results, not exceptions."""
    try:
        span.set_attribute(semconv.ERROR_TYPE, error_type)
        span.set_status(Status(StatusCode.ERROR, message))
    except Exception:
        count_recording_failure()


def record_exception(span: Span, exc: BaseException) -> None:
    """Status ERROR, ``error.type`` = the exception's qualified class name, exception event."""
    try:
        span.record_exception(exc)
    except Exception:
        count_recording_failure()
    mark_error(span, type(exc).__qualname__, str(exc) or type(exc).__qualname__)


def stage_span(
    name: str,
    attributes: Mapping[str, AttributeValue | None] | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    cpu_time: bool = False,
) -> AbstractContextManager[Span]:
    """Open a current span for one stage; an exception escaping the block marks it ERROR.

    Inside ``suppress_instrumentation()`` no span is opened (a non-recording span is yielded).
    Directly inside a stage span of the same name (see ``active_stage_span``) that span is
    reused and receives ``attributes``, so one stage never appears twice.

    ``cpu_time=True`` records the thread CPU time the block used as ``mcp_agent.cpu_time_ms``
    (for stages whose work is synchronous: whatever other tasks run while the block awaits is
    counted too, so it is exact when one workflow runs at a time, as the profiler does).
    """
    return _StageSpan(name, attributes, kind, cpu_time)


class _StageSpan:
    """``stage_span``'s context manager: the span started, made current and ended directly,
    without the SDK's two generator-based context managers (``start_as_current_span`` and
    ``use_span``), so a stage span costs no more than a bare SDK span."""

    __slots__ = (
        "_attributes",
        "_cpu_started",
        "_cpu_time",
        "_kind",
        "_name",
        "_outer",
        "_span",
        "_stage_token",
        "_token",
    )

    def __init__(
        self,
        name: str,
        attributes: Mapping[str, AttributeValue | None] | None,
        kind: SpanKind,
        cpu_time: bool,
    ) -> None:
        self._name = name
        self._attributes = attributes
        self._kind = kind
        self._cpu_time = cpu_time
        self._cpu_started: int | None = None
        self._span: Span | None = None
        self._outer: Span | None = None  # a reused stage span, to add the CPU time to

    def __enter__(self) -> Span:
        # The current context is read once: the suppression keys (what
        # ``is_instrumentation_enabled`` reads), the parent span and the stage it may be are
        # all taken from it, and the new span's context is made from it.
        ctx = otel_context.get_current()
        if ctx.get(_SUPPRESSED[0]) or ctx.get(_SUPPRESSED[1]):
            return INVALID_SPAN
        name, attributes = self._name, self._attributes
        active = _active_stage.get()
        outer = (
            active[1]
            if active is not None and active[0] == name and trace.get_current_span(ctx) is active[1]
            else None
        )
        if outer is not None:
            if attributes:
                set_attributes(outer, attributes)
            if self._cpu_time and outer.is_recording():
                self._outer, self._cpu_started = outer, time.thread_time_ns()
            return outer
        if attributes and None in attributes.values():
            attributes = {k: v for k, v in attributes.items() if v is not None}
        # Reading a thread's CPU clock is a system call (no vDSO), and on a loaded machine a
        # system call is where the scheduler preempts: both readings are made outside the span's
        # own interval (before it starts; after its end time is taken), so CPU time never adds a
        # preemption point to the wall-clock duration.
        self._cpu_started = time.thread_time_ns() if self._cpu_time else None
        try:
            span = _current_tracer().start_span(
                name, context=ctx, kind=self._kind, attributes=attributes
            )
            if span is INVALID_SPAN:  # the no-op tracer (no SDK): nothing to make current
                return span
            self._token = otel_context.attach(trace.set_span_in_context(span, ctx))
        except Exception:  # tracing never breaks the traced call
            count_recording_failure()
            return INVALID_SPAN
        self._stage_token = _active_stage.set((name, span))
        self._span = span
        return span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span = self._span
        if span is None:
            if self._outer is not None and exc is None:  # a reused stage: add this block's CPU
                self._record_cpu(self._outer)
            self._outer = None
            return
        self._span = None
        ended = time.time_ns()
        if exc is not None:
            record_exception(span, exc)
        elif self._cpu_time:  # a failed stage keeps only its error attributes
            self._record_cpu(span)
        exit_stage(self._stage_token)
        try:
            otel_context.detach(self._token)
            span.end(end_time=ended)
        except Exception:
            count_recording_failure()

    def _record_cpu(self, span: Span) -> None:
        if self._cpu_started is not None and span.is_recording():
            cpu_ms = (time.thread_time_ns() - self._cpu_started) / 1e6
            set_attribute(span, semconv.CPU_TIME_MS, cpu_ms)


def capture_content() -> bool:
    """Whether the user opted in to recording task text (MCP_AGENT_OTEL_CAPTURE_CONTENT)."""
    return env_flag(os.environ.get(semconv.ENV_CAPTURE_CONTENT))


def content_attributes(text: str) -> dict[str, AttributeValue]:
    """The task's length always; its text (truncated) only when the user opted in."""
    attrs: dict[str, AttributeValue] = {semconv.TASK_LENGTH: len(text)}
    if capture_content():
        attrs[semconv.TASK_TEXT] = text[: semconv.CONTENT_MAX_CHARS]
    return attrs


def shorten(text: str, width: int) -> str:
    """``text`` on one line, cut at a word boundary (marked "…") when over ``width``: status
    descriptions, error texts and printed details never end mid-word."""
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" …")


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


__all__ = [
    "active_stage_span",
    "add_event",
    "capture_content",
    "content_attributes",
    "count_recording_failure",
    "current_trace_id",
    "enter_stage",
    "exit_stage",
    "get_tracer",
    "mark_error",
    "record_exception",
    "recording_failures",
    "set_attribute",
    "set_attributes",
    "shorten",
    "stage_span",
    "use_tracer_provider",
]
