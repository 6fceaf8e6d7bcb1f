"""Builders of real OTLP trace requests for the analyzer's tests (no network, no mocks)."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


def lognormal_ms(n: int, median_ms: float, sigma: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(np.log(median_ms), sigma, n)


def request(
    durations_ms: Sequence[float] | np.ndarray,
    *,
    names: Sequence[str] | str = "op",
    service: str = "svc",
    version: str = "1.0",
    environment: str | None = None,
    legacy_environment: str | None = None,
    end_ns: int | None = None,
    errors: Iterable[int] = (),
    cache: dict[int, bool | str] | None = None,
    extra_attributes: int = 0,
    run_id: str | None = None,
) -> ExportTraceServiceRequest:
    """One resource, one scope; span i has durations_ms[i] and names[i % len(names)].
    ``run_id``: the resource's ``mcp_agent.run.id`` (the profile or CI run)."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    attrs = {"service.name": service, "service.version": version}
    if environment is not None:
        attrs["deployment.environment.name"] = environment
    if legacy_environment is not None:
        attrs["deployment.environment"] = legacy_environment
    if run_id is not None:
        attrs["mcp_agent.run.id"] = run_id
    for key, value in attrs.items():
        rs.resource.attributes.add(key=key).value.string_value = value
    ss = rs.scope_spans.add()
    ss.scope.name = "tests"
    end = time.time_ns() - 1_000_000 if end_ns is None else end_ns
    labels = [names] if isinstance(names, str) else list(names)
    failed = set(errors)
    for i, duration in enumerate(durations_ms):
        span = ss.spans.add()
        span.trace_id = os.urandom(16)
        span.span_id = os.urandom(8)
        span.name = labels[i % len(labels)]
        span.kind = 1
        span.start_time_unix_nano = end - int(duration * 1e6)
        span.end_time_unix_nano = end
        if i in failed:
            span.status.code = 2
        for k in range(extra_attributes):
            span.attributes.add(key=f"test.attr{k}").value.string_value = "x" * 12
        if cache and i in cache:
            value = cache[i]
            kv = span.attributes.add(
                key="mcp_agent.cache.hit" if isinstance(value, bool) else "mcp_agent.cache.result"
            )
            if isinstance(value, bool):
                kv.value.bool_value = value
            else:
                kv.value.string_value = value
    return req


def to_otlp_json(req: ExportTraceServiceRequest) -> dict[str, Any]:
    """The OTLP/JSON form (hex ids, camelCase, integer enums), as the agent's file writes it."""
    data: dict[str, Any] = MessageToDict(req, use_integers_for_enums=True)
    for rs in data.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return data
