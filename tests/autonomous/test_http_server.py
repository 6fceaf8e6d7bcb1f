"""ToolDiscovery over streamable HTTP (an ``mcpServers`` entry with a ``url``).

The demo math server is served by uvicorn on a free loopback port, in a thread of this test
process, so its SERVER spans reach the same in-memory exporter as the agent's CLIENT spans.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mcp_agent_otel.autonomous.models import ToolRef
from mcp_agent_otel.autonomous.server_config import parse_servers_config
from mcp_agent_otel.autonomous.servers import mathdata
from mcp_agent_otel.autonomous.tool_discovery import ToolDiscovery
from mcp_agent_otel.tracing import semconv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def math_url() -> Iterator[str]:
    port = _free_port()
    app = mathdata.build_server().streamable_http_app()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the MCP HTTP server did not start"
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(10)


async def test_a_url_server_is_listed_and_called_over_streamable_http(
    math_url: str, spans: InMemorySpanExporter
) -> None:
    config = {"mcpServers": {"math": {"url": math_url, "timeout": 10}}}
    async with ToolDiscovery(parse_servers_config(config)) as discovery:
        tools = await discovery.discover()
        result = await discovery.call_tool(
            ToolRef("math", "calculate"), {"expression": "6 * 7"}, timeout_s=10
        )
    assert "calculate" in {t.name for t in tools}
    assert result.structured_content == {"expression": "6 * 7", "result": 42}

    finished = spans.get_finished_spans()
    (listing,) = [s for s in finished if s.name == semconv.list_tools_span_name("math")]
    assert (listing.attributes or {})[semconv.NETWORK_TRANSPORT] == "tcp"
    (client,) = [s for s in finished if s.name == "MCP send tools/call calculate"]
    (server,) = [s for s in finished if s.name == "tools/call calculate"]
    assert client.kind is SpanKind.CLIENT
    assert server.kind is SpanKind.SERVER
    # Trace context crossed the HTTP hop in params._meta: the server span is the client's child.
    assert server.parent is not None
    assert server.parent.span_id == client.context.span_id
    assert server.context.trace_id == client.context.trace_id


async def test_a_url_nobody_answers_is_reported_not_raised(spans: InMemorySpanExporter) -> None:
    config = {"mcpServers": {"gone": {"url": f"http://127.0.0.1:{_free_port()}/mcp", "timeout": 3}}}
    async with ToolDiscovery(parse_servers_config(config)) as discovery:
        tools = await discovery.discover()
        failure = discovery.server_failure("gone")
    assert tools == ()
    assert failure is not None
    (listing,) = [
        s for s in spans.get_finished_spans() if s.name == semconv.list_tools_span_name("gone")
    ]
    assert [e.name for e in listing.events] == [semconv.EVENT_SERVER_FAILED]
