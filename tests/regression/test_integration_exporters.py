"""End to end: the real OTel SDK and its real OTLP exporters (http/protobuf and gRPC) send
spans to a real analyzer on loopback; answers are read back through the API and through the
CI gate (`mcp-agent-otel check`), whose exit codes are 0 pass, 1 regression, 2 inconclusive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from click.testing import CliRunner
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from mcp_agent_otel.cli import main

from .loopback import running_analyzer


def _emit(exporter: SpanExporter, version: str, durations: dict[str, np.ndarray]) -> None:
    """Spans with exact durations through a private SDK provider (the global one is the test
    session's in-memory provider)."""
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": "shop",
                "service.version": version,
                "deployment.environment.name": "ci",
            }
        )
    )
    provider.add_span_processor(
        BatchSpanProcessor(exporter, max_queue_size=10_000, max_export_batch_size=512)
    )
    tracer = provider.get_tracer("integration-test")
    end = time.time_ns() - 5_000_000
    for name, values in durations.items():
        for ms in values:
            span = tracer.start_span(name, start_time=end - int(ms * 1e6))
            span.end(end_time=end)
    assert provider.force_flush(30_000)
    provider.shutdown()


def _durations(seed: int, checkout_factor: float, n: int = 600) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "checkout": rng.lognormal(np.log(20.0), 0.5, n) * checkout_factor,
        "search": rng.lognormal(np.log(8.0), 0.5, n),
    }


def test_real_exporters_api_and_ci_gate(tmp_path: Path) -> None:
    runner = CliRunner()
    with running_analyzer(tmp_path) as (analyzer, endpoints):
        db = str(analyzer.config.db_path)
        _emit(
            HttpExporter(endpoint=f"{endpoints.http_url}/v1/traces"),
            "1.0",
            _durations(1, 1.0, n=2_000),
        )
        _emit(
            GrpcExporter(endpoint=endpoints.grpc_target, insecure=True), "2.0", _durations(2, 1.25)
        )
        _emit(
            HttpExporter(endpoint=f"{endpoints.http_url}/v1/traces"),
            "1.1",
            _durations(3, 1.0, n=2_000),
        )
        _emit(
            GrpcExporter(endpoint=endpoints.grpc_target, insecure=True),
            "1.2",
            _durations(4, 1.0, n=12),
        )

        with httpx.Client(base_url=endpoints.http_url) as client:
            ops = {o["name"]: o for o in client.get("/api/operations").json()}
            assert ops["checkout"]["count"] == 2_000 * 2 + 600 + 12
            assert ops["checkout"]["versions"] == ["1.0", "1.1", "1.2", "2.0"]
            assert ops["checkout"]["environments"] == ["ci"]
            stats = client.get("/api/stats").json()
            assert stats["spans"] == {"accepted": 2 * (4_600 + 12), "rejected": 0}

        created = runner.invoke(
            main, ["analyzer", "baseline", "create", "v1", "--version", "1.0", "--db", db]
        )
        assert created.exit_code == 0, created.output
        assert "baseline v1: 2 operation(s), 4000 span(s)" in created.output

        regression = runner.invoke(
            main, ["check", "--baseline", "v1", "--candidate-version", "2.0", "--db", db]
        )
        assert regression.exit_code == 1, regression.output
        assert "REGRESSION: 1 operation(s) regressed: shop :: checkout" in regression.output
        assert "no_change" in regression.output

        passing = runner.invoke(
            main, ["check", "--baseline", "v1", "--candidate-version", "1.1", "--db", db, "--json"]
        )
        assert passing.exit_code == 0, passing.output
        report = json.loads(passing.stdout)
        assert report["verdict"] == "pass"
        assert {c["verdict"] for c in report["comparisons"]} == {"no_change"}

        undecided = runner.invoke(
            main,
            [
                "check",
                "--baseline",
                "v1",
                "--candidate-version",
                "1.2",
                "--url",
                endpoints.http_url,
            ],
        )
        assert undecided.exit_code == 2, undecided.output
        assert "INCONCLUSIVE" in undecided.output

        over_http = runner.invoke(
            main,
            [
                "check",
                "--baseline",
                "v1",
                "--candidate-version",
                "2.0",
                "--url",
                endpoints.http_url,
            ],
        )
        assert over_http.exit_code == 1
        assert "shop :: checkout" in over_http.output

        missing = runner.invoke(
            main, ["check", "--baseline", "nope", "--candidate-version", "2.0", "--db", db]
        )
        assert missing.exit_code == 2
        assert "no baseline named 'nope'" in missing.output

        # the same gate as a real process, as CI runs it
        proc = subprocess.run(
            [
                str(Path(sys.executable).parent / "mcp-agent-otel"),
                "check",
                "--baseline",
                "v1",
                "--candidate-version",
                "2.0",
                "--url",
                endpoints.http_url,
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ},
        )
        assert proc.returncode == 1, proc.stderr
        assert json.loads(proc.stdout)["verdict"] == "regression"
