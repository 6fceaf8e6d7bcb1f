"""The dashboard's pages from plain data (pure render functions, no server): structure,
accessibility (scoped headers, labelled charts, verdicts in words, contrast of every text
colour), escaping of hostile span data, Jaeger links, empty states and the pure choices of
the view model (window, step, candidate version, ordering)."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from mcp_agent_otel.regression.aggregates import Exemplar
from mcp_agent_otel.regression.alerts import Alert
from mcp_agent_otel.regression.dashboard_formats import format_p, format_ratio, step_text
from mcp_agent_otel.regression.dashboard_html import (
    render_dashboard,
    render_error,
    render_login,
    render_operation,
)
from mcp_agent_otel.regression.dashboard_links import (
    JaegerLinks,
    is_trace_id,
    jaeger_links,
    jaeger_links_from_env,
)
from mcp_agent_otel.regression.dashboard_model import (
    BaselineStats,
    DashboardData,
    DashboardInputError,
    OperationView,
    StepStats,
    candidate_version,
    order_operations,
    parse_window,
    step_for,
)
from mcp_agent_otel.regression.dashboard_palette import COLOURS, PALETTE, STROKES
from mcp_agent_otel.regression.dashboard_specs import step_points
from mcp_agent_otel.regression.dashboard_templates import environment, verdict_badge
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.statistics import Comparison, Verdict

NOW = 1_700_003_600.0
SINCE = 1_700_000_000.0
HOSTILE = '<img src=x onerror=alert(1)><script>alert("x")</script>&amp;'
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


# --- contrast (WCAG 2.x relative luminance) ------------------------------------------------------
def _luminance(color: str) -> float:
    value = color.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_contrast_formula_on_known_pairs() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def _stylesheet() -> str:
    env = environment()
    assert env.loader is not None
    return env.loader.get_source(env, "dashboard.css")[0]


@pytest.mark.parametrize(("name", "fg", "bg"), PALETTE)
def test_every_text_colour_has_at_least_4_5_to_1(name: str, fg: str, bg: str) -> None:
    assert contrast(COLOURS[fg], COLOURS[bg]) >= 4.5, name
    for colour in (fg, bg):
        assert f"var(--colour-{colour})" in _stylesheet(), f"{name}: the stylesheet never uses it"


@pytest.mark.parametrize(("name", "fg", "bg"), STROKES)
def test_chart_strokes_have_at_least_3_to_1(name: str, fg: str, bg: str) -> None:
    assert contrast(COLOURS[fg], COLOURS[bg]) >= 3.0, name
    assert f"var(--colour-{fg})" in _stylesheet(), name


# --- a page from known data ------------------------------------------------------------------
def _steps(p50s: list[float | None], hits: int = 0) -> tuple[StepStats, ...]:
    return tuple(
        StepStats(
            start=SINCE + 60 * i,
            count=100,
            errors=1,
            sum_ms=100 * p50,
            p50_ms=p50,
            p95_ms=p50 * 2.2,
            p99_ms=p50 * 3,
            cache_hits=hits,
            cache_misses=100 - hits if hits else 0,
        )
        for i, p50 in enumerate(p50s)
        if p50 is not None
    )


def _total(steps: tuple[StepStats, ...]) -> StepStats:
    return StepStats(
        start=SINCE,
        count=sum(s.count for s in steps),
        errors=sum(s.errors for s in steps),
        sum_ms=sum(s.sum_ms for s in steps),
        p50_ms=25.0,
        p95_ms=55.0,
        p99_ms=75.0,
        cache_hits=sum(s.cache_hits for s in steps),
        cache_misses=sum(s.cache_misses for s in steps),
    )


def _comparison(label: str, verdict: Verdict, ratio: float) -> Comparison:
    return Comparison(
        operation=label,
        baseline_n=2000,
        candidate_n=900,
        ratio=ratio,
        ratio_ci_low=ratio * 0.95,
        ratio_ci_high=ratio * 1.05,
        p_value=1e-9 if verdict is Verdict.REGRESSION else 0.4,
        p_adjusted=2e-9 if verdict is Verdict.REGRESSION else 0.5,
        verdict=verdict,
        threshold=0.1,
        required_n=1234 if verdict is Verdict.INCONCLUSIVE else None,
        reason="45% slower",
    )


def _view(
    op_id: int, name: str, verdict: Verdict | None, p50s: list[float | None]
) -> OperationView:
    key = OperationKey("shop", name)
    steps = _steps(p50s, hits=75 if name == "task_analyzer.analyze" else 0)
    return OperationView(
        op_id=op_id,
        key=key,
        total=_total(steps),
        steps=steps,
        slow=(Exemplar(TRACE, "00f067aa0ba902b7", 128.0, NOW - 60),),
        failed=(),
        baseline=BaselineStats("v1", 2000, 20.0, 44.0) if verdict is not None else None,
        comparison=_comparison(key.label, verdict, 1.45) if verdict is not None else None,
        note="" if verdict is not None else "no baseline contains this operation yet",
    )


def _data(*views: OperationView, alerts: tuple[Alert, ...] = ()) -> DashboardData:
    everything = tuple(s for v in views for s in v.steps)
    return DashboardData(
        now=NOW,
        window="1h",
        since=SINCE,
        until=SINCE + 3600,
        step=60,
        candidate_version="2.0",
        versions=("2.0", "1.0"),
        baselines=("v1",),
        operations=tuple(order_operations(views)),
        alerts=alerts,
        total=_total(everything),
        accepted_spans=12345,
    )


ALERT = Alert(
    created=NOW - 30,
    service="shop",
    name="checkout",
    baseline="v1",
    estimated_ratio=1.44,
    statistic=12.0,
    baseline_median_ms=20.0,
    span_index=64,
    message="checkout is 44% slower",
    version="2.0",
    environment="ci",
    trace_id=TRACE,
)


class _Outline(HTMLParser):
    """Collects what a screen reader and a validator look at."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts += 1


def _outline(page: str) -> _Outline:
    parser = _Outline()
    parser.feed(page)
    return parser


def test_overview_structure_and_accessibility() -> None:
    data = _data(
        _view(1, "search", Verdict.NO_CHANGE, [8.0] * 5),
        _view(2, "checkout", Verdict.REGRESSION, [20.0, 21.0, None, 30.0, 31.0]),
        _view(3, "task_analyzer.analyze", Verdict.IMPROVEMENT, [3.0, 2.5]),
        _view(4, "new-op", None, [5.0]),
        alerts=(ALERT,),
    )
    links = JaegerLinks(base="http://jaeger.test:16686")
    page = render_dashboard(data, links, refresh=30)
    outline = _outline(page)
    tags = [t for t, _ in outline.tags]
    assert outline.scripts == 0
    assert page.startswith("<!DOCTYPE html>")
    assert ("html", {"lang": "en"}) in outline.tags
    assert tags.count("main") == 1
    assert tags.count("h1") == 1
    assert '<meta http-equiv="refresh" content="30">' in page
    # every table header is scoped; the comparison table has a caption
    ths = [a for t, a in outline.tags if t == "th"]
    assert ths
    assert all(a.get("scope") in ("col", "row") for a in ths)
    assert "<caption>Version 2.0 against each operation" in page
    # regressions first, then the undecided, improvements, unchanged, uncompared
    rows = re.findall(r'<tr(?: class="row-regression")? data-operation="([^"]+)"', page)
    assert rows == [
        "shop :: checkout",
        "shop :: task_analyzer.analyze",
        "shop :: search",
        "shop :: new-op",
    ]
    # verdicts are words (icons are hidden from screen readers), never colour alone
    for word in ("Regression", "Improvement", "No change", "No baseline"):
        assert word in page
    assert '<span class="icon" aria-hidden="true">▲</span>Regression' in page
    # charts are labelled images with their own title and description
    svgs = [a for t, a in outline.tags if t == "svg" and a.get("role") == "img"]
    assert len(svgs) == 5  # four latency charts and one cache chart
    for attrs in svgs:
        title_id, desc_id = (attrs.get("aria-labelledby") or "").split()
        assert f'<title id="{title_id}">' in page
        assert f'<desc id="{desc_id}">' in page
    assert "Latency of shop :: checkout over time" in page
    # the numbers of the known data
    assert "1.45× (+45%)" in page
    assert "98% CI 1.38–1.52" in page
    assert "2,000 / 900" in page
    assert "needs ~" not in page  # nobody is inconclusive here
    assert "Cache hit rate" in page
    assert "75%" in page
    # the alert and the Jaeger links
    assert "Regression: checkout" in page
    assert "1.44× (+44%)" in page
    assert f'href="http://jaeger.test:16686/trace/{TRACE}"' in page
    assert 'rel="noopener noreferrer"' in page
    assert "12,345 spans accepted" in page


def test_lines_break_over_steps_without_spans() -> None:
    view = _view(2, "checkout", Verdict.REGRESSION, [20.0, 21.0, None, 30.0])
    data = _data(view)
    points = step_points(view, data, lambda s: s.p50_ms)
    assert len(points) == 60  # one per minute of the hour
    assert points[:5] == (
        (SINCE + 30, 20.0),
        (SINCE + 90, 21.0),
        (SINCE + 150, None),
        (SINCE + 210, 30.0),
        (SINCE + 270, None),
    )
    page = render_dashboard(data, JaegerLinks())
    svg = re.search(r'<svg class="chart" id="latency-2".*?</svg>', page)
    assert svg is not None
    root = ET.fromstring(svg.group(0))
    ns = "{http://www.w3.org/2000/svg}"
    p50 = next(g for g in root.iter(f"{ns}g") if g.get("data-series") == "p50")
    d = p50.find(f"{ns}path").get("d")  # type: ignore[union-attr]
    assert d is not None
    assert d.count("M") == 2  # two runs: before and after the empty step
    assert [float(c.get("data-value", "")) for c in p50.findall(f"{ns}circle")] == [20, 21, 30]


def test_hostile_span_data_is_escaped_everywhere() -> None:
    key_view = _view(7, HOSTILE, Verdict.REGRESSION, [1.0, 2.0])
    view = OperationView(
        **{
            **key_view.__dict__,
            "key": OperationKey(HOSTILE, HOSTILE),
            "baseline": BaselineStats(HOSTILE, 10, 1.0, 2.0),
            "comparison": _comparison(f"{HOSTILE} :: {HOSTILE}", Verdict.REGRESSION, 1.3),
            "slow": (Exemplar('"><script>alert(1)</script>', "x", 1.0, NOW),),
        }
    )
    alert = Alert(
        **{
            **ALERT.__dict__,
            "name": HOSTILE,
            "service": HOSTILE,
            "baseline": HOSTILE,
            "version": HOSTILE,
            "environment": HOSTILE,
            "trace_id": HOSTILE,
        }
    )
    data = DashboardData(
        **{
            **_data(view, alerts=(alert,)).__dict__,
            "versions": (HOSTILE,),
            "candidate_version": HOSTILE,
        }
    )
    links = jaeger_links("http://jaeger.test:16686")
    for page in (
        render_dashboard(data, links, refresh=0),
        render_operation(data, view, links, refresh=0),
        render_error(HOSTILE, HOSTILE),
    ):
        assert "<script" not in page
        assert "<img" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "&amp;amp;" in page  # the literal "&amp;" in the name, shown as typed
        assert _outline(page).scripts == 0
        # a trace id that is not one is shown, never linked
        assert 'jaeger.test:16686/trace/"' not in page
        assert "/trace/%22" not in page


def test_empty_store_explains_what_to_do() -> None:
    data = DashboardData(
        now=NOW,
        window="15m",
        since=NOW - 900,
        until=NOW,
        step=60,
        candidate_version=None,
        versions=(),
        baselines=(),
        operations=(),
        alerts=(),
        total=StepStats(NOW, 0, 0, 0.0, None, None, None, 0, 0),
    )
    page = render_dashboard(data, JaegerLinks(), base_url="http://127.0.0.1:9999")
    assert "No spans in the last 15m" in page
    assert "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:9999/v1/traces" in page
    assert "mcp-agent-otel analyzer ingest" in page
    assert "Set <code>MCP_AGENT_OTEL_JAEGER_URL</code>" in page
    assert 'name="version"' not in page  # nothing to choose from yet


def test_no_baseline_yet_says_how_to_create_one() -> None:
    data = DashboardData(**{**_data(_view(4, "new-op", None, [5.0])).__dict__, "baselines": ()})
    page = render_dashboard(data, JaegerLinks())
    assert "mcp-agent-otel analyzer baseline create NAME --version V" in page
    assert "no baseline contains this operation yet" in page
    assert '<code class="trace-id" title="trace 4bf92f35' in page  # no Jaeger: the id as code


def test_operation_page() -> None:
    view = _view(2, "checkout", Verdict.REGRESSION, [20.0, 21.0, 30.0])
    data = _data(view, alerts=(ALERT,))
    page = render_operation(data, view, JaegerLinks(base="https://j.example"), refresh=0)
    assert '<h2 id="op-h" class="op-title">checkout' in page
    assert '<meta http-equiv="refresh"' not in page
    assert "Auto-refresh is off." in page
    assert "p50 / p95 / p99" in page
    assert "25 ms / 55 ms / 75 ms" in page
    assert "45% slower" in page  # the comparison's own reason
    assert f'href="https://j.example/trace/{TRACE}"' in page
    assert page.count('<svg class="chart"') == 2  # latency, spans (no cache lookups)
    assert "series-p99" in page
    assert '<table id="steps">' in page
    assert page.count('<tr><th scope="row">') == 3


def test_error_and_login_pages() -> None:
    page = render_error("Cannot show that", "window 'x' is not one of 15m, 1h")
    assert 'role="alert"' in page
    assert "window &#39;x&#39; is not one of 15m, 1h" in page  # quotes escaped
    login = render_login("wrong token")
    assert 'type="password"' in login
    assert 'action="/dashboard/login"' in login
    assert "MCP_AGENT_OTEL_ANALYZER_TOKEN" in login


def test_small_formats() -> None:
    assert [step_text(s) for s in (60, 300, 7200, 90)] == ["1 min", "5 min", "2 h", "90 s"]
    assert verdict_badge(None).count("No baseline") == 1
    assert 'data-verdict="inconclusive"' in verdict_badge(Verdict.INCONCLUSIVE)
    assert format_ratio(1.0) == "1.00× (±0%)"
    assert format_ratio(0.8) == "0.80× (−20%)"
    assert format_ratio(math.nan) == format_ratio(None) == "–"
    assert format_p(3e-9) == "< 0.0001"
    assert format_p(0.0042) == "0.0042"
    assert format_p(0.38) == "0.38"


# --- Jaeger links ---------------------------------------------------------------------------------
def test_jaeger_links() -> None:
    links = jaeger_links("http://localhost:16686/")
    assert links.base == "http://localhost:16686"
    assert links.trace_url(TRACE) == f"http://localhost:16686/trace/{TRACE}"
    assert links.trace_url("0" * 32) is None
    assert links.trace_url("not-a-trace") is None
    assert jaeger_links(None) == jaeger_links("  ") == JaegerLinks()
    assert JaegerLinks().trace_url(TRACE) is None
    assert is_trace_id(TRACE)
    assert not is_trace_id(TRACE.upper())
    assert jaeger_links_from_env({"MCP_AGENT_OTEL_JAEGER_URL": "https://j.example"}).base == (
        "https://j.example"
    )


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "localhost:16686",
        "ftp://j",
        "http://",
        'http://j/"><b>',
        "http://j/?a=1",
    ],
)
def test_unusable_jaeger_url_is_refused_with_a_reason(bad: str) -> None:
    links = jaeger_links(bad)
    assert links.base is None
    assert links.problem is not None
    assert "MCP_AGENT_OTEL_JAEGER_URL" in links.problem
    assert "http://localhost:16686" in links.problem
    page = render_dashboard(_data(_view(1, "search", None, [1.0])), links)
    assert 'class="note" role="status"' in page
    assert '/"><b>' not in page


# --- the view model's pure choices -------------------------------------------------------
def test_windows_and_steps() -> None:
    assert parse_window(None) == ("1h", 3600)
    assert parse_window("7d") == ("7d", 604800)
    with pytest.raises(DashboardInputError, match="window '2y' is not one of 15m, 1h, 6h, 24h, 7d"):
        parse_window("2y")
    assert step_for(900, 60) == 60
    assert step_for(3600, 60) == 60
    assert step_for(6 * 3600, 60) == 300
    assert step_for(86400, 60) == 1800
    assert step_for(7 * 86400, 60) == 7200
    assert step_for(3600, 45) == 90  # always a whole number of stored buckets
    for window in (900, 3600, 21600, 86400, 604800):
        assert window / step_for(window, 60) <= 90


def test_candidate_version() -> None:
    assert candidate_version(["2.0", "1.0"], None) == "2.0"
    assert candidate_version([], None) is None
    assert candidate_version(["2.0", "1.0"], "1.0") == "1.0"
    with pytest.raises(
        DashboardInputError,
        match=r"no stored spans have service.version '3.0'; versions seen: '2.0', '1.0'",
    ):
        candidate_version(["2.0", "1.0"], "3.0")
    with pytest.raises(DashboardInputError, match="longer than 200"):
        candidate_version(["2.0"], "x" * 201)
