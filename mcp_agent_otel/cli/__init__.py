"""The ``mcp-agent-otel`` command: parsing, wiring and printing; the subsystems do the work.

- ``group``: the click group ``main``, which imports each command module on first use;
- ``console``: the stdout/stderr consoles and ``fail`` (exit codes);
- ``traced``: tracing for a traced command (set up, shut down within a grace, loss report);
- ``agent_commands``: ``run`` and ``demo``; ``trace_tree``: a trace drawn as a tree;
- ``analyzer_commands``: ``analyzer ...``; ``check_command``: the CI gate ``check``, and
  ``gate_report``: its report as a table; ``dashboard_command``: ``dashboard``;
- ``options``: the options several commands share;
- ``profile_command``: ``profile`` (options -> plan -> ``profiling.profile_run`` -> render);
  ``profile_report``: a profile report as tables and Markdown;
- ``cache_commands``: ``cache stats|clear|warm``.
"""

from mcp_agent_otel.cli.group import main

__all__ = ["main"]
