"""The dashboard's pages as HTML strings: pure functions of ``DashboardData``.

Semantic, self-contained HTML (inline CSS, inline SVG, no script, nothing fetched), readable
on a laptop screen. Accessibility: landmarks and a heading outline, tables with ``scope``d
headers and captions, charts with ``<title>``/``<desc>``, verdicts as icon + word (never
colour alone), text colours of at least 4.5:1 against their background (``PALETTE``, checked
by the tests). Every value that comes from spans (operation and service names, versions,
baseline names, trace ids) is escaped with ``esc``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from mcp_agent_otel.regression.aggregates import Exemplar
from mcp_agent_otel.regression.alerts import Alert
from mcp_agent_otel.regression.dashboard_charts import (
    DASHED,
    DOTTED,
    SOLID,
    Band,
    Bars,
    ChartSpec,
    Marker,
    Point,
    Series,
    describe_series,
    esc,
    format_ms,
    format_percent,
    format_timestamp,
    legend,
    line_chart,
)
from mcp_agent_otel.regression.dashboard_links import JaegerLinks
from mcp_agent_otel.regression.dashboard_model import (
    WINDOWS,
    DashboardData,
    OperationView,
    StepStats,
)
from mcp_agent_otel.regression.statistics import Comparison, Verdict
from mcp_agent_otel.regression.time_ranges import iso
from mcp_agent_otel.tracing import semconv

DETAIL_PATH = "/dashboard/operations"
REFRESH_CHOICES = (0, 10, 30, 60, 300)
DEFAULT_REFRESH = 30
MAX_CHARTS = 24  # trend cards on the overview; the table lists every operation

# Foreground/background pairs used for text: (name, foreground, background).
PALETTE: tuple[tuple[str, str, str], ...] = (
    ("body text", "#16202c", "#ffffff"),
    ("body text on page", "#16202c", "#f3f5f8"),
    ("muted text", "#4d5866", "#ffffff"),
    ("muted text on page", "#4d5866", "#f3f5f8"),
    ("link", "#0a55b3", "#ffffff"),
    ("link on page", "#0a55b3", "#f3f5f8"),
    ("header text", "#ffffff", "#14213d"),
    ("header muted", "#c9d3e3", "#14213d"),
    ("chart tick", "#4d5866", "#fbfcfd"),
    ("regression badge", "#8f1d1d", "#fde2e1"),
    ("improvement badge", "#145c34", "#dcf3e5"),
    ("no change badge", "#2f3a47", "#e8ecf1"),
    ("inconclusive badge", "#6e4300", "#fdf0d5"),
    ("alert text", "#16202c", "#fff5f4"),
    ("alert title", "#8f1d1d", "#fff5f4"),
    ("warning text", "#6e4300", "#fff8e6"),
    ("table header", "#16202c", "#eef1f5"),
)
# Chart strokes (non-text graphics: WCAG asks 3:1 against the plot background).
STROKES: tuple[tuple[str, str, str], ...] = (
    ("p50 line", "#0a55b3", "#fbfcfd"),
    ("p95 line", "#7a3db8", "#fbfcfd"),
    ("p99 line", "#9a4a00", "#fbfcfd"),
    ("hit rate line", "#0b7363", "#fbfcfd"),
    ("baseline band edge", "#2b7a4b", "#fbfcfd"),
    ("alert marker", "#c0262d", "#fbfcfd"),
    ("error bars", "#b3261e", "#fbfcfd"),
    ("span bars", "#6f8296", "#fbfcfd"),
)

CSS = """
:root{--bg:#f3f5f8;--card:#fff;--ink:#16202c;--muted:#4d5866;--line:#d5dbe3;--link:#0a55b3;
--head:#14213d}
*{box-sizing:border-box}
html{font-size:15px}
body{margin:0;background:var(--bg);color:var(--ink);
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
line-height:1.45}
a{color:var(--link)}
a:focus-visible,button:focus-visible,select:focus-visible,summary:focus-visible{
outline:3px solid #f2b705;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem;z-index:2}
.skip:focus{left:.5rem}
header.top{background:var(--head);color:#ffffff;padding:.9rem 1.5rem;display:flex;flex-wrap:wrap;
gap:1rem;align-items:center;justify-content:space-between}
header.top h1{font-size:1.35rem;margin:0;font-weight:650;letter-spacing:.01em}
header.top h1 a{color:#fff;text-decoration:none}
header.top p{margin:.1rem 0 0;color:#c9d3e3;font-size:.9rem}
header.top form{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end}
header.top label{display:flex;flex-direction:column;font-size:.8rem;color:#c9d3e3;gap:.15rem}
header.top select{font:inherit;font-size:.9rem;padding:.25rem .4rem;border-radius:6px;
border:1px solid #8fa0bb;background:#fff;color:var(--ink)}
header.top button{font:inherit;font-size:.9rem;padding:.3rem .9rem;border-radius:6px;
border:1px solid #fff;background:#fff;color:var(--head);font-weight:600;cursor:pointer}
main{max-width:1480px;margin:0 auto;padding:1.2rem 1.5rem 2rem}
h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
h2 .count{color:var(--muted);font-weight:400;font-size:.95rem}
section>p.hint,.hint{color:var(--muted);font-size:.9rem;margin:.3rem 0}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.75rem;margin:0}
.tiles>div{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:.7rem .9rem}
.tiles dt{color:var(--muted);font-size:.82rem}
.tiles dd{margin:.15rem 0 0;font-size:1.55rem;font-weight:650;font-variant-numeric:tabular-nums}
.tiles dd small{display:block;font-size:.8rem;font-weight:400;color:var(--muted)}
.tiles dd.name span{display:block;font-size:1.05rem;line-height:1.5;white-space:nowrap;
overflow:hidden;text-overflow:ellipsis}
.tiles dd.name small{display:block}
.tiles .bad{border-color:#e8a19c;background:#fff5f4}
.tiles .bad dd{color:#8f1d1d}
.note{background:#fff8e6;border:1px solid #eccf8d;color:#6e4300;border-radius:8px;
padding:.6rem .9rem;margin:.8rem 0}
.empty-state{background:var(--card);border:1px dashed #aab4c0;border-radius:10px;
padding:1.2rem 1.4rem}
.empty-state code,.hint code{background:#eef1f5;padding:.05rem .3rem;border-radius:4px}
.alerts{list-style:none;margin:0;padding:0;display:grid;gap:.5rem}
.alerts li{background:#fff5f4;border:1px solid #e8a19c;border-left:5px solid #c0262d;
border-radius:8px;padding:.55rem .9rem;display:flex;flex-wrap:wrap;gap:.3rem 1rem;
align-items:baseline}
.alerts .what{font-weight:650;color:#8f1d1d}
.alerts .meta{color:var(--muted);font-size:.88rem}
.table-wrap{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:10px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
caption{text-align:left;padding:.7rem .9rem .2rem;color:var(--muted);font-size:.9rem}
th,td{padding:.45rem .6rem;border-bottom:1px solid #e6eaef;text-align:left;vertical-align:top}
thead th{background:#eef1f5;font-size:.8rem;font-weight:650;line-height:1.25}
#comparison tbody th{max-width:16rem;overflow-wrap:anywhere}
tbody tr:last-child th,tbody tr:last-child td{border-bottom:0}
tbody th{font-weight:600}
td.num{text-align:right;white-space:nowrap}
thead th.num{text-align:right}
.op-service{display:block;color:var(--muted);font-weight:400;font-size:.82rem}
.sub{display:block;color:var(--muted);font-size:.82rem}
.badge{display:inline-flex;align-items:center;gap:.3rem;border-radius:999px;padding:.1rem .6rem;
font-size:.82rem;font-weight:650;white-space:nowrap;border:1px solid transparent}
.badge .icon{font-size:.8rem}
.v-regression{background:#fde2e1;color:#8f1d1d;border-color:#f0a3a0}
.v-improvement{background:#dcf3e5;color:#145c34;border-color:#94d1ad}
.v-no_change{background:#e8ecf1;color:#2f3a47;border-color:#c4ccd6}
.v-inconclusive{background:#fdf0d5;color:#6e4300;border-color:#e9c77f}
.v-none{background:transparent;color:var(--muted);border-color:#c4ccd6}
tr.row-regression{background:#fffafa}
tr.row-regression th{box-shadow:inset 4px 0 0 #c0262d}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:.9rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:.8rem .9rem .6rem}
.card.is-regression{border-color:#e8a19c;box-shadow:inset 0 4px 0 #c0262d}
.card header{display:flex;gap:.6rem;align-items:baseline;justify-content:space-between;
flex-wrap:wrap}
.card h3{margin:0;font-size:1rem;word-break:break-word}
.card .stats{margin:.25rem 0 .35rem;color:var(--muted);font-size:.88rem}
.card .stats b{color:var(--ink);font-weight:650}
svg.chart{width:100%;height:auto;display:block}
svg.chart .plot{fill:#fbfcfd;stroke:#d5dbe3}
svg.chart .grid line{stroke:#e4e8ee}
svg.chart .grid line.xtick{stroke:#8a96a3}
svg.chart .tick{font-size:11px;fill:#4d5866;font-family:inherit}
svg.chart .empty{font-size:13px;fill:#4d5866}
.series path{fill:none;stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}
.series circle{stroke:#fff;stroke-width:.8}
.series-p50 path{stroke:#0a55b3}.series-p50 circle{fill:#0a55b3}
.series-p95 path{stroke:#7a3db8}.series-p95 circle{fill:#7a3db8}
.series-p99 path{stroke:#9a4a00}.series-p99 circle{fill:#9a4a00}
.series-hit-rate path{stroke:#0b7363}.series-hit-rate circle{fill:#0b7363}
.band rect{fill:#2b7a4b;fill-opacity:.14;stroke:none}
.band line{stroke:#2b7a4b;stroke-width:1.2;stroke-dasharray:4 3}
.marker line{stroke:#c0262d;stroke-width:1.5;stroke-dasharray:4 3}
.marker path{fill:#c0262d}
.bars-spans rect{fill:#6f8296}
.bars-errors rect{fill:#b3261e}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.2rem 1rem;margin:.3rem 0 0;padding:0;
font-size:.82rem;color:var(--muted)}
.legend li{display:flex;align-items:center;gap:.35rem}
.swatch{width:28px;height:10px}
.swatch path{fill:none;stroke-width:2.4}
.swatch.markers path{fill:#c0262d}
.detail-grid{display:grid;grid-template-columns:minmax(0,2fr) minmax(280px,1fr);gap:1rem}
@media (max-width:1000px){.detail-grid{grid-template-columns:1fr}}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.9rem 1rem}
.panel h2{margin-top:0}
.kv{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem;margin:0}
.kv dt{color:var(--muted)}
.kv dd{margin:0;font-variant-numeric:tabular-nums}
details summary{cursor:pointer;color:var(--link);margin:.6rem 0}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
footer{max-width:1480px;margin:0 auto;padding:0 1.5rem 2rem;color:var(--muted);font-size:.85rem}
.reason{color:var(--muted);font-size:.9rem}
td.when{white-space:nowrap}
.side{display:flex;flex-direction:column;gap:1rem}
.panel .legend{margin-bottom:.8rem}
h2.op-title{font-size:1.4rem;margin:.4rem 0 .8rem}
"""


# --- small pieces ----------------------------------------------------------------------------
_VERDICTS = {
    Verdict.REGRESSION: ("▲", "Regression"),
    Verdict.IMPROVEMENT: ("▼", "Improvement"),
    Verdict.NO_CHANGE: ("=", "No change"),
    Verdict.INCONCLUSIVE: ("?", "Inconclusive"),
}


def verdict_badge(verdict: Verdict | None, none_label: str = "No baseline") -> str:
    """Icon + word, coloured; the word alone carries the meaning."""
    if verdict is None:
        return (
            '<span class="badge v-none"><span class="icon" aria-hidden="true">–</span>'
            f"{esc(none_label)}</span>"
        )
    icon, word = _VERDICTS[verdict]
    return (
        f'<span class="badge v-{verdict.value}" data-verdict="{verdict.value}">'
        f'<span class="icon" aria-hidden="true">{icon}</span>{word}</span>'
    )


def step_text(seconds: int) -> str:
    """``1 min``, ``5 min``, ``2 h``, ``90 s``: the length of a chart step."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def format_count(value: int) -> str:
    return f"{value:,}"


def format_ratio(ratio: float | None) -> str:
    """``1.52×`` with the change in percent: ``1.52× (+52%)``."""
    if ratio is None or not math.isfinite(ratio):
        return "–"
    change = (ratio - 1.0) * 100
    sign = "+" if change >= 0.05 else ("−" if change <= -0.05 else "±")
    return f"{ratio:.2f}× ({sign}{abs(change):.0f}%)"


def format_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "–"
    if p < 0.0001:
        return "< 0.0001"
    if p < 0.01:
        return f"{p:.4f}"
    return f"{p:.2f}"


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def ago(seconds: float, now: float) -> str:
    delta = max(now - seconds, 0.0)
    if delta < 60:
        return f"{delta:.0f} s ago"
    if delta < 3600:
        return f"{delta / 60:.0f} min ago"
    if delta < 86400:
        return f"{delta / 3600:.1f} h ago"
    return f"{delta / 86400:.1f} d ago"


def time_tag(seconds: float, now: float) -> str:
    return (
        f'<time datetime="{esc(iso(seconds))}" title="{esc(format_timestamp(seconds))}">'
        f"{esc(ago(seconds, now))}</time>"
    )


def trace_link(links: JaegerLinks, trace_id: str, label: str | None = None) -> str:
    """A link that opens the trace in Jaeger, or the id as code when Jaeger is not set up."""
    short = trace_id[:8] + "…" if len(trace_id) > 8 else trace_id
    url = links.trace_url(trace_id)
    text = label or short
    if url is None:
        return f'<code class="trace-id" title="trace {esc(trace_id)}">{esc(text)}</code>'
    return (
        f'<a class="trace-link" href="{esc(url)}" target="_blank" rel="noopener noreferrer" '
        f'aria-label="open trace {esc(trace_id)} in Jaeger (new tab)">{esc(text)}</a>'
    )


def query(window: str, version: str | None, refresh: int, **extra: str) -> str:
    params: dict[str, str] = {"window": window}
    if version is not None:
        params["version"] = version
    params["refresh"] = str(refresh)
    params.update(extra)
    return "?" + urlencode(params)


def version_label(version: str) -> str:
    return version if version else "(no service.version)"


def operation_heading(view: OperationView, href: str | None = None) -> str:
    name = esc(view.key.name)
    if href is not None:
        name = f'<a href="{esc(href)}">{name}</a>'
    return f'{name}<span class="op-service">{esc(view.key.service)}</span>'


# --- charts of one operation -----------------------------------------------------------------
def step_points(
    view: OperationView, data: DashboardData, value: Callable[[StepStats], float | None]
) -> tuple[Point, ...]:
    """One point per time step of the window, at the step's middle; None where the step has
    no spans, so lines break over gaps instead of bridging them."""
    by_start = {int(s.start): s for s in view.steps}
    points: list[Point] = []
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
        for a in _alerts_of(view, data.alerts)
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


def _none_label(view: OperationView) -> str:
    return "No baseline" if view.baseline is None else "Not compared"


def _alerts_of(view: OperationView, alerts: Sequence[Alert]) -> list[Alert]:
    return [a for a in alerts if a.service == view.key.service and a.name == view.key.name]


HIT_RATE_LEGEND = ("line:solid", "hit-rate", "hit rate per step")
LATENCY_LEGEND = (("line:solid", "p50", "p50"), ("line:dashed", "p95", "p95"))


def latency_legend(spec: ChartSpec) -> str:
    items = [*LATENCY_LEGEND]
    if any(s.key == "p99" for s in spec.series):
        items.append(("line:dotted", "p99", "p99"))
    if spec.band is not None:
        items.append(("band", "band", f"baseline p50–p95 ({spec.band.label.split(':')[0]})"))
    if spec.markers:
        items.append(("marker", "alert", "regression alert"))
    return legend(items)


# --- page frame ---------------------------------------------------------------------------------
def page(title: str, body: str, *, refresh: int = 0, header: str = "", footer: str = "") -> str:
    meta_refresh = f'<meta http-equiv="refresh" content="{int(refresh)}">' if refresh > 0 else ""
    return (
        "<!DOCTYPE html>"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light"><link rel="icon" href="data:,">'
        f"{meta_refresh}<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        '<a class="skip" href="#main">Skip to content</a>'
        f'{header}<main id="main">{body}</main>{footer}</body></html>'
    )


def _header(data: DashboardData, refresh: int, *, subtitle: str, action: str = "/") -> str:
    windows = "".join(
        f'<option value="{esc(w)}"{" selected" if w == data.window else ""}>{esc(w)}</option>'
        for w in WINDOWS
    )
    versions = "".join(
        f'<option value="{esc(v)}"{" selected" if v == data.candidate_version else ""}>'
        f"{esc(version_label(v))}{' (newest)' if i == 0 else ''}</option>"
        for i, v in enumerate(data.versions)
    )
    refreshes = "".join(
        f'<option value="{r}"{" selected" if r == refresh else ""}>'
        f"{'off' if r == 0 else (f'{r} s' if r < 60 else f'{r // 60} min')}</option>"
        for r in sorted({*REFRESH_CHOICES, refresh})
    )
    version_field = (
        f'<label>Compare version<select name="version">{versions}</select></label>'
        if data.versions
        else ""
    )
    return (
        '<header class="top"><div><h1><a href="/">Latency dashboard</a></h1>'
        f"<p>{subtitle}</p></div>"
        f'<form method="get" action="{esc(action)}" aria-label="what to show">'
        f'<label>Window<select name="window">{windows}</select></label>'
        f"{version_field}"
        f'<label>Auto-refresh<select name="refresh">{refreshes}</select></label>'
        '<button type="submit">Show</button></form></header>'
    )


def _footer(data: DashboardData, links: JaegerLinks, refresh: int) -> str:
    jaeger = (
        f"Trace links open Jaeger at {esc(links.base)}."
        if links.base
        else (
            f"Set <code>{esc(semconv.ENV_JAEGER_URL)}</code> (e.g. http://localhost:16686) "
            "to open trace ids in Jaeger."
        )
    )
    refreshing = (
        f"The page reloads every {refresh} s "
        f'(<a href="{esc(query(data.window, data.candidate_version, 0))}">turn off</a>).'
        if refresh > 0
        else "Auto-refresh is off."
    )
    return (
        f"<footer><p>Generated {esc(format_timestamp(data.now))} · {refreshing} {jaeger} "
        f"{format_count(data.accepted_spans)} spans accepted since the database was created · "
        '<a href="/docs">API</a></p></footer>'
    )


def _notes(links: JaegerLinks) -> str:
    if links.problem:
        return f'<p class="note" role="status">{esc(links.problem)}</p>'
    return ""


# --- the overview -----------------------------------------------------------------------------
def render_dashboard(
    data: DashboardData, links: JaegerLinks, *, refresh: int = 0, base_url: str = ""
) -> str:
    """The overview page. ``base_url`` (e.g. ``http://127.0.0.1:4418``) is where this analyzer
    is reached, for the empty state's instructions."""
    subtitle = f"Last {esc(data.window)}, one point per {esc(step_text(data.step))} · " + (
        f"comparing version <strong>{esc(version_label(data.candidate_version))}</strong> "
        "with each operation's baseline"
        if data.candidate_version is not None
        else "no spans stored yet"
    )
    header = _header(data, refresh, subtitle=subtitle)
    parts = [_notes(links)]
    if not data.operations:
        parts.append(_empty_state(data, base_url or "http://127.0.0.1:4418"))
    else:
        parts.append(_tiles(data))
        parts.append(_alerts_section(data, links))
        parts.append(_comparison_section(data, links, refresh))
        parts.append(_trends_section(data, refresh))
        parts.append(_cache_section(data))
    body = "".join(parts)
    return page(
        "Latency dashboard · mcp-agent-otel",
        body,
        refresh=refresh,
        header=header,
        footer=_footer(data, links, refresh),
    )


def _empty_state(data: DashboardData, base_url: str) -> str:
    alerts = (
        f"<p>{format_count(len(data.alerts))} alert(s) are stored; they are listed once spans "
        "arrive in this window.</p>"
        if data.alerts
        else ""
    )
    return (
        '<section class="empty-state" aria-labelledby="empty-h">'
        f'<h2 id="empty-h">No spans in the last {esc(data.window)}</h2>'
        "<p>Send traces to this analyzer and they appear here within a second:</p><ul>"
        "<li>OTLP/HTTP: <code>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="
        f"{esc(base_url.rstrip('/'))}/v1/traces</code></li>"
        "<li>a spans file: <code>mcp-agent-otel analyzer ingest spans.jsonl</code></li>"
        "<li>or choose a longer window above.</li></ul>"
        f"{alerts}</section>"
    )


def _tiles(data: DashboardData) -> str:
    regressions = sum(1 for v in data.operations if v.verdict is Verdict.REGRESSION)
    compared = sum(1 for v in data.operations if v.comparison is not None)
    total = data.total
    recent_alerts = sum(1 for a in data.alerts if a.created >= data.since)
    busiest = max(data.operations, key=lambda v: v.total.sum_ms)
    share = busiest.total.sum_ms / total.sum_ms if total.sum_ms > 0 else None
    # (label, value, note, css class of the tile, css class of the value)
    tiles = [
        ("Operations", format_count(len(data.operations)), "", "", ""),
        ("Spans", format_count(total.count), f"last {data.window}", "", ""),
        (
            "Most time spent in",
            busiest.key.name,
            f"{format_percent(share)} of all span time",
            "",
            "name",
        ),
        (
            "Error rate",
            format_percent(total.error_rate, 1),
            f"{format_count(total.errors)} errors",
            "",
            "",
        ),
        (
            "Cache hit rate",
            format_percent(total.hit_rate),
            f"{format_count(total.cache_lookups)} lookups",
            "",
            "",
        ),
        (
            "Regressions",
            format_count(regressions),
            f"of {compared} compared",
            "bad" if regressions else "",
            "",
        ),
        (
            "Alerts",
            format_count(recent_alerts),
            f"last {data.window}",
            "bad" if recent_alerts else "",
            "",
        ),
    ]
    cells = []
    for label, value, note, tile_class, value_class in tiles:
        tile_attr = f' class="{tile_class}"' if tile_class else ""
        value_attr = f' class="{value_class}" title="{esc(value)}"' if value_class else ""
        small = f"<small>{esc(note)}</small>" if note else ""
        cells.append(
            f"<div{tile_attr}><dt>{esc(label)}</dt><dd{value_attr}>"
            f"<span>{esc(value)}</span> {small}</dd></div>"
        )
    return f'<section aria-label="summary"><dl class="tiles">{"".join(cells)}</dl></section>'


def _alerts_section(data: DashboardData, links: JaegerLinks) -> str:
    head = (
        '<section aria-labelledby="alerts-h"><h2 id="alerts-h">Recent alerts '
        f'<span class="count">({format_count(len(data.alerts))})</span></h2>'
    )
    if not data.alerts:
        return (
            head + '<p class="hint">No regression alerts. The live detector compares every '
            "operation's spans with its active baseline as they arrive.</p></section>"
        )
    items = []
    for alert in data.alerts:
        trace = (
            f'<span class="meta">slowest span: {trace_link(links, alert.trace_id)}</span>'
            if alert.trace_id
            else ""
        )
        where = ", ".join(
            x
            for x in (
                f"version {version_label(alert.version)}"
                if alert.version or alert.environment
                else "",
                alert.environment,
            )
            if x
        )
        items.append(
            '<li class="alert">'
            '<span class="what"><span aria-hidden="true">▲ </span>Regression: '
            f"{esc(alert.name)}</span>"
            f"<span>{esc(format_ratio(alert.estimated_ratio))} against baseline "
            f"<strong>{esc(alert.baseline)}</strong> "
            f"(its median {esc(format_ms(alert.baseline_median_ms))})</span>"
            f'<span class="meta">{esc(alert.service)}{" · " + esc(where) if where else ""} · '
            f"after {format_count(alert.span_index + 1)} spans · "
            f"{time_tag(alert.created, data.now)}</span>"
            f"{trace}</li>"
        )
    return head + f'<ol class="alerts">{"".join(items)}</ol></section>'


def _comparison_section(data: DashboardData, links: JaegerLinks, refresh: int) -> str:
    candidate = data.candidate_version
    caption = (
        f"Version {esc(version_label(candidate))} against each operation's active baseline "
        "(the newest baseline containing it) · change: Hodges–Lehmann ratio of durations, "
        "with its confidence interval · p: one-sided, Welch's t-test on log durations · "
        f"n: durations compared per side · latency columns: the last {esc(data.window)}"
        if candidate is not None
        else "No version to compare yet."
    )
    rows = []
    for view in data.operations:
        comparison = view.comparison
        href = DETAIL_PATH + f"/{view.op_id}" + query(data.window, candidate, refresh)
        verdict = verdict_badge(view.verdict)
        if comparison is not None:
            change = _change_cell(comparison)
            p_cell = format_p(_finite(comparison.p_value))
            n_cell = (
                f"{format_count(comparison.baseline_n)} / {format_count(comparison.candidate_n)}"
            )
            if comparison.verdict is Verdict.INCONCLUSIVE and comparison.required_n:
                needed = format_count(comparison.required_n)
                verdict += f'<span class="sub">needs ~{needed} per side</span>'
        else:
            change, p_cell, n_cell = "–", "–", "–"
            verdict = verdict_badge(None, _none_label(view))
            verdict += f'<span class="sub">{esc(view.note)}</span>' if view.note else ""
        base = view.baseline
        base_cell = (
            f"{esc(format_ms(base.p50_ms))} / {esc(format_ms(base.p95_ms))}"
            f'<span class="sub">{esc(base.name)}</span>'
            if base is not None
            else "–"
        )
        slow = view.slow[0] if view.slow else None
        trace = (
            trace_link(links, slow.trace_id)
            + f'<span class="sub">{esc(format_ms(slow.duration_ms))}</span>'
            if slow is not None
            else "–"
        )
        row_class = ' class="row-regression"' if view.verdict is Verdict.REGRESSION else ""
        rows.append(
            f'<tr{row_class} data-operation="{esc(view.key.label)}">'
            f'<th scope="row">{operation_heading(view, href)}</th>'
            f"<td>{verdict}</td>"
            f'<td class="num">{change}</td>'
            f'<td class="num">{esc(p_cell)}</td>'
            f'<td class="num">{esc(n_cell)}</td>'
            f'<td class="num">{esc(format_ms(view.total.p50_ms))} / '
            f"{esc(format_ms(view.total.p95_ms))}"
            f'<span class="sub">{format_count(view.total.count)} spans</span></td>'
            f'<td class="num">{base_cell}</td>'
            f'<td class="num">{esc(format_percent(view.total.hit_rate))}</td>'
            f"<td>{trace}</td></tr>"
        )
    no_baseline = (
        '<p class="hint">No baselines yet: snapshot a known-good version with '
        "<code>mcp-agent-otel analyzer baseline create NAME --version V</code>; the table then "
        "shows a verdict per operation and the live detector starts.</p>"
        if not data.baselines
        else ""
    )
    headers = (
        ("Operation", ""),
        ("Verdict", ""),
        ("Change (CI)", "num"),
        ("p-value", "num"),
        ("n baseline / candidate", "num"),
        ("p50 / p95 in window", "num"),
        ("Baseline p50 / p95", "num"),
        ("Cache hits", "num"),
        ("Slowest trace", ""),
    )
    head = "".join(
        f'<th scope="col" class="{cls}">{esc(h)}</th>' if cls else f'<th scope="col">{esc(h)}</th>'
        for h, cls in headers
    )
    return (
        '<section aria-labelledby="compare-h"><h2 id="compare-h">Against the baseline</h2>'
        f'{no_baseline}<div class="table-wrap"><table id="comparison"><caption>{caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _change_cell(comparison: Comparison) -> str:
    ratio = _finite(comparison.ratio)
    low, high = _finite(comparison.ratio_ci_low), _finite(comparison.ratio_ci_high)
    interval = (
        f'<span class="sub">{comparison.confidence * 100:.0f}% CI {low:.2f}–{high:.2f}</span>'
        if low is not None and high is not None
        else ""
    )
    data_ratio = f"{ratio:.6g}" if ratio is not None else ""
    return (
        f'<span class="ratio" data-ratio="{esc(data_ratio)}">{esc(format_ratio(ratio))}</span>'
        f"{interval}"
    )


def _trends_section(data: DashboardData, refresh: int) -> str:
    shown = data.operations[:MAX_CHARTS]
    cards = []
    for view in shown:
        spec = latency_spec(view, data, f"latency-{view.op_id}")
        href = DETAIL_PATH + f"/{view.op_id}" + query(data.window, data.candidate_version, refresh)
        regression = view.verdict is Verdict.REGRESSION
        cards.append(
            f'<article class="card{" is-regression" if regression else ""}" '
            f'aria-labelledby="card-{view.op_id}-h" data-operation="{esc(view.key.label)}">'
            f'<header><h3 id="card-{view.op_id}-h">{operation_heading(view, href)}</h3>'
            f"{verdict_badge(view.verdict, _none_label(view))}</header>"
            f'<p class="stats">p50 <b>{esc(format_ms(view.total.p50_ms))}</b> · p95 '
            f"<b>{esc(format_ms(view.total.p95_ms))}</b> · {format_count(view.total.count)} spans"
            f" · {esc(format_percent(view.total.error_rate, 1))} errors</p>"
            f"{line_chart(spec)}{latency_legend(spec)}</article>"
        )
    more = (
        f'<p class="hint">{len(data.operations) - len(shown)} more operation(s) are in the table '
        "above; open one for its charts.</p>"
        if len(data.operations) > len(shown)
        else ""
    )
    return (
        '<section aria-labelledby="trends-h"><h2 id="trends-h">Latency over time '
        f'<span class="count">(p50 and p95 per {step_text(data.step)}, UTC; shaded: the '
        f'baseline\'s p50–p95)</span></h2><div class="cards">{"".join(cards)}</div>{more}</section>'
    )


def _cache_section(data: DashboardData) -> str:
    cached = [v for v in data.operations if v.total.cache_lookups > 0]
    head = '<section aria-labelledby="cache-h"><h2 id="cache-h">Cache hit rate</h2>'
    if not cached:
        return (
            head + '<p class="hint">No span in this window carries <code>mcp_agent.cache.*</code> '
            "attributes (the agent's analysis cache writes them on its stage spans).</p></section>"
        )
    cards = []
    for view in cached:
        spec = cache_spec(view, data, f"cache-{view.op_id}")
        cards.append(
            f'<article class="card" aria-labelledby="cache-{view.op_id}-h" '
            f'data-operation="{esc(view.key.label)}">'
            f'<header><h3 id="cache-{view.op_id}-h">{operation_heading(view)}</h3></header>'
            f'<p class="stats">hit rate <b>{esc(format_percent(view.total.hit_rate))}</b> · '
            f"{format_count(view.total.cache_hits)} hits, "
            f"{format_count(view.total.cache_misses)} misses</p>"
            f"{line_chart(spec)}{legend([HIT_RATE_LEGEND])}</article>"
        )
    return head + f'<div class="cards">{"".join(cards)}</div></section>'


# --- one operation ------------------------------------------------------------------------------
def render_operation(
    data: DashboardData, view: OperationView, links: JaegerLinks, *, refresh: int = 0
) -> str:
    back = "/" + query(data.window, data.candidate_version, refresh)
    header = _header(
        data,
        refresh,
        subtitle=f"{esc(view.key.label)} · last {esc(data.window)}",
        action=f"{DETAIL_PATH}/{view.op_id}",
    )
    latency = latency_spec(view, data, "latency", p99=True, width=720, height=260)
    spans = throughput_spec(view, data, "throughput")
    parts = [
        _notes(links),
        f'<p><a href="{esc(back)}">← all operations</a></p>',
        f'<h2 id="op-h" class="op-title">{operation_heading(view)}</h2>',
        '<div class="detail-grid"><div class="panel">'
        '<h2 id="latency-h">Latency over time</h2>'
        f"{line_chart(latency)}{latency_legend(latency)}"
        '<h2 id="spans-h">Spans per step</h2>'
        f"{line_chart(spans)}"
        + legend(
            [("bar", "spans", "spans")]
            + ([("bar", "errors", "errors")] if view.total.errors else [])
        ),
    ]
    if view.total.cache_lookups:
        cache = cache_spec(view, data, "cache", width=720, height=150)
        parts.append(
            f'<h2 id="cache-h">Cache hit rate</h2>{line_chart(cache)}' + legend([HIT_RATE_LEGEND])
        )
    parts.append(_data_table(view))
    parts.append('</div><div class="side">')
    parts.append(_verdict_panel(view, data))
    parts.append(_exemplars_panel(view, links, data))
    alerts = _alerts_of(view, data.alerts)
    if alerts:
        parts.append(
            '<div class="panel"><h2>Alerts</h2><ol class="alerts">'
            + "".join(
                f'<li><span class="what">{esc(format_ratio(a.estimated_ratio))}</span>'
                f"<span>against {esc(a.baseline)}</span>"
                f'<span class="meta">{time_tag(a.created, data.now)}</span>'
                + (
                    f'<span class="meta">{trace_link(links, a.trace_id)}</span>'
                    if a.trace_id
                    else ""
                )
                + "</li>"
                for a in alerts
            )
            + "</ol></div>"
        )
    parts.append("</div></div>")
    return page(
        f"{view.key.label} · latency dashboard",
        "".join(parts),
        refresh=refresh,
        header=header,
        footer=_footer(data, links, refresh),
    )


def _verdict_panel(view: OperationView, data: DashboardData) -> str:
    c = view.comparison
    base = view.baseline
    rows = [
        ("Spans (window)", format_count(view.total.count)),
        (
            "p50 / p95 / p99",
            " / ".join(
                format_ms(v) for v in (view.total.p50_ms, view.total.p95_ms, view.total.p99_ms)
            ),
        ),
        (
            "Errors",
            f"{format_count(view.total.errors)} ({format_percent(view.total.error_rate, 1)})",
        ),
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
        low, high = _finite(c.ratio_ci_low), _finite(c.ratio_ci_high)
        rows += [
            ("Candidate", f"version {version_label(data.candidate_version or '')}"),
            ("Change", format_ratio(_finite(c.ratio))),
            (
                f"{c.confidence * 100:.0f}% interval",
                f"{low:.3f} – {high:.3f}" if low is not None and high is not None else "–",
            ),
            (
                "p-value (adjusted)",
                f"{format_p(_finite(c.p_value))} ({format_p(_finite(c.p_adjusted))})",
            ),
            (
                "n baseline / candidate",
                f"{format_count(c.baseline_n)} / {format_count(c.candidate_n)}",
            ),
            ("Threshold", f"±{c.threshold * 100:.0f}%"),
        ]
    kv = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    reason = (
        f'<p class="reason">{esc(c.reason)}</p>'
        if c is not None
        else (f'<p class="reason">{esc(view.note)}</p>' if view.note else "")
    )
    badge = verdict_badge(view.verdict, _none_label(view))
    return f'<div class="panel"><h2>Verdict {badge}</h2>{reason}<dl class="kv">{kv}</dl></div>'


def _exemplars_panel(view: OperationView, links: JaegerLinks, data: DashboardData) -> str:
    def table(title: str, items: Sequence[Exemplar], table_id: str) -> str:
        if not items:
            return f'<p class="hint">{esc(title)}: none in this window.</p>'
        rows = "".join(
            f"<tr><td>{trace_link(links, e.trace_id, e.trace_id[:16] + '…')}</td>"
            f'<td class="num">{esc(format_ms(e.duration_ms))}</td>'
            f'<td class="when">{time_tag(e.time, data.now)}</td></tr>'
            for e in items
        )
        return (
            f'<table id="{table_id}"><caption>{esc(title)}</caption><thead><tr>'
            '<th scope="col">Trace</th><th scope="col" class="num">Duration</th>'
            f'<th scope="col">Ended</th></tr></thead><tbody>{rows}</tbody></table>'
        )

    return (
        '<div class="panel"><h2>Example traces</h2>'
        + table("Slowest spans", view.slow, "slowest")
        + table("Latest failed spans", view.failed, "failed")
        + "</div>"
    )


def _data_table(view: OperationView) -> str:
    rows = "".join(
        f'<tr><th scope="row">{esc(format_timestamp(s.start))}</th>'
        f'<td class="num">{format_count(s.count)}</td><td class="num">{format_count(s.errors)}</td>'
        f'<td class="num">{esc(format_ms(s.p50_ms))}</td>'
        f'<td class="num">{esc(format_ms(s.p95_ms))}</td>'
        f'<td class="num">{esc(format_ms(s.p99_ms))}</td>'
        f'<td class="num">{esc(format_percent(s.hit_rate))}</td></tr>'
        for s in view.steps
    )
    cols = ("Step start", "Spans", "Errors", "p50", "p95", "p99", "Cache hits")
    head = "".join(f'<th scope="col">{c}</th>' for c in cols)
    return (
        "<details><summary>The numbers behind the charts</summary>"
        f'<div class="table-wrap"><table id="steps"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div></details>"
    )


# --- errors and the token form -------------------------------------------------------------------
def render_error(title: str, message: str) -> str:
    return page(
        f"{title} · latency dashboard",
        f'<h2>{esc(title)}</h2><p class="note" role="alert">{esc(message)}</p>'
        '<p><a href="/">Back to the dashboard</a></p>',
        header='<header class="top"><div><h1><a href="/">Latency dashboard</a></h1></div></header>',
    )


def render_login(message: str | None = None, action: str = "/dashboard/login") -> str:
    problem = f'<p class="note" role="alert">{esc(message)}</p>' if message else ""
    return page(
        "Token required · latency dashboard",
        "<h2>This analyzer requires a token</h2>"
        f"{problem}<p>Enter the value of <code>{esc(semconv.ENV_ANALYZER_TOKEN)}</code> the "
        "analyzer was started with. It is kept in a cookie for this site only.</p>"
        f'<form method="post" action="{esc(action)}"><p><label for="token">Token</label> '
        '<input id="token" name="token" type="password" autocomplete="current-password" '
        'required> <button type="submit">Open the dashboard</button></p></form>',
        header='<header class="top"><div><h1>Latency dashboard</h1></div></header>',
    )
