"""Comparisons (``POST /api/comparisons``): a baseline against another baseline, a version, a
time range or posted durations, with the CI gate's verdict and exit code."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException

from mcp_agent_otel.regression.api.access import token_required
from mcp_agent_otel.regression.api.models import (
    CandidateSpec,
    ComparisonRequest,
    GateReportOut,
    errors,
)
from mcp_agent_otel.regression.api.times import time_param
from mcp_agent_otel.regression.baselines import Selector
from mcp_agent_otel.regression.gate import Candidate
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.regression.store import BaselineNotFoundError


def router(analyzer: RegressionAnalyzer) -> APIRouter:
    routes = APIRouter(tags=["comparisons"], dependencies=token_required(analyzer.tokens))

    @routes.post("/api/comparisons", response_model=GateReportOut, responses=errors(400, 404))
    def compare(body: ComparisonRequest) -> dict[str, Any]:
        """Compare a baseline with another baseline, a version, a time range or raw durations;
        the verdict and exit code are those of the CI gate."""
        spec = body.candidate
        now = time.time()
        try:
            candidate = _candidate(spec, body.service, now)
            report = analyzer.compare(
                body.baseline,
                candidate,
                service=body.service,
                threshold=body.threshold,
                alpha=body.alpha,
                min_samples=body.min_samples,
            )
        except BaselineNotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        except ValueError as exc:  # BaselineError, a candidate that is not exactly one thing
            raise HTTPException(400, str(exc)) from None
        return report.to_dict()

    return routes


def _candidate(spec: CandidateSpec, service: str | None, now: float) -> Candidate:
    if spec.operations is not None:
        if spec.baseline or spec.version is not None or spec.since or spec.until:
            raise ValueError("give either candidate operations or a baseline/version/range")
        durations: dict[OperationKey, list[float]] = {}
        for op in spec.operations:
            durations.setdefault(OperationKey(op.service, op.name), []).extend(op.durations_ms)
        return Candidate(
            durations={k: np.asarray(v, dtype=np.float64) for k, v in durations.items()},
            label="posted durations",
        )
    if spec.baseline is not None:
        if spec.version is not None or spec.since or spec.until:
            raise ValueError("give either a candidate baseline or a version/range, not both")
        return Candidate(baseline=spec.baseline)
    return Candidate(
        selector=Selector(
            version=spec.version,
            since=time_param(spec.since, "since", now),
            until=time_param(spec.until, "until", now),
            service=service,
            environment=spec.environment,
        )
    )
