"""Fault-injection tools: the analyzer as its own process, OTLP load from client threads over
HTTP and gRPC that counts what the server acknowledged, and a count of what was stored.

Everything is real: ``mcp-agent-otel analyzer serve`` on loopback (ephemeral ports), real
SQLite, raw HTTP/1.1 keep-alive connections and grpcio channels. Used by the fault tests
(short loads) and by the kill -9 benchmark (long loads).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from mcp_agent_otel.regression.store import Store

SPANS_PER_REQUEST = 256
GRPC_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def export_body(seed: int, spans: int = SPANS_PER_REQUEST, operations: int = 8) -> bytes:
    """One export request of ``spans`` valid spans (ending now) over ``operations`` names."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = "fault-svc"
    rs.resource.attributes.add(key="service.version").value.string_value = "1"
    ss = rs.scope_spans.add()
    now = time.time_ns()
    for i in range(spans):
        span = ss.spans.add()
        span.trace_id = (seed * 100_003 + i + 1).to_bytes(16, "big")
        span.span_id = (i + 1).to_bytes(8, "big")
        span.name = f"fault.op{i % operations}"
        span.start_time_unix_nano = now - 1_000_000 * (1 + i % 50)
        span.end_time_unix_nano = now
    return req.SerializeToString()


@dataclasses.dataclass
class Server:
    process: subprocess.Popen[str]
    http_url: str
    grpc_target: str
    db: Path

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def terminate(self) -> tuple[int, str]:
        """SIGTERM and wait; (exit code, stderr)."""
        self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=60)
        return self.process.returncode, err


def start_server(db: Path, env: dict[str, str] | None = None) -> Server:
    exe = str(Path(sys.executable).parent / "mcp-agent-otel")
    process = subprocess.Popen(
        [exe, "analyzer", "serve", "--http-port", "0", "--grpc-port", "0", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("analyzer: OTLP/HTTP + API on "):
        process.kill()
        _, err = process.communicate(timeout=30)
        raise RuntimeError(f"the analyzer did not start: {line!r} {err[-2000:]}")
    http_url = line.split(" on ", 1)[1].split(" ", 1)[0]
    grpc_target = line.split("OTLP/gRPC on ", 1)[1].split(",", 1)[0]
    return Server(process, http_url, grpc_target, db)


@dataclasses.dataclass
class Load:
    """Client threads exporting until ``stop``; ``acknowledged`` spans got 200/OK."""

    acknowledged: int = 0
    refused: int = 0  # requests answered 503 / UNAVAILABLE (to be retried, not acknowledged)
    other: list[str] = dataclasses.field(default_factory=list)
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)
    # Set before the server is killed: errors from then on are the kill, not a fault.
    killing: threading.Event = dataclasses.field(default_factory=threading.Event)
    threads: list[threading.Thread] = dataclasses.field(default_factory=list)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def ack(self, spans: int) -> None:
        with self._lock:
            self.acknowledged += spans

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


def _http_client(load: Load, url: str, bodies: list[bytes], k: int) -> None:
    parsed = urllib.parse.urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    frames = [
        (
            f"POST /v1/traces HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/x-protobuf\r\nContent-Length: {len(b)}\r\n\r\n"
        ).encode()
        + b
        for b in bodies
    ]
    i = k
    try:
        with socket.create_connection((host, port)) as sock, sock.makefile("rb") as stream:
            while not load.stop.is_set():
                sock.sendall(frames[i % len(frames)])
                i += 1
                status = stream.readline()
                if not status:
                    return
                length = 0
                while (line := stream.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                content = stream.read(length)
                if b" 200 " in status and not content:
                    load.ack(SPANS_PER_REQUEST)
                elif b" 503 " in status:
                    with load._lock:
                        load.refused += 1
                    time.sleep(0.05)
                elif not load.killing.is_set():
                    load.other.append(f"{status!r} {content[:200]!r}")
    except OSError:
        return  # the server went away


def _grpc_client(load: Load, target: str, bodies: list[bytes], k: int) -> None:
    with grpc.insecure_channel(target) as channel:
        export = channel.unary_unary(GRPC_METHOD)
        i = k
        while not load.stop.is_set():
            try:
                export(bodies[i % len(bodies)], timeout=30)
            except grpc.RpcError as exc:
                code = exc.code()
                if load.killing.is_set():
                    return  # the server is being killed: whatever the error says
                if code == grpc.StatusCode.UNAVAILABLE:
                    with load._lock:
                        load.refused += 1
                    if "spool" not in (exc.details() or "") and "store" not in (
                        exc.details() or ""
                    ):
                        return  # the server went away
                    time.sleep(0.05)
                    continue
                load.other.append(f"{code} {exc.details()}")
                return
            load.ack(SPANS_PER_REQUEST)
            i += 1


def start_load(server: Server, protocol: str, clients: int = 3) -> Load:
    load = Load()
    bodies = [export_body(seed) for seed in range(8)]
    for k in range(clients):
        if protocol == "http":
            args: tuple[object, ...] = (load, server.http_url, bodies, k)
            target = _http_client
        else:
            args = (load, server.grpc_target, bodies, k)
            target = _grpc_client  # type: ignore[assignment]
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        load.threads.append(thread)
    return load


def stored_spans(db: Path) -> int:
    """Spans the database holds (the sum of its bucket counts)."""
    store = Store(db)
    try:
        return sum(row.aggregate.count for row in store.bucket_rows())
    finally:
        store.close()


def kill9_under_load(tmp: Path, protocol: str, seconds: float, clients: int = 3) -> tuple[int, int]:
    """Export for ``seconds``, kill -9 the analyzer, start it again (it replays its spool), stop
    it cleanly; (acknowledged spans, stored spans)."""
    tmp.mkdir(parents=True, exist_ok=True)
    db = tmp / "analyzer.db"
    server = start_server(db)
    load = start_load(server, protocol, clients)
    time.sleep(seconds)
    load.killing.set()
    server.kill9()
    load.join()
    assert not load.other, load.other[:3]
    again = start_server(db)
    code, err = again.terminate()
    assert code in (0, 128 + signal.SIGTERM, -signal.SIGTERM), err
    return load.acknowledged, stored_spans(db)
