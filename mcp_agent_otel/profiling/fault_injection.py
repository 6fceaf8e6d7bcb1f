"""TEST-ONLY fault injection for the profiler: slow one pipeline stage down by a factor.

``MCP_AGENT_OTEL_FAULT_SLOWDOWN="<stage span name>=<factor>[,<stage>=<factor>...]"``, e.g.
``meta_coordinator.execute=1.25``, is read by the baseline profiler alone (never by the agent,
so it costs the production hot path nothing): it exists to prove that the CI gate catches a
regression. For each named stage the profiler wraps that component method of *its own* agent
instance with the project's stage wrapper (``instrumentation.stage_wrapper.wrap_stage``), which
opens the stage span first; the component's own ``stage_span`` then reuses that span, and when
the method returns, the wrapper's response hook busy-waits ``(factor - 1)`` times the measured
duration *inside the span*, so the span (and its workflow) lasts ``factor`` times as long.
The span carries ``mcp_agent.fault.slowdown=<factor>`` so a slowed trace says so.

A busy-wait, not a sleep: a sleep cannot be shorter than the event loop's timer resolution
(about 1 ms) plus a wake-up on a loaded machine, which on a 5 ms stage overshoots a 25%
slowdown several times over; the busy-wait ends within microseconds of its target. Like
slower CPU-bound code, it holds the event loop, so with ``--concurrency`` > 1 the other
workflows wait too.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.trace import Span

from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.errors import ConfigError
from mcp_agent_otel.instrumentation.stage_wrapper import qualified_name, wrap_stage
from mcp_agent_otel.tracing import semconv, spans

MAX_FACTOR = 100.0

# The stages a fault can slow: stage span name -> (the agent's component, method name).
_TARGETS: dict[str, Callable[[MetaCoordinator], tuple[Any, str]]] = {
    semconv.SPAN_WORKFLOW: lambda agent: (agent, "run"),
    semconv.SPAN_ANALYZE: lambda agent: (agent.analyzer, "analyze"),
    semconv.SPAN_DISCOVER: lambda agent: (agent.discovery, "discover"),
    semconv.SPAN_DECIDE: lambda agent: (agent.engine, "decide"),
    semconv.SPAN_EXECUTE: lambda agent: (agent, "_execute"),
}
SLOWABLE_STAGES: tuple[str, ...] = tuple(_TARGETS)


class FaultSettingError(ConfigError):
    """An unusable MCP_AGENT_OTEL_FAULT_SLOWDOWN value; the message says what to write."""


@dataclasses.dataclass(frozen=True)
class Slowdown:
    stage: str
    factor: float

    def __str__(self) -> str:
        return f"{self.stage}={self.factor:g}"


def parse_slowdowns(text: str) -> tuple[Slowdown, ...]:
    """``"stage=factor,..."`` -> slowdowns (pure). Empty text: none."""
    example = f"e.g. {semconv.ENV_FAULT_SLOWDOWN}={semconv.SPAN_EXECUTE}=1.25"
    stages = ", ".join(SLOWABLE_STAGES)
    out: dict[str, Slowdown] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        stage, sep, raw = item.rpartition("=")
        stage = stage.strip()
        if not sep or not stage:
            raise FaultSettingError(
                f"{semconv.ENV_FAULT_SLOWDOWN}: {item!r} is not <stage>=<factor> ({example})"
            )
        if stage not in _TARGETS:
            raise FaultSettingError(
                f"{semconv.ENV_FAULT_SLOWDOWN}: {stage!r} is not a stage the profiler can slow "
                f"down; use one of: {stages}"
            )
        try:
            factor = float(raw)
        except ValueError:
            factor = math.nan
        if not (math.isfinite(factor) and 1.0 <= factor <= MAX_FACTOR):
            raise FaultSettingError(
                f"{semconv.ENV_FAULT_SLOWDOWN}: the factor for {stage} must be a number from 1 "
                f"to {MAX_FACTOR:g} (1.25 = 25% slower), got {raw.strip()!r}"
            )
        if stage in out:
            raise FaultSettingError(f"{semconv.ENV_FAULT_SLOWDOWN}: {stage} is named twice")
        out[stage] = Slowdown(stage, factor)
    return tuple(out.values())


def slowdowns_from_env(environ: Mapping[str, str] | None = None) -> tuple[Slowdown, ...]:
    env = os.environ if environ is None else environ
    return parse_slowdowns(env.get(semconv.ENV_FAULT_SLOWDOWN, ""))


def _spin_until(deadline: float) -> None:
    while time.perf_counter() < deadline:
        pass


def _hooks(factor: float) -> tuple[Any, Any]:
    started: dict[int, float] = {}

    def request_hook(span: Span, instance: Any, args: Any, kwargs: Any) -> None:
        started[id(span)] = time.perf_counter()
        spans.set_attributes(span, {semconv.FAULT_SLOWDOWN: factor})

    def response_hook(span: Span, instance: Any, result: Any) -> None:
        begin = started.pop(id(span), None)
        if begin is not None:
            now = time.perf_counter()
            _spin_until(now + (factor - 1.0) * (now - begin))

    return request_hook, response_hook


def patch_instance(owner: Any, attribute: str, replacement: Any) -> Callable[[], None]:
    """Set ``attribute`` on this instance only; returns the undo (which puts back the
    instance's own value, or removes the override so the class's method shows again)."""
    had_own = attribute in vars(owner)
    original = getattr(owner, attribute)
    setattr(owner, attribute, replacement)

    def undo() -> None:
        if had_own:
            setattr(owner, attribute, original)
        else:
            delattr(owner, attribute)

    return undo


def install_slowdowns(
    agent: MetaCoordinator, slowdowns: tuple[Slowdown, ...]
) -> Callable[[], None]:
    """Wrap the named stages of ``agent`` (this instance only); returns the undo function."""
    undo: list[Callable[[], None]] = []
    for slowdown in slowdowns:
        owner, attribute = _TARGETS[slowdown.stage](agent)
        original = getattr(owner, attribute)
        request_hook, response_hook = _hooks(slowdown.factor)
        wrapped = wrap_stage(
            original,
            slowdown.stage,
            function_name=qualified_name(original, f"{type(owner).__qualname__}.{attribute}"),
            request_hook=request_hook,
            response_hook=response_hook,
        )
        undo.append(patch_instance(owner, attribute, wrapped))

    def undo_all() -> None:
        for restore in reversed(undo):
            restore()

    return undo_all
