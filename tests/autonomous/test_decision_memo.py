"""The decision engine's memo: the same inputs get the same decision without deciding again;
any changed input (catalogue, fingerprint, server contexts, explicit arguments, settings,
planner) gets a fresh one, equal to what the pure ``plan_decision`` makes of the new inputs.

Over the 50 tools of five third-party servers (tests/autonomous/real_catalogue.py), and end to
end over a real stdio server whose tool list changes (``tools/list_changed``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.autonomous import decision_engine
from mcp_agent_otel.autonomous.arguments import SchemaArgumentPlanner, plan_arguments
from mcp_agent_otel.autonomous.decision_engine import (
    DecisionEngine,
    frozen_value,
    memo_key,
    plan_decision,
)
from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.autonomous.models import Decision, Subtask, ToolInfo, ToolRef
from mcp_agent_otel.autonomous.ranking import build_index
from mcp_agent_otel.autonomous.server_config import parse_servers_config
from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer, analyze_task
from mcp_agent_otel.autonomous.tool_discovery import ToolDiscovery
from mcp_agent_otel.tracing import semconv
from tests.autonomous.fixtures import FAULTY_SERVER
from tests.autonomous.real_catalogue import CONTEXTS, REPO, SANDBOX, real_tools

READ = "Read the file notes.txt"
SEARCH = "Search for files named report"


def _decide_attributes(spans: InMemorySpanExporter) -> list[dict[str, Any]]:
    return [
        dict(s.attributes or {})
        for s in spans.get_finished_spans()
        if s.name == semconv.SPAN_DECIDE
    ]


def _without(attributes: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if k not in keys}


async def _decide(
    engine: DecisionEngine,
    task: str,
    tools: tuple[ToolInfo, ...] = real_tools(),
    contexts: Mapping[str, tuple[str, ...]] | None = CONTEXTS,
    explicit: Mapping[int, Mapping[str, Any]] | None = None,
    fingerprint: str = "real",
) -> Decision:
    return await engine.decide(analyze_task(task), tools, fingerprint, explicit, contexts=contexts)


def _fresh(
    task: str,
    tools: tuple[ToolInfo, ...] = real_tools(),
    contexts: Mapping[str, tuple[str, ...]] | None = CONTEXTS,
    explicit: Mapping[int, Mapping[str, Any]] | None = None,
) -> Decision:
    return plan_decision(analyze_task(task), build_index(tools), explicit, contexts=contexts)


async def test_same_inputs_same_decision_and_span_attributes(
    spans: InMemorySpanExporter,
) -> None:
    engine = DecisionEngine()
    await _decide(engine, SEARCH)  # builds the index: both decisions below find it built
    first = await _decide(engine, READ)
    again = await _decide(engine, READ)  # an equal analysis, made anew
    assert first == again == _fresh(READ)
    assert again is first  # served from the memo, not decided again
    assert engine.memo_hits == 1
    assert engine.index_builds == 1
    _, miss, hit = _decide_attributes(spans)
    assert miss[semconv.DECISION_MEMO_HIT] is False
    assert hit[semconv.DECISION_MEMO_HIT] is True
    # Identical apart from the memo flag (and the CPU time each call took).
    ignored = (semconv.DECISION_MEMO_HIT, semconv.CPU_TIME_MS)
    assert _without(hit, *ignored) == _without(miss, *ignored)
    assert miss[semconv.DECISION_STEP_TOOLS] == ("filesystem/read_text_file",)
    assert miss[semconv.DECISION_INDEX_BUILT] is False


async def test_the_first_decision_reports_the_index_built_and_the_memo_not(
    spans: InMemorySpanExporter,
) -> None:
    engine = DecisionEngine()
    await _decide(engine, READ)
    await _decide(engine, READ)
    miss, hit = _decide_attributes(spans)
    assert (miss[semconv.DECISION_INDEX_BUILT], miss[semconv.DECISION_MEMO_HIT]) == (True, False)
    assert (hit[semconv.DECISION_INDEX_BUILT], hit[semconv.DECISION_MEMO_HIT]) == (False, True)


async def test_a_changed_catalogue_gets_a_fresh_decision(spans: InMemorySpanExporter) -> None:
    engine = DecisionEngine()
    tools = real_tools()
    first = await _decide(engine, READ, tools)
    assert str(first.steps[0].tool) == "filesystem/read_text_file"
    # The chosen tool is gone, under the same fingerprint (as a caller may pass it).
    fewer = tuple(t for t in tools if t.ref != first.steps[0].tool)
    second = await _decide(engine, READ, fewer)
    assert second == _fresh(READ, fewer)
    assert second.steps[0].tool != first.steps[0].tool
    # The tool is back, but now says it is destructive: same names and schemas, so the same
    # environment fingerprint, yet the effect (and so the decision) differs.
    reading = next(t for t in tools if t.ref == first.steps[0].tool)
    destructive = dataclasses.replace(reading, annotations='{"destructiveHint":true}')
    changed = tuple(destructive if t is reading else t for t in tools)
    third = await _decide(engine, READ, changed)
    assert third == _fresh(READ, changed)
    assert third != first
    assert engine.memo_hits == 0
    assert [a[semconv.DECISION_MEMO_HIT] for a in _decide_attributes(spans)] == [False] * 3
    # Back to the first catalogue (an equal tuple, not the same object): decided anew, equal.
    assert await _decide(engine, READ, tuple(tools)) == first
    assert engine.memo_hits == 0


async def test_a_changed_fingerprint_gets_a_fresh_decision() -> None:
    engine = DecisionEngine()
    first = await _decide(engine, READ, fingerprint="env-1")
    second = await _decide(engine, READ, fingerprint="env-2")
    assert second == first
    assert second is not first
    assert engine.memo_hits == 0
    assert await _decide(engine, READ, fingerprint="env-2") is second
    assert engine.memo_hits == 1


async def test_changed_contexts_get_a_fresh_decision() -> None:
    engine = DecisionEngine()
    first = await _decide(engine, READ)
    assert first.steps[0].argument_dict() == {"path": f"{SANDBOX}/notes.txt"}
    moved = {"filesystem": ("/data/elsewhere",), "git": (REPO,)}
    second = await _decide(engine, READ, contexts=moved)
    assert second == _fresh(READ, contexts=moved)
    assert second.steps[0].argument_dict() == {"path": "/data/elsewhere/notes.txt"}
    # The contexts given as another mapping with equal contents: the memo answers.
    again = await _decide(engine, READ, contexts={"git": [REPO], "filesystem": ["/data/elsewhere"]})
    assert again is second
    assert engine.memo_hits == 1


async def test_changed_explicit_arguments_get_a_fresh_decision() -> None:
    engine = DecisionEngine()
    planned = await _decide(engine, READ)
    explicit = {0: {"path": "/srv/agent/sandbox/other.txt"}}
    given = await _decide(engine, READ, explicit=explicit)
    assert given == _fresh(READ, explicit=explicit)
    assert given.steps[0].argument_dict()["path"] == "/srv/agent/sandbox/other.txt"
    assert given != planned
    assert await _decide(engine, READ, explicit={0: {"path": "/srv/agent/sandbox/other.txt"}}) == (
        given
    )
    assert engine.memo_hits == 1
    assert await _decide(engine, READ, explicit={}) is planned  # no arguments, as at first
    assert engine.memo_hits == 2


def test_memo_keys_tell_apart_what_steps_can() -> None:
    analysis = analyze_task(READ)
    assert memo_key(analysis, {0: {"n": 1}}) == memo_key(analysis, {0: {"n": 1}})
    for a, b in [(1, 1.0), (1, True), ([1], (1,)), ({"a": 1}, [("a", 1)]), ("1", 1)]:
        assert frozen_value(a) != frozen_value(b), (a, b)
        assert memo_key(analysis, {0: {"n": a}}) != memo_key(analysis, {0: {"n": b}})
    assert memo_key(analysis, {}) == memo_key(analysis, {}) != memo_key(analysis, {0: {}})
    assert memo_key(analyze_task(SEARCH), {}) != memo_key(analysis, {})
    with pytest.raises(TypeError, match="object is not a JSON value"):
        frozen_value(object())
    assert memo_key(analysis, {0: {"n": object()}}) is None


async def test_changed_settings_get_a_fresh_decision() -> None:
    engine = DecisionEngine()
    first = await _decide(engine, READ)
    engine.max_fallbacks = 0
    fewer = await _decide(engine, READ)
    assert fewer.steps[0].fallbacks == ()
    assert first.steps[0].fallbacks != ()
    engine.max_fallbacks = decision_engine.MAX_FALLBACKS
    assert await _decide(engine, READ) == first
    assert engine.memo_hits == 0


class CountingPlanner(SchemaArgumentPlanner):
    """The schema planner, counting its calls: a planner of its own is never memoized."""

    def __init__(self) -> None:
        self.calls = 0

    async def plan(
        self, subtask: Subtask, tool: ToolInfo, explicit: Mapping[str, Any]
    ) -> dict[str, Any]:
        self.calls += 1
        return plan_arguments(subtask, tool, explicit)


async def test_a_planner_of_its_own_is_asked_every_time(spans: InMemorySpanExporter) -> None:
    planner = CountingPlanner()
    engine = DecisionEngine(planner)
    first = await _decide(engine, READ)
    calls = planner.calls
    assert calls > 0
    assert await _decide(engine, READ) == first
    assert planner.calls == 2 * calls
    assert engine.memo_hits == 0
    assert [a[semconv.DECISION_MEMO_HIT] for a in _decide_attributes(spans)] == [False, False]


async def test_with_the_memo_off_every_decision_is_made_anew(
    spans: InMemorySpanExporter,
) -> None:
    engine = DecisionEngine(memo=False)
    first = await _decide(engine, READ)
    again = await _decide(engine, READ)
    assert again == first
    assert again is not first
    assert engine.memo_hits == 0
    assert [a[semconv.DECISION_MEMO_HIT] for a in _decide_attributes(spans)] == [False, False]


async def test_the_memo_forgets_the_oldest_beyond_its_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(decision_engine, "MEMO_MAX_ENTRIES", 2)
    engine = DecisionEngine()
    tasks = [READ, SEARCH, "Show the git log"]
    decided = [await _decide(engine, task) for task in tasks]
    assert await _decide(engine, tasks[2]) is decided[2]
    assert await _decide(engine, tasks[1]) is decided[1]
    assert engine.memo_hits == 2
    assert await _decide(engine, tasks[0]) == decided[0]  # forgotten: decided again
    assert engine.memo_hits == 2


async def test_an_unhashable_analysis_is_decided_without_the_memo() -> None:
    engine = DecisionEngine()
    analysis = analyze_task(READ)
    odd = dataclasses.replace(analysis, keywords=list(analysis.keywords))  # type: ignore[arg-type]
    assert memo_key(odd, {}) is None
    first = await engine.decide(odd, real_tools(), "real", contexts=CONTEXTS)
    assert first == await engine.decide(odd, real_tools(), "real", contexts=CONTEXTS)
    assert engine.memo_hits == 0


FAULTY = {"mcpServers": {"faulty": {"command": sys.executable, "args": [str(FAULTY_SERVER)]}}}


async def test_a_tool_list_change_on_a_real_server_gets_a_fresh_decision(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    """The server removes the tool the decision chose and announces it (tools/list_changed):
    the next run decides anew on the new catalogue instead of calling a tool that is gone."""
    discovery = ToolDiscovery(
        parse_servers_config(FAULTY), environ={"MCP_AGENT_OTEL_HOME": str(tmp_path)}
    )
    task = 'Echo the text "hello"'
    async with MetaCoordinator(discovery, analyzer=TaskAnalyzer()) as meta:
        first = await meta.run(task)
        second = await meta.run(task)
        assert first.ok
        assert second.decision is first.decision
        assert [str(s.tool) for s in first.decision.steps] == ["faulty/echo"]
        before = discovery.fingerprint
        await discovery.call_tool(ToolRef("faulty", "remove_tool"), {"name": "echo"}, timeout_s=5)
        for _ in range(100):  # the notification arrives asynchronously
            if discovery.fingerprint != before:
                break
            await asyncio.sleep(0.05)
        assert discovery.fingerprint != before
        third = await meta.run(task)
        expected = plan_decision(
            third.analysis, build_index(discovery.tools), contexts=discovery.contexts
        )
    assert "faulty/echo" not in [str(s.tool) for s in third.decision.steps]
    assert third.decision == expected
    hits = [a[semconv.DECISION_MEMO_HIT] for a in _decide_attributes(spans)]
    assert hits == [False, True, False]
