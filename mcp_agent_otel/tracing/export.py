"""Span exporters of our own: OTLP-JSON lines on disk, and a loss-counting wrapper.

``OtlpJsonFileExporter`` writes one ``ExportTraceServiceRequest`` per line in the OTLP/JSON
encoding (hex trace and span ids, lowerCamelCase keys, integer enums): the format of the
OTel Collector's file exporter, so the analyzer and the collector read it alike.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

_log = logging.getLogger(__name__)
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def spans_to_otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """Encode SDK spans as one OTLP/JSON ``ExportTraceServiceRequest`` object."""
    message = encode_spans(spans)
    data: dict[str, Any] = MessageToDict(message, use_integers_for_enums=True)
    _hex_ids(data)
    return data


def _hex_ids(node: Any) -> None:
    # protobuf's JSON mapping writes bytes as base64; OTLP/JSON requires hex for ids.
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


class OtlpJsonFileExporter(SpanExporter):
    """Appends each exported batch as one OTLP/JSON line to ``path`` (created, mode 0600)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        line = (json.dumps(spans_to_otlp_json(spans), separators=(",", ":")) + "\n").encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write() per line on an O_APPEND descriptor: lines from several processes
            # (the agent and its stdio servers share the file) never interleave.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class LossCountingExporter(SpanExporter):
    """Wraps an exporter so that a failed export is counted, logged once, and never raised."""

    def __init__(self, inner: SpanExporter, name: str) -> None:
        self.inner = inner
        self.name = name
        self.exported = 0
        self.lost = 0
        self.first_failure: str | None = None  # why the first lost batch was lost
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # tracing never breaks the traced call
            result = SpanExportResult.FAILURE
            reason = f"{type(exc).__name__}: {exc}"
        else:
            reason = "the exporter reported failure"
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self.exported += len(spans)
                return result
            self.lost += len(spans)
            warn = self.first_failure is None
            if warn:
                self.first_failure = reason
        if warn:
            _log.warning(
                "%s exporter could not export %d span(s) (%s); spans are dropped and counted, "
                "the workflow is unaffected",
                self.name,
                len(spans),
                reason,
            )
        return result

    def shutdown(self) -> None:
        try:
            self.inner.shutdown()
        except Exception:
            _log.debug("exporter %s failed to shut down", self.name, exc_info=True)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            return self.inner.force_flush(timeout_millis)
        except Exception:
            return False
