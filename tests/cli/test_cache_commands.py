"""``mcp-agent-otel cache stats|clear|warm FILE`` over a real cache directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcp_agent_otel.autonomous.models import TaskAnalysis
from mcp_agent_otel.autonomous.task_analyzer import analyze_task
from mcp_agent_otel.caching.cache_manager import cache_from_env
from mcp_agent_otel.cli.cache_commands import cache_group

TASKS = [
    "Search the documents for OpenTelemetry and then summarize it",
    "count the words in 'alpha beta gamma'",
    "convert 5 km to miles",
]


def never(task: str) -> TaskAnalysis:
    raise AssertionError(f"computed {task!r}: expected a warmed entry")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cache_group, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_warm_stats_clear(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.txt"
    tasks.write_text("# warm-up tasks\n" + "\n".join(TASKS) + "\n\n   \n")
    code, out = run("warm", str(tasks), "--fingerprint", "env-x")
    assert code == 0, out
    assert "stored 3 analyses" in out
    cache = cache_from_env()
    assert cache is not None
    for task in TASKS:
        assert cache.fetch(task, "env-x", never) == analyze_task(task)
    cache.close()

    code, out = run("stats", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["entries"] == 3
    assert info["by_kind"] == {"analysis": 3}
    assert info["disk_bytes"] > 0

    code, out = run("clear")
    assert code == 0
    assert "cleared 3 entries" in out
    _, out = run("stats", "--json")
    assert json.loads(out)["entries"] == 0


def test_warm_reports_bad_tasks_and_keeps_the_good_ones(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([TASKS[0], "   ", "x" * 30_000, TASKS[0]]))
    code, out = run("warm", str(tasks), "--fingerprint", "env-x")
    assert code == 0
    assert "stored 1 analysis" in out
    assert "task 2" in out  # empty
    assert "task 3" in out  # over the size limit
    assert "same task" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "array of strings"),
        ("[not json", "not valid"),
        ("\n# only a comment\n", "holds no tasks"),
    ],
)
def test_warm_bad_files_say_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    tasks = tmp_path / "tasks"
    tasks.write_text(content)
    result = CliRunner().invoke(cache_group, ["warm", str(tasks), "--fingerprint", "e"])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_warm_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cache_group, ["warm", str(tmp_path / "nope.txt")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_AGENT_OTEL_CACHE_TTL", "soon")
    result = CliRunner().invoke(cache_group, ["stats"])
    assert result.exit_code == 2
    assert "MCP_AGENT_OTEL_CACHE_TTL='soon'" in result.output


def test_warm_discovers_the_demo_environment(tmp_path: Path) -> None:
    """The default environment is the bundled demo servers, discovered over stdio; the agent
    then finds the warmed entries under the same fingerprint."""
    import asyncio

    from mcp_agent_otel.cli.cache_commands import _discover_fingerprint

    tasks = tmp_path / "tasks.txt"
    tasks.write_text(TASKS[0] + "\n")
    code, out = run("warm", str(tasks))
    assert code == 0, out
    fingerprint = asyncio.run(_discover_fingerprint(None))
    assert fingerprint in out
    cache = cache_from_env()
    assert cache is not None
    assert cache.fetch(TASKS[0], fingerprint, never) == analyze_task(TASKS[0])
    cache.close()


def test_the_console_script_has_the_cache_group() -> None:
    script = Path(sys.executable).parent / "mcp-agent-otel"
    done = subprocess.run(
        [str(script), "cache", "stats", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["entries"] == 0
