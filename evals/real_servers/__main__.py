"""``python -m evals.real_servers`` (``make eval``): install, run every task, report.

Exit 0 whenever the measurement ran (whatever it measured); 1 when the harness itself broke
(the servers could not be installed, the task table is malformed, a fixture failed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from evals.real_servers import install, report, runner, tasks


def _agent_version() -> dict[str, object]:
    """The commit the agent was run from, and whether its package had uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=install.REPO_ROOT, capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    dirty = git("status", "--porcelain", "--", "mcp_agent_otel")
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "package_dirty": bool(dirty)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.real_servers", description=__doc__)
    parser.add_argument("--jobs", type=int, default=2, help="tasks run at once (default 2)")
    parser.add_argument(
        "--timeout", type=float, default=runner.TASK_TIMEOUT_S, help="seconds per task"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="run the tasks whose id contains this (repeatable)",
    )
    parser.add_argument("--output", type=Path, default=Path("eval-results.json"))
    parser.add_argument("--keep", type=Path, help="save each task's stdout/stderr here")
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 150)  # a log keeps the rows whole
    try:
        installed = install.install()
        table = tasks.load()
    except (install.InstallError, tasks.TaskTableError, OSError) as exc:
        console.print(f"[red]error:[/] {exc}", soft_wrap=True, markup=False)
        return 1
    chosen = [t for t in table if not args.only or any(s in t.id for s in args.only)]
    if not chosen:
        console.print(f"no task id contains any of {args.only}")
        return 1
    started = time.perf_counter()
    count = [0]

    def progress(run: runner.TaskRun) -> None:
        count[0] += 1
        mark = "✓" if run.verdict.done else "✗"
        console.print(
            f"[{count[0]}/{len(chosen)}] {mark} {run.task.id} ({run.seconds:.1f} s)",
            markup=False,
            highlight=False,
        )

    try:
        runs = runner.run_all(
            chosen,
            installed,
            jobs=args.jobs,
            timeout=args.timeout,
            keep=args.keep,
            on_done=progress,
        )
    except (RuntimeError, OSError) as exc:
        console.print(f"[red]harness error:[/] {exc}", soft_wrap=True)
        return 1
    figures = report.print_report(console, runs)
    meta = {
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "jobs": args.jobs,
        "python": platform.python_version(),
        "agent": _agent_version(),
        "servers": {"pypi": list(install.PYPI_PINS), "npm": list(install.NPM_PINS)},
    }
    report.write_json(args.output, runs, meta)
    console.print(f"wrote {args.output} ({figures['tasks']} tasks, {meta['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
