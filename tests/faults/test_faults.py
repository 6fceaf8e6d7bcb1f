"""Fault injection against the real analyzer process: kill -9 under load, a full disk,
oversize and amplified bodies, a huge span name, a foreign Host, file modes.

Each test starts ``mcp-agent-otel analyzer serve`` on loopback (ephemeral ports) with a real
SQLite database, drives it with real OTLP clients, injects the fault, and counts: every span
that was answered 200/OK must be in the database afterwards. The loads here are short (a few
seconds); the 60 s runs are ``tests/performance/test_bench_faults.py`` (``make bench``).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import select
import socket
import sqlite3
import stat
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.regression import otlp
from tests.faults.harness import (
    GRPC_METHOD,
    SPANS_PER_REQUEST,
    export_body,
    kill9_under_load,
    start_load,
    start_server,
    stored_spans,
)
from tests.regression.loopback import running_analyzer


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_kill9_under_load_loses_no_acknowledged_span(tmp_path: Path, protocol: str) -> None:
    acknowledged, stored = kill9_under_load(tmp_path, protocol, seconds=2.0, clients=3)
    assert acknowledged > 0
    # Requests in flight at the kill (one a client) may be stored without having been
    # answered; nothing acknowledged is missing and nothing is replayed twice.
    assert acknowledged <= stored <= acknowledged + 3 * SPANS_PER_REQUEST


# --- a full disk (a small tmpfs; needs root to mount) ----------------------------------------


@contextlib.contextmanager
def _small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(directory: Path) -> Path:
    """Fill the file system to its last byte (unbuffered: nothing is left to flush)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * chunk):
                    pass
    finally:
        os.close(fd)
    return filler


def _wait_for(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition was not met in time"
        time.sleep(0.1)


def _health(url: str) -> tuple[int, dict[str, object]]:
    response = httpx.get(f"{url}/health", timeout=30)
    return response.status_code, response.json()


def test_full_disk_answers_retry_and_loses_nothing_then_recovers(tmp_path: Path) -> None:
    with _small_tmpfs(tmp_path / "disk", "24m") as disk:
        server = start_server(disk / "analyzer.db")
        load = start_load(server, "http", clients=3)
        try:
            _wait_for(lambda: load.acknowledged > 0)
            filler = _fill(disk)
            _wait_for(lambda: load.refused > 0)  # clients are told to retry
            _wait_for(lambda: _health(server.http_url)[0] == 503)
            _, health = _health(server.http_url)
            assert health["status"] == "unavailable"
            assert "full" in str(health["store"]).lower()
            stats = httpx.get(f"{server.http_url}/api/stats", timeout=30)
            assert stats.status_code == 200
            assert stats.json()["requests"]["deferred"] > 0
            acknowledged_while_full = load.acknowledged

            filler.unlink()  # space returns
            _wait_for(lambda: _health(server.http_url)[0] == 200)
            _wait_for(lambda: load.acknowledged > acknowledged_while_full + 10_000)
        finally:
            load.join()
            server.terminate()
        assert not load.other, load.other[:3]
        assert stored_spans(disk / "analyzer.db") >= load.acknowledged


def test_shutdown_on_a_full_disk_exits_nonzero_and_keeps_the_spans(tmp_path: Path) -> None:
    with _small_tmpfs(tmp_path / "disk", "24m") as disk:
        db = disk / "analyzer.db"
        server = start_server(db)
        load = start_load(server, "http", clients=2)
        try:
            _wait_for(lambda: load.acknowledged > 0)
            filler = _fill(disk)
            _wait_for(lambda: _health(server.http_url)[1]["store"]["pending_spans"] > 0)  # type: ignore[index]
            _wait_for(lambda: _health(server.http_url)[0] == 503)
        finally:
            load.join()
        code, err = server.terminate()
        assert code == 1, err
        assert "accepted span(s) could not be stored" in err
        assert "spool" in err

        filler.unlink()
        again = start_server(db)  # replays the spool now that there is room
        again.terminate()
        assert stored_spans(db) >= load.acknowledged


# --- limits before work ------------------------------------------------------------------------

TOKEN = "fault-token"
HUNDRED_MB = 100 * 1024 * 1024


def _memory_mb(pid: int, key: str) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no {key} for {pid}")


def _send_huge(url: str, path: str, headers: str = "") -> tuple[bytes, int, float]:
    """Declare a 100 MB body, send it in 1 MB pieces until an answer arrives; (status line,
    MB sent, seconds to the answer)."""
    parsed = urllib.parse.urlsplit(url)
    sock = socket.create_connection((parsed.hostname, parsed.port))
    start = time.perf_counter()
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: {parsed.hostname}\r\n{headers}"
            f"Content-Type: application/json\r\nContent-Length: {HUNDRED_MB}\r\n\r\n"
        ).encode()
    )
    sock.setblocking(False)
    piece = b"{" * (1 << 20)
    sent = 0
    answer = b""
    try:
        while sent < 100 and not answer:
            ready_r, ready_w, _ = select.select([sock], [sock], [], 5.0)
            if ready_r:
                answer = sock.recv(4096)
                break
            if ready_w:
                try:
                    sock.sendall(piece)
                    sent += 1
                except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                    pass
        if not answer:
            sock.setblocking(True)
            sock.settimeout(30)
            answer = sock.recv(4096)
    finally:
        elapsed = time.perf_counter() - start
        sock.close()
    return answer.split(b"\r\n", 1)[0], sent, elapsed


def test_unauthenticated_100mb_bodies_are_refused_before_they_are_read(tmp_path: Path) -> None:
    server = start_server(tmp_path / "analyzer.db", {"MCP_AGENT_OTEL_ANALYZER_TOKEN": TOKEN})
    try:
        pid = server.process.pid
        httpx.get(f"{server.http_url}/health", timeout=30)  # warm
        peak_before = _memory_mb(pid, "VmHWM")
        expected = {
            "/api/comparisons": b"401",
            "/api/baselines": b"401",
            "/v1/traces": b"401",
            "/dashboard/login": b"413",
            "/health": b"413",
            "/": b"413",
        }
        for path, status in expected.items():
            line, sent_mb, seconds = _send_huge(server.http_url, path)
            print(f"{path}: {line.decode()} after {seconds * 1000:.0f} ms, {sent_mb} MB sent")
            assert status in line, (path, line)
            assert sent_mb < 100  # answered long before the body could have been read
        # Authenticated but over the route's limit: refused on the declared length.
        line, sent_mb, _ = _send_huge(
            server.http_url, "/api/comparisons", f"Authorization: Bearer {TOKEN}\r\n"
        )
        assert b"413" in line
        assert sent_mb < 100
        growth = _memory_mb(pid, "VmHWM") - peak_before
        print(f"peak memory growth over 7 x 100 MB requests: {growth:.1f} MB")
        assert growth < 20
        assert httpx.get(f"{server.http_url}/health", timeout=30).status_code == 200
    finally:
        server.terminate()


def _gzip_bomb(inflated: int) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as f:
        block = b"\0" * (1 << 20)
        for _ in range(inflated // len(block)):
            f.write(block)
    return buffer.getvalue()


def test_oversize_and_amplified_bodies_get_413_and_the_server_stays_up(tmp_path: Path) -> None:
    server = start_server(tmp_path / "analyzer.db")
    try:
        url = f"{server.http_url}/v1/traces"
        pb = {"content-type": "application/x-protobuf"}
        big = httpx.post(url, content=b"\0" * (9 * 1024 * 1024), headers=pb, timeout=60)
        assert big.status_code == 413
        bomb = _gzip_bomb(200 * 1024 * 1024)  # a few hundred KB inflating to 200 MB
        inflated = httpx.post(
            url, content=bomb, headers={**pb, "content-encoding": "gzip"}, timeout=60
        )
        assert inflated.status_code == 413
        assert "inflates to more than" in inflated.text
        api = httpx.post(
            f"{server.http_url}/api/baselines",
            content=b"{" * (1024 * 1024),
            headers={"content-type": "application/json"},
            timeout=60,
        )
        assert api.status_code == 413
        ok = httpx.post(url, content=export_body(1, spans=10), headers=pb, timeout=60)
        assert ok.status_code == 200
    finally:
        server.terminate()
    assert stored_spans(tmp_path / "analyzer.db") == 10


def test_a_60mb_span_name_is_stored_truncated_and_the_dashboard_stays_fast(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path / "analyzer.db")
    try:
        req = ExportTraceServiceRequest.FromString(export_body(2, spans=1))
        req.resource_spans[0].scope_spans[0].spans[0].name = "n" * (60 * 1024 * 1024)
        body = gzip.compress(req.SerializeToString())
        assert len(body) < 100 * 1024
        answer = httpx.post(
            f"{server.http_url}/v1/traces",
            content=body,
            headers={"content-type": "application/x-protobuf", "content-encoding": "gzip"},
            timeout=60,
        )
        assert answer.status_code == 200
        response = ExportTraceServiceResponse.FromString(answer.content)
        assert "span name longer than 256 characters (truncated)" in (
            response.partial_success.error_message
        )
        (op,) = httpx.get(f"{server.http_url}/api/operations", timeout=60).json()
        assert len(op["name"]) == otlp.MAX_SPAN_NAME_CHARS
        assert op["name"].endswith(otlp.TRUNCATION_MARKER)
        start = time.perf_counter()
        page = httpx.get(f"{server.http_url}/", timeout=60)
        print(f"dashboard after a 60 MB name: {time.perf_counter() - start:.3f} s")
        assert page.status_code == 200
        assert len(page.content) < 1024 * 1024
    finally:
        server.terminate()
    assert os.path.getsize(tmp_path / "analyzer.db") < 10 * 1024 * 1024


# --- Host and Origin; file modes -------------------------------------------------------------


def test_a_foreign_host_or_origin_is_refused(tmp_path: Path) -> None:
    server = start_server(tmp_path / "analyzer.db")
    try:
        base = server.http_url
        rebound = httpx.get(f"{base}/api/stats", headers={"Host": "attacker.example"}, timeout=30)
        assert rebound.status_code == 421
        assert "MCP_AGENT_OTEL_ANALYZER_ALLOWED_HOSTS" in rebound.json()["detail"]
        deleted = httpx.delete(
            f"{base}/api/baselines/x",
            headers={"Host": "attacker.example:4418"},
            timeout=30,
        )
        assert deleted.status_code == 421
        cross = httpx.delete(
            f"{base}/api/baselines/x", headers={"Origin": "http://attacker.example"}, timeout=30
        )
        assert cross.status_code == 403
        assert httpx.get(f"{base}/api/stats", headers={"Host": "localhost:1"}).status_code == 200
        same = httpx.delete(
            f"{base}/api/baselines/x", headers={"Origin": base}, timeout=30
        )  # the analyzer's own origin: through to the route (no such baseline)
        assert same.status_code == 404
    finally:
        server.terminate()
    allowed = start_server(
        tmp_path / "other.db", {"MCP_AGENT_OTEL_ANALYZER_ALLOWED_HOSTS": "analyzer.internal"}
    )
    try:
        named = httpx.get(
            f"{allowed.http_url}/health", headers={"Host": "analyzer.internal:4418"}, timeout=30
        )
        assert named.status_code == 200
    finally:
        allowed.terminate()


def test_the_database_and_its_wal_are_created_owner_only(tmp_path: Path) -> None:
    server = start_server(tmp_path / "analyzer.db")
    try:
        httpx.post(
            f"{server.http_url}/v1/traces",
            content=export_body(3, spans=5),
            headers={"content-type": "application/x-protobuf"},
            timeout=30,
        )
        modes = {
            name: stat.S_IMODE(os.stat(tmp_path / name).st_mode)
            for name in ("analyzer.db", "analyzer.db-wal", "analyzer.db-shm")
        }
        spool = stat.S_IMODE(os.stat(tmp_path / "analyzer.db-spool").st_mode)
    finally:
        server.terminate()
    assert modes == dict.fromkeys(modes, 0o600)
    assert spool == 0o700


# --- back-pressure: clients are told to retry, and their retry lands ---------------------------


def test_a_locked_store_answers_retry_on_both_protocols_and_the_retries_land(
    tmp_path: Path,
) -> None:
    """Another process holds the database's write lock, so the flush cannot write and the
    pending limit (one request) is reached: exports get 503 + Retry-After (HTTP) and
    UNAVAILABLE with RetryInfo (gRPC), /health says the store is behind. Real OTLP exporters
    retry after the delay the analyzer asked for; once the lock is released every span they
    sent, and every span answered 200 before, is stored."""
    # No periodic flush: only back-pressure wakes it, so the sequence below is deterministic.
    with running_analyzer(tmp_path, max_pending_spans=10, flush_interval_seconds=3600.0) as (
        analyzer,
        endpoints,
    ):
        pb = {"content-type": "application/x-protobuf"}
        url = f"{endpoints.http_url}/v1/traces"
        assert httpx.post(url, content=export_body(1, spans=10), headers=pb).status_code == 200
        analyzer.ingestor.flush()  # its operations are registered: no new ones below
        blocker = sqlite3.connect(tmp_path / "analyzer.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            # A new operation cannot be registered while the lock is held: 503, not a stall.
            fresh = ExportTraceServiceRequest.FromString(export_body(8, spans=1))
            fresh.resource_spans[0].scope_spans[0].spans[0].name = "brand.new"
            unregistered = httpx.post(url, content=fresh.SerializeToString(), headers=pb)
            assert unregistered.status_code == 503
            assert "cannot register new operations" in unregistered.text
            # Exports until one is refused (that wakes the flush, which then waits on the
            # lock with what it took) and one is taken after it (pending is full again).
            statuses: list[int] = []
            for k in range(2, 40):
                answer = httpx.post(url, content=export_body(k, spans=10), headers=pb)
                statuses.append(answer.status_code)
                if answer.status_code == 503:
                    assert answer.headers["retry-after"] == "5"
                if 503 in statuses and statuses[-1] == 200:
                    break
                time.sleep(0.05)
            assert statuses[-1] == 200
            assert set(statuses) == {200, 503}
            health = httpx.get(f"{endpoints.http_url}/health")
            assert health.status_code == 503
            assert "behind" in health.json()["store"]["problem"]

            with (
                grpc.insecure_channel(endpoints.grpc_target) as channel,
                pytest.raises(grpc.RpcError) as caught,
            ):
                channel.unary_unary(GRPC_METHOD)(export_body(9, spans=10), timeout=10)
            error = caught.value
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            details = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
            retry = error_details_pb2.RetryInfo()
            assert status_pb2.Status.FromString(details).details[0].Unpack(retry)
            assert retry.retry_delay.seconds == 5

            # Real exporters, refused at first; the lock goes away while they wait.
            results: dict[str, SpanExportResult] = {}
            spans = _sdk_spans(7)
            http_exporter = HttpSpanExporter(endpoint=url, timeout=60)
            grpc_exporter = GrpcSpanExporter(
                endpoint=endpoints.grpc_target, insecure=True, timeout=60
            )
            threads = [
                threading.Thread(target=lambda: results.update(http=http_exporter.export(spans))),
                threading.Thread(target=lambda: results.update(grpc=grpc_exporter.export(spans))),
            ]
            for t in threads:
                t.start()
            _wait_for(lambda: analyzer.ingestor.live_counters()["requests_deferred"] >= 5)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        for t in threads:
            t.join(60)
        assert results == {"http": SpanExportResult.SUCCESS, "grpc": SpanExportResult.SUCCESS}
        http_exporter.shutdown()
        grpc_exporter.shutdown()
        analyzer.ingestor.flush()
        stored = sum(row.aggregate.count for row in analyzer.store.bucket_rows())
        assert httpx.get(f"{endpoints.http_url}/health").status_code == 200
    assert stored == 10 * (1 + statuses.count(200)) + 7 + 7


def _sdk_spans(n: int) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "fault-svc"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for i in range(n):
        with provider.get_tracer("faults").start_as_current_span(f"fault.op{i % 2}"):
            pass
    return list(memory.get_finished_spans())
