"""Processes the collector tests run for real on loopback: the analyzer and a rotel collector.

Both are started on free 127.0.0.1 ports, waited for, and stopped by their own pid.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CLI = Path(sys.executable).with_name("mcp-agent-otel")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


@dataclass(frozen=True)
class RunningAnalyzer:
    url: str  # http://127.0.0.1:PORT (OTLP/HTTP at /v1/traces, API under /api)
    grpc_port: int
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
            return json.loads(response.read())


def wait_until_listening(
    port: int, process: subprocess.Popen[bytes], log: Path, what: str, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}:\n{_tail(log)}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s:\n{_tail(log)}")


@pytest.fixture(scope="module")
def analyzer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAnalyzer]:
    """``mcp-agent-otel analyzer serve`` (the image's command) on free loopback ports."""
    work = tmp_path_factory.mktemp("analyzer")
    http_port, grpc_port = free_port(), free_port()
    log = work / "analyzer.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["MCP_AGENT_OTEL_HOME"] = str(work / "home")
    env.pop("MCP_AGENT_OTEL_ANALYZER_TOKEN", None)
    command = [
        str(CLI),
        "analyzer",
        "serve",
        "--host",
        "127.0.0.1",
        "--http-port",
        str(http_port),
        "--grpc-port",
        str(grpc_port),
        "--db",
        str(work / "analyzer.db"),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    running = RunningAnalyzer(f"http://127.0.0.1:{http_port}", grpc_port, process, log)
    try:
        wait_until_listening(http_port, process, log, "the analyzer")
        deadline = time.monotonic() + 30
        while True:
            try:
                if running.get("/health")["status"] == "ok":
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        yield running
    finally:
        stop(process)
