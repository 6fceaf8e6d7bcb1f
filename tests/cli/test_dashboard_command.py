"""``mcp-agent-otel dashboard`` as a real process: it serves the page on 127.0.0.1, receives
OTLP on the same port, opens the browser named by ``$BROWSER`` (here a small script that
records the URL, standing in for a desktop browser, which this machine does not have), stops
cleanly on SIGTERM with the received spans stored, and refuses a taken port or an unusable
database with a message that says what to do."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from tests.regression.otlp_builders import lognormal_ms, request

CLI = str(Path(sys.executable).parent / "mcp-agent-otel")
PB = {"content-type": "application/x-protobuf"}


def _start(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [CLI, "dashboard", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if not first.startswith("dashboard: "):
        proc.kill()
        raise AssertionError(f"unexpected output {first!r}; stderr: {proc.communicate()[1]}")
    return proc, first.split("dashboard: ", 1)[1].strip()


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return proc.returncode, out


def test_dashboard_serves_receives_and_stops_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "analyzer.db"
    proc, url = _start(["--db", str(db), "--port", "0", "--no-browser"])
    try:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/")
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200
        assert "No spans in the last 1h" in page.text
        body = request(lognormal_ms(50, 5.0, 0.3, seed=1), names="probe").SerializeToString()
        assert (
            httpx.post(f"{url}v1/traces", content=body, headers=PB, timeout=30).status_code == 200
        )
        shown = httpx.get(url, params={"refresh": "0"}, timeout=30).text
        assert 'data-operation="svc :: probe"' in shown
    finally:
        code, out = _stop(proc)
    assert code == 0
    assert "dashboard stopped" in out
    with RegressionAnalyzer(AnalyzerConfig(db_path=db), background=False) as analyzer:
        assert [(o["name"], o["count"]) for o in analyzer.operations(since=0)] == [("probe", 50)]


def test_dashboard_opens_the_browser(tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{opened}"\n')
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    proc, url = _start(
        ["--db", str(tmp_path / "a.db"), "--port", "0"], env={"BROWSER": str(browser)}
    )
    try:
        deadline = time.monotonic() + 20
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened.read_text() == url
    finally:
        code, _ = _stop(proc)
    assert code == 0


def test_a_stop_while_the_browser_opens_is_clean(tmp_path: Path) -> None:
    """SIGTERM that arrives while the browser is being opened (here: sent by the browser
    itself) stops the dashboard cleanly; it used to kill it before its handler was set."""
    browser = tmp_path / "browser.sh"
    browser.write_text("#!/bin/sh\nkill -TERM $PPID\n")
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    proc, _ = _start(["--db", str(tmp_path / "a.db"), "--port", "0"], env={"BROWSER": str(browser)})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "dashboard stopped" in out


def test_taken_port_is_refused_with_advice(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [CLI, "dashboard", "--db", str(tmp_path / "a.db"), "--port", str(port), "--no-browser"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr


def test_unusable_database_is_refused_with_advice(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db"
    bad.write_bytes(b"this is not sqlite" * 100)
    result = subprocess.run(
        [CLI, "dashboard", "--db", str(bad), "--port", "0", "--no-browser"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot open the analyzer database" in result.stderr
    assert bad.read_bytes() == b"this is not sqlite" * 100  # left as it was
