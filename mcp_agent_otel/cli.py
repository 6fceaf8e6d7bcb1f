"""The ``mcp-agent-otel`` command. A thin shell: parsing, wiring and printing, no logic.

``run`` and ``demo`` live here; each subsystem owns its commands in its own module, named in
``_LazyGroup.lazy`` and imported on first use.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final, NoReturn

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from mcp_agent_otel._version import __version__
from mcp_agent_otel.autonomous.errors import AgentError
from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator, ServersConfig
from mcp_agent_otel.autonomous.models import WorkflowResult
from mcp_agent_otel.autonomous.servers import demo_servers_config
from mcp_agent_otel.autonomous.workload import DEMO_TASKS
from mcp_agent_otel.tracing.setup import TracingConfigError, TracingHandle, configure_tracing
from mcp_agent_otel.tracing.tree import TraceCollector, render_tree, span_tree

EXPORT_GRACE_S = 3.0  # how long a command waits at exit for its spans to be exported

console = Console()
errors = Console(stderr=True)


class _LazyGroup(click.Group):
    """Each subsystem's commands are imported when first used: `run` and `demo` do not pay
    for the analyzer's scipy and FastAPI."""

    lazy: Final = {
        "analyzer": "mcp_agent_otel.analyzer.commands:analyzer_group",
        "check": "mcp_agent_otel.analyzer.commands:check_command",
        "cache": "mcp_agent_otel.caching.commands:cache_group",
        "dashboard": "mcp_agent_otel.analyzer.dashboard_command:dashboard_command",
        "profile": "mcp_agent_otel.monitoring.commands:profile_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            module, attr = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mcp-agent-otel")
def main() -> None:
    """An observable autonomous MCP agent and its performance tools."""


@contextmanager
def _traced(collector: TraceCollector) -> Iterator[TracingHandle]:
    """Tracing for one CLI command: set up from OTEL_*, flushed and shut down at the end."""
    # The OTLP exporters log a traceback per failed batch, and our loss-counting wrapper a
    # warning at the first: the command reports all losses in one line at the end instead.
    logging.getLogger("opentelemetry.exporter").setLevel(logging.CRITICAL)
    logging.getLogger("mcp_agent_otel.tracing.export").setLevel(logging.ERROR)
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    handle = configure_tracing(extra_processors=[collector])
    try:
        yield handle
    finally:
        handle.shutdown(timeout_s=EXPORT_GRACE_S)  # one attempt a batch, bounded
        report = handle.loss_report()  # how many spans, where to, why (queued ones included)
        if report:
            errors.print(
                f"[yellow]warning:[/] {escape(report)} (the workflow results are unaffected)",
                soft_wrap=True,
            )


def _servers(path: str | None) -> ServersConfig:
    return Path(path) if path else demo_servers_config()


def _print_trace(collector: TraceCollector, result: WorkflowResult) -> None:
    if result.trace_id is None:
        return
    spans = collector.spans(result.trace_id)
    if spans:
        console.print(render_tree(span_tree(spans), title=f"trace {result.trace_id}"))


def _print_result(result: WorkflowResult) -> None:
    table = Table(show_header=True, header_style="bold", title="steps")
    for column in ("#", "subtask", "tool", "status", "ms", "output / error"):
        table.add_column(column)
    subtasks = {s.index: s.text for s in result.analysis.subtasks}
    for step in result.steps:
        ok = step.status.value == "ok"
        detail = step.output if ok else (step.error or "")
        table.add_row(
            str(step.subtask_index),
            subtasks.get(step.subtask_index, "")[:48],
            str(step.tool) if step.tool else "-",
            f"[green]{step.status.value}[/]" if ok else f"[red]{step.status.value}[/]",
            f"{step.duration_ms:.1f}",
            " ".join(detail.split())[:80],
        )
    console.print(table)


async def _run_tasks(
    config: ServersConfig, tasks: Sequence[str], timeout: float, progress: Progress | None
) -> list[WorkflowResult]:
    results: list[WorkflowResult] = []
    job = progress.add_task("running tasks", total=len(tasks)) if progress else None
    async with MetaCoordinator.from_config(config, call_timeout_s=timeout) as agent:
        for task in tasks:
            results.append(await agent.run(task))
            if progress is not None and job is not None:
                progress.advance(job)
    return results


def _fail(message: str) -> NoReturn:
    errors.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(2)


@main.command()
@click.argument("task")
@click.option(
    "--servers",
    type=click.Path(dir_okay=False),
    help="mcpServers JSON file (default: the bundled demo servers)",
)
@click.option("--timeout", default=10.0, show_default=True, help="seconds per tool call")
@click.option("--json", "as_json", is_flag=True, help="print the WorkflowResult as JSON")
def run(task: str, servers: str | None, timeout: float, as_json: bool) -> None:
    """Run one TASK through the agent and print its trace. Exit 1 if a step failed."""
    collector = TraceCollector()
    try:
        with _traced(collector):
            (result,) = asyncio.run(_run_tasks(_servers(servers), [task], timeout, None))
    except (AgentError, TracingConfigError) as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_trace(collector, result)
        _print_result(result)
    sys.exit(0 if result.ok else 1)


@main.command()
@click.option("--timeout", default=10.0, show_default=True, help="seconds per tool call")
@click.option("--quiet", is_flag=True, help="print only the summary, not every trace")
def demo(timeout: float, quiet: bool) -> None:
    """Run the demo workload over the bundled MCP servers, printing each trace."""
    collector = TraceCollector(max_traces=len(DEMO_TASKS) + 1)
    try:
        with _traced(collector) as handle, Progress(console=console, transient=True) as progress:
            results = asyncio.run(_run_tasks(demo_servers_config(), DEMO_TASKS, timeout, progress))
    except (AgentError, TracingConfigError) as exc:
        _fail(str(exc))
    summary = Table(title="demo workload", header_style="bold")
    for column in ("task", "type", "pattern", "steps ok", "ms"):
        summary.add_column(column)
    for result in results:
        if not quiet:
            _print_trace(collector, result)
        ok = sum(1 for s in result.steps if s.status.value == "ok")
        summary.add_row(
            result.task[:60],
            result.analysis.task_type.value,
            result.decision.pattern.value,
            f"{ok}/{len(result.steps)}",
            f"{result.duration_ms:.1f}",
        )
    console.print(summary)
    where = handle.spans_file or "the OTLP endpoint"
    console.print(f"spans written to {where}")
