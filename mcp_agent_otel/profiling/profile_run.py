"""Run a ``ProfilePlan`` and answer its report: the profiler's one entry point, no printing.

``run_environment`` tags this process's resource (and its MCP servers') with the plan's
``service.version`` and run id; ``run_plan`` profiles the workload and builds the report
(``ProfileOutcome``); ``serve_plan_blocks`` is the A/B worker of ``check --ab``. Tracing is
the caller's: both read the spans through the ``SpanAggregator`` it installed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan

from mcp_agent_otel._version import __version__
from mcp_agent_otel.autonomous.servers import demo_servers_config
from mcp_agent_otel.profiling import recording
from mcp_agent_otel.profiling.baseline_profiler import (
    ProfileInputError,
    ProfileReport,
    Progress,
    build_report,
    run_profile,
    serve_blocks,
)
from mcp_agent_otel.profiling.profile_plan import ProfilePlan
from mcp_agent_otel.profiling.span_aggregator import SpanAggregator
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.setup import new_run_id, run_id_from_env

RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
MAX_VERSION_CHARS = 128


@dataclasses.dataclass(frozen=True)
class ProfileOutcome:
    """A finished profile: its report, and the measured spans of each run (by run id) when
    the plan keeps them."""

    report: ProfileReport
    runs: tuple[tuple[str, list[ReadableSpan]], ...] = ()


def resource_attribute(resource_attributes: str, key: str) -> str | None:
    """The value of ``key`` in an ``OTEL_RESOURCE_ATTRIBUTES`` string (pure)."""
    for item in resource_attributes.split(","):
        name, sep, value = item.partition("=")
        if sep and name.strip() == key:
            return urllib.parse.unquote(value.strip())
    return None


def with_resource_attribute(resource_attributes: str, key: str, value: str) -> str:
    """``OTEL_RESOURCE_ATTRIBUTES`` with ``key`` set to ``value`` (percent-encoded; pure)."""
    kept = [
        item
        for item in resource_attributes.split(",")
        if item.strip() and item.partition("=")[0].strip() != key
    ]
    return ",".join([*kept, f"{key}={urllib.parse.quote(value, safe='')}"])


def resolve_version(option: str | None, env: Mapping[str, str]) -> str:
    """--version, else service.version in OTEL_RESOURCE_ATTRIBUTES, else the package's."""
    version = option
    if version is None:
        version = resource_attribute(env.get(RESOURCE_ATTRIBUTES, ""), semconv.SERVICE_VERSION)
        version = version or __version__
    version = version.strip()
    if not version or len(version) > MAX_VERSION_CHARS:
        raise ProfileInputError(
            f"--version must be 1 to {MAX_VERSION_CHARS} characters, e.g. --version 1.4.0 or "
            "a commit id"
        )
    return version


def resolve_run_id(env: Mapping[str, str]) -> str:
    """This profile's run id: the CI's (or MCP_AGENT_OTEL_RUN_ID), else a fresh one."""
    return run_id_from_env(env) or new_run_id()


@contextmanager
def _environment_variable(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@contextmanager
def run_environment(plan: ProfilePlan) -> Iterator[None]:
    """``service.version`` and ``MCP_AGENT_OTEL_RUN_ID`` of the plan for this process's
    resource (configure tracing inside) and its MCP servers'; restored afterwards."""
    resource = with_resource_attribute(
        os.environ.get(RESOURCE_ATTRIBUTES, ""), semconv.SERVICE_VERSION, plan.version
    )
    with (
        _environment_variable(RESOURCE_ATTRIBUTES, resource),
        _environment_variable(semconv.ENV_RUN_ID, plan.run_id),
    ):
        yield


def run_plan(
    plan: ProfilePlan, aggregator: SpanAggregator, progress: Progress | None = None
) -> ProfileOutcome:
    """Profile the plan's workload and build its report from the spans ``aggregator`` saw.

    Raises ``AgentError`` for servers or settings the agent cannot use, and
    ``ProfileInputError`` when no workflow span was seen (nothing to report)."""
    measured: list[tuple[str, list[ReadableSpan]]] = []

    def take_run(k: int) -> None:
        if aggregator.keep_spans:
            run_id = plan.run_id if plan.settings.repeat == 1 else f"{plan.run_id}.{k + 1}"
            spans = recording.select_spans(aggregator.take_kept(), only_stages=plan.only_stages)
            measured.append((run_id, spans))

    servers = plan.servers or demo_servers_config()
    run = asyncio.run(run_profile(plan.settings, servers, aggregator, progress, take_run))
    if not aggregator.accumulator.workflows:
        raise ProfileInputError(
            "no workflow span was seen, so there is nothing to report; is tracing sampled "
            "out (OTEL_TRACES_SAMPLER)?"
        )
    report = build_report(
        plan.settings, aggregator, run, version=plan.version, service=aggregator.service or ""
    )
    return ProfileOutcome(report=report, runs=tuple(measured))


def serve_plan_blocks(
    plan: ProfilePlan,
    aggregator: SpanAggregator,
    next_block: Callable[[], Awaitable[int | None]],
    emit: Callable[[int, str], None],
) -> int:
    """``profile --serve-blocks``: run blocks on demand over one agent (no memory pass);
    ``emit(block, line)`` gets each block's spans as one OTLP-JSON line. Returns the number
    of blocks run."""
    settings = dataclasses.replace(plan.settings, memory_runs=0)

    def emit_spans(block: int, spans: list[ReadableSpan]) -> None:
        chosen = recording.select_spans(spans, only_stages=plan.only_stages)
        emit(block, recording.spans_file_line(chosen, plan.version, f"{plan.run_id}.{block:04d}"))

    servers = plan.servers or demo_servers_config()
    return asyncio.run(serve_blocks(settings, servers, aggregator, next_block, emit_spans))
