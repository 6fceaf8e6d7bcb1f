"""Argument planning: the arguments of one tool call, from the tool's input schema, never the
sentence.

Each parameter has a role (``argument_roles``); ``EXTRACTORS`` is a table of role -> function
that takes the value fitting that role from what the subtask's text offers
(``text_values``). ``plan_arguments(subtask, tool, explicit)``: quoted strings first go to
the parameter the word before the quote points at, numbers to the parameter their
neighbouring words point at, then each remaining parameter's extractor runs. A string field
gets the subtask's words only when it is free text (a message, a query, a body) of a tool
that changes nothing; arrays of objects are planned field by field. Explicit arguments always
win. ``ArgumentPlanner`` is the protocol a custom planner (an LLM, say) implements;
``SchemaArgumentPlanner`` is the default, ``plan_arguments``. What the server context adds
is in ``argument_completion``.

Pure functions. A little over 500 lines on purpose: ``EXTRACTORS`` and its ~30 small role
functions read best as one table; the roles themselves and the text's values are apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol, runtime_checkable

from mcp_agent_otel.autonomous import lexicon
from mcp_agent_otel.autonomous.argument_roles import Param, parameters
from mcp_agent_otel.autonomous.models import Subtask, ToolInfo
from mcp_agent_otel.autonomous.text_values import (
    EXTENSION_FILES_RE,
    EXTENSIONS,
    GLOB_RE,
    KIND_EXTENSIONS,
    Draw,
    after_verb,
    expression,
    facts,
    topic,
)

# --- extractors: one per role -------------------------------------------------------------------

Extractor = Callable[[Draw, Param], Any]


def _path(draw: Draw, param: Param) -> Any:
    if param.directory:
        dirs = draw.facts.directories
        creating = bool(draw.facts.stems & _CREATE_STEMS)
        named = draw.facts.names if param.role == "path" and creating else ()
        if named:
            return named[0]  # "Create a directory called reports"
        return dirs[0] if dirs else None
    path = draw.take_path(files_only=False)
    if path is None and param.stems & _DESTINATION_STEMS and draw.facts.directories:
        moved = draw.facts.file_paths[:1]  # "move notes.txt into the archive folder"
        if moved:
            return f"{draw.facts.directories[0].rstrip('/')}/{moved[0].rsplit('/', 1)[-1]}"
    return path


_CREATE_STEMS: Final = lexicon.stem_set("create make add new mkdir")
_DESTINATION_STEMS: Final = lexicon.stem_set("dest destination target to")


def _paths(draw: Draw, param: Param) -> Any:
    found = []
    while (path := draw.take_path(files_only=True)) is not None:
        found.append(path)
    return found or None


_CLOCK_RE: Final = re.compile(r"\b\d{1,2}(?::\d{2}|\s*[ap]\.?m\b)", re.IGNORECASE)


def _clock_zone(draw: Draw) -> str | None:
    """With no "from", the zone the given clock time is said in ("London when it is 9:30 in
    Chicago": Chicago): the zone named nearest after the time, else nearest before it."""
    zones = draw.facts.zones
    if len(zones) < 2 or any(before == "from" for _, before, _ in zones):
        return None
    clock = _CLOCK_RE.search(draw.facts.masked)
    if clock is None:
        return None
    after = [z for z in zones if z[0] >= clock.end()]
    if after and after[0][0] - clock.end() <= 12:  # "9:30 in Chicago", "09:30 Chicago time"
        return after[0][2]
    before = [z for z in zones if z[0] < clock.start()]
    return before[-1][2] if before else None


def _zone(draw: Draw, param: Param) -> Any:
    zones = draw.facts.zones
    if not zones:
        return None
    source = _clock_zone(draw)
    if source is not None and param.stems & lexicon.stem_set("source from"):
        return source
    if source is not None and param.stems & lexicon.stem_set("target to destination"):
        return next((z for _, _, z in zones if z != source), None)  # one zone: no target
    if param.stems & lexicon.stem_set("source from"):
        return next(
            (z for _, before, z in zones if before == "from"),
            zones[0][2] if len(zones) > 1 else None,
        )
    if param.stems & lexicon.stem_set("target to destination"):
        marked = [z for _, before, z in zones if before in ("to", "into", "in")]
        return marked[-1] if marked else (zones[-1][2] if len(zones) > 1 else None)
    return zones[0][2]


def _time(draw: Draw, param: Param) -> Any:
    times = draw.facts.clock_times
    return times[0] if times else None


def _revision(draw: Draw, param: Param) -> Any:
    """A commit id, else (for a required one) a branch or tag the text names."""
    revisions = draw.facts.revisions
    if revisions and (param.required or param.stems <= draw.facts.stems):
        return revisions[0]
    refs = draw.facts.refs
    return refs[-1] if refs and param.required else None


_GENERIC_NAME_STEMS: Final = lexicon.stem_set("name branch entity")
_BASE_STEMS: Final = lexicon.stem_set("base parent start")
_FROM_REF_RE: Final = re.compile(
    r"\b(?:from|off|on\s+top\s+of)\s+(?:the\s+)?(?:branch\s+)?"
    r"(?!(?:the|a|an|this|that|it)\b)([\w][\w./-]*)",
    re.IGNORECASE,
)


def _name(draw: Draw, param: Param) -> Any:
    """A name given in the text; an optional one ("base_branch") only when the text uses the
    words that tell it apart ("from the base branch main")."""
    if not param.required and param.stems & _BASE_STEMS:
        m = _FROM_REF_RE.search(draw.facts.plain)
        return m.group(1) if m else None  # "create branch x from main"
    if not param.required and not (param.stems - _GENERIC_NAME_STEMS) <= draw.facts.stems:
        return None
    names = draw.facts.names
    if names:
        return names[-1] if not param.required else names[0]
    return draw.take_quote(None) if param.required else None


def _names(draw: Draw, param: Param) -> Any:
    if draw.facts.names:
        return list(draw.facts.names)
    quoted = []
    while (quote := draw.take_quote(None)) is not None:
        quoted.append(quote)
    return quoted or None


def _source_name(draw: Draw, param: Param) -> Any:
    return draw.facts.endpoints[0]


def _target_name(draw: Draw, param: Param) -> Any:
    return draw.facts.endpoints[1]


def _type_label(draw: Draw, param: Param) -> Any:
    return draw.facts.type_label


def _choice(draw: Draw, param: Param) -> Any:
    for choice in param.choices:
        if choice.lower() in draw.facts.tokens:
            return choice
    return param.choices[0] if param.required else None


def _enum(draw: Draw, param: Param) -> Any:
    lowered = draw.facts.masked.lower()
    values = {str(v).lower(): v for v in param.enum}
    for low, value in values.items():
        if " " in low and low in lowered:
            return value
    for token in draw.facts.tokens:
        if token in values:
            return values[token]
        for low, value in values.items():
            if len(low) >= 3 and token.startswith(low):
                return value  # "uppercase" -> "upper"
    return None


def _comparison(draw: Draw, param: Param) -> Any:
    found = draw.facts.comparison
    if found is None:
        return None
    op = {"=": "==", "<>": "!="}.get(found[0], found[0])
    return op if op in {str(v) for v in param.enum} else None


_ENDS_IN_RE: Final = re.compile(
    r"\b(?:end(?:s|ing)?\s+(?:in|with)|with\s+(?:the|an?)\s+(?:extension\s+)?)\s*['\"]?\.(\w{1,10})\b",
    re.IGNORECASE,
)


def _glob(draw: Draw, param: Param) -> Any:
    m = GLOB_RE.search(draw.facts.masked) or GLOB_RE.search(draw.facts.text)
    if m:
        return m.group(0)
    ending = _ENDS_IN_RE.search(draw.facts.text)  # "files that end in .md"
    if ending and ending.group(1).lower() in EXTENSIONS:
        return f"*.{ending.group(1).lower()}"
    m = EXTENSION_FILES_RE.search(draw.facts.masked)
    kind = KIND_EXTENSIONS.get(m.group(1).lower(), m.group(1).lower()) if m else ""
    return f"*.{kind}" if kind in EXTENSIONS else None


def _url(draw: Draw, param: Param) -> Any:
    urls = lexicon.find_urls(draw.facts.text)
    return urls[0] if urls else None


def _date(draw: Draw, param: Param) -> Any:
    dates = draw.facts.dates
    if draw.used_dates >= len(dates):
        return None
    draw.used_dates += 1
    return dates[draw.used_dates - 1]


def _unit(draw: Draw, param: Param) -> Any:
    unit = draw.facts.unit
    if unit is None:
        return None
    return unit[1] if param.role == "unit_from" else unit[2]


def _language(draw: Draw, param: Param) -> Any:
    code_wanted = "code" in param.cue_stems or "iso" in param.cue_stems
    for token in draw.facts.tokens:
        code = lexicon.LANGUAGES.get(token)
        if code is None:
            continue
        if param.enum:
            for value in param.enum:
                if str(value).lower() in (token, code):
                    return str(value)
            continue
        return code if code_wanted else token.capitalize()
    return None


def _expression(draw: Draw, param: Param) -> Any:
    return expression(draw.facts.masked)


def _flag(draw: Draw, param: Param) -> Any:
    if param.stems and param.stems <= draw.facts.stems:
        return True
    return False if param.required else None


def _strings(draw: Draw, param: Param) -> Any:
    values = []
    while (quote := draw.take_quote(None)) is not None:
        values.append(quote)
    return values or None


def _required_only(extract: Extractor) -> Extractor:
    """Free-text extractors fill a parameter only when it is required."""

    def extractor(draw: Draw, param: Param) -> Any:
        return extract(draw, param) if param.required else None

    return extractor


def _query(draw: Draw, param: Param) -> Any:
    return draw.take_quote(None) or topic(draw.facts.masked) or draw.facts.text


def _id(draw: Draw, param: Param) -> Any:
    m = re.search(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b", draw.facts.masked)
    return m.group(0) if m else None


def _colon_text(draw: Draw) -> str | None:
    colon = draw.facts.masked.find(":")
    rest = draw.facts.text[colon + 1 :].strip() if colon >= 0 else ""
    return rest if colon >= 0 and rest and not rest[:2].isdigit() else None


def _text(draw: Draw, param: Param) -> Any:
    given = draw.take_quote(None) or _colon_text(draw)
    return given if given or param.writes else draw.facts.text


def _message(draw: Draw, param: Param) -> Any:
    given = draw.take_quote(None) or _colon_text(draw)
    return given if given or param.writes else after_verb(draw.facts.text)


def _find(draw: Draw, param: Param) -> Any:
    m = re.search(r"\breplace\s+(.+?)\s+with\s+", draw.facts.masked, re.IGNORECASE)
    return m.group(1) if m else None


def _replacement(draw: Draw, param: Param) -> Any:
    m = re.search(r"\bwith\s+(.+?)(?:\s+in\b|$)", draw.facts.masked, re.IGNORECASE)
    return m.group(1) if m else None


def _objects(draw: Draw, param: Param) -> Any:
    """One object planned field by field from the same text; None unless every required field
    has a value. A required array field may stay empty only when two other fields are given
    (an entity with a name and a type needs no observations; an observation needs contents)."""
    item = _plan_params(draw, param.fields)
    for field in param.fields:
        if field.required and field.name not in item and field.kind == "array":
            given = sum(1 for f in param.fields if f.name in item)
            if given >= 2:
                item[field.name] = []
    if any(f.required and f.name not in item for f in param.fields) or not item:
        return None
    if param.kind != "array":
        return item
    named = next((f.name for f in param.fields if f.role == "name"), None)
    names = draw.facts.given_names
    if named is not None and len(names) > 1 and item.get(named) == names[0]:
        return [{**item, named: name} for name in names]  # "entities Alice and Bob"
    return [item]


def _nothing(draw: Draw, param: Param) -> Any:
    return None


EXTRACTORS: Final[Mapping[str, Extractor]] = {
    "flag": _flag,
    "objects": _objects,
    "threshold": _nothing,  # numbers are bound before the table runs
    "number": _nothing,
    "numbers": _nothing,
    "paths": _paths,
    "names": _names,
    "strings": _strings,
    "other": _nothing,
    "comparison": _comparison,
    "enum": _enum,
    "url": _url,
    "date": _date,
    "timezone": _zone,
    "time": _time,
    "unit_from": _unit,
    "unit_to": _unit,
    "language": _language,
    "expression": _expression,
    "glob": _glob,
    "directory": _path,
    "path": _path,
    "revision": _revision,
    "id": _required_only(_id),
    "name": _name,
    "source_name": _source_name,
    "target_name": _target_name,
    "type_label": _type_label,
    "choice": _choice,
    "find": _required_only(_find),
    "replacement": _required_only(_replacement),
    "message": _required_only(_message),
    "text": _required_only(_text),
    "query": _required_only(_query),
    "string": _required_only(lambda draw, param: draw.take_quote(None)),
}
# Roles whose extractor reads something specific run before those that take what is left
# (a name before the quotes an observation's contents take).
_ORDER: Final = {role: i for i, role in enumerate(("name", "type_label", "revision", "path"))}
_QUOTE_CUES: Final[Mapping[str, frozenset[str]]] = {
    "text": lexicon.stem_set("in of text from on this content write save"),
    "message": lexicon.stem_set("echo say message commit with"),
    "query": lexicon.stem_set("for about search find lookup define term query on up"),
    "find": lexicon.stem_set("replace find substitute change swap"),
    "replacement": lexicon.stem_set("with by"),
    "id": lexicon.stem_set("document id doc"),
    "name": lexicon.stem_set("named called name entity branch"),
    "type_label": lexicon.stem_set("type"),
}
_QUOTE_ROLES: Final = frozenset(_QUOTE_CUES) | {"string"}


def _fits(param: Param, value: int | float) -> bool:
    if param.kind == "integer" and not isinstance(value, int):
        return False
    if param.minimum is not None and value < param.minimum:
        return False
    return not (param.maximum is not None and value > param.maximum)


_FIRST_ONE_RE: Final = re.compile(r"\bfirst\s+([a-z]+)\b", re.IGNORECASE)
_LAST_STEM: Final = lexicon.stem("last")


def _bind_one(draw: Draw, scalars: Sequence[Param], values: dict[str, Any]) -> None:
    """ "The first line" (one thing, no number): 1 for the count parameter that counts such
    things from the start (read_text_file's ``head``). "The last line" is not bound: a file
    ending in a newline has an empty last line for the servers that count from the end."""
    for m in _FIRST_ONE_RE.finditer(draw.facts.masked):
        noun = m.group(1).lower()
        if noun.endswith("s"):  # "the first lines of": how many is not said
            continue
        noun_stem = lexicon.stem(noun)
        for param in scalars:
            counts = noun_stem in param.cue_stems and param.role == "number"
            if counts and param.name not in values and _LAST_STEM not in param.cue_stems:
                values[param.name] = 1
                return


def _bind_numbers(draw: Draw, params: Sequence[Param], values: dict[str, Any]) -> None:
    """Numbers bound by context first (a comparison, a unit, a neighbouring word), then the
    free ones to required number parameters and number arrays."""
    text_facts = draw.facts
    scalars = [p for p in params if p.role in ("number", "threshold")]
    arrays = [p for p in params if p.role == "numbers"]
    if scalars and not text_facts.numbers:
        _bind_one(draw, scalars, values)
    if not (scalars or arrays) or not text_facts.numbers:
        return
    comparison, unit = text_facts.comparison, text_facts.unit
    bindings = []  # (how strongly, param order, number position): the strongest bind first
    for order, param in enumerate(scalars):
        for position in draw.free_numbers():
            start, _, value = text_facts.numbers[position]
            strength = len(text_facts.neighbours[position] & param.cue_stems)
            if param.role == "threshold" and comparison is not None and start == comparison[1]:
                strength += 10
            if unit is not None and start == unit[0] and param.required:
                strength += 10
            if strength and _fits(param, value):
                bindings.append((-strength, order, position))
    for _, order, position in sorted(bindings):
        param = scalars[order]
        if param.name not in values and position in draw.free_numbers():
            values[param.name] = draw.take_number(position)
    for param in arrays:  # the number of "greater than 10" is a threshold, never data
        free = [
            i
            for i in draw.free_numbers()
            if comparison is None or text_facts.numbers[i][0] != comparison[1]
        ]
        if free:
            values[param.name] = [draw.take_number(i) for i in free]
    for param in scalars:
        if param.name in values or not param.required:
            continue
        for position in draw.free_numbers():
            if _fits(param, text_facts.numbers[position][2]):
                values[param.name] = draw.take_number(position)
                break


def _plan_params(draw: Draw, params: Sequence[Param]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if draw.facts.quotes:  # 1. quotes after a word that points at the parameter
        for param in params:
            if param.role in _QUOTE_ROLES:
                quote = draw.take_quote(param.stems | _QUOTE_CUES.get(param.role, frozenset()))
                if quote is not None:
                    values[param.name] = quote
    _bind_numbers(draw, params, values)  # 2. numbers
    rest = sorted(  # 3. every other parameter by its role's extractor
        (p for p in params if p.name not in values),
        key=lambda p: (_ORDER.get(p.role, len(_ORDER)), not p.required),
    )
    for param in rest:
        value = EXTRACTORS[param.role](draw, param)
        if value is None and param.required:
            value = param.default if param.has_default else param.stated_default
        if value is not None:
            values[param.name] = value
    return {p.name: values[p.name] for p in params if p.name in values}


def plan_arguments(
    subtask: Subtask, tool: ToolInfo, explicit: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Arguments for calling ``tool`` on ``subtask``, from its text and the tool's input schema.

    Pure. Optional parameters are set only when the text names a value; required ones fall
    back to their default (or one their description states); only free-text parameters ever
    get the subtask's own words. ``explicit`` values always win.
    """
    explicit = dict(explicit or {})
    params = [p for p in parameters(tool) if p.name not in explicit]
    if not params:
        return explicit
    values = _plan_params(Draw(facts(subtask.text)), params)
    values.update(explicit)
    return values


# --- planners, piping, explicit arguments -----------------------------------------------------


@runtime_checkable
class ArgumentPlanner(Protocol):
    """Plans the arguments of one tool call for one subtask.

    ``explicit`` holds the arguments the caller passed for this subtask; the engine applies
    them over whatever ``plan`` returns, so they win either way. The engine then completes
    the result from the server's context (``complete_arguments``).
    """

    async def plan(
        self, subtask: Subtask, tool: ToolInfo, explicit: Mapping[str, Any]
    ) -> dict[str, Any]: ...


class SchemaArgumentPlanner:
    """The default planner: ``plan_arguments``, from the subtask text and the input schema."""

    async def plan(
        self, subtask: Subtask, tool: ToolInfo, explicit: Mapping[str, Any]
    ) -> dict[str, Any]:
        return plan_arguments(subtask, tool, explicit)


__all__ = [
    "EXTRACTORS",
    "ArgumentPlanner",
    "SchemaArgumentPlanner",
    "plan_arguments",
]
