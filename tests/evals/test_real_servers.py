"""The agent on the five real third-party MCP servers: a fast subset of ``make eval``.

The servers are installed at their pinned versions when missing (the same installer as
``make eval``; PyPI and npm must be reachable, as on CI). Each task runs through the real
``mcp-agent-otel run --json`` in a fresh fixture and must be done: the right exit code, the
asked-for output, the right post-state and no change that was not asked for. Deselect with
``-m "not real_servers"``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from evals.real_servers import install, runner, tasks

# the module's first test installs the servers and runs every task of the subset (2 at a time)
pytestmark = [pytest.mark.real_servers, pytest.mark.timeout(600)]

# One per server and per kind: reads that must not write, writes with exact post-states, a
# destructive task refused without consent (before the call), a two-server task.
SUBSET = (
    "time-tokyo",  # time: a city mapped to its zone; the output is now, there
    "fs-read-todo",  # filesystem: the read that once overwrote the file
    "fs-write-greeting",  # filesystem: a write, exactly one file changed
    "git-status",  # git: repo_path from the server's configuration
    "git-create-branch",  # git: one new ref, nothing else
    "mem-observe-alice",  # memory: an array of objects as the argument
    "x-mem-delete-carol-refused",  # destructive without consent: exit 1, nothing changed
    "echo-hello",  # everything: the message, not the sentence
    "multi-time-echo",  # two servers, two steps
)


@pytest.fixture(scope="module")
def installed() -> install.Installed:
    try:
        return install.install(log=False)
    except install.InstallError as exc:
        pytest.fail(f"the real MCP servers could not be installed: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def runs(installed: install.Installed) -> dict[str, runner.TaskRun]:
    table = {t.id: t for t in tasks.load()}
    chosen = [table[i] for i in SUBSET]
    return {r.task.id: r for r in runner.run_all(chosen, installed, jobs=2)}


@pytest.mark.parametrize("task_id", SUBSET)
def test_task_is_done(runs: dict[str, runner.TaskRun], task_id: str) -> None:
    run = runs[task_id]
    assert run.verdict.done, (
        f"{run.task.text!r} not done: {'; '.join(run.verdict.reasons)}\n"
        f"exit {run.exit_code}; tools {run.tools}\nstderr: {run.stderr_tail}"
    )


def test_a_complete_installation_is_not_installed_again(
    installed: install.Installed, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the installer ran {args} although the servers are installed")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    assert install.install(log=False) == installed


def test_an_unreachable_registry_is_a_clear_install_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no mirror from a pip.conf
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    with pytest.raises(install.InstallError) as caught:
        install.install(tmp_path / "servers", log=False)
    message = str(caught.value)
    assert message.startswith("pip install failed (exit 1)")
    assert "needs the PyPI and npm registries" in message
    assert not (tmp_path / "servers" / install.STAMP_NAME).exists()
