"""A small client of a running analyzer's API (what ``check --url`` uses), stdlib only."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from mcp_agent_otel.errors import NetworkError
from mcp_agent_otel.tracing import semconv


class ClientError(NetworkError):
    """The analyzer could not be reached, or answered with an error; the message says which."""

    def __init__(self, message: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class AnalyzerClient:
    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ClientError(f"{url!r} is not an http(s) URL; e.g. http://127.0.0.1:4418")
        self.url = url.rstrip("/")
        self.token = token if token is not None else os.environ.get(semconv.ENV_ANALYZER_TOKEN)
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """A JSON API call: ``body`` sent as JSON, the JSON answer returned."""
        data = None if body is None else json.dumps(body).encode()
        return json.loads(self.send(method, path, data) or b"null")

    def send(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        content_type: str = "application/json",
    ) -> bytes:
        """Any call (OTLP/HTTP too): the bearer token when one is set, errors as ClientError."""
        headers = {"Accept": content_type}
        if data is not None:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                answer: bytes = response.read()
                return answer
        except urllib.error.HTTPError as exc:
            detail = _detail(exc.read())
            raise ClientError(
                f"{method} {path}: HTTP {exc.code}: {detail}", exc.code, detail
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClientError(
                f"cannot reach the analyzer at {self.url} ({reason}); is "
                "`mcp-agent-otel analyzer serve` running there?"
            ) from None

    def compare(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", "/api/comparisons", body)
        return result


def _detail(raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:500]
    if isinstance(data, dict) and "detail" in data:
        return str(data["detail"])
    return str(data)[:500]
