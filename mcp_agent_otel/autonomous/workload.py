"""Workloads: the demo task set over the bundled MCP servers.

Used by `mcp-agent-otel demo`, the baseline profiler and the benchmarks.
"""

from __future__ import annotations

from typing import Final

# Varied tasks over the bundled demo servers (knowledge, text, mathdata, files): single tool
# calls, sequences whose steps depend on each other, independent steps that run in parallel,
# and one deliberate failure (a file that does not exist) so the error path shows in traces.
DEMO_TASKS: Final[tuple[str, ...]] = (
    "Search the knowledge base for OpenTelemetry context propagation",
    "Calculate 17 * (3 + 4) / 2",
    "Compute statistics for the numbers 12, 7, 3, 21, 9 and 14",
    "Convert 42 kilometers to miles",
    "Define the term span",
    'Write the text "tracing makes agents observable" to the file notes.txt, '
    "then read the file notes.txt",
    'Summarize the text "OpenTelemetry is a framework for traces, metrics and logs. '
    'It is vendor neutral. Spans describe operations. Traces join spans across processes."',
    'Count the words in "the quick brown fox jumps over the lazy dog"',
    "Search for MCP tool discovery and calculate 2 ** 10",
    "Sort the numbers 5, 3, 9, 1 in descending order",
    'Analyze the sentiment of "I love how fast and clear this agent is"',
    "How many days are between 2025-06-01 and 2025-06-14?",
    "Read the file missing-report.txt",
)
