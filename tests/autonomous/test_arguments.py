"""Argument planning: roles from the schema (a table), one extractor per role, what the server
context adds, time zones from place names, and the protocol a custom planner implements."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_agent_otel.autonomous.argument_completion import (
    argument_fit,
    complete_arguments,
    piped_arguments,
)
from mcp_agent_otel.autonomous.argument_roles import ROLE_RULES, parameters
from mcp_agent_otel.autonomous.arguments import (
    EXTRACTORS,
    ArgumentPlanner,
    SchemaArgumentPlanner,
    plan_arguments,
)
from mcp_agent_otel.autonomous.models import Subtask, ToolCategory, ToolInfo, canonical_json
from mcp_agent_otel.autonomous.task_analyzer import analyze_task
from mcp_agent_otel.autonomous.text_values import after_verb, facts
from mcp_agent_otel.autonomous.timezones import find_zones, is_zone
from tests.autonomous.real_catalogue import REPO, SANDBOX, real_tool, real_tools


def _subtask(text: str) -> Subtask:
    (subtask,) = analyze_task(text).subtasks
    return subtask


def _tool(schema: dict[str, Any], name: str = "tool", annotations: str = "{}") -> ToolInfo:
    return ToolInfo("s", name, "", canonical_json(schema), ToolCategory.GENERAL, annotations)


def test_every_role_has_an_extractor() -> None:
    assert {role for role, _ in ROLE_RULES} <= set(EXTRACTORS)
    assert {role for role, _ in ROLE_RULES} >= set(EXTRACTORS)


def test_roles_of_the_real_catalogue() -> None:
    roles = {
        f"{t.name}.{p.name}": p.role
        for t in real_tools()
        for p in parameters(t)
        if f"{t.name}.{p.name}" in EXPECTED_ROLES
    }
    assert roles == EXPECTED_ROLES


EXPECTED_ROLES = {
    "get_current_time.timezone": "timezone",
    "convert_time.time": "time",
    "convert_time.source_timezone": "timezone",
    "git_status.repo_path": "directory",
    "git_show.revision": "revision",
    "git_diff.target": "revision",
    "git_branch.branch_type": "choice",  # its description lists 'local', 'remote', 'all'
    "git_branch.contains": "revision",  # "The commit sha that branch should contain"
    "git_create_branch.branch_name": "name",
    "git_log.max_count": "number",
    "git_commit.message": "message",
    "git_add.files": "paths",
    "read_text_file.path": "path",
    "read_multiple_files.paths": "paths",
    "write_file.content": "text",
    "edit_file.edits": "objects",
    "move_file.destination": "path",
    "search_files.pattern": "glob",
    "create_entities.entities": "objects",
    "add_observations.observations": "objects",
    "delete_entities.entityNames": "names",
    "search_nodes.query": "query",
    "echo.message": "message",
    "get-sum.a": "number",
    "get-structured-content.location": "enum",
}


def test_directory_or_file() -> None:
    """A path names a directory when the tool's name says so or it scopes a search."""
    directory = {
        t.name
        for t in real_tools()
        if t.server == "filesystem" and any(p.directory for p in parameters(t))
    }
    assert directory == {
        "create_directory",
        "list_directory",
        "list_directory_with_sizes",
        "directory_tree",
        "search_files",
    }


@pytest.mark.parametrize(
    ("text", "tool", "arguments"),
    [
        # an array of objects, planned field by field; the required list may stay empty
        (
            "Create an entity called Alice of type person",
            ("memory", "create_entities"),
            {"entities": [{"name": "Alice", "entityType": "person", "observations": []}]},
        ),
        # ... but not when the object would carry nothing but its key
        ("Add an observation to the entity Alice", ("memory", "add_observations"), {}),
        (
            "Add the observation 'likes tea' to the entity Alice",
            ("memory", "add_observations"),
            {"observations": [{"entityName": "Alice", "contents": ["likes tea"]}]},
        ),
        # clock times and zones, from and to
        (
            "Convert 9:05 pm from Paris to New York",
            ("time", "convert_time"),
            {
                "time": "21:05",
                "source_timezone": "Europe/Paris",
                "target_timezone": "America/New_York",
            },
        ),
        ("What time is it in London", ("time", "get_current_time"), {"timezone": "Europe/London"}),
        # a revision is hex data, never the sentence
        ("Show commit a1b2c3d4e5", ("git", "git_show"), {"revision": "a1b2c3d4e5"}),
        # a commit named by its place is a relative revision
        ("Show the latest commit", ("git", "git_show"), {"revision": "HEAD"}),
        # a choice listed in the description, or the first one
        ("List the remote branches", ("git", "git_branch"), {"branch_type": "remote"}),
        ("List the branches", ("git", "git_branch"), {"branch_type": "local"}),
        # names: quoted, after named/called, after a noun
        (
            "Check out the branch 'release/2.0'",
            ("git", "git_checkout"),
            {"branch_name": "release/2.0"},
        ),
        (
            "Create a branch named hotfix-7",
            ("git", "git_create_branch"),
            {"branch_name": "hotfix-7"},
        ),
        # free text of a tool that changes something must be given
        ("Write to notes.txt", ("filesystem", "write_file"), {"path": "notes.txt"}),
        ("Write: buy milk", ("filesystem", "write_file"), {"content": "buy milk"}),
        # ... while a read-only tool's message is the rest of the request
        ("Echo good morning", ("everything", "echo"), {"message": "good morning"}),
        # enums match whole phrases
        (
            "Get the structured content for Los Angeles",
            ("everything", "get-structured-content"),
            {"location": "Los Angeles"},
        ),
        # numbers bound by their neighbours; optional ones only when the text names them
        ("Show the last 4 commits", ("git", "git_log"), {"max_count": 4}),
        (
            "Read the last 3 lines of log.txt",
            ("filesystem", "read_text_file"),
            {"tail": 3, "path": "log.txt"},
        ),
        ("Add 2 and 40", ("everything", "get-sum"), {"a": 2, "b": 40}),
        # an array of paths takes every file the text names
        (
            "Read a.txt, b.md and c.csv",
            ("filesystem", "read_multiple_files"),
            {"paths": ["a.txt", "b.md", "c.csv"]},
        ),
        (
            "Replace 'a' with 'b' in x.txt",
            ("filesystem", "edit_file"),
            {"path": "x.txt", "edits": [{"oldText": "a", "newText": "b"}]},
        ),
    ],
)
def test_plan_arguments(text: str, tool: tuple[str, str], arguments: dict[str, Any]) -> None:
    assert plan_arguments(_subtask(text), real_tool(*tool)) == arguments


def test_explicit_arguments_win() -> None:
    tool = real_tool("time", "get_current_time")
    assert plan_arguments(_subtask("What time is it in Tokyo"), tool, {"timezone": "UTC"}) == {
        "timezone": "UTC"
    }


def test_stated_default_from_the_description() -> None:
    """mcp-server-time: "Use 'UTC' as local timezone if no timezone provided by the user"."""
    assert plan_arguments(_subtask("What time is it?"), real_tool("time", "get_current_time")) == {
        "timezone": "UTC"
    }


@pytest.mark.parametrize(
    ("tool", "planned", "completed", "missing"),
    [
        (("git", "git_status"), {}, {"repo_path": REPO}, ()),
        (("git", "git_status"), {"repo_path": "/elsewhere"}, {"repo_path": "/elsewhere"}, ()),
        (("filesystem", "read_text_file"), {"path": "a/b.txt"}, {"path": f"{SANDBOX}/a/b.txt"}, ()),
        (("filesystem", "list_directory"), {"path": "."}, {"path": SANDBOX}, ()),
        (("filesystem", "list_directory"), {"path": "sandbox"}, {"path": SANDBOX}, ()),
        (("filesystem", "list_directory"), {}, {"path": SANDBOX}, ()),
        (("filesystem", "read_text_file"), {}, {}, ("path",)),  # a file is never guessed
        (("filesystem", "create_directory"), {}, {}, ("path",)),  # nor the directory to create
        (
            ("filesystem", "read_multiple_files"),
            {"paths": ["x.txt", "/abs/y.txt"]},
            {"paths": [f"{SANDBOX}/x.txt", "/abs/y.txt"]},
            (),
        ),
        (
            ("filesystem", "write_file"),
            {"path": "x.txt"},
            {"path": f"{SANDBOX}/x.txt"},
            ("content",),
        ),
    ],
)
def test_complete_arguments(
    tool: tuple[str, str],
    planned: dict[str, Any],
    completed: dict[str, Any],
    missing: tuple[str, ...],
) -> None:
    directories = {"git": (REPO,), "filesystem": (SANDBOX, "/second")}[tool[0]]
    assert complete_arguments(real_tool(*tool), planned, directories) == (completed, missing)


def test_a_step_that_refers_back_gets_the_earlier_file() -> None:
    read = real_tool("filesystem", "read_text_file")
    upstream = [{"path": f"{SANDBOX}/a.txt", "content": "hi"}]
    assert complete_arguments(read, {}, (SANDBOX,), upstream) == ({"path": f"{SANDBOX}/a.txt"}, ())
    assert complete_arguments(real_tool("git", "git_status"), {}, (), upstream) == (
        {},
        ("repo_path",),
    )


def test_argument_fit() -> None:
    subtask = _subtask("List the directory /data/x")
    listing, allowed = (
        real_tool("filesystem", "list_directory"),
        real_tool("filesystem", "list_allowed_directories"),
    )
    assert argument_fit(subtask, listing, {"path": "/data/x"}) == (1.0, 1.0, False)
    # it would ignore the path the task names
    assert argument_fit(subtask, allowed, {}) == (1.0, 0.0, True)
    search = real_tool("memory", "search_nodes")
    whole = _subtask("Show the whole knowledge graph")
    assert argument_fit(whole, search, {"query": whole.text}) == (0.5, 1.0, False)  # half
    three = _subtask("Show the last 3 commits")
    assert argument_fit(three, real_tool("git", "git_status"), {}) == (0.0, 0.0, False)


def test_piped_arguments_for_a_message() -> None:
    echo = real_tool("everything", "echo")
    analysis = analyze_task("Add 2 and 3, then echo it")
    dependent = analysis.subtasks[1]
    planned = plan_arguments(dependent, echo)
    assert planned == {"message": "it"}
    assert piped_arguments(dependent, echo, planned, "5") == {"message": "5"}


async def test_schema_planner_is_an_argument_planner() -> None:
    planner = SchemaArgumentPlanner()
    assert isinstance(planner, ArgumentPlanner)
    tool = real_tool("time", "get_current_time")
    assert await planner.plan(_subtask("Time in Tokyo?"), tool, {}) == {"timezone": "Asia/Tokyo"}


@pytest.mark.parametrize(
    ("text", "zones"),
    [
        ("What time is it in Tokyo?", ["Asia/Tokyo"]),
        ("from New York time to London time", ["America/New_York", "Europe/London"]),
        ("Europe/Paris to Asia/Tokyo", ["Europe/Paris", "Asia/Tokyo"]),
        ("in UTC", ["UTC"]),
        (
            "Japan, the United States and the UK",
            ["Asia/Tokyo", "America/New_York", "Europe/London"],
        ),
        ("Buenos Aires", ["America/Argentina/Buenos_Aires"]),
        ("the center of the text, in new york", []),  # only capitalized names are places
        ("Europe/Atlantis", []),
    ],
)
def test_find_zones(text: str, zones: list[str]) -> None:
    assert [zone for _, _, zone in find_zones(text)] == zones
    assert all(is_zone(zone) or zone in ("UTC", "GMT") for zone in zones)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Create an entity called Alice", ("Alice",)),
        ("Open the nodes Alice, Bob and Carol", ("Alice", "Bob", "Carol")),
        ("Switch to the branch main", ("main",)),
        ("Show the differences with the feature-login branch", ("feature-login",)),
        ("Delete the observation 'x' from Alice", ("Alice",)),
        ("show the time in Tokyo", ()),  # a zone is not a name
    ],
)
def test_names(text: str, names: tuple[str, ...]) -> None:
    assert facts(text).names == names


def test_text_values() -> None:
    text_facts = facts("Convert 9am and 14:30 in /srv/x-1/y, commit 589ffdf, 3 items")
    assert text_facts.clock_times == ("09:00", "14:30")
    assert [n for _, _, n in text_facts.numbers] == [3]  # not the hour, the path or the id
    assert text_facts.revisions == ("589ffdf",)
    assert text_facts.paths == ("/srv/x-1/y",)
    assert after_verb("Please echo hello there.") == "hello there"
