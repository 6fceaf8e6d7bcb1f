"""The SDK set-up ``opentelemetry-instrument`` runs for this project (an entry point).

``opentelemetry-instrument`` installs no TracerProvider by itself: it only runs the
configurators registered under the ``opentelemetry_configurator`` entry point (and a distro).
Without ``opentelemetry-distro`` nothing would record a span. This package therefore registers
``McpAgentConfigurator`` as the ``mcp_agent`` configurator, a bootstrap shell (like the CLI)
that builds the provider from ``OTEL_*``:

- a provider is already installed: it is kept;
- ``OTEL_SDK_DISABLED=true``: nothing is installed;
- ``OTEL_TRACES_EXPORTER`` is set: the SDK's standard environment configuration, exactly what
  ``opentelemetry-distro``'s configurator does (exporters by name, e.g. ``otlp``, ``console``);
- otherwise the project's ``configure_tracing()``: OTLP when ``OTEL_EXPORTER_OTLP_(TRACES_)
  ENDPOINT`` is set (protocol from ``OTEL_EXPORTER_OTLP_PROTOCOL``, default ``http/protobuf``),
  else the OTLP-JSON spans file ``$MCP_AGENT_OTEL_HOME/spans.jsonl``: the same as
  ``mcp-agent-otel run`` does on its own.

A bad setting is reported as one warning and tracing stays off; the application still starts.
With ``opentelemetry-distro`` installed too, two configurators are registered and
``opentelemetry-instrument`` runs the first it finds; choose one with
``OTEL_PYTHON_CONFIGURATOR=mcp_agent`` (or ``=configurator`` for the distro's).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry import trace

from mcp_agent_otel.env_flags import env_flag

_log = logging.getLogger("mcp_agent_otel.instrumentation")


class McpAgentConfigurator:
    """``opentelemetry_configurator`` entry point: install a TracerProvider from ``OTEL_*``."""

    def configure(self, **kwargs: Any) -> None:
        try:
            self._configure(**kwargs)
        except Exception as exc:
            _log.warning(
                "mcp-agent-otel: tracing is off because the OpenTelemetry settings could not "
                "be used: %s. Fix the OTEL_* environment variables and restart.",
                exc,
            )

    def _configure(self, **kwargs: Any) -> None:
        if env_flag(os.environ.get("OTEL_SDK_DISABLED")):
            return
        if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            return  # someone installed a provider already: never replace it
        if (os.environ.get("OTEL_TRACES_EXPORTER") or "").strip():
            from opentelemetry.sdk._configuration import _OTelSDKConfigurator

            class _StandardConfigurator(_OTelSDKConfigurator):  # what opentelemetry-distro does
                pass

            _StandardConfigurator().configure(**kwargs)  # type: ignore[no-untyped-call]
            return
        from mcp_agent_otel.tracing.setup import configure_tracing

        configure_tracing()
