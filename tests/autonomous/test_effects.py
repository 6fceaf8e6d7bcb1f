"""Intent from a subtask's wording, effect from a tool's MCP annotations (or its name), and
which effects each intent may run."""

from __future__ import annotations

import dataclasses

import pytest

from mcp_agent_otel.autonomous.effects import (
    change_kind,
    content_verb,
    eligible,
    makes_the_change,
    object_kind,
    subtask_intent,
    tool_change_kinds,
    tool_effect,
)
from mcp_agent_otel.autonomous.models import Effect, Intent, ToolCategory, ToolInfo
from tests.autonomous.real_catalogue import real_tool, real_tools

R, W, D = Intent.READ, Intent.WRITE, Intent.DELETE


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("What time is it in Tokyo?", R),
        ("Show the commit 589ffdf", R),  # "commit" after "show" is a noun
        ("List the git branches", R),
        ("Show the unstaged changes in the repository", R),
        ("Which directories am I allowed to access?", R),
        ("Echo hello world", R),
        ("Give me a tiny image", R),
        ("Add 5 and 7", R),  # arithmetic, not adding something
        ("Sum 5 and 7", R),
        ("add 2, 3 and 4", R),
        ("Calculate 5 + 7", R),
        ("read it back", R),
        ("Write 'delete everything' to a.txt", W),  # quoted data is not wording
        ("Create a directory called reports", W),
        ("Add the observation 'likes tea' to the entity Alice", W),
        ("Can you create a branch called x?", W),
        ("Commit the changes with message 'x'", W),
        ("Rename notes.txt to old.txt", W),
        ("Delete the entity Alice", D),
        ("Please remove the file old.txt", D),
        ("Reset the staged changes", D),
        ("Clear the memory", D),
        ("Unstage all changes", D),
    ],
)
def test_subtask_intent(text: str, intent: Intent) -> None:
    assert subtask_intent(text) is intent


# Every real tool's effect, from the annotations its server gives.
REAL_EFFECTS = {
    Effect.READ_ONLY: (
        "get_current_time convert_time git_status git_diff_unstaged git_diff_staged git_diff "
        "git_log git_show git_branch read_file read_text_file read_media_file "
        "read_multiple_files list_directory list_directory_with_sizes directory_tree "
        "search_files get_file_info list_allowed_directories read_graph search_nodes "
        "open_nodes echo get-annotated-message get-env get-resource-links "
        "get-resource-reference get-structured-content get-sum get-tiny-image "
        "trigger-long-running-operation"
    ),
    Effect.ADDITIVE: (
        "git_commit git_add git_create_branch git_checkout create_directory create_entities "
        "create_relations add_observations gzip-file-as-resource toggle-simulated-logging "
        "toggle-subscriber-updates simulate-research-query"
    ),
    # marked destructive, but they write over what they name
    Effect.OVERWRITE: "write_file edit_file move_file",
    Effect.DESTRUCTIVE: "git_reset delete_entities delete_observations delete_relations",
}


def test_real_effects_come_from_annotations() -> None:
    expected = {name: effect for effect, names in REAL_EFFECTS.items() for name in names.split()}
    got = {t.name: tool_effect(t) for t in real_tools()}
    assert {name: effect for name, (effect, _) in got.items()} == expected
    assert {source for _, source in got.values()} == {"annotations"}


def _bare(name: str, description: str) -> ToolInfo:
    return ToolInfo("s", name, description, "{}", ToolCategory.GENERAL)


@pytest.mark.parametrize(
    ("name", "description", "effect"),
    [
        ("read_file", "Read a file", Effect.READ_ONLY),
        ("list_issues", "", Effect.READ_ONLY),
        ("word_count", "Count the words of a text", Effect.READ_ONLY),
        ("create_issue", "", Effect.ADDITIVE),
        ("append_line", "", Effect.ADDITIVE),
        ("update_record", "", Effect.OVERWRITE),
        ("write_file", "Create or overwrite a file", Effect.OVERWRITE),
        ("delete_file", "", Effect.DESTRUCTIVE),
        ("drop_table", "", Effect.DESTRUCTIVE),
        ("cleanup", "Removes temporary files.", Effect.DESTRUCTIVE),  # the description says
        ("weather", "Returns the forecast.", Effect.READ_ONLY),
    ],
)
def test_effect_inferred_without_annotations(name: str, description: str, effect: Effect) -> None:
    assert tool_effect(_bare(name, description)) == (effect, "inferred")


def test_annotations_win_over_the_name() -> None:
    tool = dataclasses.replace(_bare("delete_cache", ""), annotations='{"readOnlyHint":true}')
    assert tool_effect(tool) == (Effect.READ_ONLY, "annotations")
    # destructiveHint defaults to true when readOnlyHint is false (MCP spec)
    tool = dataclasses.replace(_bare("put_value", ""), annotations='{"readOnlyHint":false}')
    assert tool_effect(tool) == (Effect.OVERWRITE, "annotations")
    tool = dataclasses.replace(tool, annotations='{"readOnlyHint":false,"destructiveHint":false}')
    assert tool_effect(tool) == (Effect.ADDITIVE, "annotations")
    tool = dataclasses.replace(_bare("purge", ""), annotations='{"destructiveHint":true}')
    assert tool_effect(tool) == (Effect.DESTRUCTIVE, "annotations")
    broken = dataclasses.replace(_bare("delete_x", ""), annotations="not json")
    assert tool_effect(broken) == (Effect.DESTRUCTIVE, "inferred")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Copy notes.txt to backup.txt", "copy"),
        ("Rename a.txt to b.txt", "move"),
        ("Add a person entity named Dave", "create"),
        ("Stage notes.txt", "create"),
        ("Check out feature-login", "switch"),
        ("Unstage everything", "reset"),
        ("Show the commit 589ffdf", None),  # a read names no change
    ],
)
def test_change_kind(text: str, kind: str | None) -> None:
    assert change_kind(text) == kind


def test_tools_make_the_change_asked_for() -> None:
    write_file, move_file = (
        real_tool("filesystem", "write_file"),
        real_tool("filesystem", "move_file"),
    )
    assert tool_change_kinds(write_file) == {"write", "create"}  # "Create a new file or ..."
    assert tool_change_kinds(move_file) == {"move"}
    assert makes_the_change("Save 'x' as a.txt", write_file)
    assert makes_the_change("Create a file a.txt with content 'x'", write_file)
    assert not makes_the_change("Copy a.txt to b.txt", move_file)
    assert not makes_the_change("Copy a.txt to b.txt", write_file)
    assert makes_the_change("Add an entity called X", real_tool("memory", "create_entities"))


def test_eligibility() -> None:
    table = {(i, e): eligible(i, e) for i in Intent for e in Effect}
    assert {k for k, ok in table.items() if ok} == {
        (R, Effect.READ_ONLY),
        (W, Effect.READ_ONLY),  # "Add 5 and 7" worded as a write may still run get-sum
        (W, Effect.ADDITIVE),
        (W, Effect.OVERWRITE),
        (D, Effect.DESTRUCTIVE),  # a delete is never done by overwriting
    }
    assert not eligible(R, tool_effect(real_tool("filesystem", "write_file"))[0])


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Create an empty file called notes.txt", "file"),
        ("Make a folder named drafts", "directory"),
        ("Please create a new branch called x", "branch"),
        ("Delete the entity Acme from memory", "entity"),
        ("Remove the observation 'x' from Marta", "observation"),
        ("Move config.json into the logs folder", None),  # the object is the path
        ("Link Marta to Acme", None),
        ("What files are there?", None),
    ],
)
def test_object_kind_is_the_noun_right_after_the_verb(text: str, kind: str | None) -> None:
    assert object_kind(text) == kind


@pytest.mark.parametrize(
    ("text", "verb"),
    [
        ("Translate report.md into French", "translate"),
        ("Please echo 'x'", "echo"),
        ("Count the files", "count"),
        ("Show the files", None),  # generic: any tool that returns it honours it
        ("Send me a tiny image", None),  # "send me" asks to be given
        ("Create a file", None),  # a kind of change: the tool's change kinds decide
        ("What is 2 plus 3?", None),
        ("Calculate 5 + 7", None),
    ],
)
def test_content_verb(text: str, verb: str | None) -> None:
    assert content_verb(text) == verb
