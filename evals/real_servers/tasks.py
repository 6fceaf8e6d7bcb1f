"""The task table (``tasks.toml``): each task's text and what counts as done.

A task is done when the exit code is the expected one, its output checks hold, its
post-state checks hold, and the fixture changed in exactly the declared ways (``changes``:
glob patterns over the keys of :mod:`.snapshot`, each followed by the kind of change it
allows: added, removed or changed; each must match a change, and every change must match one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomllib

TASKS_FILE = Path(__file__).with_name("tasks.toml")
SERVERS = ("time", "git", "filesystem", "memory", "everything", "none")  # none: no tool fits
STATUSES = ("ok", "error", "timeout", "unmatched", "skipped", "needs_consent")


class TaskTableError(ValueError):
    """The task table is malformed; the message names the task and the field."""


@dataclasses.dataclass(frozen=True)
class EntityCheck:
    name: str
    type: str | None = None
    observations: tuple[str, ...] = ()  # each must be among the entity's observations


@dataclasses.dataclass(frozen=True)
class OutputChecks:
    """Checks on the text of the steps that succeeded (or on the steps themselves)."""

    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    matches: tuple[str, ...] = ()  # regular expressions (re.MULTILINE)
    now_in: str | None = None  # an IANA zone: the output shows the current time there
    converted: tuple[str, str, str] | None = None  # (HH:MM, from zone, to zone), for today
    tools: tuple[str, ...] = ()  # "server/tool" (alternatives split by "|"), each ran ok
    status: str | None = None  # some step ended with this status


@dataclasses.dataclass(frozen=True)
class AfterChecks:
    """Checks on the fixture after the run (keys as in :mod:`.snapshot`)."""

    files: Mapping[str, str] = dataclasses.field(default_factory=dict)  # key -> exact text
    values: Mapping[str, str] = dataclasses.field(default_factory=dict)  # key -> exact value
    exists: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    entities: tuple[EntityCheck, ...] = ()
    head_subject: str | None = None
    staged: tuple[str, ...] | None = None  # exactly these paths staged


@dataclasses.dataclass(frozen=True)
class Task:
    id: str
    text: str
    servers: tuple[str, ...]
    source: str  # "dev" (dev_tasks.txt) or "extra"
    exit_code: int = 0
    allow_destructive: bool = False
    changes: tuple[str, ...] = ()
    memory_without: tuple[str, ...] = ()
    output: OutputChecks = OutputChecks()
    after: AfterChecks = AfterChecks()
    note: str = ""

    def with_facts(self, facts: Mapping[str, str]) -> Task:
        """``{sandbox}``, ``{repo}``... in the text and the checks replaced by the fixture's."""

        def fill(value: Any) -> Any:
            if isinstance(value, str):
                for name, fact in facts.items():
                    value = value.replace("{" + name + "}", fact)
                return value
            if isinstance(value, tuple):
                return tuple(fill(v) for v in value)
            if isinstance(value, dict):
                return {fill(k): fill(v) for k, v in value.items()}
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                return dataclasses.replace(
                    value,
                    **{f.name: fill(getattr(value, f.name)) for f in dataclasses.fields(value)},
                )
            return value

        filled: Task = fill(self)
        return filled


def _strings(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TaskTableError(f"{where}: expected a string or a list of strings, got {value!r}")
    return tuple(value)


def _build(cls: type[Any], where: str, data: Mapping[str, Any], conv: Mapping[str, Any]) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise TaskTableError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(known)}")
    kwargs = {}
    for name, value in data.items():
        convert = conv.get(name)
        kwargs[name] = convert(f"{where}.{name}", value) if convert else value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise TaskTableError(f"{where}: {exc}") from exc


def _output(where: str, data: Any) -> OutputChecks:
    def converted(w: str, v: Any) -> tuple[str, str, str]:
        if not isinstance(v, dict) or set(v) != {"time", "from", "to"}:
            raise TaskTableError(f"{w}: expected {{time, from, to}}, got {v!r}")
        return (str(v["time"]), str(v["from"]), str(v["to"]))

    def status(w: str, v: Any) -> str:
        if v not in STATUSES:
            raise TaskTableError(f"{w}: {v!r} is not one of {STATUSES}")
        return str(v)

    conv = {k: _strings for k in ("contains", "not_contains", "matches", "tools")}
    result: OutputChecks = _build(
        OutputChecks, where, data, {**conv, "converted": converted, "status": status}
    )
    return result


def _after(where: str, data: Any) -> AfterChecks:
    def entities(w: str, v: Any) -> tuple[EntityCheck, ...]:
        items = v if isinstance(v, list) else [v]
        return tuple(
            _build(EntityCheck, f"{w}[{i}]", item, {"observations": _strings})
            for i, item in enumerate(items)
        )

    def table(w: str, v: Any) -> dict[str, str]:
        if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
            raise TaskTableError(f"{w}: expected a table of key = text")
        return dict(v)

    result: AfterChecks = _build(
        AfterChecks,
        where,
        data,
        {
            "exists": _strings,
            "missing": _strings,
            "staged": _strings,
            "entities": entities,
            "files": table,
            "values": table,
        },
    )
    return result


def parse(table: Mapping[str, Any]) -> list[Task]:
    tasks: list[Task] = []
    seen: set[str] = set()
    for number, raw in enumerate(table.get("task", []), 1):
        where = f"task #{number} ({raw.get('id', 'no id')})"
        if raw.get("id") in seen:
            raise TaskTableError(f"{where}: duplicate id")
        task: Task = _build(
            Task,
            where,
            raw,
            {
                "servers": _strings,
                "changes": _strings,
                "memory_without": _strings,
                "output": _output,
                "after": _after,
            },
        )
        bad = set(task.servers) - set(SERVERS)
        if bad or not task.servers:
            raise TaskTableError(
                f"{where}: servers must name some of {SERVERS}, got {task.servers}"
            )
        if task.source not in ("dev", "extra"):
            raise TaskTableError(f"{where}: source must be 'dev' or 'extra'")
        for pattern in task.changes:
            if pattern.rpartition(" ")[2] not in ("added", "removed", "changed"):
                raise TaskTableError(
                    f"{where}: change {pattern!r} must end with the kind of change: "
                    "added, removed or changed"
                )
        if task.exit_code not in (0, 1, 2):
            raise TaskTableError(f"{where}: exit_code must be 0, 1 or 2")
        seen.add(task.id)
        tasks.append(task)
    if not tasks:
        raise TaskTableError("the task table has no [[task]] entries")
    return tasks


def load(path: Path = TASKS_FILE) -> list[Task]:
    with path.open("rb") as f:
        return parse(tomllib.load(f))
