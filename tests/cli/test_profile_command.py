"""``mcp-agent-otel profile``: outputs, recording in the analyzer, and bad input.

The command runs the real pipeline (demo MCP servers over stdio); recording goes to a real
SQLite store, or over OTLP/HTTP to a real analyzer on a free loopback port.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.cli import main
from mcp_agent_otel.cli.profile_report import ms
from mcp_agent_otel.profiling.baseline_profiler import ProfileReport
from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.tracing import semconv
from tests.regression.loopback import running_analyzer


def _versions(db: Path) -> dict[str, int]:
    with RegressionAnalyzer(AnalyzerConfig(db_path=db), background=False) as analyzer:
        return {v["version"]: v["spans"] for v in analyzer.stats()["versions"]}


def test_json_markdown_table_and_store(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    out_json, out_md, db = tmp_path / "p.json", tmp_path / "p.md", tmp_path / "a.db"
    result = CliRunner().invoke(
        main,
        [
            "profile",
            "simple",
            "-n",
            "14",
            "--memory-runs",
            "2",
            "--version",
            "1.4.0-rc1",
            "--json",
            str(out_json),
            "--markdown",
            str(out_md),
            "--store",
            str(db),
        ],
    )
    assert result.exit_code == 0, result.output
    report = ProfileReport.from_dict(json.loads(out_json.read_text()))
    assert ProfileReport.from_dict(report.to_dict()) == report  # the JSON round-trips
    assert (report.profile, report.runs, report.workflows, report.version) == (
        "simple",
        14,
        14,
        "1.4.0-rc1",
    )
    stages = {o.name: o for o in report.stages}
    assert stages[semconv.SPAN_WORKFLOW].latency.count == 14
    assert report.cache.hit_rate == 1.0
    assert report.memory.runs == 2

    # the terminal table and the Markdown show the same figures as the JSON
    markdown = out_md.read_text()
    execute = stages[semconv.SPAN_EXECUTE].latency
    row = f"| {semconv.SPAN_EXECUTE} | 14 | 0 | {ms(execute.p50_ms)} | {ms(execute.p95_ms)} |"
    assert row in markdown
    assert "## Top bottlenecks by self-time" in markdown
    assert f"{report.bottlenecks[0].name} |" in markdown
    assert re.search(r"100\.0% hit rate", result.output)
    assert semconv.SPAN_EXECUTE in result.output
    assert ms(execute.p50_ms) in result.output

    # recorded: exactly the profiled spans, as the given version
    assert f"recorded {report.spans} span(s)" in result.output
    assert _versions(db) == {"1.4.0-rc1": report.spans}


def test_json_to_stdout_only(spans: InMemorySpanExporter) -> None:
    result = CliRunner().invoke(
        main, ["profile", "simple", "-n", "3", "--warmup", "0", "--memory-runs", "0", "--json", "-"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["runs"] == 3
    assert data["warmup"] == 0
    # no warm-up: the first workflow lists the servers and misses the cache
    assert data["discovery"]["servers_listed"] == 4
    assert data["cache"]["misses"] >= 1


def test_to_analyzer_records_over_otlp_http(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    with running_analyzer(tmp_path) as (analyzer, endpoints):
        result = CliRunner().invoke(
            main,
            [
                "profile",
                "moderate",
                "-n",
                "5",
                "--memory-runs",
                "0",
                "--version",
                "cand-7",
                "--to-analyzer",
                endpoints.http_url,
            ],
        )
        assert result.exit_code == 0, result.output
        stats = analyzer.stats()
    match = re.search(r"recorded (\d+) span\(s\) in the analyzer", result.output)
    assert match, result.output
    versions = {v["version"]: v["spans"] for v in stats["versions"]}
    assert versions == {"cand-7": int(match.group(1))}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "env", "fragment"),
    [
        (["profile", "nope"], {}, "unknown profile 'nope'"),
        (["profile", "{empty}"], {}, "holds no task"),
        (["profile", "simple", "-n", "0"], {}, "0 is not in the range x>=1"),
        (["profile", "simple", "--concurrency", "0"], {}, "x>=1"),
        (["profile", "{bad_task}"], {}, "bad.txt:2: the task is"),
        (["profile", "{tmp}"], {}, "is not a file"),
        (["profile", "simple", "--json", "{tmp}/missing/p.json"], {}, "does not exist"),
        (
            ["profile", "simple"],
            {semconv.ENV_FAULT_SLOWDOWN: "execute_tool x=2"},
            "not a stage the profiler can slow down",
        ),
        (
            ["profile", "simple"],
            {semconv.ENV_FAULT_SLOWDOWN: f"{semconv.SPAN_EXECUTE}=0.8"},
            "from 1 to 100",
        ),
        (["profile", "simple", "--to-analyzer", "ftp://x"], {}, "not an http(s) URL"),
        (
            ["profile", "simple", "--to-analyzer", "http://127.0.0.1:{port}"],
            {},
            "cannot reach the analyzer",
        ),
        (["profile", "simple", "--servers", "{tmp}/none.json"], {}, "none.json"),
        (["profile", "simple", "--version", ""], {}, "--version must be 1 to 128"),
        (["profile", "simple"], {"OTEL_SDK_DISABLED": "true"}, "tracing is off"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    fragment: str,
) -> None:
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    (tmp_path / "bad.txt").write_text("Calculate 2 + 2\n" + "y" * 25_000 + "\n")
    names = {
        "empty": str(tmp_path / "empty.txt"),
        "bad_task": str(tmp_path / "bad.txt"),
        "tmp": str(tmp_path),
        "port": str(_closed_port()),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, [a.format(**names) for a in args])
    assert result.exit_code == 2, result.output
    assert fragment in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


def test_spans_refused_after_the_run_exit_1_and_keep_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spans: InMemorySpanExporter
) -> None:
    """An analyzer that wants a token we do not have: it answers /health, then refuses the
    spans (HTTP 401). The report is still printed and written; exit 1."""
    monkeypatch.delenv(semconv.ENV_ANALYZER_TOKEN, raising=False)
    out = tmp_path / "p.json"
    with running_analyzer(tmp_path, token="s3cret") as (analyzer, endpoints):
        result = CliRunner().invoke(
            main,
            [
                "profile",
                "simple",
                "-n",
                "3",
                "--memory-runs",
                "0",
                "--json",
                str(out),
                "--to-analyzer",
                endpoints.http_url,
            ],
        )
        stored = analyzer.stats()["spans"]["accepted"]
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    assert "refused the spans: HTTP 401" in flat
    assert "the report above is complete, the spans were not recorded" in flat
    assert json.loads(out.read_text())["workflows"] == 3
    assert semconv.SPAN_EXECUTE in result.output  # the table was printed
    assert stored == 0


def test_record_stages_and_live_alerts_against_a_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spans: InMemorySpanExporter
) -> None:
    """--record stages keeps the workflow and its four stages; a recorded candidate that is
    much slower than a stored baseline raises the analyzer's live alerts, which are stored
    and counted (not dumped into the profiler's output)."""
    db = tmp_path / "a.db"
    runner = CliRunner()
    common = [
        "profile",
        "simple",
        "-n",
        "40",
        "--memory-runs",
        "0",
        "--store",
        str(db),
        "--record",
        "stages",
    ]
    base = runner.invoke(main, [*common, "--version", "a"])
    assert base.exit_code == 0, base.output
    assert "recorded 200 span(s)" in base.output  # 5 spans x 40 workflows
    created = runner.invoke(
        main, ["analyzer", "baseline", "create", "main", "--version", "a", "--db", str(db)]
    )
    assert created.exit_code == 0, created.output
    assert "5 operation(s), 200 span(s)" in created.output

    monkeypatch.setenv(semconv.ENV_FAULT_SLOWDOWN, f"{semconv.SPAN_EXECUTE}=3")
    slow = runner.invoke(main, [*common, "--version", "b"])
    assert slow.exit_code == 0, slow.output
    assert "TEST-ONLY fault" in slow.output
    assert "live regression alert(s) raised against the stored baseline(s)" in slow.output
    assert '"event":' not in slow.output  # alerts are not logged as JSON lines here
    with RegressionAnalyzer(AnalyzerConfig(db_path=db), background=False) as analyzer:
        alerts = analyzer.recent_alerts()
    # the slowed stage, or the workflow around it (the live detector's CUSUM decides which
    # crosses first; on a loaded machine 40 samples may not be enough for both)
    alerted = {a.name for a in alerts if a.version == "b"}
    assert alerted & {semconv.SPAN_EXECUTE, semconv.SPAN_WORKFLOW}, alerted


def test_an_unreachable_otlp_endpoint_costs_a_warning_not_the_profile(tmp_path: Path) -> None:
    """A separate process with its own tracing set-up (as a user runs it), exporting to a
    closed loopback port: the figures come from the in-process processor, so the profile is
    complete; the lost export is one warning line and the exit waits at most a few seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{_closed_port()}"
    out = tmp_path / "p.json"
    started = time.monotonic()
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "mcp-agent-otel"),
            "profile",
            "simple",
            "-n",
            "5",
            "--memory-runs",
            "0",
            "--json",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["workflows"] == 5
    assert semconv.SPAN_EXECUTE in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, proc.stderr
    assert "the profile's figures are unaffected" in warnings[0]
    assert "Traceback" not in proc.stderr
    assert elapsed < 60
