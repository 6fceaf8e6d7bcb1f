"""Build an SDK TracerProvider from OpenTelemetry's own environment variables.

The only module (with the CLI) that touches the SDK. ``configure_tracing`` honours
``OTEL_SDK_DISABLED``, ``OTEL_SERVICE_NAME``/``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER``(``_ARG``), ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`` and
``OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`` (``grpc`` or ``http/protobuf``). It never replaces
a TracerProvider the user already installed, and flushes on exit.

The embedded default: with no OTLP endpoint set, spans are appended as OTLP JSON lines to
``$MCP_AGENT_OTEL_HOME/spans.jsonl`` (default ``./.mcp-agent-otel/spans.jsonl``), rotated at
``MCP_AGENT_OTEL_SPANS_FILE_MAX_MB`` (default 16) with ``MCP_AGENT_OTEL_SPANS_FILE_BACKUPS``
(default 3) backups kept: at most 64 MB.

At exit (``TracingHandle.shutdown`` with a time bound) each queued batch gets one attempt:
an unreachable endpoint is not retried with backoff, so it costs the exit no more than the
bound, and the spans it could not take are counted in ``loss_report``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.sampling import Sampler

from mcp_agent_otel._version import __version__
from mcp_agent_otel.env_flags import env_flag
from mcp_agent_otel.errors import ConfigError
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.export import (
    DEFAULT_BACKUPS,
    DEFAULT_MAX_BYTES,
    CountingBatchSpanProcessor,
    LossCountingExporter,
    OtlpJsonFileExporter,
)

DEFAULT_SERVICE_NAME = "mcp-agent-otel"


class TracingConfigError(ConfigError):
    """An OTEL_* or MCP_AGENT_OTEL_* setting that cannot be used; the message says which."""


def home_dir(env: Mapping[str, str] | None = None) -> Path:
    """The project's state directory: ``$MCP_AGENT_OTEL_HOME`` or ``./.mcp-agent-otel``."""
    env = os.environ if env is None else env
    return Path(env.get(semconv.ENV_HOME) or ".mcp-agent-otel")


def otlp_endpoint(env: Mapping[str, str]) -> str | None:
    return (
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or None
    )


def otlp_protocol(env: Mapping[str, str]) -> str:
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol not in {"grpc", "http/protobuf"}:
        raise TracingConfigError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported: use 'grpc' or "
            "'http/protobuf' (http/json is not offered by the OpenTelemetry Python exporters)"
        )
    return protocol


def _otlp_exporter(env: Mapping[str, str]) -> SpanExporter:
    # The exporters read endpoint, headers, timeout, compression and TLS from OTEL_* themselves.
    if otlp_protocol(env) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    return HttpExporter()


@dataclasses.dataclass
class TracingHandle:
    """What ``configure_tracing`` set up. ``owned`` is False when the user's provider was kept."""

    provider: trace.TracerProvider | None
    owned: bool
    exporters: tuple[LossCountingExporter, ...] = ()
    spans_file: Path | None = None
    abandoned_after_s: float | None = None  # set when a bounded shutdown gave up

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    @property
    def lost_spans(self) -> int:
        return sum(e.lost for e in self.exporters)

    def loss_report(self) -> str | None:
        """One line on the spans lost so far: how many, where to and why (None: no loss).
        After a shutdown that gave up, spans still queued count as lost."""
        parts = []
        total = 0
        for e in self.exporters:
            queued = e.unexported if self.abandoned_after_s is not None else 0
            lost = e.lost + queued
            if not lost:
                continue
            total += lost
            why = e.first_failure or ""
            if queued:
                late = f"{queued} not exported within {self.abandoned_after_s:g} s (is it up?)"
                why = f"{why}; {late}" if why else late
            parts.append((lost, e.name, why))
        if len(parts) == 1:
            ((lost, name, why),) = parts
            return f"{lost} span(s) could not be exported to {name}: {why}"
        if parts:
            each = "; ".join(f"{lost} to {name}: {why}" for lost, name, why in parts)
            return f"{total} span(s) could not be exported: {each}"
        return None

    def force_flush(self, timeout_millis: int = 5000) -> bool:
        if isinstance(self.provider, TracerProvider):
            return self.provider.force_flush(timeout_millis)
        return True

    def shutdown(self, timeout_s: float | None = None) -> bool:
        """Export what is queued and shut our provider down (a user's provider is left alone).

        With ``timeout_s``, give up after that long: an exporter stuck retrying an unreachable
        endpoint must not hold the process, so the shutdown runs in a daemon thread that is
        abandoned at the deadline. True if it finished in time.
        """
        provider = self.provider
        if not (self.owned and isinstance(provider, TracerProvider)):
            return True
        if timeout_s is None:
            provider.shutdown()
            return True
        for exporter in self.exporters:
            exporter.stop_retrying()  # one attempt per batch: an endpoint that is down fails fast
        worker = threading.Thread(target=provider.shutdown, name="tracing-shutdown", daemon=True)
        worker.start()
        worker.join(timeout_s)
        if worker.is_alive():
            self.abandoned_after_s = timeout_s
            return False
        return True


MAX_RUN_ID_CHARS = 128


def run_id_from_env(env: Mapping[str, str]) -> str | None:
    """The run this process belongs to: ``MCP_AGENT_OTEL_RUN_ID``, else a CI-provided id
    (``GITHUB_RUN_ID`` with ``-GITHUB_RUN_ATTEMPT``, ``CI_PIPELINE_ID``, ...); None if none."""
    explicit = env.get(semconv.ENV_RUN_ID, "").strip()
    if explicit:
        return explicit[:MAX_RUN_ID_CHARS]
    for name in semconv.CI_RUN_ID_VARIABLES:
        value = env.get(name, "").strip()
        if value:
            attempt = env.get("GITHUB_RUN_ATTEMPT", "").strip() if name == "GITHUB_RUN_ID" else ""
            return (f"{value}-{attempt}" if attempt else value)[:MAX_RUN_ID_CHARS]
    return None


def new_run_id() -> str:
    """A fresh run id for a run that was given none (12 hex digits)."""
    return uuid.uuid4().hex[:12]


def _resource(service_name: str | None, env: Mapping[str, str]) -> Resource:
    """OTEL_SERVICE_NAME (from ``env``) and OTEL_RESOURCE_ATTRIBUTES win; then
    ``service_name``; then ours. ``service.version`` defaults to the package's.
    ``mcp_agent.run.id`` comes from OTEL_RESOURCE_ATTRIBUTES, else ``run_id_from_env``, else
    a fresh id: every span of a process carries the run it belongs to."""
    detected = Resource.create()  # the SDK's detectors: OTEL_RESOURCE_ATTRIBUTES and more
    name = str(detected.attributes.get(SERVICE_NAME, ""))
    chosen = env.get("OTEL_SERVICE_NAME") or (
        name if name and not name.startswith("unknown_service") else None
    )
    overrides: dict[str, str] = {SERVICE_NAME: chosen or service_name or DEFAULT_SERVICE_NAME}
    if SERVICE_VERSION not in detected.attributes:
        overrides[SERVICE_VERSION] = __version__
    if semconv.RUN_ID not in detected.attributes:
        overrides[semconv.RUN_ID] = run_id_from_env(env) or new_run_id()
    return detected.merge(Resource(overrides))


def configure_tracing(
    *,
    service_name: str | None = None,
    extra_processors: Sequence[SpanProcessor] = (),
    spans_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    set_global: bool = True,
    sampler: Sampler | None = None,
    export: bool = True,
) -> TracingHandle:
    """Install an SDK TracerProvider built from OTEL_* settings, unless one is installed already.

    - ``OTEL_SDK_DISABLED=true``: nothing is installed; tracing stays a no-op.
    - A provider already installed (the user's, or ``opentelemetry-instrument``'s): it is kept
      as it is; ``extra_processors`` are added to it only if it is an SDK provider.
    - Otherwise a new provider: OTLP over the configured protocol when an endpoint is set, and
      the OTLP-JSON spans file when none is (or when ``spans_file`` is given explicitly).
      ``sampler`` overrides OTEL_TRACES_SAMPLER. ``export=False``: no exporter at all, only
      ``extra_processors`` (a process that hands its spans on itself, e.g. an A/B worker).

    ``env`` (default ``os.environ``) decides OTEL_SDK_DISABLED, whether and how OTLP is used,
    OTEL_SERVICE_NAME and the state directory. The OTLP exporters' own settings (endpoint URL,
    headers, timeout, compression, TLS) and OTEL_RESOURCE_ATTRIBUTES are read by the SDK from
    the process environment, as everywhere else.
    """
    env = os.environ if env is None else env
    if env_flag(env.get("OTEL_SDK_DISABLED")):
        return TracingHandle(provider=None, owned=False)

    current = trace.get_tracer_provider()
    if set_global and not isinstance(current, trace.ProxyTracerProvider):
        if isinstance(current, TracerProvider):
            for processor in extra_processors:
                current.add_span_processor(processor)
        return TracingHandle(provider=current, owned=False)

    resource = _resource(service_name, env)
    # The SDK reads OTEL_TRACES_SAMPLER(_ARG) and registers a flush-on-exit shutdown itself.
    provider = TracerProvider(resource=resource, sampler=sampler)
    exporters: list[LossCountingExporter] = []
    endpoint = otlp_endpoint(env) if export else None
    if endpoint:
        exporters.append(LossCountingExporter(_otlp_exporter(env), f"OTLP ({endpoint})"))
    path: Path | None = None
    if export and (spans_file is not None or not endpoint):
        path = Path(spans_file) if spans_file is not None else home_dir(env) / "spans.jsonl"
        max_bytes, backups = spans_file_rotation(env)
        file_exporter = OtlpJsonFileExporter(path, max_bytes=max_bytes, backups=backups)
        exporters.append(LossCountingExporter(file_exporter, f"file ({path})"))
    for exporter in exporters:
        provider.add_span_processor(CountingBatchSpanProcessor(exporter))
    for processor in extra_processors:
        provider.add_span_processor(processor)
    if set_global:
        trace.set_tracer_provider(provider)
    return TracingHandle(
        provider=provider,
        owned=True,
        exporters=tuple(exporters),
        spans_file=path,
    )


def quiet_export_logs() -> None:
    """Mute the per-batch export logging of this process: the OTLP exporters log a traceback
    per failed batch, and our loss-counting wrapper a warning at the first loss. Whoever calls
    this reports the loss itself, once (``TracingHandle.loss_report``): the CLI at the end of
    a command, the demo servers not at all (the agent reports the same endpoint's loss)."""
    logging.getLogger("opentelemetry.exporter").setLevel(logging.CRITICAL)
    logging.getLogger(LossCountingExporter.__module__).setLevel(logging.ERROR)


def spans_file_rotation(env: Mapping[str, str]) -> tuple[int, int]:
    """(max bytes, backups) of the spans file from MCP_AGENT_OTEL_SPANS_FILE_MAX_MB and
    MCP_AGENT_OTEL_SPANS_FILE_BACKUPS (max 0: never rotate)."""
    raw_mb = (env.get(semconv.ENV_SPANS_FILE_MAX_MB) or "").strip()
    raw_backups = (env.get(semconv.ENV_SPANS_FILE_BACKUPS) or "").strip()
    try:
        mb = float(raw_mb) if raw_mb else DEFAULT_MAX_BYTES / (1024 * 1024)
        if not 0 <= mb < 1024 * 1024:
            raise ValueError
    except ValueError:
        raise TracingConfigError(
            f"{semconv.ENV_SPANS_FILE_MAX_MB}={raw_mb!r} is not a size in megabytes; give e.g. "
            f"{semconv.ENV_SPANS_FILE_MAX_MB}=16 (0: never rotate)"
        ) from None
    try:
        backups = int(raw_backups) if raw_backups else DEFAULT_BACKUPS
        if not 0 <= backups <= 1000:
            raise ValueError
    except ValueError:
        raise TracingConfigError(
            f"{semconv.ENV_SPANS_FILE_BACKUPS}={raw_backups!r} is not a number of files from 0 "
            f"to 1000; give e.g. {semconv.ENV_SPANS_FILE_BACKUPS}=3"
        ) from None
    return int(mb * 1024 * 1024), backups
