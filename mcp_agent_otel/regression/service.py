"""Running the analyzer: the HTTP server (OTLP/HTTP + API, uvicorn) and the OTLP/gRPC server.

``serve`` runs in the foreground until SIGINT/SIGTERM and flushes on the way out.
``AnalyzerServer`` runs both servers in background threads (tests, benchmarks, embedding);
port 0 binds a free port, and ``endpoints`` says which.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

import grpc
import uvicorn

from mcp_agent_otel.regression.api import create_app
from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.receiver_grpc import create_server
from mcp_agent_otel.regression.runtime import RegressionAnalyzer

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Endpoints:
    host: str
    http_port: int
    grpc_port: int

    @property
    def http_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.grpc_port}"


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another port "
            "with --http-port, or stop what is using it"
        ) from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _uvicorn(analyzer: RegressionAnalyzer, host: str) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(analyzer, bind_host=host),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        server_header=False,
    )
    return uvicorn.Server(config)


class AnalyzerServer:
    """Both receivers and the API around ``analyzer``, served from background threads."""

    def __init__(
        self,
        analyzer: RegressionAnalyzer,
        host: str = "127.0.0.1",
        http_port: int = 0,
        grpc_port: int = 0,
    ) -> None:
        self.analyzer = analyzer
        self.host = host
        self._requested = (http_port, grpc_port)
        self._http: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._grpc: grpc.Server | None = None
        self.endpoints: Endpoints | None = None

    def start(self, timeout: float = 15.0) -> Endpoints:
        sock = bind_socket(self.host, self._requested[0])
        http_port = int(sock.getsockname()[1])
        self._grpc, grpc_port = create_server(
            self.analyzer.ingestor, self.analyzer.tokens, f"{self.host}:{self._requested[1]}"
        )
        self._grpc.start()
        self._http = _uvicorn(self.analyzer, self.host)
        server = self._http
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="analyzer-http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("the analyzer's HTTP server did not start")
            time.sleep(0.01)
        self.endpoints = Endpoints(self.host, http_port, grpc_port)
        return self.endpoints

    def stop(self) -> None:
        if self._http is not None:
            self._http.should_exit = True
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None
        if self._grpc is not None:
            self._grpc.stop(grace=1.0).wait(5.0)
            self._grpc = None

    def __enter__(self) -> AnalyzerServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def serve(
    config: AnalyzerConfig,
    *,
    host: str = "127.0.0.1",
    http_port: int = 4418,
    grpc_port: int = 4417,
    on_ready: Callable[[Endpoints], None] | None = None,
) -> None:
    """Serve in the foreground until interrupted; pending data is flushed on the way out."""
    sock = bind_socket(host, http_port)
    analyzer = RegressionAnalyzer(config)
    grpc_server: grpc.Server | None = None
    # uvicorn re-raises the signal it stopped on: let SIGTERM unwind (and flush) like SIGINT.
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        grpc_server, bound_grpc = create_server(
            analyzer.ingestor, analyzer.tokens, f"{host}:{grpc_port}"
        )
        grpc_server.start()
        endpoints = Endpoints(host, int(sock.getsockname()[1]), bound_grpc)
        if on_ready is not None:
            on_ready(endpoints)
        _uvicorn(analyzer, host).run(sockets=[sock])
    finally:
        if grpc_server is not None:
            grpc_server.stop(grace=1.0).wait(5.0)
        analyzer.close()
        sock.close()
        signal.signal(signal.SIGTERM, previous)
