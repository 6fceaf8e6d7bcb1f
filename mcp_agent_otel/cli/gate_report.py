"""A CI gate report as a terminal table (rich), with the reasons worth reading under it.

The report is ``regression.gate.GateReport``; ``--json`` prints its ``to_dict()`` instead.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from mcp_agent_otel.regression import gate, statistics


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
