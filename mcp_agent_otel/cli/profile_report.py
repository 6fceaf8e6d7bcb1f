"""A profile report (``profiling.baseline_profiler.ProfileReport``) as terminal tables (rich)
and as Markdown; JSON is ``report.to_dict()``.

Pure formatting: every function takes the ``ProfileReport`` and returns text or rich
renderables, nothing is measured here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from mcp_agent_otel.profiling.baseline_profiler import STAGE_ORDER, ProfileReport
from mcp_agent_otel.profiling.span_stats import Bottleneck, OperationStats
from mcp_agent_otel.tracing import semconv

SHARE_NOTE = (
    "self-time: span duration minus its children's; share: of the summed workflow time "
    "(overlapping spans, such as parallel steps, can add up to more than 100%)"
)


def ms(value: float | None) -> str:
    """Milliseconds with 3 significant figures (at least 2 decimals below 1 ms)."""
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def size(value: int | None) -> str:
    if value is None:
        return "-"
    units = ("B", "KiB", "MiB", "GiB")
    amount = float(value)
    for unit in units:
        if abs(amount) < 1024 or unit == units[-1]:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"  # pragma: no cover - the loop always returns


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def summary_lines(report: ProfileReport) -> list[str]:
    cache = report.cache
    lines = [
        f"profile {report.profile}: {report.tasks} task(s), {report.runs} run(s) after "
        f"{report.warmup} warm-up, concurrency {report.concurrency}",
        f"{report.workflows} workflow(s) in {report.wall_s:.2f} s "
        f"({report.throughput_per_s:.1f}/s), {report.failed_workflows} failed; "
        f"{report.spans} span(s) of service {report.service or '-'} version {report.version}",
        f"analysis cache: {pct(cache.hit_rate)} hit rate ({cache.hits} hit(s), "
        f"{cache.misses} miss(es), {cache.not_consulted} not consulted)",
        f"tool discovery ({report.discovery.mode}): {report.discovery.discoveries} "
        f"discover span(s), {report.discovery.servers_listed} server listing(s)",
    ]
    if report.fault:
        lines.append(f"TEST-ONLY FAULT APPLIED: {report.fault}")
    return lines


_LATENCY_COLUMNS = ("n", "err", "p50 ms", "p95 ms", "p99 ms", "mean ms", "self p50 ms")


def _latency_cells(o: OperationStats) -> list[str]:
    lat = o.latency
    return [
        str(lat.count),
        str(o.errors),
        ms(lat.p50_ms),
        ms(lat.p95_ms),
        ms(lat.p99_ms),
        ms(lat.mean_ms),
        ms(o.self_time.p50_ms),
    ]


_BOTTLENECK_COLUMNS = ("span", "self total ms", "share", "per workflow ms", "self p95 ms", "n")


def _bottleneck_cells(b: Bottleneck) -> list[str]:
    return [
        b.name,
        ms(b.total_self_ms),
        pct(b.share),
        ms(b.per_workflow_ms),
        ms(b.self_p95_ms),
        str(b.count),
    ]


def _latency_table(title: str, rows: Iterable[OperationStats]) -> Table:
    table = Table(title=title, header_style="bold", title_justify="left")
    table.add_column("span", overflow="fold")
    for column in _LATENCY_COLUMNS:
        table.add_column(column, justify="right")
    for o in rows:
        table.add_row(o.name, *_latency_cells(o))
    return table


def terminal(report: ProfileReport) -> RenderableType:
    parts: list[RenderableType] = [Text("\n".join(summary_lines(report)))]
    parts.append(_latency_table("stage latency (from the spans)", report.stages))
    if report.discovery.list_tools:
        discover = [o for o in report.stages if o.name == semconv.SPAN_DISCOVER]
        parts.append(
            _latency_table(
                f"tool discovery ({report.discovery.mode})",
                [*discover, *report.discovery.list_tools],
            )
        )
    hot = Table(
        title="top bottlenecks by self-time",
        caption=SHARE_NOTE,
        header_style="bold",
        title_justify="left",
        caption_justify="left",
    )
    for column in _BOTTLENECK_COLUMNS:
        hot.add_column(column, justify="left" if column == "span" else "right")
    for b in report.bottlenecks:
        hot.add_row(*_bottleneck_cells(b))
    parts.append(hot)
    parts.append(_memory_table(report))
    shown = {o.name for o in (*report.stages, *report.discovery.list_tools)}
    others = [o for o in report.operations if o.name not in shown]
    if others:
        parts.append(_latency_table("other spans (tool calls)", others))
    return Group(*parts)


def rss_line(report: ProfileReport) -> str:
    m = report.memory
    return (
        f"process RSS: {size(m.rss_start_bytes)} before and {size(m.rss_end_bytes)} after the "
        f"profiled runs, high-water mark {size(m.rss_peak_bytes)}"
    )


def _memory_table(report: ProfileReport) -> RenderableType:
    memory = report.memory
    if not memory.spans:
        return Text(rss_line(report) + " (no tracemalloc pass: --memory-runs 0)")
    table = Table(
        title=f"tracemalloc peak per stage ({memory.runs} workflow(s) run one at a time; "
        "all spans in --json/--markdown)",
        header_style="bold",
        title_justify="left",
    )
    for column in ("span", "n", "peak p50", "peak max"):
        table.add_column(column, justify="left" if column == "span" else "right")
    for s in memory.spans:
        if s.name in STAGE_ORDER:
            table.add_row(s.name, str(s.samples), size(s.peak_p50_bytes), size(s.peak_max_bytes))
    return Group(Text(rss_line(report)), table)


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    align = ["---" if i == 0 else "---:" for i in range(len(header))]
    return [line(header), "|" + "|".join(align) + "|", *(line(r) for r in rows)]


def markdown(report: ProfileReport) -> str:
    out = [f"# Profile `{report.profile}` (version {report.version})", ""]
    out += [f"- {line}" for line in summary_lines(report)]
    out += ["", "## Stage latency (from the spans)", ""]
    out += _md_table(
        ["span", *_LATENCY_COLUMNS], ([o.name, *_latency_cells(o)] for o in report.stages)
    )
    out += ["", "## All spans", ""]
    out += _md_table(
        ["span", *_LATENCY_COLUMNS], ([o.name, *_latency_cells(o)] for o in report.operations)
    )
    out += ["", f"## Tool discovery ({report.discovery.mode})", ""]
    d = report.discovery
    out.append(
        f"{d.discoveries} discover span(s), {d.servers_listed} server listing(s); discover "
        f"p50 {ms(d.discover.p50_ms)} ms, p95 {ms(d.discover.p95_ms)} ms, "
        f"p99 {ms(d.discover.p99_ms)} ms."
    )
    if d.list_tools:
        out.append("")
        out += _md_table(
            ["span", *_LATENCY_COLUMNS], ([o.name, *_latency_cells(o)] for o in d.list_tools)
        )
    out += ["", "## Top bottlenecks by self-time", "", SHARE_NOTE + ".", ""]
    out += _md_table(_BOTTLENECK_COLUMNS, (_bottleneck_cells(b) for b in report.bottlenecks))
    m = report.memory
    out += ["", "## Memory", "", rss_line(report) + "."]
    if m.spans:
        out += [
            "",
            f"tracemalloc peak above the level at span start, {m.runs} workflow(s) "
            "run one at a time:",
            "",
        ]
        out += _md_table(
            ["span", "n", "peak p50", "peak max"],
            (
                [s.name, str(s.samples), size(s.peak_p50_bytes), size(s.peak_max_bytes)]
                for s in m.spans
            ),
        )
    return "\n".join(out) + "\n"
