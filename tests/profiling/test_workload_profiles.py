"""The profiler's workload profiles: each task has its profile's complexity (by the real
TaskAnalyzer) and is answered by the real demo servers, every step succeeding."""

from __future__ import annotations

import pytest

from mcp_agent_otel.autonomous.meta_coordinator import MetaCoordinator
from mcp_agent_otel.autonomous.models import Complexity, StepStatus
from mcp_agent_otel.autonomous.servers import demo_servers_config
from mcp_agent_otel.autonomous.task_analyzer import analyze_task
from mcp_agent_otel.autonomous.workload import (
    COMPLEX_TASKS,
    MIXED_TASKS,
    MODERATE_TASKS,
    PROFILES,
    SIMPLE_TASKS,
)

EXPECTED = {
    Complexity.SIMPLE: SIMPLE_TASKS,
    Complexity.MODERATE: MODERATE_TASKS,
    Complexity.COMPLEX: COMPLEX_TASKS,
}


@pytest.mark.parametrize(
    ("task", "complexity"),
    [(task, complexity) for complexity, tasks in EXPECTED.items() for task in tasks],
)
def test_each_task_has_its_profiles_complexity(task: str, complexity: Complexity) -> None:
    assert analyze_task(task).complexity is complexity


def test_profiles() -> None:
    assert set(PROFILES) == {"simple", "moderate", "complex", "mixed"}
    assert sorted(MIXED_TASKS) == sorted(SIMPLE_TASKS + MODERATE_TASKS + COMPLEX_TASKS)
    assert MIXED_TASKS[:3] == (SIMPLE_TASKS[0], MODERATE_TASKS[0], COMPLEX_TASKS[0])
    assert all(len(analyze_task(t).subtasks) >= 4 for t in COMPLEX_TASKS)


async def test_the_demo_servers_answer_every_step_of_every_task() -> None:
    async with MetaCoordinator.from_config(demo_servers_config()) as agent:
        for task in MIXED_TASKS:
            result = await agent.run(task)
            statuses = [s.status for s in result.steps]
            assert statuses, task
            assert all(s is StepStatus.OK for s in statuses), (task, result.steps)
            assert len(result.steps) == len(result.analysis.subtasks)
