"""mcp-agent-otel: an autonomous MCP agent that is observable end to end with OpenTelemetry.

The public API. Names are imported on first use, so ``import mcp_agent_otel`` (done by
``opentelemetry-instrument`` through the entry points) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mcp_agent_otel._version import __version__

if TYPE_CHECKING:
    from mcp_agent_otel.autonomous.decision_engine import ArgumentPlanner, DecisionEngine
    from mcp_agent_otel.autonomous.errors import InvalidTaskError, ServerConfigError
    from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
    from mcp_agent_otel.autonomous.models import (
        Complexity,
        Decision,
        ExecutionPattern,
        StepPlan,
        StepResult,
        StepStatus,
        Subtask,
        TaskAnalysis,
        TaskType,
        ToolCategory,
        ToolInfo,
        ToolRef,
        WorkflowResult,
    )
    from mcp_agent_otel.autonomous.server_config import ServerSpec
    from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer, analyze_task
    from mcp_agent_otel.autonomous.tool_discovery import ToolDiscovery
    from mcp_agent_otel.caching.cache_manager import AnalysisCache, cache_from_env
    from mcp_agent_otel.errors import (
        AgentError,
        ConfigError,
        InputError,
        McpAgentOtelError,
        NetworkError,
        StoreError,
    )
    from mcp_agent_otel.instrumentation import McpAgentInstrumentor, traced_stage
    from mcp_agent_otel.tracing.setup import TracingConfigError, TracingHandle, configure_tracing

_EXPORTS = {
    "configure_tracing": "mcp_agent_otel.tracing.setup",
    "TracingHandle": "mcp_agent_otel.tracing.setup",
    "TracingConfigError": "mcp_agent_otel.tracing.setup",
    "MetaCoordinator": "mcp_agent_otel.autonomous.meta_coordinator",
    "ToolDiscovery": "mcp_agent_otel.autonomous.tool_discovery",
    "ServerSpec": "mcp_agent_otel.autonomous.tool_discovery",
    "TaskAnalyzer": "mcp_agent_otel.autonomous.task_analyzer",
    "analyze_task": "mcp_agent_otel.autonomous.task_analyzer",
    "DecisionEngine": "mcp_agent_otel.autonomous.decision_engine",
    "ArgumentPlanner": "mcp_agent_otel.autonomous.decision_engine",
    "AnalysisCache": "mcp_agent_otel.caching.cache_manager",
    "cache_from_env": "mcp_agent_otel.caching.cache_manager",
    "McpAgentInstrumentor": "mcp_agent_otel.instrumentation",
    "traced_stage": "mcp_agent_otel.instrumentation",
    "McpAgentOtelError": "mcp_agent_otel.errors",
    "ConfigError": "mcp_agent_otel.errors",
    "InputError": "mcp_agent_otel.errors",
    "StoreError": "mcp_agent_otel.errors",
    "NetworkError": "mcp_agent_otel.errors",
    "AgentError": "mcp_agent_otel.errors",
    "InvalidTaskError": "mcp_agent_otel.autonomous.errors",
    "ServerConfigError": "mcp_agent_otel.autonomous.errors",
    **{
        name: "mcp_agent_otel.autonomous.models"
        for name in (
            "Complexity",
            "Decision",
            "ExecutionPattern",
            "StepPlan",
            "StepResult",
            "StepStatus",
            "Subtask",
            "TaskAnalysis",
            "TaskType",
            "ToolCategory",
            "ToolInfo",
            "ToolRef",
            "WorkflowResult",
        )
    },
}

__all__ = [
    "AgentError",
    "AnalysisCache",
    "ArgumentPlanner",
    "Complexity",
    "ConfigError",
    "Decision",
    "DecisionEngine",
    "ExecutionPattern",
    "InputError",
    "InvalidTaskError",
    "McpAgentInstrumentor",
    "McpAgentOtelError",
    "MetaCoordinator",
    "NetworkError",
    "ServerConfigError",
    "ServerSpec",
    "StepPlan",
    "StepResult",
    "StepStatus",
    "StoreError",
    "Subtask",
    "TaskAnalysis",
    "TaskAnalyzer",
    "TaskType",
    "ToolCategory",
    "ToolDiscovery",
    "ToolInfo",
    "ToolRef",
    "TracingConfigError",
    "TracingHandle",
    "WorkflowResult",
    "__version__",
    "analyze_task",
    "cache_from_env",
    "configure_tracing",
    "traced_stage",
]


assert set(__all__) == {"__version__", *_EXPORTS}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mcp_agent_otel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
