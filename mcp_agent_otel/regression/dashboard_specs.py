"""The charts of one operation, as specs (``dashboard_charts.ChartSpec``): latency
(p50/p95/p99 per step, the baseline's band, alert markers), cache hit rate and spans per step,
with their legends and their descriptions for screen readers. Pure."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mcp_agent_otel.regression.alerts import Alert
from mcp_agent_otel.regression.dashboard_charts import (
    DASHED,
    DOTTED,
    SOLID,
    Band,
    Bars,
    ChartSpec,
    LegendItem,
    Marker,
    Series,
    describe_series,
    legend_item,
)
from mcp_agent_otel.regression.dashboard_formats import (
    format_count,
    format_ms,
    format_ratio,
    format_timestamp,
    step_text,
)
from mcp_agent_otel.regression.dashboard_model import DashboardData, OperationView, StepStats


def step_points(
    view: OperationView, data: DashboardData, value: Callable[[StepStats], float | None]
) -> tuple[tuple[float, float | None], ...]:
    """One point per time step of the window, at the step's middle; None where the step has
    no spans, so lines break over gaps instead of bridging them."""
    by_start = {int(s.start): s for s in view.steps}
    points: list[tuple[float, float | None]] = []
    start = int(data.since)
    while start < data.until:
        found = by_start.get(start)
        points.append((start + data.step / 2, value(found) if found is not None else None))
        start += data.step
    return tuple(points)


def latency_spec(
    view: OperationView,
    data: DashboardData,
    chart_id: str,
    *,
    p99: bool = False,
    width: int = 480,
    height: int = 190,
) -> ChartSpec:
    """p50/p95 (and p99) per time step, the baseline's p50..p95 band, alert markers."""
    series = [
        Series("p50", "p50", step_points(view, data, lambda s: s.p50_ms), SOLID),
        Series("p95", "p95", step_points(view, data, lambda s: s.p95_ms), DASHED),
    ]
    if p99:
        series.append(Series("p99", "p99", step_points(view, data, lambda s: s.p99_ms), DOTTED))
    band = None
    sentences = [describe_series(s) for s in series]
    base = view.baseline
    if base is not None and base.p50_ms is not None and base.p95_ms is not None:
        band = Band(
            base.p50_ms,
            base.p95_ms,
            f"baseline {base.name}: p50 {format_ms(base.p50_ms)}, p95 {format_ms(base.p95_ms)}",
        )
        sentences.append(
            f"Baseline {base.name}: p50 {format_ms(base.p50_ms)}, p95 {format_ms(base.p95_ms)}."
        )
    markers = tuple(
        Marker(
            a.created,
            f"alert {format_timestamp(a.created)}: {format_ratio(a.estimated_ratio)} "
            f"against baseline {a.baseline}",
        )
        for a in alerts_of(view, data.alerts)
        if data.since <= a.created <= data.until
    )
    if markers:
        sentences.append(f"{len(markers)} regression alert(s) in this window.")
    return ChartSpec(
        chart_id=chart_id,
        title=f"Latency of {view.key.label} over time",
        description=" ".join(sentences),
        t0=data.since,
        t1=data.until,
        series=tuple(series),
        band=band,
        markers=markers,
        width=width,
        height=height,
    )


def cache_spec(
    view: OperationView, data: DashboardData, chart_id: str, *, width: int = 480, height: int = 170
) -> ChartSpec:
    series = Series(
        "hit-rate",
        "cache hit rate",
        step_points(view, data, lambda s: s.hit_rate),
        SOLID,
    )
    return ChartSpec(
        chart_id=chart_id,
        title=f"Cache hit rate of {view.key.label} over time",
        description=describe_series(series, "percent")
        + f" {format_count(view.total.cache_lookups)} cache lookups in the window.",
        t0=data.since,
        t1=data.until,
        series=(series,),
        value_format="percent",
        fixed_max=1.0,
        width=width,
        height=height,
        empty_message="No cache lookups in this time window",
    )


def throughput_spec(
    view: OperationView, data: DashboardData, chart_id: str, *, width: int = 720, height: int = 150
) -> ChartSpec:
    bars = [Bars("spans", "spans", tuple((s.start, float(s.count)) for s in view.steps), data.step)]
    if view.total.errors:
        bars.append(
            Bars(
                "errors", "errors", tuple((s.start, float(s.errors)) for s in view.steps), data.step
            )
        )
    return ChartSpec(
        chart_id=chart_id,
        title=f"Spans and errors of {view.key.label} per {step_text(data.step)}",
        description=(
            f"{format_count(view.total.count)} spans and {format_count(view.total.errors)} "
            f"errors in {len(view.steps)} steps of {data.step} s."
        ),
        t0=data.since,
        t1=data.until,
        bars=tuple(bars),
        value_format="count",
        width=width,
        height=height,
    )


def alerts_of(view: OperationView, alerts: Sequence[Alert]) -> list[Alert]:
    return [a for a in alerts if a.service == view.key.service and a.name == view.key.name]


HIT_RATE_LEGEND = (legend_item("line:solid", "hit-rate", "hit rate per step"),)


def latency_legend(spec: ChartSpec) -> tuple[LegendItem, ...]:
    items = [legend_item("line:solid", "p50", "p50"), legend_item("line:dashed", "p95", "p95")]
    if any(s.key == "p99" for s in spec.series):
        items.append(legend_item("line:dotted", "p99", "p99"))
    if spec.band is not None:
        label = f"baseline p50–p95 ({spec.band.label.split(':')[0]})"
        items.append(legend_item("band", "band", label))
    if spec.markers:
        items.append(legend_item("marker", "alert", "regression alert"))
    return tuple(items)
