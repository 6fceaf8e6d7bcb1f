"""Tracing for one traced command (``run``, ``demo``, ``profile``): set up, shut down, report.

``traced_command`` configures tracing from ``OTEL_*`` with the command's own span processors,
mutes the exporters' per-batch logging (``quiet_export_logs``) and, at the end, shuts down
within ``EXPORT_GRACE_S`` (one attempt a batch) and prints the loss, if any, in one line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mcp_agent_otel.cli.console import warn

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

    from mcp_agent_otel.tracing.setup import TracingHandle

EXPORT_GRACE_S = 3.0  # how long a command waits at exit for its spans to be exported


@contextmanager
def traced_command(
    *processors: SpanProcessor, export: bool = True, unaffected: str = "the workflow results"
) -> Iterator[TracingHandle]:
    """Tracing for the duration of the block; raises ``TracingConfigError`` for unusable
    settings. ``export=False``: the processors only (no exporter). ``unaffected`` names what
    the loss line says is unaffected by lost spans."""
    from mcp_agent_otel.tracing.setup import configure_tracing, quiet_export_logs

    quiet_export_logs()
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    handle = configure_tracing(extra_processors=list(processors), export=export)
    try:
        yield handle
    finally:
        _shut_down(handle, unaffected)


def _shut_down(handle: TracingHandle, unaffected: str) -> None:
    """Export what is queued (bounded wait) and report any loss in one line on stderr."""
    finished = handle.shutdown(timeout_s=EXPORT_GRACE_S)
    report = handle.loss_report()  # how many spans, where to, why (queued ones included)
    if not finished and not report:
        where = ", ".join(e.name for e in handle.exporters)
        report = f"spans not exported to {where} within {EXPORT_GRACE_S:g} s were dropped"
    if report:
        warn(f"{report} ({unaffected} are unaffected)")
