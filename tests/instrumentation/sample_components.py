"""A stand-in "third-party" module: plain code that knows nothing about OpenTelemetry.

The instrumentation tests name its callables as dotted targets
(``tests.instrumentation.sample_components:Analyzer.analyze_task=...``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from mcp_agent_otel.autonomous.models import (
    Complexity,
    Decision,
    ExecutionPattern,
    Subtask,
    TaskAnalysis,
    TaskType,
    ToolCategory,
    Unmatched,
)


class AnalysisFailed(RuntimeError):
    """Raised by ``Analyzer.analyze_task`` for the task "fail"."""


def analysis_for(task: str) -> TaskAnalysis:
    return TaskAnalysis(
        task_type=TaskType.INFORMATION_RETRIEVAL if "find" in task else TaskType.REASONING,
        complexity=Complexity.SIMPLE,
        subtasks=(Subtask(index=0, text=task, capabilities=(ToolCategory.SEARCH,)),),
        estimated_steps=1,
        pattern=ExecutionPattern.SEQUENTIAL,
        confidence=0.75,
    )


class Analyzer:
    """A TaskAnalyzer-like component."""

    calls = 0

    def analyze_task(self, task: str, *, strict: bool = False) -> TaskAnalysis:
        """Analyze one task."""
        if task == "fail":
            raise AnalysisFailed("cannot analyze 'fail'")
        return analysis_for(task)

    async def analyze_async(self, task: str) -> TaskAnalysis:
        """Analyze one task, asynchronously."""
        if task == "fail":
            raise AnalysisFailed("cannot analyze 'fail'")
        return analysis_for(task)

    @classmethod
    def count(cls, step: int = 1) -> int:
        cls.calls += step
        return cls.calls

    @staticmethod
    def normalise(task: str) -> str:
        return " ".join(task.split()).lower()

    @property
    def name(self) -> str:
        return "analyzer"


class StrictAnalyzer(Analyzer):
    """Inherits ``analyze_task``: a target named on the subclass wraps only the subclass."""


class Engine:
    async def decide(self, analysis: TaskAnalysis) -> Decision:
        return Decision(
            pattern=analysis.pattern,
            confidence=0.5,
            steps=(),
            unmatched=(Unmatched(0, "no_tool", "no tool fits"),),
        )


def plan(task: str) -> list[str]:
    """A plain module-level function."""
    return task.split()


async def fetch(key: str) -> str:
    """A plain module-level coroutine function."""
    return key.upper()


def words(task: str) -> Iterator[str]:
    """A generator function: cannot be one stage span."""
    yield from task.split()


async def call_echo(server_script: str, text: str) -> str:
    """Call the ``echo`` tool of a real stdio MCP server, as agent code does."""
    params = StdioServerParameters(command=sys.executable, args=[server_script])
    async with Client(params) as client:
        result = await client.call_tool("echo", {"text": text})
    block = result.content[0]
    return str(getattr(block, "text", ""))
