"""``mcp-agent-otel profile``: the baseline profiler's command (parsing, wiring, printing).

The work is done by ``baseline_profiler`` (running), ``span_aggregator`` / ``span_stats``
(figures from the spans), ``report_render`` (output) and ``recording`` (the analyzer).
Exit codes: 0 profiled (and recorded when asked), 1 the spans could not be recorded (the
report is still printed and written), 2 unusable input (nothing was run).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import sys
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from mcp_agent_otel._version import __version__
from mcp_agent_otel.autonomous.servers import demo_servers_config
from mcp_agent_otel.cli import EXPORT_GRACE_S
from mcp_agent_otel.errors import AgentError
from mcp_agent_otel.profiling import recording, report_render
from mcp_agent_otel.profiling.baseline_profiler import (
    DEFAULT_MEMORY_RUNS,
    DEFAULT_TOP,
    ProfileInputError,
    ProfileReport,
    ProfileSettings,
    build_report,
    resolve_workload,
    run_profile,
    serve_blocks,
)
from mcp_agent_otel.profiling.fault_injection import FaultSettingError, slowdowns_from_env
from mcp_agent_otel.profiling.span_aggregator import SpanAggregator
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.setup import (
    TracingConfigError,
    TracingHandle,
    configure_tracing,
    new_run_id,
    run_id_from_env,
)

_errors = Console(stderr=True, soft_wrap=True)
RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"


def _fail(message: str, code: int = 2) -> NoReturn:
    _errors.print(f"[red]error:[/] {message}", highlight=False)
    sys.exit(code)


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
    if not version or len(version) > 128:
        _fail("--version must be 1 to 128 characters, e.g. --version 1.4.0 or a commit id")
    return version


@contextmanager
def _versioned_environment(version: str) -> Iterator[None]:
    """Tag this process's (and its MCP servers') resource with ``service.version``."""
    previous = os.environ.get(RESOURCE_ATTRIBUTES)
    os.environ[RESOURCE_ATTRIBUTES] = with_resource_attribute(
        previous or "", semconv.SERVICE_VERSION, version
    )
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(RESOURCE_ATTRIBUTES, None)
        else:
            os.environ[RESOURCE_ATTRIBUTES] = previous


def _shut_down(handle: TracingHandle) -> None:
    """Export what is queued (bounded wait, as the other commands) and report any loss."""
    finished = handle.shutdown(timeout_s=EXPORT_GRACE_S)
    report = handle.loss_report()
    if not finished and not report:
        where = ", ".join(e.name for e in handle.exporters)
        report = f"spans not exported to {where} within {EXPORT_GRACE_S:g} s were dropped"
    if report:
        _errors.print(
            f"[yellow]warning:[/] {escape(report)} (the profile's figures are unaffected)",
            highlight=False,
        )


def _check_output(path: str | None, option: str) -> None:
    if path is None or path == "-":
        return
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        _fail(f"{option} {path}: the directory {parent} does not exist; create it first")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_errors,
        transient=True,
    )


def _write(path: str, text: str) -> None:
    if path == "-":
        click.echo(text, nl=False)
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        _errors.print(f"[red]error:[/] cannot write {path}: {exc}", highlight=False)


def _record(
    report: ProfileReport,
    runs: list[tuple[str, list[ReadableSpan]]],
    store: str | None,
    url: str | None,
) -> bool:
    spans = [span for _, run_spans in runs for span in run_spans]
    ok = True
    record_in: list[Callable[[], recording.RecordResult]] = []
    if store is not None:
        record_in.append(lambda: recording.record_in_store(store, spans, report.version, runs))
    if url is not None:
        record_in.append(lambda: recording.post_to_analyzer(url, spans, report.version, runs=runs))
    for record in record_in:
        try:
            result = record()
        except recording.RecordingError as exc:
            _errors.print(
                f"[red]error:[/] {exc}; the report above is complete, the spans were not recorded",
                highlight=False,
            )
            ok = False
            continue
        _errors.print(
            f"recorded {result.accepted} span(s) in the {result.destination} as "
            f"service.version {result.version}"
            + (f" ({result.rejected} rejected)" if result.rejected else ""),
            highlight=False,
        )
        for message in result.messages:
            _errors.print(f"  {message}", highlight=False)
        if result.alerts:
            _errors.print(
                f"  {result.alerts} live regression alert(s) raised against the stored "
                "baseline(s): see the analyzer's alerts (dashboard, GET /api/alerts)",
                highlight=False,
            )
    return ok


@click.command("profile")
@click.argument("workload", default="mixed", metavar="PROFILE|TASK_FILE")
@click.option(
    "-n",
    "--runs",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="workflows to measure",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=None,
    help="unmeasured workflows first  [default: one pass over the tasks]",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="workflows in flight at once, over one agent",
)
@click.option(
    "--rediscover",
    is_flag=True,
    help="list every server in every workflow (discover(refresh=True)), to measure "
    "tool discovery; by default servers are listed only when needed",
)
@click.option(
    "--memory-runs",
    type=click.IntRange(min=0),
    default=DEFAULT_MEMORY_RUNS,
    show_default=True,
    help="extra workflows, one at a time, with tracemalloc on (0: skip)",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=DEFAULT_TOP,
    show_default=True,
    help="bottlenecks to list",
)
@click.option(
    "--servers",
    type=click.Path(dir_okay=False),
    help="mcpServers JSON file (default: the bundled demo servers)",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="seconds per tool call",
)
@click.option("--json", "json_file", metavar="FILE", help="write the report as JSON (- for stdout)")
@click.option("--markdown", "markdown_file", metavar="FILE", help="write the report as Markdown")
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    help="record the run's spans in this analyzer store (SQLite)",
)
@click.option(
    "--to-analyzer",
    "analyzer_url",
    metavar="URL",
    help="record the run's spans in a running analyzer (OTLP/HTTP), e.g. http://127.0.0.1:4418",
)
@click.option(
    "--record",
    "record_what",
    type=click.Choice(["all", "stages"]),
    default="all",
    show_default=True,
    help="which spans --store/--to-analyzer record: all, or the workflow and its four stage "
    "spans only (every operation then has a sample per run, which the CI gate needs to decide)",
)
@click.option(
    "--version",
    "version_option",
    metavar="V",
    help="service.version the run is recorded as  [default: service.version from "
    f"OTEL_RESOURCE_ATTRIBUTES, else {__version__}]",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="measured runs of -n workflows each, recorded as runs <run id>.1 .. .K "
    "(mcp_agent.run.id): the gate estimates the run-to-run noise from them",
)
@click.option(
    "--spans-out",
    metavar="FILE",
    help="write the measured spans (per --record) as OTLP-JSON lines, one line per run, "
    "for `check --baseline-file/--candidate-file`",
)
@click.option(
    "--serve-blocks",
    is_flag=True,
    help="A/B worker for `check --ab`: keep one agent open, read a workflow count per line "
    "on stdin, run that block and answer with its spans as one OTLP-JSON line on stdout",
)
def profile_command(
    workload: str,
    runs: int,
    warmup: int | None,
    concurrency: int,
    rediscover: bool,
    memory_runs: int,
    top: int,
    servers: str | None,
    timeout: float,
    json_file: str | None,
    markdown_file: str | None,
    store_path: str | None,
    analyzer_url: str | None,
    record_what: str,
    version_option: str | None,
    repeat: int,
    spans_out: str | None,
    serve_blocks: bool,
) -> None:
    """Profile a workload through the real pipeline and report it from its spans.

    PROFILE is one of simple, moderate, complex, mixed (default); or give a TASK_FILE with
    one task per line. Per-stage latency p50/p95/p99, tool discovery, cache hit rate, memory
    and the top bottlenecks by self-time are printed; --json/--markdown write them. With
    --store or --to-analyzer the run's spans are recorded, tagged with --version, to serve as
    a baseline or a candidate for `mcp-agent-otel check`.
    """
    try:
        label, tasks = resolve_workload(workload)
        slowdowns = slowdowns_from_env()
        settings = ProfileSettings(
            label=label,
            tasks=tasks,
            runs=runs,
            warmup=warmup,
            concurrency=concurrency,
            rediscover=rediscover,
            memory_runs=memory_runs,
            call_timeout_s=timeout,
            slowdowns=slowdowns,
            top=top,
            repeat=repeat,
        )
    except (ProfileInputError, FaultSettingError) as exc:
        _fail(str(exc))
    if serve_blocks:
        _serve_blocks(settings, servers, version_option, record_what == "stages")
        return
    _check_output(json_file, "--json")
    _check_output(spans_out, "--spans-out")
    _check_output(markdown_file, "--markdown")
    if analyzer_url is not None:
        try:
            recording.check_analyzer(analyzer_url)
        except recording.RecordingError as exc:
            _fail(f"--to-analyzer: {exc}")
    version = resolve_version(version_option, os.environ)
    if slowdowns:
        _errors.print(
            f"[yellow]warning:[/] TEST-ONLY fault {semconv.ENV_FAULT_SLOWDOWN}="
            f"{','.join(map(str, slowdowns))} is slowing the profiled agent down",
            highlight=False,
        )

    # As the other commands do: exporter failures are reported once, at the end.
    logging.getLogger("opentelemetry.exporter").setLevel(logging.CRITICAL)
    logging.getLogger("mcp_agent_otel.tracing.export").setLevel(logging.ERROR)
    aggregator = SpanAggregator(keep_spans=bool(store_path or analyzer_url or spans_out))
    base_run = _run_id()
    measured: list[tuple[str, list[ReadableSpan]]] = []

    def take_run(k: int) -> None:
        if aggregator.keep_spans:
            run_id = base_run if settings.repeat == 1 else f"{base_run}.{k + 1}"
            only_stages = record_what == "stages"
            measured.append(
                (run_id, recording.select_spans(aggregator.take_kept(), only_stages=only_stages))
            )

    with _versioned_environment(version), _run_environment(base_run):
        try:
            handle = configure_tracing(extra_processors=[aggregator])
        except TracingConfigError as exc:
            _fail(str(exc))
        if not isinstance(handle.provider, TracerProvider):
            _fail(
                "the profiler reads its figures from the spans, but tracing is off "
                "(OTEL_SDK_DISABLED=true, or a TracerProvider that is not the SDK's): "
                "unset OTEL_SDK_DISABLED"
            )
        try:
            with _progress() as bar:
                jobs: dict[str, TaskID] = {}

                def progress(phase: str, done: int, total: int) -> None:
                    if phase not in jobs:
                        jobs[phase] = bar.add_task(phase, total=total)
                    bar.update(jobs[phase], completed=done)

                run = asyncio.run(
                    run_profile(
                        settings,
                        Path(servers) if servers else demo_servers_config(),
                        aggregator,
                        progress,
                        take_run,
                    )
                )
        except AgentError as exc:
            _fail(str(exc))
        finally:
            _shut_down(handle)
    if not aggregator.accumulator.workflows:
        _fail(
            "no workflow span was seen, so there is nothing to report; is tracing sampled "
            "out (OTEL_TRACES_SAMPLER)?"
        )
    report = build_report(
        settings, aggregator, run, version=version, service=aggregator.service or ""
    )
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 120)
    if json_file != "-":
        console.print(report_render.terminal(report))
    if json_file:
        _write(json_file, json.dumps(report.to_dict(), indent=2) + "\n")
    if markdown_file:
        _write(markdown_file, report_render.markdown(report))
    if spans_out:
        _write(
            spans_out,
            "".join(
                recording.spans_file_line(run_spans, version, run_id) + "\n"
                for run_id, run_spans in measured
            ),
        )
    recorded = store_path or analyzer_url
    if recorded and not _record(report, measured, store_path, analyzer_url):
        sys.exit(1)


def _run_id() -> str:
    """This profile's run id: the CI's (or MCP_AGENT_OTEL_RUN_ID), else a fresh one."""
    return run_id_from_env(os.environ) or new_run_id()


@contextmanager
def _run_environment(run_id: str) -> Iterator[None]:
    """MCP_AGENT_OTEL_RUN_ID for this process's resource and its MCP servers'."""
    previous = os.environ.get(semconv.ENV_RUN_ID)
    os.environ[semconv.ENV_RUN_ID] = run_id
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(semconv.ENV_RUN_ID, None)
        else:
            os.environ[semconv.ENV_RUN_ID] = previous


def _serve_blocks(
    settings: ProfileSettings, servers: str | None, version_option: str | None, stages: bool
) -> None:
    """``profile --serve-blocks``: the A/B worker (stdout carries only the blocks' spans)."""
    version = resolve_version(version_option, os.environ)
    base_run = _run_id()
    logging.getLogger("opentelemetry.exporter").setLevel(logging.CRITICAL)
    logging.getLogger("mcp_agent_otel.tracing.export").setLevel(logging.ERROR)
    aggregator = SpanAggregator(keep_spans=True)
    settings = dataclasses.replace(settings, memory_runs=0)

    async def next_block() -> int | None:
        line = await asyncio.to_thread(sys.stdin.readline)
        text = line.strip()
        if not text:
            return None
        if not text.isdigit() or int(text) < 1:
            _fail(f"--serve-blocks reads one workflow count per line, got {text[:40]!r}")
        return int(text)

    def emit(block: int, spans: list[ReadableSpan]) -> None:
        chosen = recording.select_spans(spans, only_stages=stages)
        line = recording.spans_file_line(chosen, version, f"{base_run}.{block:04d}")
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    with _versioned_environment(version), _run_environment(base_run):
        try:
            # No exporter: the blocks' spans go over stdout, and an export thread would
            # compete with the other build's block for the CPU.
            handle = configure_tracing(extra_processors=[aggregator], export=False)
        except TracingConfigError as exc:
            _fail(str(exc))
        try:
            asyncio.run(
                serve_blocks(
                    settings,
                    Path(servers) if servers else demo_servers_config(),
                    aggregator,
                    next_block,
                    emit,
                )
            )
        except AgentError as exc:
            _fail(str(exc))
        finally:
            _shut_down(handle)
