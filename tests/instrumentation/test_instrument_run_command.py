"""``opentelemetry-instrument mcp-agent-otel run "TASK"``: the full span tree, from OTEL_* only.

A real subprocess: no distro is installed, so the project's ``opentelemetry_configurator``
builds the SDK provider from ``OTEL_EXPORTER_OTLP_ENDPOINT``; ``mcp-agent-otel run`` keeps that
provider; the bundled demo MCP servers run over stdio. A real OTLP/HTTP receiver on loopback
collects what the agent (and its servers) export, and the tree of ARCHITECTURE.md is checked
name by name and parent by parent. ``MCP_AGENT_OTEL_INSTRUMENT`` also names the agent's own
``MetaCoordinator.run`` as the workflow stage: the instrumentor is active in the process, and
the root span is still there exactly once (the wrapper and the built-in stage share it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mcp_agent_otel.tracing import semconv
from tests.instrumentation.otlp_capture import (
    KIND_CLIENT,
    KIND_INTERNAL,
    KIND_SERVER,
    OtlpHttpReceiver,
    SpanRecord,
    children,
)

BIN = Path(sys.executable).parent
TASK = "Calculate 17 * (3 + 4) / 2"
TOOL = "calculate"


def _env(home: Path, endpoint: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", semconv.ENV_PREFIX)) and k != "PYTHONPATH"
    }
    env.update(
        {
            semconv.ENV_HOME: str(home),
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_SERVICE_NAME": "agent-under-instrument",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            semconv.ENV_INSTRUMENT: (
                "mcp_agent_otel.autonomous.meta_coordinator:MetaCoordinator.run="
                f"{semconv.SPAN_WORKFLOW}"
            ),
        }
    )
    return env


def _complete(records: list[SpanRecord]) -> bool:
    names = {r.name for r in records}
    return semconv.SPAN_WORKFLOW in names and f"tools/call {TOOL}" in names


def _one(records: list[SpanRecord], name: str) -> SpanRecord:
    found = [r for r in records if r.name == name]
    assert len(found) == 1, (name, [r.name for r in records])
    return found[0]


def test_opentelemetry_instrument_run_exports_the_full_span_tree(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with OtlpHttpReceiver() as receiver:
        done = subprocess.run(
            [str(BIN / "opentelemetry-instrument"), str(BIN / "mcp-agent-otel"), "run", TASK],
            cwd=tmp_path,
            env=_env(home, receiver.endpoint),
            capture_output=True,
            text=True,
            timeout=170,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        records = receiver.wait_for(_complete, timeout_s=15)
    assert not (home / "spans.jsonl").exists()  # the OTLP endpoint from OTEL_* only

    root = _one(records, semconv.SPAN_WORKFLOW)
    trace_records = [r for r in records if r.trace_id == root.trace_id]
    assert root.parent_id == ""
    assert root.kind == KIND_INTERNAL
    assert root.service == "agent-under-instrument"
    assert root.attributes[semconv.GEN_AI_OPERATION_NAME] == semconv.OP_INVOKE_WORKFLOW
    # The dotted target wrapped MetaCoordinator.run and shares the built-in root span.
    assert root.attributes[semconv.CODE_FUNCTION_NAME] == (
        "mcp_agent_otel.autonomous.meta_coordinator.MetaCoordinator.run"
    )
    assert root.attributes[semconv.WORKFLOW_OK] is True

    stages = children(trace_records, root)
    assert [s.name for s in sorted(stages, key=lambda s: semconv.STAGE_SPANS.index(s.name))] == [
        semconv.SPAN_ANALYZE,
        semconv.SPAN_DISCOVER,
        semconv.SPAN_DECIDE,
        semconv.SPAN_EXECUTE,
    ]
    assert all(s.kind == KIND_INTERNAL and s.scope == semconv.TRACER_NAME for s in stages)
    by_stage = {s.name: s for s in stages}
    assert semconv.TASK_TYPE in by_stage[semconv.SPAN_ANALYZE].attributes
    assert by_stage[semconv.SPAN_DISCOVER].attributes[semconv.TOOLS_COUNT] > 0
    assert semconv.DECISION_PATTERN in by_stage[semconv.SPAN_DECIDE].attributes

    listings = children(trace_records, by_stage[semconv.SPAN_DISCOVER])
    assert listings
    for listing in listings:
        assert listing.name.startswith(semconv.SPAN_LIST_TOOLS_PREFIX + " ")
        sdk = [c for c in children(trace_records, listing) if c.kind == KIND_CLIENT]
        assert "MCP send tools/list" in {c.name for c in sdk}
        assert {c.scope for c in sdk} == {"mcp-python-sdk"}

    (execute_tool,) = children(trace_records, by_stage[semconv.SPAN_EXECUTE])
    assert execute_tool.name == semconv.execute_tool_span_name(TOOL)
    assert execute_tool.attributes[semconv.GEN_AI_TOOL_NAME] == TOOL
    (client,) = children(trace_records, execute_tool)
    assert (client.name, client.kind, client.scope) == (
        f"MCP send tools/call {TOOL}",
        KIND_CLIENT,
        "mcp-python-sdk",
    )
    # The server process continued the trace (context in params._meta), exactly once.
    (server,) = children(trace_records, client)
    assert (server.name, server.kind) == (f"tools/call {TOOL}", KIND_SERVER)
    # No MCP span was doubled: one client span per tools/call, ours never in MCP's place.
    calls = [r for r in trace_records if r.name == f"MCP send tools/call {TOOL}"]
    assert len(calls) == 1
    ours = {r.name for r in trace_records if r.scope == semconv.TRACER_NAME}
    assert not any(name.startswith(("MCP send", "tools/")) for name in ours)
