"""The knowledge server's built-in corpus: short documents and a glossary.

Plain data. The documents are about the things this project is made of (MCP,
OpenTelemetry, caching, statistics for performance regressions), so demo tasks can ask
real questions and get answers a person can check.
"""

from __future__ import annotations

import dataclasses
from typing import Final


@dataclasses.dataclass(frozen=True)
class Document:
    id: str
    title: str
    topic: str
    text: str


DOCUMENTS: Final = (
    Document(
        "mcp-overview",
        "Model Context Protocol overview",
        "mcp",
        "The Model Context Protocol (MCP) is an open protocol that connects AI applications to "
        "tools and data. A client, such as an agent, talks to one or more servers. Servers "
        "expose tools (functions the model can call), resources (data it can read) and prompts "
        "(templates). Messages are JSON-RPC 2.0 requests, responses and notifications.",
    ),
    Document(
        "mcp-transports",
        "MCP transports: stdio and streamable HTTP",
        "mcp",
        "An MCP server is reached over a transport. With the stdio transport the client starts "
        "the server as a subprocess and exchanges newline-delimited JSON-RPC messages over its "
        "standard input and output; closing stdin asks the server to exit. The streamable HTTP "
        "transport serves the same messages over HTTP POST, with server-sent events for "
        "streaming responses and notifications.",
    ),
    Document(
        "mcp-tools",
        "MCP tools, input schemas and tool errors",
        "mcp",
        "A server lists its tools with tools/list. Each tool has a name, a description and an "
        "input schema written in JSON Schema that describes its parameters. The client invokes "
        "a tool with tools/call. A tool that fails returns a result with isError set to true "
        "and a message, so the model can read the error and try again. When the set of tools "
        "changes, the server sends a notifications/tools/list_changed notification.",
    ),
    Document(
        "mcp-trace-context",
        "Trace context propagation in MCP",
        "mcp",
        "MCP carries W3C trace context inside the _meta field of request parameters (SEP-414). "
        "The client injects the traceparent of its CLIENT span into params._meta; the server "
        "extracts it and starts its SERVER span as a child. One trace therefore crosses the "
        "process boundary between an agent and the servers it calls.",
    ),
    Document(
        "otel-overview",
        "OpenTelemetry overview",
        "opentelemetry",
        "OpenTelemetry is a vendor-neutral standard and toolkit for telemetry: traces, metrics "
        "and logs. Applications use the API to create spans; the SDK samples, processes and "
        "exports them. Exporters send telemetry over OTLP to a collector or a backend such as "
        "Jaeger. Libraries depend on the API only, so tracing costs nothing when no SDK is "
        "installed.",
    ),
    Document(
        "otel-spans",
        "Spans, traces and span kinds",
        "opentelemetry",
        "A span records one operation: its name, start and end time, attributes, events and "
        "status. Spans share a trace id and form a tree through parent span ids. The span kind "
        "says what role the operation plays: INTERNAL, CLIENT, SERVER, PRODUCER or CONSUMER. "
        "A failed operation sets status ERROR, the error.type attribute and an exception event.",
    ),
    Document(
        "otel-context-propagation",
        "Context propagation with W3C traceparent",
        "opentelemetry",
        "Context propagation moves the current trace context across process boundaries. The "
        "W3C Trace Context format encodes it in a traceparent header: a version, the 16-byte "
        "trace id, the 8-byte parent span id and trace flags. A propagator injects the header "
        "into an outgoing carrier and extracts it on the receiving side.",
    ),
    Document(
        "otel-otlp",
        "OTLP: the OpenTelemetry protocol",
        "opentelemetry",
        "OTLP is the protocol OpenTelemetry uses to export telemetry. It runs over gRPC "
        "(default port 4317) or HTTP with protobuf or JSON payloads (default port 4318, path "
        "/v1/traces). The exporter endpoint is configured with OTEL_EXPORTER_OTLP_ENDPOINT and "
        "the protocol with OTEL_EXPORTER_OTLP_PROTOCOL. The collector's file exporter writes "
        "the same messages as JSON lines.",
    ),
    Document(
        "otel-sampling",
        "Sampling traces",
        "opentelemetry",
        "Sampling decides which traces are recorded. A head sampler decides when the root span "
        "starts: always_on, always_off, or traceidratio to keep a fraction of traces. A "
        "parentbased sampler follows the decision of the parent span, so a trace is kept or "
        "dropped as a whole. OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG configure it.",
    ),
    Document(
        "otel-semantic-conventions",
        "Semantic conventions for GenAI and MCP",
        "opentelemetry",
        "Semantic conventions standardize span names and attribute keys so that tools can read "
        "telemetry from any source. The GenAI conventions define gen_ai.operation.name values "
        "such as execute_tool and invoke_workflow, and gen_ai.tool.name. The MCP conventions "
        "define mcp.method.name and name spans after the method and the tool, as in "
        "tools/call search_documents.",
    ),
    Document(
        "otel-collector",
        "The OpenTelemetry Collector",
        "opentelemetry",
        "The OpenTelemetry Collector receives telemetry, processes it and exports it. A "
        "pipeline combines receivers (such as otlp), processors (such as batch and "
        "memory_limiter) and exporters (such as otlp to Jaeger, or a file). Running a "
        "collector next to the application keeps export retries and batching out of the "
        "application process.",
    ),
    Document(
        "caching-strategies",
        "Caching strategies and invalidation",
        "performance",
        "A cache stores results so that repeated work is fast. A key derived from the inputs "
        "finds a stored result; a time to live (TTL) bounds its age; a least recently used "
        "(LRU) policy evicts entries when the cache is full. Invalidation removes entries when "
        "the environment changes, for example when the set of available tools changes. The hit "
        "rate measures how often the cache answers.",
    ),
    Document(
        "latency-percentiles",
        "Latency percentiles: p50, p95 and p99",
        "performance",
        "Latency is reported as percentiles rather than averages because response times are "
        "skewed. The median (p50) is the typical request; p95 and p99 describe the slow tail "
        "that users notice. Percentiles from many processes are merged with sketches such as "
        "DDSketch, which keep a bounded relative error.",
    ),
    Document(
        "regression-detection",
        "Detecting performance regressions statistically",
        "performance",
        "A performance regression is a change that makes an operation slower. To detect one, "
        "compare a baseline sample of durations with a current sample. The Mann-Whitney U test "
        "checks whether one sample tends to be larger without assuming a normal distribution; "
        "an effect size and a minimum relative change keep tiny, irrelevant differences from "
        "raising alerts. A CI gate fails the build when a regression is significant.",
    ),
    Document(
        "bm25-ranking",
        "Ranking text with BM25",
        "search",
        "BM25 is a ranking function for text search. It scores a document for a query by "
        "summing, over the query terms, the inverse document frequency of the term times a "
        "saturated term frequency normalized by document length. The parameters k1 (about 1.2) "
        "and b (about 0.75) control saturation and length normalization.",
    ),
    Document(
        "agent-patterns",
        "Execution patterns of autonomous agents",
        "agents",
        "An autonomous agent decomposes a task into subtasks and chooses tools for them. Common "
        "execution patterns are direct (one tool call), sequential (a chain of steps), parallel "
        "(independent steps at once), router (pick one specialist), orchestrator (a planner "
        "delegates to workers) and evaluator-optimizer (generate, evaluate, refine).",
    ),
)

GLOSSARY: Final = {
    "mcp": (
        "The Model Context Protocol: an open JSON-RPC protocol that connects AI applications "
        "to tools, resources and prompts offered by servers.",
        ("mcp-overview",),
    ),
    "tool": (
        "A function an MCP server exposes, described by a name, a description and a JSON "
        "Schema of its input.",
        ("mcp-tools",),
    ),
    "json-rpc": (
        "A stateless remote procedure call protocol encoded in JSON, with requests, responses "
        "and notifications; MCP messages are JSON-RPC 2.0.",
        ("mcp-overview",),
    ),
    "stdio": (
        "The MCP transport in which the client runs the server as a subprocess and exchanges "
        "messages over its standard input and output.",
        ("mcp-transports",),
    ),
    "json schema": (
        "A vocabulary for describing the structure of JSON data; MCP uses it for tool input "
        "schemas.",
        ("mcp-tools",),
    ),
    "opentelemetry": (
        "A vendor-neutral standard, API and SDK for traces, metrics and logs.",
        ("otel-overview",),
    ),
    "span": (
        "A record of one timed operation in a trace, with a name, kind, attributes, events and "
        "a status.",
        ("otel-spans",),
    ),
    "trace": (
        "The tree of spans that share one trace id and describe one request or workflow end "
        "to end.",
        ("otel-spans",),
    ),
    "span kind": (
        "The role of a span's operation: INTERNAL, CLIENT, SERVER, PRODUCER or CONSUMER.",
        ("otel-spans",),
    ),
    "traceparent": (
        "The W3C Trace Context header that carries the trace id, parent span id and trace "
        "flags across process boundaries.",
        ("otel-context-propagation", "mcp-trace-context"),
    ),
    "context propagation": (
        "Carrying the current trace context from one process or component to another so that "
        "their spans join one trace.",
        ("otel-context-propagation",),
    ),
    "otlp": (
        "The OpenTelemetry Protocol for exporting telemetry, over gRPC (port 4317) or HTTP "
        "(port 4318).",
        ("otel-otlp",),
    ),
    "exporter": (
        "The SDK component that sends finished spans to a destination such as an OTLP "
        "endpoint or a file.",
        ("otel-overview", "otel-otlp"),
    ),
    "collector": (
        "The OpenTelemetry Collector: a service that receives, processes and exports "
        "telemetry through pipelines.",
        ("otel-collector",),
    ),
    "sampler": (
        "The SDK component that decides whether a trace is recorded, such as always_on or "
        "traceidratio.",
        ("otel-sampling",),
    ),
    "semantic conventions": (
        "Standard span names and attribute keys defined by OpenTelemetry so that telemetry "
        "from any source reads alike.",
        ("otel-semantic-conventions",),
    ),
    "cache": (
        "A store of computed results keyed by their inputs, so that repeated work is answered "
        "quickly.",
        ("caching-strategies",),
    ),
    "ttl": (
        "Time to live: how long a cached entry stays valid before it expires.",
        ("caching-strategies",),
    ),
    "lru": (
        "Least recently used: an eviction policy that removes the entry unused for the longest "
        "time.",
        ("caching-strategies",),
    ),
    "hit rate": (
        "The fraction of cache lookups answered from the cache.",
        ("caching-strategies",),
    ),
    "latency": (
        "The time an operation takes from request to response.",
        ("latency-percentiles",),
    ),
    "percentile": (
        "The value below which a given share of observations falls; p95 is the value 95% of "
        "durations stay under.",
        ("latency-percentiles",),
    ),
    "regression": (
        "A change that makes an operation slower or worse than its baseline.",
        ("regression-detection",),
    ),
    "mann-whitney u test": (
        "A non-parametric test of whether one sample tends to have larger values than another.",
        ("regression-detection",),
    ),
    "bm25": (
        "A text ranking function that combines inverse document frequency with saturated, "
        "length-normalized term frequency.",
        ("bm25-ranking",),
    ),
    "agent": (
        "A program that decomposes a task, chooses tools and calls them to reach a goal.",
        ("agent-patterns",),
    ),
}
