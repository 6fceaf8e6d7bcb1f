"""End-to-end workflows over the real demo MCP servers (stdio), with exact span trees.

The agent's spans come from the session's in-memory exporter; the servers' spans come from
the OTLP-JSON spans file the server processes append to (they flush when the agent closes
their stdin), so the cross-process parent/child link is checked on real exported data.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mcp_agent_otel.autonomous.decision_engine import DecisionEngine
from mcp_agent_otel.autonomous.errors import InvalidTaskError
from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.autonomous.models import (
    Decision,
    ExecutionPattern,
    StepPlan,
    StepStatus,
    TaskAnalysis,
    ToolInfo,
    ToolRef,
    canonical_json,
)
from mcp_agent_otel.autonomous.server_config import parse_servers_config
from mcp_agent_otel.autonomous.servers import demo_servers_config
from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer
from mcp_agent_otel.autonomous.tool_discovery import ToolDiscovery
from mcp_agent_otel.caching.cache_manager import cache_from_env
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.tree import SpanNode, span_tree
from tests.autonomous.fixtures import FAULTY_SERVER

DEMO = tuple(demo_servers_config()["mcpServers"])


def _only_root(spans: Sequence[ReadableSpan]) -> SpanNode:
    roots = [
        r
        for r in span_tree(spans)
        if r.span.name == semconv.SPAN_WORKFLOW  # the session-long listen spans are roots too
    ]
    assert len(roots) == 1, [r.span.name for r in roots]
    return roots[0]


def _names(nodes: Sequence[SpanNode]) -> list[str]:
    return [n.span.name for n in nodes]


def _child(node: SpanNode, name: str) -> SpanNode:
    (found,) = [c for c in node.children if c.span.name == name]
    return found


def _server_spans(home: Path) -> list[dict[str, Any]]:
    """Every span in the spans file, flattened, with its service name."""
    out: list[dict[str, Any]] = []
    path = home / "spans.jsonl"
    for line in path.read_text().splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
            service = attrs["service.name"]["stringValue"]
            for ss in rs["scopeSpans"]:
                out += [dict(s, service=service) for s in ss["spans"]]
    return out


def _agent(home: Path, servers: Mapping[str, Any] | None = None, **kw: Any) -> MetaCoordinator:
    """An agent as the CLI assembles it: with the analysis cache the environment configures."""
    config = servers or demo_servers_config()
    kw.setdefault("analyzer", TaskAnalyzer(cache=cache_from_env()))
    discovery = ToolDiscovery(
        parse_servers_config(config), environ={"MCP_AGENT_OTEL_HOME": str(home)}
    )
    return MetaCoordinator(discovery, **kw)


async def test_exact_span_tree_of_a_real_workflow_across_processes(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    home = tmp_path / "agent-home"
    task = "Calculate 17 * (3 + 4) / 2"
    async with _agent(home) as agent:
        result = await agent.run(task)
        catalogue = agent.discovery.tools
        first_run = spans.get_finished_spans()
        spans.clear()
        again = await agent.run(task)
        second_run = spans.get_finished_spans()
    assert len(catalogue) >= 15
    assert result.ok, result.steps
    (step,) = result.steps
    assert step.tool == ToolRef("mathdata", "calculate")
    assert "59.5" in step.output

    root = _only_root(first_run)
    assert root.span.parent is None
    assert root.span.kind is SpanKind.INTERNAL
    assert root.span.status.status_code is StatusCode.UNSET
    attrs = dict(root.span.attributes or {})
    assert attrs[semconv.GEN_AI_OPERATION_NAME] == "invoke_workflow"
    assert attrs[semconv.WORKFLOW_OK] is True
    assert semconv.TASK_TEXT not in attrs  # no content capture without the opt-in
    assert format(root.span.context.trace_id, "032x") == result.trace_id
    # The first run of a session learns the environment before analysing (the cache keys on it).
    assert _names(root.children) == [
        semconv.SPAN_DISCOVER,
        semconv.SPAN_ANALYZE,
        semconv.SPAN_DECIDE,
        semconv.SPAN_EXECUTE,
    ]
    for stage in root.children:
        assert stage.span.kind is SpanKind.INTERNAL
        assert stage.span.status.status_code is StatusCode.UNSET

    analyze = dict(root.children[1].span.attributes or {})
    assert analyze[semconv.TASK_TYPE] == result.analysis.task_type.value
    assert analyze[semconv.TASK_COMPLEXITY] == result.analysis.complexity.value
    assert analyze[semconv.CACHE_HIT] is False
    assert analyze[semconv.CACHE_RESULT] == "miss"

    discover = root.children[0]
    assert dict(discover.span.attributes or {}) == {
        semconv.TOOLS_COUNT: len(catalogue),
        semconv.SERVERS_COUNT: 4,
        semconv.SERVERS_FAILED: 0,
        semconv.ENV_FINGERPRINT: result.env_fingerprint,
        semconv.DISCOVERY_LISTED: 4,
    }
    assert sorted(_names(discover.children)) == sorted(
        semconv.list_tools_span_name(s) for s in DEMO
    )
    for list_tools in discover.children:
        sdk = list_tools.children
        assert all(c.span.kind is SpanKind.CLIENT for c in sdk)
        assert "MCP send tools/list" in _names(sdk)

    decide = dict(root.children[2].span.attributes or {})
    assert decide[semconv.DECISION_PATTERN] == ExecutionPattern.DIRECT.value
    assert 0.0 < float(decide[semconv.DECISION_CONFIDENCE]) <= 1.0  # type: ignore[arg-type]

    execute = root.children[3]
    (tool_span,) = execute.children
    assert tool_span.span.name == "execute_tool calculate"
    assert dict(tool_span.span.attributes or {}) == {
        semconv.GEN_AI_OPERATION_NAME: "execute_tool",
        semconv.GEN_AI_TOOL_NAME: "calculate",
        semconv.MCP_SERVER: "mathdata",
        semconv.STEP_INDEX: 0,
        semconv.STEP_ATTEMPT: 0,
        semconv.STEP_FALLBACK: False,
        semconv.STEP_STATUS: "ok",
        semconv.STEP_INTENT: "read",
        semconv.TOOL_EFFECT: "read_only",
        semconv.TOOL_EFFECT_SOURCE: "annotations",  # the bundled servers annotate their tools
    }
    (client,) = tool_span.children
    assert client.span.name == "MCP send tools/call calculate"
    assert client.span.kind is SpanKind.CLIENT
    # No duplicate MCP span: the SDK's client span is the only tools/call span in the agent.
    calls = [
        s for s in first_run if (s.attributes or {}).get(semconv.MCP_METHOD_NAME) == "tools/call"
    ]
    assert calls == [client.span]

    # Steady state: analyze (a cache hit now) -> discover (served from the open sessions,
    # nothing listed again) -> decide -> execute; the same answer.
    assert again.ok
    assert again.steps[0].output == step.output
    steady = _only_root(second_run)
    assert _names(steady.children) == [
        semconv.SPAN_ANALYZE,
        semconv.SPAN_DISCOVER,
        semconv.SPAN_DECIDE,
        semconv.SPAN_EXECUTE,
    ]
    hit = dict(steady.children[0].span.attributes or {})
    assert hit[semconv.CACHE_HIT] is True
    assert hit[semconv.CACHE_RESULT] == "hit"
    assert steady.children[1].children == []
    assert (steady.children[1].span.attributes or {})[semconv.DISCOVERY_LISTED] == 0

    # The server process's SERVER span is the child of the agent's CLIENT span.
    server_side = [
        s
        for s in _server_spans(home)
        if s["name"] == "tools/call calculate" and s["traceId"] == result.trace_id
    ]
    assert len(server_side) == 1
    (server_span,) = server_side
    assert server_span["service"] == "mcp-agent-otel-server-mathdata"
    assert server_span["kind"] == 2  # SPAN_KIND_SERVER
    assert server_span["traceId"] == result.trace_id
    assert server_span["parentSpanId"] == format(client.span.context.span_id, "016x")


async def test_sequential_steps_run_in_order_and_content_opt_in(
    spans: InMemorySpanExporter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_AGENT_OTEL_CAPTURE_CONTENT", "true")
    task = 'Write the text "hello traces" to the file notes.txt, then read the file notes.txt'
    async with _agent(tmp_path / "home") as agent:
        result = await agent.run(task)
    assert result.ok, result.steps
    assert [s.tool.name if s.tool else None for s in result.steps] == ["write_file", "read_file"]
    assert "hello traces" in result.steps[1].output
    root = _only_root(spans.get_finished_spans())
    assert (root.span.attributes or {})[semconv.TASK_TEXT] == task[: semconv.CONTENT_MAX_CHARS]
    execute = _child(root, semconv.SPAN_EXECUTE)
    assert _names(execute.children) == ["execute_tool write_file", "execute_tool read_file"]
    first, second = execute.children
    assert first.span.end_time is not None
    assert second.span.start_time is not None
    assert first.span.end_time <= second.span.start_time


class PinnedEngine(DecisionEngine):
    """The real engine's interface with a fixed plan, so each failure path hits one known tool."""

    def __init__(self, plan: StepPlan) -> None:
        super().__init__()
        self.plan = plan

    async def decide(
        self,
        analysis: TaskAnalysis,
        tools: Sequence[ToolInfo],
        env_fingerprint: str,
        arguments: Mapping[int, Mapping[str, Any]] | None = None,
        contexts: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Decision:
        return Decision(ExecutionPattern.DIRECT, 0.9, (self.plan,))


FAULTY = {
    "mcpServers": {
        "faulty": {"command": sys.executable, "args": [str(FAULTY_SERVER)], "telemetry": True}
    }
}


def _plan(
    tool: str, args: Mapping[str, Any], *fallbacks: tuple[str, Mapping[str, Any]]
) -> StepPlan:
    return StepPlan(
        subtask_index=0,
        tool=ToolRef("faulty", tool),
        arguments=canonical_json(dict(args)),
        confidence=0.9,
        fallbacks=tuple(ToolRef("faulty", name) for name, _ in fallbacks),
        fallback_arguments=tuple(canonical_json(dict(a)) for _, a in fallbacks),
    )


async def test_tool_error_result_is_an_error_and_the_fallback_answers(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    engine = PinnedEngine(_plan("fail", {"message": "boom"}, ("echo", {"text": "rescued"})))
    async with _agent(tmp_path / "h", FAULTY, engine=engine) as agent:
        result = await agent.run("Echo something")
    (step,) = result.steps
    assert step.status is StepStatus.OK
    assert step.output == "rescued"
    assert step.attempts == (ToolRef("faulty", "fail"), ToolRef("faulty", "echo"))
    root = _only_root(spans.get_finished_spans())
    failed, rescued = _child(root, semconv.SPAN_EXECUTE).children
    assert failed.span.name == "execute_tool fail"
    assert failed.span.status.status_code is StatusCode.ERROR
    assert (failed.span.attributes or {})[semconv.ERROR_TYPE] == semconv.ERROR_TOOL
    assert rescued.span.name == "execute_tool echo"
    assert (rescued.span.attributes or {})[semconv.STEP_FALLBACK] is True
    assert rescued.span.status.status_code is StatusCode.UNSET
    assert root.span.status.status_code is StatusCode.UNSET  # the workflow succeeded


async def test_failed_step_says_why_and_marks_the_trace(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    engine = PinnedEngine(_plan("fail", {"message": "disk on fire"}))
    async with _agent(tmp_path / "h", FAULTY, engine=engine) as agent:
        result = await agent.run("Echo something")
    assert not result.ok
    (step,) = result.failed_steps
    assert step.status is StepStatus.ERROR
    assert step.error is not None
    assert "disk on fire" in step.error
    root = _only_root(spans.get_finished_spans())
    assert root.span.status.status_code is StatusCode.ERROR
    assert (root.span.attributes or {})[semconv.ERROR_TYPE] == semconv.ERROR_TOOL
    assert (root.span.attributes or {})[semconv.WORKFLOW_FAILED_STEPS] == 1


async def test_a_tool_that_sleeps_past_the_timeout_does_not_hang_the_run(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    engine = PinnedEngine(_plan("sleep", {"seconds": 30}))
    async with _agent(tmp_path / "h", FAULTY, engine=engine, call_timeout_s=0.5) as agent:
        result = await agent.run("Echo something")
        (step,) = result.steps
        assert step.status is StepStatus.TIMEOUT
        assert step.duration_ms < 5000
        # The session survives a timed-out call: the next call on it answers.
        agent.engine = PinnedEngine(_plan("echo", {"text": "still here"}))
        again = await agent.run("Echo something")
    assert again.ok
    assert again.steps[0].output == "still here"
    (root, _) = [
        r for r in span_tree(spans.get_finished_spans()) if r.span.name == semconv.SPAN_WORKFLOW
    ]
    (tool_span,) = _child(root, semconv.SPAN_EXECUTE).children
    assert (tool_span.span.attributes or {})[semconv.ERROR_TYPE] == semconv.ERROR_TIMEOUT


async def test_a_server_that_crashes_mid_call_fails_the_step_and_is_restarted(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    engine = PinnedEngine(_plan("crash", {}))
    async with _agent(tmp_path / "h", FAULTY, engine=engine, call_timeout_s=10) as agent:
        crashed = await agent.run("Echo something")
        (step,) = crashed.steps
        assert step.status is StepStatus.ERROR
        assert step.duration_ms < 9000  # the closed pipe ends the call, not the timeout
        agent.engine = PinnedEngine(_plan("echo", {"text": "back"}))
        recovered = await agent.run("Echo something")
    assert recovered.ok
    assert recovered.steps[0].output == "back"


async def test_a_server_that_cannot_start_is_reported_and_the_others_work(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    config = demo_servers_config()
    config["mcpServers"]["ghost"] = {"command": str(tmp_path / "no-such-server")}
    async with _agent(tmp_path / "h", config) as agent:
        result = await agent.run("Calculate 6 * 7")
        failure = agent.discovery.server_failure("ghost")
    assert result.ok
    assert "42" in result.steps[0].output
    assert failure is not None
    assert "command not found" in failure
    root = _only_root(spans.get_finished_spans())
    discover = _child(root, semconv.SPAN_DISCOVER)
    assert (discover.span.attributes or {})[semconv.SERVERS_FAILED] == 1
    assert discover.span.status.status_code is StatusCode.UNSET  # the others answered
    ghost = _child(discover, semconv.list_tools_span_name("ghost"))
    assert ghost.span.status.status_code is StatusCode.ERROR
    (event,) = ghost.span.events
    assert event.name == semconv.EVENT_SERVER_FAILED
    assert "command not found" in str((event.attributes or {})["exception.message"])


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_server_that_hangs_at_start_is_reported_and_its_process_ended(
    tmp_path: Path,
) -> None:
    """A server that never answers ``initialize``: each failed attempt's process is ended at
    once (not left running until the session closes), and retries do not pile them up."""
    import asyncio

    pids = tmp_path / "pids"
    hang = "import os, sys, time; open(sys.argv[1], 'a').write(f'{os.getpid()}\\n'); time.sleep(60)"
    config = {
        "mcpServers": {
            "hung": {
                "command": sys.executable,
                "args": ["-I", "-S", "-c", hang, str(pids)],
                "timeout": 1,
            },
        }
    }
    discovery = ToolDiscovery(
        parse_servers_config(config),
        environ={"MCP_AGENT_OTEL_HOME": str(tmp_path)},
        retry_after_s=0,
    )
    async with discovery:
        for _ in range(2):  # the second discovery retries the failed server
            assert await discovery.discover() == ()
            assert discovery.server_failure("hung") == "no answer within 1 s"
        started = [int(line) for line in pids.read_text().split()]
        assert len(started) == 2
        for _ in range(100):  # ending a process is asynchronous
            if not any(_running(pid) for pid in started):
                break
            await asyncio.sleep(0.05)
        assert [pid for pid in started if _running(pid)] == []


@pytest.mark.parametrize(
    ("task", "message"),
    [("", "empty"), ("   \n\t ", "empty"), ("x" * 1_000_000, "1,000,000 characters")],
    ids=["empty", "whitespace", "1MB"],
)
async def test_bad_tasks_get_a_clear_error_and_an_error_span(
    spans: InMemorySpanExporter, tmp_path: Path, task: str, message: str
) -> None:
    async with _agent(tmp_path / "h") as agent:
        with pytest.raises(InvalidTaskError, match=message):
            await agent.run(task)
    root = _only_root(spans.get_finished_spans())
    assert root.span.status.status_code is StatusCode.ERROR
    assert (root.span.attributes or {})[semconv.ERROR_TYPE] == "InvalidTaskError"
    assert [e.name for e in root.span.events] == ["exception"]
    assert root.children == []  # refused before any stage ran or any server started
    assert agent.discovery.tools == ()


async def test_tool_list_changes_update_the_fingerprint_and_notify(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    import asyncio

    changes: list[tuple[str, str]] = []
    discovery = ToolDiscovery(
        parse_servers_config(FAULTY), environ={"MCP_AGENT_OTEL_HOME": str(tmp_path)}
    )

    def listener(old: str, new: str) -> None:
        changes.append((old, new))

    discovery.add_listener(listener)
    discovery.add_listener(listener)  # subscribing twice still hears each change once
    async with discovery:
        before = {t.name for t in await discovery.discover()}
        first = discovery.fingerprint
        await discovery.call_tool(ToolRef("faulty", "add_tool"), {"name": "brand_new"}, timeout_s=5)
        for _ in range(100):  # the change arrives asynchronously
            if changes:
                break
            await asyncio.sleep(0.05)
        after = {t.name for t in await discovery.discover()}
    assert after - before == {"brand_new"}
    assert changes == [(first, discovery.fingerprint)]
    assert first != discovery.fingerprint


async def test_a_dependent_step_works_on_the_output_of_the_step_before(tmp_path: Path) -> None:
    task = "Search the knowledge base for context propagation, then summarize the results"
    async with _agent(tmp_path / "h") as agent:
        result = await agent.run(task)
    assert result.ok, result.steps
    search, summary = result.steps
    assert search.tool == ToolRef("knowledge", "search_documents")
    assert summary.tool == ToolRef("text", "summarize_text")
    assert result.analysis.subtasks[1].depends_on == (0,)
    # The summary is of what the search returned, not of the words "summarize the results".
    assert "total_matches" in search.output
    assert "total_matches" in summary.output


def test_the_sync_convenience_keeps_sessions_open_between_runs(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    with _agent(tmp_path / "h") as agent:
        first = agent.run_sync("Calculate 6 * 7")
        spans.clear()
        second = agent.run_sync("Convert 42 kilometers to miles")
        second_run = spans.get_finished_spans()
    assert first.ok
    assert "42" in first.steps[0].output
    assert second.ok
    assert second.steps[0].tool == ToolRef("mathdata", "convert_units")
    # The second run reused the open sessions: its discovery listed nothing again.
    discover = _child(_only_root(second_run), semconv.SPAN_DISCOVER)
    assert (discover.span.attributes or {})[semconv.DISCOVERY_LISTED] == 0
    assert agent.discovery.tools == ()  # closed on exit
