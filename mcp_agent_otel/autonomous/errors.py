"""The agent's errors for bad input: leaves of the tree in ``mcp_agent_otel.errors``."""

from __future__ import annotations

from mcp_agent_otel.errors import AgentError, ConfigError, InputError


class InvalidTaskError(AgentError, InputError):
    """The task text cannot be analysed (empty, whitespace only, or over the size limit)."""


class ServerConfigError(AgentError, ConfigError):
    """The mcpServers configuration is missing or malformed; the message names the file."""
