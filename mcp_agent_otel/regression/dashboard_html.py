"""The dashboard's pages: what each shows, as plain view data, rendered by the Jinja2
templates in ``templates/`` (``dashboard_templates``).

This module decides *what* a page shows (the numbers, their wording, which charts, in which
order); the templates decide the markup, and the stylesheet (``templates/dashboard.css``) the
looks. The environment escapes every value by default (``autoescape=True``), so span data
(operation and service names, versions, baseline names, trace ids, alert texts) is escaped
without anyone having to remember it.

Semantic, self-contained HTML (inline CSS and SVG, no script, nothing fetched), readable on a
laptop screen. Accessibility: landmarks and a heading outline, tables with ``scope``d headers
and captions, charts with ``<title>``/``<desc>``, verdicts as icon + word (never colour alone),
text colours of at least 4.5:1 against their background (``dashboard_palette``, checked by
the tests).
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

from mcp_agent_otel.regression.aggregates import Exemplar
from mcp_agent_otel.regression.alerts import Alert
from mcp_agent_otel.regression.comparison import finite_or_none
from mcp_agent_otel.regression.dashboard_charts import (
    ChartView,
    LegendItem,
    chart_view,
    legend_item,
)
from mcp_agent_otel.regression.dashboard_formats import (
    format_count,
    format_ms,
    format_p,
    format_percent,
    format_ratio,
    version_label,
)
from mcp_agent_otel.regression.dashboard_links import JaegerLinks
from mcp_agent_otel.regression.dashboard_model import WINDOWS, DashboardData, OperationView
from mcp_agent_otel.regression.dashboard_specs import (
    HIT_RATE_LEGEND,
    alerts_of,
    cache_spec,
    latency_legend,
    latency_spec,
    throughput_spec,
)
from mcp_agent_otel.regression.dashboard_templates import render
from mcp_agent_otel.regression.statistics import Comparison, Verdict

DETAIL_PATH = "/dashboard/operations"
REFRESH_CHOICES = (0, 10, 30, 60, 300)
DEFAULT_REFRESH = 30
MAX_CHARTS = 24  # trend cards on the overview; the table lists every operation


def query(window: str, version: str | None, refresh: int, **extra: str) -> str:
    params: dict[str, str] = {"window": window}
    if version is not None:
        params["version"] = version
    params["refresh"] = str(refresh)
    params.update(extra)
    return "?" + urlencode(params)


def _none_label(view: OperationView) -> str:
    return "No baseline" if view.baseline is None else "Not compared"


# --- the page frame -------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Option:
    value: str
    label: str
    selected: bool


@dataclasses.dataclass(frozen=True)
class Form:
    """The header's form: what to show (window, version, auto-refresh)."""

    action: str
    windows: tuple[Option, ...]
    versions: tuple[Option, ...]
    refreshes: tuple[Option, ...]


def _form(data: DashboardData, refresh: int, action: str = "/") -> Form:
    return Form(
        action=action,
        windows=tuple(Option(w, w, w == data.window) for w in WINDOWS),
        versions=tuple(
            Option(
                v, version_label(v) + (" (newest)" if i == 0 else ""), v == data.candidate_version
            )
            for i, v in enumerate(data.versions)
        ),
        refreshes=tuple(
            Option(
                str(r),
                "off" if r == 0 else (f"{r} s" if r < 60 else f"{r // 60} min"),
                r == refresh,
            )
            for r in sorted({*REFRESH_CHOICES, refresh})
        ),
    )


def _frame(data: DashboardData, links: JaegerLinks, refresh: int, action: str) -> dict[str, Any]:
    """What the header and footer of a data page need."""
    return {
        "data": data,
        "links": links,
        "refresh": refresh,
        "form": _form(data, refresh, action),
        "turn_off": query(data.window, data.candidate_version, 0),
    }


# --- the overview -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Tile:
    label: str
    value: str
    note: str = ""
    bad: bool = False
    is_name: bool = False  # a name, cut with an ellipsis when long (full text as tooltip)


@dataclasses.dataclass(frozen=True)
class AlertRow:
    alert: Alert
    where: str  # version and environment, when known


@dataclasses.dataclass(frozen=True)
class ChangeCells:
    """The comparison's cells of a row: change (ratio and interval), p-value and n."""

    text: str
    data_ratio: str
    interval: str
    p: str
    n: str


@dataclasses.dataclass(frozen=True)
class Row:
    view: OperationView
    href: str
    none_label: str
    change: ChangeCells | None
    needed: str  # inconclusive: the sample size per side that would decide
    note: str  # why there is no comparison
    slow: Exemplar | None

    @property
    def is_regression(self) -> bool:
        return self.view.verdict is Verdict.REGRESSION


@dataclasses.dataclass(frozen=True)
class Card:
    view: OperationView
    href: str
    none_label: str
    chart: ChartView
    legend: tuple[LegendItem, ...]

    @property
    def is_regression(self) -> bool:
        return self.view.verdict is Verdict.REGRESSION


def render_dashboard(
    data: DashboardData, links: JaegerLinks, *, refresh: int = 0, base_url: str = ""
) -> str:
    """The overview page. ``base_url`` (e.g. ``http://127.0.0.1:4418``) is where this analyzer
    is reached, for the empty state's instructions."""
    href = {
        v.op_id: DETAIL_PATH + f"/{v.op_id}" + query(data.window, data.candidate_version, refresh)
        for v in data.operations
    }
    shown = data.operations[:MAX_CHARTS]
    return render(
        "overview.html",
        title="Latency dashboard · mcp-agent-otel",
        base_url=(base_url or "http://127.0.0.1:4418").rstrip("/"),
        tiles=_tiles(data) if data.operations else (),
        alerts=tuple(AlertRow(a, _where(a)) for a in data.alerts),
        rows=tuple(_row(v, href[v.op_id]) for v in data.operations),
        trend_cards=tuple(_trend_card(v, data, href[v.op_id]) for v in shown),
        more_operations=len(data.operations) - len(shown),
        cache_cards=tuple(
            Card(
                v,
                "",
                "",
                chart_view(cache_spec(v, data, f"cache-{v.op_id}")),
                HIT_RATE_LEGEND,
            )
            for v in data.operations
            if v.total.cache_lookups > 0
        ),
        **_frame(data, links, refresh, "/"),
    )


def _tiles(data: DashboardData) -> tuple[Tile, ...]:
    regressions = sum(1 for v in data.operations if v.verdict is Verdict.REGRESSION)
    compared = sum(1 for v in data.operations if v.comparison is not None)
    total = data.total
    recent_alerts = sum(1 for a in data.alerts if a.created >= data.since)
    busiest = max(data.operations, key=lambda v: v.total.sum_ms)
    share = busiest.total.sum_ms / total.sum_ms if total.sum_ms > 0 else None
    return (
        Tile("Operations", format_count(len(data.operations))),
        Tile("Spans", format_count(total.count), f"last {data.window}"),
        Tile(
            "Most time spent in",
            busiest.key.name,
            f"{format_percent(share)} of all span time",
            is_name=True,
        ),
        Tile(
            "Error rate",
            format_percent(total.error_rate, 1),
            f"{format_count(total.errors)} errors",
        ),
        Tile(
            "Cache hit rate",
            format_percent(total.hit_rate),
            f"{format_count(total.cache_lookups)} lookups",
        ),
        Tile(
            "Regressions",
            format_count(regressions),
            f"of {compared} compared",
            bad=regressions > 0,
        ),
        Tile("Alerts", format_count(recent_alerts), f"last {data.window}", bad=recent_alerts > 0),
    )


def _where(alert: Alert) -> str:
    version = (
        f"version {version_label(alert.version)}" if alert.version or alert.environment else ""
    )
    return ", ".join(x for x in (version, alert.environment) if x)


def _row(view: OperationView, href: str) -> Row:
    comparison = view.comparison
    needed = ""
    if (
        comparison is not None
        and comparison.verdict is Verdict.INCONCLUSIVE
        and comparison.required_n
    ):
        needed = format_count(comparison.required_n)
    return Row(
        view=view,
        href=href,
        none_label=_none_label(view),
        change=_change_cells(comparison) if comparison is not None else None,
        needed=needed,
        note=view.note if comparison is None else "",
        slow=view.slow[0] if view.slow else None,
    )


def _change_cells(comparison: Comparison) -> ChangeCells:
    ratio = finite_or_none(comparison.ratio)
    low, high = finite_or_none(comparison.ratio_ci_low), finite_or_none(comparison.ratio_ci_high)
    return ChangeCells(
        text=format_ratio(ratio),
        data_ratio=f"{ratio:.6g}" if ratio is not None else "",
        interval=(
            f"{comparison.confidence * 100:.0f}% CI {low:.2f}–{high:.2f}"
            if low is not None and high is not None
            else ""
        ),
        p=format_p(finite_or_none(comparison.p_value)),
        n=f"{format_count(comparison.baseline_n)} / {format_count(comparison.candidate_n)}",
    )


def _trend_card(view: OperationView, data: DashboardData, href: str) -> Card:
    spec = latency_spec(view, data, f"latency-{view.op_id}")
    return Card(view, href, _none_label(view), chart_view(spec), latency_legend(spec))


# --- one operation ------------------------------------------------------------------------------
def render_operation(
    data: DashboardData, view: OperationView, links: JaegerLinks, *, refresh: int = 0
) -> str:
    latency = latency_spec(view, data, "latency", p99=True, width=720, height=260)
    cache = (
        chart_view(cache_spec(view, data, "cache", width=720, height=150))
        if view.total.cache_lookups
        else None
    )
    spans_legend = [legend_item("bar", "spans", "spans")]
    if view.total.errors:
        spans_legend.append(legend_item("bar", "errors", "errors"))
    comparison = view.comparison
    return render(
        "operation.html",
        title=f"{view.key.label} · latency dashboard",
        view=view,
        back="/" + query(data.window, data.candidate_version, refresh),
        latency=chart_view(latency),
        latency_legend=latency_legend(latency),
        spans=chart_view(throughput_spec(view, data, "throughput")),
        spans_legend=tuple(spans_legend),
        cache=cache,
        cache_legend=HIT_RATE_LEGEND,
        none_label=_none_label(view),
        reason=comparison.reason if comparison is not None else view.note,
        verdict_rows=_verdict_rows(view, data),
        alerts=alerts_of(view, data.alerts),
        **_frame(data, links, refresh, f"{DETAIL_PATH}/{view.op_id}"),
    )


def _verdict_rows(view: OperationView, data: DashboardData) -> list[tuple[str, str]]:
    c = view.comparison
    base = view.baseline
    total = view.total
    rows = [
        ("Spans (window)", format_count(total.count)),
        (
            "p50 / p95 / p99",
            " / ".join(format_ms(v) for v in (total.p50_ms, total.p95_ms, total.p99_ms)),
        ),
        ("Errors", f"{format_count(total.errors)} ({format_percent(total.error_rate, 1)})"),
    ]
    if base is not None:
        rows.append(
            (
                "Baseline",
                f"{base.name}: p50 {format_ms(base.p50_ms)}, p95 {format_ms(base.p95_ms)}, "
                f"{format_count(base.count)} spans",
            )
        )
    if c is not None:
        low, high = finite_or_none(c.ratio_ci_low), finite_or_none(c.ratio_ci_high)
        rows += [
            ("Candidate", f"version {version_label(data.candidate_version or '')}"),
            ("Change", format_ratio(finite_or_none(c.ratio))),
            (
                f"{c.confidence * 100:.0f}% interval",
                f"{low:.3f} – {high:.3f}" if low is not None and high is not None else "–",
            ),
            (
                "p-value (adjusted)",
                f"{format_p(finite_or_none(c.p_value))} ({format_p(finite_or_none(c.p_adjusted))})",
            ),
            (
                "n baseline / candidate",
                f"{format_count(c.baseline_n)} / {format_count(c.candidate_n)}",
            ),
            ("Threshold", f"±{c.threshold * 100:.0f}%"),
        ]
    return rows


# --- errors and the token form -------------------------------------------------------------------
def render_error(title: str, message: str) -> str:
    return render(
        "message.html", title=f"{title} · latency dashboard", heading=title, message=message
    )


def render_login(message: str | None = None, action: str = "/dashboard/login") -> str:
    return render(
        "login.html",
        title="Token required · latency dashboard",
        message=message or "",
        action=action,
    )
