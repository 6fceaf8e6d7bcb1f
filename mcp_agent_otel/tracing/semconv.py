"""Every span name and attribute key the project emits, defined once.

Standard keys first (OpenTelemetry GenAI and MCP semantic conventions), then our own under
the ``mcp_agent.`` prefix. Span names are low-cardinality: IDs and task text go in
attributes, and task text only when the user opts in.
"""

from __future__ import annotations

from typing import Final

TRACER_NAME: Final = "mcp_agent_otel"

# --- span names ---------------------------------------------------------------------------
SPAN_WORKFLOW: Final = "invoke_workflow autonomous_task"
SPAN_ANALYZE: Final = "task_analyzer.analyze"
SPAN_DISCOVER: Final = "tool_discovery.discover"
SPAN_LIST_TOOLS_PREFIX: Final = "tool_discovery.list_tools"
SPAN_DECIDE: Final = "decision_engine.decide"
SPAN_EXECUTE: Final = "meta_coordinator.execute"
SPAN_EXECUTE_TOOL_PREFIX: Final = "execute_tool"

WORKFLOW_NAME: Final = "autonomous_task"

# The stage span names, in workflow order. Dashboards and the instrumentor use this list.
STAGE_SPANS: Final = (SPAN_ANALYZE, SPAN_DISCOVER, SPAN_DECIDE, SPAN_EXECUTE)


def list_tools_span_name(server: str) -> str:
    return f"{SPAN_LIST_TOOLS_PREFIX} {server}"


def execute_tool_span_name(tool: str) -> str:
    return f"{SPAN_EXECUTE_TOOL_PREFIX} {tool}"


# --- standard attribute keys (OTel GenAI / MCP / general semconv) --------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"
MCP_METHOD_NAME: Final = "mcp.method.name"
ERROR_TYPE: Final = "error.type"
CODE_FUNCTION_NAME: Final = "code.function.name"  # fully qualified: module.Class.method
NETWORK_TRANSPORT: Final = "network.transport"  # "pipe" for stdio servers, "tcp" for HTTP

OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
OP_EXECUTE_TOOL: Final = "execute_tool"

# --- our own attribute keys ------------------------------------------------------------------
TASK_TYPE: Final = "mcp_agent.task.type"
TASK_COMPLEXITY: Final = "mcp_agent.task.complexity"
TASK_SUBTASKS: Final = "mcp_agent.task.subtasks"
TASK_TEXT: Final = "mcp_agent.task.text"  # only with MCP_AGENT_OTEL_CAPTURE_CONTENT=true
TASK_LENGTH: Final = "mcp_agent.task.length"
TASK_CONFIDENCE: Final = "mcp_agent.task.confidence"
TASK_PATTERN: Final = "mcp_agent.task.pattern"  # the ExecutionPattern the analysis recommends

CACHE_HIT: Final = "mcp_agent.cache.hit"
CACHE_RESULT: Final = "mcp_agent.cache.result"
CACHE_RESULT_BYPASS: Final = "bypass"  # cache.result when no cache was consulted
CACHE_LEVEL: Final = "mcp_agent.cache.level"
CACHE_KEY: Final = "mcp_agent.cache.key"
CACHE_AGE_S: Final = "mcp_agent.cache.age_s"
CACHE_SIMILARITY: Final = "mcp_agent.cache.similarity"
EVENT_CACHE_INVALIDATED: Final = "mcp_agent.cache.invalidated"
CACHE_INVALIDATION_REASON: Final = "mcp_agent.cache.invalidation.reason"
CACHE_ERROR: Final = "mcp_agent.cache.error"  # what went wrong when cache.result=error
CACHE_INVALIDATION_ENTRIES: Final = "mcp_agent.cache.invalidation.entries"  # entries dropped
# Metric instruments of the analysis cache (OTel metrics API; no-op without an SDK).
METRIC_CACHE_HITS: Final = "mcp_agent.cache.hits"
METRIC_CACHE_MISSES: Final = "mcp_agent.cache.misses"
METRIC_CACHE_EVICTIONS: Final = "mcp_agent.cache.evictions"
METRIC_CACHE_INVALIDATIONS: Final = "mcp_agent.cache.invalidations"

TOOLS_COUNT: Final = "mcp_agent.tools.count"
SERVERS_COUNT: Final = "mcp_agent.servers.count"
SERVERS_FAILED: Final = "mcp_agent.servers.failed"
ENV_FINGERPRINT: Final = "mcp_agent.env.fingerprint"
EVENT_SERVER_FAILED: Final = "mcp_agent.server.failed"
DISCOVERY_LISTED: Final = "mcp_agent.discovery.servers_listed"  # servers listed this time
# servers whose tools came from the catalogue on disk (not started yet)
DISCOVERY_CACHED: Final = "mcp_agent.discovery.servers_cached"

DECISION_PATTERN: Final = "mcp_agent.decision.pattern"
DECISION_CONFIDENCE: Final = "mcp_agent.decision.confidence"
DECISION_STEPS: Final = "mcp_agent.decision.steps"
DECISION_UNMATCHED: Final = "mcp_agent.decision.unmatched"
DECISION_INDEX_BUILT: Final = "mcp_agent.decision.index_built"  # this call (re)built the index
# The decision came from the engine's memo (same analysis, catalogue, contexts, arguments and
# settings as an earlier one): nothing was ranked or planned this time.
DECISION_MEMO_HIT: Final = "mcp_agent.decision.memo_hit"
# Per step of a decision: what the subtask asks (read/write/delete) and what the chosen tool
# does (read_only/additive/overwrite/destructive), and whether the effect came from the
# server's MCP annotations or was inferred from the tool's name and description.
STEP_INTENT: Final = "mcp_agent.step.intent"
TOOL_EFFECT: Final = "mcp_agent.tool.effect"
TOOL_EFFECT_SOURCE: Final = "mcp_agent.tool.effect_source"  # "annotations" or "inferred"
# On decision_engine.decide: the per-step facts as parallel arrays, indexed like the steps.
DECISION_STEP_TOOLS: Final = "mcp_agent.decision.step.tools"
DECISION_STEP_INTENTS: Final = "mcp_agent.decision.step.intents"
DECISION_STEP_EFFECTS: Final = "mcp_agent.decision.step.effects"
DECISION_STEP_EFFECT_SOURCES: Final = "mcp_agent.decision.step.effect_sources"
DECISION_UNMATCHED_REASONS: Final = "mcp_agent.decision.unmatched_reasons"  # per Unmatched
DECISION_PLAN_ONLY: Final = "mcp_agent.decision.plan_only"  # run --plan: nothing is called
CONSENT: Final = "mcp_agent.step.consent"  # "given", "refused" on a destructive step

MCP_SERVER: Final = "mcp_agent.mcp.server"
STEP_INDEX: Final = "mcp_agent.step.index"
STEP_STATUS: Final = "mcp_agent.step.status"
STEP_ATTEMPT: Final = "mcp_agent.step.attempt"
STEP_FALLBACK: Final = "mcp_agent.step.fallback"
EVENT_FALLBACK: Final = "mcp_agent.step.fallback_used"

# Thread CPU time of a synchronous stage (task_analyzer.analyze, decision_engine.decide), ms:
# it barely moves when a neighbour loads the machine, unlike the span's wall-clock duration.
CPU_TIME_MS: Final = "mcp_agent.cpu_time_ms"

WORKFLOW_OK: Final = "mcp_agent.workflow.ok"
WORKFLOW_FAILED_STEPS: Final = "mcp_agent.workflow.failed_steps"

# Error types we assign ourselves (exceptions use their qualified class name).
ERROR_TOOL: Final = "tool_error"  # a tool result with isError
ERROR_TIMEOUT: Final = "timeout"
ERROR_SERVER_UNAVAILABLE: Final = "server_unavailable"
ERROR_NO_TOOL: Final = "no_matching_tool"
ERROR_NEEDS_CONSENT: Final = "needs_consent"  # a destructive call the user did not allow

# --- configuration (environment) ---------------------------------------------------------------
ENV_PREFIX: Final = "MCP_AGENT_OTEL_"
ENV_HOME: Final = "MCP_AGENT_OTEL_HOME"
ENV_CAPTURE_CONTENT: Final = "MCP_AGENT_OTEL_CAPTURE_CONTENT"
ENV_SPANS_FILE_MAX_MB: Final = "MCP_AGENT_OTEL_SPANS_FILE_MAX_MB"  # rotate at (default 16)
ENV_SPANS_FILE_BACKUPS: Final = "MCP_AGENT_OTEL_SPANS_FILE_BACKUPS"  # backups kept (default 3)
ENV_MAX_TASK_CHARS: Final = "MCP_AGENT_OTEL_MAX_TASK_CHARS"  # task size limit (default 20000)
# Zero-code stage tracing: "module:Qual.name=stage,..." (see mcp_agent_otel.instrumentation).
ENV_INSTRUMENT: Final = "MCP_AGENT_OTEL_INSTRUMENT"
CONTENT_MAX_CHARS: Final = 256

# --- resource attributes and settings the regression analyzer reads ---------------------------
SERVICE_NAME: Final = "service.name"
SERVICE_VERSION: Final = "service.version"
DEPLOYMENT_ENVIRONMENT_NAME: Final = "deployment.environment.name"
DEPLOYMENT_ENVIRONMENT_LEGACY: Final = "deployment.environment"  # before semconv 1.27
# The run (a profile, a CI job) a process's spans belong to: the unit of evidence of the gate.
RUN_ID: Final = "mcp_agent.run.id"
ENV_RUN_ID: Final = "MCP_AGENT_OTEL_RUN_ID"
# CI-provided ids honoured when MCP_AGENT_OTEL_RUN_ID is unset, in this order (GitHub Actions
# also has GITHUB_RUN_ATTEMPT, appended when set; GitLab, Buildkite, CircleCI, Jenkins).
CI_RUN_ID_VARIABLES: Final = (
    "GITHUB_RUN_ID",
    "CI_PIPELINE_ID",
    "BUILDKITE_BUILD_ID",
    "CIRCLE_WORKFLOW_ID",
    "BUILD_TAG",
)

ENV_ANALYZER_TOKEN: Final = "MCP_AGENT_OTEL_ANALYZER_TOKEN"
ENV_ANALYZER_DB: Final = "MCP_AGENT_OTEL_ANALYZER_DB"
ENV_ANALYZER_WEBHOOK: Final = "MCP_AGENT_OTEL_ANALYZER_WEBHOOK"
ENV_ANALYZER_MAX_OPERATIONS: Final = "MCP_AGENT_OTEL_ANALYZER_MAX_OPERATIONS"
ENV_ANALYZER_RETENTION_DAYS: Final = "MCP_AGENT_OTEL_ANALYZER_RETENTION_DAYS"
ENV_ANALYZER_MAX_DURATION_S: Final = "MCP_AGENT_OTEL_ANALYZER_MAX_DURATION_S"
ENV_ANALYZER_MAX_BODY_BYTES: Final = "MCP_AGENT_OTEL_ANALYZER_MAX_BODY_BYTES"
ENV_ANALYZER_DURABLE: Final = "MCP_AGENT_OTEL_ANALYZER_DURABLE"  # fsynced spool (default on)
ENV_ANALYZER_MAX_PENDING_SPANS: Final = "MCP_AGENT_OTEL_ANALYZER_MAX_PENDING_SPANS"
ENV_ANALYZER_MAX_API_BODY_BYTES: Final = "MCP_AGENT_OTEL_ANALYZER_MAX_API_BODY_BYTES"
ENV_ANALYZER_OPERATION_IDLE_S: Final = "MCP_AGENT_OTEL_ANALYZER_OPERATION_IDLE_S"
ENV_ANALYZER_ALLOWED_HOSTS: Final = "MCP_AGENT_OTEL_ANALYZER_ALLOWED_HOSTS"  # comma-separated
# The dashboard links trace ids to this Jaeger UI (e.g. http://localhost:16686).
ENV_JAEGER_URL: Final = "MCP_AGENT_OTEL_JAEGER_URL"

# --- the analysis cache's settings (mcp_agent_otel/caching/cache_manager.py) -----------------
ENV_CACHE: Final = "MCP_AGENT_OTEL_CACHE"
ENV_CACHE_DIR: Final = "MCP_AGENT_OTEL_CACHE_DIR"
ENV_CACHE_TTL: Final = "MCP_AGENT_OTEL_CACHE_TTL"
ENV_CACHE_MAX_ENTRIES: Final = "MCP_AGENT_OTEL_CACHE_MAX_ENTRIES"
ENV_CACHE_SIMILARITY: Final = "MCP_AGENT_OTEL_CACHE_SIMILARITY"

# --- the bundled demo MCP servers (mcp_agent_otel/autonomous/servers/) -----------------------
ENV_SANDBOX: Final = "MCP_AGENT_OTEL_SANDBOX"  # the files server's directory (default HOME/sandbox)

# --- the baseline profiler (mcp_agent_otel/profiling/) ---------------------------------------
# TEST-ONLY fault injection, read by the profiler alone (never by the agent's hot path):
# "<stage span name>=<factor>[,...]" makes that stage take factor x its natural duration.
ENV_FAULT_SLOWDOWN: Final = "MCP_AGENT_OTEL_FAULT_SLOWDOWN"
FAULT_SLOWDOWN: Final = "mcp_agent.fault.slowdown"  # the factor, on a span the fault slowed
