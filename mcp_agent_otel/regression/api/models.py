"""The HTTP API's request and response models (pydantic) and the error responses each route
declares in OpenAPI."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mcp_agent_otel.regression import otlp, statistics
from mcp_agent_otel.regression.time_ranges import HELP as TIME_HELP

MAX_CANDIDATE_DURATIONS = 1_000_000


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
    design: str = Field(
        "independent", description="independent spans, several runs, or paired A/B blocks"
    )
    baseline_runs: int = 1
    candidate_runs: int = 1
    run_noise: float | None = Field(
        None, description="run-to-run noise of the level (relative) when runs widened it"
    )


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


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route can answer with."""
    return {
        code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in (401, 403, *codes)
    }
