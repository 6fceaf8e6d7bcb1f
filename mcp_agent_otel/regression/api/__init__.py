"""The analyzer's HTTP API (FastAPI): health, operations, trends, baselines, comparisons,
alerts and ingest stats, beside the OTLP/HTTP receiver and the dashboard. OpenAPI at
``/openapi.json``.

One router per resource, each in its own module (``meta``, ``operations``, ``baselines``,
``comparisons``, ``alerts``; ``receiver_http`` for OTLP, ``dashboard_routes`` for the pages);
``create_app`` assembles them behind the request guard. When a token is configured
(``MCP_AGENT_OTEL_ANALYZER_TOKEN``) every route except ``/api`` and ``/health`` requires
``Authorization: Bearer <token>``. ``GET /`` is the dashboard (with a token, a browser gives
it once through a form).
"""

from __future__ import annotations

from fastapi import FastAPI

from mcp_agent_otel._version import __version__
from mcp_agent_otel.regression import dashboard_routes, receiver_http
from mcp_agent_otel.regression.api import alerts, baselines, comparisons, meta, operations
from mcp_agent_otel.regression.http_guard import RequestGuard
from mcp_agent_otel.regression.runtime import RegressionAnalyzer

__all__ = ["create_app"]


def create_app(analyzer: RegressionAnalyzer, bind_host: str | None = None) -> FastAPI:
    """The app; ``bind_host``, the address the server listens on, is an allowed Host too."""
    app = FastAPI(
        title="mcp-agent-otel regression analyzer",
        version=__version__,
        description=(
            "OTLP trace receiver and statistical latency-regression analyzer. "
            "Send traces to POST /v1/traces (OTLP/HTTP) or the OTLP/gRPC port."
        ),
    )
    config = analyzer.config.serving_on(bind_host) if bind_host else analyzer.config
    app.add_middleware(
        RequestGuard,
        allowed_hosts=config.allowed_hosts,
        tokens=analyzer.tokens,
        max_api_body=analyzer.config.max_api_body_bytes,
    )
    for router in (
        receiver_http.router(analyzer.ingestor, analyzer.tokens),
        meta.router(analyzer),
        dashboard_routes.router(analyzer),
        operations.router(analyzer),
        baselines.router(analyzer),
        comparisons.router(analyzer),
        alerts.router(analyzer),
    ):
        app.include_router(router)
    return app
