"""``mcp-agent-otel profile``: options -> a ``ProfilePlan`` -> ``profiling.profile_run`` -> output.

Parsing (``_parse``: the options into a validated, frozen plan), running (``_run``: tracing
set up by ``traced``, the work by ``profile_run.run_plan``, which answers the report model)
and rendering (``_render``: ``profile_report`` tables, the --json/--markdown/--spans-out
files, the recording in the analyzer). Exit codes: 0 profiled (and recorded when asked),
1 the spans could not be recorded (the report is still printed and written), 2 unusable
input (nothing was run).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from mcp_agent_otel._version import __version__
from mcp_agent_otel.cli.console import error, errors, fail, warn, wide_console
from mcp_agent_otel.cli.options import count_option, servers_option, timeout_option
from mcp_agent_otel.cli.traced import traced_command
from mcp_agent_otel.profiling import profile_plan
from mcp_agent_otel.profiling.profile_plan import ProfilePlan

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

    from mcp_agent_otel.profiling import recording
    from mcp_agent_otel.profiling.baseline_profiler import ProfileReport
    from mcp_agent_otel.profiling.profile_run import ProfileOutcome

UNAFFECTED = "the profile's figures"  # what lost spans leave intact (the loss line says so)


@dataclasses.dataclass(frozen=True)
class ProfileOptions:
    """The options as given (click has checked their types and ranges): what to run, and
    where the report and the measured spans go besides the terminal."""

    workload: str
    runs: int
    warmup: int | None
    concurrency: int
    rediscover: bool
    memory_runs: int
    top: int
    servers: str | None
    timeout: float
    json_file: str | None
    markdown_file: str | None
    store_path: str | None
    analyzer_url: str | None
    record_what: str
    version_option: str | None
    repeat: int
    spans_out: str | None
    serve_blocks: bool

    @property
    def keeps_spans(self) -> bool:
        return bool(self.store_path or self.analyzer_url or self.spans_out)


@click.command("profile")
@click.argument("workload", default="mixed", metavar="PROFILE|TASK_FILE")
@count_option("-n", "--runs", minimum=1, default=100, help="workflows to measure")
@count_option(
    "--warmup",
    minimum=0,
    default=None,
    help="unmeasured workflows first  [default: one pass over the tasks]",
)
@count_option(
    "--concurrency",
    minimum=1,
    default=1,
    help="workflows in flight at once, over one agent",
)
@click.option(
    "--rediscover",
    is_flag=True,
    help="list every server in every workflow (discover(refresh=True)), to measure "
    "tool discovery; by default servers are listed only when needed",
)
@count_option(
    "--memory-runs",
    minimum=0,
    default=profile_plan.DEFAULT_MEMORY_RUNS,
    help="extra workflows, one at a time, with tracemalloc on (0: skip)",
)
@count_option("--top", minimum=1, default=profile_plan.DEFAULT_TOP, help="bottlenecks to list")
@servers_option
@timeout_option
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
@count_option(
    "--repeat",
    minimum=1,
    default=1,
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
def profile_command(**options: Any) -> None:
    """Profile a workload through the real pipeline and report it from its spans.

    PROFILE is one of simple, moderate, complex, mixed (default); or give a TASK_FILE with
    one task per line. Per-stage latency p50/p95/p99, tool discovery, cache hit rate, memory
    and the top bottlenecks by self-time are printed; --json/--markdown write them. With
    --store or --to-analyzer the run's spans are recorded, tagged with --version, to serve as
    a baseline or a candidate for `mcp-agent-otel check`.
    """
    asked = ProfileOptions(**options)
    plan = _parse(asked)
    if asked.serve_blocks:
        _serve_blocks(plan)
        return
    _check_outputs(asked)
    if plan.settings.slowdowns:
        from mcp_agent_otel.tracing import semconv

        warn(
            f"TEST-ONLY fault {semconv.ENV_FAULT_SLOWDOWN}="
            f"{','.join(map(str, plan.settings.slowdowns))} is slowing the profiled agent down"
        )
    _render(_run(plan), asked)


# --- parse -----------------------------------------------------------------------------------
def _parse(asked: ProfileOptions) -> ProfilePlan:
    """The options as a plan; unusable input exits 2 before anything runs."""
    from mcp_agent_otel.profiling.baseline_profiler import (
        ProfileInputError,
        ProfileSettings,
        resolve_workload,
    )
    from mcp_agent_otel.profiling.fault_injection import FaultSettingError, slowdowns_from_env
    from mcp_agent_otel.profiling.profile_run import resolve_run_id, resolve_version

    try:
        label, tasks = resolve_workload(asked.workload)
        settings = ProfileSettings(
            label=label,
            tasks=tasks,
            runs=asked.runs,
            warmup=asked.warmup,
            concurrency=asked.concurrency,
            rediscover=asked.rediscover,
            memory_runs=asked.memory_runs,
            call_timeout_s=asked.timeout,
            slowdowns=slowdowns_from_env(),
            top=asked.top,
            repeat=asked.repeat,
        )
        version = resolve_version(asked.version_option, os.environ)
    except (ProfileInputError, FaultSettingError) as exc:
        fail(str(exc))
    return ProfilePlan(
        settings=settings,
        servers=Path(asked.servers) if asked.servers else None,
        version=version,
        run_id=resolve_run_id(os.environ),
        keep_spans=asked.serve_blocks or asked.keeps_spans,
        only_stages=asked.record_what == "stages",
    )


def _check_outputs(asked: ProfileOptions) -> None:
    for path, option in (
        (asked.json_file, "--json"),
        (asked.spans_out, "--spans-out"),
        (asked.markdown_file, "--markdown"),
    ):
        if path is None or path == "-":
            continue
        parent = Path(path).resolve().parent
        if not parent.is_dir():
            fail(f"{option} {path}: the directory {parent} does not exist; create it first")
    if asked.analyzer_url is not None:
        from mcp_agent_otel.profiling import recording

        try:
            recording.check_analyzer(asked.analyzer_url)
        except recording.RecordingError as exc:
            fail(f"--to-analyzer: {exc}")


# --- run -------------------------------------------------------------------------------------
def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    )


def _reporting_to(bar: Progress) -> Callable[[str, int, int], None]:
    """``progress(phase, done, total)`` for the profiler: one bar per phase."""
    jobs: dict[str, TaskID] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if phase not in jobs:
            jobs[phase] = bar.add_task(phase, total=total)
        bar.update(jobs[phase], completed=done)

    return progress


def _run(plan: ProfilePlan) -> ProfileOutcome:
    from opentelemetry.sdk.trace import TracerProvider

    from mcp_agent_otel.errors import AgentError
    from mcp_agent_otel.profiling import profile_run
    from mcp_agent_otel.profiling.baseline_profiler import ProfileInputError
    from mcp_agent_otel.profiling.span_aggregator import SpanAggregator
    from mcp_agent_otel.tracing.setup import TracingConfigError

    aggregator = SpanAggregator(keep_spans=plan.keep_spans)
    try:
        with (
            profile_run.run_environment(plan),
            traced_command(aggregator, unaffected=UNAFFECTED) as handle,
        ):
            if not isinstance(handle.provider, TracerProvider):
                fail(
                    "the profiler reads its figures from the spans, but tracing is off "
                    "(OTEL_SDK_DISABLED=true, or a TracerProvider that is not the SDK's): "
                    "unset OTEL_SDK_DISABLED"
                )
            try:
                with _progress_bar() as bar:
                    return profile_run.run_plan(plan, aggregator, _reporting_to(bar))
            except AgentError as exc:
                fail(str(exc))  # before the loss line, as the run stops here
    except (TracingConfigError, ProfileInputError) as exc:
        fail(str(exc))


def _serve_blocks(plan: ProfilePlan) -> None:
    """``profile --serve-blocks``: the A/B worker (stdout carries only the blocks' spans)."""
    from mcp_agent_otel.errors import AgentError
    from mcp_agent_otel.profiling import profile_run
    from mcp_agent_otel.profiling.span_aggregator import SpanAggregator
    from mcp_agent_otel.tracing.setup import TracingConfigError

    aggregator = SpanAggregator(keep_spans=True)

    async def next_block() -> int | None:
        line = await asyncio.to_thread(sys.stdin.readline)
        text = line.strip()
        if not text:
            return None
        if not text.isdigit() or int(text) < 1:
            fail(f"--serve-blocks reads one workflow count per line, got {text[:40]!r}")
        return int(text)

    def emit(block: int, line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        # No exporter: the blocks' spans go over stdout, and an export thread would
        # compete with the other build's block for the CPU.
        with (
            profile_run.run_environment(plan),
            traced_command(aggregator, export=False, unaffected=UNAFFECTED),
        ):
            try:
                profile_run.serve_plan_blocks(plan, aggregator, next_block, emit)
            except AgentError as exc:
                fail(str(exc))
    except TracingConfigError as exc:
        fail(str(exc))


# --- render ----------------------------------------------------------------------------------
def _render(outcome: ProfileOutcome, asked: ProfileOptions) -> None:
    """The report on the terminal (unless --json -), in the files asked for, and recorded
    where asked (exit 1 when that fails)."""
    from mcp_agent_otel.cli import profile_report
    from mcp_agent_otel.profiling import recording

    report = outcome.report
    if asked.json_file != "-":
        wide_console(120).print(profile_report.terminal(report))
    if asked.json_file:
        _write(asked.json_file, json.dumps(report.to_dict(), indent=2) + "\n")
    if asked.markdown_file:
        _write(asked.markdown_file, profile_report.markdown(report))
    if asked.spans_out:
        _write(
            asked.spans_out,
            "".join(
                recording.spans_file_line(run_spans, report.version, run_id) + "\n"
                for run_id, run_spans in outcome.runs
            ),
        )
    recorded = asked.store_path or asked.analyzer_url
    if recorded and not _record(report, outcome.runs, asked):
        sys.exit(1)


def _write(path: str, text: str) -> None:
    if path == "-":
        click.echo(text, nl=False)
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        error(f"cannot write {path}: {exc}")


def _record(
    report: ProfileReport, runs: tuple[tuple[str, list[ReadableSpan]], ...], asked: ProfileOptions
) -> bool:
    from mcp_agent_otel.profiling import recording

    spans = [span for _, run_spans in runs for span in run_spans]
    ok = True
    record_in: list[Callable[[], recording.RecordResult]] = []
    if (store := asked.store_path) is not None:
        record_in.append(lambda: recording.record_in_store(store, spans, report.version, runs))
    if (url := asked.analyzer_url) is not None:
        record_in.append(lambda: recording.post_to_analyzer(url, spans, report.version, runs=runs))
    for record in record_in:
        try:
            result = record()
        except recording.RecordingError as exc:
            error(f"{exc}; the report above is complete, the spans were not recorded")
            ok = False
            continue
        errors.print(
            f"recorded {result.accepted} span(s) in the {result.destination} as "
            f"service.version {result.version}"
            + (f" ({result.rejected} rejected)" if result.rejected else "")
        )
        for message in result.messages:
            errors.print(f"  {message}")
        if result.alerts:
            errors.print(
                f"  {result.alerts} live regression alert(s) raised against the stored "
                "baseline(s): see the analyzer's alerts (dashboard, GET /api/alerts)"
            )
    return ok
