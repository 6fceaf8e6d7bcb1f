"""Operations seen in a window (``GET /api/operations``) and one operation's trend per time
step (``GET /api/operations/{op_id}/trend``)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from mcp_agent_otel.regression.api.access import token_required
from mcp_agent_otel.regression.api.models import OperationOut, TrendOut, errors
from mcp_agent_otel.regression.api.times import time_param
from mcp_agent_otel.regression.operation import MAX_ID
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.regression.time_ranges import HELP as TIME_HELP


def router(analyzer: RegressionAnalyzer) -> APIRouter:
    routes = APIRouter(tags=["operations"], dependencies=token_required(analyzer.tokens))

    @routes.get("/api/operations", response_model=list[OperationOut], responses=errors(400))
    def operations(
        since: Annotated[str, Query(description=TIME_HELP, max_length=64)] = "-1h",
        until: Annotated[str | None, Query(description=TIME_HELP, max_length=64)] = None,
        service: str | None = None,
        version: str | None = None,
        environment: str | None = None,
    ) -> list[dict[str, Any]]:
        """Operations with spans in the window: counts, errors, p50/p95/p99, cache hit rate."""
        now = time.time()
        start = time_param(since, "since", now)
        assert start is not None
        return analyzer.operations(
            since=start,
            until=time_param(until, "until", now),
            service=service,
            version=version,
            environment=environment,
        )

    @routes.get(
        "/api/operations/{op_id}/trend", response_model=TrendOut, responses=errors(400, 404)
    )
    def trend(
        op_id: Annotated[int, Path(ge=1, le=MAX_ID)],
        since: Annotated[str, Query(description=TIME_HELP, max_length=64)] = "-1h",
        until: Annotated[str | None, Query(description=TIME_HELP, max_length=64)] = None,
        step: Annotated[int, Query(ge=1, le=7 * 86400, description="seconds per point")] = 60,
        version: str | None = None,
        environment: str | None = None,
    ) -> dict[str, Any]:
        """Per time step: count, errors, p50/p95/p99, cache hit rate, exemplar trace ids."""
        key = analyzer.store.operations().get(op_id)
        if key is None:
            raise HTTPException(404, f"no operation with id {op_id}; see GET /api/operations")
        now = time.time()
        start = time_param(since, "since", now)
        assert start is not None
        points = analyzer.trend(
            op_id,
            since=start,
            until=time_param(until, "until", now),
            step_seconds=step,
            version=version,
            environment=environment,
        )
        return {
            "id": op_id,
            "service": key.service,
            "name": key.name,
            "step_seconds": step,
            "points": points,
        }

    return routes
