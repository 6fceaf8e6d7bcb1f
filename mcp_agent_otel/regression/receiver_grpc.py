"""OTLP/gRPC trace receiver: ``opentelemetry.proto.collector.trace.v1.TraceService/Export``.

The servicer is ``trace_service_pb2_grpc.TraceServiceServicer``; it is registered with a
pass-through request deserializer so that the receiver decodes the bytes itself: a malformed
message is answered with ``INVALID_ARGUMENT`` and a message (not gRPC's generic ``INTERNAL``),
exactly like the HTTP receiver's 400. Messages above the size limit get ``RESOURCE_EXHAUSTED``
from gRPC itself; gzip-compressed requests are handled by gRPC. With a token configured, the
call metadata must carry ``authorization: Bearer <token>``. OK is answered only once the
request is durable (the fsynced spool); when the store cannot take spans now the answer is
``UNAVAILABLE`` with a ``google.rpc.RetryInfo`` detail, which OTLP exporters retry.
"""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from mcp_agent_otel.regression import otlp
from mcp_agent_otel.regression.auth import FORBIDDEN_MESSAGE, TokenCheck
from mcp_agent_otel.regression.ingest import RETRY_AFTER_SECONDS, Ingestor, StoreUnavailable
from mcp_agent_otel.regression.spool import SpoolError

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
_STATUS_DETAILS = "grpc-status-details-bin"


def _unavailable(context: grpc.ServicerContext, message: str, retry_after: int) -> None:
    """Abort with UNAVAILABLE and a RetryInfo detail (what grpcio-status would send)."""
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after)))
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=message, details=[detail])
    context.set_trailing_metadata(((_STATUS_DETAILS, status.SerializeToString()),))
    context.abort(grpc.StatusCode.UNAVAILABLE, message)


class TraceReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, ingestor: Ingestor, tokens: TokenCheck) -> None:
        self.ingestor = ingestor
        self.tokens = tokens

    def Export(self, request: bytes, context: grpc.ServicerContext) -> ExportTraceServiceResponse:
        metadata = dict(context.invocation_metadata() or ())
        problem = self.tokens.problem(metadata.get("authorization"))
        if problem is not None:
            self.ingestor.count_invalid_request("unauthorized")
            code = (
                grpc.StatusCode.PERMISSION_DENIED
                if problem == FORBIDDEN_MESSAGE
                else grpc.StatusCode.UNAUTHENTICATED
            )
            context.abort(code, problem)
        try:
            message = otlp.parse_protobuf(request)
        except otlp.OtlpDecodeError as exc:
            self.ingestor.count_invalid_request("malformed protobuf")
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        try:
            result = self.ingestor.ingest(message, request)
            if result.durable is not None:
                result.durable.result()
        except StoreUnavailable as exc:
            _unavailable(context, exc.message, exc.retry_after)
        except SpoolError as exc:
            _unavailable(context, str(exc), RETRY_AFTER_SECONDS)
        return result.response()


def _raw(data: bytes) -> bytes:
    return data


def create_server(
    ingestor: Ingestor,
    tokens: TokenCheck,
    address: str,
    *,
    max_workers: int = 4,
) -> tuple[grpc.Server, int]:
    """A started-ready (not yet started) gRPC server bound to ``address``; returns its port."""
    limit = ingestor.config.max_decompressed_bytes
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", limit),
        ("grpc.so_reuseport", 0),
    ]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="analyzer-grpc"),
        options=options,
    )
    receiver = TraceReceiver(ingestor, tokens)
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Export": grpc.unary_unary_rpc_method_handler(
                receiver.Export,
                request_deserializer=_raw,
                response_serializer=ExportTraceServiceResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise OSError(f"cannot bind the OTLP/gRPC receiver to {address}: {exc}") from None
    if port == 0:
        raise OSError(f"cannot bind the OTLP/gRPC receiver to {address} (in use?)")
    return server, port
