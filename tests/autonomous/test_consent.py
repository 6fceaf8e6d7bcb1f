"""Destructive steps run only with consent, a plan that cannot be done runs nothing, and
``run --plan`` calls nothing — over a real stdio server (the test-only faulty server, whose
``remove_item`` is annotated ``destructiveHint`` and logs every call to a file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.autonomous.models import Effect, Intent, StepPlan, StepStatus, Subtask
from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer
from mcp_agent_otel.tracing import semconv, spans
from tests.autonomous.fixtures import FAULTY_SERVER

CLI = str(Path(sys.executable).parent / "mcp-agent-otel")
REMOVE = "Remove the item named alpha"


def _config(log: Path) -> dict[str, Any]:
    return {
        "mcpServers": {
            "faulty": {
                "command": sys.executable,
                "args": [str(FAULTY_SERVER)],
                "env": {"FAULTY_REMOVED_LOG": str(log)},
            }
        }
    }


@pytest.fixture
def exporter() -> Any:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    spans.use_tracer_provider(provider)
    yield memory
    spans.use_tracer_provider(None)


def _agent(log: Path, **kwargs: Any) -> MetaCoordinator:
    return MetaCoordinator.from_config(_config(log), analyzer=TaskAnalyzer(cache=None), **kwargs)


def _named(finished: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name.startswith(prefix)]


async def test_a_destructive_step_without_consent_is_never_called(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    log = tmp_path / "removed.log"
    async with _agent(log) as agent:
        result = await agent.run(REMOVE)
    (step,) = result.steps
    assert step.status is StepStatus.NEEDS_CONSENT
    assert step.tool is not None
    assert step.tool.name == "remove_item"
    assert step.error is not None
    assert "faulty/remove_item" in step.error
    assert '"alpha"' in step.error
    assert "--allow-destructive" in step.error
    assert not result.ok
    assert not log.exists()  # the call was never made
    (plan,) = result.decision.steps
    assert (plan.intent, plan.effect) == (Intent.DELETE, Effect.DESTRUCTIVE)
    finished = exporter.get_finished_spans()
    assert _named(finished, "execute_tool") == []
    (root,) = _named(finished, semconv.SPAN_WORKFLOW)
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes is not None
    assert root.attributes[semconv.ERROR_TYPE] == semconv.ERROR_NEEDS_CONSENT


async def test_consent_runs_the_destructive_step(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    log = tmp_path / "removed.log"
    async with _agent(log, allow_destructive=True) as agent:
        result = await agent.run(REMOVE)
    assert [s.status for s in result.steps] == [StepStatus.OK]
    assert log.read_text() == "alpha\n"
    (call,) = _named(exporter.get_finished_spans(), "execute_tool")
    assert call.attributes is not None
    assert call.attributes[semconv.STEP_INTENT] == "delete"
    assert call.attributes[semconv.TOOL_EFFECT] == "destructive"
    assert call.attributes[semconv.TOOL_EFFECT_SOURCE] == "annotations"
    assert call.attributes[semconv.CONSENT] == "given"


@pytest.mark.parametrize("answer", [True, False])
async def test_a_confirm_callback_is_asked_before_the_call(tmp_path: Path, answer: bool) -> None:
    log = tmp_path / "removed.log"
    asked: list[tuple[StepPlan, Subtask | None]] = []

    def confirm(plan: StepPlan, subtask: Subtask | None) -> bool:
        asked.append((plan, subtask))
        assert not log.exists()  # asked before anything ran
        return answer

    async with _agent(log, confirm=confirm) as agent:
        result = await agent.run(REMOVE)
    ((plan, subtask),) = asked
    assert plan.tool.name == "remove_item"
    assert subtask is not None
    assert result.ok is answer
    assert log.exists() is answer


async def test_a_step_no_tool_fits_stops_the_whole_run_before_any_call(tmp_path: Path) -> None:
    log = tmp_path / "removed.log"
    async with _agent(log, allow_destructive=True) as agent:
        result = await agent.run("Echo hello, then translate the weather forecast into Klingon")
    statuses = [s.status for s in result.steps]
    assert StepStatus.UNMATCHED in statuses
    assert StepStatus.OK not in statuses  # the echo step did not run either
    (unmatched,) = result.decision.unmatched
    (failed,) = [s for s in result.steps if s.status is StepStatus.UNMATCHED]
    assert failed.error == unmatched.message


async def test_plan_only_calls_nothing(tmp_path: Path, exporter: InMemorySpanExporter) -> None:
    log = tmp_path / "removed.log"
    async with _agent(log, allow_destructive=True) as agent:
        result = await agent.run(REMOVE, plan_only=True)
    assert result.steps == ()
    assert result.decision.steps[0].tool.name == "remove_item"
    assert not log.exists()
    finished = exporter.get_finished_spans()
    assert _named(finished, "execute_tool") == []
    assert _named(finished, semconv.SPAN_EXECUTE) == []
    (root,) = _named(finished, semconv.SPAN_WORKFLOW)
    assert root.attributes is not None
    assert root.attributes[semconv.DECISION_PLAN_ONLY] is True


def _cli_setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The servers file and a clean environment (no OTEL_* or our settings) for the CLI."""
    servers = tmp_path / "servers.json"
    servers.write_text(json.dumps(_config(tmp_path / "removed.log")))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", semconv.ENV_PREFIX)) and k != "PYTHONPATH"
    }
    env.update({semconv.ENV_HOME: str(tmp_path / "home"), "COLUMNS": "200"})
    return servers, env


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    servers, env = _cli_setup(tmp_path)
    return subprocess.run(
        [CLI, "run", *args, "--servers", str(servers)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_cli_refuses_a_destructive_step_without_a_terminal_or_the_flag(tmp_path: Path) -> None:
    done = _cli(tmp_path, REMOVE, "--json")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert [s["status"] for s in result["steps"]] == ["needs_consent"]
    # arguments are a JSON object, not JSON text inside JSON
    assert result["decision"]["steps"][0]["arguments"] == {"name": "alpha"}
    assert not (tmp_path / "removed.log").exists()
    assert "Traceback" not in done.stderr


def test_cli_allow_destructive_runs_it(tmp_path: Path) -> None:
    done = _cli(tmp_path, REMOVE, "--allow-destructive", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "removed.log").read_text() == "alpha\n"


def test_cli_plan_prints_the_decision_and_calls_nothing(tmp_path: Path) -> None:
    done = _cli(tmp_path, REMOVE, "--plan", "--allow-destructive")
    assert done.returncode == 0, done.stdout + done.stderr
    for fact in ("remove_item", "delete", "destructive", '"alpha"', "nothing was called"):
        assert fact in done.stdout
    assert not (tmp_path / "removed.log").exists()


@pytest.mark.parametrize(("answer", "ran"), [("y", True), ("n", False)])
def test_cli_asks_at_a_terminal_and_a_yes_runs_it(tmp_path: Path, answer: str, ran: bool) -> None:
    """A real pseudo-terminal as stdin: the prompt names the call, the typed answer decides."""
    import pty

    servers, env = _cli_setup(tmp_path)
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(
            [CLI, "run", REMOVE, "--servers", str(servers)],
            env=env,
            stdin=secondary,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(primary, f"{answer}\n".encode())
        _, err = proc.communicate(timeout=180)
    finally:
        os.close(primary)
        os.close(secondary)
    assert "would call faulty/remove_item with" in err
    assert '"alpha"' in err
    assert proc.returncode == (0 if ran else 1), err
    assert (tmp_path / "removed.log").exists() is ran
