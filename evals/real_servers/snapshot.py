"""What a fixture holds, as one flat map from a key to a value, and the difference of two.

Keys (values in brackets):
  ``sandbox/<path>``              a file [``file:<sha256>``] or folder [``dir``] in the sandbox
  ``repo/<path>``                 a file of the repository's work tree, .git excluded [same]
  ``git:HEAD``                    [``ref: refs/heads/main`` or a commit when detached]
  ``git:refs/<...>``              every ref: branches, tags [the object it names]
  ``git:index/<path>``            an index entry [``mode blob stage``]
  ``memory:entity/<name>``        [canonical JSON of its type and observations]
  ``memory:relation/<from>|<type>|<to>``  [``1``]
  ``other/<path>``                anything else in the fixture's folder (home and memory/
                                  excluded): nothing should ever appear there

Reading never changes the fixture (git runs with GIT_OPTIONAL_LOCKS=0 and is asked nothing
that writes). Small text files are kept whole in ``texts`` for the post-state checks, with
the repository's HEAD subject and staged paths.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from evals.real_servers.fixture import Fixture, git

TEXT_LIMIT = 64 * 1024
# the fixture's own parts, each read in its own way (home is the agent's state: not judged)
OWN_PARTS = frozenset({"sandbox", "repo", "memory", "home", "servers.json"})


@dataclasses.dataclass(frozen=True)
class State:
    entries: Mapping[str, str]
    texts: Mapping[str, str]  # key -> text, for small UTF-8 files and a few git facts


@dataclasses.dataclass(frozen=True)
class Diff:
    added: Mapping[str, str]  # key -> value after
    removed: Mapping[str, str]  # key -> value before
    changed: Mapping[str, tuple[str, str]]  # key -> (before, after)

    def keys(self) -> list[str]:
        return sorted({*self.added, *self.removed, *self.changed})

    def kind(self, key: str) -> str:
        if key in self.added:
            return "added"
        return "removed" if key in self.removed else "changed"

    def describe(self, key: str) -> str:
        return f"{key} {self.kind(key)}"


def diff(before: Mapping[str, str], after: Mapping[str, str]) -> Diff:
    """Every key added, removed or given another value."""
    return Diff(
        added={k: v for k, v in after.items() if k not in before},
        removed={k: v for k, v in before.items() if k not in after},
        changed={
            k: (before[k], after[k]) for k in before.keys() & after.keys() if before[k] != after[k]
        },
    )


def _tree(
    prefix: str, base: Path, skip: frozenset[str] = frozenset()
) -> tuple[dict[str, str], dict[str, str]]:
    entries: dict[str, str] = {}
    texts: dict[str, str] = {}
    if not base.exists():
        return entries, texts
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if rel.parts[0] in skip:
            continue
        key = f"{prefix}/{rel.as_posix()}"
        if path.is_symlink():
            entries[key] = f"link:{path.readlink()}"
        elif path.is_dir():
            entries[key] = "dir"
        else:
            data = path.read_bytes()
            entries[key] = "file:" + hashlib.sha256(data).hexdigest()
            if len(data) <= TEXT_LIMIT:
                with contextlib.suppress(UnicodeDecodeError):
                    texts[key] = data.decode()
    return entries, texts


def _git(repo: Path) -> tuple[dict[str, str], dict[str, str]]:
    entries: dict[str, str] = {}
    head = (repo / ".git" / "HEAD").read_text().strip()
    entries["git:HEAD"] = head
    for line in git(repo, "for-each-ref", "--format=%(refname) %(objectname)").splitlines():
        name, _, sha = line.partition(" ")
        entries[f"git:{name}"] = sha
    for line in git(repo, "ls-files", "--stage", "-z").split("\0"):
        if line:
            meta, _, path = line.partition("\t")
            entries[f"git:index/{path}"] = meta
    texts = {
        "git:head_subject": git(repo, "log", "-1", "--format=%s").strip(),
        "git:staged": git(repo, "diff", "--cached", "--name-only").strip(),
    }
    return entries, texts


def _memory(memory_file: Path) -> dict[str, str]:
    """The graph as server-memory reads it (a missing file is an empty graph)."""
    entries: dict[str, str] = {}
    if not memory_file.exists():
        return entries
    for line in memory_file.read_text().splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        if item.get("type") == "entity":
            value = {"entityType": item.get("entityType"), "observations": item.get("observations")}
            entries[f"memory:entity/{item.get('name')}"] = json.dumps(value, sort_keys=True)
        elif item.get("type") == "relation":
            key = f"memory:relation/{item.get('from')}|{item.get('relationType')}|{item.get('to')}"
            entries[key] = "1"
    return entries


def capture(fixture: Fixture) -> State:
    entries: dict[str, str] = {}
    texts: dict[str, str] = {}
    for part in (
        _tree("sandbox", fixture.sandbox),
        _tree("repo", fixture.repo, skip=frozenset({".git"})),
        _git(fixture.repo),
        _tree("other", fixture.root, skip=OWN_PARTS),
    ):
        entries.update(part[0])
        texts.update(part[1])
    entries.update(_memory(fixture.memory_file))
    return State(entries=entries, texts=texts)
