"""Times the raw MCP SDK call, the agent's tool call and a one-tool workflow in one process.

Usage: python peer_timing.py ROUNDS CALLS
Prints one JSON object: {"off": {contender: [ms, ...]}, "on": {...}} — the wall time of every
call, ``ROUNDS`` rounds of ``CALLS`` calls per contender and tracing mode, after a warm-up.

The three contenders share one stdio session to the bundled ``mathdata`` server, so the
server, the pipe and the process are the same for all of them:

- ``raw``: the SDK's ``ClientSession.call_tool`` on that session — the floor;
- ``tool_call``: the agent's tool call (``MetaCoordinator``'s step attempt: the
  ``execute_tool`` span and ``ToolDiscovery.call_tool`` with its timeout);
- ``workflow``: ``agent.run("Calculate 2 + 3")`` — analyze (cache hit), discover (from the
  open sessions), decide, execute that one call.

Contenders are interleaved call by call (their order rotates every round) and the tracing
modes round by round, so machine noise hits all alike. "Off" is a sampler that drops every
trace (non-recording spans, nothing exported); "on" samples every trace into the embedded
default exporter (the OTLP-JSON spans file). The server is started with
``OTEL_SDK_DISABLED=true``, so its work is the same in both modes and for every contender.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable

# Run as a script from this folder (like workflow_timing.py), whose sampler switch it shares.
from workflow_timing import Switch

from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.autonomous.models import ToolRef
from mcp_agent_otel.autonomous.servers import demo_servers_config
from mcp_agent_otel.caching.cache_manager import cache_from_env
from mcp_agent_otel.tracing.setup import configure_tracing

TASK = "Calculate 2 + 3"
TOOL = ToolRef("mathdata", "calculate")
ARGUMENTS = {"expression": "2 + 3"}
CONTENDERS = ("raw", "tool_call", "workflow")


async def main(rounds: int, calls: int) -> None:
    switch = Switch()
    handle = configure_tracing(sampler=switch)
    config = demo_servers_config(env={"OTEL_SDK_DISABLED": "true"})
    async with MetaCoordinator.from_config(config, cache=cache_from_env()) as agent:
        planned = await agent.run(TASK, plan_only=True)
        (plan,) = planned.decision.steps
        assert plan.tool == TOOL, plan
        await agent.run(TASK)  # connects the server, fills the analysis cache
        session = agent.discovery.session(TOOL.server)
        tool = next(t for t in agent.discovery.tools if t.ref == TOOL)

        async def raw() -> bool:
            result = await session.call_tool(TOOL.name, ARGUMENTS)
            return not result.is_error

        async def tool_call() -> bool:
            status, _, _ = await agent._attempt(plan, TOOL, tool, ARGUMENTS, 0)
            return status.value == "ok"

        async def workflow() -> bool:
            return (await agent.run(TASK)).ok

        run: dict[str, Callable[[], Awaitable[bool]]] = {
            "raw": raw,
            "tool_call": tool_call,
            "workflow": workflow,
        }
        timings = {mode: {c: list[float]() for c in CONTENDERS} for mode in ("off", "on")}
        for name in CONTENDERS:  # warm-up, both modes
            for traced in (False, True):
                switch.on = traced
                for _ in range(20):
                    assert await run[name]()
        for round_no in range(rounds):
            order = CONTENDERS[round_no % 3 :] + CONTENDERS[: round_no % 3]
            modes = (True, False) if round_no % 2 else (False, True)
            for traced in modes:
                switch.on = traced
                buckets = timings["on" if traced else "off"]
                for _ in range(calls):
                    for name in order:
                        started = time.perf_counter()
                        ok = await run[name]()
                        buckets[name].append((time.perf_counter() - started) * 1000)
                        assert ok, name
    switch.on = True
    handle.shutdown()
    print(json.dumps(timings))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
