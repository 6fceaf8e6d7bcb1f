"""The regression analyzer's commands: ``mcp-agent-otel analyzer serve|ingest|baseline|stats``.

Parsing and printing only; the work is done by the ``regression`` package. What needs numpy,
scipy, FastAPI or the SQLite store is imported inside the command that uses it, so that
``--help`` loads none of them. The CI gate ``check`` is in ``check_command``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from mcp_agent_otel.cli.console import fail, warn, wide_console
from mcp_agent_otel.cli.options import db_option, json_option
from mcp_agent_otel.regression.config import (
    DEFAULT_GRPC_PORT,
    DEFAULT_HOST,
    DEFAULT_HTTP_PORT,
    AnalyzerConfig,
    AnalyzerConfigError,
    config_from_env,
)
from mcp_agent_otel.regression.time_ranges import HELP as TIME_HELP
from mcp_agent_otel.regression.time_ranges import TimeSpecError, parse_time
from mcp_agent_otel.tracing import semconv

if TYPE_CHECKING:
    from mcp_agent_otel.regression.runtime import RegressionAnalyzer

WIDTH = 140  # off a terminal (logs and CI): wide enough not to fold operation names


def analyzer_config(db: str | None, **changes: Any) -> AnalyzerConfig:
    """The analyzer's settings from the environment, ``--db`` and the options given (None:
    not given); an unusable setting exits 2 naming it."""
    try:
        config = config_from_env(db_path=db)
        return config.with_changes(**{k: v for k, v in changes.items() if v is not None})
    except AnalyzerConfigError as exc:
        fail(str(exc))


@contextmanager
def opened_analyzer(db: str | None, *refused: type[Exception]) -> Iterator[RegressionAnalyzer]:
    """The analyzer on the store at ``db`` for one command, closed at the end; an error of
    a kind in ``refused`` is bad input (exit 2 with its message)."""
    from mcp_agent_otel.regression.runtime import RegressionAnalyzer
    from mcp_agent_otel.regression.store import StoreError

    try:
        analyzer = RegressionAnalyzer(analyzer_config(db), background=False)
    except StoreError as exc:
        fail(str(exc))
    try:
        yield analyzer
    except refused as exc:
        fail(str(exc))
    finally:
        analyzer.close()


def _time(value: str | None, option: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_time(value, time.time())
    except TimeSpecError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


@click.group("analyzer", context_settings={"help_option_names": ["-h", "--help"]})
def analyzer_group() -> None:
    """The regression analyzer: OTLP receiver, baselines, comparisons, alerts."""


@analyzer_group.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="address to bind")
@click.option(
    "--http-port",
    default=DEFAULT_HTTP_PORT,
    show_default=True,
    help="OTLP/HTTP receiver, API and dashboard (0: any free port)",
)
@click.option(
    "--grpc-port", default=DEFAULT_GRPC_PORT, show_default=True, help="OTLP/gRPC (0: any free port)"
)
@db_option
@click.option("--webhook", help="POST each alert as JSON here ($MCP_AGENT_OTEL_ANALYZER_WEBHOOK)")
@click.option("--max-operations", type=int, help="cardinality cap (default 1000)")
@click.option("--retention-days", type=float, help="keep buckets this long (default 7)")
def serve_command(
    host: str,
    http_port: int,
    grpc_port: int,
    db: str | None,
    webhook: str | None,
    max_operations: int | None,
    retention_days: float | None,
) -> None:
    """Receive OTLP traces (HTTP and gRPC) and serve the API until interrupted."""
    from mcp_agent_otel.regression.alerts import ALERT_LOGGER
    from mcp_agent_otel.regression.ingest import UnstoredSpansError
    from mcp_agent_otel.regression.service import Endpoints, serve
    from mcp_agent_otel.regression.store import StoreError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    alert_log = logging.getLogger(ALERT_LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))  # one JSON object per line
    alert_log.addHandler(handler)
    alert_log.propagate = False
    config = analyzer_config(
        db,
        webhook_url=webhook,
        max_operations=max_operations,
        retention_seconds=retention_days * 86400.0 if retention_days is not None else None,
    )
    if host not in ("127.0.0.1", "::1", "localhost") and not config.token:
        warn(
            f"listening on {host} without a token; set MCP_AGENT_OTEL_ANALYZER_TOKEN to require one"
        )

    def ready(endpoints: Endpoints) -> None:
        click.echo(
            f"analyzer: OTLP/HTTP + API on {endpoints.http_url} (POST /v1/traces, docs "
            f"{endpoints.http_url}/docs), OTLP/gRPC on {endpoints.grpc_target}, "
            f"database {config.db_path}" + (", token required" if config.token else ""),
        )
        sys.stdout.flush()

    try:
        serve(config, host=host, http_port=http_port, grpc_port=grpc_port, on_ready=ready)
    except UnstoredSpansError as exc:
        fail(str(exc), 1)
    except (OSError, StoreError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass


@analyzer_group.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@db_option
@json_option
def ingest_command(files: tuple[str, ...], db: str | None, as_json: bool) -> None:
    """Ingest OTLP-JSON-lines FILES (the agent's spans.jsonl, the collector's file exporter)."""
    from mcp_agent_otel.regression.offline import SpansFileError

    with opened_analyzer(db, SpansFileError) as analyzer:
        reports = analyzer.ingest_files(files)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        for r in reports:
            click.echo(
                f"{r.path}: {r.lines} line(s), {r.accepted} span(s) accepted, "
                f"{r.rejected} rejected, {r.bad_lines} bad line(s)"
            )
            for line in [*r.errors, *r.notes]:
                click.echo(f"  {line}")
            if r.old:
                click.echo(
                    f"  {r.old} span(s) are older than the retention period "
                    f"({semconv.ENV_ANALYZER_RETENTION_DAYS}); they were accepted from the file, "
                    "and a running analyzer prunes them at its next upkeep: create a baseline "
                    "from them now (baselines are kept) or raise the retention"
                )
    if not sum(r.accepted for r in reports):
        fail(
            f"no span was accepted from {', '.join(r.path for r in reports)}; see the "
            "reasons above",
            1,
        )
    if any(r.bad_lines for r in reports):
        sys.exit(1)


@analyzer_group.group("baseline")
def baseline_group() -> None:
    """Create, list and delete baselines (named snapshots of a version or a time range)."""


@baseline_group.command("create")
@click.argument("name")
@click.option("--version", "version", help="snapshot the spans of this service.version")
@click.option("--since", help=f"start of a time range: {TIME_HELP}")
@click.option("--until", help="end of a time range")
@click.option("--service", help="only this service.name")
@click.option("--environment", help="only this deployment environment")
@db_option
@json_option
def baseline_create(
    name: str,
    version: str | None,
    since: str | None,
    until: str | None,
    service: str | None,
    environment: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Create baseline NAME from --version V, or from --since T --until T."""
    from mcp_agent_otel.regression.baselines import BaselineError, Selector
    from mcp_agent_otel.regression.store import BaselineExistsError

    with opened_analyzer(db, BaselineError, BaselineExistsError) as analyzer:
        selector = Selector(
            version=version,
            since=_time(since, "--since"),
            until=_time(until, "--until"),
            service=service,
            environment=environment,
        )
        info = analyzer.create_baseline(name, selector)
    if as_json:
        click.echo(json.dumps(info.to_dict(), indent=2))
    else:
        click.echo(
            f"baseline {info.name}: {info.operations} operation(s), {info.spans} span(s) "
            f"({Selector.from_dict(info.source).describe()})"
        )


@baseline_group.command("list")
@db_option
@json_option
def baseline_list(db: str | None, as_json: bool) -> None:
    """List the baselines."""
    from mcp_agent_otel.regression.baselines import Selector

    with opened_analyzer(db) as analyzer:
        infos = analyzer.list_baselines()
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    if not infos:
        click.echo("no baselines yet: create one with `mcp-agent-otel analyzer baseline create`")
        return
    table = Table(header_style="bold", title="baselines")
    for column in ("name", "created", "source", "operations", "spans"):
        table.add_column(column)
    for i in infos:
        table.add_row(
            i.name,
            i.to_dict()["created_iso"],
            Selector.from_dict(i.source).describe(),
            str(i.operations),
            str(i.spans),
        )
    wide_console(WIDTH).print(table)


@baseline_group.command("delete")
@click.argument("name")
@db_option
def baseline_delete(name: str, db: str | None) -> None:
    """Delete baseline NAME."""
    from mcp_agent_otel.regression.store import BaselineNotFoundError

    with opened_analyzer(db, BaselineNotFoundError) as analyzer:
        analyzer.delete_baseline(name)
    click.echo(f"deleted baseline {name}")


@analyzer_group.command("stats")
@db_option
@json_option
def stats_command(db: str | None, as_json: bool) -> None:
    """Ingest counts: accepted and refused spans (by reason), operations, storage."""
    with opened_analyzer(db) as analyzer:
        stats = analyzer.stats()
    if as_json:
        click.echo(json.dumps(stats, indent=2))
        return
    spans, requests, ops = stats["spans"], stats["requests"], stats["operations"]
    click.echo(
        f"database: {stats['storage']['database']} ({stats['storage']['database_bytes']} bytes)"
    )
    click.echo(f"spans: {spans['accepted']} accepted, {spans['rejected']} rejected")
    for reason, n in stats["rejected_by_reason"].items():
        click.echo(f"  rejected: {n} {reason}")
    for reason, n in stats["warnings"].items():
        click.echo(f"  warning: {n} {reason}")
    click.echo(f"requests: {requests['total']} ({requests['invalid']} invalid)")
    for reason, n in stats["invalid_requests_by_reason"].items():
        click.echo(f"  invalid: {n} {reason}")
    click.echo(f"operations: {ops['count']} of a cap of {ops['cap']}")
    click.echo(f"alerts: {stats['alerts']}")
    for v in stats["versions"]:
        env = f" ({v['environment']})" if v["environment"] else ""
        click.echo(f"  version {v['version'] or '(none)'}{env}: {v['spans']} span(s)")
