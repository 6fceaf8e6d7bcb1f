"""A tiny real MCP server (stdio) for the instrumentation tests: one ``echo`` tool.

Run: ``python tests/instrumentation/echo_server.py``.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


if __name__ == "__main__":
    server.run()
