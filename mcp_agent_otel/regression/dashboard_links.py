"""Links from the dashboard to a trace in Jaeger (``MCP_AGENT_OTEL_JAEGER_URL``); pure.

``http://localhost:16686`` + a trace id -> ``http://localhost:16686/trace/<trace id>``.
A setting that is not an http(s) URL is not used, and the dashboard shows why.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from mcp_agent_otel.tracing import semconv

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclasses.dataclass(frozen=True)
class JaegerLinks:
    """``base`` is the Jaeger UI's URL (None: no links); ``problem`` says why a configured
    value was not used."""

    base: str | None = None
    problem: str | None = None

    def trace_url(self, trace_id: str) -> str | None:
        """The Jaeger URL of a trace, or None (no Jaeger configured, or not a trace id)."""
        if self.base is None or not is_trace_id(trace_id):
            return None
        return f"{self.base}/trace/{trace_id}"


def is_trace_id(value: str) -> bool:
    """32 lowercase hex digits, not all zero (the W3C / OTLP trace id as hex)."""
    return bool(_TRACE_ID.match(value)) and value != "0" * 32


def jaeger_links(value: str | None) -> JaegerLinks:
    """Parse the setting (None or blank: no links)."""
    text = (value or "").strip()
    if not text:
        return JaegerLinks()
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        parts = None
        reason = str(exc)
    else:
        reason = "it must be an http:// or https:// URL with a host"
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or any(c in text for c in "\"'<> \t\r\n")
    ):
        return JaegerLinks(
            problem=(
                f"{semconv.ENV_JAEGER_URL}={text!r} is not used: {reason} and no query, "
                "e.g. http://localhost:16686"
            )
        )
    return JaegerLinks(base=text.rstrip("/"))


def jaeger_links_from_env(env: Mapping[str, str] | None = None) -> JaegerLinks:
    env = os.environ if env is None else env
    return jaeger_links(env.get(semconv.ENV_JAEGER_URL))
