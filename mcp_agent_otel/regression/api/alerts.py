"""Regressions the live detectors raised (``GET /api/alerts``), newest first."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from mcp_agent_otel.regression.api.access import token_required
from mcp_agent_otel.regression.api.models import AlertOut, errors
from mcp_agent_otel.regression.api.times import time_param
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.regression.time_ranges import HELP as TIME_HELP


def router(analyzer: RegressionAnalyzer) -> APIRouter:
    routes = APIRouter(tags=["alerts"], dependencies=token_required(analyzer.tokens))

    @routes.get("/api/alerts", response_model=list[AlertOut], responses=errors(400))
    def alerts(
        since: Annotated[str | None, Query(description=TIME_HELP, max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        """Regressions the live detectors raised, newest first."""
        start = time_param(since, "since", time.time())
        return [a.to_dict() for a in analyzer.recent_alerts(since=start, limit=limit)]

    return routes
