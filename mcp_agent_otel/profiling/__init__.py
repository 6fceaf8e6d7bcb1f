"""Profiling: the baseline profiler (``mcp-agent-otel profile``).

- ``baseline_profiler``: workloads, the profiling session, the report model;
- ``span_aggregator`` / ``span_stats``: figures from the spans (processor; pure statistics);
- ``memory``: tracemalloc peaks per span, process RSS;
- ``recording``: the run's spans into the regression analyzer, tagged with service.version;
- ``fault_injection``: the TEST-ONLY ``MCP_AGENT_OTEL_FAULT_SLOWDOWN`` stage slowdown;
- ``profile_plan`` / ``profile_run``: a profile as a plan, and the run of it to its report.

The command (``mcp-agent-otel profile``) and the report's rendering live in the CLI
(``cli.profile_command``, ``cli.profile_report``).
"""
