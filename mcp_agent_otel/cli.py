"""The ``mcp-agent-otel`` command. A thin shell: parsing, wiring and printing, no logic.

``run`` and ``demo`` live here; each subsystem owns its commands in its own module, named in
``_LazyGroup.lazy`` and imported on first use.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from mcp_agent_otel._version import __version__

# What a command runs is imported when it runs: `--help` and each subcommand import only what
# they use (tests/test_cli_imports.py checks which modules `--help` and `run --help` load).
if TYPE_CHECKING:
    from rich.progress import Progress

    from mcp_agent_otel.autonomous.meta_coordinator import ConsentCallback, ServersConfig
    from mcp_agent_otel.autonomous.models import StepPlan, Subtask, WorkflowResult
    from mcp_agent_otel.tracing.setup import TracingHandle
    from mcp_agent_otel.tracing.tree import TraceCollector

EXPORT_GRACE_S = 3.0  # how long a command waits at exit for its spans to be exported
CATALOGUE_FILE = "tool-catalogue.json"  # in the state directory (see tool_catalogue)

console = Console()
errors = Console(stderr=True)


class _LazyGroup(click.Group):
    """Each subsystem's commands are imported when first used: `run` and `demo` do not pay
    for the analyzer's scipy and FastAPI."""

    lazy: Final = {
        "analyzer": "mcp_agent_otel.regression.commands:analyzer_group",
        "check": "mcp_agent_otel.regression.commands:check_command",
        "cache": "mcp_agent_otel.caching.commands:cache_group",
        "dashboard": "mcp_agent_otel.regression.dashboard_command:dashboard_command",
        "profile": "mcp_agent_otel.profiling.commands:profile_command",
    }
    # What `--help` lists for each, so that listing imports none of them
    # (tests/test_cli_imports.py checks these are the commands' own short help).
    lazy_help: Final = {
        "analyzer": "The regression analyzer: OTLP receiver, baselines, comparisons, alerts.",
        "cache": "The TaskAnalyzer cache (MCP_AGENT_OTEL_CACHE, _CACHE_DIR, _CACHE_TTL, ...).",
        "check": "CI gate: compare a candidate against --baseline NAME (or --baseline-file F), "
        "or run both builds here with --ab.",
        "dashboard": "Open the latency dashboard on the analyzer's store.",
        "profile": "Profile a workload through the real pipeline and report it from its spans.",
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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, with a stand-in carrying the short help of each command that is
        not imported yet: click's own layout, no import."""
        commands = dict(self.commands)
        for name, text in self.lazy_help.items():
            commands.setdefault(name, click.Command(name, help=text))
        stand_in = click.Group(self.name, commands=commands)
        click.Group.format_commands(stand_in, ctx, formatter)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mcp-agent-otel")
def main() -> None:
    """An observable autonomous MCP agent and its performance tools."""


@contextmanager
def _traced(collector: TraceCollector) -> Iterator[TracingHandle]:
    """Tracing for one CLI command: set up from OTEL_*, flushed and shut down at the end."""
    # The OTLP exporters log a traceback per failed batch, and our loss-counting wrapper a
    # warning at the first: the command reports all losses in one line at the end instead.
    import logging

    from mcp_agent_otel.tracing.setup import configure_tracing

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
    from mcp_agent_otel.autonomous.servers import demo_servers_config

    return Path(path) if path else demo_servers_config()


def _print_trace(collector: TraceCollector, result: WorkflowResult) -> None:
    from mcp_agent_otel.tracing.tree import render_tree, span_tree

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
        with _traced(collector):
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
        _fail(str(exc))
    done = not result.decision.unmatched if plan_only else result.ok
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif plan_only:
        _print_plan(result)
    else:
        _print_trace(collector, result)
        _print_result(result)
    sys.exit(0 if done else 1)


@main.command()
@click.option("--timeout", default=10.0, show_default=True, help="seconds per tool call")
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
        with _traced(collector) as handle, Progress(console=console, transient=True) as progress:
            results = asyncio.run(
                _run_tasks(demo_servers_config(), DEMO_TASKS, timeout, progress, lazy_start=False)
            )
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
            escape(shorten(result.task, 60)),
            result.analysis.task_type.value,
            result.decision.pattern.value,
            f"{ok}/{len(result.steps)}",
            f"{result.duration_ms:.1f}",
        )
    console.print(summary)
    where = handle.spans_file or "the OTLP endpoint"
    console.print(f"spans written to {where}")
