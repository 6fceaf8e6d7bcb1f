"""``mcp-agent-otel cache stats|clear|warm FILE``: the analysis cache's command group.

A thin shell over ``caching.cache_manager.AnalysisCache``: settings come from the
``MCP_AGENT_OTEL_CACHE*`` variables (see ``settings_from_env``), the work is done by the
cache, which is imported when a command runs (``cache --help`` does not open diskcache).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from mcp_agent_otel.cli.console import console, errors, fail
from mcp_agent_otel.errors import AgentError

if TYPE_CHECKING:
    from mcp_agent_otel.caching.cache_manager import AnalysisCache


@contextmanager
def _cache() -> Iterator[AnalysisCache]:
    """The cache the environment configures, for one command (the commands manage its
    directory even when the agent's cache is switched off); closed at the end, its errors
    reported as bad input (exit 2)."""
    from mcp_agent_otel.caching.cache_manager import (
        AnalysisCache,
        CacheConfigError,
        settings_from_env,
    )

    try:
        settings = settings_from_env()
    except CacheConfigError as exc:
        fail(str(exc))
    cache = AnalysisCache(replace(settings, enabled=True) if not settings.enabled else settings)
    try:
        yield cache
    except AgentError as exc:
        fail(str(exc))
    finally:
        cache.close()


def read_tasks(path: Path) -> list[str]:
    """Tasks from FILE: a JSON array of strings, or one task per line (``#`` comments)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="FILE") from None
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(
                f"{path} looks like JSON but is not valid (line {exc.lineno}: {exc.msg})",
                param_hint="FILE",
            ) from None
        if not isinstance(data, list) or not all(isinstance(t, str) for t in data):
            raise click.BadParameter(
                f"{path}: a JSON task file must be an array of strings", param_hint="FILE"
            )
        return list(data)
    return [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


async def _discover_fingerprint(servers: Path | None) -> str:
    from mcp_agent_otel.autonomous.meta_coordinator import server_specs
    from mcp_agent_otel.autonomous.servers import demo_servers_config
    from mcp_agent_otel.autonomous.tool_discovery import ToolDiscovery

    config = servers if servers is not None else demo_servers_config()
    async with ToolDiscovery(server_specs(config)) as discovery:
        await discovery.discover()
        return discovery.fingerprint


@click.group("cache")
def cache_group() -> None:
    """The TaskAnalyzer cache (MCP_AGENT_OTEL_CACHE, _CACHE_DIR, _CACHE_TTL, ...)."""


@cache_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="print the statistics as JSON")
def stats_command(as_json: bool) -> None:
    """Entries, size on disk, generation and settings of the cache."""
    with _cache() as cache:
        info = cache.stats()
    if as_json:
        click.echo(json.dumps(info, indent=2, sort_keys=True))
        return
    table = Table(title="analysis cache", show_header=False)
    for key in (
        "directory",
        "entries",
        "max_entries",
        "ttl_s",
        "by_kind",
        "generation",
        "last_invalidation",
        "version",
        "disk_bytes",
        "similarity",
        "quarantined",
    ):
        table.add_row(key, str(info.get(key)))
    console.print(table, soft_wrap=True)


@cache_group.command("clear")
def clear_command() -> None:
    """Delete every cached entry (running agents stop serving them at once)."""
    with _cache() as cache:
        removed = cache.clear()
    noun = "entry" if removed == 1 else "entries"
    console.print(f"cleared {removed} {noun} from {cache.directory}", soft_wrap=True)


@cache_group.command("warm")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--servers",
    type=click.Path(dir_okay=False, path_type=Path),
    help="mcpServers JSON file whose environment the entries are for "
    "(default: the bundled demo servers)",
)
@click.option("--fingerprint", help="the environment fingerprint, instead of discovering it")
def warm_command(file: Path, servers: Path | None, fingerprint: str | None) -> None:
    """Analyse the tasks in FILE and store them in one transaction.

    FILE holds one task per line (blank lines and lines starting with # are skipped) or a
    JSON array of strings. The entries are keyed by the environment the agent will run
    under: discovered from --servers (default: the demo servers), or given by --fingerprint.
    """
    from mcp_agent_otel.autonomous.task_analyzer import analyze_task

    if not file.exists():
        raise click.BadParameter(f"{file} does not exist", param_hint="FILE")
    tasks = read_tasks(file)
    if not tasks:
        fail(f"{file} holds no tasks: put one task per line, or a JSON array of strings")
    try:
        env = fingerprint or asyncio.run(_discover_fingerprint(servers))
    except AgentError as exc:
        fail(f"cannot discover the environment fingerprint: {exc}")
    if not env:
        fail("no MCP server answered, so there is no environment to warm the cache for")
    with _cache() as cache:
        report = cache.warm(tasks, env, analyze_task)
    noun = "analysis" if report.stored == 1 else "analyses"
    console.print(
        f"stored {report.stored} {noun} for environment {env} in {cache.directory} "
        "(one transaction)",
        soft_wrap=True,
    )
    for index, reason in report.skipped:
        errors.print(f"[yellow]skipped[/] task {index + 1}: {reason}")


__all__ = ["cache_group", "read_tasks"]
