"""Named baselines: list, create (a snapshot of a version or a time range), read, delete."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from mcp_agent_otel.regression.api.access import token_required
from mcp_agent_otel.regression.api.models import BaselineCreate, BaselineOut, DeletedOut, errors
from mcp_agent_otel.regression.api.times import time_param
from mcp_agent_otel.regression.baselines import BaselineError, Selector
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.regression.store import BaselineExistsError, BaselineNotFoundError


def router(analyzer: RegressionAnalyzer) -> APIRouter:
    routes = APIRouter(tags=["baselines"], dependencies=token_required(analyzer.tokens))

    @routes.get("/api/baselines", response_model=list[BaselineOut], responses=errors())
    def list_baselines() -> list[dict[str, Any]]:
        return [b.to_dict() for b in analyzer.list_baselines()]

    @routes.post(
        "/api/baselines", status_code=201, response_model=BaselineOut, responses=errors(400, 409)
    )
    def create_baseline(body: BaselineCreate) -> dict[str, Any]:
        """Snapshot the spans of a version (or of a time range) into a named baseline."""
        now = time.time()
        try:
            selector = Selector(
                version=body.version,
                since=time_param(body.since, "since", now),
                until=time_param(body.until, "until", now),
                service=body.service,
                environment=body.environment,
            )
            return analyzer.create_baseline(body.name, selector).to_dict()
        except BaselineExistsError as exc:
            raise HTTPException(409, str(exc)) from None
        except BaselineError as exc:
            raise HTTPException(400, str(exc)) from None

    @routes.get("/api/baselines/{name}", response_model=BaselineOut, responses=errors(404))
    def get_baseline(name: Annotated[str, Path(max_length=200)]) -> dict[str, Any]:
        try:
            return analyzer.get_baseline(name).to_dict()
        except BaselineNotFoundError as exc:
            raise HTTPException(404, str(exc)) from None

    @routes.delete("/api/baselines/{name}", response_model=DeletedOut, responses=errors(404))
    def delete_baseline(name: Annotated[str, Path(max_length=200)]) -> dict[str, str]:
        try:
            analyzer.delete_baseline(name)
        except BaselineNotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"deleted": name}

    return routes
