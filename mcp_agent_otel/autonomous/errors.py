"""The errors the agent raises for bad input. Each message says what was wrong and what to do."""

from __future__ import annotations


class AgentError(Exception):
    """Base class of every error mcp-agent-otel raises on purpose."""


class InvalidTaskError(AgentError, ValueError):
    """The task text cannot be analysed (empty, whitespace only, or over the size limit)."""


class ServerConfigError(AgentError, ValueError):
    """The mcpServers configuration is missing or malformed; the message names the file."""
