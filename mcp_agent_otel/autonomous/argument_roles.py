"""Argument roles: each input-schema property of a tool with the kind of value it takes.

``parameters(tool)`` parses a tool's input schema once and gives each property a *role*
from ``ROLE_RULES``, a table of (role, test of the property) checked in order: a flag,
numbers, an array of objects (planned field by field), paths and directories, a clock time,
a time zone, a revision, a name, a type, a choice among values the description lists, free
text (a message, a body, a query)... The argument planner (``arguments.py``) has one
extractor per role.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from mcp_agent_otel.autonomous import effects, lexicon
from mcp_agent_otel.autonomous.models import Effect, ToolInfo


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    role: str
    required: bool
    kind: str  # JSON type: string, number, integer, boolean, array, object
    enum: tuple[Any, ...]
    default: Any
    has_default: bool
    stems: frozenset[str]  # of the name
    cue_stems: frozenset[str]  # of the name and description: words that point at a value
    minimum: float | None
    maximum: float | None
    directory: bool  # a path that names a directory (or scopes a search), not a file
    choices: tuple[str, ...]  # values the description lists ("'local', 'remote' or 'all'")
    stated_default: str | None  # "Use 'UTC' ... if no timezone provided"
    fields: tuple[Param, ...] = ()  # of an object, or of each object of an array
    writes: bool = False  # of a tool that changes something: free text must be given, not guessed


@dataclasses.dataclass(frozen=True)
class _Shape:
    """What the role rules look at: a property's name words, JSON type and description."""

    tokens: frozenset[str]
    kind: str
    item_kind: str
    enum: tuple[Any, ...]
    fmt: str
    description: str
    choices: tuple[str, ...]
    has_fields: bool


def _w(words: str) -> frozenset[str]:
    return lexicon.word_set(words)


_OPERATORS: Final = frozenset({">", ">=", "<", "<=", "==", "!=", "=", "<>"})
_PATH_NAMES: Final = _w("path paths file files filename filepath dest destination source src")
_DIRECTORY_NAMES: Final = _w("dir directory folder repo repository root cwd workdir")
_REVISION_NAMES: Final = _w("revision rev sha commit hash ref target")

# (role, test) in order: the first test a property passes gives its role.
ROLE_RULES: Final[tuple[tuple[str, Callable[[_Shape], bool]], ...]] = (
    ("flag", lambda s: s.kind == "boolean"),
    ("objects", lambda s: s.kind in ("array", "object") and s.has_fields),
    (
        "threshold",
        lambda s: s.kind in ("number", "integer") and bool(s.tokens & _w("threshold cutoff bound")),
    ),
    ("number", lambda s: s.kind in ("number", "integer")),
    ("numbers", lambda s: s.kind == "array" and s.item_kind in ("number", "integer")),
    ("paths", lambda s: s.kind == "array" and bool(s.tokens & _PATH_NAMES)),
    ("names", lambda s: s.kind == "array" and bool(s.tokens & _w("name names"))),
    ("strings", lambda s: s.kind == "array"),
    ("other", lambda s: s.kind != "string"),
    ("comparison", lambda s: bool(s.enum) and set(map(str, s.enum)) <= _OPERATORS),
    ("enum", lambda s: bool(s.enum)),
    ("url", lambda s: bool(s.tokens & _w("url uri link href endpoint")) or s.fmt in ("uri", "url")),
    (
        "date",
        lambda s: (
            bool(s.tokens & _w("date timestamp since until")) or s.fmt in ("date", "date-time")
        ),
    ),
    ("timezone", lambda s: bool(s.tokens & _w("timezone tz zone"))),
    ("time", lambda s: s.tokens == {"time"} or "hh:mm" in s.description.lower()),
    ("unit_from", lambda s: "unit" in s.tokens and not s.tokens & _w("to target")),
    ("unit_to", lambda s: "unit" in s.tokens),
    ("language", lambda s: bool(s.tokens & _w("language lang locale"))),
    ("expression", lambda s: bool(s.tokens & _w("expression expr formula equation"))),
    ("glob", lambda s: bool(s.tokens & _w("glob pattern"))),
    ("directory", lambda s: bool(s.tokens & _DIRECTORY_NAMES)),
    ("path", lambda s: bool(s.tokens & _PATH_NAMES)),
    (
        "revision",
        lambda s: bool(s.tokens & _REVISION_NAMES) or " sha " in f" {s.description.lower()} ",
    ),
    ("id", lambda s: bool(s.tokens) and (s.tokens == {"id"} or sorted(s.tokens)[-1] == "id")),
    ("choice", lambda s: len(s.choices) >= 2),
    ("source_name", lambda s: s.tokens == {"from"}),
    ("target_name", lambda s: s.tokens == {"to"}),
    ("name", lambda s: bool(s.tokens & _w("name branch"))),
    ("type_label", lambda s: "type" in s.tokens),
    ("find", lambda s: bool(s.tokens & _w("find old"))),
    ("replacement", lambda s: bool(s.tokens & _w("replacement new replace"))),
    ("message", lambda s: bool(s.tokens & _w("message msg"))),
    (
        "text",
        lambda s: bool(
            s.tokens & _w("text content contents body input document passage string paragraph")
        ),
    ),
    (
        "query",
        lambda s: bool(
            s.tokens & _w("query q search term topic keyword subject question word phrase title")
        ),
    ),
    ("string", lambda s: True),
)

_COUNT_CUES: Final = lexicon.stem_set("last first top latest recent most newest oldest")
_CHOICE_RE: Final = re.compile(r"'([\w-]+)'")
_STATED_DEFAULT_RE: Final = re.compile(r"\buse\s+'([^']+)'[^.]*?\bif\s+no\b", re.IGNORECASE)
_A_DIRECTORY_RE: Final = re.compile(r"\b(?:a|the)\s+(?:directory|folder)\b", re.IGNORECASE)


def _json_type(prop: Mapping[str, Any]) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind is None:
        for option in prop.get("anyOf", ()) or prop.get("oneOf", ()) or ():
            if isinstance(option, Mapping) and option.get("type") not in (None, "null"):
                return str(option["type"])
        return "string"
    return str(kind)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _parse(schema: Mapping[str, Any], tool_directory: bool, writes: bool) -> tuple[Param, ...]:
    """The parameters of an object schema, required ones first in their declared order."""
    props = lexicon.schema_properties(schema)
    required_raw = schema.get("required")
    required = [r for r in required_raw if r in props] if isinstance(required_raw, list) else []
    order = list(dict.fromkeys(required)) + sorted(n for n in props if n not in required)
    params = []
    for name in order:
        prop = props[name]
        tokens = frozenset(lexicon.identifier_tokens(name))
        description = prop.get("description")
        description = description if isinstance(description, str) else ""
        kind = _json_type(prop)
        items = prop.get("items")
        item_schema = items if kind == "array" and isinstance(items, Mapping) else prop
        fields = (
            _parse(item_schema, False, writes)
            if kind in ("array", "object") and lexicon.schema_properties(item_schema)
            else ()
        )
        enum = prop.get("enum")
        enum_values = tuple(enum) if isinstance(enum, list) else ()
        choices = tuple(dict.fromkeys(_CHOICE_RE.findall(description)))
        shape = _Shape(
            tokens=tokens,
            kind=kind,
            item_kind=_json_type(items) if isinstance(items, Mapping) else "string",
            enum=enum_values,
            fmt=str(prop.get("format", "")),
            description=description,
            choices=choices,
            has_fields=bool(fields),
        )
        role = next(r for r, test in ROLE_RULES if test(shape))
        stems = frozenset(lexicon.stem(t) for t in tokens)
        cue_stems = frozenset(
            s for s in stems | set(lexicon.terms(description)) if s.isalpha() and len(s) > 2
        )
        if role == "number" and tokens & _w("count limit max top num number n k size"):
            cue_stems |= _COUNT_CUES
        stated = _STATED_DEFAULT_RE.search(description)
        params.append(
            Param(
                name=name,
                role=role,
                required=name in required,
                kind=kind,
                enum=enum_values,
                default=prop.get("default"),
                has_default="default" in prop,
                stems=stems,
                cue_stems=cue_stems,
                minimum=_number(prop.get("minimum")),
                maximum=_number(prop.get("maximum")),
                directory=role == "directory"
                or (
                    role == "path" and (tool_directory or bool(_A_DIRECTORY_RE.search(description)))
                ),
                choices=choices,
                stated_default=stated.group(1) if stated else None,
                fields=fields,
                writes=writes,
            )
        )
    return tuple(params)


_DIRECTORY_TOOL_WORDS: Final = _w("dir directory directories folder folders tree")
_SCOPING_ROLES: Final = frozenset({"glob", "query"})


@functools.lru_cache(maxsize=2048)
def parameters(tool: ToolInfo) -> tuple[Param, ...]:
    """The parameters of a tool's input schema with their roles (parsed once per tool).

    A ``path`` names a directory when the tool's name says so (``list_directory``,
    ``directory_tree``) or when the tool also takes a pattern or query (the path scopes a
    search); otherwise it names a file. The free text of a tool that changes something (the
    content ``write_file`` writes, the message ``git_commit`` records) must be given in the
    task, quoted or after a colon: it is never the task's own words.
    """
    try:
        schema = json.loads(tool.input_schema) if tool.input_schema else {}
    except ValueError:
        return ()
    if not isinstance(schema, dict):
        return ()
    writes = effects.tool_effect(tool)[0] is not Effect.READ_ONLY
    first = _parse(schema, False, writes)
    directory_tool = bool(set(lexicon.identifier_tokens(tool.name)) & _DIRECTORY_TOOL_WORDS) or any(
        p.role in _SCOPING_ROLES and p.required for p in first
    )
    return _parse(schema, directory_tool, writes) if directory_tool else first


__all__ = ["ROLE_RULES", "Param", "parameters"]
