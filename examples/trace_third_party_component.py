r"""Trace a third-party agent component with the environment alone: no code change, no SDK set-up.

``acme_agent`` (beside this file) knows nothing about OpenTelemetry, and neither does this
script. Run it under ``opentelemetry-instrument`` and name the methods to trace and the stage
each one is; they become the same spans the built-in agent stages make::

    export MCP_AGENT_OTEL_INSTRUMENT="\
    acme_agent:Agent.run=invoke_workflow autonomous_task,\
    acme_agent:Planner.analyze=task_analyzer.analyze,\
    acme_agent:Planner.decide=decision_engine.decide,\
    acme_agent:Worker.execute=meta_coordinator.execute"
    opentelemetry-instrument python examples/trace_third_party_component.py \
        "count the words and sort the lines"

Leading spaces inside the quotes are ignored. The spans go where ``OTEL_*`` says: with
``OTEL_EXPORTER_OTLP_ENDPOINT`` set, over OTLP (``OTEL_EXPORTER_OTLP_PROTOCOL``, default
``http/protobuf``); with ``OTEL_TRACES_EXPORTER=console`` to stdout; otherwise as OTLP-JSON
lines to ``./.mcp-agent-otel/spans.jsonl`` (``MCP_AGENT_OTEL_HOME`` moves it). The trace::

    invoke_workflow autonomous_task        code.function.name=acme_agent.Agent.run
    ├─ task_analyzer.analyze               mcp_agent.task.type, .complexity, .subtasks
    ├─ decision_engine.decide              mcp_agent.decision.pattern, .confidence, .steps
    └─ meta_coordinator.execute            mcp_agent.decision.pattern, .steps
"""

from __future__ import annotations

import asyncio
import sys

from acme_agent import Agent


def main(argv: list[str]) -> int:
    task = " ".join(argv) or "count the words and sort the lines"
    report = asyncio.run(Agent().run(task))
    for output in report.outputs:
        print(output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
