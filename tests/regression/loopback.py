"""Real servers on 127.0.0.1 for the analyzer's tests: the analyzer itself, and a webhook
receiver that can answer, fail, or hang."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mcp_agent_otel.regression.alerts import AlertSink
from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.regression.service import AnalyzerServer, Endpoints


@contextlib.contextmanager
def running_analyzer(
    tmp_path: Path, sinks: list[AlertSink] | None = None, **changes: Any
) -> Iterator[tuple[RegressionAnalyzer, Endpoints]]:
    """An analyzer with its HTTP and gRPC servers on free loopback ports."""
    config = AnalyzerConfig(db_path=tmp_path / "analyzer.db").with_changes(**changes)
    analyzer = RegressionAnalyzer(config, sinks=sinks if sinks is not None else [])
    server = AnalyzerServer(analyzer, host="127.0.0.1", http_port=0, grpc_port=0)
    endpoints = server.start()
    try:
        yield analyzer, endpoints
    finally:
        server.stop()
        analyzer.close()


class WebhookReceiver:
    """Records JSON POSTs. ``fail_first`` requests get HTTP 500; with ``hang`` set, requests
    wait (without answering) until the receiver is stopped."""

    def __init__(self, *, fail_first: int = 0, hang: bool = False) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail_first = fail_first
        self.hang = hang
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.attempts += 1
                if receiver.hang:
                    receiver._release.wait(60)
                    return
                if receiver.attempts <= receiver.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
