"""Intent and effect: what a subtask asks to do to the world, and what a tool does to it.

- ``subtask_intent(text)``: READ, WRITE or DELETE, from the subtask's wording. The first verb
  that names an intent decides ("Show the commit ..." reads: "commit" comes after "show");
  a question reads; "add"/"sum" over numbers only ("Add 5 and 7") is arithmetic, a read.
- ``tool_effect(tool)``: READ_ONLY, ADDITIVE, OVERWRITE or DESTRUCTIVE, with its source:
  from the tool's MCP annotations when the server gives them (``readOnlyHint``,
  ``destructiveHint``), otherwise inferred from the tool's name and description.
- ``eligible(intent, effect)``: whether a tool with that effect may run a subtask with that
  intent. A read runs read-only tools only; a write runs read-only, additive and overwriting
  tools; a delete runs destructive tools only (it needs the user's consent, which the
  coordinator asks for; a delete is never done by overwriting something).

Pure functions over strings and ``ToolInfo``; the word tables are built once.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from mcp_agent_otel.autonomous import lexicon
from mcp_agent_otel.autonomous.models import Effect, Intent, ToolInfo

EFFECT_SOURCE_ANNOTATIONS: Final = "annotations"
EFFECT_SOURCE_INFERRED: Final = "inferred"

# Verbs that ask to remove or reset something.
DELETE_VERBS: Final = lexicon.word_set(
    "delete remove drop erase reset clear truncate wipe purge destroy unstage discard revert "
    "undo uninstall unset unlink rm del forget"
)
# Verbs that ask to add or change something.
WRITE_VERBS: Final = lexicon.word_set(
    "write create add make save rename move commit set append edit update insert store put "
    "stage checkout switch toggle record modify change replace copy mkdir new register "
    "overwrite upload push tag assign attach link relate connect enable disable start trigger "
    "enter apply mark init initialize initialise post send checkout compress gzip zip simulate "
    "run execute launch remember"
)
# Verbs that ask to look (the default, listed so "the first intent verb" sees them).
READ_VERBS: Final = lexicon.word_set(
    "show read list find search get what which who whom whose how when where why tell "
    "display view print open look lookup fetch retrieve query echo give calculate compute "
    "convert sum count check describe explain inspect see summarize summarise define compare "
    "return"
)
_DELETE_STEMS: Final = frozenset(lexicon.stem(w) for w in DELETE_VERBS)
_WRITE_STEMS: Final = frozenset(lexicon.stem(w) for w in WRITE_VERBS)
_READ_STEMS: Final = frozenset(lexicon.stem(w) for w in READ_VERBS)
_ARITHMETIC_STEMS: Final = lexicon.stem_set("add sum plus total")
_NUMBERS_ONLY_RE: Final = re.compile(
    r"^\s*(?:(?:add|sum|total)\s+(?:up\s+)?"
    r"|(?:make|compute|calculate|get|find|give\s+me)\s+(?:a|the)\s+(?:sum|total)\s+of\s+)"
    r"(?:the\s+numbers\s+)?-?\d+(?:\.\d+)?"
    r"(?:\s*(?:,|and|to|\+|plus|with)\s*-?\d+(?:\.\d+)?)+\s*[.?!]?\s*$",
    re.IGNORECASE,
)


_PHRASAL_RE: Final = re.compile(r"\b(check|sign|log)\s+(out|in|up)\b", re.IGNORECASE)
# Phrases that mean one verb: "throw away the staged changes" discards them.
_DISCARD_RE: Final = re.compile(
    r"\b(?:throw|throwing|threw)\s+(?:away|out)\b|\bget\s+rid\s+of\b", re.IGNORECASE
)


def _one_verb(text: str) -> str:
    """``text`` with phrasal verbs made one word ("check out": checkout, "throw away":
    discard)."""
    text = _DISCARD_RE.sub("discard", text)
    return _PHRASAL_RE.sub(lambda m: m.group(1) + m.group(2), text)


@functools.lru_cache(maxsize=4096)
def subtask_intent(text: str) -> Intent:
    """READ, WRITE or DELETE: the first word of ``text`` (quoted data and paths excluded)
    that names an intent decides; with none, READ.

    "Add 5 and 7" and "Sum 5 and 7" are arithmetic: a READ. "Create an entity" is a WRITE,
    "Reset the staged changes" a DELETE, "What time is it?" a READ.
    """
    if _NUMBERS_ONLY_RE.match(lexicon.mask_quotes(text)):
        return Intent.READ
    masked = lexicon.mask_locators(lexicon.mask_quotes(text))
    masked = _one_verb(masked)  # "check out", "throw away"
    for token in lexicon.tokenize(masked):
        s = lexicon.stem(token)
        if token in DELETE_VERBS or s in _DELETE_STEMS:
            return Intent.DELETE
        if token in WRITE_VERBS or s in _WRITE_STEMS:
            return Intent.WRITE
        if token in READ_VERBS or s in _READ_STEMS:
            return Intent.READ
    return Intent.READ


# --- tools ------------------------------------------------------------------------------------

_DESTRUCTIVE_WORDS: Final = lexicon.stem_set(
    "delete remove reset drop erase clear truncate wipe purge destroy unstage discard revert "
    "rm unlink uninstall"
)
_OVERWRITE_WORDS: Final = lexicon.stem_set(
    "write edit move rename update set replace overwrite modify patch put save copy checkout "
    "switch upsert"
)
_ADDITIVE_WORDS: Final = lexicon.stem_set(
    "create add append insert make new commit push send post toggle trigger register upload "
    "record stage start enable disable simulate mkdir init tag assign attach link"
)
_READ_ONLY_WORDS: Final = lexicon.stem_set(
    "get read list search find show query fetch describe info status log diff count "
    "calculate compute convert echo view print lookup retrieve open summarize summarise "
    "analyze analyse define extract sort filter check validate compare explain return returns "
    "tree stat stats statistics"
)


def _word_effect(stems: list[str]) -> Effect | None:
    """The effect the first effect-bearing word of ``stems`` names, if any."""
    for s in stems:
        if s in _DESTRUCTIVE_WORDS:
            return Effect.DESTRUCTIVE
        if s in _OVERWRITE_WORDS:
            return Effect.OVERWRITE
        if s in _ADDITIVE_WORDS:
            return Effect.ADDITIVE
        if s in _READ_ONLY_WORDS:
            return Effect.READ_ONLY
    return None


def _stems(text: str) -> list[str]:
    return [lexicon.stem(t) for t in lexicon.tokenize(text)]


def _name_stems(tool: ToolInfo) -> list[str]:
    return [lexicon.stem(t) for t in lexicon.identifier_tokens(tool.name)]


def _first_sentence(description: str) -> str:
    return re.split(r"(?<=[.!?])\s", description.strip(), maxsplit=1)[0]


def _says_destructive(tool: ToolInfo) -> bool:
    """Whether the tool's name, or failing that its description's first sentence, says it
    removes or resets (rather than writes over) what it names."""
    named = _word_effect(_name_stems(tool))
    if named is not None:
        return named is Effect.DESTRUCTIVE
    return _word_effect(_stems(_first_sentence(tool.description))) is Effect.DESTRUCTIVE


@functools.lru_cache(maxsize=4096)
def tool_effect(tool: ToolInfo) -> tuple[Effect, str]:
    """The tool's effect and where it came from ("annotations" or "inferred").

    From MCP annotations: ``readOnlyHint`` true is READ_ONLY. Otherwise ``destructiveHint``
    (true by the MCP default) is DESTRUCTIVE when the tool's name (or description) says it
    deletes, removes, resets, drops, erases, clears or truncates, and OVERWRITE when it writes
    over what it names (``write_file``, ``edit_file``, ``move_file``); ``destructiveHint``
    false is ADDITIVE. Without annotations, the first effect word of the tool's name, then of
    its description's first sentence, decides; a tool that names no effect is READ_ONLY.
    """
    hints = tool.annotation_hints()
    read_only = hints.get("readOnlyHint")
    destructive = hints.get("destructiveHint")
    if isinstance(read_only, bool) or isinstance(destructive, bool):
        if read_only is True:
            return Effect.READ_ONLY, EFFECT_SOURCE_ANNOTATIONS
        if destructive is False:
            return Effect.ADDITIVE, EFFECT_SOURCE_ANNOTATIONS
        effect = Effect.DESTRUCTIVE if _says_destructive(tool) else Effect.OVERWRITE
        return effect, EFFECT_SOURCE_ANNOTATIONS
    named = _word_effect(_name_stems(tool))
    if named is None:
        named = _word_effect(_stems(_first_sentence(tool.description)))
    return (named or Effect.READ_ONLY), EFFECT_SOURCE_INFERRED


_ADDING_VERBS: Final = lexicon.word_set("append add insert prepend")


@functools.lru_cache(maxsize=4096)
def adds_to(text: str) -> bool:
    """Whether a write asks to add to something ("Append 'x' to notes.txt", "Add a line to
    a.txt") rather than to replace it: a tool that overwrites may then only run when it can
    append (it takes an ``append`` flag)."""
    if subtask_intent(text) is not Intent.WRITE:
        return False
    masked = lexicon.mask_locators(lexicon.mask_quotes(text))
    for token in lexicon.tokenize(masked):
        if token in DELETE_VERBS or token in WRITE_VERBS or token in READ_VERBS:
            return token in _ADDING_VERBS
    return False


# Kinds of change: a change is made only by a tool of the kind asked for ("copy" is never
# done by moving, "add an entity" may be done by creating one).
_CHANGE_KINDS: Final = {
    kind: lexicon.word_set(words)
    for kind, words in {
        "create": "add create make new insert append attach register stage mkdir remember "
        "record link relate connect",
        "write": "write save store put overwrite set",
        "edit": "edit replace modify change patch update",
        "move": "move rename",
        "copy": "copy duplicate clone",
        "commit": "commit",
        "switch": "checkout switch",
        "compress": "compress gzip zip",
        "toggle": "toggle enable disable",
        "delete": "delete remove drop erase forget purge destroy rm del unlink",
        "reset": "reset unstage discard revert undo clear truncate wipe",
    }.items()
}
_KIND_OF_WORD: Final = {
    lexicon.stem(word): kind for kind, words in _CHANGE_KINDS.items() for word in words
}


def _first_kind(tokens: list[str]) -> str | None:
    for token in tokens:
        kind = _KIND_OF_WORD.get(lexicon.stem(token))
        if kind is not None:
            return kind
    return None


@functools.lru_cache(maxsize=4096)
def change_kind(text: str) -> str | None:
    """The kind of change a write or delete asks for, from its first verb that names one
    ("Copy a.txt to b.txt": copy), or None."""
    masked = _one_verb(lexicon.mask_locators(lexicon.mask_quotes(text)))
    for token in lexicon.tokenize(masked):
        kind = _KIND_OF_WORD.get(lexicon.stem(token))
        if kind is not None:
            return kind
        if token in READ_VERBS:
            return None
    return None


@functools.lru_cache(maxsize=4096)
def tool_change_kinds(tool: ToolInfo) -> frozenset[str]:
    """The kinds of change a tool makes: from the first verb of its name and of its
    description ("write_file": "Create a new file or overwrite..." is write and create)."""
    kinds = {
        _first_kind(lexicon.identifier_tokens(tool.name)),
        _first_kind(lexicon.tokenize(_first_sentence(tool.description))[:1]),
        "create" if '"append"' in tool.input_schema else None,  # it can append
    }
    return frozenset(k for k in kinds if k is not None)


def makes_the_change(text: str, tool: ToolInfo) -> bool:
    """Whether ``tool`` makes the kind of change ``text`` asks for (True when either says
    no kind)."""
    asked = change_kind(text)
    kinds = tool_change_kinds(tool)
    return asked is None or not kinds or asked in kinds


# What a change is made to: the noun a write or delete names as its object ("create an empty
# file" makes a file, never a directory), and the nouns a tool's name and description's first
# sentence say it works on.
_OBJECT_KINDS: Final = {
    lexicon.stem(word): kind
    for kind, words in {
        "file": "file document",
        "directory": "directory folder dir",
        "branch": "branch",
        "entity": "entity node",
        "relation": "relation relationship",
        "observation": "observation",
    }.items()
    for word in lexicon.word_set(words)
}
_OBJECT_STOPS: Final = lexicon.word_set(
    "to into in from with called named as of for on at by about onto that which"
)
_OBJECT_REACH: Final = 4  # how many words after the verb may hold the object's noun


@functools.lru_cache(maxsize=4096)
def object_kind(text: str) -> str | None:
    """The kind of thing a step's lead verb acts on, when it names one right after the verb
    ("Create an empty file called notes.txt": file; "Make a folder named drafts": directory;
    "Move config.json into the logs folder": none, the object is the path)."""
    tokens = lexicon.tokenize(lexicon.mask_locators(lexicon.mask_quotes(text)))
    words = [t for t in tokens if t not in lexicon.FILLER_WORDS]
    if not words or (words[0] not in WRITE_VERBS and words[0] not in DELETE_VERBS):
        return None
    for token in words[1 : 1 + _OBJECT_REACH]:
        kind = _OBJECT_KINDS.get(lexicon.stem(token))
        if kind is not None:
            return kind
        if token in _OBJECT_STOPS:
            return None
    return None


@functools.lru_cache(maxsize=4096)
def verb_and_object_words(text: str) -> tuple[str | None, tuple[str, ...]]:
    """A step's lead word and the words after it up to the first preposition, quote or path
    ("Create a tiny image": create, (a, tiny, image))."""
    masked = lexicon.mask_locators(lexicon.mask_quotes(text))
    words = [t for t in lexicon.tokenize(masked) if t not in lexicon.FILLER_WORDS]
    if not words:
        return None, ()
    named: list[str] = []
    position = masked.lower().find(words[0]) + len(words[0])
    for token in words[1 : 1 + _OBJECT_REACH]:
        at = masked.lower().find(token, position)
        if token in _OBJECT_STOPS or any(q in masked[position:at] for q in "\"'`“‘"):
            break
        named.append(token)
        position = at + len(token)
    return words[0], tuple(named)


@functools.lru_cache(maxsize=4096)
def tool_object_kinds(tool: ToolInfo) -> frozenset[str]:
    """The kinds of thing a tool works on, from its name and its description's first sentence
    ("move_file": "Move or rename files and directories" is file and directory)."""
    words = [*lexicon.identifier_tokens(tool.name), *_stems(_first_sentence(tool.description))]
    kinds = (_OBJECT_KINDS.get(lexicon.stem(w)) for w in words)
    return frozenset(k for k in kinds if k is not None)


def acts_on_the_object(text: str, tool: ToolInfo) -> bool:
    """Whether ``tool`` works on the kind of thing ``text`` names as its object (True when
    either names none)."""
    asked = object_kind(text)
    kinds = tool_object_kinds(tool)
    return asked is None or not kinds or asked in kinds


# Verbs that only ask to see something: any tool that returns it honours them. Every other
# lead verb is what the step asks done, and a tool that never says it does it does not fit
# ("Translate report.md" is not answered by reading it).
GENERIC_VERBS: Final = lexicon.word_set(
    "show read get list display print open tell give fetch retrieve view look lookup see "
    "return find search query check describe inspect bring calculate compute evaluate determine "
    "work"
)


@functools.lru_cache(maxsize=4096)
def content_verb(text: str) -> str | None:
    """The step's lead verb when it names an action beyond looking and no kind of
    change (those are kept by ``makes_the_change``): "translate", "link", "count", "echo";
    None for "show", "what ...", "send me ...", or no verb."""
    tokens = lexicon.tokenize(lexicon.mask_locators(lexicon.mask_quotes(text)))
    words = [t for t in tokens if t not in lexicon.FILLER_WORDS]
    if not words:
        return None
    lead = words[0]
    if lead in GENERIC_VERBS or lead in lexicon.QUESTION_WORDS:
        return None
    if len(words) > 1 and words[1] == "me":  # "send me a tiny image" asks to be given it
        return None
    if lead not in lexicon.ACTION_VERBS and lead not in WRITE_VERBS and lead not in DELETE_VERBS:
        return None
    return None if lexicon.stem(lead) in _KIND_OF_WORD else lead


_ELIGIBLE: Final = {
    Intent.READ: frozenset({Effect.READ_ONLY}),
    Intent.WRITE: frozenset({Effect.READ_ONLY, Effect.ADDITIVE, Effect.OVERWRITE}),
    Intent.DELETE: frozenset({Effect.DESTRUCTIVE}),
}
# The effects that do what an intent asks, as opposed to merely being allowed for it: a write
# prefers a tool that writes ("Create a branch" is git_create_branch, not git_branch).
PREFERRED: Final = {
    Intent.READ: frozenset({Effect.READ_ONLY}),
    Intent.WRITE: frozenset({Effect.ADDITIVE, Effect.OVERWRITE}),
    Intent.DELETE: frozenset({Effect.DESTRUCTIVE}),
}


def eligible(intent: Intent, effect: Effect) -> bool:
    """Whether a tool with ``effect`` may run a subtask with ``intent``."""
    return effect in _ELIGIBLE[intent]


def eligible_effects(intent: Intent) -> frozenset[Effect]:
    return _ELIGIBLE[intent]


__all__ = [
    "DELETE_VERBS",
    "EFFECT_SOURCE_ANNOTATIONS",
    "EFFECT_SOURCE_INFERRED",
    "GENERIC_VERBS",
    "PREFERRED",
    "READ_VERBS",
    "WRITE_VERBS",
    "acts_on_the_object",
    "adds_to",
    "change_kind",
    "content_verb",
    "eligible",
    "eligible_effects",
    "makes_the_change",
    "object_kind",
    "subtask_intent",
    "tool_change_kinds",
    "tool_effect",
    "tool_object_kinds",
    "verb_and_object_words",
]
