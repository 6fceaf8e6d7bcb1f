"""DecisionEngine over the real demo catalogue: ranking, planned arguments (accepted by the real
servers over stdio), explicit arguments, a custom planner, patterns, the index per environment,
properties, and the ``decision_engine.decide`` span."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mcp_agent_otel.autonomous.argument_completion import piped_arguments, text_input_parameter
from mcp_agent_otel.autonomous.arguments import SchemaArgumentPlanner, plan_arguments
from mcp_agent_otel.autonomous.decision_engine import (
    DecisionEngine,
    decision_pattern,
    plan_decision,
)
from mcp_agent_otel.autonomous.effects import eligible
from mcp_agent_otel.autonomous.errors import InvalidTaskError
from mcp_agent_otel.autonomous.lexicon import word_set
from mcp_agent_otel.autonomous.models import (
    Complexity,
    Decision,
    ExecutionPattern,
    Subtask,
    TaskAnalysis,
    TaskType,
    ToolCategory,
    ToolInfo,
)
from mcp_agent_otel.autonomous.ranking import ToolIndex, build_index, rank_tools, step_confidence
from mcp_agent_otel.autonomous.servers import DEMO_SERVER_NAMES, server_module
from mcp_agent_otel.autonomous.task_analyzer import analyze_task
from mcp_agent_otel.autonomous.tool_discovery import tool_info
from mcp_agent_otel.tracing import semconv

P = ExecutionPattern


def _server(name: str, home: Path) -> StdioServerParameters:
    env = {"MCP_AGENT_OTEL_HOME": str(home), "OTEL_SDK_DISABLED": "true"}
    return StdioServerParameters(command=sys.executable, args=["-m", server_module(name)], env=env)


async def _list_demo_tools(home: Path) -> list[ToolInfo]:
    async def list_one(name: str) -> list[ToolInfo]:
        async with Client(_server(name, home)) as client:
            listed = await client.list_tools()
        return [tool_info(name, tool) for tool in listed.tools]

    per_server = await asyncio.gather(*(list_one(name) for name in DEMO_SERVER_NAMES))
    return [tool for tools in per_server for tool in tools]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-home")


@pytest.fixture(scope="module")
def demo_tools(demo_home: Path) -> list[ToolInfo]:
    """The bundled demo servers' real catalogue, listed over stdio, mapped by categorize_tool."""
    return asyncio.run(_list_demo_tools(demo_home))


@pytest.fixture(scope="module")
def demo_index(demo_tools: list[ToolInfo]) -> ToolIndex:
    return build_index(demo_tools)


def test_demo_catalogue_categories(demo_tools: list[ToolInfo]) -> None:
    categories = {t.name: t.category for t in demo_tools}
    assert len(categories) >= 15
    expected = {
        "search_documents": ToolCategory.SEARCH,
        "get_document": ToolCategory.SEARCH,
        "define_term": ToolCategory.SEARCH,
        "summarize_text": ToolCategory.TEXT,
        "word_count": ToolCategory.TEXT,
        "change_case": ToolCategory.TEXT,
        "find_replace": ToolCategory.TEXT,
        "calculate": ToolCategory.MATH,
        "convert_units": ToolCategory.MATH,
        "compute_statistics": ToolCategory.DATA,
        "sort_numbers": ToolCategory.DATA,
        "filter_numbers": ToolCategory.DATA,
        "current_time": ToolCategory.TIME,
        "date_difference": ToolCategory.TIME,
        "read_file": ToolCategory.FILE,
        "write_file": ToolCategory.FILE,
        "list_directory": ToolCategory.FILE,
        "search_files": ToolCategory.FILE,
        "file_info": ToolCategory.FILE,
    }
    assert {name: categories.get(name) for name in expected} == expected


# subtask text -> (server/tool, planned arguments)
RANKING: list[tuple[str, str, dict[str, Any]]] = [
    (
        "Search the knowledge base for span kind",
        "knowledge/search_documents",
        {"query": "span kind"},
    ),
    ("Look up sampling", "knowledge/search_documents", {"query": "sampling"}),
    (
        "Research the history of distributed tracing",
        "knowledge/search_documents",
        {"query": "history of distributed tracing"},
    ),
    ("Define traceparent", "knowledge/define_term", {"term": "traceparent"}),
    ("Define the term span", "knowledge/define_term", {"term": "span"}),
    ("Get document 'otel-spans'", "knowledge/get_document", {"doc_id": "otel-spans"}),
    (
        "Summarize 'OpenTelemetry is a framework. It collects traces. It is vendor neutral. It "
        "has SDKs.' in 2 sentences",
        "text/summarize_text",
        {
            "max_sentences": 2,
            "text": "OpenTelemetry is a framework. It collects traces. It is vendor neutral. It "
            "has SDKs.",
        },
    ),
    ("Count the words in 'to be or not to be'", "text/word_count", {"text": "to be or not to be"}),
    (
        "Extract the top 5 keywords from 'the quick brown fox jumps over the lazy dog fox'",
        "text/extract_keywords",
        {"limit": 5, "text": "the quick brown fox jumps over the lazy dog fox"},
    ),
    (
        "Convert 'hello world' to uppercase",
        "text/change_case",
        {"case": "upper", "text": "hello world"},
    ),
    (
        "Change 'Hello World' to snake case",
        "text/change_case",
        {"case": "snake", "text": "Hello World"},
    ),
    (
        "Replace 'cat' with 'dog' in 'the cat sat on the mat'",
        "text/find_replace",
        {"find": "cat", "replace_with": "dog", "text": "the cat sat on the mat"},
    ),
    (
        "Analyze the sentiment of 'I love this great product'",
        "text/analyze_sentiment",
        {"text": "I love this great product"},
    ),
    ("Calculate (12 + 30) * 2", "mathdata/calculate", {"expression": "(12 + 30) * 2"}),
    ("What is 15 times 4?", "mathdata/calculate", {"expression": "15 * 4"}),
    ("What is the square root of 144?", "mathdata/calculate", {"expression": "sqrt(144)"}),
    ("Calculate the mean of 4, 8, 15", "mathdata/compute_statistics", {"numbers": [4, 8, 15]}),
    (
        "Compute statistics for 4, 8, 15, 16, 23, 42",
        "mathdata/compute_statistics",
        {"numbers": [4, 8, 15, 16, 23, 42]},
    ),
    (
        "Convert 10 km to miles",
        "mathdata/convert_units",
        {"from_unit": "km", "to_unit": "miles", "value": 10},
    ),
    (
        "Sort 5, 3, 9, 1 in descending order",
        "mathdata/sort_numbers",
        {"descending": True, "numbers": [5, 3, 9, 1]},
    ),
    (
        "Keep the numbers greater than 10 from 4, 8, 15, 16, 23, 42",
        "mathdata/filter_numbers",
        {"comparison": ">", "numbers": [4, 8, 15, 16, 23, 42], "threshold": 10},
    ),
    (
        "Keep numbers of at least 10 from 4, 8, 15, 16, 23, 42",
        "mathdata/filter_numbers",
        {"comparison": ">=", "numbers": [4, 8, 15, 16, 23, 42], "threshold": 10},
    ),
    ("What time is it in Europe/Paris?", "mathdata/current_time", {"timezone": "Europe/Paris"}),
    (
        "How many days between 2024-01-01 and 2024-03-01?",
        "mathdata/date_difference",
        {"start_date": "2024-01-01", "end_date": "2024-03-01"},
    ),
    ("Read reports/latency_ms.csv", "files/read_file", {"path": "reports/latency_ms.csv"}),
    (
        "Write 'hello' to out/greeting.txt",
        "files/write_file",
        {"content": "hello", "path": "out/greeting.txt"},
    ),
    (
        "Append 'one more line' to out/log.txt",
        "files/write_file",
        {"append": True, "content": "one more line", "path": "out/log.txt"},
    ),
    ("List the files in the reports folder", "files/list_directory", {"path": "reports"}),
    ("List the files in the sandbox", "files/list_directory", {}),
    (
        "Find csv files containing 'decide'",
        "files/search_files",
        {"contains": "decide", "pattern": "*.csv"},
    ),
    ("Get info about file README.txt", "files/file_info", {"path": "README.txt"}),
]


def _subtask(text: str) -> Subtask:
    (subtask,) = analyze_task(text).subtasks
    return subtask


@pytest.mark.parametrize(("text", "tool", "arguments"), RANKING)
def test_ranking_and_arguments(
    demo_index: ToolIndex, text: str, tool: str, arguments: dict[str, Any]
) -> None:
    analysis = analyze_task(text)
    decision = plan_decision(analysis, demo_index)
    (step,) = decision.steps
    assert str(step.tool) == tool
    assert step.argument_dict() == arguments
    assert 0.5 <= step.confidence <= 1.0
    assert decision.unmatched == ()
    ranked = rank_tools(demo_index, analysis.subtasks[0])
    assert all(0.0 < score < 1.0 for _, score in ranked)
    assert [score for _, score in ranked] == sorted((score for _, score in ranked), reverse=True)


async def test_planned_arguments_are_accepted_by_the_real_servers(
    demo_index: ToolIndex, demo_home: Path
) -> None:
    """Every planned call above, made over stdio to the real demo servers, succeeds."""
    async with AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(Client(_server(name, demo_home)))
            for name in DEMO_SERVER_NAMES
        }
        failures = []
        for text, _, _ in RANKING:
            (step,) = plan_decision(analyze_task(text), demo_index).steps
            result = await clients[step.tool.server].call_tool(step.tool.name, step.argument_dict())
            if result.is_error:
                failures.append((text, step.arguments, str(result.content)[:200]))
        assert failures == []


@pytest.mark.parametrize(
    "text",
    [
        "Send an email to Bob",  # no communication tool
        "Translate 'bonjour' to English",  # no translation tool: no other text tool stands in
        "Help me understand how photosynthesis works",
    ],
)
def test_nothing_relevant_is_unmatched(demo_index: ToolIndex, text: str) -> None:
    decision = plan_decision(analyze_task(text), demo_index)
    assert (decision.pattern, decision.confidence, decision.steps) == (P.DIRECT, 0.0, ())
    (unmatched,) = decision.unmatched
    assert (unmatched.subtask_index, unmatched.reason) == (0, "no_tool")
    assert unmatched.message.startswith(f"no tool fits {text!r}")


def test_fallbacks_are_ordered_relevant_alternatives(demo_index: ToolIndex) -> None:
    analysis = analyze_task("Get the numbers greater than 10 from 4, 8, 15, 16, 23, 42")
    (step,) = plan_decision(analysis, demo_index).steps
    assert str(step.tool) == "mathdata/filter_numbers"
    assert [str(f) for f in step.fallbacks] == [
        "mathdata/sort_numbers",
        "mathdata/compute_statistics",
    ]
    assert [json.loads(a) for a in step.fallback_arguments] == [
        {"numbers": [4, 8, 15, 16, 23, 42]},
        {"numbers": [4, 8, 15, 16, 23, 42]},
    ]
    attempts = step.attempts()
    assert [str(ref) for ref, _ in attempts] == [
        "mathdata/filter_numbers",
        "mathdata/sort_numbers",
        "mathdata/compute_statistics",
    ]
    (calc,) = plan_decision(analyze_task("Calculate the mean of 4, 8, 15"), demo_index).steps
    assert calc.fallbacks == ()  # calculate would get no expression: not a fallback


def test_a_whole_task(demo_index: ToolIndex) -> None:
    analysis = analyze_task(
        "Search for OpenTelemetry sampling, then summarize the results in 2 sentences."
    )
    decision = plan_decision(analysis, demo_index)
    assert decision.pattern is P.SEQUENTIAL
    assert [(str(s.tool), s.argument_dict()) for s in decision.steps] == [
        ("knowledge/search_documents", {"query": "OpenTelemetry sampling"}),
        (
            "text/summarize_text",
            {"max_sentences": 2, "text": "summarize the results in 2 sentences"},
        ),
    ]
    assert decision.confidence == pytest.approx(
        (sum(s.confidence for s in decision.steps) / 2) * 0.85 + 0.15 * analysis.confidence,
        abs=1e-4,
    )


def test_parallel_task(demo_index: ToolIndex) -> None:
    analysis = analyze_task(
        "Calculate the mean of 4, 8, 15 and count the words in 'to be or not to be'"
    )
    decision = plan_decision(analysis, demo_index)
    assert decision.pattern is P.PARALLEL
    assert [str(s.tool) for s in decision.steps] == [
        "mathdata/compute_statistics",
        "text/word_count",
    ]


def _analysis(pattern: ExecutionPattern, deps: list[tuple[int, ...]]) -> TaskAnalysis:
    return TaskAnalysis(
        task_type=TaskType.DATA_ANALYSIS,
        complexity=Complexity.COMPLEX,
        subtasks=tuple(
            Subtask(index=i, text=f"step {i}", capabilities=(ToolCategory.MATH,), depends_on=d)
            for i, d in enumerate(deps)
        ),
        estimated_steps=len(deps),
        pattern=pattern,
        confidence=0.9,
    )


@pytest.mark.parametrize(
    ("pattern", "deps", "matched", "expected"),
    [
        (P.PARALLEL, [(), (), ()], [0, 1, 2], P.PARALLEL),
        (P.PARALLEL, [(), (), ()], [1], P.DIRECT),
        (P.PARALLEL, [(), (0,), ()], [0, 1], P.SEQUENTIAL),  # one independent matched step
        (P.ORCHESTRATOR, [(), (), (0, 1)], [0, 1, 2], P.ORCHESTRATOR),
        (P.ORCHESTRATOR, [(), (), (0, 1)], [0, 1], P.PARALLEL),
        (P.ORCHESTRATOR, [(), (), (0, 1)], [0, 2], P.SEQUENTIAL),
        (P.SEQUENTIAL, [(), (0,)], [0, 1], P.SEQUENTIAL),
        (P.SEQUENTIAL, [(), (0,)], [], P.DIRECT),
        (P.EVALUATOR_OPTIMIZER, [(), (0,)], [0, 1], P.EVALUATOR_OPTIMIZER),
        (P.SWARM, [(), ()], [0, 1], P.SWARM),
    ],
)
def test_decision_pattern(
    pattern: ExecutionPattern,
    deps: list[tuple[int, ...]],
    matched: list[int],
    expected: ExecutionPattern,
) -> None:
    assert decision_pattern(_analysis(pattern, deps), matched) is expected


def test_step_confidence_bounds() -> None:
    assert step_confidence(1.0, 1.0, 1.0, 1.0) == 1.0
    assert step_confidence(0.0, 0.0, 0.0, 0.0) == 0.0
    assert step_confidence(0.8, 1.0, 0.0, 1.0) < step_confidence(0.8, 1.0, 0.5, 1.0)
    assert step_confidence(0.8, 1.0, 0.5, 0.0) == pytest.approx(
        0.75 * step_confidence(0.8, 1.0, 0.5, 1.0), abs=1e-4
    )
    assert step_confidence(5.0, 5.0, 5.0, 5.0) == 1.0


def test_largest_subtasks_are_planned(demo_index: ToolIndex) -> None:
    """Subtasks at the task size limit, full of numbers and quotes, are planned; pytest-timeout
    guards the time (cue words are looked for in a window, not in the whole prefix)."""
    numbers = "Compute statistics of " + "1, " * 6600
    (step,) = plan_decision(analyze_task(numbers), demo_index).steps
    assert str(step.tool) == "mathdata/compute_statistics"
    assert step.argument_dict() == {"numbers": [1] * 6600}
    kept = "Keep numbers greater than 3 from " + "1, " * 6600
    (step,) = plan_decision(analyze_task(kept), demo_index).steps
    assert step.argument_dict() == {"comparison": ">", "numbers": [1] * 6600, "threshold": 3}


def test_empty_catalogue() -> None:
    decision = plan_decision(
        analyze_task("Search for spans, then count the words"), build_index([])
    )
    assert (decision.pattern, decision.confidence, decision.steps) == (P.DIRECT, 0.0, ())
    assert decision.unmatched_indexes == (0, 1)
    assert {u.reason for u in decision.unmatched} == {"no_tool"}
    assert all(u.closest == () for u in decision.unmatched)


def test_piped_arguments_feed_an_earlier_output_to_a_dependent_step(
    demo_tools: list[ToolInfo], demo_index: ToolIndex
) -> None:
    tools = {t.name: t for t in demo_tools}
    assert text_input_parameter(tools["summarize_text"]) == "text"
    assert text_input_parameter(tools["write_file"]) == "content"
    assert text_input_parameter(tools["calculate"]) is None
    analysis = analyze_task("Search for sampling, then summarize the results in 2 sentences")
    search, summarize = plan_decision(analysis, demo_index).steps
    dependent = analysis.subtasks[1]
    piped = piped_arguments(
        dependent, tools["summarize_text"], summarize.argument_dict(), "Head sampling keeps..."
    )
    assert piped == {"max_sentences": 2, "text": "Head sampling keeps..."}
    own = analyze_task("Search for sampling, then summarize 'my own text'").subtasks[1]
    kept = {"text": "my own text"}
    assert piped_arguments(own, tools["summarize_text"], kept, "search output") == kept
    independent = analysis.subtasks[0]
    args = search.argument_dict()
    assert piped_arguments(independent, tools["search_documents"], args, "x") == args


def test_a_dependent_steps_text_input_is_left_to_the_earlier_output(
    demo_index: ToolIndex,
) -> None:
    """ "Write the summary to the file x" gives no content: the step it depends on does, at run
    time. It is planned (not refused as a missing argument), with the path and no content."""
    analysis = analyze_task(
        "Search for context propagation, then summarize the results, "
        "then write the summary to the file summary.txt"
    )
    decision = plan_decision(analysis, demo_index)
    assert decision.unmatched == ()
    *_, write = decision.steps
    assert str(write.tool) == "files/write_file"
    assert write.argument_dict() == {"path": "summary.txt"}
    # A write that depends on nothing still has to say what to write.
    alone = plan_decision(analyze_task("Write to the file summary.txt"), demo_index)
    assert [u.reason for u in alone.unmatched] == ["missing_argument"]


# --- explicit arguments and planners ------------------------------------------------------------


async def test_explicit_arguments_win(
    demo_tools: list[ToolInfo], spans: InMemorySpanExporter
) -> None:
    analysis = analyze_task("Search for sampling, then summarize the results in 2 sentences")
    decision = await DecisionEngine().decide(
        analysis,
        demo_tools,
        "env-1",
        {0: {"query": "head sampling", "limit": 2}, 1: {"text": "explicit text", "extra": [1]}},
    )
    first, second = decision.steps
    assert first.argument_dict() == {"query": "head sampling", "limit": 2}
    assert second.argument_dict() == {"max_sentences": 2, "text": "explicit text", "extra": [1]}
    for step, explicit in (
        (first, {"query": "head sampling"}),
        (second, {"text": "explicit text"}),
    ):
        for _, args in step.attempts():
            assert explicit.items() <= args.items()


def test_plan_arguments_explicit_only_fills_the_rest(demo_tools: list[ToolInfo]) -> None:
    convert = next(t for t in demo_tools if t.name == "convert_units")
    subtask = _subtask("Convert 10 km to miles")
    assert plan_arguments(subtask, convert, {"value": 3.5}) == {
        "value": 3.5,
        "from_unit": "km",
        "to_unit": "miles",
    }
    assert plan_arguments(subtask, convert, None) == {
        "value": 10,
        "from_unit": "km",
        "to_unit": "miles",
    }


class RecordingPlanner:
    """A user-supplied planner (as an LLM-backed one would be): records calls, tags its output."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str, dict[str, Any]]] = []

    async def plan(
        self, subtask: Subtask, tool: ToolInfo, explicit: Mapping[str, Any]
    ) -> dict[str, Any]:
        await asyncio.sleep(0)  # a real planner would await a model here
        self.calls.append((subtask.index, tool.name, dict(explicit)))
        return {"planned_by": "custom", "query": subtask.text.upper(), "text": subtask.text}


async def test_custom_planner_is_used(
    demo_tools: list[ToolInfo], spans: InMemorySpanExporter
) -> None:
    planner = RecordingPlanner()
    analysis = analyze_task("Search for sampling and count the words in 'a b c'")
    decision = await DecisionEngine(planner).decide(
        analysis, demo_tools, "env-1", {1: {"query": "x"}}
    )
    assert [str(s.tool) for s in decision.steps] == [
        "knowledge/search_documents",
        "text/word_count",
    ]
    assert decision.steps[0].argument_dict() == {
        "planned_by": "custom",
        "query": "SEARCH FOR SAMPLING",
        "text": "Search for sampling",
    }
    assert decision.steps[1].argument_dict() == {
        "planned_by": "custom",
        "query": "x",
        "text": "count the words in 'a b c'",
    }  # explicit wins
    planned = {(i, name) for i, name, _ in planner.calls}
    expected = {(0, "search_documents"), (1, "word_count")}
    expected |= {(i, f.name) for i, s in enumerate(decision.steps) for f in s.fallbacks}
    assert planned == expected
    assert all(explicit == ({"query": "x"} if i == 1 else {}) for i, _, explicit in planner.calls)


class BrokenPlanner:
    async def plan(
        self, subtask: Subtask, tool: ToolInfo, explicit: Mapping[str, Any]
    ) -> dict[str, Any]:
        return ["not", "a", "dict"]  # type: ignore[return-value]


async def test_a_planner_returning_garbage_is_reported(
    demo_tools: list[ToolInfo], spans: InMemorySpanExporter
) -> None:
    with pytest.raises(TypeError, match="argument planner BrokenPlanner returned list for"):
        await DecisionEngine(BrokenPlanner()).decide(analyze_task("Define span"), demo_tools, "e")
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})[semconv.ERROR_TYPE] == "TypeError"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {5: {"query": "x"}},
            "explicit arguments were given for subtask 5, but the task has subtasks \\[0\\]",
        ),
        ({"0": {"query": "x"}}, "explicit arguments were given for subtask '0'"),
        ({0: ["query"]}, "explicit arguments for subtask 0 must be an object with string keys"),
        ({0: {"when": object()}}, "explicit arguments for subtask 0 cannot be sent as JSON"),
    ],
)
async def test_bad_explicit_arguments(
    demo_tools: list[ToolInfo],
    spans: InMemorySpanExporter,
    arguments: dict[Any, Any],
    message: str,
) -> None:
    with pytest.raises(InvalidTaskError, match=message):
        await DecisionEngine().decide(analyze_task("Define span"), demo_tools, "env-1", arguments)
    (span,) = spans.get_finished_spans()
    assert span.name == semconv.SPAN_DECIDE
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {}) == {semconv.ERROR_TYPE: "InvalidTaskError"}
    assert [e.name for e in span.events] == ["exception"]


def test_default_planner_is_the_schema_planner() -> None:
    assert isinstance(DecisionEngine().planner, SchemaArgumentPlanner)


# --- the traced shell and the index per environment -----------------------------------------------


async def test_decide_span_and_index_reuse(
    demo_tools: list[ToolInfo], spans: InMemorySpanExporter
) -> None:
    engine = DecisionEngine()
    analysis = analyze_task("Search for sampling, then summarize the results")
    first = await engine.decide(analysis, demo_tools, "env-1")
    second = await engine.decide(analysis, demo_tools, "env-1")
    assert first == second
    assert engine.index_builds == 1
    await engine.decide(analysis, demo_tools[:-1], "env-2")  # a tool went away
    assert engine.index_builds == 2
    finished = spans.get_finished_spans()
    assert [s.name for s in finished] == [semconv.SPAN_DECIDE] * 3
    assert all(s.kind is SpanKind.INTERNAL for s in finished)
    assert all(s.status.status_code is StatusCode.UNSET for s in finished)
    cpu_ms = dict(finished[0].attributes or {})[semconv.CPU_TIME_MS]  # thread CPU time
    assert isinstance(cpu_ms, float)
    assert cpu_ms >= 0.0
    assert dict(finished[0].attributes or {}) == {
        semconv.CPU_TIME_MS: cpu_ms,
        semconv.DECISION_PATTERN: "sequential",
        semconv.DECISION_CONFIDENCE: first.confidence,
        semconv.DECISION_STEPS: 2,
        semconv.DECISION_UNMATCHED: 0,
        semconv.DECISION_INDEX_BUILT: True,
        semconv.DECISION_MEMO_HIT: False,
        semconv.DECISION_STEP_TOOLS: ("knowledge/search_documents", "text/summarize_text"),
        semconv.DECISION_STEP_INTENTS: ("read", "read"),
        semconv.DECISION_STEP_EFFECTS: ("read_only", "read_only"),
        semconv.DECISION_STEP_EFFECT_SOURCES: ("annotations", "annotations"),
        semconv.DECISION_UNMATCHED_REASONS: (),
    }
    assert [dict(s.attributes or {})[semconv.DECISION_INDEX_BUILT] for s in finished] == [
        True,
        False,
        True,
    ]


async def test_without_fingerprint_the_catalogue_decides(demo_tools: list[ToolInfo]) -> None:
    engine = DecisionEngine()
    analysis = analyze_task("Define span")
    await engine.decide(analysis, demo_tools, "")
    await engine.decide(analysis, list(demo_tools), "")
    assert engine.index_builds == 1
    await engine.decide(analysis, demo_tools[1:], "")
    assert engine.index_builds == 2


async def test_unmatched_span(demo_tools: list[ToolInfo], spans: InMemorySpanExporter) -> None:
    analysis = analyze_task("Define span and send an email to Bob")
    decision = await DecisionEngine().decide(analysis, demo_tools, "env-1")
    assert decision.unmatched_indexes == (1,)
    assert decision.unmatched[0].reason == "no_tool"
    assert [str(s.tool) for s in decision.steps] == ["knowledge/define_term"]
    assert decision.pattern is P.DIRECT
    (span,) = spans.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes[semconv.DECISION_UNMATCHED] == 1
    assert attributes[semconv.DECISION_UNMATCHED_REASONS] == ("no_tool",)
    assert attributes[semconv.DECISION_STEPS] == 1
    assert (
        span.status.status_code is StatusCode.UNSET
    )  # an unmatched step is a result, not an error


# --- properties -----------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    sorted(
        word_set(
            "search find read write summarize count calculate sort convert then and finally it "
            "them the results notes.txt reports/latency_ms.csv 'quoted text' 3 4.5 10 km miles , "
            ". ; ? greater than 2024-01-01 UTC uppercase define words keywords"
        )
    )
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    st.one_of(
        st.text(min_size=1, max_size=300), st.lists(_WORDS, min_size=1, max_size=30).map(" ".join)
    ).filter(lambda t: bool(t.strip()))
)
def test_decision_properties(demo_index: ToolIndex, task: str) -> None:
    analysis = analyze_task(task)
    decision = plan_decision(analysis, demo_index)
    assert plan_decision(analysis, demo_index) == decision
    assert 0.0 <= decision.confidence <= 1.0
    indexes = [s.subtask_index for s in decision.steps]
    assert sorted(indexes + list(decision.unmatched_indexes)) == [
        s.index for s in analysis.subtasks
    ]
    catalogue = {t.ref for t in demo_index.tools}
    for step in decision.steps:
        assert 0.0 <= step.confidence <= 1.0
        assert step.tool in catalogue
        assert set(step.fallbacks) <= catalogue
        assert step.tool not in step.fallbacks
        assert len(step.fallback_arguments) == len(step.fallbacks)
        assert eligible(step.intent, step.effect)  # a read never runs a tool that writes
        for _, args in step.attempts():
            assert isinstance(args, dict)
    assert Decision.from_json(decision.to_json()) == decision
