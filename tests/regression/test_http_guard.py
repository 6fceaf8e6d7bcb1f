"""The checks every HTTP request passes before a route runs (pure: ``http_guard.check``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_agent_otel.regression.auth import TokenCheck
from mcp_agent_otel.regression.config import LOOPBACK_HOSTS, AnalyzerConfig, config_from_env
from mcp_agent_otel.regression.http_guard import check, host_name

MB = 1024 * 1024


def _check(method: str, path: str, token: str | None = None, **headers: str) -> int | None:
    refusal = check(
        method,
        path,
        {k.replace("_", "-"): v for k, v in headers.items()},
        allowed_hosts=LOOPBACK_HOSTS,
        tokens=TokenCheck(token),
        max_api_body=16 * MB,
    )
    return None if refusal is None else refusal.status


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("127.0.0.1:4418", "127.0.0.1"),
        ("LOCALHOST", "localhost"),
        ("[::1]:4418", "::1"),
        ("::1", "::1"),
        ("attacker.example:80", "attacker.example"),
    ],
)
def test_host_names_are_read_without_port_or_brackets(header: str, name: str) -> None:
    assert host_name(header) == name


def test_a_foreign_host_is_misdirected_everywhere() -> None:
    for method, path in (("GET", "/api/stats"), ("GET", "/"), ("POST", "/v1/traces")):
        assert _check(method, path, host="attacker.example") == 421
        assert _check(method, path, host="127.0.0.1:4418") is None
    assert _check("GET", "/health") == 421  # no Host at all: not ours either


def test_a_foreign_origin_may_not_change_state() -> None:
    ok = {"host": "127.0.0.1:4418"}
    assert _check("DELETE", "/api/baselines/x", origin="http://evil.example", **ok) == 403
    assert _check("POST", "/api/baselines", origin="null", **ok) == 403
    assert _check("DELETE", "/api/baselines/x", origin="http://127.0.0.1:4418", **ok) is None
    assert _check("GET", "/api/stats", origin="http://evil.example", **ok) is None  # read only


def test_the_token_is_checked_before_the_body() -> None:
    ok = {"host": "localhost"}
    assert _check("POST", "/api/comparisons", "t", content_length=str(100 * MB), **ok) == 401
    assert _check("POST", "/api/comparisons", "t", authorization="Bearer x", **ok) == 403
    assert _check("GET", "/api", "t", **ok) is None  # the index and /health stay open
    assert _check("GET", "/health", "t", **ok) is None


@pytest.mark.parametrize(
    ("path", "size", "status"),
    [
        ("/api/comparisons", 16 * MB, None),
        ("/api/comparisons", 16 * MB + 1, 413),
        ("/api/baselines", 64 * 1024, None),
        ("/api/baselines", 64 * 1024 + 1, 413),
        ("/dashboard/login", 4097, 413),
        ("/health", 100 * MB, 413),
        ("/v1/traces", 100 * MB, None),  # the receiver reads with its own limit (and 413)
    ],
)
def test_every_route_has_a_body_limit(path: str, size: int, status: int | None) -> None:
    assert _check("POST", path, host="localhost", content_length=str(size)) == status


def test_a_body_without_a_length_is_refused_except_for_otlp() -> None:
    chunked = {"host": "localhost", "transfer_encoding": "chunked"}
    assert _check("POST", "/api/comparisons", **chunked) == 411
    assert _check("POST", "/v1/traces", **chunked) is None


def test_the_bind_address_and_configured_names_are_allowed() -> None:
    config = AnalyzerConfig(db_path=None)  # type: ignore[arg-type]
    assert config.serving_on("10.0.0.5").allowed_hosts == (*LOOPBACK_HOSTS, "10.0.0.5")
    assert config.serving_on("0.0.0.0").allowed_hosts == LOOPBACK_HOSTS


def test_allowed_hosts_come_from_the_environment(tmp_path: Path) -> None:
    config = config_from_env(
        {"MCP_AGENT_OTEL_ANALYZER_ALLOWED_HOSTS": " analyzer.internal, Grafana.Example ,"},
        db_path=tmp_path / "a.db",
    )
    assert config.allowed_hosts == (*LOOPBACK_HOSTS, "analyzer.internal", "grafana.example")
