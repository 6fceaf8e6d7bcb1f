"""DecisionEngine: which tool runs each subtask, with what arguments, in which pattern.

Three modules make a decision:

- ``ranking``: the BM25 index of the catalogue, the tools whose effect fits each subtask's
  intent, best first, and the choice (or an ``Unmatched`` saying why there is none);
- ``arguments``: the arguments of each call, from the input schema (a table of extractors
  per argument role), completed from the server's context;
- this module: the pure assembly (``choose_tools``, ``assemble_decision``,
  ``plan_decision``) and ``DecisionEngine``, the thin traced shell: the
  ``decision_engine.decide`` span, the index kept per catalogue, a memo of decisions (with
  the default planner a decision is a pure function of its inputs, so the same inputs are
  answered from it), and a pluggable ``ArgumentPlanner`` (an LLM, say) in place of the
  default schema planner.

A step is never planned with a tool whose effect does not fit its intent, nor with a required
argument missing: such subtasks are ``Unmatched`` with why and the closest tools, and the
coordinator runs none of the decision's steps.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from mcp_agent_otel.autonomous import effects, lexicon
from mcp_agent_otel.autonomous.argument_completion import (
    argument_fit,
    check_arguments,
    complete_arguments,
    piped_arguments,
    text_input_parameter,
)
from mcp_agent_otel.autonomous.arguments import (
    ArgumentPlanner,
    SchemaArgumentPlanner,
    plan_arguments,
)
from mcp_agent_otel.autonomous.models import (
    Decision,
    ExecutionPattern,
    JsonObject,
    StepPlan,
    Subtask,
    TaskAnalysis,
    ToolCategory,
    ToolInfo,
    Unmatched,
    canonical_json,
)
from mcp_agent_otel.autonomous.ranking import (
    CONFIDENCE_FLOOR,
    MAX_FALLBACKS,
    MIN_SCORE,
    ToolChoice,
    ToolIndex,
    build_index,
    choose,
    score_tools,
)
from mcp_agent_otel.tracing import semconv, spans

Contexts = Mapping[str, Sequence[str]]  # per server name, the directories it was configured with
Explicit = Mapping[int, Mapping[str, Any]]
ArgumentsByTool = Mapping[tuple[int, int], Mapping[str, Any]]


def _directories(contexts: Contexts | None, tool: ToolInfo) -> Sequence[str]:
    return (contexts or {}).get(tool.server, ())


def choose_tools(
    analysis: TaskAnalysis,
    index: ToolIndex,
    *,
    explicit: Explicit | None = None,
    contexts: Contexts | None = None,
    min_score: float = MIN_SCORE,
    floor: float = CONFIDENCE_FLOOR,
    max_fallbacks: int = MAX_FALLBACKS,
) -> tuple[tuple[ToolChoice, ...], tuple[Unmatched, ...]]:
    """Per subtask, in order, the tool and its fallbacks, or why there is none.

    A tool's argument fit counts what the text gives, what the server context gives and, for
    a step that refers to an earlier one, what that step was planned with.
    """
    explicit = explicit or {}
    choices: list[ToolChoice] = []
    unmatched: list[Unmatched] = []
    chosen_arguments: dict[int, dict[str, Any]] = {}
    for subtask in analysis.subtasks:
        given = explicit.get(subtask.index, {})
        upstream = [chosen_arguments[j] for j in subtask.depends_on if j in chosen_arguments]

        def fit(
            tool: ToolInfo, subtask: Subtask = subtask, given: Any = given, up: Any = upstream
        ) -> tuple[float, float, bool]:
            planned = plan_arguments(subtask, tool, given)
            completed, _ = complete_arguments(tool, planned, _directories(contexts, tool), up)
            return argument_fit(subtask, tool, completed)

        targets = [v for args in upstream for v in _path_values(args)]
        scored_as = subtask
        if targets and subtask.capabilities in ((), (ToolCategory.GENERAL,)):
            # "read it back": a step on an earlier step's file is a file step
            scored_as = dataclasses.replace(subtask, capabilities=(ToolCategory.FILE,))
        scored = score_tools(index, scored_as, targets)
        owners = _owning_servers(subtask.text, contexts)
        if owners:  # a path in one server's configured directory is that server's to work on
            scored = [
                c for c in scored if c.tool.server in owners or not _directories(contexts, c.tool)
            ]
        outcome = choose(
            subtask,
            scored,
            fit,
            min_score=min_score,
            floor=floor,
            max_fallbacks=max_fallbacks,
        )
        if isinstance(outcome, Unmatched):
            unmatched.append(outcome)
            continue
        choices.append(outcome)
        tool = outcome.candidates[0][0]
        chosen_arguments[subtask.index], _ = complete_arguments(
            tool, plan_arguments(subtask, tool, given), _directories(contexts, tool), upstream
        )
    return tuple(choices), tuple(unmatched)


def _within(path: str, directory: str) -> bool:
    base = directory.rstrip("/")
    return path == base or path.startswith(base + "/")


def _owning_servers(text: str, contexts: Contexts | None) -> frozenset[str]:
    """The servers whose configured directories hold an absolute path the text names (none
    when it names none, or none of them holds it)."""
    if not contexts or "/" not in text:
        return frozenset()
    paths = [m.group(0).rstrip("/.,;:!?") for m in lexicon.ABSOLUTE_DIRECTORY_RE.finditer(text)]
    return frozenset(
        server
        for server, directories in contexts.items()
        for path in paths
        if path.startswith("/") and any(_within(path, d) for d in directories)
    )


def _path_values(arguments: Mapping[str, Any]) -> list[str]:
    """The file paths among an earlier step's arguments: what "read it back" works on."""
    return [
        v
        for v in arguments.values()
        if isinstance(v, str) and ("/" in v or lexicon.find_paths(v) == [v])
    ]


def decision_pattern(analysis: TaskAnalysis, matched: Sequence[int]) -> ExecutionPattern:
    """The analysis's pattern, adjusted to the subtasks that found a tool.

    One step or none: direct. Parallel needs two matched steps that depend on no matched
    step; an orchestrator needs three matched steps. Otherwise the analysis's pattern stands.
    """
    if len(matched) <= 1:
        return ExecutionPattern.DIRECT
    kept = set(matched)
    depends = {s.index: set(s.depends_on) & kept for s in analysis.subtasks if s.index in kept}
    independent = sum(1 for d in depends.values() if not d)
    has_deps = any(depends.values())
    pattern = analysis.pattern
    if pattern is ExecutionPattern.ORCHESTRATOR and len(kept) < 3:
        pattern = ExecutionPattern.SEQUENTIAL if has_deps else ExecutionPattern.PARALLEL
    if pattern is ExecutionPattern.PARALLEL and independent < 2:
        return ExecutionPattern.SEQUENTIAL
    if pattern is ExecutionPattern.DIRECT:
        return ExecutionPattern.SEQUENTIAL
    return pattern


def decision_confidence(
    analysis: TaskAnalysis, confidences: Sequence[float], unmatched: int
) -> float:
    """Coverage (matched / all subtasks) times the steps' mean confidence, nudged by the
    analysis's own confidence; 0 when nothing matched."""
    if not confidences:
        return 0.0
    coverage = len(confidences) / (len(confidences) + unmatched)
    mean = sum(confidences) / len(confidences)
    return round(min(1.0, coverage * (0.85 * mean + 0.15 * analysis.confidence)), 4)


def assemble_decision(
    analysis: TaskAnalysis,
    choices: Sequence[ToolChoice],
    unmatched: Sequence[Unmatched],
    planned: ArgumentsByTool,
    contexts: Contexts | None = None,
) -> Decision:
    """The Decision. ``planned[(subtask index, candidate position)]`` holds the planner's
    arguments of each call (position 0 is the chosen tool, then its fallbacks in order); each
    is completed from the server context and the steps it depends on. A chosen tool with a
    required argument still missing makes the subtask Unmatched ("missing_argument"); a
    fallback with one is dropped. The text input of a step that depends on planned earlier
    steps is not missing: their output fills it at run time (``piped_arguments``)."""
    subtasks = {s.index: s for s in analysis.subtasks}
    final: dict[int, dict[str, Any]] = {}
    steps: list[StepPlan] = []
    missing_steps: list[Unmatched] = []
    for choice in sorted(choices, key=lambda c: c.subtask_index):
        i = choice.subtask_index
        upstream = [final[j] for j in subtasks[i].depends_on if j in final]
        attempts: list[tuple[ToolInfo, dict[str, Any]]] = []
        for k, (tool, _) in enumerate(choice.candidates):
            args, missing = complete_arguments(
                tool, planned.get((i, k), {}), _directories(contexts, tool), upstream
            )
            if upstream:
                piped = text_input_parameter(tool)
                missing = tuple(name for name in missing if name != piped)
            if not missing:
                attempts.append((tool, args))
            elif k == 0:
                missing_steps.append(_missing(i, subtasks[i].text, tool, missing, choice))
                break
        else:
            final[i] = attempts[0][1]
            steps.append(
                StepPlan(
                    subtask_index=i,
                    tool=attempts[0][0].ref,
                    arguments=canonical_json(attempts[0][1]),
                    confidence=choice.confidence,
                    fallbacks=tuple(tool.ref for tool, _ in attempts[1:]),
                    fallback_arguments=tuple(canonical_json(a) for _, a in attempts[1:]),
                    intent=choice.intent,
                    effect=choice.effect,
                )
            )
    refused = tuple(sorted((*unmatched, *missing_steps), key=lambda u: u.subtask_index))
    return Decision(
        pattern=decision_pattern(analysis, [s.subtask_index for s in steps]),
        confidence=decision_confidence(analysis, [s.confidence for s in steps], len(refused)),
        steps=tuple(steps),
        unmatched=refused,
    )


def _missing(
    index: int, text: str, tool: ToolInfo, missing: Sequence[str], choice: ToolChoice
) -> Unmatched:
    names = ", ".join(repr(m) for m in missing)
    return Unmatched(
        subtask_index=index,
        reason="missing_argument",
        message=(
            f"{tool.ref} needs {names}, which {text!r} does not give and the server's "
            f"configuration does not provide: say it in the task (e.g. a quoted value or a "
            f"name after 'called'), or pass it as an explicit argument"
        ),
        closest=tuple(t.ref for t, _ in choice.candidates),
    )


def plan_decision(
    analysis: TaskAnalysis,
    index: ToolIndex,
    arguments: Explicit | None = None,
    *,
    contexts: Contexts | None = None,
    min_score: float = MIN_SCORE,
    floor: float = CONFIDENCE_FLOOR,
    max_fallbacks: int = MAX_FALLBACKS,
) -> Decision:
    """The whole decision with the default argument planner: pure and synchronous."""
    explicit = check_arguments(analysis, arguments)
    choices, unmatched = choose_tools(
        analysis,
        index,
        explicit=explicit,
        contexts=contexts,
        min_score=min_score,
        floor=floor,
        max_fallbacks=max_fallbacks,
    )
    subtasks = {s.index: s for s in analysis.subtasks}
    planned = {
        (c.subtask_index, k): plan_arguments(
            subtasks[c.subtask_index], tool, explicit.get(c.subtask_index, {})
        )
        for c in choices
        for k, (tool, _) in enumerate(c.candidates)
    }
    return assemble_decision(analysis, choices, unmatched, planned, contexts)


def decision_attributes(decision: Decision, tools: Sequence[ToolInfo]) -> dict[str, AttributeValue]:
    """The span attributes of a decision: its shape, and per step (parallel arrays indexed
    like the steps) the tool, the subtask's intent, the tool's effect and its source."""
    by_ref = {t.ref: t for t in tools}
    sources = [
        effects.tool_effect(by_ref[s.tool])[1] if s.tool in by_ref else "" for s in decision.steps
    ]
    return {
        semconv.DECISION_PATTERN: decision.pattern.value,
        semconv.DECISION_CONFIDENCE: decision.confidence,
        semconv.DECISION_STEPS: len(decision.steps),
        semconv.DECISION_UNMATCHED: len(decision.unmatched),
        semconv.DECISION_STEP_TOOLS: tuple(str(s.tool) for s in decision.steps),
        semconv.DECISION_STEP_INTENTS: tuple(s.intent.value for s in decision.steps),
        semconv.DECISION_STEP_EFFECTS: tuple(s.effect.value for s in decision.steps),
        semconv.DECISION_STEP_EFFECT_SOURCES: tuple(sources),
        semconv.DECISION_UNMATCHED_REASONS: tuple(u.reason for u in decision.unmatched),
    }


# --- the memo of decisions ------------------------------------------------------------------------

# Decisions an engine remembers (the oldest is forgotten first); all are forgotten when the
# catalogue, the environment fingerprint, the server contexts or the engine's settings change.
MEMO_MAX_ENTRIES: Final = 512

# The decision and the decide span's attributes it is served with.
_Remembered = tuple[Decision, Mapping[str, AttributeValue]]


def frozen_value(value: Any) -> Hashable:
    """A JSON-like value as a hashable key that is equal only for values no step can tell
    apart: types count as well as contents (1 is not 1.0 nor True; a tuple is not a list).
    ``TypeError`` for anything else."""
    if value is None or isinstance(value, str | int | float):  # bool is an int: typed below
        return (type(value), value)
    if isinstance(value, Mapping):
        return (type(value), tuple(sorted((k, frozen_value(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (type(value), tuple(frozen_value(v) for v in value))
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def memo_key(analysis: TaskAnalysis, explicit: Mapping[int, Mapping[str, Any]]) -> Hashable | None:
    """The memo key of a decision within one catalogue and setting: the analysis and the
    (checked) explicit arguments; None when they cannot be a key (never for valid input)."""
    try:
        key = (analysis, frozen_value(dict(explicit)) if explicit else None)
        hash(key)
    except TypeError:
        return None
    return key


def _contexts_key(contexts: Contexts | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((name, tuple(dirs)) for name, dirs in (contexts or {}).items()))


# --- the traced shell -----------------------------------------------------------------------------


class DecisionEngine:
    """Decides inside a ``decision_engine.decide`` span; keeps the tool index per catalogue
    and, with the default planner, a memo of its decisions (``memo_hits`` counts its answers).
    """

    def __init__(
        self,
        planner: ArgumentPlanner | None = None,
        *,
        min_score: float = MIN_SCORE,
        floor: float = CONFIDENCE_FLOOR,
        max_fallbacks: int = MAX_FALLBACKS,
        memo: bool = True,
    ) -> None:
        """``memo=False``: decide every time, even inputs decided before."""
        self.planner: ArgumentPlanner = planner if planner is not None else SchemaArgumentPlanner()
        self.memo = memo
        self.min_score = min_score
        self.floor = floor
        self.max_fallbacks = max_fallbacks
        self._index_key: str | None = None
        self._index: ToolIndex | None = None
        self.index_builds = 0
        self._memo: dict[Hashable, _Remembered] = {}
        self._memo_scope: tuple[Any, ...] | None = None
        self._memo_tools: tuple[ToolInfo, ...] | None = None
        self.memo_hits = 0

    def index_for(self, tools: Sequence[ToolInfo], env_fingerprint: str) -> tuple[ToolIndex, bool]:
        """The index of ``tools``, rebuilt when the environment fingerprint or the catalogue
        changes (its tools compared by value: the same tuple again costs nothing)."""
        index = self._index
        if (
            index is None
            or env_fingerprint != self._index_key
            or not (tools is index.tools or tuple(tools) == index.tools)
        ):
            self._index = index = build_index(tools)
            self._index_key = env_fingerprint
            self.index_builds += 1
            return index, True
        return index, False

    def _memo_for(
        self, tools: Sequence[ToolInfo], env_fingerprint: str, contexts: Contexts | None
    ) -> dict[Hashable, _Remembered] | None:
        """The memo of decisions made on this catalogue, fingerprint, contexts and settings,
        emptied first when any of them changed; None with a planner other than the default
        (a planner may answer differently each time), or with the memo turned off."""
        if not self.memo or type(self.planner) is not SchemaArgumentPlanner:
            return None
        scope = (
            env_fingerprint,
            _contexts_key(contexts),
            self.min_score,
            self.floor,
            self.max_fallbacks,
        )
        known = self._memo_tools
        if scope != self._memo_scope or not (tools is known or tuple(tools) == known):
            self._memo.clear()
            self._memo_scope, self._memo_tools = scope, tuple(tools)
        return self._memo

    async def decide(
        self,
        analysis: TaskAnalysis,
        tools: Sequence[ToolInfo],
        env_fingerprint: str,
        explicit: Explicit | None = None,
        contexts: Contexts | None = None,
    ) -> Decision:
        """Choose a tool, arguments and fallbacks per subtask, and the execution pattern.

        ``explicit`` maps a subtask index to explicit tool arguments, which win over planned
        ones; ``contexts`` maps a server name to the directories it was configured with
        (relative paths and missing required directories are resolved against the first).
        Bad explicit arguments raise ``InvalidTaskError`` (span status ERROR).

        With the default planner, inputs decided before (the same analysis, explicit
        arguments, catalogue, fingerprint, contexts and settings) get that decision again,
        and the span the same attributes, with ``mcp_agent.decision.memo_hit`` true.
        """
        with spans.stage_span(semconv.SPAN_DECIDE, cpu_time=True) as span:
            checked = check_arguments(analysis, explicit)
            memo = self._memo_for(tools, env_fingerprint, contexts)
            key = memo_key(analysis, checked) if memo is not None else None
            if memo is not None and key is not None:
                remembered = memo.get(key)
                if remembered is not None:
                    self.memo_hits += 1
                    spans.set_attributes(span, remembered[1])
                    return remembered[0]
            index, built = self.index_for(tools, env_fingerprint)
            choices, unmatched = choose_tools(
                analysis,
                index,
                explicit=checked,
                contexts=contexts,
                min_score=self.min_score,
                floor=self.floor,
                max_fallbacks=self.max_fallbacks,
            )
            planned = await self._plan(analysis, choices, checked)
            decision = assemble_decision(analysis, choices, unmatched, planned, contexts)
            attributes = decision_attributes(decision, tools)
            attributes[semconv.DECISION_INDEX_BUILT] = built
            attributes[semconv.DECISION_MEMO_HIT] = False
            spans.set_attributes(span, attributes)
            if memo is not None and key is not None:
                if len(memo) >= MEMO_MAX_ENTRIES:
                    del memo[next(iter(memo))]
                served = {semconv.DECISION_INDEX_BUILT: False, semconv.DECISION_MEMO_HIT: True}
                memo[key] = (decision, {**attributes, **served})
            return decision

    async def _plan(
        self, analysis: TaskAnalysis, choices: Sequence[ToolChoice], explicit: Explicit
    ) -> dict[tuple[int, int], JsonObject]:
        subtasks = {s.index: s for s in analysis.subtasks}
        calls = [
            (c.subtask_index, k, subtasks[c.subtask_index], tool)
            for c in choices
            for k, (tool, _) in enumerate(c.candidates)
        ]
        if type(self.planner) is SchemaArgumentPlanner:  # pure: no need to schedule anything
            return {
                (i, k): plan_arguments(subtask, tool, explicit.get(i, {}))
                for i, k, subtask, tool in calls
            }
        results = await asyncio.gather(
            *(
                self.planner.plan(subtask, tool, explicit.get(i, {}))
                for i, _, subtask, tool in calls
            )
        )
        planned: dict[tuple[int, int], JsonObject] = {}
        for (i, k, _, tool), result in zip(calls, results, strict=True):
            if not isinstance(result, Mapping):
                raise TypeError(
                    f"argument planner {type(self.planner).__name__} returned "
                    f"{type(result).__name__} for {tool.ref}: it must return a dict of arguments"
                )
            merged = {**result, **explicit.get(i, {})}
            try:
                canonical_json(merged)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"argument planner {type(self.planner).__name__} planned arguments for "
                    f"{tool.ref} that are not JSON ({exc})"
                ) from None
            planned[(i, k)] = merged
        return planned


__all__ = [
    "MEMO_MAX_ENTRIES",
    "ArgumentPlanner",
    "DecisionEngine",
    "SchemaArgumentPlanner",
    "ToolIndex",
    "assemble_decision",
    "build_index",
    "choose_tools",
    "decision_attributes",
    "decision_confidence",
    "decision_pattern",
    "frozen_value",
    "memo_key",
    "piped_arguments",
    "plan_decision",
]
