"""The analyzer's CLI: ingest, baseline create/list/delete, stats, check, and `serve` as a
real process (started, fed over OTLP/HTTP, stopped with SIGTERM: nothing pending is lost)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from mcp_agent_otel.cli import main
from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.tracing.export import OtlpJsonFileExporter
from tests.regression.loopback import running_analyzer
from tests.regression.otlp_builders import lognormal_ms, request, to_otlp_json


def _spans_file(path: Path, version: str, factor: float, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    with path.open("w") as out:
        for k in range(4):  # four export batches, as the agent writes them
            durations = {
                "stage.analyze": rng.lognormal(np.log(10.0), 0.4, n // 4) * factor,
                "stage.execute": rng.lognormal(np.log(30.0), 0.4, n // 4),
            }
            for name, values in durations.items():
                req = request(values, names=name, service="agent", version=version)
                out.write(json.dumps(to_otlp_json(req)) + "\n")
            if k == 1:
                out.write("{this line is broken\n")
    return path


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "cli.db")


def test_ingest_baseline_stats_and_check_with_files(tmp_path: Path, db: str) -> None:
    runner = CliRunner()
    v1 = _spans_file(tmp_path / "v1.jsonl", "1.0", 1.0, 2_000, 1)
    ingested = runner.invoke(main, ["analyzer", "ingest", str(v1), "--db", db])
    assert ingested.exit_code == 1  # a bad line is reported (and skipped)
    assert "9 line(s), 4000 span(s) accepted, 0 rejected, 1 bad line(s)" in ingested.output
    assert f"{v1}:5: the body is not valid JSON" in ingested.output

    created = runner.invoke(
        main, ["analyzer", "baseline", "create", "v1", "--version", "1.0", "--db", db]
    )
    assert created.exit_code == 0, created.output
    duplicate = runner.invoke(
        main, ["analyzer", "baseline", "create", "v1", "--version", "1.0", "--db", db]
    )
    assert duplicate.exit_code == 2
    assert "exists already" in duplicate.output

    listed = runner.invoke(main, ["analyzer", "baseline", "list", "--db", db, "--json"])
    (info,) = json.loads(listed.stdout)
    assert (info["name"], info["operations"], info["spans"]) == ("v1", 2, 4_000)

    stats = runner.invoke(main, ["analyzer", "stats", "--db", db])
    assert stats.exit_code == 0
    assert "spans: 4000 accepted, 0 rejected" in stats.output
    assert "version 1.0: 4000 span(s)" in stats.output

    slower = _spans_file(tmp_path / "v2.jsonl", "2.0", 1.2, 2_000, 2)
    gate = runner.invoke(
        main, ["check", "--baseline", "v1", "--candidate-file", str(slower), "--db", db]
    )
    assert gate.exit_code == 1, gate.output
    assert "agent :: stage.analyze" in gate.output
    assert "REGRESSION" in gate.output
    assert "v2.jsonl:5" in gate.output  # the file's bad line is a warning, not a failure

    same = _spans_file(tmp_path / "v1b.jsonl", "1.0b", 1.0, 2_000, 3)
    passed = runner.invoke(
        main, ["check", "--baseline", "v1", "--candidate-file", str(same), "--db", db, "--json"]
    )
    assert passed.exit_code == 0, passed.output
    assert json.loads(passed.stdout)["verdict"] == "pass"

    deleted = runner.invoke(main, ["analyzer", "baseline", "delete", "v1", "--db", db])
    assert deleted.exit_code == 0
    again = runner.invoke(main, ["analyzer", "baseline", "delete", "v1", "--db", db])
    assert again.exit_code == 2
    assert "no baseline named 'v1'" in again.output


def test_a_time_range_baseline(tmp_path: Path, db: str) -> None:
    runner = CliRunner()
    runner.invoke(
        main,
        [
            "analyzer",
            "ingest",
            str(_spans_file(tmp_path / "a.jsonl", "1", 1.0, 400, 1)),
            "--db",
            db,
        ],
    )
    created = runner.invoke(
        main,
        [
            "analyzer",
            "baseline",
            "create",
            "recent",
            "--since",
            "-1h",
            "--until",
            "now",
            "--db",
            db,
        ],
    )
    assert created.exit_code == 0, created.output
    assert "2 operation(s), 800 span(s)" in created.output
    bad = runner.invoke(
        main,
        ["analyzer", "baseline", "create", "x", "--since", "someday", "--until", "now", "--db", db],
    )
    assert bad.exit_code == 2
    assert "is not a time" in bad.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["check", "--baseline", "v1"], "exactly one of --candidate-version"),
        (
            ["check", "--baseline", "v1", "--candidate-version", "2", "--candidate-file", "f"],
            "exactly one",
        ),
        (
            [
                "check",
                "--baseline",
                "v1",
                "--candidate-version",
                "2",
                "--db",
                "a",
                "--url",
                "http://x",
            ],
            "not both",
        ),
        (["check", "--baseline", "v1", "--candidate-file", "/nonexistent.jsonl"], "is not a file"),
        (["check", "--baseline", "v1", "--candidate-version", "2"], "no analyzer database"),
        (
            [
                "check",
                "--baseline",
                "v1",
                "--candidate-version",
                "2",
                "--url",
                "http://127.0.0.1:9",
            ],
            "cannot reach",
        ),
        (["analyzer", "baseline", "create", "bad name", "--version", "1"], "is not allowed"),
    ],
)
def test_cli_mistakes_exit_2_with_a_message(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert fragment in result.output


def test_bad_settings_are_named(monkeypatch: pytest.MonkeyPatch, db: str) -> None:
    monkeypatch.setenv("MCP_AGENT_OTEL_ANALYZER_MAX_OPERATIONS", "lots")
    result = CliRunner().invoke(main, ["analyzer", "stats", "--db", db])
    assert result.exit_code == 2
    assert "MCP_AGENT_OTEL_ANALYZER_MAX_OPERATIONS='lots' is not a whole number" in result.output


def test_a_damaged_database_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"garbage" * 1000)
    result = CliRunner().invoke(main, ["analyzer", "stats", "--db", str(broken)])
    assert result.exit_code == 2
    assert "cannot open the analyzer database" in result.output


def test_serve_as_a_process_flushes_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    exe = str(Path(sys.executable).parent / "mcp-agent-otel")
    proc = subprocess.Popen(
        [exe, "analyzer", "serve", "--http-port", "0", "--grpc-port", "0", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("analyzer: OTLP/HTTP + API on http://127.0.0.1:"), line
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        body = request(lognormal_ms(300, 5.0, 0.5, 1), names="served").SerializeToString()
        r = httpx.post(
            f"{url}/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
        )
        assert r.status_code == 200
        proc.send_signal(signal.SIGTERM)  # before the 1 s write-behind interval has passed
        assert proc.wait(timeout=30) in (0, 128 + signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stats = CliRunner().invoke(main, ["analyzer", "stats", "--db", str(db), "--json"])
    assert json.loads(stats.stdout)["spans"]["accepted"] == 300


def test_serve_reports_a_busy_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            main, ["analyzer", "serve", "--http-port", str(port), "--db", str(tmp_path / "x.db")]
        )
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


def test_the_agents_own_spans_file_is_ingested(tmp_path: Path, db: str) -> None:
    """The embedded default writes spans.jsonl with tracing.export.OtlpJsonFileExporter; the
    analyzer reads exactly that format (hex ids, camelCase, integer enums)."""

    spans_file = tmp_path / "home" / "spans.jsonl"
    provider = TracerProvider(
        resource=Resource.create({"service.name": "mcp-agent-otel", "service.version": "0.9"})
    )
    provider.add_span_processor(SimpleSpanProcessor(OtlpJsonFileExporter(spans_file)))
    tracer = provider.get_tracer("mcp_agent_otel")
    with tracer.start_as_current_span("invoke_workflow autonomous_task"):
        for hit in (True, False, True):
            with tracer.start_as_current_span("task_analyzer.analyze") as span:
                span.set_attribute("mcp_agent.cache.hit", hit)
                span.set_attribute("mcp_agent.cache.result", "hit" if hit else "miss")
    provider.shutdown()

    result = CliRunner().invoke(main, ["analyzer", "ingest", str(spans_file), "--db", db])
    assert result.exit_code == 0, result.output
    assert "4 span(s) accepted, 0 rejected, 0 bad line(s)" in result.output
    stats = CliRunner().invoke(main, ["analyzer", "stats", "--db", db, "--json"])
    assert json.loads(stats.stdout)["versions"] == [
        {"version": "0.9", "environment": "", "spans": 4}
    ]

    with RegressionAnalyzer(
        AnalyzerConfig(db_path=Path(db)), background=False, sinks=[]
    ) as analyzer:
        ops = {o["name"]: o for o in analyzer.operations(since=0)}
    analyze = ops["task_analyzer.analyze"]
    assert (analyze["count"], analyze["cache_hits"], analyze["cache_misses"]) == (3, 2, 1)


def test_check_a_candidate_file_against_a_running_analyzer(tmp_path: Path) -> None:

    runner = CliRunner()
    with running_analyzer(tmp_path) as (analyzer, endpoints):
        baseline_file = _spans_file(tmp_path / "v1.jsonl", "1.0", 1.0, 2_000, 1)
        analyzer.ingest_files([baseline_file])
        created = runner.invoke(
            main,
            [
                "analyzer",
                "baseline",
                "create",
                "v1",
                "--version",
                "1.0",
                "--db",
                str(analyzer.config.db_path),
            ],
        )
        assert created.exit_code == 0, created.output
        slower = _spans_file(tmp_path / "v2.jsonl", "2.0", 1.25, 2_000, 2)
        gate = runner.invoke(
            main,
            [
                "check",
                "--baseline",
                "v1",
                "--candidate-file",
                str(slower),
                "--url",
                endpoints.http_url,
            ],
        )
        assert gate.exit_code == 1, gate.output
        assert "REGRESSION: 1 operation(s) regressed: agent :: stage.analyze" in gate.output
