"""A fresh world for one task: a sandbox folder, a git repository, a memory graph, and the
``mcpServers`` file that points the five real servers at them.

Everything is fixed (file contents, commit authors and dates), so two fixtures built from the
same options are identical, commit hashes included. Commit hashes cannot be chosen, so the
commit the task list calls ``589ffdf`` is a lightweight tag of that name on the commit
"Add greeting module": git (and GitPython, which the git server uses) resolves it as a
revision.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from evals.real_servers.install import Installed

SANDBOX_FILES: Mapping[str, str] = {
    "notes.txt": "Meeting notes\nThe quarterly review moved to Thursday.\n"
    "Remember to water the plants.\n",
    "todo.txt": "- buy oat milk\n- renew the passport\n- call the plumber\n",
    "data.csv": "city,population\nTokyo,13960000\nParis,2161000\nLima,9751000\n",
    "plan.md": "# Plan\n\n1. Draft the proposal\n2. Review it with the team\n",
    "ideas.md": "# Ideas\n\n- a bicycle-powered blender\n",
    "archive/old-notes.txt": "Archived: the 2025 offsite was in Lisbon.\n",
    "archive/2025/summary.md": "# 2025 summary\n\nShipped version one.\n",
}

# (message, {path: content}, day of January 2026); the tag 589ffdf names the second commit.
COMMITS: tuple[tuple[str, dict[str, str], int], ...] = (
    ("Initial commit", {"README.md": "# greeter\n\nA tiny greeting program.\n"}, 5),
    (
        "Add greeting module",
        {"src/greeting.py": 'def greet(name):\n    return f"Hello, {name}"\n'},
        6,
    ),
    (
        "Document usage in README",
        {
            "README.md": "# greeter\n\nA tiny greeting program.\n\n## Usage\n\n"
            "Run `python -m greeting`.\n"
        },
        7,
    ),
    (
        "Fix greeting punctuation and start a changelog",
        {
            "src/greeting.py": 'def greet(name):\n    return f"Hello, {name}!"\n',
            "CHANGELOG.md": "# Changelog\n\n## 0.1.0\n- First release\n",
        },
        8,
    ),
)
TAGGED_COMMIT = 1  # index in COMMITS
SHORT_NAME = "589ffdf"
BRANCH = "feature-login"
BRANCH_COMMIT = ("Draft the login flow", {"docs/login.md": "# Login\n\nSign-in flow draft.\n"}, 9)
STAGED = ("CHANGELOG.md", "- Unreleased: a configurable greeting\n")  # appended, then staged
UNSTAGED = ("src/greeting.py", "# TODO: read the name from the command line\n")  # appended

MEMORY_ENTITIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Alice", "person", ("works at Acme", "speaks Portuguese")),
    ("Acme", "organization", ("makes anvils",)),
    ("Carol", "person", ("lives in Lisbon",)),
)
MEMORY_RELATIONS: tuple[tuple[str, str, str], ...] = (
    ("Alice", "Acme", "works_at"),
    ("Carol", "Alice", "knows"),
)

_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
}


@dataclasses.dataclass(frozen=True)
class Fixture:
    root: Path
    sandbox: Path
    repo: Path
    memory_file: Path
    home: Path  # MCP_AGENT_OTEL_HOME for the run
    servers_file: Path

    def facts(self) -> dict[str, str]:
        """Values the task table may name as ``{sandbox}``, ``{repo}``, ``{data_csv_size}``."""
        return {
            "sandbox": str(self.sandbox),
            "repo": str(self.repo),
            "data_csv_size": str((self.sandbox / "data.csv").stat().st_size),
        }


def git(repo: Path, *args: str, day: int | None = None) -> str:
    """Run git in ``repo`` with no user or system configuration, at a fixed date if given."""
    env = {**os.environ, **_GIT_ENV, "GIT_OPTIONAL_LOCKS": "0"}
    if day is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"2026-01-{day:02d}T09:00:00+0000"
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {repo}: {done.stderr.strip()}")
    return done.stdout


def _write(base: Path, files: Mapping[str, str]) -> None:
    for rel, content in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def _commit(repo: Path, message: str, files: Mapping[str, str], day: int) -> None:
    _write(repo, files)
    git(repo, "add", "--", *files)
    git(repo, "commit", "--quiet", "--no-verify", "-m", message, day=day)


def build_repo(repo: Path) -> None:
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "user.name", _GIT_ENV["GIT_AUTHOR_NAME"])
    git(repo, "config", "user.email", _GIT_ENV["GIT_AUTHOR_EMAIL"])
    git(repo, "config", "commit.gpgsign", "false")
    for index, (message, files, day) in enumerate(COMMITS):
        _commit(repo, message, files, day)
        if index == TAGGED_COMMIT:
            git(repo, "tag", SHORT_NAME)
    git(repo, "checkout", "--quiet", "-b", BRANCH)
    _commit(repo, *BRANCH_COMMIT)
    git(repo, "checkout", "--quiet", "main")
    staged_path, staged_line = STAGED
    with (repo / staged_path).open("a") as f:
        f.write(staged_line)
    git(repo, "add", "--", staged_path)
    unstaged_path, unstaged_line = UNSTAGED
    with (repo / unstaged_path).open("a") as f:
        f.write(unstaged_line)


def memory_lines(without: Iterable[str] = ()) -> str:
    """The graph in server-memory's own file format: one JSON object a line, entities first."""
    drop = set(without)
    lines = [
        json.dumps({"type": "entity", "name": name, "entityType": kind, "observations": list(obs)})
        for name, kind, obs in MEMORY_ENTITIES
        if name not in drop
    ]
    lines += [
        json.dumps({"type": "relation", "from": a, "to": b, "relationType": kind})
        for a, b, kind in MEMORY_RELATIONS
        if a not in drop and b not in drop
    ]
    return "\n".join(lines)


def servers_config(installed: Installed, fixture: Fixture) -> dict[str, object]:
    """The ``mcpServers`` file a desktop MCP client would use for these five servers."""
    return {
        "mcpServers": {
            "time": {"command": str(installed.time), "args": ["--local-timezone", "UTC"]},
            "git": {"command": str(installed.git), "args": ["--repository", str(fixture.repo)]},
            "filesystem": {
                "command": "node",
                "args": [str(installed.filesystem), str(fixture.sandbox)],
            },
            "memory": {
                "command": "node",
                "args": [str(installed.memory)],
                "env": {"MEMORY_FILE_PATH": str(fixture.memory_file)},
            },
            "everything": {"command": "node", "args": [str(installed.everything), "stdio"]},
        }
    }


def build(root: Path, installed: Installed, memory_without: Iterable[str] = ()) -> Fixture:
    """Build the fixture in the empty (or missing) directory ``root``."""
    root = root.resolve()
    fixture = Fixture(
        root=root,
        sandbox=root / "sandbox",
        repo=root / "repo",
        memory_file=root / "memory" / "memory.jsonl",
        home=root / "home",
        servers_file=root / "servers.json",
    )
    fixture.sandbox.mkdir(parents=True)
    _write(fixture.sandbox, SANDBOX_FILES)
    build_repo(fixture.repo)
    fixture.memory_file.parent.mkdir()
    fixture.memory_file.write_text(memory_lines(memory_without))
    fixture.home.mkdir()
    fixture.servers_file.write_text(json.dumps(servers_config(installed, fixture), indent=2))
    return fixture
