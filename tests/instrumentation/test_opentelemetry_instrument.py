"""Real ``opentelemetry-instrument`` subprocesses: the example, OTLP export, disabling, bad input.

Each test runs ``.venv/bin/opentelemetry-instrument python examples/trace_third_party_component.py``
with only environment variables (no distro installed: the project's own
``opentelemetry_configurator`` sets up the SDK) and reads what it exported: the OTLP-JSON spans
file, a real OTLP/HTTP receiver on loopback, or the console exporter's stdout.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from mcp_agent_otel.tracing import semconv
from tests.instrumentation.otlp_capture import (
    KIND_INTERNAL,
    OtlpHttpReceiver,
    SpanRecord,
    by_name,
    read_spans_file,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "trace_third_party_component.py"
BIN = Path(sys.executable).parent
OTEL_INSTRUMENT = str(BIN / "opentelemetry-instrument")
TASK = "count the words and sort the lines"
TARGETS = ",".join(
    [
        f"acme_agent:Agent.run={semconv.SPAN_WORKFLOW}",
        f"acme_agent:Planner.analyze={semconv.SPAN_ANALYZE}",
        f"acme_agent:Planner.decide={semconv.SPAN_DECIDE}",
        f"acme_agent:Worker.execute={semconv.SPAN_EXECUTE}",
    ]
)
STAGES = {semconv.SPAN_WORKFLOW, semconv.SPAN_ANALYZE, semconv.SPAN_DECIDE, semconv.SPAN_EXECUTE}


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The parent's environment without any OTEL_*/MCP_AGENT_OTEL_*/PYTHONPATH, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", semconv.ENV_PREFIX)) and k != "PYTHONPATH"
    }
    env[semconv.ENV_HOME] = str(home)
    env["OTEL_BSP_SCHEDULE_DELAY"] = "100"
    env.update(extra)
    return env


def run_example(cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OTEL_INSTRUMENT, sys.executable, str(EXAMPLE), TASK],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_example_tree(records: list[SpanRecord]) -> None:
    stage = [r for r in records if r.name in STAGES]
    assert sorted(r.name for r in stage) == sorted(STAGES), [r.name for r in records]
    got = by_name(stage)
    root = got[semconv.SPAN_WORKFLOW]
    assert root.parent_id == ""
    for name in (semconv.SPAN_ANALYZE, semconv.SPAN_DECIDE, semconv.SPAN_EXECUTE):
        assert got[name].parent_id == root.span_id, name
        assert got[name].trace_id == root.trace_id
    assert {r.kind for r in stage} == {KIND_INTERNAL}
    assert {r.scope for r in stage} == {semconv.TRACER_NAME}
    assert root.attributes[semconv.GEN_AI_OPERATION_NAME] == semconv.OP_INVOKE_WORKFLOW
    assert root.attributes[semconv.CODE_FUNCTION_NAME] == "acme_agent.Agent.run"
    assert root.attributes[semconv.WORKFLOW_OK] is True
    analyze = got[semconv.SPAN_ANALYZE].attributes
    assert analyze[semconv.CODE_FUNCTION_NAME] == "acme_agent.Planner.analyze"
    assert analyze[semconv.TASK_TYPE] == "data_analysis"
    assert analyze[semconv.TASK_COMPLEXITY] == "moderate"
    assert analyze[semconv.TASK_SUBTASKS] == 2
    assert analyze[semconv.TASK_LENGTH] == len(TASK)
    assert semconv.TASK_TEXT not in analyze  # task text only when the user opts in
    decide = got[semconv.SPAN_DECIDE].attributes
    assert decide[semconv.DECISION_PATTERN] == "parallel"
    assert decide[semconv.DECISION_STEPS] == 2
    assert got[semconv.SPAN_EXECUTE].attributes[semconv.CODE_FUNCTION_NAME] == (
        "acme_agent.Worker.execute"
    )


def test_the_example_traces_a_third_party_component_with_the_env_variable_alone(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    done = run_example(tmp_path, clean_env(home, MCP_AGENT_OTEL_INSTRUMENT=TARGETS))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["done: count the words", "done: sort the lines"]
    assert "mcp-agent-otel" not in done.stderr  # no warnings
    records = read_spans_file(home / "spans.jsonl")
    assert_example_tree(records)
    assert {r.service for r in records} == {"mcp-agent-otel"}


def documented_command() -> str:
    """The shell command in the example's docstring (the indented block after '::')."""
    doc = ast.get_docstring(ast.parse(EXAMPLE.read_text())) or ""
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    return "\n".join(line[4:] for line in block.splitlines())


def test_the_command_documented_in_the_example_runs_as_written(tmp_path: Path) -> None:
    command = documented_command()
    assert command.startswith("export MCP_AGENT_OTEL_INSTRUMENT=")
    assert "opentelemetry-instrument python examples/trace_third_party_component.py" in command
    bash = shutil.which("bash")
    assert bash is not None
    home = tmp_path / "home"
    env = clean_env(home, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(
        [bash, "-euc", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["done: count the words", "done: sort the lines"]
    assert "mcp-agent-otel" not in done.stderr
    assert_example_tree(read_spans_file(home / "spans.jsonl"))


def test_otlp_settings_from_the_environment_export_to_a_loopback_receiver(
    tmp_path: Path,
) -> None:
    with OtlpHttpReceiver() as receiver:
        env = clean_env(
            tmp_path / "home",
            MCP_AGENT_OTEL_INSTRUMENT=TARGETS,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_SERVICE_NAME="acme-agent",
        )
        done = run_example(tmp_path, env)
        assert done.returncode == 0, done.stderr
        records = receiver.wait_for(lambda rs: {r.name for r in rs} >= STAGES)
    assert_example_tree(records)
    assert {r.service for r in records} == {"acme-agent"}
    assert not (tmp_path / "home" / "spans.jsonl").exists()  # OTLP only, no file


def test_otel_python_disabled_instrumentations_turns_it_off(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for disabled in ("mcp_agent", "requests, mcp_agent", "*"):
        env = clean_env(
            home,
            MCP_AGENT_OTEL_INSTRUMENT=TARGETS,
            OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=disabled,
        )
        done = run_example(tmp_path, env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["done: count the words", "done: sort the lines"]
        assert read_spans_file(home / "spans.jsonl") == [], disabled


def test_the_standard_sdk_configuration_is_used_when_otel_traces_exporter_is_set(
    tmp_path: Path,
) -> None:
    env = clean_env(
        tmp_path / "home", MCP_AGENT_OTEL_INSTRUMENT=TARGETS, OTEL_TRACES_EXPORTER="console"
    )
    done = run_example(tmp_path, env)
    assert done.returncode == 0, done.stderr
    for stage in STAGES:
        assert f'"name": "{stage}"' in done.stdout
    assert not (tmp_path / "home" / "spans.jsonl").exists()


def test_bad_targets_and_settings_warn_once_and_the_application_runs(tmp_path: Path) -> None:
    targets = ",".join(
        [
            "acme_agent:Planner.no_such_method=task_analyzer.analyze",
            "not a target at all",
            "no_such_vendor_module:Thing.run=decision_engine.decide",
            f"acme_agent:Worker.execute={semconv.SPAN_EXECUTE}",
        ]
    )
    home = tmp_path / "home"
    done = run_example(tmp_path, clean_env(home, MCP_AGENT_OTEL_INSTRUMENT=targets))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["done: count the words", "done: sort the lines"]
    warnings = [line for line in done.stderr.splitlines() if line.startswith("mcp-agent-otel:")]
    assert len(warnings) == 3, done.stderr
    assert sum("Planner.no_such_method" in w and "no attribute path" in w for w in warnings) == 1
    assert sum("not a target at all" in w for w in warnings) == 1
    assert sum("no_such_vendor_module" in w and "never imported" in w for w in warnings) == 1
    assert [r.name for r in read_spans_file(home / "spans.jsonl")] == [semconv.SPAN_EXECUTE]

    bad_protocol = clean_env(
        home,
        MCP_AGENT_OTEL_INSTRUMENT=TARGETS,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
        OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon",
    )
    done = run_example(tmp_path, bad_protocol)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["done: count the words", "done: sort the lines"]
    (warning,) = [line for line in done.stderr.splitlines() if "tracing is off" in line]
    assert "carrier-pigeon" in warning
