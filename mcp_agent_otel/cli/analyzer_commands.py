"""The analyzer's commands: ``mcp-agent-otel analyzer ...`` and the CI gate ``check``.

Parsing and printing only; the work is done by the analyzer package.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from mcp_agent_otel.regression import gate, statistics
from mcp_agent_otel.regression.alerts import ALERT_LOGGER
from mcp_agent_otel.regression.baselines import BaselineError, Selector
from mcp_agent_otel.regression.client import AnalyzerClient, ClientError
from mcp_agent_otel.regression.config import (
    DEFAULT_GRPC_PORT,
    DEFAULT_HOST,
    DEFAULT_HTTP_PORT,
    AnalyzerConfig,
    AnalyzerConfigError,
    config_from_env,
)
from mcp_agent_otel.regression.ingest import UnstoredSpansError
from mcp_agent_otel.regression.offline import METRICS, SpansFileError, file_samples
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.regression.service import Endpoints, serve
from mcp_agent_otel.regression.store import BaselineExistsError, BaselineNotFoundError, StoreError
from mcp_agent_otel.regression.time_ranges import HELP as TIME_HELP
from mcp_agent_otel.regression.time_ranges import TimeSpecError, parse_time
from mcp_agent_otel.tracing import semconv

_errors = Console(stderr=True)


def _console() -> Console:
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 140)  # logs and CI: do not fold operation names
    return console


def _fail(message: str, code: int = 2) -> NoReturn:
    _errors.print(f"[red]error:[/] {message}", highlight=False)
    sys.exit(code)


def _config(db: str | None, **changes: Any) -> AnalyzerConfig:
    try:
        config = config_from_env(db_path=db)
        return config.with_changes(**{k: v for k, v in changes.items() if v is not None})
    except AnalyzerConfigError as exc:
        _fail(str(exc))


def _open(db: str | None) -> RegressionAnalyzer:
    try:
        return RegressionAnalyzer(_config(db), background=False)
    except StoreError as exc:
        _fail(str(exc))


def _time(value: str | None, option: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_time(value, time.time())
    except TimeSpecError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="SQLite database (default: $MCP_AGENT_OTEL_ANALYZER_DB, "
    "else $MCP_AGENT_OTEL_HOME/analyzer.db)",
)
json_option = click.option("--json", "as_json", is_flag=True, help="print JSON")


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
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    alert_log = logging.getLogger(ALERT_LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))  # one JSON object per line
    alert_log.addHandler(handler)
    alert_log.propagate = False
    config = _config(
        db,
        webhook_url=webhook,
        max_operations=max_operations,
        retention_seconds=retention_days * 86400.0 if retention_days is not None else None,
    )
    if host not in ("127.0.0.1", "::1", "localhost") and not config.token:
        _errors.print(
            f"[yellow]warning:[/] listening on {host} without a token; set "
            "MCP_AGENT_OTEL_ANALYZER_TOKEN to require one",
            highlight=False,
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
        _fail(str(exc), 1)
    except (OSError, StoreError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        pass


@analyzer_group.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@db_option
@json_option
def ingest_command(files: tuple[str, ...], db: str | None, as_json: bool) -> None:
    """Ingest OTLP-JSON-lines FILES (the agent's spans.jsonl, the collector's file exporter)."""
    analyzer = _open(db)
    try:
        reports = analyzer.ingest_files(files)
    except SpansFileError as exc:
        _fail(str(exc))
    finally:
        analyzer.close()
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
        _errors.print(
            "[red]error:[/] no span was accepted from "
            f"{', '.join(r.path for r in reports)}; see the reasons above",
            highlight=False,
        )
        sys.exit(1)
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
    analyzer = _open(db)
    try:
        selector = Selector(
            version=version,
            since=_time(since, "--since"),
            until=_time(until, "--until"),
            service=service,
            environment=environment,
        )
        info = analyzer.create_baseline(name, selector)
    except (BaselineError, BaselineExistsError) as exc:
        _fail(str(exc))
    finally:
        analyzer.close()
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
    analyzer = _open(db)
    try:
        infos = analyzer.list_baselines()
    finally:
        analyzer.close()
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
    _console().print(table)


@baseline_group.command("delete")
@click.argument("name")
@db_option
def baseline_delete(name: str, db: str | None) -> None:
    """Delete baseline NAME."""
    analyzer = _open(db)
    try:
        analyzer.delete_baseline(name)
    except BaselineNotFoundError as exc:
        _fail(str(exc))
    finally:
        analyzer.close()
    click.echo(f"deleted baseline {name}")


@analyzer_group.command("stats")
@db_option
@json_option
def stats_command(db: str | None, as_json: bool) -> None:
    """Ingest counts: accepted and refused spans (by reason), operations, storage."""
    analyzer = _open(db)
    try:
        stats = analyzer.stats()
    finally:
        analyzer.close()
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


# --- the CI gate ---------------------------------------------------------------------------
def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None or not math.isfinite(value) else pattern.format(value)


REASONS_SHOWN = 5  # inconclusive reasons printed under the table (all regressions are)

_VERDICT_STYLE = {
    "regression": "bold red",
    "improvement": "green",
    "no_change": "green",
    "inconclusive": "yellow",
}


def _ratio(test: statistics.StatisticTest | None) -> str:
    if test is None:
        return "-"
    text = _fmt(test.ratio, "{:.3f}")
    return f"[bold red]{text}[/]" if test.regressed else text


def print_report(report: gate.GateReport, console: Console) -> None:
    what = "CPU time" if report.metric == "cpu" else "duration"
    table = Table(
        header_style="bold",
        title=f"baseline {report.baseline} vs {report.candidate}: {what} "
        f"(threshold {report.threshold:.0%}, alpha {report.alpha:g}, pass when a "
        f"{report.threshold:.0%} slowdown is ruled out at {report.pass_confidence:.0%})",
    )
    table.add_column("operation", overflow="fold")
    table.add_column("n (base/cand)", justify="right")
    table.add_column("median ratio [CI]", justify="right")
    table.add_column("p95", justify="right")
    table.add_column("p99", justify="right")
    table.add_column("p (adj.)", justify="right")
    table.add_column("verdict")
    for c in report.comparisons:
        style = _VERDICT_STYLE.get(c.verdict.value, "")
        table.add_row(
            c.operation,
            f"{c.baseline_n}/{c.candidate_n}",
            f"{_fmt(c.ratio, '{:.3f}')} [{_fmt(c.ratio_ci_low, '{:.3f}')}, "
            f"{_fmt(c.ratio_ci_high, '{:.3f}')}]",
            _ratio(c.test("p95")),
            _ratio(c.test("p99")),
            _fmt(min((t.p_adjusted for t in c.tests), default=c.p_adjusted), "{:.2g}"),
            f"[{style}]{c.verdict.value}[/]" if style else c.verdict.value,
        )
    console.print(table)
    regressed = [c for c in report.comparisons if c.verdict.value == "regression"]
    undecided = [c for c in report.comparisons if c.verdict.value == "inconclusive"]
    for c in [*regressed, *undecided[:REASONS_SHOWN]]:
        console.print(f"  {c.operation}: {c.reason}", highlight=False)
    if len(undecided) > REASONS_SHOWN:
        console.print(
            f"  ... and {len(undecided) - REASONS_SHOWN} more inconclusive operation(s) "
            "(--json has every reason)",
            highlight=False,
        )
    noisy = [c for c in report.comparisons if c.design != "independent"]
    if noisy and not regressed and not undecided:
        console.print(f"  {noisy[0].operation}: {noisy[0].reason}", highlight=False)
    if report.only_in_baseline:
        console.print(
            f"  not in the candidate (skipped): {', '.join(report.only_in_baseline)}",
            highlight=False,
        )
    style = {"pass": "green", "regression": "bold red"}.get(report.verdict, "yellow")
    console.print(f"[{style}]{report.verdict.upper()}[/]: {report.message}", highlight=False)


def _read_files(
    files: tuple[str, ...], service: str | None, metric: str
) -> dict[OperationKey, gate.Evidence]:
    """Per operation, the files' spans grouped by run id (``Runs`` when there are several)."""
    try:
        samples, reports = file_samples(files, service=service, metric=metric)
    except SpansFileError as exc:
        _fail(str(exc))
    for r in reports:
        for line in r.errors:
            _errors.print(f"[yellow]warning:[/] {line}", highlight=False)
    if metric == "cpu" and not samples:
        _fail(
            f"no span in {', '.join(files)} carries {semconv.CPU_TIME_MS}; CPU time is recorded "
            "on the synchronous stages (task_analyzer.analyze, decision_engine.decide)"
        )
    return {key: gate.runs_of(by_run) for key, by_run in samples.items()}


@click.command("check")
@click.option("--baseline", "baseline", help="the stored baseline to compare against")
@click.option(
    "--baseline-file",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="OTLP-JSON-lines spans file(s) of the baseline instead of a stored baseline "
    "(repeatable; several runs, told apart by mcp_agent.run.id, widen the comparison by the "
    "run-to-run noise)",
)
@click.option("--candidate-version", help="the stored spans of this service.version")
@click.option(
    "--candidate-file",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="OTLP-JSON-lines spans file(s) of the candidate run (repeatable)",
)
@click.option("--service", help="only this service.name")
@click.option(
    "--threshold",
    default=statistics.DEFAULT_THRESHOLD,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True, max=10),
    help="relative slowdown that counts as a regression",
)
@click.option(
    "--alpha",
    default=statistics.DEFAULT_ALPHA,
    show_default=True,
    type=click.FloatRange(min=0, max=0.5, min_open=True, max_open=True),
    help="significance level (weighted Benjamini-Hochberg across operations and statistics)",
)
@click.option(
    "--pass-confidence",
    default=statistics.DEFAULT_PASS_CONFIDENCE,
    show_default=True,
    type=click.FloatRange(min=0.5, max=1, max_open=True),
    help="pass when a slowdown of the threshold is ruled out at this one-sided confidence",
)
@click.option(
    "--min-samples",
    default=statistics.DEFAULT_MIN_SAMPLES,
    show_default=True,
    type=click.IntRange(min=2),
    help="fewer spans than this on a side: inconclusive",
)
@click.option(
    "--metric",
    type=click.Choice(METRICS),
    default="wall",
    show_default=True,
    help="wall: span durations; cpu: thread CPU time of the synchronous stages "
    f"({semconv.CPU_TIME_MS}; files and --ab only), which a busy neighbour barely moves",
)
@click.option(
    "--ab",
    is_flag=True,
    help="run the baseline and the candidate builds here, in alternating blocks (see "
    "--baseline-cmd/--candidate-cmd), and compare the blocks as pairs",
)
@click.option(
    "--baseline-cmd",
    metavar="CMD",
    help="with --ab: the baseline build's mcp-agent-otel command, e.g. "
    "base/.venv/bin/mcp-agent-otel",
)
@click.option(
    "--candidate-cmd",
    metavar="CMD",
    help="with --ab: the candidate build's command (default: this mcp-agent-otel)",
)
@click.option("--workload", default="mixed", show_default=True, help="with --ab: the workload")
@click.option(
    "--blocks",
    type=click.IntRange(min=2),
    default=50,
    show_default=True,
    help="with --ab: blocks per build (many short blocks pair more closely in time; the "
    "paired test needs about 12 or more to reach significance at all)",
)
@click.option(
    "--block-runs",
    type=click.IntRange(min=1),
    default=18,
    show_default=True,
    help="with --ab: workflows per block (a multiple of the workload's task count keeps "
    "every block's task mix the same)",
)
@json_option
@db_option
@click.option(
    "--url", help="ask a running analyzer instead of a database, e.g. http://127.0.0.1:4418"
)
def check_command(
    baseline: str | None,
    baseline_file: tuple[str, ...],
    candidate_version: str | None,
    candidate_file: tuple[str, ...],
    service: str | None,
    threshold: float,
    alpha: float,
    pass_confidence: float,
    min_samples: int,
    metric: str,
    ab: bool,
    baseline_cmd: str | None,
    candidate_cmd: str | None,
    workload: str,
    blocks: int,
    block_runs: int,
    as_json: bool,
    db: str | None,
    url: str | None,
) -> None:
    """CI gate: compare a candidate against --baseline NAME (or --baseline-file F), or run
    both builds here with --ab.

    Exit 0 pass, 1 regression, 2 inconclusive (or a missing baseline / unusable input).
    """
    options: dict[str, Any] = {
        "threshold": threshold,
        "alpha": alpha,
        "min_samples": min_samples,
        "pass_confidence": pass_confidence,
    }
    if ab:
        report = _ab(
            baseline_cmd, candidate_cmd, workload, blocks, block_runs, service, metric, options
        )
        _finish(report, as_json)
    if (baseline is None) == (not baseline_file):
        _fail("give exactly one of --baseline NAME or --baseline-file F (or use --ab)")
    if (candidate_version is None) == (not candidate_file):
        _fail("give exactly one of --candidate-version V or --candidate-file F")
    if db and url:
        _fail("give --db or --url, not both")
    if metric == "cpu" and not (baseline_file and candidate_file):
        _fail(
            "--metric cpu reads the spans' CPU time from files: give --baseline-file and "
            "--candidate-file (the store keeps durations only), or use --ab"
        )
    durations = _read_files(candidate_file, service, metric) if candidate_file else None
    if baseline_file:
        report = gate.compare_durations(
            _read_files(baseline_file, service, metric),
            durations or {},
            baseline_name=", ".join(baseline_file),
            candidate_name=", ".join(candidate_file),
            metric=metric,
            **options,
        )
        _finish(report, as_json)
    assert baseline is not None
    try:
        if url:
            flat = None if durations is None else {k: _pooled(v) for k, v in durations.items()}
            report = _remote(
                url, baseline, candidate_version, flat, service, threshold, alpha, min_samples
            )
        else:
            report = _local(
                db, baseline, candidate_version, durations, candidate_file, service, options
            )
    except BaselineNotFoundError as exc:
        _fail(str(exc))
    except (ClientError, ValueError) as exc:
        _fail(str(exc))
    _finish(report, as_json)


def _pooled(evidence: gate.Evidence) -> Any:
    if isinstance(evidence, statistics.Runs):
        return np.concatenate([np.asarray(g, dtype=np.float64) for g in evidence.groups])
    return evidence


def _finish(report: gate.GateReport, as_json: bool) -> NoReturn:
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_report(report, _console())
    sys.exit(report.exit_code)


def _ab(
    baseline_cmd: str | None,
    candidate_cmd: str | None,
    workload: str,
    blocks: int,
    block_runs: int,
    service: str | None,
    metric: str,
    options: dict[str, Any],
) -> gate.GateReport:
    from mcp_agent_otel.profiling import ab_blocks  # the profiler: loaded only for --ab

    if not baseline_cmd:
        _fail("--ab needs --baseline-cmd: the baseline build's mcp-agent-otel command")
    try:
        plan = ab_blocks.AbPlan(
            baseline=ab_blocks.command(baseline_cmd),
            candidate=ab_blocks.command(candidate_cmd) if candidate_cmd else ab_blocks.this(),
            workload=workload,
            blocks=blocks,
            block_runs=block_runs,
        )
        result = ab_blocks.run_ab(plan, progress=lambda text: _errors.print(text))
    except ab_blocks.AbError as exc:
        _fail(str(exc))
    base, cand = result.evidence(service=service, metric=metric)
    return gate.compare_durations(
        base,
        cand,
        baseline_name=f"A {baseline_cmd}",
        candidate_name=f"B {candidate_cmd or 'this build'}",
        paired=True,
        metric=metric,
        **options,
    )


def _local(
    db: str | None,
    baseline: str,
    version: str | None,
    durations: dict[OperationKey, gate.Evidence] | None,
    files: tuple[str, ...],
    service: str | None,
    options: dict[str, Any],
) -> gate.GateReport:
    config = _config(db)
    if not Path(config.db_path).exists():
        raise BaselineNotFoundError(
            f"no analyzer database at {config.db_path}, so no baseline {baseline!r}; ingest "
            "spans and create the baseline first, or point --db / --url at the analyzer"
        )
    analyzer = _open(db)
    try:
        if durations is not None:
            candidate = gate.Candidate(durations=durations, label=", ".join(files))
        else:
            candidate = gate.Candidate(selector=Selector(version=version, service=service))
        return analyzer.compare(baseline, candidate, service=service, **options)
    finally:
        analyzer.close()


def _remote(
    url: str,
    baseline: str,
    version: str | None,
    durations: Any,
    service: str | None,
    threshold: float,
    alpha: float,
    min_samples: int,
) -> gate.GateReport:
    client = AnalyzerClient(url)
    candidate: dict[str, Any]
    if durations is not None:
        candidate = {
            "operations": [
                {"service": k.service, "name": k.name, "durations_ms": v.tolist()}
                for k, v in durations.items()
            ]
        }
    else:
        candidate = {"version": version}
    body = {
        "baseline": baseline,
        "candidate": candidate,
        "service": service,
        "threshold": threshold,
        "alpha": alpha,
        "min_samples": min_samples,
    }
    try:
        return gate.GateReport.from_dict(client.compare(body))
    except ClientError as exc:
        if exc.status == 404:
            raise BaselineNotFoundError(str(exc)) from None
        raise
