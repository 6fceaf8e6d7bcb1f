"""Auto-instrumentation: ``opentelemetry-instrument`` support and zero-code stage tracing.

- ``McpAgentInstrumentor``: the ``opentelemetry_instrumentor`` entry point ``mcp_agent``.
- ``McpAgentConfigurator``: the ``opentelemetry_configurator`` entry point ``mcp_agent``, which
  installs a TracerProvider from ``OTEL_*`` when ``opentelemetry-instrument`` runs with no distro.
- ``traced_stage``: a decorator making a function or method a stage span in code.
- ``MCP_AGENT_OTEL_INSTRUMENT`` / ``instrument(targets=...)``: the same with no code change.
"""

from __future__ import annotations

from mcp_agent_otel.instrumentation.configurator import McpAgentConfigurator
from mcp_agent_otel.instrumentation.instrumentor import ENTRY_POINT_NAME, McpAgentInstrumentor
from mcp_agent_otel.instrumentation.stage_wrapper import (
    RequestHook,
    ResponseHook,
    StageFunctionWrapper,
    traced_stage,
)
from mcp_agent_otel.instrumentation.target_spec import (
    KNOWN_STAGES,
    ParsedTargets,
    StageTarget,
    parse_targets,
)

__all__ = [
    "ENTRY_POINT_NAME",
    "KNOWN_STAGES",
    "McpAgentConfigurator",
    "McpAgentInstrumentor",
    "ParsedTargets",
    "RequestHook",
    "ResponseHook",
    "StageFunctionWrapper",
    "StageTarget",
    "parse_targets",
    "traced_stage",
]
