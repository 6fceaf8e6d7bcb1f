"""Bearer-token check shared by the OTLP receivers and the API (constant-time comparison)."""

from __future__ import annotations

import hmac

UNAUTHORIZED_MESSAGE = (
    "a bearer token is required: send 'Authorization: Bearer <token>' with the value of "
    "MCP_AGENT_OTEL_ANALYZER_TOKEN (OTLP exporters: "
    "OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer <token>')"
)
FORBIDDEN_MESSAGE = "the bearer token is not the one this analyzer was started with"


class TokenCheck:
    """``None`` token: everything is allowed. Otherwise the ``Authorization`` value must be
    ``Bearer <token>``."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode("utf-8") if token else None

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def problem(self, authorization: str | None) -> str | None:
        """None when the header is acceptable, else the message to send back."""
        if self._token is None:
            return None
        if not authorization:
            return UNAUTHORIZED_MESSAGE
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return UNAUTHORIZED_MESSAGE
        if not hmac.compare_digest(value.strip().encode("utf-8"), self._token):
            return FORBIDDEN_MESSAGE
        return None
