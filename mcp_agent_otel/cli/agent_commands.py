"""``mcp-agent-otel run`` and ``demo``: the agent on a task, or on the demo workload.

Parsing, wiring and printing: the agent (``MetaCoordinator``) does the work; the trace is
collected in-process (``tracing.tree``) and drawn by ``trace_tree``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from mcp_agent_otel.cli.console import console, fail
from mcp_agent_otel.cli.options import servers_option, timeout_option
from mcp_agent_otel.cli.traced import traced_command

# What a command runs is imported when it runs: `--help` and each subcommand import only what
# they use (tests/cli/test_imports.py checks which modules each `--help` loads).
if TYPE_CHECKING:
    from rich.progress import Progress

    from mcp_agent_otel.autonomous.meta_coordinator import ConsentCallback, ServersConfig
    from mcp_agent_otel.autonomous.models import StepPlan, Subtask, WorkflowResult
    from mcp_agent_otel.tracing.tree import TraceCollector

CATALOGUE_FILE = "tool-catalogue.json"  # in the state directory (see tool_catalogue)


def _servers(path: str | None) -> ServersConfig:
    from mcp_agent_otel.autonomous.servers import demo_servers_config

    return Path(path) if path else demo_servers_config()


def _print_trace(collector: TraceCollector, result: WorkflowResult) -> None:
    from mcp_agent_otel.cli.trace_tree import render_tree
    from mcp_agent_otel.tracing.tree import span_tree

    if result.trace_id is None:
        return
    spans = collector.spans(result.trace_id)
    if spans:
        console.print(render_tree(span_tree(spans), title=f"trace {result.trace_id}"))


def _print_result(result: WorkflowResult) -> None:
    from rich.table import Table

    from mcp_agent_otel.tracing.spans import shorten

    table = Table(show_header=True, header_style="bold", title="steps")
    for column in ("#", "subtask", "tool", "status", "ms", "output / error"):
        table.add_column(column)
    subtasks = {s.index: s.text for s in result.analysis.subtasks}
    for step in result.steps:
        ok = step.status.value == "ok"
        detail = step.output if ok else (step.error or "")
        table.add_row(
            str(step.subtask_index),
            escape(shorten(subtasks.get(step.subtask_index, ""), 48)),
            str(step.tool) if step.tool else "-",
            f"[green]{step.status.value}[/]" if ok else f"[red]{step.status.value}[/]",
            f"{step.duration_ms:.1f}",
            escape(shorten(detail, 400 if not ok else 160)),
        )
    console.print(table)


def _print_plan(result: WorkflowResult) -> None:
    """The decision, step by step: what each subtask asks, the tool, its effect, its arguments
    and fallbacks; and the subtasks that would stop the run, with why."""
    from rich.table import Table

    from mcp_agent_otel.tracing.spans import shorten

    table = Table(show_header=True, header_style="bold", title="plan (nothing was called)")
    for column in ("#", "subtask", "intent", "tool", "effect", "arguments", "fallbacks"):
        table.add_column(column)
    subtasks = {s.index: s.text for s in result.analysis.subtasks}
    for plan in result.decision.steps:
        table.add_row(
            str(plan.subtask_index),
            escape(shorten(subtasks.get(plan.subtask_index, ""), 48)),
            plan.intent.value,
            str(plan.tool),
            plan.effect.value,
            escape(json.dumps(plan.argument_dict(), ensure_ascii=False)),
            ", ".join(str(f) for f in plan.fallbacks) or "-",
        )
    for unmatched in result.decision.unmatched:
        table.add_row(
            str(unmatched.subtask_index),
            escape(shorten(subtasks.get(unmatched.subtask_index, ""), 48)),
            "-",
            "[red]none[/]",
            "-",
            escape(unmatched.message),
            ", ".join(str(c) for c in unmatched.closest) or "-",
        )
    console.print(table)
    console.print(
        f"pattern {result.decision.pattern.value}, confidence {result.decision.confidence:.2f}"
    )


def _ask_consent(plan: StepPlan, subtask: Subtask | None) -> bool:
    """A yes typed at the terminal lets one destructive step run."""
    from mcp_agent_otel.autonomous.meta_coordinator import describe_call

    what = f'"{subtask.text}"' if subtask is not None else f"step {plan.subtask_index}"
    return click.confirm(
        f"{what} would call {describe_call(plan)}, which cannot be undone. Run it?",
        default=False,
        err=True,
    )


async def _run_tasks(
    config: ServersConfig,
    tasks: Sequence[str],
    timeout: float,
    progress: Progress | None,
    *,
    plan_only: bool = False,
    allow_destructive: bool = False,
    confirm: ConsentCallback | None = None,
    verbose: bool = False,
    lazy_start: bool = True,
) -> list[WorkflowResult]:
    from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
    from mcp_agent_otel.caching.cache_manager import cache_from_env
    from mcp_agent_otel.tracing.setup import home_dir

    results: list[WorkflowResult] = []
    job = progress.add_task("running tasks", total=len(tasks)) if progress else None
    async with MetaCoordinator.from_config(
        config,
        cache=cache_from_env(),  # the analysis cache MCP_AGENT_OTEL_CACHE* asks for (or none)
        call_timeout_s=timeout,
        allow_destructive=allow_destructive,
        confirm=confirm,
        # The servers' listings are kept in the state directory: a later command starts only
        # the servers its task calls (``lazy_start``; a workload that needs them all starts
        # them together instead, at the first discovery).
        discovery={
            "server_stderr": sys.stderr if verbose else None,
            "catalogue": home_dir() / CATALOGUE_FILE if lazy_start else None,
        },
    ) as agent:
        for task in tasks:
            results.append(await agent.run(task, plan_only=plan_only))
            if progress is not None and job is not None:
                progress.advance(job)
    return results


@click.command()
@click.argument("task")
@servers_option
@timeout_option
@click.option("--json", "as_json", is_flag=True, help="print the WorkflowResult as JSON")
@click.option(
    "--plan",
    "plan_only",
    is_flag=True,
    help="print the decision (steps, intent, tool, effect, arguments, fallbacks); call nothing",
)
@click.option(
    "--allow-destructive",
    is_flag=True,
    help="let steps that delete or reset run (otherwise asked at a terminal, refused elsewhere)",
)
@click.option("--verbose", is_flag=True, help="show the MCP servers' own stderr output")
def run(
    task: str,
    servers: str | None,
    timeout: float,
    as_json: bool,
    plan_only: bool,
    allow_destructive: bool,
    verbose: bool,
) -> None:
    """Run one TASK through the agent and print its trace.

    Exit 0 when every step did what it asked; 1 when a step failed, no tool fits a step
    confidently, or a destructive step was not allowed (the run then stops before any call);
    2 for bad input.
    """
    import asyncio

    from mcp_agent_otel.errors import AgentError
    from mcp_agent_otel.tracing.setup import TracingConfigError
    from mcp_agent_otel.tracing.tree import TraceCollector

    collector = TraceCollector()
    interactive = sys.stdin.isatty() and not as_json
    try:
        with traced_command(collector):
            (result,) = asyncio.run(
                _run_tasks(
                    _servers(servers),
                    [task],
                    timeout,
                    None,
                    plan_only=plan_only,
                    allow_destructive=allow_destructive,
                    confirm=_ask_consent if interactive else None,
                    verbose=verbose,
                )
            )
    except (AgentError, TracingConfigError) as exc:
        fail(str(exc))
    done = not result.decision.unmatched if plan_only else result.ok
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif plan_only:
        _print_plan(result)
    else:
        _print_trace(collector, result)
        _print_result(result)
    sys.exit(0 if done else 1)


@click.command()
@timeout_option
@click.option("--quiet", is_flag=True, help="print only the summary, not every trace")
def demo(timeout: float, quiet: bool) -> None:
    """Run the demo workload over the bundled MCP servers, printing each trace."""
    import asyncio

    from rich.progress import Progress
    from rich.table import Table

    from mcp_agent_otel.autonomous.servers import demo_servers_config
    from mcp_agent_otel.autonomous.workload import DEMO_TASKS
    from mcp_agent_otel.errors import AgentError
    from mcp_agent_otel.tracing.setup import TracingConfigError
    from mcp_agent_otel.tracing.spans import shorten
    from mcp_agent_otel.tracing.tree import TraceCollector

    collector = TraceCollector(max_traces=len(DEMO_TASKS) + 1)
    try:
        with (
            traced_command(collector) as handle,
            Progress(console=console, transient=True) as progress,
        ):
            results = asyncio.run(
                _run_tasks(demo_servers_config(), DEMO_TASKS, timeout, progress, lazy_start=False)
            )
    except (AgentError, TracingConfigError) as exc:
        fail(str(exc))
    summary = Table(title="demo workload", header_style="bold")
    for column in ("task", "type", "pattern", "steps ok", "ms"):
        summary.add_column(column)
    for result in results:
        if not quiet:
            _print_trace(collector, result)
        ok = sum(1 for s in result.steps if s.status.value == "ok")
        summary.add_row(
            escape(shorten(result.task, 60)),
            result.analysis.task_type.value,
            result.decision.pattern.value,
            f"{ok}/{len(result.steps)}",
            f"{result.duration_ms:.1f}",
        )
    console.print(summary)
    where = handle.spans_file or "the OTLP endpoint"
    console.print(f"spans written to {where}")
