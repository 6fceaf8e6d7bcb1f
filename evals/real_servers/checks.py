"""Judge one run: pure functions of the task, what the CLI printed, and the fixture's states
before and after. No I/O here, so the judge itself is unit-tested without any server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from evals.real_servers.snapshot import State, diff
from evals.real_servers.tasks import AfterChecks, OutputChecks, Task

NOW_TOLERANCE = dt.timedelta(minutes=10)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """What the CLI did: exit code (None when it timed out), stdout parsed as JSON if it was."""

    exit_code: int | None
    result: Mapping[str, Any] | None
    stderr_tail: str = ""


@dataclasses.dataclass(frozen=True)
class Verdict:
    done: bool
    reasons: tuple[str, ...]
    unrequested: tuple[str, ...]  # changes nobody asked for, each as "key added/removed/changed"
    changes: tuple[str, ...]  # every change seen


def _tool_name(ref: Any) -> str | None:
    if isinstance(ref, Mapping) and "server" in ref and "name" in ref:
        return f"{ref['server']}/{ref['name']}"
    return None


def _arguments(value: Any) -> Any:
    """Arguments as an object, whether the CLI gave an object or (before #10) JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def tools_called(result: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Each step's tool calls with the planned arguments, and destructive calls held back."""
    if not result:
        return []
    plans = {p.get("subtask_index"): p for p in result.get("decision", {}).get("steps", [])}
    calls: list[dict[str, Any]] = []
    for step in result.get("steps", []):
        plan = plans.get(step.get("subtask_index"), {})
        planned = [(_tool_name(plan.get("tool")), _arguments(plan.get("arguments", {})))]
        fallback_args = [_arguments(a) for a in plan.get("fallback_arguments", [])]
        for i, ref in enumerate(plan.get("fallbacks", [])):
            planned.append((_tool_name(ref), fallback_args[i] if i < len(fallback_args) else {}))
        args_of = {name: args for name, args in reversed(planned) if name}
        status = step.get("status")
        attempts = [_tool_name(a) for a in step.get("attempts", [])] or (
            [_tool_name(step.get("tool"))] if step.get("tool") else []
        )
        if status == "needs_consent":
            name = _tool_name(step.get("tool")) or planned[0][0]
            calls.append(
                {
                    "subtask": step.get("subtask_index"),
                    "tool": name,
                    "arguments": args_of.get(name),
                    "status": status,
                    "called": False,
                }
            )
            continue
        for n, name in enumerate(attempts):
            last = n == len(attempts) - 1
            calls.append(
                {
                    "subtask": step.get("subtask_index"),
                    "tool": name,
                    "arguments": args_of.get(name),
                    "status": status if last else "error",
                    "called": True,
                }
            )
    return calls


def _ok_steps(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in result.get("steps", []) if s.get("status") == "ok"]


def _current_time_shown(text: str, zone: str, now: dt.datetime) -> bool:
    tz = ZoneInfo(zone)
    local_now = now.astimezone(tz)
    for found in _ISO.findall(text):
        try:
            stamp = dt.datetime.fromisoformat(found.replace("Z", "+00:00"))
        except ValueError:
            continue
        if stamp.tzinfo is None:
            if abs(stamp - local_now.replace(tzinfo=None)) <= NOW_TOLERANCE:
                return True
        elif stamp.utcoffset() == local_now.utcoffset() and abs(stamp - now) <= NOW_TOLERANCE:
            return True
    return False


def expected_conversion(hhmm: str, source: str, target: str, now: dt.datetime) -> str:
    """HH:MM in ``target`` when it is ``hhmm`` today in ``source`` (as mcp-server-time does)."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    src = ZoneInfo(source)
    when = now.astimezone(src).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return when.astimezone(ZoneInfo(target)).strftime("%H:%M")


def check_output(
    checks: OutputChecks, result: Mapping[str, Any] | None, now: dt.datetime
) -> list[str]:
    needs_result = dataclasses.asdict(checks) != dataclasses.asdict(OutputChecks())
    if result is None:
        return ["no JSON result on stdout"] if needs_result else []
    text = "\n".join(str(s.get("output", "")) for s in _ok_steps(result))
    reasons = [f"output lacks {s!r}" for s in checks.contains if s not in text]
    reasons += [f"output holds {s!r}" for s in checks.not_contains if s in text]
    reasons += [
        f"output does not match /{p}/"
        for p in checks.matches
        if not re.search(p, text, re.MULTILINE)
    ]
    if checks.now_in and not (
        checks.now_in in text and _current_time_shown(text, checks.now_in, now)
    ):
        reasons.append(f"output does not show the current time in {checks.now_in}")
    if checks.converted:
        hhmm, source, target = checks.converted
        want = expected_conversion(hhmm, source, target, now)
        if not (re.search(rf"(?<!\d){want}(?!\d)", text) and target in text):
            reasons.append(f"output does not show {want} {target} ({hhmm} {source})")
    ran_ok = {_tool_name(s.get("tool")) for s in _ok_steps(result)}
    for wanted in checks.tools:
        if not ran_ok & set(wanted.split("|")):
            reasons.append(f"{wanted} did not run ok (ran ok: {sorted(n for n in ran_ok if n)})")
    if checks.status:
        statuses = [s.get("status") for s in result.get("steps", [])]
        if checks.status not in statuses:
            reasons.append(f"no step ended {checks.status} (steps: {statuses})")
    return reasons


def check_after(checks: AfterChecks, after: State) -> list[str]:
    reasons: list[str] = []
    for key, want in checks.files.items():
        got = after.texts.get(key)
        if got is None:
            reasons.append(f"{key} is not a readable text file afterwards")
        elif got.rstrip("\n") != want.rstrip("\n"):
            reasons.append(f"{key} holds {got[:60]!r}, expected {want[:60]!r}")
    for key, want in checks.values.items():
        if after.entries.get(key) != want:
            reasons.append(f"{key} is {after.entries.get(key)!r} afterwards, expected {want!r}")
    reasons += [f"{k} does not exist afterwards" for k in checks.exists if k not in after.entries]
    reasons += [f"{k} still exists afterwards" for k in checks.missing if k in after.entries]
    for entity in checks.entities:
        raw = after.entries.get(f"memory:entity/{entity.name}")
        if raw is None:
            reasons.append(f"no entity {entity.name} in memory afterwards")
            continue
        value = json.loads(raw)
        if entity.type is not None and value.get("entityType") != entity.type:
            reasons.append(
                f"entity {entity.name} has type {value.get('entityType')!r}, "
                f"expected {entity.type!r}"
            )
        observations = value.get("observations") or []
        reasons += [
            f"entity {entity.name} lacks the observation {o!r}"
            for o in entity.observations
            if o not in observations
        ]
    if checks.head_subject is not None:
        got = after.texts.get("git:head_subject")
        if got != checks.head_subject:
            reasons.append(f"HEAD commit is {got!r}, expected {checks.head_subject!r}")
    if checks.staged is not None:
        got_staged = sorted(filter(None, after.texts.get("git:staged", "").splitlines()))
        if got_staged != sorted(checks.staged):
            reasons.append(f"staged {got_staged}, expected {sorted(checks.staged)}")
    return reasons


KINDS = ("added", "removed", "changed")


def declared_match(pattern: str, key: str, kind: str) -> bool:
    """``pattern`` is a glob over keys and the kind of change it allows, as in
    ``sandbox/notes.txt removed``: notes.txt overwritten does not match it."""
    glob, _, allowed = pattern.rpartition(" ")
    return allowed == kind and fnmatch.fnmatchcase(key, glob)


def check_changes(
    declared: Sequence[str], before: State, after: State
) -> tuple[list[str], list[str], list[str]]:
    """(unrequested changes, declared changes that did not happen, every change)."""
    delta = diff(before.entries, after.entries)
    keys = delta.keys()
    unrequested = [
        delta.describe(k)
        for k in keys
        if not any(declared_match(p, k, delta.kind(k)) for p in declared)
    ]
    not_done = [p for p in declared if not any(declared_match(p, k, delta.kind(k)) for k in keys)]
    return unrequested, not_done, [delta.describe(k) for k in keys]


def judge(task: Task, run: RunOutcome, before: State, after: State, now: dt.datetime) -> Verdict:
    """Done = expected exit code, output checks, post-state checks, exactly the declared
    changes. Every reason it is not done is listed."""
    reasons: list[str] = []
    if run.exit_code is None:
        reasons.append("timed out")
    elif run.exit_code != task.exit_code:
        reasons.append(f"exit {run.exit_code}, expected {task.exit_code}")
    reasons += check_output(task.output, run.result, now)
    reasons += check_after(task.after, after)
    unrequested, not_done, changes = check_changes(task.changes, before, after)
    reasons += [f"unrequested change: {c}" for c in unrequested]
    reasons += [f"expected change did not happen: {p}" for p in not_done]
    return Verdict(
        done=not reasons,
        reasons=tuple(reasons),
        unrequested=tuple(unrequested),
        changes=tuple(changes),
    )
