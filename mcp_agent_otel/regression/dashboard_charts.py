"""Inline SVG charts for the dashboard: pure functions from plain numbers to SVG markup.

No JavaScript and nothing fetched: a chart is a ``<svg>`` element with a ``<title>`` and a
``<desc>`` (named by ``aria-labelledby``), grid lines with tick labels, one path per series,
a point marker per value (each with a ``<title>`` tooltip and ``data-t`` / ``data-value``
attributes), an optional shaded band (the baseline's p50..p95) and optional vertical markers
(alerts). Series are told apart by line style as well as colour (solid, dashed, dotted), so
nothing is conveyed by colour alone. Every text that reaches the markup is escaped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import math
from collections.abc import Callable, Sequence

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


def esc(value: object) -> str:
    """HTML/SVG-escaped text (quotes too: safe inside attribute values)."""
    return html.escape(str(value), quote=True)


# --- number and time formatting ---------------------------------------------------------------
def format_ms(value: float | None) -> str:
    """A duration in milliseconds, 3 significant digits, in a readable unit."""
    if value is None or not math.isfinite(value):
        return "–"
    if value < 0:
        return "-" + format_ms(-value)
    if value == 0:
        return "0 ms"
    if value < 1:
        return f"{_sig(value * 1000)} µs"
    if value < 1000:
        return f"{_sig(value)} ms"
    if value < 60_000:
        return f"{_sig(value / 1000)} s"
    return f"{_sig(value / 60_000)} min"


def _sig(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits, no exponent, no trailing zeros."""
    if value == 0:
        return "0"
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_percent(value: float | None, decimals: int = 0) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value * 100:.{decimals}f}%"


def format_time(seconds: float, step: float = 60) -> str:
    """UTC clock time for a tick: ``HH:MM`` (``HH:MM:SS`` below a minute, a date at days)."""
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    if step >= 86400:
        return moment.strftime("%b %d")
    if step < 60:
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%H:%M")


def format_timestamp(seconds: float) -> str:
    """A full UTC timestamp for tooltips and tables."""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


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
        return f"{value:,.0f}" if float(value).is_integer() else _sig(value)
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


def line_chart(spec: ChartSpec) -> str:
    """The chart as an ``<svg>`` element (empty state: the frame and ``empty_message``)."""
    w, h = spec.width, spec.height
    title_id, desc_id = f"{spec.chart_id}-title", f"{spec.chart_id}-desc"
    head = (
        f'<svg class="chart" id="{esc(spec.chart_id)}" viewBox="0 0 {w} {h}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="{esc(title_id)} {esc(desc_id)}" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{esc(title_id)}">{esc(spec.title)}</title>'
        f'<desc id="{esc(desc_id)}">{esc(spec.description)}</desc>'
    )
    plot_right = w - MARGIN_RIGHT
    plot_bottom = h - MARGIN_BOTTOM
    frame = (
        f'<rect class="plot" x="{MARGIN_LEFT}" y="{MARGIN_TOP}" '
        f'width="{plot_right - MARGIN_LEFT}" height="{plot_bottom - MARGIN_TOP}"/>'
    )
    if not has_data(spec):
        return (
            head + frame + f'<text class="empty" x="{fmt((MARGIN_LEFT + plot_right) / 2)}" '
            f'y="{fmt((MARGIN_TOP + plot_bottom) / 2)}" text-anchor="middle">'
            f"{esc(spec.empty_message)}</text></svg>"
        )
    x, y, ticks = chart_scales(spec)
    out = [head, frame]

    # grid and value labels
    grid = ['<g class="grid">']
    for value in ticks:
        yy = fmt(y(value))
        grid.append(f'<line x1="{MARGIN_LEFT}" x2="{plot_right}" y1="{yy}" y2="{yy}"/>')
        grid.append(
            f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{yy}" text-anchor="end" '
            f'dominant-baseline="middle">{esc(format_value(value, spec.value_format))}</text>'
        )
    step, xticks = time_ticks(spec.t0, spec.t1)
    for t in xticks:
        xx = fmt(x(t))
        grid.append(
            f'<line class="xtick" x1="{xx}" x2="{xx}" y1="{plot_bottom}" y2="{plot_bottom + 4}"/>'
        )
        grid.append(
            f'<text class="tick" x="{xx}" y="{plot_bottom + 16}" text-anchor="middle">'
            f"{esc(format_time(t, step))}</text>"
        )
    grid.append("</g>")
    out.extend(grid)

    if spec.band is not None:
        band = spec.band
        y_hi, y_lo = y(band.high), y(band.low)
        out.append(
            f'<g class="band" data-low="{band.low:.6g}" data-high="{band.high:.6g}">'
            f"<title>{esc(band.label)}</title>"
            f'<rect x="{MARGIN_LEFT}" y="{fmt(y_hi)}" width="{plot_right - MARGIN_LEFT}" '
            f'height="{fmt(max(y_lo - y_hi, 1.0))}"/>'
            f'<line x1="{MARGIN_LEFT}" x2="{plot_right}" y1="{fmt(y_lo)}" y2="{fmt(y_lo)}"/>'
            f'<line x1="{MARGIN_LEFT}" x2="{plot_right}" y1="{fmt(y_hi)}" y2="{fmt(y_hi)}"/>'
            "</g>"
        )

    for bars in spec.bars:
        group = [f'<g class="bars bars-{esc(bars.key)}" data-series="{esc(bars.key)}">']
        for start, value in bars.points:
            left, right = x(start), x(start + bars.step)
            top = y(value)
            if value > 0:  # a non-zero count stays visible beside a tall neighbour
                top = min(top, y(0.0) - 2.0)
            group.append(
                f'<rect x="{fmt(left + 0.5)}" y="{fmt(top)}" '
                f'width="{fmt(max(right - left - 1.0, 0.8))}" '
                f'height="{fmt(max(plot_bottom - top, 0.0))}" data-t="{start:.0f}" '
                f'data-value="{value:.6g}"><title>{esc(format_timestamp(start))}: '
                f"{esc(bars.label)} {esc(format_value(value, 'count'))}</title></rect>"
            )
        group.append("</g>")
        out.extend(group)

    for series in spec.series:
        shown = sum(1 for _, v in series.points if v is not None and math.isfinite(v))
        radius = "2.4" if shown <= 40 else "1.7"
        dash = DASHES.get(series.style, "")
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        group = [
            f'<g class="series series-{esc(series.key)}" data-series="{esc(series.key)}">',
            f'<path d="{path_d(series.points, x, y)}"{dash_attr}/>',
        ]
        for t, v in series.points:
            if v is None or not math.isfinite(v):
                continue
            group.append(
                f'<circle cx="{fmt(x(t))}" cy="{fmt(y(v))}" r="{radius}" data-t="{t:.0f}" '
                f'data-value="{v:.6g}"><title>{esc(format_timestamp(t))}: {esc(series.label)} '
                f"{esc(format_value(v, spec.value_format))}</title></circle>"
            )
        group.append("</g>")
        out.extend(group)

    if spec.markers:
        out.append('<g class="markers">')
        for marker in spec.markers:
            if not spec.t0 <= marker.t <= spec.t1:
                continue
            mx = x(marker.t)
            out.append(
                f'<g class="marker" data-t="{marker.t:.0f}"><title>{esc(marker.label)}</title>'
                f'<line x1="{fmt(mx)}" x2="{fmt(mx)}" y1="{MARGIN_TOP}" y2="{plot_bottom}"/>'
                f'<path d="M{fmt(mx - 5)},{MARGIN_TOP}L{fmt(mx + 5)},{MARGIN_TOP}'
                f'L{fmt(mx)},{MARGIN_TOP + 8}Z"/></g>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


# --- legend ---------------------------------------------------------------------------------
def legend(items: Sequence[tuple[str, str, str]]) -> str:
    """An HTML legend: (kind, key, label) with kind "line:<style>", "band", "marker" or "bar";
    the swatches repeat the chart's line styles, so the legend does not rely on colour."""
    out = ['<ul class="legend">']
    for kind, key, label in items:
        if kind.startswith("line:"):
            style = kind.split(":", 1)[1]
            dash = DASHES.get(style, "")
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            swatch = (
                f'<svg class="swatch series-{esc(key)}" viewBox="0 0 28 10" aria-hidden="true">'
                f'<path d="M1,5L27,5"{dash_attr}/></svg>'
            )
        elif kind == "band":
            swatch = (
                '<svg class="swatch band" viewBox="0 0 28 10" aria-hidden="true">'
                '<rect x="1" y="1" width="26" height="8"/></svg>'
            )
        elif kind == "marker":
            swatch = (
                '<svg class="swatch markers" viewBox="0 0 28 10" aria-hidden="true">'
                '<g class="marker"><line x1="14" x2="14" y1="0" y2="10"/>'
                '<path d="M9,0L19,0L14,6Z"/></g></svg>'
            )
        else:
            swatch = (
                f'<svg class="swatch bars-{esc(key)}" viewBox="0 0 28 10" aria-hidden="true">'
                '<rect x="8" y="1" width="12" height="9"/></svg>'
            )
        out.append(f"<li>{swatch}<span>{esc(label)}</span></li>")
    out.append("</ul>")
    return "".join(out)


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
