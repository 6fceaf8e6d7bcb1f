"""Run tasks through the real CLI, each in a fresh fixture, and judge them.

Each task: build the fixture in a temp folder, snapshot it, run
``mcp-agent-otel run TEXT --servers FILE --json [--allow-destructive]`` as a subprocess
(stdin closed, so a consent prompt cannot be answered; its own MCP_AGENT_OTEL_HOME; no OTLP
endpoint; a timeout), snapshot again, judge. The temp folder is removed afterwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from evals.real_servers import checks, fixture, snapshot
from evals.real_servers.install import Installed
from evals.real_servers.tasks import Task

TASK_TIMEOUT_S = 90.0


@dataclasses.dataclass(frozen=True)
class TaskRun:
    task: Task  # with the fixture's paths filled in
    exit_code: int | None
    verdict: checks.Verdict
    tools: list[dict[str, Any]]
    seconds: float
    stderr_tail: str
    has_result: bool  # the CLI printed a WorkflowResult as JSON

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.task.id,
            "text": self.task.text,
            "servers": list(self.task.servers),
            "source": self.task.source,
            "allow_destructive": self.task.allow_destructive,
            "expected_exit_code": self.task.exit_code,
            "exit_code": self.exit_code,
            "done": self.verdict.done,
            "reasons": list(self.verdict.reasons),
            "tools_called": self.tools,
            "changes": list(self.verdict.changes),
            "unrequested_changes": list(self.verdict.unrequested),
            "seconds": round(self.seconds, 2),
            "has_result": self.has_result,
            "stderr_tail": self.stderr_tail,
        }


def cli_path() -> Path:
    """The project's own ``mcp-agent-otel`` beside this interpreter (the venv's)."""
    beside = Path(sys.executable).parent / "mcp-agent-otel"
    found = beside if beside.exists() else shutil.which("mcp-agent-otel")
    if not found:
        raise FileNotFoundError("mcp-agent-otel is not installed in this environment: run make")
    return Path(found)


def _env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_EXPORTER_OTLP", "MCP_AGENT_OTEL_"))
    }
    env["MCP_AGENT_OTEL_HOME"] = str(home)
    return env


def _invoke(
    command: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float
) -> tuple[int | None, str, str]:
    """Run the CLI; on timeout kill its whole process group (it and the servers it started)."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err


def parse_stdout(stdout: str) -> Mapping[str, Any] | None:
    try:
        value = json.loads(stdout)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def run_task(
    task: Task,
    installed: Installed,
    cli: Path,
    timeout: float = TASK_TIMEOUT_S,
    keep: Path | None = None,
) -> TaskRun:
    root = Path(tempfile.mkdtemp(prefix=f"eval-{task.id}-"))
    try:
        fx = fixture.build(root / "fx", installed, memory_without=task.memory_without)
        task = task.with_facts(fx.facts())
        before = snapshot.capture(fx)
        command = [str(cli), "run", task.text, "--servers", str(fx.servers_file), "--json"]
        if task.allow_destructive:
            command.append("--allow-destructive")
        started = time.perf_counter()
        code, out, err = _invoke(command, fx.root, _env(fx.home), timeout)
        seconds = time.perf_counter() - started
        after = snapshot.capture(fx)
        result = parse_stdout(out)
        outcome = checks.RunOutcome(exit_code=code, result=result)
        verdict = checks.judge(task, outcome, before, after, dt.datetime.now(dt.timezone.utc))
        tail = "\n".join(err.strip().splitlines()[-5:])
        if keep is not None:
            (keep / task.id).mkdir(parents=True, exist_ok=True)
            (keep / task.id / "stdout.json").write_text(out)
            (keep / task.id / "stderr.txt").write_text(err)
        return TaskRun(
            task, code, verdict, checks.tools_called(result), seconds, tail, result is not None
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_all(
    tasks: Iterable[Task],
    installed: Installed,
    jobs: int = 2,
    timeout: float = TASK_TIMEOUT_S,
    keep: Path | None = None,
    on_done: Callable[[TaskRun], None] | None = None,
) -> list[TaskRun]:
    """Every task, ``jobs`` at a time, in the table's order."""
    cli = cli_path()
    task_list = list(tasks)

    def one(task: Task) -> TaskRun:
        run = run_task(task, installed, cli, timeout, keep)
        if on_done is not None:
            on_done(run)
        return run

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, task_list))
