"""The base install is the agent; the regression analyzer's server stack is the `analyzer` extra.

The declared dependencies are checked in pyproject.toml, and the agent's commands are run in a
fresh interpreter where the extra's modules cannot be imported (as on a base install): they
work, and the analyzer says which extra to install.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from mcp_agent_otel import extras

ROOT = Path(__file__).resolve().parents[1]
EXTRA_DISTRIBUTIONS = {"numpy", "scipy", "ddsketch", "fastapi", "uvicorn", "httptools", "jinja2"}

# Runs the CLI with the analyzer extra's modules unimportable, as if never installed.
WITHOUT_EXTRA = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # what import and find_spec see when it is not installed
from mcp_agent_otel.cli import main
main(sys.argv[1:])
"""


def _requirement_name(requirement: str) -> str:
    for stop in "<>=!~[; ":
        requirement = requirement.split(stop)[0]
    return requirement.lower()


def test_the_base_dependencies_have_no_analyzer_server_stack() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {_requirement_name(r) for r in project["dependencies"]}
    extra = {_requirement_name(r) for r in project["optional-dependencies"]["analyzer"]}
    assert base & EXTRA_DISTRIBUTIONS == set()
    assert extra == EXTRA_DISTRIBUTIONS
    assert set(extras.ANALYZER_MODULES) <= extra


def _cli_without_extra(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MCP_AGENT_OTEL_"))}
    env["MCP_AGENT_OTEL_HOME"] = str(tmp_path / "home")
    script = WITHOUT_EXTRA.format(blocked=sorted(EXTRA_DISTRIBUTIONS))
    return subprocess.run(
        [sys.executable, "-c", script, *argv],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_agent_runs_without_the_extra(tmp_path: Path) -> None:
    proc = _cli_without_extra(tmp_path, "run", "Calculate 2 + 3")
    assert proc.returncode == 0, proc.stderr
    assert "5" in proc.stdout
    cache = _cli_without_extra(tmp_path, "cache", "stats")
    assert cache.returncode == 0, cache.stderr


def test_importing_the_analyzer_without_the_extra_names_the_extra(tmp_path: Path) -> None:
    script = WITHOUT_EXTRA.split("from mcp_agent_otel.cli")[0].format(
        blocked=sorted(EXTRA_DISTRIBUTIONS)
    )
    proc = subprocess.run(
        [sys.executable, "-c", script + "import mcp_agent_otel.regression.store\n"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "pip install 'mcp-agent-otel[analyzer]'" in proc.stderr


@pytest.mark.parametrize(
    "argv", [("analyzer", "serve"), ("check", "--ab", "--baseline-cmd", "x"), ("profile", "light")]
)
def test_the_analyzer_commands_without_the_extra_say_which_extra(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    proc = _cli_without_extra(tmp_path, *argv)
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'mcp-agent-otel[analyzer]'" in proc.stderr
    assert "Traceback" not in proc.stderr
