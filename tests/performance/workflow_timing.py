"""Times the demo workload in a fresh process; run by the workflow benchmark.

Usage: python workflow_timing.py ROUNDS
Prints one JSON object: {"traced_ms": [...], "untraced_ms": [...]} — the wall time of every
workflow after one warm-up round, with the agent's sessions open (server start-up excluded).

Every task runs twice per round, once traced and once untraced, back to back in alternating
order, so machine noise hits both sides alike (separate processes differ by +-30% here).
"Untraced" is the same process with a sampler that drops every trace: the stage and MCP spans
are then non-recording, nothing is exported, and — through the sampled flag the MCP SDK
carries in ``params._meta`` — the server processes drop theirs too. What that leaves out (a
few non-recording span objects per workflow, ~1 µs each) is below this machine's noise.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.autonomous.servers import demo_servers_config
from mcp_agent_otel.autonomous.workload import DEMO_TASKS
from mcp_agent_otel.caching.cache_manager import cache_from_env
from mcp_agent_otel.tracing.setup import configure_tracing


class Switch(Sampler):
    """Samples every trace while ``on``, none while off (decided at each root span)."""

    on = True

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
    ) -> SamplingResult:
        chosen = ALWAYS_ON if self.on else ALWAYS_OFF
        return chosen.should_sample(parent_context, trace_id, name, kind, attributes, links)

    def get_description(self) -> str:
        return "Switch"


async def main(rounds: int) -> None:
    switch = Switch()
    handle = configure_tracing(sampler=switch)
    timings: dict[bool, list[float]] = {True: [], False: []}
    async with MetaCoordinator.from_config(demo_servers_config(), cache=cache_from_env()) as agent:
        for task in DEMO_TASKS:  # warm-up: connect, list, fill caches
            await agent.run(task)
        for round_no in range(rounds):
            for number, task in enumerate(DEMO_TASKS):
                first = (round_no + number) % 2 == 0
                for traced in (first, not first):
                    switch.on = traced
                    started = time.perf_counter()
                    await agent.run(task)
                    timings[traced].append((time.perf_counter() - started) * 1000)
    switch.on = True
    handle.shutdown()
    print(json.dumps({"traced_ms": timings[True], "untraced_ms": timings[False]}))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
