"""mcp-agent-otel: an autonomous MCP agent that is observable end to end with OpenTelemetry."""

from mcp_agent_otel._version import __version__
from mcp_agent_otel.tracing.setup import TracingHandle, configure_tracing

__all__ = ["TracingHandle", "__version__", "configure_tracing"]
