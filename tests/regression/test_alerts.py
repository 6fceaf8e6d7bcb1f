"""Alert sinks: the structured log line, and the webhook (delivery, retries, a hanging receiver)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pytest

from mcp_agent_otel.regression.alerts import ALERT_LOGGER, Alert, AlertFanout, LogSink, WebhookSink
from mcp_agent_otel.regression.baselines import Selector
from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.runtime import RegressionAnalyzer

from .loopback import WebhookReceiver
from .otlp_builders import lognormal_ms, request

ALERT = Alert(
    created=1.0,
    service="svc",
    name="tools/call add",
    baseline="v1",
    estimated_ratio=1.25,
    statistic=42.0,
    baseline_median_ms=10.0,
    span_index=300,
    message="latency up about 25%",
    version="2",
)


def _wait(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_log_sink_writes_one_json_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=ALERT_LOGGER):
        LogSink().send(ALERT)
    (record,) = caplog.records
    payload = json.loads(record.getMessage())
    assert payload["event"] == "mcp_agent_otel.regression.regression"
    assert payload["name"] == "tools/call add"
    assert payload["estimated_ratio"] == 1.25
    assert Alert.from_dict({k: v for k, v in payload.items() if k != "event"}) == ALERT


def test_webhook_delivers_json_and_retries_server_errors() -> None:
    with WebhookReceiver(fail_first=2) as receiver:
        sink = WebhookSink(receiver.url, retries=3, backoff=0.01)
        sink.send(ALERT)
        _wait(lambda: sink.stats.delivered == 1)
        sink.close()
    assert receiver.attempts == 3
    assert receiver.received[0]["event"] == "mcp_agent_otel.regression.regression"
    assert Alert.from_dict(receiver.received[0]["alert"]) == ALERT
    assert sink.stats.to_dict() == {
        "queued": 1,
        "delivered": 1,
        "failed": 0,
        "dropped": 0,
        "attempts": 3,
    }


def test_webhook_gives_up_after_the_retries() -> None:
    with WebhookReceiver(fail_first=100) as receiver:
        sink = WebhookSink(receiver.url, retries=2, backoff=0.01)
        sink.send(ALERT)
        _wait(lambda: sink.stats.failed == 1)
        sink.close()
    assert receiver.attempts == 3


def test_a_hanging_webhook_never_blocks_the_sender() -> None:
    with WebhookReceiver(hang=True) as receiver:
        sink = WebhookSink(receiver.url, timeout=30.0, queue_size=5)
        start = time.monotonic()
        for _ in range(50):
            sink.send(ALERT)
        elapsed = time.monotonic() - start
        _wait(lambda: receiver.attempts == 1)
        closing = time.monotonic()
        sink.close(timeout=0.5)
        assert time.monotonic() - closing < 5.0  # shutdown is bounded too
    # One in flight, five queued, the rest dropped and counted; the sender never waited.
    assert sink.stats.dropped >= 44
    assert sink.stats.queued + sink.stats.dropped == 50
    assert elapsed < 5.0, f"send() blocked for {elapsed:.1f}s on a hanging webhook"


def test_closing_with_a_full_queue_stops_the_worker() -> None:
    """The worker is stuck on a hanging receiver and the queue is full when the sink closes:
    the queued alerts are given up (counted as failed) and, once the receiver lets go, the
    worker thread ends instead of waiting for more alerts forever."""
    with WebhookReceiver(hang=True) as receiver:
        sink = WebhookSink(receiver.url, timeout=30.0, queue_size=3)
        sink.send(ALERT)
        _wait(lambda: receiver.attempts == 1)  # in flight, hanging
        for _ in range(5):
            sink.send(ALERT)  # three queued, two dropped
        sink.close(timeout=0.2)
        sink.send(ALERT)  # after close: dropped, never queued
    sink._thread.join(10.0)
    assert not sink._thread.is_alive()
    assert sink.stats.to_dict() == {
        "queued": 4,
        "delivered": 0,
        "failed": 4,
        "dropped": 3,
        "attempts": 1,
    }


def test_a_hanging_webhook_does_not_slow_ingest(tmp_path: Path) -> None:
    """Alerts raised on the ingest path go to a webhook that never answers; ingest goes on at
    its own pace (the same work with and without the webhook, measured in the same run)."""

    def run(sink_url: str | None, db: str) -> tuple[float, int, dict[str, int]]:
        config = AnalyzerConfig(
            db_path=tmp_path / db,
            detector_cooldown=0,
            webhook_url=sink_url,
            webhook_timeout_seconds=30.0,
            webhook_queue_size=2,
        )
        analyzer = RegressionAnalyzer(config, background=False)  # LogSink + WebhookSink (if url)
        analyzer.ingestor.ingest(request(lognormal_ms(2_000, 10.0, 0.3, 1), names="x", version="1"))
        analyzer.create_baseline("v1", Selector(version="1"))
        start = time.monotonic()
        for step in range(1, 9):  # each batch 30% slower than the last: one alert each
            slow = lognormal_ms(400, 10.0 * 1.3**step, 0.3, step)
            analyzer.ingestor.ingest(request(slow, names="x", version="2"))
        elapsed = time.monotonic() - start
        alerts = len(analyzer.recent_alerts(limit=1000))
        stats = analyzer.alerts.webhook_stats()
        close_start = time.monotonic()
        analyzer.close()
        assert time.monotonic() - close_start < 10.0
        return elapsed, alerts, stats

    with WebhookReceiver(hang=True) as receiver:
        hanging, alerts, stats = run(receiver.url, "hang.db")
    plain, plain_alerts, _ = run(None, "plain.db")
    assert alerts == plain_alerts >= 5
    assert stats["queued"] + stats["dropped"] == alerts
    assert stats["delivered"] == 0
    print(f"\ningest with a hanging webhook: {hanging:.3f}s, without: {plain:.3f}s")
    # A blocked ingest would wait out the 30 s webhook timeout at least once.
    assert hanging < plain + 5.0


def test_a_failing_sink_never_breaks_the_fanout(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def send(self, alert: Alert) -> None:
            raise RuntimeError("sink bug")

        def close(self) -> None:
            raise RuntimeError("close bug")

    received: list[Alert] = []

    class Recording:
        def send(self, alert: Alert) -> None:
            received.append(alert)

        def close(self) -> None:
            return None

    fanout = AlertFanout([Broken(), Recording()])
    fanout.send(ALERT)
    fanout.close()
    assert received == [ALERT]
    assert "alert sink Broken failed" in caplog.text


def test_webhook_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="must start with http"):
        WebhookSink("ftp://example.invalid/hook")


def test_alert_round_trips_through_json() -> None:
    assert Alert.from_json(ALERT.to_json()) == ALERT
    assert ALERT.operation == "svc :: tools/call add"
    assert np.isfinite(ALERT.estimated_ratio)
