"""The analyzer's Dockerfile, checked without a Docker engine (none runs here).

Parsed instruction by instruction: a slim Python 3.11 base, a non-root USER, a HEALTHCHECK
that needs no curl, the documented ``analyzer serve`` command on 0.0.0.0 and the documented
ports, EXPOSE matching compose, and a .dockerignore that keeps what the build copies. The
flags the CMD passes are checked against the real CLI, and the HEALTHCHECK one-liner is run
against a real analyzer (tests/collector/test_rotel_hop.py does that over the network hop).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mcp_agent_otel.regression.config import DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT
from tests.collector.conftest import RunningAnalyzer, free_port
from tests.collector.otelcol_config import compose_container_ports, load_yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: int  # index of the FROM this instruction belongs to


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with line continuations joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    instructions: list[Instruction] = []
    stage = -1
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, args.strip(), stage))
    return instructions


def exec_form(args: str) -> list[str]:
    """A JSON exec-form argument list (``["a", "b"]``); anything else is a test failure."""
    value = json.loads(args)
    assert isinstance(value, list), args
    assert all(isinstance(v, str) for v in value), args
    return value


def healthcheck_command(args: str) -> list[str]:
    """The exec-form command of ``HEALTHCHECK [--options] CMD [...]``."""
    _, _, command = args.partition("CMD ")
    return exec_form(command)


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Whether Docker leaves ``path`` out of the build context (last matching rule wins)."""
    excluded = False
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        rule = pattern[1:] if negate else pattern
        rule = rule.rstrip("/")
        for candidate in candidates:
            if fnmatch.fnmatch(candidate, rule) or (
                rule.startswith("**/") and fnmatch.fnmatch(candidate.split("/")[-1], rule[3:])
            ):
                excluded = not negate
                break
    return excluded


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(ROOT / "collector" / "docker-compose.yaml")


def _one(stage: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in stage if i.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword} in the final stage, found {len(found)}"
    return found[0]


def test_the_parser_joins_continuations_and_tracks_stages() -> None:
    parsed = parse_dockerfile(
        '# c\nFROM a AS b\nRUN x \\\n    && y\n\nFROM c\n# note\nUSER 1:1\nCMD ["z"]\n'
    )
    assert [(i.keyword, i.args, i.stage) for i in parsed] == [
        ("FROM", "a AS b", 0),
        ("RUN", "x && y", 0),
        ("FROM", "c", 1),
        ("USER", "1:1", 1),
        ("CMD", '["z"]', 1),
    ]


def test_both_stages_build_from_slim_python_311(instructions: list[Instruction]) -> None:
    args = {
        i.args.split("=", 1)[0]: i.args.split("=", 1)[1]
        for i in instructions
        if i.keyword == "ARG" and i.stage == -1 and "=" in i.args
    }
    bases = [i.args.split()[0] for i in instructions if i.keyword == "FROM"]
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], b) for b in bases]
    assert resolved == ["python:3.11-slim", "python:3.11-slim"]
    # Multi-stage: the runtime stage takes only the built venv, not the build context.
    copies = [i.args for i in instructions if i.keyword == "COPY" and i.stage == 1]
    assert copies == ["--from=build /opt/venv /opt/venv"]


def test_runs_as_a_non_root_user(final: list[Instruction]) -> None:
    users = [i for i in final if i.keyword == "USER"]
    assert users, "the runtime stage must set USER"
    user = users[-1].args.split(":")[0]
    assert user not in {"root", "0"}
    assert not user.isdigit() or int(user) >= 1000
    # Nothing after USER runs as root again, and the process starts after it.
    position = final.index(users[-1])
    assert not [i for i in final[position:] if i.keyword == "RUN"]
    assert [i.keyword for i in final].index("CMD") > position


def test_cmd_runs_the_documented_serve_command_on_all_interfaces(final: list[Instruction]) -> None:
    cmd = exec_form(_one(final, "CMD").args)
    assert cmd[:3] == ["mcp-agent-otel", "analyzer", "serve"]
    options = dict(zip(cmd[3::2], cmd[4::2], strict=True))
    assert options["--host"] == "0.0.0.0"
    assert int(options["--http-port"]) == DEFAULT_HTTP_PORT
    assert int(options["--grpc-port"]) == DEFAULT_GRPC_PORT
    env = dict(shlex.split(part)[0].split("=", 1) for part in _env_pairs(final))
    assert Path(options["--db"]).parent == Path(env["MCP_AGENT_OTEL_HOME"])


def _env_pairs(stage: list[Instruction]) -> list[str]:
    pairs: list[str] = []
    for instruction in stage:
        if instruction.keyword == "ENV":
            pairs.extend(shlex.split(instruction.args))
    return pairs


def test_cmd_flags_exist_on_the_real_cli(final: list[Instruction]) -> None:
    from click.testing import CliRunner

    from mcp_agent_otel.cli import main

    cmd = exec_form(_one(final, "CMD").args)
    result = CliRunner().invoke(main, [*cmd[1:3], "--help"])
    assert result.exit_code == 0, result.output
    for flag in cmd[3::2]:
        assert flag in result.output, f"`{' '.join(cmd[:3])}` has no {flag} option"


def test_expose_and_volume_match_compose(final: list[Instruction], compose: dict[str, Any]) -> None:
    exposed = {int(p) for i in final if i.keyword == "EXPOSE" for p in i.args.split()}
    analyzer = compose["services"]["analyzer"]
    assert exposed == {DEFAULT_HTTP_PORT, DEFAULT_GRPC_PORT} == compose_container_ports(analyzer)
    volume = exec_form(_one(final, "VOLUME").args)
    env = dict(pair.split("=", 1) for pair in _env_pairs(final))
    assert volume == [env["MCP_AGENT_OTEL_HOME"]]
    assert any(v.endswith(f":{volume[0]}") for v in analyzer["volumes"])


def test_healthcheck_is_a_python_probe_of_the_health_route(
    final: list[Instruction], compose: dict[str, Any]
) -> None:
    check = _one(final, "HEALTHCHECK")
    command = healthcheck_command(check.args)
    assert command[:2] == ["python", "-c"], "python:3.11-slim has no curl"
    assert f"http://127.0.0.1:{DEFAULT_HTTP_PORT}/health" in command[2]
    for option in ("--interval=", "--timeout=", "--start-period=", "--retries="):
        assert option in check.args
    # compose states the same probe, so `docker compose ps` and `docker ps` agree.
    assert compose["services"]["analyzer"]["healthcheck"]["test"] == ["CMD", *command]


def test_dockerignore_keeps_what_the_build_copies_and_nothing_else(
    instructions: list[Instruction],
) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [
        src
        for i in instructions
        if i.keyword == "COPY" and not i.args.startswith("--from")
        for src in i.args.split()[:-1]
    ]
    assert sources == ["pyproject.toml", "README.md", "mcp_agent_otel"]
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not dockerignore_excludes(patterns, source), source
    assert not dockerignore_excludes(patterns, "mcp_agent_otel/regression/config.py")
    for left_out in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", ".mcp-agent-otel/x"):
        assert dockerignore_excludes(patterns, left_out), left_out
    assert dockerignore_excludes(patterns, "mcp_agent_otel/__pycache__/cli.cpython-311.pyc")


def test_the_healthcheck_probe_passes_on_a_running_analyzer_and_fails_without_one(
    final: list[Instruction], analyzer_server: RunningAnalyzer
) -> None:
    code = healthcheck_command(_one(final, "HEALTHCHECK").args)[2]
    port = int(analyzer_server.url.rsplit(":", 1)[1])
    live = code.replace(f"127.0.0.1:{DEFAULT_HTTP_PORT}", f"127.0.0.1:{port}")
    assert live != code
    ok = subprocess.run([sys.executable, "-c", live], capture_output=True, timeout=30, check=False)
    assert ok.returncode == 0, ok.stderr
    dead = code.replace(f"127.0.0.1:{DEFAULT_HTTP_PORT}", f"127.0.0.1:{free_port()}")
    down = subprocess.run(
        [sys.executable, "-c", dead], capture_output=True, timeout=30, check=False
    )
    assert down.returncode == 1, "Docker reads exit status 1 as unhealthy"
