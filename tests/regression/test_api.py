"""The HTTP API on loopback: operations, trends, baselines, comparisons, alerts, stats."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mcp_agent_otel.regression.runtime import RegressionAnalyzer

from .loopback import running_analyzer
from .otlp_builders import lognormal_ms, request

PB = {"content-type": "application/x-protobuf"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[RegressionAnalyzer, httpx.Client]]:
    """An analyzer holding version 1.0 and a version 2.0 that is 25% slower on 'slow'."""
    with (
        running_analyzer(tmp_path) as (analyzer, endpoints),
        httpx.Client(base_url=endpoints.http_url, timeout=30) as client,
    ):
        for version, factor, seed in (("1.0", 1.0, 1), ("2.0", 1.25, 2)):
            for name, seed_offset in (("slow", 0), ("same", 10)):
                durations = lognormal_ms(1_200, 10.0, 0.5, seed + seed_offset)
                if name == "slow":
                    durations = durations * factor
                body = request(durations, names=name, version=version, environment="ci")
                r = client.post("/v1/traces", content=body.SerializeToString(), headers=PB)
                assert r.status_code == 200
        yield analyzer, client


def test_operations_list_counts_and_quantiles(api) -> None:  # type: ignore[no-untyped-def]
    _, client = api
    ops = client.get("/api/operations").json()
    assert [(o["name"], o["count"]) for o in ops] == [("same", 2_400), ("slow", 2_400)]
    assert ops[0]["versions"] == ["1.0", "2.0"]
    assert 8.0 < ops[0]["p50_ms"] < 12.0
    assert ops[0]["p50_ms"] < ops[0]["p95_ms"] < ops[0]["p99_ms"]
    only_v1 = client.get("/api/operations", params={"version": "1.0"}).json()
    assert only_v1[0]["count"] == 1_200
    assert client.get("/api/operations", params={"service": "nobody"}).json() == []


def test_trend_per_step(api) -> None:  # type: ignore[no-untyped-def]
    _, client = api
    op_id = client.get("/api/operations").json()[0]["id"]
    trend = client.get(f"/api/operations/{op_id}/trend", params={"step": 3600}).json()
    assert trend["name"] == "same"
    assert sum(p["count"] for p in trend["points"]) == 2_400
    point = trend["points"][-1]
    assert point["start"] % 3600 == 0
    assert len(point["exemplars"]["slow"][0]["trace_id"]) == 32
    assert client.get("/api/operations/999999/trend").status_code == 404
    bad = client.get(f"/api/operations/{op_id}/trend", params={"since": "yesterday-ish"})
    assert bad.status_code == 400
    assert "is not a time" in bad.json()["detail"]


def test_baselines_crud_and_comparisons(api) -> None:  # type: ignore[no-untyped-def]
    _, client = api
    r = client.post("/api/baselines", json={"name": "v1", "version": "1.0"})
    assert r.status_code == 201
    assert (r.json()["operations"], r.json()["spans"]) == (2, 2_400)
    assert client.post("/api/baselines", json={"name": "v2", "version": "2.0"}).status_code == 201
    assert client.post("/api/baselines", json={"name": "v1", "version": "1.0"}).status_code == 409
    assert [b["name"] for b in client.get("/api/baselines").json()] == ["v1", "v2"]
    assert client.get("/api/baselines/v2").json()["source"] == {"version": "2.0"}

    # baseline vs candidate version: one regression, named
    report = client.post(
        "/api/comparisons", json={"baseline": "v1", "candidate": {"version": "2.0"}}
    ).json()
    assert (report["verdict"], report["exit_code"]) == ("regression", 1)
    verdicts = {c["operation"]: c["verdict"] for c in report["comparisons"]}
    assert verdicts == {"svc :: same": "no_change", "svc :: slow": "regression"}
    slow = next(c for c in report["comparisons"] if c["operation"] == "svc :: slow")
    assert 1.15 < slow["ratio"] < 1.35
    assert slow["ratio_ci_low"] < slow["ratio"] < slow["ratio_ci_high"]
    # what moved, as data: the centre and the tails each with its test, as the CLI shows them
    assert [t["name"] for t in slow["statistics"]] == ["median", "p95", "p99"]
    median = slow["statistics"][0]
    assert median["regressed"] is True
    assert median["ratio"] == pytest.approx(slow["ratio"])
    assert median["p_adjusted"] < report["alpha"]
    assert median["upper"] >= 1.0 + report["threshold"]
    assert (slow["design"], slow["baseline_runs"], slow["candidate_runs"]) == ("independent", 1, 1)
    assert slow["run_noise"] is None
    assert (report["pass_confidence"], report["metric"]) == (0.85, "wall")

    # baseline vs baseline, and the reverse direction is an improvement
    back = client.post("/api/comparisons", json={"baseline": "v2", "candidate": {"baseline": "v1"}})
    assert back.json()["verdict"] == "pass"
    assert {c["verdict"] for c in back.json()["comparisons"]} == {"no_change", "improvement"}

    # baseline vs a time range (everything ingested in the last hour: both versions)
    ranged = client.post(
        "/api/comparisons",
        json={"baseline": "v1", "candidate": {"since": "-1h", "until": "now"}},
    ).json()
    assert ranged["candidate"].count("..") == 1

    # baseline vs posted durations (what `check --candidate-file --url` sends)
    posted = client.post(
        "/api/comparisons",
        json={
            "baseline": "v1",
            "candidate": {
                "operations": [
                    {
                        "service": "svc",
                        "name": "same",
                        "durations_ms": lognormal_ms(30, 10, 0.5, 5).tolist(),
                    }
                ]
            },
            "min_samples": 50,
        },
    ).json()
    assert (posted["verdict"], posted["exit_code"]) == ("inconclusive", 2)
    assert posted["comparisons"][0]["required_n"] >= 50
    assert posted["only_in_baseline"] == ["svc :: slow"]

    assert client.delete("/api/baselines/v2").json() == {"deleted": "v2"}
    assert client.delete("/api/baselines/v2").status_code == 404
    missing = client.post(
        "/api/comparisons", json={"baseline": "v2", "candidate": {"version": "2.0"}}
    )
    assert missing.status_code == 404
    assert "no baseline named 'v2'" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"name": "bad name!", "version": "1.0"}, 400, "is not allowed"),
        ({"name": "x"}, 400, "either by version"),
        ({"name": "x", "version": "1.0", "since": "-1h", "until": "now"}, 400, "not both"),
        ({"name": "x", "since": "now", "until": "-1h"}, 400, "time range is empty"),
        ({"name": "x", "version": "9.9"}, 400, "no stored spans match"),
        ({"name": "x", "since": "soon", "until": "now"}, 400, "is not a time"),
        ({"name": "x", "version": "1.0", "unknown": 1}, 422, "extra"),
    ],
)
def test_bad_baseline_requests(api, body, status, fragment) -> None:  # type: ignore[no-untyped-def]
    _, client = api
    r = client.post("/api/baselines", json=body)
    assert r.status_code == status
    assert fragment in str(r.json()["detail"])


def test_bad_comparison_requests(api) -> None:  # type: ignore[no-untyped-def]
    _, client = api
    client.post("/api/baselines", json={"name": "v1", "version": "1.0"})
    both = client.post(
        "/api/comparisons", json={"baseline": "v1", "candidate": {"baseline": "v1", "version": "2"}}
    )
    assert both.status_code == 400
    neither = client.post("/api/comparisons", json={"baseline": "v1", "candidate": {}})
    assert neither.status_code == 400
    assert (
        client.post(
            "/api/comparisons",
            json={"baseline": "v1", "candidate": {"version": "2.0"}, "threshold": -1},
        ).status_code
        == 422
    )


def test_alerts_from_live_detection(api) -> None:  # type: ignore[no-untyped-def]
    _, client = api
    client.post("/api/baselines", json={"name": "v1", "version": "1.0"})
    slower = request(lognormal_ms(800, 10.0, 0.5, 9) * 1.3, names="slow", version="3.0")
    client.post("/v1/traces", content=slower.SerializeToString(), headers=PB)
    alerts = client.get("/api/alerts").json()
    assert len(alerts) == 1
    (alert,) = alerts
    assert (alert["name"], alert["baseline"], alert["version"]) == ("slow", "v1", "3.0")
    assert alert["estimated_ratio"] > 1.1
    assert len(alert["trace_id"]) == 32
    assert client.get("/api/alerts", params={"since": str(time.time() + 60)}).json() == []
    stats = client.get("/api/stats").json()
    assert stats["alerts"] == 1
    assert stats["spans"]["accepted"] == 5_600
    assert stats["live_detectors"] >= 1
