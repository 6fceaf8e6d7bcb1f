"""``mcp-agent-otel run`` on bad input, end to end: a real subprocess of the console script.

A malformed servers file is refused with exit 2 and a message naming the file; an OTLP
endpoint that refuses connections (a loopback port nobody listens on) leaves the workflow's
result unchanged: exit 0, the step answered, one warning line, no traceback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from mcp_agent_otel.tracing import semconv

CLI = str(Path(sys.executable).parent / "mcp-agent-otel")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", semconv.ENV_PREFIX)) and k != "PYTHONPATH"
    }
    env.update({semconv.ENV_HOME: str(home), "COLUMNS": "80", **extra})
    return env


def _refused_endpoint() -> str:
    with socket.socket() as s:  # a free port, closed again: connections to it are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_run_with_a_malformed_servers_file_exits_2_naming_the_file(tmp_path: Path) -> None:
    servers = tmp_path / "servers.json"
    servers.write_text('{"mcpServers": {"search": {"command": "python",')
    done = subprocess.run(
        [CLI, "run", "Calculate 2 + 3", "--servers", str(servers)],
        env=_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: ")
    assert str(servers) in line
    assert "not valid JSON" in line


def test_run_with_an_otlp_endpoint_that_refuses_connections_completes(tmp_path: Path) -> None:
    endpoint = _refused_endpoint()
    done = subprocess.run(
        [CLI, "run", "Calculate 17 * (3 + 4) / 2", "--json"],
        env=_env(
            tmp_path / "home",
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_EXPORTER_OTLP_TIMEOUT="2",  # the exporter gives up sooner: a faster test
        ),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [s["status"] for s in result["steps"]] == ["ok"]
    assert "59.5" in result["steps"][0]["output"]
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith("warning: ")
    assert "could not be exported" in line
    assert endpoint in line
    assert not (tmp_path / "home" / "spans.jsonl").exists()  # an endpoint set: no spans file
