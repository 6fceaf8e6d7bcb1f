"""About the service: pointers (``/api``), health (``/health``, open to all, 503 when the
store cannot take spans) and the ingest counters (``/api/stats``, guarded)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mcp_agent_otel._version import __version__
from mcp_agent_otel.regression import receiver_http
from mcp_agent_otel.regression.api.access import token_required
from mcp_agent_otel.regression.api.models import HealthOut, errors
from mcp_agent_otel.regression.runtime import RegressionAnalyzer


def router(analyzer: RegressionAnalyzer) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api", tags=["meta"], summary="Pointers to the API docs and the dashboard")
    def root() -> dict[str, str]:
        return {
            "service": "mcp-agent-otel regression analyzer",
            "docs": "/docs",
            "openapi": "/openapi.json",
            "otlp_http": receiver_http.PATH,
            "dashboard": "/",
        }

    @routes.get(
        "/health",
        tags=["meta"],
        response_model=HealthOut,
        responses={503: {"model": HealthOut, "description": "the store cannot take spans"}},
    )
    def health() -> JSONResponse:
        state = {**analyzer.health(), "version": __version__}
        return JSONResponse(state, status_code=200 if state["status"] == "ok" else 503)

    @routes.get(
        "/api/stats",
        tags=["ingest"],
        dependencies=token_required(analyzer.tokens),
        responses=errors(),
    )
    def stats() -> dict[str, Any]:
        """Accepted and refused spans (by reason), invalid requests, alerts, storage, webhook."""
        return analyzer.stats()

    return routes
