"""The dashboard's charts as plain data: pure functions from numbers to scales, ticks, paths
and the coordinates of every mark (``chart_view``); ``templates/charts.html`` draws them.

No JavaScript and nothing fetched: a chart is an inline ``<svg>`` with a ``<title>`` and a
``<desc>`` (named by ``aria-labelledby``), grid lines with tick labels, one path per series,
a point marker per value (each with a ``<title>`` tooltip and ``data-t`` / ``data-value``
attributes), an optional shaded band (the baseline's p50..p95) and optional vertical markers
(alerts). Series are told apart by line style as well as colour (solid, dashed, dotted), so
nothing is conveyed by colour alone. Texts stay plain here; the template escapes them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

from mcp_agent_otel.regression.dashboard_formats import (
    format_ms,
    format_percent,
    format_time,
    format_timestamp,
    significant,
)

# Line styles: (css class, stroke-dasharray); the legend draws the same.
SOLID = "solid"
DASHED = "dashed"
DOTTED = "dotted"
DASHES = {SOLID: "", DASHED: "7 4", DOTTED: "2 3"}

# Nice steps for a time axis, in seconds (aligned to UTC multiples).
TIME_STEPS = (
    1,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    172800,
    604800,
)

Point = tuple[float, float | None]  # (unix seconds, value or None for "no data")


# --- scales and ticks -------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class LinearScale:
    """Maps the domain [d0, d1] linearly onto the range [r0, r1] (r1 < r0 for a y axis)."""

    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, value: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (value - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0)


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 (times a power of ten) that is >= ``raw`` (> 0)."""
    if not (raw > 0 and math.isfinite(raw)):
        raise ValueError(f"a tick step must be a positive finite number, got {raw!r}")
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = multiple * magnitude
        if step >= raw * (1 - 1e-12):
            return step
    return 10.0 * magnitude  # pragma: no cover - the loop always returns


def value_axis(maximum: float, ticks: int = 4) -> tuple[float, list[float]]:
    """A zero-based axis covering ``maximum``: (top of the domain, tick values). The top is a
    tick, so the grid ends on a labelled line."""
    if not (maximum > 0 and math.isfinite(maximum)):
        return 1.0, [0.0, 0.25, 0.5, 0.75, 1.0]
    step = nice_step(maximum / ticks)
    count = math.ceil(maximum / step - 1e-9)
    values = [round(i * step, 12) for i in range(count + 1)]
    return values[-1], values


def time_ticks(t0: float, t1: float, max_ticks: int = 6) -> tuple[float, list[float]]:
    """(step, tick times) for the time axis [t0, t1]: UTC-aligned multiples of a nice step."""
    span = max(t1 - t0, 1.0)
    step = next((s for s in TIME_STEPS if span / s <= max_ticks), float(TIME_STEPS[-1]))
    while span / step > max_ticks:  # beyond the table (years): keep doubling
        step *= 2
    first = math.ceil(t0 / step) * step
    ticks = []
    t = first
    while t <= t1 + 1e-9:
        ticks.append(float(t))
        t += step
    return float(step), ticks


# --- geometry -----------------------------------------------------------------------------------
def fmt(value: float) -> str:
    """A coordinate with one decimal, without a trailing ``.0``."""
    text = f"{value:.1f}"
    if text == "-0.0":
        return "0"
    return text[:-2] if text.endswith(".0") else text


def path_d(
    points: Sequence[Point], x: Callable[[float], float], y: Callable[[float], float]
) -> str:
    """The ``d`` of a polyline through ``points``; a None value breaks the line (a gap, no
    interpolation across missing data). Points must be in time order."""
    parts: list[str] = []
    pen_down = False
    for t, v in points:
        if v is None or not math.isfinite(v):
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{fmt(x(t))},{fmt(y(v))}")
        pen_down = True
    return "".join(parts)


# --- chart specs ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Series:
    key: str  # css class suffix and data-series value: "p50", "p95", "hit-rate", ...
    label: str  # shown in tooltips and the legend
    points: tuple[Point, ...]
    style: str = SOLID


@dataclasses.dataclass(frozen=True)
class Band:
    """A shaded horizontal band between two values (the baseline's p50 and p95)."""

    low: float
    high: float
    label: str


@dataclasses.dataclass(frozen=True)
class Marker:
    """A vertical marker at a time (an alert), with its tooltip."""

    t: float
    label: str


@dataclasses.dataclass(frozen=True)
class Bars:
    """Bars of a count per time step (the step is the bar's width in seconds)."""

    key: str
    label: str
    points: tuple[tuple[float, float], ...]  # (step start, value)
    step: float


@dataclasses.dataclass(frozen=True)
class ChartSpec:
    chart_id: str  # unique in the page: ids of <title>/<desc>
    title: str
    description: str
    t0: float
    t1: float
    series: tuple[Series, ...] = ()
    band: Band | None = None
    markers: tuple[Marker, ...] = ()
    bars: tuple[Bars, ...] = ()
    value_format: str = "ms"  # "ms" | "percent" | "count"
    fixed_max: float | None = None  # e.g. 1.0 for a rate
    width: int = 480
    height: int = 190
    empty_message: str = "No data in this time window"


MARGIN_LEFT = 58
MARGIN_RIGHT = 14
MARGIN_TOP = 12
MARGIN_BOTTOM = 26


def format_value(value: float, kind: str) -> str:
    if kind == "percent":
        return format_percent(value)
    if kind == "count":
        return f"{value:,.0f}" if float(value).is_integer() else significant(value)
    return format_ms(value)


def _data_max(spec: ChartSpec) -> float:
    values = [v for s in spec.series for _, v in s.points if v is not None and math.isfinite(v)]
    values += [v for b in spec.bars for _, v in b.points if math.isfinite(v)]
    if spec.band is not None:
        values.append(spec.band.high)
    return max(values, default=0.0)


def has_data(spec: ChartSpec) -> bool:
    return any(v is not None for s in spec.series for _, v in s.points) or any(
        b.points for b in spec.bars
    )


def chart_scales(spec: ChartSpec) -> tuple[LinearScale, LinearScale, list[float]]:
    """The x (time) and y scales of a chart and its y ticks (pure; the tests check them)."""
    plot_right = spec.width - MARGIN_RIGHT
    plot_bottom = spec.height - MARGIN_BOTTOM
    if spec.fixed_max is not None:
        top, ticks = value_axis(spec.fixed_max)
    else:
        top, ticks = value_axis(_data_max(spec) * 1.04)
    x = LinearScale(spec.t0, spec.t1, MARGIN_LEFT, plot_right)
    y = LinearScale(0.0, top, plot_bottom, MARGIN_TOP)
    return x, y, ticks


# --- what a chart draws, as plain data (the markup is the ``charts.html`` template's) ------
class Tick(NamedTuple):
    at: str  # the y (value axis) or x (time axis) coordinate
    label: str


class Dot(NamedTuple):
    """A point marker: position, radius, its time and value, and its tooltip."""

    cx: str
    cy: str
    r: str
    t: str
    value: str
    tooltip: str


@dataclasses.dataclass(frozen=True)
class Line:
    key: str
    d: str
    dash: str  # stroke-dasharray, "" for a solid line
    dots: tuple[Dot, ...]


class Rect(NamedTuple):
    """A bar: its box, the step's start time, the value and the tooltip."""

    x: str
    y: str
    width: str
    height: str
    t: str
    value: str
    tooltip: str


@dataclasses.dataclass(frozen=True)
class BarGroup:
    key: str
    rects: tuple[Rect, ...]


@dataclasses.dataclass(frozen=True)
class BandArea:
    low: str  # the values, for data attributes
    high: str
    label: str
    y: str  # the shaded box and its two edges
    height: str
    y_low: str
    y_high: str


@dataclasses.dataclass(frozen=True)
class MarkerLine:
    t: str
    label: str
    x: str
    arrow: str  # the ``d`` of the small triangle on top


@dataclasses.dataclass(frozen=True)
class ChartView:
    """Everything ``charts.html`` draws for one chart: coordinates already computed and
    formatted, texts plain (the template escapes them)."""

    chart_id: str
    title: str
    description: str
    width: int
    height: int
    left: int  # the plot frame
    top: int
    right: int
    bottom: int
    empty_message: str | None  # set when there is no data: the frame and this text only
    y_ticks: tuple[Tick, ...] = ()
    x_ticks: tuple[Tick, ...] = ()
    band: BandArea | None = None
    bars: tuple[BarGroup, ...] = ()
    lines: tuple[Line, ...] = ()
    markers: tuple[MarkerLine, ...] = ()

    @property
    def title_id(self) -> str:
        return f"{self.chart_id}-title"

    @property
    def desc_id(self) -> str:
        return f"{self.chart_id}-desc"

    @property
    def centre(self) -> tuple[str, str]:
        """The middle of the plot (where the empty state's message goes)."""
        return fmt((self.left + self.right) / 2), fmt((self.top + self.bottom) / 2)


def chart_view(spec: ChartSpec) -> ChartView:
    """What the chart of ``spec`` draws (empty state: the frame and ``empty_message``)."""
    plot_right = spec.width - MARGIN_RIGHT
    plot_bottom = spec.height - MARGIN_BOTTOM
    frame = ChartView(
        chart_id=spec.chart_id,
        title=spec.title,
        description=spec.description,
        width=spec.width,
        height=spec.height,
        left=MARGIN_LEFT,
        top=MARGIN_TOP,
        right=plot_right,
        bottom=plot_bottom,
        empty_message=None if has_data(spec) else spec.empty_message,
    )
    if frame.empty_message is not None:
        return frame
    x, y, ticks = chart_scales(spec)
    step, times = time_ticks(spec.t0, spec.t1)
    band = None
    if spec.band is not None:
        y_hi, y_lo = y(spec.band.high), y(spec.band.low)
        band = BandArea(
            low=f"{spec.band.low:.6g}",
            high=f"{spec.band.high:.6g}",
            label=spec.band.label,
            y=fmt(y_hi),
            height=fmt(max(y_lo - y_hi, 1.0)),
            y_low=fmt(y_lo),
            y_high=fmt(y_hi),
        )
    return dataclasses.replace(
        frame,
        y_ticks=tuple(Tick(fmt(y(v)), format_value(v, spec.value_format)) for v in ticks),
        x_ticks=tuple(Tick(fmt(x(t)), format_time(t, step)) for t in times),
        band=band,
        bars=tuple(_bar_group(bars, x, y, plot_bottom) for bars in spec.bars),
        lines=tuple(_line(series, x, y, spec.value_format) for series in spec.series),
        markers=tuple(
            MarkerLine(
                t=f"{m.t:.0f}",
                label=m.label,
                x=fmt(x(m.t)),
                arrow=f"M{fmt(x(m.t) - 5)},{MARGIN_TOP}L{fmt(x(m.t) + 5)},{MARGIN_TOP}"
                f"L{fmt(x(m.t))},{MARGIN_TOP + 8}Z",
            )
            for m in spec.markers
            if spec.t0 <= m.t <= spec.t1
        ),
    )


def _bar_group(bars: Bars, x: LinearScale, y: LinearScale, plot_bottom: float) -> BarGroup:
    rects = []
    for start, value in bars.points:
        left, right = x(start), x(start + bars.step)
        top = y(value)
        if value > 0:  # a non-zero count stays visible beside a tall neighbour
            top = min(top, y(0.0) - 2.0)
        rects.append(
            Rect(
                x=fmt(left + 0.5),
                y=fmt(top),
                width=fmt(max(right - left - 1.0, 0.8)),
                height=fmt(max(plot_bottom - top, 0.0)),
                t=f"{start:.0f}",
                value=f"{value:.6g}",
                tooltip=f"{format_timestamp(start)}: {bars.label} {format_value(value, 'count')}",
            )
        )
    return BarGroup(bars.key, tuple(rects))


def _line(series: Series, x: LinearScale, y: LinearScale, value_format: str) -> Line:
    shown = [(t, v) for t, v in series.points if v is not None and math.isfinite(v)]
    radius = "2.4" if len(shown) <= 40 else "1.7"
    return Line(
        key=series.key,
        d=path_d(series.points, x, y),
        dash=DASHES.get(series.style, ""),
        dots=tuple(
            Dot(
                cx=fmt(x(t)),
                cy=fmt(y(v)),
                r=radius,
                t=f"{t:.0f}",
                value=f"{v:.6g}",
                tooltip=f"{format_timestamp(t)}: {series.label} {format_value(v, value_format)}",
            )
            for t, v in shown
        ),
    )


# --- legend ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class LegendItem:
    """One legend entry: ``shape`` is "line", "band", "marker" or "bar"; a line's swatch
    repeats the chart's line style (``dash``), so the legend does not rely on colour."""

    shape: str
    key: str
    label: str
    dash: str = ""


def legend_item(kind: str, key: str, label: str) -> LegendItem:
    """From ``kind`` "line:<style>", "band", "marker" or "bar"."""
    if kind.startswith("line:"):
        return LegendItem("line", key, label, DASHES.get(kind.split(":", 1)[1], ""))
    return LegendItem(kind, key, label)


def describe_series(series: Series, value_format: str = "ms") -> str:
    """One sentence for screen readers: first and last values and the range."""
    values = [(t, v) for t, v in series.points if v is not None and math.isfinite(v)]
    if not values:
        return f"{series.label}: no data."
    first, last = values[0], values[-1]
    low = min(v for _, v in values)
    high = max(v for _, v in values)
    if len(values) == 1:
        return (
            f"{series.label}: {format_value(first[1], value_format)} at "
            f"{format_time(first[0])} UTC."
        )
    return (
        f"{series.label} went from {format_value(first[1], value_format)} at "
        f"{format_time(first[0])} to {format_value(last[1], value_format)} at "
        f"{format_time(last[0])} UTC (range {format_value(low, value_format)} to "
        f"{format_value(high, value_format)}, {len(values)} points)."
    )
