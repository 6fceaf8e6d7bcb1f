"""``mcp-agent-otel cache stats|clear|warm FILE``: the analysis cache's command group.

A thin shell over ``AnalysisCache``: settings come from the ``MCP_AGENT_OTEL_CACHE*``
variables (see ``settings_from_env``), the work is done by the cache.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.table import Table

from mcp_agent_otel.caching.cache_manager import (
    AnalysisCache,
    CacheConfigError,
    CacheSettings,
    settings_from_env,
)
from mcp_agent_otel.errors import AgentError

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> NoReturn:
    errors.print(f"[red]error:[/] {message}")
    sys.exit(2)


def _settings() -> CacheSettings:
    try:
        settings = settings_from_env()
    except CacheConfigError as exc:
        _fail(str(exc))
    # The commands manage the directory even when the agent's cache is switched off.
    return replace(settings, enabled=True) if not settings.enabled else settings


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
    cache = AnalysisCache(_settings())
    try:
        info = cache.stats()
    except AgentError as exc:
        _fail(str(exc))
    finally:
        cache.close()
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
    console.print(table)


@cache_group.command("clear")
def clear_command() -> None:
    """Delete every cached entry (running agents stop serving them at once)."""
    cache = AnalysisCache(_settings())
    try:
        removed = cache.clear()
    except AgentError as exc:
        _fail(str(exc))
    finally:
        cache.close()
    console.print(f"cleared {removed} entr{'y' if removed == 1 else 'ies'} from {cache.directory}")


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
        _fail(f"{file} holds no tasks: put one task per line, or a JSON array of strings")
    try:
        env = fingerprint or asyncio.run(_discover_fingerprint(servers))
    except AgentError as exc:
        _fail(f"cannot discover the environment fingerprint: {exc}")
    if not env:
        _fail("no MCP server answered, so there is no environment to warm the cache for")
    cache = AnalysisCache(_settings())
    try:
        report = cache.warm(tasks, env, analyze_task)
    except AgentError as exc:
        _fail(str(exc))
    finally:
        cache.close()
    noun = "analysis" if report.stored == 1 else "analyses"
    console.print(
        f"stored {report.stored} {noun} for environment {env} in {cache.directory} "
        "(one transaction)"
    )
    for index, reason in report.skipped:
        errors.print(f"[yellow]skipped[/] task {index + 1}: {reason}")


__all__ = ["cache_group", "read_tasks"]
