"""The dashboard's HTTP routes (a router of the analyzer's app): a thin shell around
``dashboard_model.collect`` and the ``dashboard_html`` renderers.

* ``GET /``: the overview (``?window=1h&version=V&refresh=30``).
* ``GET /dashboard/operations/{id}``: one operation (same parameters).
* ``POST /dashboard/login``: when the analyzer requires a token, a browser gives it once
  through a form; it is kept in an HttpOnly, SameSite=Strict cookie. API clients can send
  ``Authorization: Bearer <token>`` instead.

Pages are served with a strict Content-Security-Policy (no script at all, nothing fetched from
elsewhere), so even a value that escaped escaping could not run.
"""

from __future__ import annotations

import gzip
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mcp_agent_otel.regression import dashboard_html, dashboard_model
from mcp_agent_otel.regression.dashboard_links import JaegerLinks, jaeger_links_from_env
from mcp_agent_otel.regression.operation import MAX_ID
from mcp_agent_otel.regression.runtime import RegressionAnalyzer
from mcp_agent_otel.regression.store import StoreError

TOKEN_COOKIE = "mcp_agent_otel_dashboard_token"
LOGIN_PATH = "/dashboard/login"
MAX_LOGIN_BODY = 4096
GZIP_MIN_BYTES = 8192
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _html(body: str, status: int = 200, request: Request | None = None) -> Response:
    """The page, gzip-compressed when the client accepts it (charts compress ~10x)."""
    data = body.encode("utf-8")
    accepts = request.headers.get("accept-encoding", "") if request is not None else ""
    if len(data) > GZIP_MIN_BYTES and "gzip" in accepts.lower():
        return Response(
            gzip.compress(data, compresslevel=5),
            status_code=status,
            media_type="text/html; charset=utf-8",
            headers={**HEADERS, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
    return HTMLResponse(body, status_code=status, headers={**HEADERS, "Vary": "Accept-Encoding"})


def parse_refresh(value: int | None) -> int:
    """Seconds between reloads (0: off); the page's default when not given."""
    if value is None:
        return dashboard_html.DEFAULT_REFRESH
    if not 0 <= value <= 3600:
        raise dashboard_model.DashboardInputError(
            f"refresh {value} is not between 0 (off) and 3600 seconds; for example ?refresh=30"
        )
    return value


def router(analyzer: RegressionAnalyzer, links: JaegerLinks | None = None) -> APIRouter:
    """The dashboard's routes (Jaeger links from ``MCP_AGENT_OTEL_JAEGER_URL`` when ``links``
    is not given)."""
    routes = APIRouter(include_in_schema=False)
    jaeger = links if links is not None else jaeger_links_from_env()
    cache = dashboard_model.DashboardCache()  # reused between loads, until spans arrive

    def authorized(request: Request) -> bool:
        if not analyzer.tokens.enabled:
            return True
        header = request.headers.get("authorization")
        if header and analyzer.tokens.problem(header) is None:
            return True
        cookie = request.cookies.get(TOKEN_COOKIE)
        return bool(cookie) and analyzer.tokens.problem(f"Bearer {cookie}") is None

    @routes.get("/", include_in_schema=False, response_class=HTMLResponse)
    def overview(
        request: Request,
        window: Annotated[str | None, Query(max_length=40)] = None,
        version: Annotated[str | None, Query(max_length=400)] = None,
        refresh: Annotated[int | None, Query()] = None,
    ) -> Response:
        if not authorized(request):
            return _html(dashboard_html.render_login(), 401)
        try:
            seconds = parse_refresh(refresh)
            data = dashboard_model.collect(analyzer, window=window, version=version, cache=cache)
        except dashboard_model.DashboardInputError as exc:
            return _html(dashboard_html.render_error("Cannot show that", str(exc)), 400)
        except StoreError as exc:
            return _html(dashboard_html.render_error("The database cannot be read", str(exc)), 503)
        base_url = str(request.base_url).rstrip("/")
        page = dashboard_html.render_dashboard(data, jaeger, refresh=seconds, base_url=base_url)
        return _html(page, request=request)

    @routes.get(
        dashboard_html.DETAIL_PATH + "/{op_id}",
        include_in_schema=False,
        response_class=HTMLResponse,
    )
    def operation(
        request: Request,
        op_id: Annotated[int, Path(ge=1, le=MAX_ID)],
        window: Annotated[str | None, Query(max_length=40)] = None,
        version: Annotated[str | None, Query(max_length=400)] = None,
        refresh: Annotated[int | None, Query()] = None,
    ) -> Response:
        if not authorized(request):
            return _html(dashboard_html.render_login(), 401)
        try:
            seconds = parse_refresh(refresh)
            data = dashboard_model.collect(
                analyzer, window=window, version=version, only=op_id, cache=cache
            )
        except dashboard_model.DashboardInputError as exc:
            return _html(dashboard_html.render_error("Cannot show that", str(exc)), 400)
        except LookupError:
            return _html(
                dashboard_html.render_error(
                    "No such operation",
                    f"there is no operation with id {op_id} (it may have been pruned after the "
                    "retention period); pick one from the dashboard",
                ),
                404,
            )
        except StoreError as exc:
            return _html(dashboard_html.render_error("The database cannot be read", str(exc)), 503)
        view = next((v for v in data.operations if v.op_id == op_id), None)
        if view is None:
            return _html(
                dashboard_html.render_error(
                    "No spans in this window",
                    f"operation {op_id} has no spans in the last {data.window}; choose a longer "
                    "window (for example ?window=7d)",
                ),
                404,
            )
        page = dashboard_html.render_operation(data, view, jaeger, refresh=seconds)
        return _html(page, request=request)

    @routes.post(LOGIN_PATH, include_in_schema=False)
    async def login(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_LOGIN_BODY:
            return _html(dashboard_html.render_login("That token is too long."), 413)
        try:
            fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=5)
        except ValueError:
            fields = {}
        token = (fields.get("token") or [""])[0].strip()
        if not analyzer.tokens.enabled:
            return RedirectResponse("/", status_code=303)
        if not token or analyzer.tokens.problem(f"Bearer {token}") is not None:
            return _html(
                dashboard_html.render_login(
                    "That is not the token this analyzer was started with; check "
                    "MCP_AGENT_OTEL_ANALYZER_TOKEN where the analyzer runs."
                ),
                401,
            )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    return routes
