"""Regression alerts and where they go: a structured log line, a webhook, and the store/API.

Sinks never block ingest and never raise into it. The webhook sink posts from one background
thread fed by a bounded queue: when the receiver is slow or hangs, alerts queue up to the
bound and the rest are dropped and counted, while ingest goes on at full speed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any, Protocol

from mcp_agent_otel.autonomous.models import Model
from mcp_agent_otel.regression.operation import OperationKey

ALERT_LOGGER = "mcp_agent_otel.regression.alerts"
WEBHOOK_EVENT = "mcp_agent_otel.regression.regression"

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Alert(Model):
    """One regression the live detector found (one per regression: the detector cools down)."""

    created: float  # unix seconds
    service: str
    name: str
    baseline: str
    estimated_ratio: float  # candidate / baseline duration, e.g. 1.25 for 25% slower
    statistic: float
    baseline_median_ms: float
    span_index: int  # how many spans of the operation the detector had seen
    message: str
    version: str = ""
    environment: str = ""
    trace_id: str = ""  # an exemplar: the slowest span of the batch that raised the alert
    id: int | None = None

    @property
    def operation(self) -> str:
        return OperationKey(self.service, self.name).label


class AlertSink(Protocol):
    def send(self, alert: Alert) -> None: ...

    def close(self) -> None: ...


class LogSink:
    """Writes each alert as one JSON line through ``logging`` (logger ``ALERT_LOGGER``)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(ALERT_LOGGER)

    def send(self, alert: Alert) -> None:
        payload = {"event": WEBHOOK_EVENT, **alert.to_dict()}
        self.logger.warning(json.dumps(payload, sort_keys=True, separators=(",", ":")))

    def close(self) -> None:
        return None


@dataclasses.dataclass
class WebhookStats:
    queued: int = 0
    delivered: int = 0
    failed: int = 0  # gave up after the retries
    dropped: int = 0  # the queue was full
    attempts: int = 0

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


_STOP = object()


class WebhookSink:
    """JSON POST of each alert to ``url``, retried with exponential backoff, off the hot path."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        queue_size: int = 1000,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL {url!r} must start with http:// or https://")
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.stats = WebhookStats()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="analyzer-webhook", daemon=True)
        self._thread.start()

    def send(self, alert: Alert) -> None:
        if self._stop.is_set():  # closed: nobody would deliver it
            with self._lock:
                self.stats.dropped += 1
            return
        body = json.dumps({"event": WEBHOOK_EVENT, "alert": alert.to_dict()}).encode()
        try:
            self._queue.put_nowait(body)
        except queue.Full:
            with self._lock:
                self.stats.dropped += 1
            return
        with self._lock:
            self.stats.queued += 1

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            delivered = self._deliver(item)
            with self._lock:
                if delivered:
                    self.stats.delivered += 1
                else:
                    self.stats.failed += 1

    def _deliver(self, body: bytes) -> bool:
        for attempt in range(self.retries + 1):
            if self._stop.is_set():
                return False
            with self._lock:
                self.stats.attempts += 1
            request = urllib.request.Request(self.url, data=body, headers=self.headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    if 200 <= response.status < 300:
                        return True
            except urllib.error.HTTPError as exc:
                if 400 <= exc.code < 500 and exc.code not in (408, 429):
                    _log.warning("webhook %s refused an alert: HTTP %s", self.url, exc.code)
                    return False
            except (OSError, ValueError) as exc:  # URLError, timeouts, resets
                _log.debug("webhook %s attempt %d failed: %s", self.url, attempt + 1, exc)
            if attempt < self.retries:
                delay = min(self.backoff * 2**attempt, self.max_backoff)
                if self._stop.wait(delay):
                    return False
        _log.warning(
            "webhook %s: alert not delivered after %d attempts", self.url, self.retries + 1
        )
        return False

    def close(self, timeout: float = 2.0) -> None:
        """Stop the worker: pending alerts are given up to ``timeout`` seconds, then dropped."""
        deadline = time.monotonic() + timeout
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        self._stop.set()
        # Give up what is still queued, so that the stop marker always finds room: with a full
        # queue it could not be put, and the worker would wait in get() forever.
        given_up = 0
        with contextlib.suppress(queue.Empty):
            while True:
                if self._queue.get_nowait() is not _STOP:
                    given_up += 1
        with self._lock:
            self.stats.failed += given_up
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_STOP)
        self._thread.join(max(deadline - time.monotonic(), 0.05))


class AlertFanout:
    """Sends an alert to every sink; a failing sink is logged and never breaks the caller."""

    def __init__(self, sinks: Iterable[AlertSink] = ()) -> None:
        self.sinks = list(sinks)

    def send(self, alert: Alert) -> None:
        for sink in self.sinks:
            try:
                sink.send(alert)
            except Exception:
                _log.exception("alert sink %s failed", type(sink).__name__)

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:
                _log.debug("alert sink %s failed to close", type(sink).__name__, exc_info=True)

    def webhook_stats(self) -> dict[str, int]:
        for sink in self.sinks:
            if isinstance(sink, WebhookSink):
                return sink.stats.to_dict()
        return {}
