"""What the server context adds to planned arguments, and how well they fit the tool.

- ``complete_arguments(tool, arguments, directories, upstream)``: for any planner, relative
  paths resolved against the server's first configured directory, a required directory
  taken from it, a required file path taken from the step an argument-less "read it back"
  refers to; and the required arguments still missing (the step is then not run).
- ``argument_fit``: the share of required arguments given and of the text's data used
  (ranking prefers a tool that can be called and uses what the task says).
- ``piped_arguments``: at run time, an earlier step's output as a dependent step's text.
- ``check_arguments``: explicit arguments validated.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from mcp_agent_otel.autonomous import effects, lexicon
from mcp_agent_otel.autonomous.argument_roles import parameters
from mcp_agent_otel.autonomous.errors import InvalidTaskError
from mcp_agent_otel.autonomous.models import Subtask, TaskAnalysis, ToolInfo, canonical_json
from mcp_agent_otel.autonomous.text_values import after_verb, facts, topic

_FILE_ROLES: Final = frozenset({"path", "directory", "paths"})


def _resolve(value: Any, directory: str) -> Any:
    if isinstance(value, list):
        return [_resolve(v, directory) for v in value]
    if not isinstance(value, str) or not value or value.startswith(("/", "~")):
        return value
    if value in (".", "./") or value == posixpath.basename(directory.rstrip("/")):
        return directory
    return posixpath.normpath(posixpath.join(directory, value))


def complete_arguments(
    tool: ToolInfo,
    arguments: Mapping[str, Any],
    directories: Sequence[str] = (),
    upstream: Sequence[Mapping[str, Any]] = (),
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``arguments`` completed from the server's context, and the required ones still missing.

    Relative paths resolve against the server's first configured directory ("." and the
    directory's own name are the directory itself). A required directory the text does not
    give is that directory; a required path or name is the one the earlier step it depends on
    used ("write a.txt, then read it back", "create a directory logs, then list it", "create
    the entity Zed, then open it"). Pure.
    """
    completed = dict(arguments)
    params = parameters(tool)
    for param in params:
        if param.required and param.name not in completed and param.role in _NAME_ROLES:
            names = _inherited_names(upstream)  # "create the entity Zed, then open it"
            if names:
                completed[param.name] = names if param.role == "names" else names[0]
        if param.role not in _FILE_ROLES:
            continue
        if param.name not in completed and param.required:
            inherited = _inherited_path(upstream, directory=param.directory)
            if inherited is not None and param.role != "paths":
                completed[param.name] = inherited  # "write a.txt, then read it back"
            elif param.directory and directories and not _creates_directories(tool):
                completed[param.name] = directories[0]
        if param.name in completed and directories:
            completed[param.name] = _resolve(completed[param.name], directories[0])
    missing = tuple(p.name for p in params if p.required and p.name not in completed)
    return completed, missing


def _creates_directories(tool: ToolInfo) -> bool:
    """Whether the tool creates the directory its path names (``create_directory``): that
    directory is never the configured one, which exists."""
    return "create" in effects.tool_change_kinds(tool) and bool(
        set(lexicon.identifier_tokens(tool.name)) & _DIRECTORY_WORDS
    )


_DIRECTORY_WORDS: Final = lexicon.word_set("dir directory folder mkdir")


def _inherited_path(upstream: Sequence[Mapping[str, Any]], *, directory: bool) -> str | None:
    """The path an earlier step worked on: a file for a file, a directory for a directory."""
    for arguments in reversed(upstream):
        for name in ("path", "file", "filename", "filepath", "destination"):
            value = arguments.get(name)
            if isinstance(value, str) and value:
                is_file = "." in value.rsplit("/", 1)[-1]
                return value if is_file != directory else None
    return None


_NAME_ROLES: Final = frozenset({"name", "names"})


def _inherited_names(upstream: Sequence[Mapping[str, Any]]) -> list[str]:
    """The names an earlier step gave things (the "name" fields of the objects it created)."""
    found: list[str] = []

    def walk(value: Any, key: str) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key.lower() in ("name", "names", "entityname"):
            found.append(value)

    for arguments in upstream:
        walk(arguments, "")
    return list(dict.fromkeys(found))


def _flat(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [v for item in value.values() for v in _flat(item)]
    if isinstance(value, list):
        return [v for item in value for v in _flat(item)]
    return [str(value)]


_REF_WORDS_RE: Final = re.compile(r"branch|\btag|\bref|checkout|revision|commit", re.IGNORECASE)
_SINGLE_OF_MANY: Final = 0.75  # a required list given one item counts three quarters


def argument_fit(
    subtask: Subtask, tool: ToolInfo, planned: Mapping[str, Any]
) -> tuple[float, float, bool]:
    """How well ``planned`` calls ``tool`` for ``subtask``:

    - the share of the tool's required parameters it gives (a value that is the whole
      subtask text, free text's last resort, counts half);
    - the share of the data the text carries (quotes, paths, directories, names, revisions,
      zones, clock times, numbers, the topic asked about) that the arguments use (1.0 when
      the text carries none);
    - whether the text names values (anything but numbers and a topic) and the arguments
      use none of them: such a tool would not be doing what was asked.
    """
    required = [p.name for p in parameters(tool) if p.required]
    given = 0.0
    for name in required:
        if name in planned:
            value = planned[name]
            if value == subtask.text:
                given += 0.5
            elif isinstance(value, list) and len(value) == 1 and _is_list_of_text(value):
                given += _SINGLE_OF_MANY  # "read_multiple_files" for one file
            else:
                given += 1.0
    share = given / len(required) if required else 1.0
    text_facts = facts(subtask.text)
    named = [q.value for q in text_facts.quotes]
    named += [p.rsplit("/", 1)[-1] for p in text_facts.paths] + list(text_facts.revisions)
    named += [z for _, _, z in text_facts.zones] + list(text_facts.clock_times)
    named += list(text_facts.given_names)
    named += [d for d in text_facts.directories if d != "." and not d.startswith("/")]
    weak = [str(n) for _, _, n in text_facts.numbers]
    about = topic(text_facts.masked)
    if about and about != text_facts.text and " " not in about:
        weak.append(about)  # "what does the memory know about Carol": a search for Carol
    if not named and not weak:
        return share, 1.0, False
    values = _flat(dict(planned))
    names_something = bool(named)
    if text_facts.ref_only_names and not _REF_WORDS_RE.search(tool.name + " " + tool.description):
        named = [n for n in named if n not in text_facts.ref_only_names]  # no branch here
        values = [v for v in values if v not in text_facts.ref_only_names]
    used_named = sum(1 for item in named if any(item in v for v in values))
    used_weak = sum(1 for item in weak if any(item in v for v in values))
    total = len(named) + len(weak)
    use = (used_named + used_weak) / total if total else 0.0
    return share, use, names_something and used_named == 0


def _is_list_of_text(value: list[Any]) -> bool:
    return all(isinstance(v, str) for v in value)


def text_input_parameter(tool: ToolInfo) -> str | None:
    """The parameter that takes the text a tool works on (``text``, ``content``, ...), if any:
    the one a step's input from an earlier step belongs in."""
    for param in parameters(tool):
        if param.role in ("text", "message") and param.required:
            return param.name
    return None


def piped_arguments(
    subtask: Subtask, tool: ToolInfo, arguments: Mapping[str, Any], upstream_output: str
) -> dict[str, Any]:
    """``arguments`` with the output of the step(s) ``subtask`` depends on as the tool's text
    input, when the plan had nothing better for it than the subtask's own words.

    For execution time, when earlier outputs exist: "search for X, then summarize the results"
    summarizes what the search returned. Arguments the text gave ("summarize 'quoted'") and
    explicit ones are kept. Pure.
    """
    name = text_input_parameter(tool)
    if not subtask.depends_on or name is None:
        return dict(arguments)
    planned = arguments.get(name)
    if planned is not None and planned not in (subtask.text, after_verb(subtask.text)):
        return dict(arguments)
    return {**arguments, name: upstream_output}


def check_arguments(
    analysis: TaskAnalysis, arguments: Mapping[int, Mapping[str, Any]] | None
) -> dict[int, dict[str, Any]]:
    """Validate explicit arguments: keyed by subtask index, each a JSON object of arguments."""
    if not arguments:
        return {}
    if not isinstance(arguments, Mapping):
        raise InvalidTaskError(
            "explicit arguments must map a subtask index to an object of tool arguments, "
            f"e.g. {{0: {{'query': 'span kind'}}}}; got {type(arguments).__name__}"
        )
    indexes = [s.index for s in analysis.subtasks]
    checked: dict[int, dict[str, Any]] = {}
    for key, value in arguments.items():
        if isinstance(key, bool) or not isinstance(key, int) or key not in indexes:
            raise InvalidTaskError(
                f"explicit arguments were given for subtask {key!r}, but the task has "
                f"subtasks {indexes}: key the arguments by subtask index"
            )
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise InvalidTaskError(
                f"explicit arguments for subtask {key} must be an object with string keys, "
                f"got {type(value).__name__}"
            )
        try:
            canonical_json(dict(value))
        except (TypeError, ValueError) as exc:
            raise InvalidTaskError(
                f"explicit arguments for subtask {key} cannot be sent as JSON ({exc}): "
                "pass strings, numbers, booleans, lists and objects only"
            ) from None
        checked[key] = dict(value)
    return checked


__all__ = [
    "argument_fit",
    "check_arguments",
    "complete_arguments",
    "piped_arguments",
    "text_input_parameter",
]
