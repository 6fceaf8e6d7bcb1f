"""The hooks an analysis cache plugs into, as typed Protocols: ``autonomous`` never imports a cache.

The agent works without any cache. A cache (``mcp_agent_otel.AnalysisCache``, or any
object with the same methods) is built by whoever assembles the application — the CLI, the
profiler, a user's script — and handed in: ``MetaCoordinator.from_config(config, cache=...)``
or ``TaskAnalyzer(cache=...)``. What the agent asks of it:

- ``fetch`` (``task_analyzer.AnalysisCacheProtocol``): the one method the analyzer needs;
- ``report_outcome`` (``OutcomeReporter``, optional): after each run, how its plan went, so an
  analysis whose plan failed or had low confidence is not served again;
- ``on_environment_change`` (``EnvironmentChangeListener``, optional): registered with the
  run's ``ToolDiscovery`` (an ``EnvironmentSource``), called when the tool set changes.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mcp_agent_otel.autonomous.tool_discovery import EnvironmentListener


@runtime_checkable
class OutcomeReporter(Protocol):
    """Told, after a run, the confidence of the decision made from an analysis and whether
    every step succeeded."""

    def report_outcome(
        self, task: str, env_fingerprint: str, decision_confidence: float, ok: bool
    ) -> None: ...


@runtime_checkable
class EnvironmentChangeListener(Protocol):
    """Told when the MCP environment (the tool set, hence its fingerprint) changes."""

    def on_environment_change(self, old_fingerprint: str, new_fingerprint: str) -> None: ...


class EnvironmentSource(Protocol):
    """What announces environment changes: ``ToolDiscovery.add_listener``."""

    def add_listener(self, listener: EnvironmentListener) -> None: ...


__all__ = [
    "EnvironmentChangeListener",
    "EnvironmentListener",
    "EnvironmentSource",
    "OutcomeReporter",
]
