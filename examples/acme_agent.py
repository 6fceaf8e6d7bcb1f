"""A stand-in for a third-party agent library: plain Python, no OpenTelemetry anywhere.

``trace_third_party_component.py`` uses it; ``MCP_AGENT_OTEL_INSTRUMENT`` turns its methods
into the project's stage spans without touching this file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mcp_agent_otel.autonomous.models import Complexity, ExecutionPattern, TaskType


@dataclass(frozen=True)
class Analysis:
    task_type: TaskType
    complexity: Complexity
    subtasks: tuple[str, ...]
    confidence: float


@dataclass(frozen=True)
class Plan:
    pattern: ExecutionPattern
    confidence: float
    steps: tuple[str, ...]
    unmatched: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    task: str
    outputs: tuple[str, ...]

    @property
    def failed_steps(self) -> tuple[str, ...]:
        return tuple(o for o in self.outputs if o.startswith("error"))


class Planner:
    """Analyzes a task and decides how to run it."""

    def analyze(self, task: str) -> Analysis:
        parts = tuple(p.strip() for p in task.split(" and ") if p.strip())
        return Analysis(
            task_type=TaskType.DATA_ANALYSIS if "count" in task else TaskType.REASONING,
            complexity=Complexity.SIMPLE if len(parts) < 2 else Complexity.MODERATE,
            subtasks=parts,
            confidence=0.8,
        )

    async def decide(self, analysis: Analysis) -> Plan:
        await asyncio.sleep(0)
        pattern = (
            ExecutionPattern.PARALLEL if len(analysis.subtasks) > 1 else ExecutionPattern.DIRECT
        )
        return Plan(pattern=pattern, confidence=0.9, steps=analysis.subtasks)


class Worker:
    @classmethod
    async def execute(cls, plan: Plan) -> tuple[str, ...]:
        return tuple(await asyncio.gather(*(cls._step(step) for step in plan.steps)))

    @staticmethod
    async def _step(step: str) -> str:
        await asyncio.sleep(0.001)
        return f"done: {step}"


class Agent:
    def __init__(self) -> None:
        self.planner = Planner()

    async def run(self, task: str) -> Report:
        analysis = self.planner.analyze(task)
        plan = await self.planner.decide(analysis)
        outputs = await Worker.execute(plan)
        return Report(task=task, outputs=outputs)
