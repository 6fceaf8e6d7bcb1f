"""The bundled demo MCP servers, and how a client launches them.

Four stdio servers ship in the wheel, each runnable as
``python -m mcp_agent_otel.autonomous.servers.<name>``:

- ``knowledge``: search and look up a small built-in corpus about MCP, OpenTelemetry and
  performance engineering (search_documents, get_document, list_topics, define_term,
  find_related).
- ``text``: text processing (summarize_text, word_count, extract_keywords, change_case,
  find_replace, analyze_sentiment).
- ``mathdata``: a safe calculator, statistics, unit conversion, sorting and filtering
  numbers, dates and time (calculate, compute_statistics, convert_units, sort_numbers,
  filter_numbers, current_time, date_difference).
- ``files``: files in a sandbox directory, ``$MCP_AGENT_OTEL_SANDBOX`` (default
  ``$MCP_AGENT_OTEL_HOME/sandbox``); paths that would leave it are refused (read_file,
  write_file, list_directory, search_files, file_info).

Every server configures tracing from its environment, so one trace crosses processes. The
stdio client passes only a few variables (HOME, PATH, ...) to a server, so a client forwards
the telemetry settings explicitly with ``tracing.child_env.telemetry_env`` — to servers that
trace themselves (``"telemetry": true`` in their config entry, as ``demo_servers_config``
writes), and without credentials.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, Final

from mcp_agent_otel.tracing import semconv

DEMO_SERVER_NAMES: Final = ("knowledge", "text", "mathdata", "files")

# Where the files server keeps its sandbox (default: $MCP_AGENT_OTEL_HOME/sandbox).
ENV_SANDBOX: Final = semconv.ENV_SANDBOX


def server_module(name: str) -> str:
    """The module that runs demo server ``name`` (``python -m <module>``)."""
    if name not in DEMO_SERVER_NAMES:
        raise ValueError(
            f"unknown demo server {name!r}: choose one of {', '.join(DEMO_SERVER_NAMES)}"
        )
    return f"{__name__}.{name}"


def demo_servers_config(
    python: str = sys.executable, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ``{"mcpServers": {...}}`` configuration that launches every demo server.

    ``python`` is the interpreter that has this package installed; ``env`` (optional) is
    added to every server's ``env``. Telemetry variables are not baked in: a client adds
    ``tracing.child_env.telemetry_env(os.environ)`` when it launches the servers.
    """
    return {
        "mcpServers": {
            name: {
                "command": python,
                "args": ["-m", server_module(name)],
                "env": dict(env or {}),
                "telemetry": True,
            }
            for name in DEMO_SERVER_NAMES
        }
    }


__all__ = [
    "DEMO_SERVER_NAMES",
    "ENV_SANDBOX",
    "demo_servers_config",
    "server_module",
]
