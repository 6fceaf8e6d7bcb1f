"""The dashboard's routes on a real analyzer on loopback: spans arrive as real OTLP/HTTP
requests, the pages are fetched over HTTP. Bad query parameters get a clear 400 page (and the
process stays up), a token-protected analyzer asks a browser for the token once, and the
pages carry a no-script Content-Security-Policy."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from mcp_agent_otel.regression.baselines import Selector
from mcp_agent_otel.regression.runtime import RegressionAnalyzer

from .loopback import running_analyzer
from .otlp_builders import lognormal_ms, request

PB = {"content-type": "application/x-protobuf"}
JAEGER = "http://jaeger.test:16686"


@pytest.fixture
def server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RegressionAnalyzer, httpx.Client]]:
    monkeypatch.setenv("MCP_AGENT_OTEL_JAEGER_URL", JAEGER)
    with (
        running_analyzer(tmp_path) as (analyzer, endpoints),
        httpx.Client(base_url=endpoints.http_url, timeout=30) as client,
    ):
        yield analyzer, client


def _send(client: httpx.Client, durations: np.ndarray, **options: object) -> None:
    body = request(durations, **options).SerializeToString()  # type: ignore[arg-type]
    response = client.post("/v1/traces", content=body, headers=PB)
    assert response.status_code == 200, response.text


def _minutes_ago(minutes: float) -> int:
    return time.time_ns() - int(minutes * 60e9)


def test_empty_store_page(server: tuple[RegressionAnalyzer, httpx.Client]) -> None:
    _, client = server
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "No spans in the last 1h" in r.text
    assert f"{client.base_url}/v1/traces".replace("//v1", "/v1") in r.text
    # the JSON pointer that used to live at / moved to /api
    assert client.get("/api").json()["dashboard"] == "/"


def test_page_shows_the_spans_sent(server: tuple[RegressionAnalyzer, httpx.Client]) -> None:
    analyzer, client = server
    base = lognormal_ms(600, 20.0, 0.4, seed=1)
    _send(client, base, names="checkout", version="1.0", end_ns=_minutes_ago(40))
    _send(
        client,
        lognormal_ms(400, 3.0, 0.3, seed=2),
        names="task_analyzer.analyze",
        version="1.0",
        end_ns=_minutes_ago(40),
        cache={i: i % 4 != 0 for i in range(400)},  # 300 hits, 100 misses
    )
    analyzer.create_baseline("v1", Selector(version="1.0"))
    slow = lognormal_ms(600, 30.0, 0.4, seed=3)
    _send(client, slow, names="checkout", version="2.0", end_ns=_minutes_ago(5), errors=[0, 1])

    response = client.get("/", params={"refresh": "0"})
    assert response.headers["content-encoding"] == "gzip"  # httpx asked for it
    assert response.num_bytes_downloaded < len(response.content) / 3
    page = response.text
    assert '<meta http-equiv="refresh"' not in page
    assert "comparing version <strong>2.0</strong>" in page
    row = re.search(r'<tr class="row-regression" data-operation="svc :: checkout">.*?</tr>', page)
    assert row is not None, "checkout is not flagged as a regression"
    ratio = float(re.search(r'data-ratio="([0-9.]+)"', row.group(0)).group(1))  # type: ignore[union-attr]
    assert ratio == pytest.approx(1.5, rel=0.08)
    assert "600 / 600" in row.group(0)  # durations compared per side
    assert "1,200 spans" in row.group(0)  # both versions are in the window
    # the slowest span's trace opens in Jaeger
    link = re.search(rf'href="{JAEGER}/trace/([0-9a-f]{{32}})"', row.group(0))
    assert link is not None
    # cache hit rate from mcp_agent.cache.hit
    assert "hit rate <b>75%</b>" in page
    assert "300 hits, 100 misses" in page
    # the detail page
    op_id = int(re.search(r'href="/dashboard/operations/(\d+)\?', row.group(0)).group(1))  # type: ignore[union-attr]
    detail = client.get(f"/dashboard/operations/{op_id}", params={"refresh": "0"})
    assert detail.status_code == 200
    assert "Latest failed spans" in detail.text
    assert detail.text.count(f'href="{JAEGER}/trace/') >= 3 + 2  # slowest 3 + failed 2
    change = re.search(r"<dt>Change</dt><dd>([0-9.]+)×", detail.text)
    assert change is not None
    assert float(change.group(1)) == pytest.approx(ratio, abs=0.006)
    assert 'data-verdict="regression"' in detail.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"window": "2y"}, "window &#39;2y&#39; is not one of 15m, 1h, 6h, 24h, 7d"),
        ({"refresh": "-1"}, "refresh -1 is not between 0 (off) and 3600 seconds"),
        ({"version": "9.9"}, "no stored spans have service.version &#39;9.9&#39;"),
    ],
)
def test_bad_parameters_get_a_clear_page(
    server: tuple[RegressionAnalyzer, httpx.Client], params: dict[str, str], message: str
) -> None:
    analyzer, client = server
    _send(client, lognormal_ms(30, 5.0, 0.3, seed=4), names="op")
    r = client.get("/", params=params)
    assert r.status_code == 400
    assert message in r.text
    assert 'href="/"' in r.text
    assert client.get("/").status_code == 200  # still up, data intact
    assert analyzer.operations(since=0)[0]["count"] == 30


def test_unknown_operation_and_empty_window(
    server: tuple[RegressionAnalyzer, httpx.Client],
) -> None:
    _, client = server
    assert client.get("/dashboard/operations/999").status_code == 404
    assert "no operation with id 999" in client.get("/dashboard/operations/999").text
    _send(client, lognormal_ms(10, 5.0, 0.3, seed=5), names="old", end_ns=_minutes_ago(30))
    r = client.get("/dashboard/operations/1", params={"window": "15m"})
    assert r.status_code == 404
    assert "has no spans in the last 15m" in r.text
    assert client.get("/dashboard/operations/1", params={"window": "1h"}).status_code == 200


def test_token_protected_dashboard(tmp_path: Path) -> None:
    with (
        running_analyzer(tmp_path, token="s3cret") as (_, endpoints),
        httpx.Client(base_url=endpoints.http_url, timeout=30) as client,
    ):
        r = client.get("/")
        assert r.status_code == 401
        assert 'type="password"' in r.text
        assert "No spans" not in r.text  # nothing of the data before the token
        wrong = client.post("/dashboard/login", data={"token": "nope"})
        assert wrong.status_code == 401
        assert "not the token this analyzer was started with" in wrong.text
        assert client.post("/dashboard/login", content=b"x" * 5000).status_code == 413
        ok = client.post("/dashboard/login", data={"token": "s3cret"})
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie.replace("Strict", "strict")
        assert client.get("/").status_code == 200  # the cookie is sent back
        fresh = httpx.get(
            f"{endpoints.http_url}/", headers={"Authorization": "Bearer s3cret"}, timeout=30
        )
        assert fresh.status_code == 200
        assert httpx.get(f"{endpoints.http_url}/api/operations", timeout=30).status_code == 401


def test_charts_stay_inside_the_window(server: tuple[RegressionAnalyzer, httpx.Client]) -> None:
    """Spans ending in the future (clock skew, accepted up to an hour ahead) or before the
    window are not drawn outside the plot."""
    _, client = server
    _send(client, lognormal_ms(20, 5.0, 0.3, seed=6), names="skewed", end_ns=_minutes_ago(-30))
    _send(client, lognormal_ms(20, 5.0, 0.3, seed=7), names="skewed", end_ns=_minutes_ago(3))
    _send(client, lognormal_ms(20, 5.0, 0.3, seed=8), names="skewed", end_ns=_minutes_ago(90))
    page = client.get("/", params={"refresh": "0"}).text
    times = [float(t) for t in re.findall(r'<circle [^>]*data-t="(\d+)"', page)]
    now = time.time()
    assert len(times) == 2  # p50 and p95 of the one minute inside the window
    assert all(now - 3600 - 60 <= t <= now + 60 for t in times)
    assert "20 spans" in page
