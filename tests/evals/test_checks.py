"""The real-server evaluation's judge, its task table and its snapshots: pure and fast (no
MCP server runs here; the fixture tests run git on a temp folder)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from evals.real_servers import checks, fixture, snapshot, tasks
from evals.real_servers.install import Installed
from evals.real_servers.report import totals
from evals.real_servers.runner import TaskRun
from evals.real_servers.snapshot import State

NOW = dt.datetime(2026, 12, 5, 15, 0, tzinfo=dt.timezone.utc)
BEFORE = State(
    entries={
        "sandbox/notes.txt": "file:aaa",
        "sandbox/archive": "dir",
        "git:HEAD": "ref: refs/heads/main",
        "git:refs/heads/main": "c4",
        "memory:entity/Alice": json.dumps({"entityType": "person", "observations": ["x"]}),
    },
    texts={"sandbox/notes.txt": "notes", "git:head_subject": "Fix", "git:staged": "CHANGELOG.md"},
)


def task(**fields: Any) -> tasks.Task:
    return tasks.Task(id="t", text="do it", servers=("filesystem",), source="extra", **fields)


def result(*steps: dict[str, Any], plans: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {"task": "do it", "decision": {"steps": list(plans)}, "steps": list(steps)}


def ok_step(output: str, tool: str = "filesystem/read_text_file", index: int = 0) -> dict[str, Any]:
    server, name = tool.split("/")
    return {
        "subtask_index": index,
        "status": "ok",
        "output": output,
        "tool": {"server": server, "name": name},
        "attempts": [{"server": server, "name": name}],
    }


def with_entries(state: State, **changes: str | None) -> State:
    entries = dict(state.entries)
    for key, value in changes.items():
        key = key.replace("__", "/")
        if value is None:
            entries.pop(key, None)
        else:
            entries[key] = value
    return dataclasses.replace(state, entries=entries)


def judge(
    t: tasks.Task, exit_code: int | None, res: dict[str, Any] | None, after: State = BEFORE
) -> checks.Verdict:
    return checks.judge(t, checks.RunOutcome(exit_code, res), BEFORE, after, NOW)


# --- the judge ------------------------------------------------------------------------------


def test_a_read_that_did_what_was_asked_is_done() -> None:
    t = task(output=tasks.OutputChecks(contains=("notes",)))
    verdict = judge(t, 0, result(ok_step("notes")))
    assert verdict == checks.Verdict(done=True, reasons=(), unrequested=(), changes=())


def test_a_wrong_exit_code_is_not_done_even_when_everything_else_holds() -> None:
    t = task(output=tasks.OutputChecks(contains=("notes",)))
    verdict = judge(t, 1, result(ok_step("notes")))
    assert not verdict.done
    assert verdict.reasons == ("exit 1, expected 0",)


def test_a_timeout_is_not_done() -> None:
    assert judge(task(), None, None).reasons == ("timed out",)


def test_the_snapshot_diff_finds_an_unrequested_change() -> None:
    """The todo.txt overwrite of issue 10: exit 0, output fine, but a file changed."""
    after = with_entries(BEFORE, sandbox__notes_txt=None, **{"sandbox__todo.txt": "file:bbb"})
    after = with_entries(after, **{"sandbox__notes.txt": "file:ccc"})
    verdict = judge(
        task(output=tasks.OutputChecks(contains=("notes",))), 0, result(ok_step("notes")), after
    )
    assert not verdict.done
    assert verdict.unrequested == ("sandbox/notes.txt changed", "sandbox/todo.txt added")
    assert "unrequested change: sandbox/notes.txt changed" in verdict.reasons


def test_a_declared_change_that_did_not_happen_is_not_done() -> None:
    verdict = judge(task(changes=("sandbox/greeting.txt added",)), 0, result(ok_step("wrote")))
    assert verdict.reasons == ("expected change did not happen: sandbox/greeting.txt added",)


def test_declared_changes_are_globs_and_every_change_must_be_declared() -> None:
    after = with_entries(BEFORE, **{"git:refs/heads/feature-x": "c4", "sandbox__x": "dir"})
    verdict = judge(task(changes=("git:refs/heads/* added",)), 0, result(ok_step("created")), after)
    assert verdict.unrequested == ("sandbox/x added",)
    assert verdict.changes == ("git:refs/heads/feature-x added", "sandbox/x added")


def test_a_declared_change_allows_only_its_kind() -> None:
    """Asked to move notes.txt, the agent overwrote it: removed was declared, changed is not."""
    t = task(changes=("sandbox/notes.txt removed", "sandbox/archive/notes.txt added"))
    moved = with_entries(BEFORE, **{"sandbox__notes.txt": None, "sandbox__archive/notes.txt": "f"})
    assert judge(t, 0, result(ok_step("moved")), moved).done
    overwritten = with_entries(BEFORE, **{"sandbox__notes.txt": "file:ccc"})
    verdict = judge(t, 0, result(ok_step("wrote")), overwritten)
    assert verdict.unrequested == ("sandbox/notes.txt changed",)
    assert verdict.reasons[1:] == (
        "expected change did not happen: sandbox/notes.txt removed",
        "expected change did not happen: sandbox/archive/notes.txt added",
    )


def test_output_checks_read_only_the_steps_that_succeeded() -> None:
    failed = {
        "subtask_index": 1,
        "status": "error",
        "output": "renew the passport",
        "error": "boom",
        "tool": None,
    }
    t = task(output=tasks.OutputChecks(contains=("renew the passport",), not_contains=("oops",)))
    verdict = judge(t, 0, result(ok_step("oops"), failed))
    assert verdict.reasons == ("output lacks 'renew the passport'", "output holds 'oops'")


def test_no_json_on_stdout_fails_the_output_checks_only_when_there_are_some() -> None:
    assert judge(task(output=tasks.OutputChecks(contains=("x",))), 0, None).reasons == (
        "no JSON result on stdout",
    )
    assert judge(task(exit_code=1), 1, None).done


def test_regex_checks_are_per_line() -> None:
    t = task(output=tasks.OutputChecks(matches=("^Echo: hello world$",)))
    assert judge(t, 0, result(ok_step("Echo: hello world", "everything/echo"))).done
    assert not judge(t, 0, result(ok_step("Echo: Echo hello world", "everything/echo"))).done


def test_current_time_must_be_now_in_that_zone() -> None:
    t = task(output=tasks.OutputChecks(now_in="Asia/Tokyo"))
    right = '{"timezone": "Asia/Tokyo", "datetime": "2026-12-06T00:02:11+09:00"}'
    wrong_zone = '{"timezone": "Asia/Tokyo", "datetime": "2026-12-05T15:02:11+00:00"}'
    stale = '{"timezone": "Asia/Tokyo", "datetime": "2026-12-05T00:02:11+09:00"}'
    assert judge(t, 0, result(ok_step(right, "time/get_current_time"))).done
    for text in (wrong_zone, stale):
        verdict = judge(t, 0, result(ok_step(text, "time/get_current_time")))
        assert verdict.reasons == ("output does not show the current time in Asia/Tokyo",)


def test_a_conversion_is_checked_against_the_zone_database_for_today() -> None:
    # 5 December: New York is UTC-5, London UTC+0
    assert checks.expected_conversion("14:30", "America/New_York", "Europe/London", NOW) == "19:30"
    summer = dt.datetime(2026, 7, 1, 12, tzinfo=dt.timezone.utc)
    assert checks.expected_conversion("14:30", "America/New_York", "Europe/London", summer) == (
        "19:30"
    )
    assert checks.expected_conversion("09:00", "Europe/Paris", "Asia/Tokyo", NOW) == "17:00"
    t = task(output=tasks.OutputChecks(converted=("14:30", "America/New_York", "Europe/London")))
    good = '"target": {"timezone": "Europe/London", "datetime": "2026-12-05T19:30:00+00:00"}'
    bad = '"target": {"timezone": "Europe/London", "datetime": "2026-12-05T14:30:00+00:00"}'
    assert judge(t, 0, result(ok_step(good, "time/convert_time"))).done
    assert not judge(t, 0, result(ok_step(bad, "time/convert_time"))).done


def test_tools_must_have_run_ok_with_alternatives() -> None:
    t = task(
        output=tasks.OutputChecks(
            tools=("filesystem/write_file", "filesystem/read_text_file|filesystem/read_file")
        )
    )
    both = result(
        ok_step("ok", "filesystem/write_file"), ok_step("hi", "filesystem/read_file", index=1)
    )
    assert judge(t, 0, both).done
    verdict = judge(t, 0, result(ok_step("ok", "filesystem/write_file")))
    assert verdict.reasons == (
        "filesystem/read_text_file|filesystem/read_file did not run ok "
        "(ran ok: ['filesystem/write_file'])",
    )


def test_a_refused_destructive_task_needs_a_needs_consent_step_and_no_change() -> None:
    t = task(exit_code=1, output=tasks.OutputChecks(status="needs_consent"))
    held = {
        "subtask_index": 0,
        "status": "needs_consent",
        "output": "",
        "error": "would run",
        "tool": {"server": "memory", "name": "delete_entities"},
    }
    assert judge(t, 1, result(held)).done
    unmatched = {"subtask_index": 0, "status": "unmatched", "output": "", "tool": None}
    assert judge(t, 1, result(unmatched)).reasons == (
        "no step ended needs_consent (steps: ['unmatched'])",
    )
    gone = with_entries(BEFORE, **{"memory:entity__Alice": None})
    assert judge(t, 1, result(held), gone).unrequested == ("memory:entity/Alice removed",)


def test_post_state_checks() -> None:
    after = State(
        entries={
            **BEFORE.entries,
            "sandbox/reports": "dir",
            "memory:entity/Alice": json.dumps(
                {"entityType": "person", "observations": ["x", "likes tea"]}
            ),
        },
        texts={**BEFORE.texts, "sandbox/greeting.txt": "hello\n", "git:staged": ""},
    )
    good = tasks.AfterChecks(
        files={"sandbox/greeting.txt": "hello"},
        values={"sandbox/reports": "dir"},
        exists=("sandbox/reports",),
        missing=("sandbox/todo.txt",),
        entities=(tasks.EntityCheck("Alice", "person", ("likes tea",)),),
        head_subject="Fix",
        staged=(),
    )
    assert checks.check_after(good, after) == []
    bad = tasks.AfterChecks(
        files={"sandbox/greeting.txt": "hi", "sandbox/none.txt": "x"},
        values={"sandbox/reports": "file:abc"},
        exists=("git:refs/heads/feature-x",),
        missing=("sandbox/reports",),
        entities=(tasks.EntityCheck("Alice", "robot", ("likes coffee",)), tasks.EntityCheck("Bob")),
        head_subject="Update",
        staged=("CHANGELOG.md",),
    )
    assert checks.check_after(bad, after) == [
        "sandbox/greeting.txt holds 'hello\\n', expected 'hi'",
        "sandbox/none.txt is not a readable text file afterwards",
        "sandbox/reports is 'dir' afterwards, expected 'file:abc'",
        "git:refs/heads/feature-x does not exist afterwards",
        "sandbox/reports still exists afterwards",
        "entity Alice has type 'person', expected 'robot'",
        "entity Alice lacks the observation 'likes coffee'",
        "no entity Bob in memory afterwards",
        "HEAD commit is 'Fix', expected 'Update'",
        "staged [], expected ['CHANGELOG.md']",
    ]


def test_tools_called_pairs_each_attempt_with_its_planned_arguments() -> None:
    plan = {
        "subtask_index": 0,
        "tool": {"server": "filesystem", "name": "read_text_file"},
        "arguments": '{"path": "notes.txt"}',  # JSON text, as before issue 10
        "fallbacks": [{"server": "filesystem", "name": "read_file"}],
        "fallback_arguments": [{"path": "notes.txt", "head": 1}],
    }
    step = {
        "subtask_index": 0,
        "status": "ok",
        "output": "n",
        "tool": {"server": "filesystem", "name": "read_file"},
        "attempts": [
            {"server": "filesystem", "name": "read_text_file"},
            {"server": "filesystem", "name": "read_file"},
        ],
    }
    held = {
        "subtask_index": 1,
        "status": "needs_consent",
        "tool": {"server": "memory", "name": "delete_entities"},
    }
    plan2 = {
        "subtask_index": 1,
        "tool": {"server": "memory", "name": "delete_entities"},
        "arguments": {"entityNames": ["Carol"]},
    }
    assert checks.tools_called(result(step, held, plans=(plan, plan2))) == [
        {
            "subtask": 0,
            "tool": "filesystem/read_text_file",
            "arguments": {"path": "notes.txt"},
            "status": "error",
            "called": True,
        },
        {
            "subtask": 0,
            "tool": "filesystem/read_file",
            "arguments": {"path": "notes.txt", "head": 1},
            "status": "ok",
            "called": True,
        },
        {
            "subtask": 1,
            "tool": "memory/delete_entities",
            "arguments": {"entityNames": ["Carol"]},
            "status": "needs_consent",
            "called": False,
        },
    ]


# --- the task table -------------------------------------------------------------------------


def test_the_task_table_loads_with_every_dev_task() -> None:
    table = tasks.load()
    dev = [t.text for t in table if t.source == "dev"]
    assert len(dev) == 43
    assert "Show the commit 589ffdf" in dev
    assert len({t.id for t in table}) == len(table)
    refused = [t for t in table if t.output.status == "needs_consent"]
    assert refused
    assert all(t.exit_code == 1 and not t.changes for t in refused)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"id": "a", "text": "x", "servers": ["time"], "source": "dev", "colour": 1},
            "unknown field(s) ['colour']",
        ),
        ({"id": "a", "text": "x", "servers": ["ftp"], "source": "dev"}, "servers must name"),
        (
            {
                "id": "a",
                "text": "x",
                "servers": ["time"],
                "source": "dev",
                "changes": ["sandbox/x"],
            },
            "must end with the kind of change",
        ),
        (
            {
                "id": "a",
                "text": "x",
                "servers": ["time"],
                "source": "dev",
                "output": {"status": "fine"},
            },
            "'fine' is not one of",
        ),
        (
            {
                "id": "a",
                "text": "x",
                "servers": ["time"],
                "source": "dev",
                "output": {"converted": {"time": "1"}},
            },
            "expected {time, from, to}",
        ),
    ],
)
def test_a_malformed_task_is_refused_with_its_name(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(tasks.TaskTableError, match="task #1 \\(a\\)") as caught:
        tasks.parse({"task": [raw]})
    assert message in str(caught.value)


def test_facts_fill_the_text_and_the_checks() -> None:
    t = task(
        output=tasks.OutputChecks(contains=("{sandbox}/x", "{name}")),
        after=tasks.AfterChecks(files={"sandbox/a": "{repo}"}),
    )
    t = dataclasses.replace(t, text="Read {sandbox}/notes.txt")
    filled = t.with_facts({"sandbox": "/s", "repo": "/r"})
    assert filled.text == "Read /s/notes.txt"
    assert filled.output.contains == ("/s/x", "{name}")  # unknown names are left alone
    assert filled.after.files == {"sandbox/a": "/r"}


# --- the fixture and its snapshot (git on a temp folder; no server) -------------------------

FAKE = Installed(*(Path("/nonexistent") / n for n in ("t", "g", "f", "m", "e")))


def test_the_fixture_is_deterministic_and_589ffdf_resolves(tmp_path: Path) -> None:
    one = fixture.build(tmp_path / "one", FAKE)
    two = fixture.build(tmp_path / "two", FAKE)
    assert fixture.git(one.repo, "rev-parse", "589ffdf^{commit}") == fixture.git(
        two.repo, "rev-parse", "589ffdf^{commit}"
    )
    assert fixture.git(one.repo, "log", "-1", "--format=%s", "589ffdf") == "Add greeting module\n"
    assert fixture.git(one.repo, "status", "--porcelain") == "M  CHANGELOG.md\n M src/greeting.py\n"
    a, b = snapshot.capture(one), snapshot.capture(two)
    assert a.entries.keys() == b.entries.keys()
    assert {k: v for k, v in a.entries.items() if k.startswith(("git:", "memory:"))} == {
        k: v for k, v in b.entries.items() if k.startswith(("git:", "memory:"))
    }
    assert a.entries["memory:relation/Alice|works_at|Acme"] == "1"
    assert "sandbox/archive/2025/summary.md" in a.entries
    servers = json.loads(one.servers_file.read_text())["mcpServers"]
    assert servers["git"]["args"] == ["--repository", str(one.repo)]
    assert servers["memory"]["env"] == {"MEMORY_FILE_PATH": str(one.memory_file)}


def test_the_snapshot_sees_every_kind_of_change(tmp_path: Path) -> None:
    fx = fixture.build(tmp_path / "fx", FAKE, memory_without=["Carol"])
    before = snapshot.capture(fx)
    fixture.git(fx.repo, "status")  # a read refreshes git's index stat cache: not a change
    assert snapshot.diff(before.entries, snapshot.capture(fx).entries).keys() == []
    (fx.sandbox / "todo.txt").write_text("overwritten")
    fixture.git(fx.repo, "branch", "feature-x")
    fixture.git(fx.repo, "reset", "--quiet")
    (fx.root / "stray.txt").write_text("x")
    fx.memory_file.write_text(fixture.memory_lines(without=["Alice", "Carol"]))
    after = snapshot.capture(fx)
    assert snapshot.diff(before.entries, after.entries).keys() == [
        "git:index/CHANGELOG.md",
        "git:refs/heads/feature-x",
        "memory:entity/Alice",
        "memory:relation/Alice|works_at|Acme",
        "other/stray.txt",
        "sandbox/todo.txt",
    ]
    assert after.texts["git:staged"] == ""


# --- the figures ----------------------------------------------------------------------------


def test_totals_count_done_per_server_unrequested_changes_and_exit0_failures() -> None:
    def run(
        tid: str,
        servers: tuple[str, ...],
        code: int | None,
        reasons: tuple[str, ...] = (),
        unrequested: tuple[str, ...] = (),
        has_result: bool = True,
    ) -> TaskRun:
        t = dataclasses.replace(task(), id=tid, servers=servers)
        verdict = checks.Verdict(not reasons, reasons, unrequested, unrequested)
        return TaskRun(t, code, verdict, [], 1.0, "", has_result)

    runs = [
        run("a", ("time",), 0),
        run("b", ("time", "git"), 0, ("output lacks 'x'",)),  # exit 0, not done
        run(
            "c",
            ("git",),
            0,
            ("unrequested change: sandbox/todo.txt changed",),
            ("sandbox/todo.txt changed",),
        ),
        run("d", ("git",), 1, ("no JSON result on stdout",), has_result=False),
    ]
    figures = totals(runs)
    assert figures["done"] == 1
    assert figures["done_ratio"] == 0.25
    assert figures["by_server"] == {"time": {"done": 1, "total": 2}, "git": {"done": 0, "total": 3}}
    assert figures["unrequested_changes"] == 1
    assert figures["tasks_with_unrequested_changes"] == ["c"]
    assert figures["exit0_failure_tasks"] == ["b", "c"]
    assert figures["runs_without_result"] == ["d"]
    assert figures["bar_met"] is False
    assert totals([run("a", ("time",), 0)])["bar_met"] is True
