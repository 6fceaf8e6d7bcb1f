"""OTLP/HTTP trace receiver: ``POST /v1/traces`` with protobuf or JSON bodies, gzip allowed.

Answers as the OTLP specification asks: 200 with an ``ExportTraceServiceResponse`` (a
``partial_success`` naming how many spans were rejected and why, when any were) in the
request's encoding; 400 for a body that cannot be decoded, 413 above the size limit, 415 for
an unsupported content type or encoding, 401/403 without the right token (checked before the
body is read), and 503 with ``Retry-After`` when the store cannot take the spans now (the
exporter or the collector's queue retries; nothing was acknowledged). Error bodies are a
``google.rpc.Status`` (protobuf, or its JSON form) carrying a message that says what to do.
A 200 is sent only once the request is durable (in the fsynced spool when there is one).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib

from fastapi import APIRouter, Request
from fastapi.responses import Response
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2  # type: ignore[import-untyped]

from mcp_agent_otel.errors import McpAgentOtelError
from mcp_agent_otel.regression import otlp
from mcp_agent_otel.regression.auth import FORBIDDEN_MESSAGE, TokenCheck
from mcp_agent_otel.regression.ingest import (
    RETRY_AFTER_SECONDS,
    Ingestor,
    IngestResult,
    StoreUnavailable,
)
from mcp_agent_otel.regression.spool import SpoolError

PATH = "/v1/traces"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"

_GRPC_CODE_FOR_HTTP = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    503: code_pb2.UNAVAILABLE,
}


class ReceiverError(McpAgentOtelError):
    """A request the receiver refuses as a whole: HTTP status, message, short counter key."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


def media_kind(content_type: str | None) -> str:
    """``protobuf`` or ``json`` from a Content-Type header, else a 415 ReceiverError."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == PROTOBUF:
        return "protobuf"
    if media == JSON:
        return "json"
    raise ReceiverError(
        415,
        f"unsupported Content-Type {content_type or '(none)'!r}: send OTLP traces as "
        f"{PROTOBUF} or {JSON}",
        "unsupported content type",
    )


def decode_body(body: bytes, content_encoding: str | None, max_decompressed: int) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding != "gzip":
        raise ReceiverError(
            415,
            f"unsupported Content-Encoding {content_encoding!r}: send gzip or no encoding",
            "unsupported content encoding",
        )
    out = bytearray()
    data = body
    try:
        while data:  # a gzip body may hold several members (RFC 1952): inflate them all
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            out += inflater.decompress(data, max_decompressed + 1 - len(out))
            if len(out) > max_decompressed or inflater.unconsumed_tail:
                raise ReceiverError(
                    413,
                    f"the gzip body inflates to more than {max_decompressed} bytes; send smaller "
                    "batches (e.g. the BatchSpanProcessor's OTEL_BSP_MAX_EXPORT_BATCH_SIZE)",
                    "body too large",
                )
            if not inflater.eof:
                raise zlib.error("truncated gzip stream")
            data = inflater.unused_data
    except (zlib.error, gzip.BadGzipFile, EOFError) as exc:
        raise ReceiverError(
            400, f"Content-Encoding is gzip but the body is not valid gzip ({exc})", "bad gzip"
        ) from None
    return bytes(out)


def response_body(result: IngestResult, kind: str) -> bytes:
    response = result.response()
    if kind == "json":
        return json.dumps(json_format.MessageToDict(response)).encode()
    return response.SerializeToString()


def status_body(http_status: int, message: str, kind: str) -> tuple[bytes, str]:
    status = status_pb2.Status(
        code=_GRPC_CODE_FOR_HTTP.get(http_status, code_pb2.UNKNOWN), message=message
    )
    if kind == "protobuf":
        return status.SerializeToString(), PROTOBUF
    return json.dumps(json_format.MessageToDict(status)).encode(), JSON


async def read_limited(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> ReceiverError:
    return ReceiverError(
        413,
        f"the request body is larger than {max_bytes} bytes "
        "(MCP_AGENT_OTEL_ANALYZER_MAX_BODY_BYTES); send smaller batches",
        "body too large",
    )


def handle(
    ingestor: Ingestor, body: bytes, kind: str, content_encoding: str | None
) -> IngestResult:
    """Decode and ingest one request body (ReceiverError for a body that cannot be read)."""
    raw = decode_body(body, content_encoding, ingestor.config.max_decompressed_bytes)
    try:
        if kind == "protobuf":
            request = otlp.parse_protobuf(raw)
            return ingestor.ingest(request, raw)
        return ingestor.ingest(otlp.parse_json(raw))
    except otlp.OtlpDecodeError as exc:
        raise ReceiverError(400, str(exc), f"malformed {kind}") from None


def router(ingestor: Ingestor, tokens: TokenCheck) -> APIRouter:
    """The OTLP/HTTP route; the token is checked here, before the body is read."""
    routes = APIRouter()

    @routes.post(
        PATH,
        tags=["ingest"],
        summary="OTLP/HTTP trace export (protobuf or JSON, gzip allowed)",
        response_class=Response,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
                    JSON: {"schema": {"type": "object"}},
                },
            },
            "responses": {
                "200": {
                    "description": "ExportTraceServiceResponse (partial success when spans "
                    "were rejected)",
                    "content": {
                        PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
                        JSON: {"schema": {"type": "object"}},
                    },
                },
                "400": {"description": "malformed body (google.rpc.Status)"},
                "401": {"description": "token required"},
                "403": {"description": "wrong token"},
                "413": {"description": "body too large"},
                "415": {"description": "unsupported Content-Type or Content-Encoding"},
                "503": {"description": "the store cannot take spans now: retry after Retry-After"},
            },
        },
    )
    async def export_traces(request: Request) -> Response:
        content_type = request.headers.get("content-type")
        try:
            kind = media_kind(content_type)  # error bodies too use the request's encoding
        except ReceiverError:
            kind = "json"
        try:
            problem = tokens.problem(request.headers.get("authorization"))
            if problem is not None:
                raise ReceiverError(
                    403 if problem == FORBIDDEN_MESSAGE else 401, problem, "unauthorized"
                )
            kind = media_kind(content_type)
            body = await read_limited(request, ingestor.config.max_body_bytes)
            result = handle(ingestor, body, kind, request.headers.get("content-encoding"))
            if result.durable is not None:
                await asyncio.wrap_future(result.durable)
        except (StoreUnavailable, SpoolError) as exc:
            message = exc.message if isinstance(exc, StoreUnavailable) else str(exc)
            content, media = status_body(503, message, kind)
            retry = str(
                exc.retry_after if isinstance(exc, StoreUnavailable) else RETRY_AFTER_SECONDS
            )
            return Response(
                content, status_code=503, media_type=media, headers={"Retry-After": retry}
            )
        except ReceiverError as exc:
            ingestor.count_invalid_request(exc.reason)
            content, media = status_body(exc.status, exc.message, kind)
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return Response(content, status_code=exc.status, media_type=media, headers=headers)
        media = PROTOBUF if kind == "protobuf" else JSON
        return Response(response_body(result, kind), status_code=200, media_type=media)

    return routes
