"""The error tree: every error mcp-agent-otel raises on purpose derives from ``McpAgentOtelError``.

One root and a branch per kind of trouble, each branch also the built-in exception it stands
for, so ``except ValueError`` keeps working where it did and ``except McpAgentOtelError``
catches everything we raise. Errors are defined next to the code that raises them, as leaves
of one of these branches; every message says what was wrong and what to do.

- ``ConfigError`` (``ValueError``): a setting — environment variable, config file, option —
  is malformed or contradicts another.
- ``InputError`` (``ValueError``): data handed to us — a task, a spans file, a request, a
  stored record we decode — is not what it must be.
- ``StoreError`` (``RuntimeError``): a store (the analyzer's SQLite, the analysis cache, the
  ingest spool) cannot do what was asked.
- ``NetworkError`` (``ConnectionError``): a peer — the analyzer's HTTP API — could not be
  reached or answered with an error.
- ``AgentError``: the agent could not do what a task asked (a server that does not start, a
  step no tool can do); its input and config errors are also ``InputError``/``ConfigError``.
"""

from __future__ import annotations


class McpAgentOtelError(Exception):
    """The root of every error mcp-agent-otel raises on purpose."""


class ConfigError(McpAgentOtelError, ValueError):
    """A setting (environment variable, config file, command-line option) is not usable."""


class InputError(McpAgentOtelError, ValueError):
    """Data handed to mcp-agent-otel (a task, a file, a request, a stored record) is not valid."""


class StoreError(McpAgentOtelError, RuntimeError):
    """A store (SQLite database, analysis cache, ingest spool) cannot do what was asked."""


class NetworkError(McpAgentOtelError, ConnectionError):
    """A peer could not be reached, or answered with an error."""


class AgentError(McpAgentOtelError):
    """The agent could not do what a task asked."""
