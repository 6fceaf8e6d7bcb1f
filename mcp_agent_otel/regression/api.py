"""The analyzer's HTTP API (FastAPI): health, operations, trends, baselines, comparisons,
alerts and ingest stats, beside the OTLP/HTTP receiver. OpenAPI at ``/openapi.json``.

When a token is configured (``MCP_AGENT_OTEL_ANALYZER_TOKEN``) every route except ``/api`` and
``/health`` requires ``Authorization: Bearer <token>``. ``GET /`` is the dashboard
(``dashboard_routes``; with a token, a browser gives it once through a form).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from mcp_agent_otel._version import __version__
from mcp_agent_otel.regression import dashboard_routes, otlp, receiver_http, statistics
from mcp_agent_otel.regression.auth import FORBIDDEN_MESSAGE
from mcp_agent_otel.regression.baselines import BaselineError, Selector
from mcp_agent_otel.regression.gate import Candidate
from mcp_agent_otel.regression.http_guard import RequestGuard
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.regression.store import BaselineExistsError, BaselineNotFoundError
from mcp_agent_otel.regression.time_ranges import HELP as TIME_HELP
from mcp_agent_otel.regression.time_ranges import TimeSpecError, parse_time

MAX_CANDIDATE_DURATIONS = 1_000_000
MAX_ID = 2**62

_bearer = HTTPBearer(auto_error=False, description="MCP_AGENT_OTEL_ANALYZER_TOKEN, when set")


# --- request and response models --------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BaselineCreate(_Strict):
    name: str = Field(description="1-100 letters, digits, '.', '_' or '-'", max_length=100)
    version: str | None = Field(default=None, description="service.version to snapshot")
    since: str | None = Field(default=None, description=f"start of a time range: {TIME_HELP}")
    until: str | None = Field(default=None, description=f"end of a time range: {TIME_HELP}")
    service: str | None = None
    environment: str | None = None


class CandidateOperation(_Strict):
    service: str = Field(max_length=otlp.MAX_RESOURCE_VALUE_CHARS)
    name: str = Field(max_length=otlp.MAX_SPAN_NAME_CHARS)
    durations_ms: list[float] = Field(max_length=MAX_CANDIDATE_DURATIONS)


class CandidateSpec(_Strict):
    """Exactly one of: ``baseline``; ``version``; ``since`` + ``until``; ``operations``."""

    baseline: str | None = None
    version: str | None = None
    since: str | None = None
    until: str | None = None
    environment: str | None = None
    operations: list[CandidateOperation] | None = Field(default=None, max_length=100_000)


class ComparisonRequest(_Strict):
    baseline: str = Field(max_length=100)
    candidate: CandidateSpec
    service: str | None = None
    threshold: float = Field(default=statistics.DEFAULT_THRESHOLD, gt=0, lt=10)
    alpha: float = Field(default=statistics.DEFAULT_ALPHA, gt=0, lt=0.5)
    min_samples: int = Field(default=statistics.DEFAULT_MIN_SAMPLES, ge=2, le=1_000_000)


class BaselineOut(BaseModel):
    name: str
    created: float
    created_iso: str
    source: dict[str, Any]
    operations: int
    spans: int


class ComparisonOut(BaseModel):
    operation: str
    baseline_n: int
    candidate_n: int
    ratio: float | None
    ratio_ci_low: float | None
    ratio_ci_high: float | None
    p_value: float | None
    p_adjusted: float | None
    verdict: str
    threshold: float
    required_n: int | None
    reason: str
    alpha: float
    confidence: float


class GateReportOut(BaseModel):
    baseline: str
    candidate: str
    verdict: str = Field(description="pass | regression | inconclusive")
    exit_code: int = Field(description="what `mcp-agent-otel check` exits with: 0, 1 or 2")
    message: str
    threshold: float
    alpha: float
    comparisons: list[ComparisonOut]
    only_in_baseline: list[str]
    only_in_candidate: list[str]


class AlertOut(BaseModel):
    id: int | None
    created: float
    service: str
    name: str
    baseline: str
    estimated_ratio: float
    statistic: float
    baseline_median_ms: float
    span_index: int
    message: str
    version: str
    environment: str
    trace_id: str


class ExemplarOut(BaseModel):
    trace_id: str
    span_id: str
    duration_ms: float
    time: float


class ExemplarsOut(BaseModel):
    slow: list[ExemplarOut]
    error: list[ExemplarOut]


class SummaryOut(BaseModel):
    count: int
    errors: int
    error_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    min_ms: float | None
    max_ms: float | None
    cache_hits: int
    cache_misses: int
    cache_hit_rate: float | None
    exemplars: ExemplarsOut


class OperationOut(SummaryOut):
    id: int
    service: str
    name: str
    operation: str
    versions: list[str]
    environments: list[str]
    last_seen: str


class TrendPointOut(SummaryOut):
    start: int
    start_iso: str


class TrendOut(BaseModel):
    id: int
    service: str
    name: str
    step_seconds: int
    points: list[TrendPointOut]


class StoreHealthOut(BaseModel):
    writable: bool
    problem: str | None = Field(description="why spans cannot be written now (None: they can)")
    pending_spans: int = Field(description="accepted spans not yet in the database")
    max_pending_spans: int = Field(description="above this, exports get 503 + Retry-After")


class HealthOut(BaseModel):
    status: str = Field(
        description="ok, or unavailable (answered with 503) when the store cannot take spans"
    )
    version: str
    store: StoreHealthOut


class DeletedOut(BaseModel):
    deleted: str


class ErrorOut(BaseModel):
    detail: str = Field(description="what was wrong and what to do")


_DESCRIPTIONS = {
    400: "the request cannot be honoured (the message says why)",
    401: "a bearer token is required (MCP_AGENT_OTEL_ANALYZER_TOKEN is set)",
    403: "the bearer token is wrong",
    404: "not found",
    409: "the name is taken",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route can answer with."""
    return {
        code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in (401, 403, *codes)
    }


# --- the app -----------------------------------------------------------------------------------
def _time(value: str | None, name: str, now: float) -> float | None:
    if value is None:
        return None
    try:
        return parse_time(value, now)
    except TimeSpecError as exc:
        raise HTTPException(400, f"{name}: {exc}") from None


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

    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> None:
        header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
        problem = analyzer.tokens.problem(header)
        if problem is not None:
            raise HTTPException(
                403 if problem == FORBIDDEN_MESSAGE else 401,
                problem,
                headers={"WWW-Authenticate": "Bearer"},
            )

    app.add_middleware(
        RequestGuard,
        allowed_hosts=(
            analyzer.config.serving_on(bind_host) if bind_host else analyzer.config
        ).allowed_hosts,
        tokens=analyzer.tokens,
        max_api_body=analyzer.config.max_api_body_bytes,
    )
    receiver_http.add_routes(app, analyzer.ingestor, analyzer.tokens)
    guarded = [Depends(require_token)]

    @app.get("/api", tags=["meta"], summary="Pointers to the API docs and the dashboard")
    def root() -> dict[str, str]:
        return {
            "service": "mcp-agent-otel regression analyzer",
            "docs": "/docs",
            "openapi": "/openapi.json",
            "otlp_http": receiver_http.PATH,
            "dashboard": "/",
        }

    dashboard_routes.add_routes(app, analyzer)  # GET / (HTML), per-operation pages

    @app.get(
        "/health",
        tags=["meta"],
        response_model=HealthOut,
        responses={503: {"model": HealthOut, "description": "the store cannot take spans"}},
    )
    def health() -> JSONResponse:
        state = {**analyzer.health(), "version": __version__}
        return JSONResponse(state, status_code=200 if state["status"] == "ok" else 503)

    @app.get("/api/stats", tags=["ingest"], dependencies=guarded, responses=_errors())
    def stats() -> dict[str, Any]:
        """Accepted and refused spans (by reason), invalid requests, alerts, storage, webhook."""
        return analyzer.stats()

    @app.get(
        "/api/operations",
        tags=["operations"],
        dependencies=guarded,
        response_model=list[OperationOut],
        responses=_errors(400),
    )
    def operations(
        since: Annotated[str, Query(description=TIME_HELP, max_length=64)] = "-1h",
        until: Annotated[str | None, Query(description=TIME_HELP, max_length=64)] = None,
        service: str | None = None,
        version: str | None = None,
        environment: str | None = None,
    ) -> list[dict[str, Any]]:
        """Operations with spans in the window: counts, errors, p50/p95/p99, cache hit rate."""
        now = time.time()
        start = _time(since, "since", now)
        assert start is not None
        return analyzer.operations(
            since=start,
            until=_time(until, "until", now),
            service=service,
            version=version,
            environment=environment,
        )

    @app.get(
        "/api/operations/{op_id}/trend",
        tags=["operations"],
        dependencies=guarded,
        response_model=TrendOut,
        responses=_errors(400, 404),
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
        start = _time(since, "since", now)
        assert start is not None
        points = analyzer.trend(
            op_id,
            since=start,
            until=_time(until, "until", now),
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

    @app.get(
        "/api/baselines",
        tags=["baselines"],
        dependencies=guarded,
        response_model=list[BaselineOut],
        responses=_errors(),
    )
    def list_baselines() -> list[dict[str, Any]]:
        return [b.to_dict() for b in analyzer.list_baselines()]

    @app.post(
        "/api/baselines",
        tags=["baselines"],
        dependencies=guarded,
        status_code=201,
        response_model=BaselineOut,
        responses=_errors(400, 409),
    )
    def create_baseline(body: BaselineCreate) -> dict[str, Any]:
        """Snapshot the spans of a version (or of a time range) into a named baseline."""
        now = time.time()
        try:
            selector = Selector(
                version=body.version,
                since=_time(body.since, "since", now),
                until=_time(body.until, "until", now),
                service=body.service,
                environment=body.environment,
            )
            return analyzer.create_baseline(body.name, selector).to_dict()
        except BaselineExistsError as exc:
            raise HTTPException(409, str(exc)) from None
        except BaselineError as exc:
            raise HTTPException(400, str(exc)) from None

    @app.get(
        "/api/baselines/{name}",
        tags=["baselines"],
        dependencies=guarded,
        response_model=BaselineOut,
        responses=_errors(404),
    )
    def get_baseline(name: Annotated[str, Path(max_length=200)]) -> dict[str, Any]:
        try:
            return analyzer.get_baseline(name).to_dict()
        except BaselineNotFoundError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.delete(
        "/api/baselines/{name}",
        tags=["baselines"],
        dependencies=guarded,
        response_model=DeletedOut,
        responses=_errors(404),
    )
    def delete_baseline(name: Annotated[str, Path(max_length=200)]) -> dict[str, str]:
        try:
            analyzer.delete_baseline(name)
        except BaselineNotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"deleted": name}

    @app.post(
        "/api/comparisons",
        tags=["comparisons"],
        dependencies=guarded,
        response_model=GateReportOut,
        responses=_errors(400, 404),
    )
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

    @app.get(
        "/api/alerts",
        tags=["alerts"],
        dependencies=guarded,
        response_model=list[AlertOut],
        responses=_errors(400),
    )
    def alerts(
        since: Annotated[str | None, Query(description=TIME_HELP, max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        """Regressions the live detectors raised, newest first."""
        start = _time(since, "since", time.time())
        return [a.to_dict() for a in analyzer.recent_alerts(since=start, limit=limit)]

    return app


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
            since=_time(spec.since, "since", now),
            until=_time(spec.until, "until", now),
            service=service,
            environment=spec.environment,
        )
    )
