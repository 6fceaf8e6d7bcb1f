"""The attributes a wrapped callable's stage span gets, derived generically (pure functions).

A wrapped third-party callable cannot call our API, so its span gets what can be read off the
call without knowing the code: the fully qualified function name (``code.function.name``) on
every stage, and for the project's known stages the same keys the built-in stages set,
read duck-typed from the arguments and the result (an enum gives its ``value``; anything that
is not a plain scalar is left out). Custom stages get the function name only.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sized
from typing import Any

from opentelemetry.util.types import AttributeValue

from mcp_agent_otel.tracing import semconv, spans

Attributes = dict[str, AttributeValue]
CallDeriver = Callable[[tuple[Any, ...], Mapping[str, Any]], Attributes]
ResultDeriver = Callable[[Any], Attributes]


def _scalar(value: Any) -> AttributeValue | None:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (bool, int, float, str)):
        return value
    return None


def _length(value: Any) -> int | None:
    if isinstance(value, Sized) and not isinstance(value, (str, bytes)):
        return len(value)
    return None


def _pick(
    obj: Any, keys: Mapping[str, str], lengths: Mapping[str, str] | None = None
) -> Attributes:
    """``{attribute key: scalar obj.field}`` and ``{attribute key: len(obj.field)}``."""
    attrs: Attributes = {}
    for key, field in keys.items():
        value = _scalar(getattr(obj, field, None))
        if value is not None:
            attrs[key] = value
    for key, field in (lengths or {}).items():
        length = _length(getattr(obj, field, None))
        if length is not None:
            attrs[key] = length
    return attrs


def static_attributes(stage: str, function_name: str) -> Attributes:
    """What every call of the wrapped function records, computed once when it is wrapped."""
    attrs: Attributes = {semconv.CODE_FUNCTION_NAME: function_name}
    if stage == semconv.SPAN_WORKFLOW:
        attrs[semconv.GEN_AI_OPERATION_NAME] = semconv.OP_INVOKE_WORKFLOW
        attrs[semconv.GEN_AI_WORKFLOW_NAME] = semconv.WORKFLOW_NAME
    return attrs


def _task_text(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Attributes:
    """The task's length (its text only with MCP_AGENT_OTEL_CAPTURE_CONTENT), as built-ins do."""
    text = kwargs.get("task")
    if not isinstance(text, str):
        text = next((a for a in args if isinstance(a, str)), None)
    return spans.content_attributes(text) if isinstance(text, str) else {}


def _execute_call(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Attributes:
    """The plan being executed (a Decision-like argument): its pattern and step count."""
    for arg in (*args, *kwargs.values()):
        if hasattr(arg, "pattern") and hasattr(arg, "steps"):
            return _pick(
                arg, {semconv.DECISION_PATTERN: "pattern"}, {semconv.DECISION_STEPS: "steps"}
            )
    return {}


def _analyze_result(result: Any) -> Attributes:
    return _pick(
        result,
        {
            semconv.TASK_TYPE: "task_type",
            semconv.TASK_COMPLEXITY: "complexity",
            semconv.TASK_CONFIDENCE: "confidence",
        },
        {semconv.TASK_SUBTASKS: "subtasks"},
    )


def _discover_result(result: Any) -> Attributes:
    count = _length(result)
    if count is None:
        count = _length(getattr(result, "tools", None))
    return {} if count is None else {semconv.TOOLS_COUNT: count}


def _decide_result(result: Any) -> Attributes:
    return _pick(
        result,
        {semconv.DECISION_PATTERN: "pattern", semconv.DECISION_CONFIDENCE: "confidence"},
        {semconv.DECISION_STEPS: "steps", semconv.DECISION_UNMATCHED: "unmatched"},
    )


def _workflow_result(result: Any) -> Attributes:
    attrs: Attributes = {}
    attrs.update(_pick(getattr(result, "analysis", None), {semconv.TASK_TYPE: "task_type"}))
    attrs.update(_pick(getattr(result, "decision", None), {semconv.DECISION_PATTERN: "pattern"}))
    failed = _length(getattr(result, "failed_steps", None))
    if failed is not None:
        attrs[semconv.WORKFLOW_FAILED_STEPS] = failed
        attrs[semconv.WORKFLOW_OK] = failed == 0
    return attrs


_CALL_DERIVERS: dict[str, CallDeriver] = {
    semconv.SPAN_WORKFLOW: _task_text,
    semconv.SPAN_ANALYZE: _task_text,
    semconv.SPAN_EXECUTE: _execute_call,
}
_RESULT_DERIVERS: dict[str, ResultDeriver] = {
    semconv.SPAN_WORKFLOW: _workflow_result,
    semconv.SPAN_ANALYZE: _analyze_result,
    semconv.SPAN_DISCOVER: _discover_result,
    semconv.SPAN_DECIDE: _decide_result,
}


def call_deriver(stage: str) -> CallDeriver | None:
    """The function reading a known stage's attributes off the call's arguments, if any."""
    return _CALL_DERIVERS.get(stage)


def result_deriver(stage: str) -> ResultDeriver | None:
    """The function reading a known stage's attributes off the call's result, if any."""
    return _RESULT_DERIVERS.get(stage)
