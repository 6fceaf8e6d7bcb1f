"""The CI gate: ``mcp-agent-otel check`` (a stored baseline, spans files, or ``--ab``).

Parsing and printing only: the comparison is ``regression.gate`` (over the store, a running
analyzer's API, or spans files read by ``regression.offline``), the A/B runs are
``profiling.ab_blocks``; the table is ``gate_report``. The statistics stack is imported
when the command runs, so that ``check --help`` loads no numpy or scipy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from mcp_agent_otel.cli.analyzer_commands import WIDTH, analyzer_config, opened_analyzer
from mcp_agent_otel.cli.console import errors, fail, warn, wide_console
from mcp_agent_otel.cli.gate_report import print_report
from mcp_agent_otel.cli.options import count_option, db_option, json_option
from mcp_agent_otel.regression import gate_defaults
from mcp_agent_otel.regression.client import AnalyzerClient, ClientError
from mcp_agent_otel.tracing import semconv

if TYPE_CHECKING:
    from mcp_agent_otel.regression import gate
    from mcp_agent_otel.regression.operation import OperationKey


def _read_files(
    files: tuple[str, ...], service: str | None, metric: str
) -> dict[OperationKey, gate.Evidence]:
    """Per operation, the files' spans grouped by run id (``Runs`` when there are several)."""
    from mcp_agent_otel.regression import gate
    from mcp_agent_otel.regression.offline import SpansFileError, file_samples

    try:
        samples, reports = file_samples(files, service=service, metric=metric)
    except SpansFileError as exc:
        fail(str(exc))
    for r in reports:
        for line in r.errors:
            warn(line)
    if metric == "cpu" and not samples:
        fail(
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
    default=gate_defaults.DEFAULT_THRESHOLD,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True, max=10),
    help="relative slowdown that counts as a regression",
)
@click.option(
    "--alpha",
    default=gate_defaults.DEFAULT_ALPHA,
    show_default=True,
    type=click.FloatRange(min=0, max=0.5, min_open=True, max_open=True),
    help="significance level (weighted Benjamini-Hochberg across operations and statistics)",
)
@click.option(
    "--pass-confidence",
    default=gate_defaults.DEFAULT_PASS_CONFIDENCE,
    show_default=True,
    type=click.FloatRange(min=0.5, max=1, max_open=True),
    help="pass when a slowdown of the threshold is ruled out at this one-sided confidence",
)
@count_option(
    "--min-samples",
    minimum=2,
    default=gate_defaults.DEFAULT_MIN_SAMPLES,
    help="fewer spans than this on a side: inconclusive",
)
@click.option(
    "--metric",
    type=click.Choice(gate_defaults.METRICS),
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
@count_option(
    "--blocks",
    minimum=2,
    default=gate_defaults.DEFAULT_AB_BLOCKS,
    help="with --ab: blocks per build (many short blocks pair more closely in time; the "
    "paired test needs about 12 or more to reach significance at all)",
)
@count_option(
    "--block-runs",
    minimum=1,
    default=gate_defaults.DEFAULT_AB_BLOCK_RUNS,
    help="with --ab: workflows per block (blocks go on through the workload's tasks, so block "
    "i runs the same tasks in both builds)",
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
    from mcp_agent_otel.regression import gate
    from mcp_agent_otel.regression.store import BaselineNotFoundError

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
        fail("give exactly one of --baseline NAME or --baseline-file F (or use --ab)")
    if (candidate_version is None) == (not candidate_file):
        fail("give exactly one of --candidate-version V or --candidate-file F")
    if db and url:
        fail("give --db or --url, not both")
    if metric == "cpu" and not (baseline_file and candidate_file):
        fail(
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
        fail(str(exc))
    except (ClientError, ValueError) as exc:
        fail(str(exc))
    _finish(report, as_json)


def _pooled(evidence: gate.Evidence) -> Any:
    import numpy as np

    from mcp_agent_otel.regression import statistics

    if isinstance(evidence, statistics.Runs):
        return np.concatenate([np.asarray(g, dtype=np.float64) for g in evidence.groups])
    return evidence


def _finish(report: gate.GateReport, as_json: bool) -> NoReturn:
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_report(report, wide_console(WIDTH))
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
    from mcp_agent_otel.regression import gate

    if not baseline_cmd:
        fail("--ab needs --baseline-cmd: the baseline build's mcp-agent-otel command")
    try:
        plan = ab_blocks.AbPlan(
            baseline=ab_blocks.command(baseline_cmd),
            candidate=ab_blocks.command(candidate_cmd) if candidate_cmd else ab_blocks.this(),
            workload=workload,
            blocks=blocks,
            block_runs=block_runs,
        )
        result = ab_blocks.run_ab(plan, progress=lambda text: errors.print(text))
    except ab_blocks.AbError as exc:
        fail(str(exc))
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
    from mcp_agent_otel.regression import gate
    from mcp_agent_otel.regression.baselines import Selector
    from mcp_agent_otel.regression.store import BaselineNotFoundError

    config = analyzer_config(db)
    if not Path(config.db_path).exists():
        raise BaselineNotFoundError(
            f"no analyzer database at {config.db_path}, so no baseline {baseline!r}; ingest "
            "spans and create the baseline first, or point --db / --url at the analyzer"
        )
    with opened_analyzer(db) as analyzer:
        if durations is not None:
            candidate = gate.Candidate(durations=durations, label=", ".join(files))
        else:
            candidate = gate.Candidate(selector=Selector(version=version, service=service))
        return analyzer.compare(baseline, candidate, service=service, **options)


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
    from mcp_agent_otel.regression import gate
    from mcp_agent_otel.regression.store import BaselineNotFoundError

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
