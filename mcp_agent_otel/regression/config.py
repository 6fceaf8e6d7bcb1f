"""The analyzer's settings: one frozen dataclass, read from ``MCP_AGENT_OTEL_ANALYZER_*``.

Every limit the receiver enforces (body size, absurd durations, the operation cap,
retention) is here, so a refusal message can name the setting that caused it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from mcp_agent_otel.env_flags import FALSE_WORDS
from mcp_agent_otel.errors import ConfigError
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.setup import home_dir

DEFAULT_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 4418  # OTLP/HTTP + API + dashboard (beside the collector's 4318)
DEFAULT_GRPC_PORT = 4417  # OTLP/gRPC (beside the collector's 4317)
DB_FILENAME = "analyzer.db"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WILDCARD_BIND = ("0.0.0.0", "::", "")


class AnalyzerConfigError(ConfigError):
    """A setting that cannot be used; the message names it and says what is expected."""


@dataclasses.dataclass(frozen=True)
class AnalyzerConfig:
    db_path: Path
    bucket_seconds: int = 60
    relative_accuracy: float = 0.005  # DDSketch alpha: p50/p95/p99 within 0.5% (target <= 1%)
    reservoir_size: int = 2000  # raw durations kept per (operation, version, environment)
    retention_seconds: float = 7 * 86400.0
    max_operations: int = 1000  # cardinality cap: spans of further new operations are refused
    # ... unless an operation has been idle this long: the least recently active is evicted
    operation_idle_seconds: float = 3600.0
    max_duration_seconds: float = 86400.0  # longer spans are refused as absurd
    max_future_seconds: float = 3600.0  # spans ending further ahead than this are refused
    max_body_bytes: int = 8 * 1024 * 1024  # compressed request body (413 above)
    max_decompressed_bytes: int = 64 * 1024 * 1024  # after gzip (413 above)
    max_api_body_bytes: int = 16 * 1024 * 1024  # POST /api/comparisons (other routes: 64 KiB)
    # Host header names the HTTP server answers to (421 otherwise); "*" turns the check off.
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    flush_interval_seconds: float = 1.0  # write-behind: pending aggregates reach SQLite by then
    flush_max_spans: int = 100_000  # ... or as soon as this many spans are pending
    # Back-pressure: above this many pending spans (the store cannot write or keep up),
    # export requests get 503 + Retry-After (gRPC UNAVAILABLE) instead of being taken.
    max_pending_spans: int = 400_000
    durable: bool = True  # fsynced ingest spool: a span answered 200/OK survives kill -9
    detector_threshold: float = 0.10
    detector_cooldown: int = 500
    token: str | None = None
    webhook_url: str | None = None
    webhook_timeout_seconds: float = 5.0
    webhook_retries: int = 3
    webhook_queue_size: int = 1000
    seed: int = 20240601

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (self.bucket_seconds >= 1, "bucket_seconds must be >= 1"),
            (0 < self.relative_accuracy < 0.05, "relative_accuracy must be in (0, 0.05)"),
            (self.reservoir_size >= 10, "reservoir_size must be >= 10"),
            (self.retention_seconds > 0, "retention must be positive"),
            (self.max_operations >= 1, "max_operations must be >= 1"),
            (self.operation_idle_seconds > 0, "operation_idle_seconds must be positive"),
            (self.max_duration_seconds > 0, "max_duration_seconds must be positive"),
            (self.max_body_bytes >= 1024, "max_body_bytes must be >= 1024"),
            (self.max_api_body_bytes >= 1024, "max_api_body_bytes must be >= 1024"),
            (bool(self.allowed_hosts), "allowed_hosts must name at least one host (or *)"),
            (self.max_decompressed_bytes >= self.max_body_bytes, "max_decompressed_bytes too low"),
            (self.flush_interval_seconds > 0, "flush_interval_seconds must be positive"),
            (self.flush_max_spans >= 1, "flush_max_spans must be >= 1"),
            (self.max_pending_spans >= 1, "max_pending_spans must be >= 1"),
            (0 < self.detector_threshold < 10, "detector_threshold must be in (0, 10)"),
            (self.webhook_retries >= 0, "webhook_retries must be >= 0"),
            (self.webhook_queue_size >= 1, "webhook_queue_size must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise AnalyzerConfigError(f"invalid analyzer setting: {message}")

    def with_changes(self, **changes: object) -> AnalyzerConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def serving_on(self, host: str) -> AnalyzerConfig:
        """These settings for a server bound to ``host``: a named bind address is an allowed
        Host too (a wildcard bind is not: name the hosts in ALLOWED_HOSTS)."""
        if host in WILDCARD_BIND or host in self.allowed_hosts:
            return self
        return self.with_changes(allowed_hosts=(*self.allowed_hosts, host))


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """``$MCP_AGENT_OTEL_ANALYZER_DB``, else ``$MCP_AGENT_OTEL_HOME/analyzer.db``."""
    env = os.environ if env is None else env
    explicit = env.get(semconv.ENV_ANALYZER_DB)
    return Path(explicit) if explicit else home_dir(env) / DB_FILENAME


def _number(env: Mapping[str, str], key: str, default: float, kind: type = float) -> float:
    raw = env.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        return float(kind(raw.strip()))
    except ValueError:
        raise AnalyzerConfigError(
            f"{key}={raw!r} is not a {'whole ' if kind is int else ''}number; "
            f"unset it or give e.g. {key}={kind(default)}"
        ) from None


def config_from_env(
    env: Mapping[str, str] | None = None, db_path: str | os.PathLike[str] | None = None
) -> AnalyzerConfig:
    """Settings from ``MCP_AGENT_OTEL_ANALYZER_*`` (defaults for anything unset)."""
    env = os.environ if env is None else env
    base = AnalyzerConfig(db_path=Path(db_path) if db_path else default_db_path(env))
    token = (env.get(semconv.ENV_ANALYZER_TOKEN) or "").strip() or None
    webhook = (env.get(semconv.ENV_ANALYZER_WEBHOOK) or "").strip() or None
    body = int(_number(env, semconv.ENV_ANALYZER_MAX_BODY_BYTES, base.max_body_bytes, int))
    durable = (env.get(semconv.ENV_ANALYZER_DURABLE) or "").strip().lower() not in FALSE_WORDS
    extra_hosts = [
        h.strip().lower()
        for h in (env.get(semconv.ENV_ANALYZER_ALLOWED_HOSTS) or "").split(",")
        if h.strip()
    ]
    return base.with_changes(
        token=token,
        allowed_hosts=(*base.allowed_hosts, *extra_hosts),
        max_api_body_bytes=int(
            _number(env, semconv.ENV_ANALYZER_MAX_API_BODY_BYTES, base.max_api_body_bytes, int)
        ),
        durable=durable,
        max_pending_spans=int(
            _number(env, semconv.ENV_ANALYZER_MAX_PENDING_SPANS, base.max_pending_spans, int)
        ),
        webhook_url=webhook,
        max_operations=int(
            _number(env, semconv.ENV_ANALYZER_MAX_OPERATIONS, base.max_operations, int)
        ),
        operation_idle_seconds=_number(
            env, semconv.ENV_ANALYZER_OPERATION_IDLE_S, base.operation_idle_seconds
        ),
        retention_seconds=_number(
            env, semconv.ENV_ANALYZER_RETENTION_DAYS, base.retention_seconds / 86400.0
        )
        * 86400.0,
        max_duration_seconds=_number(
            env, semconv.ENV_ANALYZER_MAX_DURATION_S, base.max_duration_seconds
        ),
        max_body_bytes=body,
        max_decompressed_bytes=max(base.max_decompressed_bytes, 8 * body),
    )
