"""Run one demo MCP server over stdio, traced, in its own process.

``serve`` is the whole lifecycle of a server process:

1. ``configure_tracing(service_name="mcp-agent-otel-server-<name>")`` from the environment
   the client forwarded (``telemetry_env``): OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set,
   otherwise OTLP-JSON lines appended to ``$MCP_AGENT_OTEL_HOME/spans.jsonl`` (the file the
   agent writes too; one ``write`` per line on an ``O_APPEND`` descriptor, so lines never
   interleave). A tracing setting that cannot be used is reported on stderr and the server
   runs untraced: tracing never keeps a server from serving.
2. Serve MCP over stdin/stdout. ``MCPServer`` installs the SDK's ``OpenTelemetryMiddleware``
   by default (mcp 2.3, ``Server.middleware``), which emits one SERVER span per message,
   ``tools/call {tool}`` for tool calls, parented on the client's ``MCP send tools/call
   {tool}`` span through the W3C context in ``params._meta`` (SEP-414). We add no MCP span.
3. When the client closes stdin the server loop ends and the provider is shut down
   explicitly, which exports every finished span before the process exits; an exporter
   stuck on an unreachable endpoint is abandoned after 1 s, inside the stdio client's 2 s
   grace period. SIGTERM (the client's escalation when a server does not exit in time)
   exports the finished spans (same bound) and exits at once.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Final

import anyio
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server

from mcp_agent_otel.tracing.setup import (
    TracingConfigError,
    TracingHandle,
    configure_tracing,
    quiet_export_logs,
)

SERVICE_NAME_PREFIX = "mcp-agent-otel-server-"
# The servers' stderr is the agent's terminal: anticipated tool errors (logged at INFO by the
# SDK) are answered to the client and traced, so only warnings and worse are printed.
LOG_LEVEL: Final = "WARNING"
# The stdio client waits 2 s for a server to exit after stdin closes, then sends SIGTERM, and
# SIGKILL 2 s after that: each flush stays within its window.
EXIT_FLUSH_S: Final = 1.0


def service_name(server: str) -> str:
    """The OpenTelemetry ``service.name`` of a demo server process."""
    return f"{SERVICE_NAME_PREFIX}{server}"


def start_tracing(server: str) -> TracingHandle | None:
    """Configure tracing for this server process; None (and a note on stderr) if unusable.

    Export failures are not logged here: a server's stderr is the agent's terminal, and the
    agent, which exports to the same endpoint, reports the loss there in one line (a line
    per server process, at a moment that depends on its exit, would only repeat it).
    """
    quiet_export_logs()
    try:
        return configure_tracing(service_name=service_name(server))
    except (TracingConfigError, ValueError, OSError) as exc:
        print(
            f"mcp-agent-otel server {server!r}: tracing disabled, the server runs untraced: {exc}",
            file=sys.stderr,
        )
        return None


def _flush_and_exit(handle: TracingHandle | None) -> Callable[[int, FrameType | None], None]:
    """A SIGTERM handler: export the finished spans, then leave at once.

    Raising SystemExit instead would not end the process: the stdio transport reads stdin
    in a worker thread that cannot be cancelled, and the event loop waits for it.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        if handle is not None:
            handle.force_flush(timeout_millis=int(EXIT_FLUSH_S * 1000))
        os._exit(128 + signum)

    return handler


async def run_stdio(
    server: MCPServer, notification_options: NotificationOptions | None = None
) -> None:
    """Serve ``server`` over this process's stdin/stdout until the client closes stdin.

    ``notification_options`` are needed only by a server whose tool list changes at runtime
    (``NotificationOptions(tools_changed=True)`` advertises ``tools.listChanged`` to
    handshake-era clients; 2026-07-28 clients learn it from ``subscriptions/listen``).
    """
    if notification_options is None:
        await server.run_stdio_async()
        return
    lowlevel = server._lowlevel_server  # MCPServer offers no public hook for these options
    async with stdio_server() as (read_stream, write_stream):
        await lowlevel.run(
            read_stream,
            write_stream,
            lowlevel.create_initialization_options(notification_options),
        )


def serve(
    server: MCPServer, name: str, *, notification_options: NotificationOptions | None = None
) -> None:
    """Trace, serve over stdio, flush: the main function of every demo server process."""
    handle = start_tracing(name)
    previous = signal.signal(signal.SIGTERM, _flush_and_exit(handle))
    try:
        anyio.run(run_stdio, server, notification_options)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if handle is not None:
            handle.shutdown(timeout_s=EXIT_FLUSH_S)
