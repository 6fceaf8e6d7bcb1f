"""Times the demo workload in a fresh process; run by the workflow benchmark.

Usage: python workflow_timing.py ROUNDS
Prints one JSON object: {"durations_ms": [...]} — the wall time of every workflow run after
one warm-up round, with the agent's sessions open (server start-up is excluded). Whether
tracing is on is decided by the environment alone (OTEL_SDK_DISABLED), exactly as for a user.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.autonomous.servers import demo_servers_config
from mcp_agent_otel.autonomous.workload import DEMO_TASKS
from mcp_agent_otel.tracing.setup import configure_tracing


async def main(rounds: int) -> None:
    handle = configure_tracing()
    durations: list[float] = []
    async with MetaCoordinator.from_config(demo_servers_config()) as agent:
        for task in DEMO_TASKS:  # warm-up: connect, list, fill caches
            await agent.run(task)
        for _ in range(rounds):
            for task in DEMO_TASKS:
                started = time.perf_counter()
                await agent.run(task)
                durations.append((time.perf_counter() - started) * 1000)
    handle.shutdown()
    print(json.dumps({"durations_ms": durations, "traced": handle.enabled}))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
