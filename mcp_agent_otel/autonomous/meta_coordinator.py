"""MetaCoordinator: run one autonomous workflow — analyze → discover → decide → execute.

(The first workflow of a session discovers before it analyzes: the analysis cache is keyed on
the MCP environment, which is unknown until then.)

One ``invoke_workflow autonomous_task`` span per run, with one child span per stage and one
``execute_tool {tool}`` span per tool attempt (the MCP SDK's own CLIENT span nests beneath
it, and the server's SERVER span beneath that, across processes). A failed or timed-out
tool call never hangs or crashes the run: the next fallback tool is tried, and the result
says which steps failed and why.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import mcp.types as mcp_types

from mcp_agent_otel.autonomous.cache_hooks import EnvironmentChangeListener, OutcomeReporter
from mcp_agent_otel.autonomous.decision_engine import DecisionEngine, piped_arguments
from mcp_agent_otel.autonomous.effects import tool_effect
from mcp_agent_otel.autonomous.models import (
    Decision,
    Effect,
    ExecutionPattern,
    Intent,
    JsonObject,
    StepPlan,
    StepResult,
    StepStatus,
    Subtask,
    TaskAnalysis,
    ToolInfo,
    ToolRef,
    WorkflowResult,
)
from mcp_agent_otel.autonomous.server_config import (
    ServerSpec,
    load_servers_config,
    parse_servers_config,
)
from mcp_agent_otel.autonomous.task_analyzer import (
    AnalysisCacheProtocol,
    TaskAnalyzer,
    validate_task,
)
from mcp_agent_otel.autonomous.tool_discovery import ToolDiscovery
from mcp_agent_otel.tracing import semconv, spans

DEFAULT_CALL_TIMEOUT_S = 10.0
_CONCURRENT_PATTERNS = frozenset(
    {ExecutionPattern.PARALLEL, ExecutionPattern.ORCHESTRATOR, ExecutionPattern.SWARM}
)

ServersConfig = str | os.PathLike[str] | Mapping[str, Any] | Sequence[ServerSpec]
# Asked before a destructive step runs (a terminal prompt, say): True lets it run.
ConsentCallback = Callable[[StepPlan, Subtask | None], bool]


def needs_consent(plan: StepPlan) -> bool:
    """A step that deletes, or whose tool is destructive, runs only with the user's consent."""
    return plan.intent is Intent.DELETE or plan.effect is Effect.DESTRUCTIVE


def describe_call(plan: StepPlan) -> str:
    """``server/tool`` with its planned arguments, as the user would check them."""
    return f"{plan.tool} with {json.dumps(plan.argument_dict(), ensure_ascii=False)}"


def server_specs(config: ServersConfig) -> tuple[ServerSpec, ...]:
    """Server specs from a file path, an ``{"mcpServers": ...}`` mapping, or specs as they are."""
    if isinstance(config, str | os.PathLike):
        return load_servers_config(Path(config))
    if isinstance(config, Mapping):
        return parse_servers_config(dict(config))
    return tuple(config)


def tool_output(result: mcp_types.CallToolResult) -> str:
    """The text a tool returned: its text blocks, or its structured content as JSON."""
    texts = [block.text for block in result.content if isinstance(block, mcp_types.TextContent)]
    if texts:
        return "\n".join(texts)
    if result.structured_content is not None:
        return json.dumps(result.structured_content, sort_keys=True)
    return ""


def execution_waves(
    analysis: TaskAnalysis, runnable: Sequence[int], concurrent: bool
) -> list[list[int]]:
    """Group subtask indexes into waves: each wave only depends on earlier waves.

    Sequential patterns run one subtask per wave, in order.
    """
    if not concurrent:
        return [[i] for i in sorted(runnable)]
    depends = {s.index: set(s.depends_on) for s in analysis.subtasks}
    remaining, done, waves = sorted(runnable), set[int](), []
    pending_all = set(remaining)
    while remaining:
        wave = [i for i in remaining if not (depends.get(i, set()) & pending_all) - done]
        if not wave:  # a dependency cycle cannot happen from the analyzer; run in order anyway
            wave = remaining[:1]
        waves.append(wave)
        done.update(wave)
        remaining = [i for i in remaining if i not in done]
    return waves


class MetaCoordinator:
    """Runs tasks end to end over a ToolDiscovery's open MCP sessions.

    Async use: ``async with MetaCoordinator.from_config(path) as agent: await agent.run(task)``.
    Sync use: ``with MetaCoordinator.from_config(path) as agent: agent.run_sync(task)``.

    No analysis cache unless one is given: the application builds it and passes it in, e.g.
    ``MetaCoordinator.from_config(path, cache=mcp_agent_otel.cache_from_env())`` (what the CLI
    and the profiler do), or ``analyzer=TaskAnalyzer(cache=...)``. A cache that is also an
    ``EnvironmentChangeListener`` is registered with ``discovery`` (``tools/list_changed``
    invalidates cached analyses); one that is an ``OutcomeReporter`` is told how each run went
    (see ``cache_hooks``).
    """

    def __init__(
        self,
        discovery: ToolDiscovery,
        *,
        analyzer: TaskAnalyzer | None = None,
        engine: DecisionEngine | None = None,
        call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
        max_concurrency: int = 8,
        allow_destructive: bool = False,
        confirm: ConsentCallback | None = None,
    ) -> None:
        """``allow_destructive`` lets steps that delete run; otherwise ``confirm`` (if given) is
        asked for each, and without a yes the run stops before any call."""
        if call_timeout_s <= 0:
            raise ValueError("call_timeout_s must be a positive number of seconds")
        self.discovery = discovery
        self.analyzer = analyzer if analyzer is not None else TaskAnalyzer()
        cache = self.analyzer.cache
        if isinstance(cache, EnvironmentChangeListener):  # tools/list_changed invalidates
            discovery.add_listener(cache.on_environment_change)
        # Decided here, like the listener: a runtime Protocol check costs ~10 us a run.
        self._reporter = cache if isinstance(cache, OutcomeReporter) else None
        self.engine = engine if engine is not None else DecisionEngine()
        self.call_timeout_s = call_timeout_s
        self.allow_destructive = allow_destructive
        self.confirm = confirm
        self._semaphore = asyncio.Semaphore(max(1, max_concurrency))
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_config(
        cls,
        config: ServersConfig,
        *,
        cache: AnalysisCacheProtocol | None = None,
        analyzer: TaskAnalyzer | None = None,
        engine: DecisionEngine | None = None,
        call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
        allow_destructive: bool = False,
        confirm: ConsentCallback | None = None,
        discovery: Mapping[str, Any] | None = None,
    ) -> MetaCoordinator:
        """An agent over the servers ``config`` names.

        ``cache``: the analysis cache its ``TaskAnalyzer`` uses (None: no cache); the caller
        builds it, e.g. ``mcp_agent_otel.cache_from_env()``, and closes it after. Give
        either ``cache`` or an ``analyzer`` (which holds its own cache), not both.
        ``discovery``: keyword arguments for ``ToolDiscovery`` (e.g. ``server_stderr``).
        """
        if cache is not None and analyzer is not None:
            raise ValueError(
                "give either cache= or analyzer= (the analyzer holds its own cache), not both"
            )
        if analyzer is None and cache is not None:
            analyzer = TaskAnalyzer(cache=cache)
        return cls(
            ToolDiscovery(server_specs(config), **dict(discovery or {})),
            analyzer=analyzer,
            engine=engine,
            call_timeout_s=call_timeout_s,
            allow_destructive=allow_destructive,
            confirm=confirm,
        )

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> MetaCoordinator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.discovery.aclose()

    def __enter__(self) -> MetaCoordinator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_sync(
        self, task: str, *, arguments: Mapping[int, Mapping[str, Any]] | None = None
    ) -> WorkflowResult:
        """Run a task from synchronous code; sessions stay open until ``close()``."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(self.run(task, arguments=arguments))

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self.discovery.aclose())
            self._loop.close()
            self._loop = None

    # -- the workflow -------------------------------------------------------------------------

    async def run(
        self,
        task: str,
        *,
        arguments: Mapping[int, Mapping[str, Any]] | None = None,
        plan_only: bool = False,
    ) -> WorkflowResult:
        """Analyze, discover, decide and execute one task. Bad input raises ``InvalidTaskError``.

        ``arguments`` maps a subtask index to explicit tool arguments, which win over planned ones.
        ``plan_only``: stop after the decision and call nothing (the result has no steps).
        """
        started = time.perf_counter()
        with spans.stage_span(
            semconv.SPAN_WORKFLOW,
            {
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_WORKFLOW,
                semconv.GEN_AI_WORKFLOW_NAME: semconv.WORKFLOW_NAME,
                **spans.content_attributes(task),
            },
        ) as root:
            validate_task(task)  # bad input is refused before any server is started or called
            if self.discovery.fingerprint:
                analysis = self.analyzer.analyze(task, self.discovery.fingerprint)
                tools = await self.discovery.discover()
            else:  # the first run: the cache keys analyses on the environment, so learn it first
                tools = await self.discovery.discover()
                analysis = self.analyzer.analyze(task, self.discovery.fingerprint)
            fingerprint = self.discovery.fingerprint
            decision = await self.engine.decide(
                analysis, tools, fingerprint, arguments, contexts=self.discovery.contexts
            )
            if plan_only:
                spans.set_attributes(root, {semconv.DECISION_PLAN_ONLY: True})
            steps = () if plan_only else await self._execute(analysis, decision)
            result = WorkflowResult(
                task=task,
                analysis=analysis,
                decision=decision,
                steps=steps,
                env_fingerprint=fingerprint,
                duration_ms=(time.perf_counter() - started) * 1000,
                trace_id=spans.current_trace_id(),
            )
            failed = result.failed_steps
            if plan_only and decision.unmatched:
                failed = tuple(self._refused(decision, analysis))
            spans.set_attributes(
                root,
                {
                    semconv.TASK_TYPE: analysis.task_type.value,
                    semconv.DECISION_PATTERN: decision.pattern.value,
                    semconv.WORKFLOW_OK: not failed,
                    semconv.WORKFLOW_FAILED_STEPS: len(failed),
                },
            )
            if failed:
                spans.mark_error(root, _error_type(failed[0]), _failure_summary(failed))
            self._report_outcome(task, fingerprint, decision, ok=not failed)
            return result

    def _report_outcome(self, task: str, fingerprint: str, decision: Decision, *, ok: bool) -> None:
        """Let a cache drop an analysis whose plan had low confidence or failed."""
        if self._reporter is not None:
            self._reporter.report_outcome(task, fingerprint, decision.confidence, ok)

    async def _execute(self, analysis: TaskAnalysis, decision: Decision) -> tuple[StepResult, ...]:
        with spans.stage_span(
            semconv.SPAN_EXECUTE,
            {
                semconv.DECISION_PATTERN: decision.pattern.value,
                semconv.DECISION_STEPS: len(decision.steps),
            },
        ) as span:
            subtasks = {s.index: s for s in analysis.subtasks}
            catalogue = self.discovery.catalogue
            plans = {p.subtask_index: p for p in decision.steps}
            # A plan that cannot do all it was asked, or that would delete without consent, runs
            # nothing: a partial run could change what the user meant to change only as a whole.
            refused = self._refused(decision, analysis)
            results: dict[int, StepResult] = {r.subtask_index: r for r in refused}
            if refused:
                why = "; ".join(f"step {r.subtask_index}: {r.status.value}" for r in refused)
                for i in plans.keys() - results.keys():
                    results[i] = StepResult(
                        subtask_index=i,
                        status=StepStatus.SKIPPED,
                        tool=plans[i].tool,
                        error=f"not run: the run stopped before any call ({why})",
                    )
            concurrent = decision.pattern in _CONCURRENT_PATTERNS
            runnable = [] if refused else list(plans)
            for wave in execution_waves(analysis, runnable, concurrent):
                runs = [self._run_step(plans[i], subtasks.get(i), results, catalogue) for i in wave]
                # One step is awaited here: gather would wrap it in a Task of its own.
                outcomes = [await runs[0]] if len(runs) == 1 else await asyncio.gather(*runs)
                results.update((r.subtask_index, r) for r in outcomes)
            ordered = tuple(results[i] for i in sorted(results))
            failed = [r for r in ordered if r.status is not StepStatus.OK]
            if failed:
                spans.mark_error(span, _error_type(failed[0]), _failure_summary(failed))
            return ordered

    def _refused(self, decision: Decision, analysis: TaskAnalysis) -> list[StepResult]:
        """The steps that stop the run before any call: those the engine could not plan, and
        destructive ones the user did not consent to (asked through ``confirm``, in order)."""
        refused = [
            StepResult(subtask_index=u.subtask_index, status=StepStatus.UNMATCHED, error=u.message)
            for u in decision.unmatched
        ]
        if refused or self.allow_destructive:
            return refused
        subtasks = {s.index: s for s in analysis.subtasks}
        for plan in decision.steps:
            if not needs_consent(plan):
                continue
            if self.confirm is not None and self.confirm(plan, subtasks.get(plan.subtask_index)):
                continue
            refused.append(
                StepResult(
                    subtask_index=plan.subtask_index,
                    status=StepStatus.NEEDS_CONSENT,
                    tool=plan.tool,
                    error=(
                        f"not run: it would call {describe_call(plan)}, which "
                        f"{'deletes' if plan.intent is Intent.DELETE else 'is destructive'}; "
                        "pass --allow-destructive (allow_destructive=True) to allow it"
                    ),
                )
            )
        return refused

    async def _run_step(
        self,
        plan: StepPlan,
        subtask: Subtask | None,
        done: Mapping[int, StepResult],
        catalogue: Mapping[ToolRef, ToolInfo],
    ) -> StepResult:
        blocked = [
            d
            for d in (subtask.depends_on if subtask else ())
            if d in done and done[d].status is not StepStatus.OK
        ]
        if blocked:
            return StepResult(
                subtask_index=plan.subtask_index,
                status=StepStatus.SKIPPED,
                error=f"skipped: step(s) {blocked} it depends on did not succeed",
            )
        upstream = "\n\n".join(
            done[d].output for d in (subtask.depends_on if subtask else ()) if d in done
        )
        started = time.perf_counter()
        tried: list[ToolRef] = []
        status: StepStatus = StepStatus.ERROR
        error: str | None = "no attempt was made"
        async with self._semaphore:
            for attempt, (ref, planned) in enumerate(plan.attempts()):
                tried.append(ref)
                tool = catalogue.get(ref)
                # A step that works on an earlier step's output gets it as its text input.
                args = (
                    piped_arguments(subtask, tool, planned, upstream)
                    if subtask is not None and tool is not None and upstream
                    else planned
                )
                status, output, error = await self._attempt(plan, ref, tool, args, attempt)
                if status is StepStatus.OK:
                    return StepResult(
                        subtask_index=plan.subtask_index,
                        status=status,
                        tool=ref,
                        output=output,
                        duration_ms=(time.perf_counter() - started) * 1000,
                        attempts=tuple(tried),
                    )
        return StepResult(
            subtask_index=plan.subtask_index,
            status=status,
            tool=tried[-1] if tried else None,
            error=error,
            duration_ms=(time.perf_counter() - started) * 1000,
            attempts=tuple(tried),
        )

    async def _attempt(
        self, plan: StepPlan, ref: ToolRef, tool: ToolInfo | None, args: JsonObject, attempt: int
    ) -> tuple[StepStatus, str, str | None]:
        effect, source = tool_effect(tool) if tool is not None else (plan.effect, "")
        with spans.stage_span(
            semconv.execute_tool_span_name(ref.name),
            {
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
                semconv.GEN_AI_TOOL_NAME: ref.name,
                semconv.MCP_SERVER: ref.server,
                semconv.STEP_INDEX: plan.subtask_index,
                semconv.STEP_ATTEMPT: attempt,
                semconv.STEP_FALLBACK: attempt > 0,
                semconv.STEP_INTENT: plan.intent.value,
                semconv.TOOL_EFFECT: effect.value,
                semconv.TOOL_EFFECT_SOURCE: source or None,
                semconv.CONSENT: "given" if needs_consent(plan) else None,
            },
        ) as span:
            try:
                result = await self.discovery.call_tool(ref, args, timeout_s=self.call_timeout_s)
            except TimeoutError:
                message = f"{ref} did not answer within {self.call_timeout_s:g} s"
                spans.mark_error(span, semconv.ERROR_TIMEOUT, message)
                return StepStatus.TIMEOUT, "", message
            except Exception as exc:  # a failed call fails the step, never the run
                spans.record_exception(span, exc)
                return StepStatus.ERROR, "", f"{ref} failed: {type(exc).__name__}: {exc}"
            output = tool_output(result)
            if result.is_error:
                message = f"{ref} returned an error: {spans.shorten(output, 500)}"
                spans.mark_error(span, semconv.ERROR_TOOL, message)
                return StepStatus.ERROR, output, message
            spans.set_attribute(span, semconv.STEP_STATUS, StepStatus.OK.value)
            return StepStatus.OK, output, None


def _error_type(step: StepResult) -> str:
    return {
        StepStatus.TIMEOUT: semconv.ERROR_TIMEOUT,
        StepStatus.UNMATCHED: semconv.ERROR_NO_TOOL,
        StepStatus.NEEDS_CONSENT: semconv.ERROR_NEEDS_CONSENT,
        StepStatus.SKIPPED: "skipped",
    }.get(step.status, semconv.ERROR_TOOL)


def _failure_summary(failed: Sequence[StepResult]) -> str:
    return spans.shorten(
        "; ".join(f"step {s.subtask_index}: {s.error or s.status.value}" for s in failed), 1000
    )
