"""``McpAgentInstrumentor``: the project's ``BaseInstrumentor`` for ``opentelemetry-instrument``.

Registered under the ``opentelemetry_instrumentor`` entry point as ``mcp_agent``, so
``opentelemetry-instrument`` loads it and ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=mcp_agent``
turns it off. It

- wraps the callables named by ``targets=`` (or ``MCP_AGENT_OTEL_INSTRUMENT`` when ``targets``
  is not given) as stage spans (see ``target_spec`` for the syntax), whose spans go through a
  tracer of the ``tracer_provider`` it is given (the global provider when none is given).

Like every instrumentor, it owns only the spans of what it wraps: the agent's built-in stage
spans always use the OTel API's global provider, whatever provider an instrumentor was given.
``uninstrument()`` restores every original.
It never wraps the MCP SDK: the SDK (>= 2) emits its own MCP client/server spans.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from mcp_agent_otel._version import __version__
from mcp_agent_otel.instrumentation.target_patching import TargetPatcher
from mcp_agent_otel.instrumentation.target_spec import parse_targets
from mcp_agent_otel.tracing import semconv

_log = logging.getLogger("mcp_agent_otel.instrumentation")

#: The entry point name: what ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` lists to turn it off.
ENTRY_POINT_NAME = "mcp_agent"


class McpAgentInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instrument the agent's stages and the dotted targets the user names.

    ``instrument(tracer_provider=None, targets=None, request_hook=None, response_hook=None)``:

    - ``tracer_provider``: where the wrapped targets' spans go (default: the global provider);
    - ``targets``: ``"module:Qual.name=stage,..."``, a ``{"module:Qual.name": stage}`` mapping
      or a list of entries; default: ``$MCP_AGENT_OTEL_INSTRUMENT``;
    - ``request_hook(span, instance, args, kwargs)`` / ``response_hook(span, instance, result)``:
      called for every wrapped target's span; a hook that raises is swallowed and counted.
    """

    _patcher: TargetPatcher | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("mcp >= 2.3",)

    def _instrument(self, **kwargs: Any) -> None:
        tracer = trace.get_tracer(
            semconv.TRACER_NAME, __version__, tracer_provider=kwargs.get("tracer_provider")
        )
        targets = kwargs.get("targets")
        if targets is None:
            targets = os.environ.get(semconv.ENV_INSTRUMENT) or None
        parsed = parse_targets(targets)
        for problem in parsed.problems:
            _log.warning("mcp-agent-otel: %s. It is skipped; the application runs on.", problem)
        patcher = TargetPatcher(
            kwargs.get("request_hook"), kwargs.get("response_hook"), tracer=tracer
        )
        self._patcher = patcher
        patcher.apply(parsed.targets)

    def _uninstrument(self, **kwargs: Any) -> None:
        patcher, self._patcher = self._patcher, None
        if patcher is not None:
            patcher.restore()

    def target_status(self) -> dict[str, str]:
        """Each target and whether it is ``wrapped``, ``pending: ...`` or ``skipped: why``."""
        return {} if self._patcher is None else self._patcher.status()
