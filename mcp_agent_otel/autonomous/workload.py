"""Workloads: the demo task set over the bundled MCP servers.

Used by `mcp-agent-otel demo`, the baseline profiler and the benchmarks.
"""

from __future__ import annotations

from typing import Final

# Varied tasks over the bundled demo servers (knowledge, text, mathdata, files): single tool
# calls, sequences whose steps depend on each other, independent steps that run in parallel,
# a fallback after a failed tool, and one real failure, so the error paths show in traces.
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
    "Read the file missing-report.txt",  # fails for real: no such file (no stand-in read)
    "Calculate 1 / 0",  # fails for real: the error shows in red in its trace
)

# --- profiles for the baseline profiler (`mcp-agent-otel profile NAME`) ----------------------
# Grouped by the complexity the TaskAnalyzer gives each task (tests/profiling checks it),
# and every step of every task is answered by the demo servers (no deliberate failures here:
# a profile measures the working path). Files go to the files server's sandbox.
SIMPLE_TASKS: Final[tuple[str, ...]] = (
    "Calculate 17 * 3",
    "Convert 100 celsius to fahrenheit",
    'Count the words in "to be or not to be"',
    "Define the term trace",
    "Search the knowledge base for OpenTelemetry context propagation",
    'Convert "make it loud" to uppercase',
    "List the files in the sandbox",
)
MODERATE_TASKS: Final[tuple[str, ...]] = (
    "Calculate the mean of 4, 8, 15 and count the words in 'to be or not to be'",
    "Write 'hello world' to greeting.txt, then read greeting.txt",
    "Search for OpenTelemetry sampling, then summarize the results in 2 sentences.",
    "Search for MCP tool discovery and calculate 2 ** 10",
    "Compute statistics for the numbers 1, 2, 3, 4, then write the result to the file "
    "stats.txt, then read the file stats.txt",
)
COMPLEX_TASKS: Final[tuple[str, ...]] = (
    'Write the text "alpha beta gamma" to the file alpha.txt, then read the file alpha.txt, '
    "then count the words in it, then convert it to uppercase",
    "Search for context propagation, then summarize the results, then count the words in the "
    "summary, then write the summary to the file summary.txt",
    '1. Calculate 2 ** 10\n2. Convert 5 kilometers to miles\n3. Count the words in "a b c"\n'
    "4. Define the term span",
    "Search the knowledge base for sampling, then summarize the results and write them to the "
    "file sampling.txt, then read the file sampling.txt",
    # No tool compares: the summary stands for it (a task the agent would rightly refuse has no
    # place in a benchmark workload).
    "Search for span kind. Search for sampling. Search for caching. Then summarize the results "
    "and write the summary to report.md.",
    "Calculate 3 * 7, convert 10 miles to kilometers, sort the numbers 4, 2, 8 and define the "
    "term trace",
)


def _interleave(*groups: tuple[str, ...]) -> tuple[str, ...]:
    longest = max(len(g) for g in groups)
    return tuple(g[i] for i in range(longest) for g in groups if i < len(g))


# All three complexities, interleaved: the profiler's default workload.
MIXED_TASKS: Final[tuple[str, ...]] = _interleave(SIMPLE_TASKS, MODERATE_TASKS, COMPLEX_TASKS)

PROFILES: Final[dict[str, tuple[str, ...]]] = {
    "simple": SIMPLE_TASKS,
    "moderate": MODERATE_TASKS,
    "complex": COMPLEX_TASKS,
    "mixed": MIXED_TASKS,
}
