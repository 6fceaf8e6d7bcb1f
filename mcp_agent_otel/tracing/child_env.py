"""What a child process (an MCP server we launch) needs from our environment to trace like us.

The stdio client passes only a few variables (HOME, PATH, ...) to a server, so a client
forwards the telemetry settings explicitly — to servers that trace themselves — and never
credentials. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from mcp_agent_otel.tracing import semconv

_FORWARDED_PREFIXES: Final = ("OTEL_", semconv.ENV_PREFIX)
_FORWARDED_NAMES: Final = frozenset({"PYTHONPATH"})
# Each process is its own service: the agent's service name must not rename the servers,
# which name themselves mcp-agent-otel-server-<name>.
_NOT_FORWARDED: Final = frozenset({"OTEL_SERVICE_NAME"})
# Credentials stay with the agent: exporter headers (an observability vendor's API key), the
# analyzer's token, TLS client keys. Matched as parts of the variable's name.
_SECRET_PARTS: Final = ("HEADERS", "TOKEN", "SECRET", "PASSWORD", "CLIENT_KEY", "CREDENTIAL")


def _without_service_name(resource_attributes: str) -> str:
    kept = [
        item
        for item in resource_attributes.split(",")
        if item.strip() and item.split("=", 1)[0].strip() != "service.name"
    ]
    return ",".join(kept)


def telemetry_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables a server process needs from ``environ`` to trace like its client.

    ``OTEL_*`` (exporter endpoint, protocol, sampler, ``OTEL_SDK_DISABLED``, ...),
    ``MCP_AGENT_OTEL_*`` (home directory, sandbox, content capture) and ``PYTHONPATH`` when
    set. Never credentials: no ``*_HEADERS``, token, secret, password or client key.
    ``OTEL_SERVICE_NAME`` and a ``service.name`` inside ``OTEL_RESOURCE_ATTRIBUTES`` are
    left out: each server reports as its own service. Pure; nothing else is copied.
    """
    env: dict[str, str] = {}
    for key, value in environ.items():
        if key in _NOT_FORWARDED or any(part in key.upper() for part in _SECRET_PARTS):
            continue
        if key.startswith(_FORWARDED_PREFIXES) or key in _FORWARDED_NAMES:
            env[key] = value
    if "OTEL_RESOURCE_ATTRIBUTES" in env:
        stripped = _without_service_name(env["OTEL_RESOURCE_ATTRIBUTES"])
        if stripped:
            env["OTEL_RESOURCE_ATTRIBUTES"] = stripped
        else:
            del env["OTEL_RESOURCE_ATTRIBUTES"]
    return env
