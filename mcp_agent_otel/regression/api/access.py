"""Who may call the API: with a token configured (``MCP_AGENT_OTEL_ANALYZER_TOKEN``), a route
guarded by ``token_required`` answers 401 without ``Authorization: Bearer <token>`` and 403
with a wrong one (OpenAPI shows the bearer scheme)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Security, params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mcp_agent_otel.regression.auth import FORBIDDEN_MESSAGE, TokenCheck

_bearer = HTTPBearer(auto_error=False, description="MCP_AGENT_OTEL_ANALYZER_TOKEN, when set")


def token_required(tokens: TokenCheck) -> list[params.Depends]:
    """The ``dependencies`` of a guarded route or router."""

    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> None:
        header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
        problem = tokens.problem(header)
        if problem is not None:
            raise HTTPException(
                403 if problem == FORBIDDEN_MESSAGE else 401,
                problem,
                headers={"WWW-Authenticate": "Bearer"},
            )

    return [Depends(require_token)]
