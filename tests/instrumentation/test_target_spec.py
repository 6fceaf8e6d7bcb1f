"""Parsing ``MCP_AGENT_OTEL_INSTRUMENT`` / ``targets=`` (pure functions)."""

from __future__ import annotations

import pytest

from mcp_agent_otel.instrumentation.target_spec import (
    KNOWN_STAGES,
    StageTarget,
    parse_entry,
    parse_targets,
)
from mcp_agent_otel.tracing import semconv


def test_parses_the_documented_example() -> None:
    parsed = parse_targets(
        "mypkg.analyzer:TaskAnalyzer.analyze_task=task_analyzer.analyze,"
        "mypkg.engine:Engine.decide=decision_engine.decide"
    )
    assert parsed.problems == ()
    assert parsed.targets == (
        StageTarget("mypkg.analyzer", "TaskAnalyzer.analyze_task", semconv.SPAN_ANALYZE),
        StageTarget("mypkg.engine", "Engine.decide", semconv.SPAN_DECIDE),
    )
    assert (
        str(parsed.targets[0]) == "mypkg.analyzer:TaskAnalyzer.analyze_task=task_analyzer.analyze"
    )


def test_whitespace_empty_entries_mapping_and_list_forms() -> None:
    text = " a.b:f = billing.plan , ,c:G.h=invoke_workflow autonomous_task ,"
    expected = (
        StageTarget("a.b", "f", "billing.plan"),
        StageTarget("c", "G.h", semconv.SPAN_WORKFLOW),
    )
    assert parse_targets(text).targets == expected
    assert (
        parse_targets({"a.b:f": "billing.plan", "c:G.h": semconv.SPAN_WORKFLOW}).targets == expected
    )
    assert parse_targets(["a.b:f=billing.plan", "c:G.h=" + semconv.SPAN_WORKFLOW]).targets == (
        expected
    )
    assert parse_targets(None).targets == ()
    assert parse_targets("").targets == ()


def test_every_known_stage_is_accepted() -> None:
    for stage in KNOWN_STAGES:
        assert parse_entry(f"m:f={stage}") == StageTarget("m", "f", stage)
    assert set(semconv.STAGE_SPANS) <= set(KNOWN_STAGES)


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("mypkg.analyzer:TaskAnalyzer.analyze", "no stage given"),
        ("mypkg.analyzer:TaskAnalyzer.analyze=", "no stage given"),
        ("mypkg.analyzer.TaskAnalyzer.analyze=task_analyzer.analyze", "separate the module"),
        (":f=task_analyzer.analyze", "separate the module"),
        ("my-pkg:f=task_analyzer.analyze", "not a dotted module name"),
        ("mypkg:Class..m=task_analyzer.analyze", "not a dotted attribute path"),
        ("mypkg:f=two words", "not a valid span name"),
        ("mypkg:f=x{y}", "not a valid span name"),
        ("mcp.client.client:Client.call_tool=execute_tool", "MCP SDK emits its own"),
        ("mcp:Client=execute_tool", "MCP SDK emits its own"),
        ("opentelemetry.trace:get_tracer=x.y", "traces itself"),
        ("mcp_agent_otel.tracing.spans:stage_span=x.y", "traces itself"),
    ],
)
def test_malformed_entries_say_what_is_wrong_and_what_to_do(entry: str, says: str) -> None:
    problem = parse_entry(entry)
    assert isinstance(problem, str)
    assert says in problem
    assert repr(entry.strip()) in problem  # names the entry
    parsed = parse_targets(f"{entry},good.mod:f=task_analyzer.analyze")
    assert parsed.targets == (StageTarget("good.mod", "f", semconv.SPAN_ANALYZE),)
    assert parsed.problems == (problem,)


def test_the_mcp_agent_otel_package_itself_may_be_traced_but_not_its_tracing() -> None:
    ok = parse_entry("mcp_agent_otel.autonomous.task_analyzer:TaskAnalyzer.analyze=x.y")
    assert isinstance(ok, StageTarget)
    # "mcpx" only shares a prefix with "mcp": not refused.
    assert isinstance(parse_entry("mcpx.tools:f=x.y"), StageTarget)


def test_a_target_listed_twice_is_kept_once() -> None:
    same = parse_targets("m:f=task_analyzer.analyze,m:f=task_analyzer.analyze")
    assert same.targets == (StageTarget("m", "f", semconv.SPAN_ANALYZE),)
    assert same.problems == ()
    clash = parse_targets("m:f=task_analyzer.analyze,m:f=decision_engine.decide")
    assert clash.targets == (StageTarget("m", "f", semconv.SPAN_ANALYZE),)
    assert len(clash.problems) == 1
    assert "listed twice" in clash.problems[0]


def test_unusable_targets_object_is_one_problem() -> None:
    parsed = parse_targets(42)  # type: ignore[arg-type]
    assert parsed.targets == ()
    assert len(parsed.problems) == 1
    assert "not usable" in parsed.problems[0]
