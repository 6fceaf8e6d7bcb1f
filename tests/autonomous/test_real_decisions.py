"""Decisions over the catalogue of five third-party MCP servers (50 tools, their real schemas and
annotations): the everyday tasks plan the right tool with the right arguments, a read never
plans a tool that writes, a delete plans only destructive tools (run with consent only), and
what cannot be done is refused with why and the closest tools. Pure: no server is started."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.autonomous.decision_engine import DecisionEngine, plan_decision
from mcp_agent_otel.autonomous.effects import eligible, tool_effect
from mcp_agent_otel.autonomous.lexicon import word_set
from mcp_agent_otel.autonomous.models import Decision, Effect, Intent, Subtask, ToolInfo
from mcp_agent_otel.autonomous.ranking import ToolIndex, build_index
from mcp_agent_otel.autonomous.task_analyzer import analyze_task
from mcp_agent_otel.tracing import semconv
from tests.autonomous.real_catalogue import CONTEXTS, REPO, SANDBOX, real_tools


@pytest.fixture(scope="module")
def index() -> ToolIndex:
    return build_index(real_tools())


def _decide(index: ToolIndex, task: str, contexts: Any = CONTEXTS) -> Decision:
    return plan_decision(analyze_task(task), index, contexts=contexts)


# The development task list: task -> [(tool, arguments) per step].
EVERYDAY: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = [
    ("What time is it in Tokyo?", [("time/get_current_time", {"timezone": "Asia/Tokyo"})]),
    ("What is the current time in UTC?", [("time/get_current_time", {"timezone": "UTC"})]),
    (
        "What time is it now in America/New_York?",
        [("time/get_current_time", {"timezone": "America/New_York"})],
    ),
    (
        "Convert 14:30 from New York time to London time",
        [
            (
                "time/convert_time",
                {
                    "source_timezone": "America/New_York",
                    "target_timezone": "Europe/London",
                    "time": "14:30",
                },
            )
        ],
    ),
    (
        "Convert 09:00 from Europe/Paris to Asia/Tokyo",
        [
            (
                "time/convert_time",
                {
                    "source_timezone": "Europe/Paris",
                    "target_timezone": "Asia/Tokyo",
                    "time": "09:00",
                },
            )
        ],
    ),
    ("List the files in the sandbox directory", [("filesystem/list_directory", {"path": SANDBOX})]),
    ("Read the file notes.txt", [("filesystem/read_text_file", {"path": f"{SANDBOX}/notes.txt"})]),
    (
        f"Show me the contents of {SANDBOX}/todo.txt",
        [("filesystem/read_text_file", {"path": f"{SANDBOX}/todo.txt"})],
    ),
    (
        "Search for files named *.md",
        [("filesystem/search_files", {"path": SANDBOX, "pattern": "*.md"})],
    ),
    (
        "Write 'hello from the agent' to greeting.txt",
        [
            (
                "filesystem/write_file",
                {"content": "hello from the agent", "path": f"{SANDBOX}/greeting.txt"},
            )
        ],
    ),
    (
        "Create a directory called reports",
        [("filesystem/create_directory", {"path": f"{SANDBOX}/reports"})],
    ),
    ("Show the directory tree of the sandbox", [("filesystem/directory_tree", {"path": SANDBOX})]),
    ("Get file info for data.csv", [("filesystem/get_file_info", {"path": f"{SANDBOX}/data.csv"})]),
    ("Which directories am I allowed to access?", [("filesystem/list_allowed_directories", {})]),
    (
        "Write 'hi' to a.txt and then read it back",
        [
            ("filesystem/write_file", {"content": "hi", "path": f"{SANDBOX}/a.txt"}),
            ("filesystem/read_text_file", {"path": f"{SANDBOX}/a.txt"}),
        ],
    ),
    ("Show the git status of the repository", [("git/git_status", {"repo_path": REPO})]),
    ("Show the last 3 commits", [("git/git_log", {"max_count": 3, "repo_path": REPO})]),
    (
        "Show the unstaged changes in the repository",
        [("git/git_diff_unstaged", {"repo_path": REPO})],
    ),
    ("List the git branches", [("git/git_branch", {"branch_type": "local", "repo_path": REPO})]),
    (
        "Create a new git branch called feature-x",
        [("git/git_create_branch", {"branch_name": "feature-x", "repo_path": REPO})],
    ),
    ("Show the commit 589ffdf", [("git/git_show", {"repo_path": REPO, "revision": "589ffdf"})]),
    (
        "Create an entity called Alice of type person in memory",
        [
            (
                "memory/create_entities",
                {"entities": [{"entityType": "person", "name": "Alice", "observations": []}]},
            )
        ],
    ),
    ("Search the memory for Alice", [("memory/search_nodes", {"query": "Alice"})]),
    ("Show the whole knowledge graph", [("memory/read_graph", {})]),
    (
        "Add the observation 'likes tea' to the entity Alice",
        [
            (
                "memory/add_observations",
                {"observations": [{"contents": ["likes tea"], "entityName": "Alice"}]},
            )
        ],
    ),
    ("Echo hello world", [("everything/echo", {"message": "hello world"})]),
    ("Add 5 and 7", [("everything/get-sum", {"a": 5, "b": 7})]),
    ("Give me a tiny image", [("everything/get-tiny-image", {})]),
    (
        "List the files in the sandbox and then show the git status",
        [("filesystem/list_directory", {"path": SANDBOX}), ("git/git_status", {"repo_path": REPO})],
    ),
    (
        "Create an entity called Bob of type person, then search memory for Bob",
        [
            (
                "memory/create_entities",
                {"entities": [{"entityType": "person", "name": "Bob", "observations": []}]},
            ),
            ("memory/search_nodes", {"query": "Bob"}),
        ],
    ),
    (
        "What time is it in UTC and echo done",
        [("time/get_current_time", {"timezone": "UTC"}), ("everything/echo", {"message": "done"})],
    ),
    (
        "Show me the contents of todo.txt",
        [("filesystem/read_text_file", {"path": f"{SANDBOX}/todo.txt"})],
    ),
    (
        f"Read the file {SANDBOX}/notes.txt",
        [("filesystem/read_text_file", {"path": f"{SANDBOX}/notes.txt"})],
    ),
    (f"List the directory {SANDBOX}", [("filesystem/list_directory", {"path": SANDBOX})]),
    (f"Show the git status of the repository {REPO}", [("git/git_status", {"repo_path": REPO})]),
    (f"Show the last 3 commits in {REPO}", [("git/git_log", {"max_count": 3, "repo_path": REPO})]),
    (
        f"Show the commit 589ffdf in the repository {REPO}",
        [("git/git_show", {"repo_path": REPO, "revision": "589ffdf"})],
    ),
    (
        f"Create a new git branch called feature-x in {REPO}",
        [("git/git_create_branch", {"branch_name": "feature-x", "repo_path": REPO})],
    ),
    ("Echo 'hello world'", [("everything/echo", {"message": "hello world"})]),
    ("Sum 5 and 7", [("everything/get-sum", {"a": 5, "b": 7})]),
    ("Calculate 5 + 7", [("everything/get-sum", {"a": 5, "b": 7})]),
    (
        'Create an entity named "Alice" with entity type "person"',
        [
            (
                "memory/create_entities",
                {"entities": [{"entityType": "person", "name": "Alice", "observations": []}]},
            )
        ],
    ),
    (
        "Write 'hi' to b.txt and then read b.txt",
        [
            ("filesystem/write_file", {"content": "hi", "path": f"{SANDBOX}/b.txt"}),
            ("filesystem/read_text_file", {"path": f"{SANDBOX}/b.txt"}),
        ],
    ),
]


@pytest.mark.parametrize(("task", "expected"), EVERYDAY)
def test_everyday_tasks(index: ToolIndex, task: str, expected: list[tuple[str, Any]]) -> None:
    decision = _decide(index, task)
    assert decision.unmatched == ()
    assert [(str(s.tool), s.argument_dict()) for s in decision.steps] == expected
    for step in decision.steps:
        assert eligible(step.intent, step.effect)
        assert step.confidence >= 0.3


@pytest.mark.parametrize(
    ("task", "tool", "arguments"),
    [
        ("Delete the entity Alice", "memory/delete_entities", {"entityNames": ["Alice"]}),
        (
            "Delete the observation 'likes tea' from Alice",
            "memory/delete_observations",
            {"deletions": [{"entityName": "Alice", "observations": ["likes tea"]}]},
        ),
        ("Reset the staged changes", "git/git_reset", {"repo_path": REPO}),
        ("Unstage all changes", "git/git_reset", {"repo_path": REPO}),
    ],
)
def test_deletes_plan_destructive_tools(
    index: ToolIndex, task: str, tool: str, arguments: dict[str, Any]
) -> None:
    """The coordinator asks for consent before these; the plan says what would run."""
    (step,) = _decide(index, task).steps
    assert (str(step.tool), step.argument_dict()) == (tool, arguments)
    assert (step.intent, step.effect, step.fallbacks) == (Intent.DELETE, Effect.DESTRUCTIVE, ())


@pytest.mark.parametrize(
    ("task", "tool", "arguments"),
    [
        (
            "Switch to the branch main",
            "git/git_checkout",
            {"branch_name": "main", "repo_path": REPO},
        ),
        (
            "Commit the changes with message 'update notes'",
            "git/git_commit",
            {"message": "update notes", "repo_path": REPO},
        ),
        (
            "Rename notes.txt to old-notes.txt",
            "filesystem/move_file",
            {"source": f"{SANDBOX}/notes.txt", "destination": f"{SANDBOX}/old-notes.txt"},
        ),
        (
            "Replace 'foo' with 'bar' in notes.txt",
            "filesystem/edit_file",
            {"edits": [{"oldText": "foo", "newText": "bar"}], "path": f"{SANDBOX}/notes.txt"},
        ),
        (
            "Create a relation from Alice to Bob of type knows",
            "memory/create_relations",
            {"relations": [{"from": "Alice", "to": "Bob", "relationType": "knows"}]},
        ),
        ("Open the nodes Alice and Bob", "memory/open_nodes", {"names": ["Alice", "Bob"]}),
        (
            "Show the first 5 lines of notes.txt",
            "filesystem/read_text_file",
            {"head": 5, "path": f"{SANDBOX}/notes.txt"},
        ),
        (
            "Read a.txt and b.txt",
            "filesystem/read_multiple_files",
            {"paths": [f"{SANDBOX}/a.txt", f"{SANDBOX}/b.txt"]},
        ),
        (
            "Convert 3pm from Tokyo to Berlin",
            "time/convert_time",
            {"source_timezone": "Asia/Tokyo", "target_timezone": "Europe/Berlin", "time": "15:00"},
        ),
        ("What time is it in Japan?", "time/get_current_time", {"timezone": "Asia/Tokyo"}),
        ("Stage notes.txt", "git/git_add", {"files": [f"{REPO}/notes.txt"], "repo_path": REPO}),
        (
            "Show the differences between main and the feature-login branch",
            "git/git_diff",
            {"repo_path": REPO, "target": "feature-login"},
        ),
        (
            "Move notes.txt into the archive folder",
            "filesystem/move_file",
            {"source": f"{SANDBOX}/notes.txt", "destination": f"{SANDBOX}/archive/notes.txt"},
        ),
        ("What does the memory know about Carol?", "memory/search_nodes", {"query": "Carol"}),
        ("Find Alice in the knowledge graph", "memory/search_nodes", {"query": "Alice"}),
        ("What's in the sandbox?", "filesystem/list_directory", {"path": SANDBOX}),
        (
            "Make a folder named drafts",
            "filesystem/create_directory",
            {"path": f"{SANDBOX}/drafts"},
        ),
        ("Show me the changes I have not staged yet", "git/git_diff_unstaged", {"repo_path": REPO}),
        (
            "List everything in the archive directory",
            "filesystem/list_directory",
            {"path": f"{SANDBOX}/archive"},
        ),
        (
            "Find all markdown files",
            "filesystem/search_files",
            {"path": SANDBOX, "pattern": "*.md"},
        ),
        ("How large is notes.txt?", "filesystem/get_file_info", {"path": f"{SANDBOX}/notes.txt"}),
        (
            "Create branch release-1",
            "git/git_create_branch",
            {"branch_name": "release-1", "repo_path": REPO},
        ),
        (
            "Switch to feature-login",
            "git/git_checkout",
            {"branch_name": "feature-login", "repo_path": REPO},
        ),
        (
            "Add a person entity named Dave",
            "memory/create_entities",
            {"entities": [{"name": "Dave", "entityType": "person", "observations": []}]},
        ),
        ("Repeat hello", "everything/echo", {"message": "hello"}),
        ("What is 12 plus 30?", "everything/get-sum", {"a": 12, "b": 30}),
        ("Make a sum of 3 and 4", "everything/get-sum", {"a": 3, "b": 4}),
        (
            "List the archive/2025 folder",
            "filesystem/list_directory",
            {"path": f"{SANDBOX}/archive/2025"},
        ),
        ("Does ideas.md exist?", "filesystem/read_text_file", {"path": f"{SANDBOX}/ideas.md"}),
        ("Create a tiny image", "everything/get-tiny-image", {}),
        ("Read 'my notes.txt'", "filesystem/read_text_file", {"path": f"{SANDBOX}/my notes.txt"}),
        (
            "Create entities Alice and Bob of type person",
            "memory/create_entities",
            {
                "entities": [
                    {"name": "Alice", "entityType": "person", "observations": []},
                    {"name": "Bob", "entityType": "person", "observations": []},
                ]
            },
        ),
        (
            "Create a branch called b from feature-login",
            "git/git_create_branch",
            {"branch_name": "b", "base_branch": "feature-login", "repo_path": REPO},
        ),
        # the schema's description says what to use when no zone is given
        ("What time is it?", "time/get_current_time", {"timezone": "UTC"}),
    ],
)
def test_more_tasks(index: ToolIndex, task: str, tool: str, arguments: dict[str, Any]) -> None:
    (step,) = _decide(index, task).steps
    assert (str(step.tool), step.argument_dict()) == (tool, arguments)


@pytest.mark.parametrize(
    ("task", "reason", "named"),
    [
        # the filesystem server has no delete tool: nothing else stands in for one
        ("Remove the file old.txt", "no_tool", ""),
        ("Translate hello to French", "no_tool", ""),
        ("Help me understand photosynthesis", "low_confidence", ""),
        # a tool that changes something never writes the task's own words
        ("Write to notes.txt", "missing_argument", "'content'"),
        # adding to a file is never done by overwriting it
        ("Append 'x' to notes.txt", "no_tool", "would overwrite it instead"),
        ("Add a line 'x' to notes.txt", "no_tool", "would overwrite it instead"),
        # a change of one kind is never made by a tool of another kind, nor answered by a read
        ("Copy notes.txt to backup.txt", "no_tool", "asks to copy"),
        # no tool says it sends: a tool that mentions sending further down is not one
        ("Send an email to Bob saying hello", "no_tool", "asks to send"),
        ("Delete notes.txt", "no_tool", "asks to delete"),
        # a tool that would ignore the file the task names is not a candidate
        ("Compress README.md with gzip", "no_tool", "asks to compress"),
        # a branch name is not a memory entity's name
        ("Delete the branch feature-login", "no_tool", "asks to delete"),
        # the configured directory is never the one a step creates
        ("Create a relation: Alice knows Bob", "missing_argument", "'relations'"),
        ("Commit the changes", "missing_argument", "'message'"),
        ("Read the first 2 files", "missing_argument", "'path'"),
        # a step's lead verb is done by a tool that says it does it, or by none: reading the
        # file is not translating, summarizing or counting it
        ("Translate report.md into French", "no_tool", "asks to translate"),
        ("Summarize notes.txt", "no_tool", "asks to summarize"),
        ("Count the files in the sandbox", "no_tool", "asks to count"),
        # a write is never answered by a read-only tool that merely mentions its verb as a
        # noun ("get-resource-links" for "Link ..."); creating the relation needs its fields
        ("Link Alice to Bob as a friend of", "missing_argument", "'relations'"),
        # the object named is the object made: an empty *file* is never a directory
        ("Create an empty file called notes.txt", "missing_argument", "'content'"),
    ],
)
def test_refused_with_why(index: ToolIndex, task: str, reason: str, named: str) -> None:
    decision = _decide(index, task)
    assert decision.steps == ()
    (unmatched,) = decision.unmatched
    assert unmatched.reason == reason
    assert named in unmatched.message
    assert repr(task) in unmatched.message


def test_required_argument_from_the_server_context_or_refused(index: ToolIndex) -> None:
    (step,) = _decide(index, "Show the git status").steps
    assert step.argument_dict() == {"repo_path": REPO}
    decision = _decide(index, "Show the git status", contexts=None)
    assert decision.steps == ()
    (unmatched,) = decision.unmatched
    assert unmatched.reason == "missing_argument"
    assert unmatched.message.startswith("git/git_status needs 'repo_path'")
    assert str(unmatched.closest[0]) == "git/git_status"
    # without a context a relative path stays relative, as the task gave it
    (read,) = _decide(index, "Read notes.txt", contexts=None).steps
    assert read.argument_dict() == {"path": "notes.txt"}


def test_reads_never_write(index: ToolIndex) -> None:
    """Issue 10: "Show me the contents of todo.txt" once fell back to write_file."""
    (step,) = _decide(index, "Show me the contents of todo.txt").steps
    assert str(step.tool) == "filesystem/read_text_file"
    by_ref = {t.ref: t for t in real_tools()}
    assert step.fallbacks
    assert all(tool_effect(by_ref[f])[0] is Effect.READ_ONLY for f in step.fallbacks)
    # a write falls back to nothing: "create an entity" never ends in delete_entities
    (create,) = _decide(index, "Create an entity called Alice of type person").steps
    assert create.fallbacks == ()


@pytest.mark.parametrize(
    ("task", "second"),
    [
        ("Write 'hi' to a.txt and then show it", ("read_text_file", {"path": f"{SANDBOX}/a.txt"})),
        (
            "Create a directory called logs and then list it",
            ("list_directory", {"path": f"{SANDBOX}/logs"}),
        ),
        (
            "Create the entity Zed of type robot and then open it",
            ("open_nodes", {"names": ["Zed"]}),
        ),
    ],
)
def test_a_step_that_refers_back_works_on_the_earlier_target(
    index: ToolIndex, task: str, second: tuple[str, dict[str, Any]]
) -> None:
    _, then = _decide(index, task).steps
    assert (then.tool.name, then.argument_dict()) == second
    assert then.confidence >= 0.5


async def test_decide_span_has_the_step_facts(spans: InMemorySpanExporter) -> None:
    analysis = analyze_task("Write 'hi' to a.txt and then read it back")
    decision = await DecisionEngine().decide(analysis, real_tools(), "env", contexts=CONTEXTS)
    assert len(decision.steps) == 2
    (span,) = spans.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes[semconv.DECISION_STEP_TOOLS] == (
        "filesystem/write_file",
        "filesystem/read_text_file",
    )
    assert attributes[semconv.DECISION_STEP_INTENTS] == ("write", "read")
    assert attributes[semconv.DECISION_STEP_EFFECTS] == ("overwrite", "read_only")
    assert attributes[semconv.DECISION_STEP_EFFECT_SOURCES] == ("annotations", "annotations")


_WORDS = st.sampled_from(
    sorted(
        word_set(
            "show read list write create delete remove reset add sum search echo the a file "
            "notes.txt 'hi' Alice entity branch commit git status memory graph time Tokyo "
            "14:30 589ffdf 3 5 and then it back to from of type called directory sandbox"
        )
    )
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.lists(_WORDS, min_size=1, max_size=14).map(" ".join))
def test_effect_always_fits_intent(index: ToolIndex, task: str) -> None:
    analysis = analyze_task(task)
    decision = _decide(index, task)
    assert sorted([s.subtask_index for s in decision.steps] + list(decision.unmatched_indexes)) == [
        s.index for s in analysis.subtasks
    ]
    by_ref = {t.ref: t for t in real_tools()}
    for step in decision.steps:
        assert step.intent is analysis.subtasks[step.subtask_index].intent
        assert eligible(step.intent, step.effect)
        if step.intent is not Intent.READ:
            assert step.fallbacks == ()
        for ref in step.fallbacks:
            assert by_ref[ref].server == step.tool.server
    for unmatched in decision.unmatched:
        assert unmatched.reason in {"no_tool", "low_confidence", "missing_argument"}
        assert unmatched.message


def test_a_conversion_naming_one_zone_twice_has_no_target_zone(index: ToolIndex) -> None:
    """Found by test_effect_always_fits_intent: the clock's zone is the only zone named, so
    there is no other zone to convert to (this raised StopIteration out of the planner)."""
    (step,) = _decide(index, "convert time 14:30 Tokyo time to Tokyo").steps
    arguments = json.loads(step.arguments)
    assert arguments["source_timezone"] == "Asia/Tokyo"
    assert arguments.get("target_timezone") != "Asia/Tokyo"


class RelativePlanner:
    """A custom planner (as an LLM-backed one would be) that knows only the file's name."""

    async def plan(
        self, subtask: Subtask, tool: ToolInfo, explicit: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {"path": "notes.txt"} if tool.server == "filesystem" else {}


async def test_a_custom_planner_is_completed_from_the_server_context(
    spans: InMemorySpanExporter,
) -> None:
    engine = DecisionEngine(RelativePlanner())
    analysis = analyze_task("Read notes.txt and then show the git status")
    decision = await engine.decide(analysis, real_tools(), "env", contexts=CONTEXTS)
    assert [(str(s.tool), s.argument_dict()) for s in decision.steps] == [
        ("filesystem/read_text_file", {"path": f"{SANDBOX}/notes.txt"}),
        ("git/git_status", {"repo_path": REPO}),
    ]
    # what the planner leaves out and no context gives: the step is not run, and says why
    refused = await engine.decide(analysis, real_tools(), "env", contexts={})
    assert [str(s.tool) for s in refused.steps] == ["filesystem/read_text_file"]
    (unmatched,) = refused.unmatched
    assert (unmatched.subtask_index, unmatched.reason) == (1, "missing_argument")


@pytest.mark.parametrize(
    ("task", "tool"),
    [
        ("Make a folder named drafts", "filesystem/create_directory"),
        ("Create a directory called archive", "filesystem/create_directory"),
        ("Create a new file notes.txt with 'hi'", "filesystem/write_file"),
        ("Create a branch called experiment", "git/git_create_branch"),
        ("Create a person entity named Zoe", "memory/create_entities"),
        ("Move notes.txt into the archive folder", "filesystem/move_file"),
        # a read-only tool answers a change when its name says the verb or what is made
        ("Create a tiny image", "everything/get-tiny-image"),
        ("Echo the word banana", "everything/echo"),
        ("Run a long operation for 2 seconds", "everything/trigger-long-running-operation"),
    ],
)
def test_the_object_and_the_verb_asked_for_are_what_the_tool_works_on(
    index: ToolIndex, task: str, tool: str
) -> None:
    decision = _decide(index, task)
    assert decision.unmatched == ()
    assert [str(s.tool) for s in decision.steps] == [tool]


@pytest.mark.parametrize(
    ("task", "tool", "arguments"),
    [
        # a type word names what is looked for, not what to look for
        ("Find the entity Acme", "memory/search_nodes", {"query": "Acme"}),
        ("Search for the person Marta", "memory/search_nodes", {"query": "Marta"}),
        # "the word X" gives X
        ("Echo the word banana", "everything/echo", {"message": "banana"}),
        ("Echo hello world", "everything/echo", {"message": "hello world"}),
    ],
)
def test_free_text_is_the_value_not_its_label(
    index: ToolIndex, task: str, tool: str, arguments: dict[str, Any]
) -> None:
    (step,) = _decide(index, task).steps
    assert (str(step.tool), step.argument_dict()) == (tool, arguments)


@pytest.mark.parametrize(
    ("task", "tool", "arguments"),
    [
        # a commit named by its place in the history is a revision
        ("Show the last commit", "git/git_show", {"repo_path": REPO, "revision": "HEAD"}),
        (
            "Show the changes in the commit before the last one",
            "git/git_show",
            {"repo_path": REPO, "revision": "HEAD~1"},
        ),
        # two branches compared: the git server diffs against one target, the second
        (
            "Show the diff between trunk and release-1.0",
            "git/git_diff",
            {"repo_path": REPO, "target": "release-1.0"},
        ),
        ("Show the last 3 commits", "git/git_log", {"repo_path": REPO, "max_count": 3}),
        # one line from either end
        (
            "Display the first line of shopping.txt",
            "filesystem/read_text_file",
            {"path": f"{SANDBOX}/shopping.txt", "head": 1},
        ),
        # not the last line: servers count a file's final newline as an empty last line
        (
            "Read the last line of notes.txt",
            "filesystem/read_text_file",
            {"path": f"{SANDBOX}/notes.txt"},
        ),
        (
            "Show the second to last commit",
            "git/git_show",
            {"repo_path": REPO, "revision": "HEAD~1"},
        ),
    ],
)
def test_relative_revisions_ranges_and_single_lines(
    index: ToolIndex, task: str, tool: str, arguments: dict[str, Any]
) -> None:
    (step,) = _decide(index, task).steps
    assert (str(step.tool), step.argument_dict()) == (tool, arguments)


def test_a_path_in_a_servers_directory_is_that_servers_to_work_on() -> None:
    """With other server names ("files", "repo"), a task naming the sandbox is the file
    server's: git_status ("the working tree status") never takes the sandbox as a repo."""
    renamed = {"filesystem": "files", "git": "repo"}
    tools = [dataclasses.replace(t, server=renamed.get(t.server, t.server)) for t in real_tools()]
    contexts = {"files": (SANDBOX,), "repo": (REPO,)}
    decide = functools.partial(plan_decision, index=build_index(tools), contexts=contexts)
    (tree,) = decide(analyze_task(f"Show the tree of {SANDBOX}")).steps
    assert (str(tree.tool), tree.argument_dict()) == ("files/directory_tree", {"path": SANDBOX})
    (status,) = decide(analyze_task(f"Show the status of {REPO}")).steps
    assert (str(status.tool), status.argument_dict()) == ("repo/git_status", {"repo_path": REPO})


@pytest.mark.parametrize(
    ("task", "pattern"),
    [
        ("Which files end in .md?", "*.md"),
        ("Find files with the .csv extension", "*.csv"),
        ("Find all .txt files in the sandbox", "*.txt"),
    ],
)
def test_files_by_their_ending_are_searched(index: ToolIndex, task: str, pattern: str) -> None:
    (step,) = _decide(index, task).steps
    assert (str(step.tool), step.argument_dict()) == (
        "filesystem/search_files",
        {"path": SANDBOX, "pattern": pattern},
    )


@pytest.mark.parametrize(
    ("task", "tool", "arguments", "intent"),
    [
        # a question about someone asks what is known of an entity
        ("Who is Alice?", "memory/search_nodes", {"query": "Alice"}, Intent.READ),
        # "throw away", "get rid of" discard: a reset, never a stage (run only with consent)
        ("Throw away all staged changes", "git/git_reset", {"repo_path": REPO}, Intent.DELETE),
        ("Get rid of the staged changes", "git/git_reset", {"repo_path": REPO}, Intent.DELETE),
        # forgetting someone deletes the entity
        (
            "Forget everything about Alice",
            "memory/delete_entities",
            {"entityNames": ["Alice"]},
            Intent.DELETE,
        ),
    ],
)
def test_questions_about_someone_and_phrasal_discards(
    index: ToolIndex, task: str, tool: str, arguments: dict[str, Any], intent: Intent
) -> None:
    (step,) = _decide(index, task).steps
    assert (str(step.tool), step.argument_dict(), step.intent) == (tool, arguments, intent)


@pytest.mark.parametrize("task", ["What branch am I on?", "Which branch are we on now?"])
def test_a_pronoun_after_branch_is_not_its_name(index: ToolIndex, task: str) -> None:
    (step,) = _decide(index, task).steps
    assert (str(step.tool), step.argument_dict()) == (
        "git/git_branch",
        {"branch_type": "local", "repo_path": REPO},
    )


@pytest.mark.parametrize(
    ("task", "source", "target", "time"),
    [
        # with no "from", the zone the clock time is given in is the source
        (
            "What time is it in London when it is 9:30 in Chicago?",
            "America/Chicago",
            "Europe/London",
            "09:30",
        ),
        (
            "When it is 16:00 in Berlin, what time is it in Lima?",
            "Europe/Berlin",
            "America/Lima",
            "16:00",
        ),
        ("What is 14:00 London time in Tokyo?", "Europe/London", "Asia/Tokyo", "14:00"),
        # "from" still decides
        (
            "Convert 18:45 from Sydney time to Los Angeles time",
            "Australia/Sydney",
            "America/Los_Angeles",
            "18:45",
        ),
    ],
)
def test_the_zone_of_the_given_clock_time_is_the_source(
    index: ToolIndex, task: str, source: str, target: str, time: str
) -> None:
    (step,) = _decide(index, task).steps
    assert (str(step.tool), step.argument_dict()) == (
        "time/convert_time",
        {"source_timezone": source, "target_timezone": target, "time": time},
    )
