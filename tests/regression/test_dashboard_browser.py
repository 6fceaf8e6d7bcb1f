"""The dashboard in a real headless browser (Debian's Chromium driven by Playwright).

Spans go through the real OTel SDK and its OTLP/HTTP exporter into an analyzer on a free
loopback port: version 1.0 first, a baseline is created from it through the API, then
version 2.0 arrives with ``checkout`` 50% slower, so the live detector raises an alert. The
page must load without console errors or outside requests, and its DOM must show the data of
this test: the verdict table agrees with the CI gate's comparison (``POST /api/comparisons``),
the chart points are the trend API's per-minute quantiles, the baseline band is the baseline's
p50..p95, the cache chart is the hit rate of the ``mcp_agent.cache.hit`` attributes sent, and
the alert links the slow trace in Jaeger. A hostile operation name is shown as text and runs
nothing. Screenshots go to ``test-artifacts/``.

Jaeger itself is not running here: only the link targets are checked (never followed).
When Chromium is missing the test FAILS with the command that installs it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from .loopback import running_analyzer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
JAEGER = "http://jaeger.test:16686"
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"


class BrowserMissing(RuntimeError):
    pass


def chromium_executable(path: Path = CHROMIUM) -> str:
    if not path.exists():
        raise BrowserMissing(
            f"Chromium is not installed at {path}, and the dashboard's browser test needs it. "
            "Install it with `apt-get install -y chromium` (as root; CI's .ci/run does this), "
            "then run the test again."
        )
    return str(path)


def test_missing_browser_fails_with_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(BrowserMissing, match=r"apt-get install -y chromium"):
        chromium_executable(tmp_path / "no-chromium")


@pytest.fixture
def browser() -> Iterator[Any]:
    try:
        executable = chromium_executable()
    except BrowserMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# --- spans through the real SDK and OTLP/HTTP exporter ----------------------------------------
class Emitter:
    def __init__(self, endpoint: str, version: str) -> None:
        self.provider = TracerProvider(
            resource=Resource.create(
                {
                    "service.name": "shop",
                    "service.version": version,
                    "deployment.environment.name": "ci",
                }
            )
        )
        self.provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces"),
                max_queue_size=20_000,
                max_export_batch_size=1_000,
            )
        )
        self.tracer = self.provider.get_tracer("dashboard-browser-test")

    def spans(
        self,
        name: str,
        durations_ms: np.ndarray,
        ends: np.ndarray,
        *,
        cache_hits: np.ndarray | None = None,
        errors: frozenset[int] = frozenset(),
    ) -> list[str]:
        """Spans ending at ``ends`` (unix s); returns their trace ids (hex)."""
        ids = []
        for i, (duration, end) in enumerate(zip(durations_ms, ends, strict=True)):
            attributes = {} if cache_hits is None else {"mcp_agent.cache.hit": bool(cache_hits[i])}
            span = self.tracer.start_span(
                name, start_time=int((end - duration / 1000) * 1e9), attributes=attributes
            )
            if i in errors:
                span.set_status(Status(StatusCode.ERROR, "boom"))
            ids.append(f"{span.get_span_context().trace_id:032x}")
            span.end(end_time=int(end * 1e9))
        return ids

    def close(self) -> None:
        assert self.provider.force_flush(30_000)
        self.provider.shutdown()


def _ends(rng: np.random.Generator, n: int, start: float, stop: float) -> np.ndarray:
    return np.sort(rng.uniform(start, stop, n))


def test_dashboard_in_a_real_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, browser: Any
) -> None:
    monkeypatch.setenv("MCP_AGENT_OTEL_JAEGER_URL", JAEGER)
    rng = np.random.default_rng(7)
    now = time.time()
    with (
        running_analyzer(tmp_path) as (_, endpoints),
        httpx.Client(base_url=endpoints.http_url, timeout=60) as api,
    ):
        # version 1.0, 55..32 minutes ago
        v1 = Emitter(endpoints.http_url, "1.0")
        base_checkout = rng.lognormal(np.log(20.0), 0.4, 1500)
        v1.spans("checkout", base_checkout, _ends(rng, 1500, now - 3300, now - 1920))
        v1.spans(
            "search",
            rng.lognormal(np.log(8.0), 0.4, 1500),
            _ends(rng, 1500, now - 3300, now - 1920),
        )
        hits_1 = rng.random(600) < 0.5
        v1.spans(
            "task_analyzer.analyze",
            rng.lognormal(np.log(3.0), 0.3, 600),
            _ends(rng, 600, now - 3300, now - 1920),
            cache_hits=hits_1,
        )
        v1.spans(
            HOSTILE, rng.lognormal(np.log(5.0), 0.3, 60), _ends(rng, 60, now - 3300, now - 1920)
        )
        v1.close()
        created = api.post("/api/baselines", json={"name": "v1", "version": "1.0"})
        assert created.status_code == 201, created.text

        # version 2.0, 25..1 minutes ago: checkout 50% slower, with three failed spans
        v2 = Emitter(endpoints.http_url, "2.0")
        slow_ids = v2.spans(
            "checkout",
            rng.lognormal(np.log(30.0), 0.4, 900),
            _ends(rng, 900, now - 1500, now - 60),
            errors=frozenset({100, 500, 800}),
        )
        error_ids = {slow_ids[i] for i in (100, 500, 800)}
        v2.spans(
            "search", rng.lognormal(np.log(8.0), 0.4, 900), _ends(rng, 900, now - 1500, now - 60)
        )
        hits_2 = rng.random(600) < 0.8
        v2.spans(
            "task_analyzer.analyze",
            rng.lognormal(np.log(3.0), 0.3, 600),
            _ends(rng, 600, now - 1500, now - 60),
            cache_hits=hits_2,
        )
        v2.spans(HOSTILE, rng.lognormal(np.log(5.0), 0.3, 30), _ends(rng, 30, now - 1500, now - 60))
        v2.close()

        deadline = time.monotonic() + 30
        while not any(a["name"] == "checkout" for a in api.get("/api/alerts").json()):
            assert time.monotonic() < deadline, "the live detector raised no alert"
            time.sleep(0.2)

        # what the API says, to compare the page with
        gate = api.post(
            "/api/comparisons", json={"baseline": "v1", "candidate": {"version": "2.0"}}
        ).json()
        by_op = {c["operation"]: c for c in gate["comparisons"]}
        ops = {o["name"]: o for o in api.get("/api/operations").json()}
        checkout_id = ops["checkout"]["id"]
        cache_id = ops["task_analyzer.analyze"]["id"]
        trend = api.get(f"/api/operations/{checkout_id}/trend", params={"step": 60}).json()
        cache_trend = api.get(f"/api/operations/{cache_id}/trend", params={"step": 60}).json()

        page = browser.new_page(viewport={"width": 1440, "height": 900})
        problems: list[str] = []
        requests: list[str] = []
        page.on(
            "console",
            lambda m: (
                problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))

        response = page.goto(f"{endpoints.http_url}/?refresh=0")
        assert response is not None
        assert response.status == 200
        assert page.title() == "Latency dashboard · mcp-agent-otel"

        # the verdict table agrees with the CI gate
        checkout_row = page.locator('#comparison tr[data-operation="shop :: checkout"]')
        assert "Regression" in checkout_row.locator("td").nth(0).inner_text()
        expected = by_op["shop :: checkout"]
        assert expected["verdict"] == "regression"
        shown_ratio = float(checkout_row.locator(".ratio").get_attribute("data-ratio") or "nan")
        assert shown_ratio == pytest.approx(expected["ratio"], rel=1e-5)
        assert 1.35 < shown_ratio < 1.65  # the 50% slowdown injected above
        ci = f"{expected['ratio_ci_low']:.2f}–{expected['ratio_ci_high']:.2f}"
        assert ci in checkout_row.inner_text()
        assert "1,500 / 900" in checkout_row.inner_text()
        search_row = page.locator('#comparison tr[data-operation="shop :: search"]')
        assert by_op["shop :: search"]["verdict"] == "no_change"
        assert "No change" in search_row.inner_text()
        first_row = page.locator("#comparison tbody tr").first
        assert first_row.get_attribute("data-operation") == "shop :: checkout"  # worst first
        tiles = page.locator(".tiles").inner_text()
        assert "Regressions\n1" in tiles

        # the latency chart plots the trend API's per-minute p50 and p95
        chart = page.locator(f"svg#latency-{checkout_id}")
        for series, key in (("p50", "p50_ms"), ("p95", "p95_ms")):
            circles = chart.locator(f'g[data-series="{series}"] circle')
            plotted = {
                float(c.get_attribute("data-t") or 0) - 30: float(
                    c.get_attribute("data-value") or 0
                )
                for c in circles.all()
            }
            api_points = {float(p["start"]): p[key] for p in trend["points"]}
            assert plotted.keys() == api_points.keys()
            for start, value in api_points.items():
                assert plotted[start] == pytest.approx(value, rel=1e-5)
        early = [p["p50_ms"] for p in trend["points"] if p["start"] < now - 1800]
        late = [p["p50_ms"] for p in trend["points"] if p["start"] > now - 1600]
        assert 17 < float(np.median(early)) < 23
        assert 26 < float(np.median(late)) < 34
        band = chart.locator("g.band")
        low, high = (float(band.get_attribute(a) or 0) for a in ("data-low", "data-high"))
        assert low == pytest.approx(np.quantile(base_checkout, 0.5), rel=0.02)
        assert high == pytest.approx(np.quantile(base_checkout, 0.95), rel=0.02)
        assert chart.locator("g.marker").count() >= 1  # the alert, on the chart
        labelled = chart.get_attribute("aria-labelledby") or ""
        assert chart.locator("title").first.inner_html() == "Latency of shop :: checkout over time"
        assert len(labelled.split()) == 2

        # cache hit rate from the mcp_agent.cache.hit attributes sent
        hits = int(hits_1.sum() + hits_2.sum())
        cache_card = page.locator(f'article[aria-labelledby="cache-{cache_id}-h"]')
        assert f"{hits:,} hits, {1200 - hits:,} misses" in cache_card.inner_text()
        rates = {
            float(c.get_attribute("data-t") or 0) - 30: float(c.get_attribute("data-value") or 0)
            for c in page.locator(f'svg#cache-{cache_id} g[data-series="hit-rate"] circle').all()
        }
        assert rates == pytest.approx(
            {float(p["start"]): p["cache_hit_rate"] for p in cache_trend["points"]}, rel=1e-5
        )

        # the alert, with the slow trace in Jaeger
        alert = page.locator("ol.alerts li").filter(has_text="checkout").first
        assert "Regression: checkout" in alert.inner_text()
        assert "against baseline v1" in alert.inner_text()
        href = alert.locator("a.trace-link").get_attribute("href") or ""
        assert href.startswith(f"{JAEGER}/trace/")
        assert href.rsplit("/", 1)[1] in slow_ids

        # the hostile name is text, nothing ran, nothing was injected
        hostile_row = page.locator("#comparison tbody th").filter(has_text="onerror")
        assert HOSTILE in hostile_row.inner_text()
        assert page.evaluate("document.querySelectorAll('img, script').length") == 0
        assert page.evaluate(
            "[...document.querySelectorAll('th')].every(th => ['col', 'row'].includes(th.scope))"
        )

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

        # the operation's own page, through the link in the table
        checkout_row.locator("th a").click()
        page.wait_for_load_state()
        assert f"/dashboard/operations/{checkout_id}" in page.url
        assert page.locator("h2.op-title").inner_text().startswith("checkout")
        failed = page.locator("#failed a.trace-link")
        assert failed.count() == 3
        assert {(a.get_attribute("href") or "").rsplit("/", 1)[1] for a in failed.all()} == (
            error_ids
        )
        assert "Regression" in page.locator(".panel").filter(has_text="Verdict").inner_text()
        page.screenshot(path=str(ARTIFACTS / "dashboard-operation.png"), full_page=True)

        # the default page refreshes itself
        page.goto(f"{endpoints.http_url}/")
        assert page.locator('meta[http-equiv="refresh"]').get_attribute("content") == "30"

        assert problems == []
        outside = [u for u in requests if not u.startswith(endpoints.http_url)]
        assert outside == []
