"""Checks every HTTP request passes before any route runs or any body byte is read.

An ASGI middleware, outermost on the analyzer's app:

* ``Host`` must name this analyzer (loopback names by default, ``allowed_hosts`` to add
  others): a page in a browser that reaches the port by DNS rebinding (``Host:
  attacker.example``) gets 421. A state-changing request (POST, PUT, PATCH, DELETE) carrying
  an ``Origin`` header must come from an allowed host too (403).
* With a token configured, ``/api/...`` routes need ``Authorization: Bearer <token>`` before
  their body is read (401/403), so an unauthenticated 100 MB body costs nothing.
* A body size limit on every route, checked on the declared ``Content-Length`` (413); a
  body without one (chunked) is refused with 411 except on the OTLP route, which counts the
  bytes as it reads them and keeps its own 413 (``receiver_http``).

``check`` is the pure decision; ``RequestGuard`` is the ASGI shell around it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_agent_otel.regression.auth import FORBIDDEN_MESSAGE, TokenCheck
from mcp_agent_otel.regression.dashboard_routes import LOGIN_PATH, MAX_LOGIN_BODY
from mcp_agent_otel.regression.receiver_http import PATH as OTLP_PATH

COMPARISONS_PATH = "/api/comparisons"
MAX_SMALL_BODY = 64 * 1024  # every other route: small JSON at most
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclasses.dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()


def host_name(value: str) -> str:
    """The host of a ``Host`` header or URL authority, lower-case, without port or brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def allowed_host(name: str, allowed: Sequence[str]) -> bool:
    return "*" in allowed or host_name(name) in allowed


def body_limit(path: str, max_api_body: int) -> int:
    if path == LOGIN_PATH:
        return MAX_LOGIN_BODY
    if path == COMPARISONS_PATH:
        return max_api_body
    return MAX_SMALL_BODY


def check(
    method: str,
    path: str,
    headers: Mapping[str, str],
    *,
    allowed_hosts: Sequence[str],
    tokens: TokenCheck,
    max_api_body: int,
) -> Refusal | None:
    """Why this request is refused before it runs (None: let it through)."""
    host = headers.get("host", "")
    if not allowed_host(host, allowed_hosts):
        return Refusal(
            421,
            f"this analyzer does not answer to Host {host_name(host)!r}; use one of "
            f"{', '.join(allowed_hosts)} or add the name to MCP_AGENT_OTEL_ANALYZER_ALLOWED_HOSTS",
        )
    origin = headers.get("origin")
    if method in _STATE_CHANGING and origin is not None and origin != "null":
        origin_host = urlsplit(origin).netloc
        if not origin_host or not allowed_host(origin_host, allowed_hosts):
            return Refusal(
                403,
                f"cross-origin {method} from {origin!r} refused; state-changing requests must "
                "come from the analyzer's own pages or from a non-browser client",
            )
    elif method in _STATE_CHANGING and origin == "null":
        return Refusal(403, "a state-changing request from an opaque origin is refused")
    if path.startswith("/api/") and tokens.enabled:
        problem = tokens.problem(headers.get("authorization"))
        if problem is not None:
            return Refusal(
                403 if problem == FORBIDDEN_MESSAGE else 401,
                problem,
                (("www-authenticate", "Bearer"),),
            )
    if path == OTLP_PATH:
        return None  # the receiver checks its token first, then reads with its own limit
    declared = headers.get("content-length")
    limit = body_limit(path, max_api_body)
    if declared is None:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return Refusal(411, "send the request body with a Content-Length")
        return None
    if not declared.strip().isdigit():
        return Refusal(400, f"Content-Length {declared!r} is not a number")
    if int(declared) > limit:
        return Refusal(
            413,
            f"the request body is {int(declared)} bytes; this route takes at most {limit}"
            + (" (MCP_AGENT_OTEL_ANALYZER_MAX_API_BODY_BYTES)" if path == COMPARISONS_PATH else ""),
        )
    return None


class RequestGuard:
    """ASGI middleware applying ``check`` to every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Sequence[str],
        tokens: TokenCheck,
        max_api_body: int,
    ) -> None:
        self.app = app
        self.allowed_hosts = tuple(host_name(h) if h != "*" else h for h in allowed_hosts)
        self.tokens = tokens
        self.max_api_body = max_api_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = check(
            scope["method"],
            scope["path"],
            headers,
            allowed_hosts=self.allowed_hosts,
            tokens=self.tokens,
            max_api_body=self.max_api_body,
        )
        if refusal is None:
            await self.app(scope, receive, send)
            return
        await _refuse(send, refusal)


async def _refuse(send: Send, refusal: Refusal) -> None:
    body = json.dumps({"detail": refusal.message}).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the unread body is not drained
    ]
    headers += [(k.encode(), v.encode()) for k, v in refusal.headers]
    start: dict[str, Any] = {
        "type": "http.response.start",
        "status": refusal.status,
        "headers": headers,
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
