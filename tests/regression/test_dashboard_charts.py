"""The dashboard's SVG charts: scales, ticks, paths (pure functions) and the markup the
``charts.html`` template draws from them, for known data (no server, no browser). The SVG is
parsed as XML, so malformed or unescaped output fails."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET

import pytest

from mcp_agent_otel.regression.dashboard_charts import (
    DASHED,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    Band,
    Bars,
    ChartSpec,
    LinearScale,
    Marker,
    Series,
    chart_scales,
    describe_series,
    nice_step,
    path_d,
    time_ticks,
    value_axis,
)
from mcp_agent_otel.regression.dashboard_formats import format_ms, format_percent, format_time
from mcp_agent_otel.regression.dashboard_templates import render_chart as line_chart
from mcp_agent_otel.regression.dashboard_templates import render_legend as legend

SVG = "{http://www.w3.org/2000/svg}"
T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&amp;"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_linear_scale_maps_domain_ends_to_range_ends_and_inverts_for_y() -> None:
    x = LinearScale(0.0, 10.0, 50.0, 450.0)
    assert (x(0.0), x(5.0), x(10.0)) == (50.0, 250.0, 450.0)
    y = LinearScale(0.0, 100.0, 160.0, 10.0)
    assert (y(0.0), y(50.0), y(100.0)) == (160.0, 85.0, 10.0)
    flat = LinearScale(3.0, 3.0, 0.0, 100.0)  # a degenerate domain lands in the middle
    assert flat(3.0) == 50.0


@pytest.mark.parametrize(
    ("raw", "step"),
    [
        (0.7, 1.0),
        (1.0, 1.0),
        (1.2, 2.0),
        (2.2, 2.5),
        (3.0, 5.0),
        (7.0, 10.0),
        (23.0, 25.0),
        (0.013, 0.02),
        (240.0, 250.0),
    ],
)
def test_nice_step(raw: float, step: float) -> None:
    assert nice_step(raw) == pytest.approx(step)


def test_nice_step_refuses_nonsense() -> None:
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="positive finite"):
            nice_step(bad)


def test_value_axis_is_zero_based_and_ends_on_a_tick() -> None:
    assert value_axis(97.0) == (100.0, [0.0, 25.0, 50.0, 75.0, 100.0])
    assert value_axis(41.6) == (60.0, [0.0, 20.0, 40.0, 60.0])
    top, ticks = value_axis(0.0123)
    assert top >= 0.0123
    assert ticks[0] == 0.0
    assert ticks[-1] == top
    assert all(b > a for a, b in itertools.pairwise(ticks))
    assert value_axis(0.0) == (1.0, [0.0, 0.25, 0.5, 0.75, 1.0])  # no data: a unit axis
    assert value_axis(1.0)[0] == 1.0  # rates: 0..100%


def test_time_ticks_are_utc_aligned_multiples_of_a_nice_step() -> None:
    step, ticks = time_ticks(T0, T0 + 3600)
    assert step == 600
    assert ticks == [T0 + 400 + 600 * i for i in range(6)]  # 22:20, 22:30, ... 23:10
    step, ticks = time_ticks(T0, T0 + 3900)
    assert step == 900
    assert ticks[0] == T0 + 100
    assert all(t % 900 == 0 for t in ticks)
    day_step, day_ticks = time_ticks(T0, T0 + 7 * 86400)
    assert day_step == 172800
    assert len(day_ticks) <= 6
    assert format_time(day_ticks[0], day_step) == "Nov 15"  # midnight UTC, a multiple of 2 days
    assert format_time(T0, 60) == "22:13"
    assert format_time(T0 + 5, 5) == "22:13:25"


def test_number_formats() -> None:
    assert format_ms(0.25) == "250 µs"
    assert format_ms(12.345) == "12.3 ms"
    assert format_ms(20.0) == "20 ms"
    assert format_ms(999.4) == "999 ms"
    assert format_ms(1520.0) == "1.52 s"
    assert format_ms(90_000.0) == "1.5 min"
    assert format_ms(None) == format_ms(math.nan) == "–"
    assert format_percent(0.75) == "75%"
    assert format_percent(0.0042, 1) == "0.4%"
    assert format_percent(None) == "–"


def test_path_d_for_known_points() -> None:
    x = LinearScale(0.0, 10.0, 0.0, 100.0)
    y = LinearScale(0.0, 50.0, 100.0, 0.0)
    assert path_d([(0.0, 0.0), (5.0, 25.0), (10.0, 50.0)], x, y) == "M0,100L50,50L100,0"
    # a None value breaks the line: a new subpath starts after the gap
    assert path_d([(0.0, 10.0), (2.5, None), (5.0, 20.0), (7.5, 30.0)], x, y) == (
        "M0,80M50,60L75,40"
    )
    assert path_d([(0.0, None), (1.0, math.nan)], x, y) == ""
    assert path_d([(3.33, 12.345)], x, y) == "M33.3,75.3"


def _spec(**changes: object) -> ChartSpec:
    base = ChartSpec(
        chart_id="c1",
        title="Latency of shop :: checkout over time",
        description="p50 went up.",
        t0=T0,
        t1=T0 + 600,
        series=(
            Series("p50", "p50", ((T0 + 30, 20.0), (T0 + 90, None), (T0 + 150, 30.0)), "solid"),
            Series("p95", "p95", ((T0 + 30, 45.0), (T0 + 90, None), (T0 + 150, 80.0)), DASHED),
        ),
        band=Band(20.0, 44.0, "baseline v1: p50 20 ms, p95 44 ms"),
        markers=(Marker(T0 + 300, "alert"), Marker(T0 - 10, "outside the window")),
    )
    return ChartSpec(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_line_chart_geometry_matches_the_scales() -> None:
    spec = _spec()
    x, y, ticks = chart_scales(spec)
    assert ticks == [0.0, 25.0, 50.0, 75.0, 100.0]  # 80 * 1.04 -> a 0..100 axis
    assert x(spec.t0) == MARGIN_LEFT
    assert x(spec.t1) == spec.width - MARGIN_RIGHT
    assert y(0.0) == spec.height - MARGIN_BOTTOM
    assert y(100.0) == MARGIN_TOP
    root = parse(line_chart(spec))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == spec.title  # type: ignore[union-attr]
    assert root.find(f"{SVG}title").get("id") == "c1-title"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "p50 went up."  # type: ignore[union-attr]
    groups = {g.get("data-series"): g for g in root.iter(f"{SVG}g") if g.get("data-series")}
    assert set(groups) == {"p50", "p95"}
    p50_path = groups["p50"].find(f"{SVG}path")
    assert p50_path is not None
    # 408 plot pixels for 600 s; 152 pixels for 0..100 ms: (30 s, 20 ms) and (150 s, 30 ms)
    assert p50_path.get("d") == "M78.4,133.6M160,118.4"
    assert p50_path.get("d") == path_d(spec.series[0].points, x, y)
    assert p50_path.get("stroke-dasharray") is None
    assert groups["p95"].find(f"{SVG}path").get("stroke-dasharray") == "7 4"  # type: ignore[union-attr]
    # one marker per value, carrying the value, the time and a tooltip
    circles = groups["p50"].findall(f"{SVG}circle")
    assert [float(c.get("data-value", "")) for c in circles] == [20.0, 30.0]
    assert [float(c.get("data-t", "")) for c in circles] == [T0 + 30, T0 + 150]
    assert float(circles[0].get("cy", "")) == pytest.approx(y(20.0), abs=0.05)
    assert circles[1].find(f"{SVG}title").text.endswith("p50 30 ms")  # type: ignore[union-attr]
    # the band spans the baseline's p50..p95
    band = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "band")
    rect = band.find(f"{SVG}rect")
    assert rect is not None
    assert float(rect.get("y", "")) == pytest.approx(y(44.0), abs=0.05)
    assert float(rect.get("height", "")) == pytest.approx(y(20.0) - y(44.0), abs=0.1)
    assert band.find(f"{SVG}title").text == "baseline v1: p50 20 ms, p95 44 ms"  # type: ignore[union-attr]
    # markers outside the window are left out
    markers = [g for g in root.iter(f"{SVG}g") if g.get("class") == "marker"]
    assert [float(m.get("data-t", "")) for m in markers] == [T0 + 300]
    line = markers[0].find(f"{SVG}line")
    assert float(line.get("x1", "")) == pytest.approx(x(T0 + 300), abs=0.05)  # type: ignore[union-attr]
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert labels[:5] == ["0 ms", "25 ms", "50 ms", "75 ms", "100 ms"]
    assert labels[5:] == ["22:14", "22:16", "22:18", "22:20", "22:22"]


def test_chart_includes_the_band_in_its_range() -> None:
    spec = _spec(series=(Series("p50", "p50", ((T0 + 30, 5.0),)),), band=Band(10.0, 180.0, "b"))
    _, y, ticks = chart_scales(spec)
    assert ticks[-1] >= 180.0
    assert y(ticks[-1]) == MARGIN_TOP


def test_rate_charts_use_a_fixed_zero_to_one_axis() -> None:
    spec = _spec(
        series=(Series("hit-rate", "hit rate", ((T0 + 30, 0.5), (T0 + 90, 0.75))),),
        band=None,
        value_format="percent",
        fixed_max=1.0,
    )
    root = parse(line_chart(spec))
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert [lbl for lbl in labels if lbl and "%" in lbl] == ["0%", "25%", "50%", "75%", "100%"]


def test_bars_cover_their_step() -> None:
    spec = _spec(
        series=(),
        band=None,
        markers=(),
        bars=(Bars("spans", "spans", ((T0, 10.0), (T0 + 60, 40.0)), 60.0),),
        value_format="count",
    )
    x, y, _ = chart_scales(spec)
    root = parse(line_chart(spec))
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("data-value")]
    assert [float(r.get("data-value", "")) for r in rects] == [10.0, 40.0]
    second = rects[1]
    assert float(second.get("x", "")) == pytest.approx(x(T0 + 60) + 0.5, abs=0.05)
    assert float(second.get("y", "")) == pytest.approx(y(40.0), abs=0.05)
    assert float(second.get("height", "")) == pytest.approx(y(0.0) - y(40.0), abs=0.1)


def test_empty_chart_says_so() -> None:
    spec = _spec(series=(Series("p50", "p50", ((T0, None),)),), band=None, markers=())
    svg = line_chart(spec)
    root = parse(svg)
    assert root.find(f"{SVG}title") is not None
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["No data in this time window"]
    assert root.find(f".//{SVG}path") is None


def test_every_text_is_escaped() -> None:
    spec = _spec(
        chart_id="c2",
        title=HOSTILE,
        description=HOSTILE,
        series=(Series("p50", HOSTILE, ((T0 + 30, 1.0),)),),
        band=Band(0.5, 2.0, HOSTILE),
        markers=(Marker(T0 + 60, HOSTILE),),
    )
    svg = line_chart(spec)
    assert "<script" not in svg
    assert "<img" not in svg
    root = parse(svg)  # still well-formed
    assert root.find(f"{SVG}title").text == HOSTILE  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == HOSTILE  # type: ignore[union-attr]
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert sum(HOSTILE in t for t in titles) == 4  # chart, band, marker, point tooltip


def test_legend_repeats_line_styles() -> None:
    html = legend([("line:solid", "p50", "p50"), ("line:dashed", "p95", "p95 <b>")])
    assert 'stroke-dasharray="7 4"' in html
    assert "p95 &lt;b&gt;" in html
    assert html.count('aria-hidden="true"') == 2


def test_describe_series_for_screen_readers() -> None:
    series = Series("p50", "p50", ((T0, 20.0), (T0 + 60, None), (T0 + 120, 31.0)))
    text = describe_series(series)
    assert text.startswith("p50 went from 20 ms at 22:13 to 31 ms at 22:15 UTC")
    assert "2 points" in text
    assert describe_series(Series("p95", "p95", ((T0, None),))) == "p95: no data."
    assert describe_series(Series("r", "hit rate", ((T0, 0.5),)), "percent") == (
        "hit rate: 50% at 22:13 UTC."
    )
