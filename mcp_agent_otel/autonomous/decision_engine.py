"""DecisionEngine: which tool runs each subtask, with what arguments, in which pattern.

The functional core:

- ``build_index(tools)``: a BM25 index over each tool's name, description and input-schema
  property names and descriptions, built once per tool catalogue.
- ``rank_tools(index, subtask)``: every tool scored by BM25 relevance to the subtask (its
  intent words; quoted data, paths and URLs excluded) combined with the match between the
  tool's category and the subtask's capabilities.
- ``choose_tools``: per subtask the best tool, a confidence calibrated from the score and its
  margin over the runner-up, and ordered fallbacks above a floor; subtasks nothing is relevant
  enough for are *unmatched*.
- ``plan_arguments(subtask, tool, explicit)``: arguments taken from the subtask text and the
  tool's input schema (a quoted string, the text after "search for"/"about", numbers, paths,
  dates, units, enum values, defaults); explicit arguments from the caller always win.
- ``assemble_decision``: the Decision, with the pattern adjusted to what matched.

``DecisionEngine`` is the thin traced shell: the ``decision_engine.decide`` span, the index
kept per environment fingerprint, and a pluggable ``ArgumentPlanner`` (an LLM, say) in place
of the default ``SchemaArgumentPlanner``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol, runtime_checkable

from mcp_agent_otel.autonomous import lexicon
from mcp_agent_otel.autonomous.errors import InvalidTaskError
from mcp_agent_otel.autonomous.models import (
    Decision,
    ExecutionPattern,
    JsonObject,
    StepPlan,
    Subtask,
    TaskAnalysis,
    ToolCategory,
    ToolInfo,
    canonical_json,
)
from mcp_agent_otel.tracing import semconv, spans

BM25_K1: Final = 1.2
BM25_B: Final = 0.75
NAME_REPEAT: Final = 2  # a tool's name words count twice in its document
RELEVANCE_HALF: Final = 2.5  # the BM25 score at which relevance reaches 0.5
RELEVANCE_WEIGHT: Final = 0.65
CATEGORY_WEIGHT: Final = 0.35
PRIMARY_MATCH: Final = 1.0  # the tool's category is the subtask's first capability
SECONDARY_MATCH: Final = 0.6  # ... one of its other capabilities
MIN_SCORE: Final = 0.2  # below this a tool is not relevant enough to run
MAX_FALLBACKS: Final = 2
FALLBACK_RATIO: Final = 0.5  # a fallback scores at least half the chosen tool's score
FIT_CANDIDATES: Final = 5  # how many top candidates are checked for argument fit

# --- the index ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ToolIndex:
    """A BM25 index over a tool catalogue. ``postings[term]`` holds ``(tool position, weight)``
    with the whole BM25 contribution of the term precomputed, so scoring is a sum."""

    tools: tuple[ToolInfo, ...]
    postings: Mapping[str, tuple[tuple[int, float], ...]]
    average_length: float


def tool_terms(tool: ToolInfo) -> list[str]:
    """The words of a tool's BM25 document: name (twice), description, schema properties."""
    name_terms = lexicon.token_terms(lexicon.identifier_tokens(tool.name))
    try:
        schema = json.loads(tool.input_schema) if tool.input_schema else {}
    except ValueError:
        schema = {}
    schema_words = lexicon.schema_text(schema) if isinstance(schema, dict) else ""
    return name_terms * NAME_REPEAT + lexicon.terms(tool.description) + lexicon.terms(schema_words)


def build_index(tools: Sequence[ToolInfo]) -> ToolIndex:
    """Index a tool catalogue for ``rank_tools`` (pure; done once per catalogue)."""
    documents = [tool_terms(t) for t in tools]
    n = len(documents)
    average = sum(len(d) for d in documents) / n if n else 0.0
    frequencies: list[dict[str, int]] = []
    document_frequency: dict[str, int] = {}
    for terms in documents:
        tf: dict[str, int] = {}
        for term in terms:
            tf[term] = tf.get(term, 0) + 1
        frequencies.append(tf)
        for term in tf:
            document_frequency[term] = document_frequency.get(term, 0) + 1
    postings: dict[str, list[tuple[int, float]]] = {}
    for position, (tf, terms) in enumerate(zip(frequencies, documents, strict=True)):
        norm = BM25_K1 * (1 - BM25_B + BM25_B * (len(terms) / average if average else 0.0))
        for term, count in tf.items():
            df = document_frequency[term]
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            weight = idf * count * (BM25_K1 + 1) / (count + norm)
            postings.setdefault(term, []).append((position, weight))
    return ToolIndex(
        tools=tuple(tools),
        postings={term: tuple(entries) for term, entries in postings.items()},
        average_length=average,
    )


def catalogue_key(tools: Sequence[ToolInfo]) -> str:
    """A key for a catalogue when no environment fingerprint is given: its tools' identities."""
    return canonical_json([[t.server, t.name, t.description, t.input_schema] for t in tools])


# --- ranking --------------------------------------------------------------------------------------


def subtask_terms(subtask: Subtask) -> list[str]:
    """The intent words of a subtask (its text without quoted data, paths and URLs), stemmed
    and widened with their synonyms ("times" also asks for "multiply")."""
    text = lexicon.mask_locators(lexicon.mask_quotes(subtask.text))
    return lexicon.expand_terms(lexicon.terms(text))


def category_match(tool: ToolInfo, subtask: Subtask) -> float:
    """1.0 when the tool's category is the subtask's first capability, 0.6 for another one."""
    if tool.category is ToolCategory.GENERAL or not subtask.capabilities:
        return 0.0
    if tool.category is subtask.capabilities[0]:
        return PRIMARY_MATCH
    return SECONDARY_MATCH if tool.category in subtask.capabilities else 0.0


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One tool scored for one subtask: ``score`` combines ``relevance`` (BM25, saturated to
    [0, 1)) and ``category`` (the category match)."""

    tool: ToolInfo
    score: float
    relevance: float
    category: float


def score_tools(index: ToolIndex, subtask: Subtask) -> list[Candidate]:
    """Every tool with a positive score for ``subtask``, best first (ties by server, name).

    score = 0.65 * bm25 / (bm25 + 2.5) + 0.35 * category match, in [0, 1).
    """
    bm25 = [0.0] * len(index.tools)
    for term in subtask_terms(subtask):
        for position, weight in index.postings.get(term, ()):
            bm25[position] += weight
    scored: list[Candidate] = []
    for tool, raw in zip(index.tools, bm25, strict=True):
        relevance = raw / (raw + RELEVANCE_HALF)
        category = category_match(tool, subtask)
        score = RELEVANCE_WEIGHT * relevance + CATEGORY_WEIGHT * category
        if score > 0:
            scored.append(Candidate(tool, round(score, 6), relevance, category))
    scored.sort(key=lambda c: (-c.score, c.tool.server, c.tool.name))
    return scored


def rank_tools(index: ToolIndex, subtask: Subtask) -> list[tuple[ToolInfo, float]]:
    """``(tool, score)`` for every tool with a positive score for ``subtask``, best first."""
    return [(c.tool, c.score) for c in score_tools(index, subtask)]


def argument_fit(subtask: Subtask, tool: ToolInfo, explicit: Mapping[str, Any]) -> float:
    """The share of the tool's required parameters the subtask (or ``explicit``) gives a value
    for; 1.0 when nothing is required. "Calculate the mean of 4, 8, 15" gives no expression."""
    required = [p.name for p in _params(tool.input_schema) if p.required]
    if not required or _always_fillable(tool.input_schema):
        return 1.0
    planned = plan_arguments(subtask, tool, explicit)
    return sum(1 for name in required if name in planned) / len(required)


@dataclasses.dataclass(frozen=True)
class ToolChoice:
    """The tools chosen for one subtask: the best first, then its fallbacks, with scores."""

    subtask_index: int
    candidates: tuple[tuple[ToolInfo, float], ...]
    confidence: float


def step_confidence(relevance: float, category: float, margin: float, fit: float) -> float:
    """How sure a choice is, in [0, 1]: text relevance, category agreement and the margin over
    the runner-up (0.45 / 0.30 / 0.25), scaled down by up to a quarter when the text does not
    give the tool's required arguments."""
    raw = 0.45 * relevance + 0.30 * category + 0.25 * max(0.0, min(1.0, margin))
    return round(max(0.0, min(1.0, raw * (0.75 + 0.25 * fit))), 4)


def choose_tools(
    analysis: TaskAnalysis,
    index: ToolIndex,
    *,
    min_score: float = MIN_SCORE,
    max_fallbacks: int = MAX_FALLBACKS,
    explicit: Mapping[int, Mapping[str, Any]] | None = None,
) -> tuple[tuple[ToolChoice, ...], tuple[int, ...]]:
    """Per subtask the best tool and its fallbacks; and the subtasks nothing fits (unmatched).

    A candidate needs some text relevance: the category alone never picks a tool (with no
    translation tool, "translate X" is unmatched rather than sent to another text tool).
    The top candidates' scores are scaled by their argument fit (halved when the text gives
    none of the required arguments), so a tool that could not be called loses to one that
    can. A fallback scores at least ``min_score`` and half the chosen tool's score, and
    matches one of the subtask's capabilities when the chosen tool does.
    """
    explicit = explicit or {}
    choices: list[ToolChoice] = []
    unmatched: list[int] = []
    for subtask in analysis.subtasks:
        scored = score_tools(index, subtask)
        top = [c for c in scored[:FIT_CANDIDATES] if c.score >= min_score and c.relevance > 0]
        fitted = []
        for c in top:
            fit = argument_fit(subtask, c.tool, explicit.get(subtask.index, {}))
            fitted.append((round(c.score * (0.5 + 0.5 * fit), 6), fit, c))
        fitted.sort(key=lambda f: (-f[0], f[2].tool.server, f[2].tool.name))
        relevant = [f for f in fitted if f[0] >= min_score]
        if not relevant:
            unmatched.append(subtask.index)
            continue
        best_score, best_fit, best = relevant[0]
        runner_up = relevant[1][0] if len(relevant) > 1 else 0.0
        if len(scored) > len(top):
            runner_up = max(runner_up, scored[len(top)].score)
        floor = max(min_score, FALLBACK_RATIO * best_score)
        fallbacks = [
            (f[2].tool, f[0])
            for f in relevant[1:]
            if f[0] >= floor and (f[2].category > 0 or best.category == 0)
        ]
        choices.append(
            ToolChoice(
                subtask_index=subtask.index,
                candidates=((best.tool, best_score), *fallbacks[: max(0, max_fallbacks)]),
                confidence=step_confidence(
                    best.relevance,
                    best.category,
                    (best_score - runner_up) / best_score,
                    best_fit,
                ),
            )
        )
    return tuple(choices), tuple(unmatched)


def decision_pattern(analysis: TaskAnalysis, matched: Sequence[int]) -> ExecutionPattern:
    """The analysis's pattern, adjusted to the subtasks that found a tool.

    One step or none: direct. Parallel needs two matched steps that depend on no matched
    step; an orchestrator needs three matched steps. Otherwise the analysis's pattern stands.
    """
    if len(matched) <= 1:
        return ExecutionPattern.DIRECT
    kept = set(matched)
    depends = {s.index: set(s.depends_on) & kept for s in analysis.subtasks if s.index in kept}
    independent = sum(1 for d in depends.values() if not d)
    has_deps = any(depends.values())
    pattern = analysis.pattern
    if pattern is ExecutionPattern.ORCHESTRATOR and len(kept) < 3:
        pattern = ExecutionPattern.SEQUENTIAL if has_deps else ExecutionPattern.PARALLEL
    if pattern is ExecutionPattern.PARALLEL and independent < 2:
        return ExecutionPattern.SEQUENTIAL
    if pattern is ExecutionPattern.DIRECT:
        return ExecutionPattern.SEQUENTIAL
    return pattern


def decision_confidence(
    analysis: TaskAnalysis, choices: Sequence[ToolChoice], unmatched: Sequence[int]
) -> float:
    """Coverage (matched / all subtasks) times the steps' mean confidence, nudged by the
    analysis's own confidence; 0 when nothing matched."""
    if not choices:
        return 0.0
    coverage = len(choices) / (len(choices) + len(unmatched))
    mean = sum(c.confidence for c in choices) / len(choices)
    return round(min(1.0, coverage * (0.85 * mean + 0.15 * analysis.confidence)), 4)


ArgumentsByTool = Mapping[tuple[int, int], Mapping[str, Any]]


def assemble_decision(
    analysis: TaskAnalysis,
    choices: Sequence[ToolChoice],
    unmatched: Sequence[int],
    planned: ArgumentsByTool,
) -> Decision:
    """The Decision. ``planned[(subtask index, candidate position)]`` holds the arguments of
    each call: position 0 is the chosen tool, then its fallbacks in order."""
    steps = []
    for choice in choices:
        args = [
            canonical_json(dict(planned.get((choice.subtask_index, k), {})))
            for k in range(len(choice.candidates))
        ]
        steps.append(
            StepPlan(
                subtask_index=choice.subtask_index,
                tool=choice.candidates[0][0].ref,
                arguments=args[0],
                confidence=choice.confidence,
                fallbacks=tuple(tool.ref for tool, _ in choice.candidates[1:]),
                fallback_arguments=tuple(args[1:]),
            )
        )
    return Decision(
        pattern=decision_pattern(analysis, [c.subtask_index for c in choices]),
        confidence=decision_confidence(analysis, choices, unmatched),
        steps=tuple(steps),
        unmatched=tuple(unmatched),
    )


# --- arguments ------------------------------------------------------------------------------


@runtime_checkable
class ArgumentPlanner(Protocol):
    """Plans the arguments of one tool call for one subtask.

    ``explicit`` holds the arguments the caller passed for this subtask; the engine applies
    them over whatever ``plan`` returns, so they win either way.
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


@dataclasses.dataclass(frozen=True)
class _Param:
    name: str
    role: str
    required: bool
    kind: str  # JSON type: string, number, integer, boolean, array, object
    item_kind: str
    enum: tuple[Any, ...]
    default: Any
    has_default: bool
    stems: frozenset[str]  # of the name
    cue_stems: frozenset[str]  # of the name and description: words that point at a value
    minimum: float | None
    maximum: float | None
    directory: bool


_PATH_NAMES: Final = lexicon.word_set(
    "path file filename filepath dir directory folder dest destination source src"
)
_DIRECTORY_NAMES: Final = lexicon.word_set("dir directory folder")
_URL_NAMES: Final = lexicon.word_set("url uri link href endpoint")
_TIMEZONE_NAMES: Final = lexicon.word_set("timezone tz zone")
_LANGUAGE_NAMES: Final = lexicon.word_set("language lang locale")
_EXPRESSION_NAMES: Final = lexicon.word_set("expression expr formula equation")
_TEXT_NAMES: Final = lexicon.word_set(
    "text content body input message document passage string paragraph"
)
_QUERY_NAMES: Final = lexicon.word_set(
    "query q search term topic keyword subject question word phrase name title"
)
_FIND_NAMES: Final = lexicon.word_set("find old")
_REPLACEMENT_NAMES: Final = lexicon.word_set("replacement new replace")
_THRESHOLD_NAMES: Final = lexicon.word_set("threshold cutoff bound")
_A_DIRECTORY_RE: Final = re.compile(r"\b(?:a|the)\s+(?:directory|folder)\b", re.IGNORECASE)
_OPERATORS: Final = frozenset({">", ">=", "<", "<=", "==", "!=", "=", "<>"})

_ROLE_CUES: Final[Mapping[str, frozenset[str]]] = {
    "text": lexicon.stem_set("in of text from on this content write save"),
    "query": lexicon.stem_set("for about search find lookup define term query on up"),
    "find": lexicon.stem_set("replace find substitute change swap"),
    "replacement": lexicon.stem_set("with by"),
    "id": lexicon.stem_set("document id doc"),
}
_QUOTE_ROLES: Final = frozenset({"text", "query", "find", "replacement", "id", "string"})


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


def _role(name_tokens: set[str], prop: Mapping[str, Any], kind: str, description: str) -> str:
    enum = prop.get("enum")
    if kind == "boolean":
        return "flag"
    if kind in ("number", "integer"):
        return "threshold" if name_tokens & _THRESHOLD_NAMES else "number"
    if kind == "array":
        items = prop.get("items")
        item_kind = _json_type(items) if isinstance(items, Mapping) else "string"
        return "numbers" if item_kind in ("number", "integer") else "strings"
    if kind != "string":
        return "other"
    if isinstance(enum, list) and enum:
        return "comparison" if set(map(str, enum)) <= _OPERATORS else "enum"
    fmt = prop.get("format")
    if name_tokens & _URL_NAMES or fmt in ("uri", "url"):
        return "url"
    if "date" in name_tokens or fmt == "date":
        return "date"
    if name_tokens & _TIMEZONE_NAMES:
        return "timezone"
    if "unit" in name_tokens:
        if name_tokens & {"from", "source"}:
            return "unit_from"
        return "unit_to" if name_tokens & {"to", "target"} else "unit_from"
    if name_tokens & _LANGUAGE_NAMES:
        return "language"
    if name_tokens & _EXPRESSION_NAMES:
        return "expression"
    if "glob" in name_tokens or ("pattern" in name_tokens and "glob" in description.lower()):
        return "glob"
    if name_tokens & _PATH_NAMES:
        return "path"
    if name_tokens and (name_tokens == {"id"} or sorted(name_tokens)[-1] == "id"):
        return "id"
    if name_tokens & _FIND_NAMES:
        return "find"
    if name_tokens & _REPLACEMENT_NAMES:
        return "replacement"
    if name_tokens & _TEXT_NAMES:
        return "text"
    if name_tokens & _QUERY_NAMES:
        return "query"
    return "string"


@functools.lru_cache(maxsize=1024)
def _params(input_schema: str) -> tuple[_Param, ...]:
    """The parameters of an input schema, required ones first in their declared order."""
    try:
        schema = json.loads(input_schema) if input_schema else {}
    except ValueError:
        return ()
    if not isinstance(schema, dict):
        return ()
    props = lexicon.schema_properties(schema)
    required_raw = schema.get("required")
    required = [r for r in required_raw if r in props] if isinstance(required_raw, list) else []
    order = list(dict.fromkeys(required)) + sorted(n for n in props if n not in required)
    params = []
    for name in order:
        prop = props[name]
        tokens = set(lexicon.identifier_tokens(name))
        description = prop.get("description")
        description = description if isinstance(description, str) else ""
        kind = _json_type(prop)
        items = prop.get("items")
        enum = prop.get("enum")
        stems = frozenset(lexicon.stem(t) for t in tokens)
        params.append(
            _Param(
                name=name,
                role=_role(tokens, prop, kind, description),
                required=name in required,
                kind=kind,
                item_kind=_json_type(items) if isinstance(items, Mapping) else "string",
                enum=tuple(enum) if isinstance(enum, list) else (),
                default=prop.get("default"),
                has_default="default" in prop,
                stems=stems,
                cue_stems=frozenset(
                    s for s in stems | set(lexicon.terms(description)) if s.isalpha() and len(s) > 2
                ),
                minimum=_number(prop.get("minimum")),
                maximum=_number(prop.get("maximum")),
                directory=bool(tokens & _DIRECTORY_NAMES)
                or bool(_A_DIRECTORY_RE.search(description)),
            )
        )
    return tuple(params)


_FREE_TEXT_ROLES: Final = frozenset({"text", "query", "string", "flag"})


@functools.lru_cache(maxsize=1024)
def _always_fillable(input_schema: str) -> bool:
    """Whether every required parameter gets a value from any text (free text, a flag or a
    default), so argument fit need not be computed."""
    return all(
        p.role in _FREE_TEXT_ROLES or p.has_default for p in _params(input_schema) if p.required
    )


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


_TOPIC_PATTERNS: Final = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?:definition|meaning)\s+of\s+(.+)",
        r"\b(?:about|regarding|concerning|on)\s+(.+)",
        r"\bfor\s+(.+)",
        r"\b(?:search|look\s+up|lookup|find|research|investigate|define|explain|describe)\s+(.+)",
        r"\b(?:what|who|where|when|which)\s+(?:is|are|was|were|does|do)\s+(.+)",
    )
)
_LEADING_FILLER_RE: Final = re.compile(
    r"^(?:(?:the|a|an|some|any|me|us|information|info|documents?|articles?|papers?|details"
    r"|term|word|phrase|concept)\s+"
    r"|(?:on|about|for)\s+)+",
    re.IGNORECASE,
)
_UNIT_RE: Final = re.compile(
    r"(-?\d+(?:\.\d+)?)\s*(°?[A-Za-zµ][\w°/]*)\s+(?:to|into|in|as)\s+(°?[A-Za-zµ][\w°/]*)"
)
_TIMEZONE_RE: Final = re.compile(
    r"\b(?:UTC|GMT)\b|\b[A-Z][A-Za-z]+(?:_[A-Z][A-Za-z]+)*/[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_]+)?\b"
    r"|(?<![\w:])[+-]\d{2}:\d{2}\b"
)
_GLOB_RE: Final = re.compile(r"(?<![\w*])[\w./-]*\*[\w.*/-]*")
_EXTENSION_FILES_RE: Final = re.compile(r"\b([a-z0-9]{1,5})\s+files\b", re.IGNORECASE)
_DIRECTORY_RE: Final = re.compile(
    r"\b(?:folder|directory|dir)\s+['\"]?([\w.-]+(?:/[\w.-]+)*)/?"
    r"|\b(?:in|under|inside|of|from)\s+(?:the\s+)?['\"]?([\w.-]+(?:/[\w.-]+)*)/?['\"]?\s+"
    r"(?:folder|directory|dir)\b"
    r"|(?<![\w/.])([\w.-]+(?:/[\w.-]+)*)/(?=\s|$|[,;])",
    re.IGNORECASE,
)
_EXPRESSION_RE: Final = re.compile(
    r"[-+(]*\s*\d[\d.]*\s*\)*(?:\s*(?:\*\*|[-+*/^%×÷])\s*[-+(]*\s*\d[\d.]*\s*\)*)+"
)
_EXPRESSION_WORDS: Final = tuple(
    (re.compile(rf"\b{w}\b", re.IGNORECASE), op)
    for w, op in (
        (r"to\s+the\s+power\s+of", "^"),
        (r"multiplied\s+by", "*"),
        (r"divided\s+by", "/"),
        ("times", "*"),
        ("plus", "+"),
        ("minus", "-"),
    )
)
_SQRT_RE: Final = re.compile(r"\bsquare\s+root\s+of\s+(\d+(?:\.\d+)?)", re.IGNORECASE)
_COMPARISONS: Final = tuple(
    (re.compile(rf"\b(?:{phrase})\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE), op)
    for phrase, op in (
        (r"(?:greater|more|larger|bigger|higher)\s+than\s+or\s+equal\s+to", ">="),
        (r"(?:less|fewer|smaller|lower)\s+than\s+or\s+equal\s+to", "<="),
        (r"at\s+least", ">="),
        (r"at\s+most|no\s+more\s+than", "<="),
        (r"not\s+equal\s+to|other\s+than", "!="),
        (r"(?:greater|more|larger|bigger|higher)\s+than|above|over|exceeding", ">"),
        (r"(?:less|fewer|smaller|lower)\s+than|below|under", "<"),
        (r"equal\s+to|equals?|exactly", "=="),
    )
)
_ANYWHERE_COMPARISON_OPS: Final = re.compile(r"(>=|<=|!=|==|>|<)\s*(-?\d+(?:\.\d+)?)")


@dataclasses.dataclass(frozen=True)
class _Quote:
    value: str
    cue: str  # stem of the word before the opening quote


_WINDOW: Final = 40  # characters looked at around a quote or a number for its cue word


class _TextFacts:
    """What a subtask's text offers as argument values. Read once per text (cached), lazily:
    only what some parameter asks for is computed. Treated as immutable."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.masked = lexicon.mask_quotes(text)

    @functools.cached_property
    def tokens(self) -> list[str]:
        return lexicon.tokenize(self.masked)

    @functools.cached_property
    def stems(self) -> frozenset[str]:
        return frozenset(lexicon.stem(t) for t in self.tokens)

    @functools.cached_property
    def quotes(self) -> tuple[_Quote, ...]:
        quotes = []
        for start, _, value in lexicon.quote_spans(self.text):
            before = lexicon.tokenize(self.text[max(0, start - _WINDOW) : start])
            quotes.append(_Quote(value, lexicon.stem(before[-1]) if before else ""))
        return tuple(quotes)

    @functools.cached_property
    def numbers(self) -> tuple[tuple[int, int, int | float], ...]:
        return tuple(lexicon.number_spans(lexicon.mask_locators(self.masked)))

    @functools.cached_property
    def neighbours(self) -> tuple[frozenset[str], ...]:
        """Per number, the stems of the words right before and after it."""
        out = []
        for start, end, _ in self.numbers:
            before = lexicon.tokenize(self.masked[max(0, start - _WINDOW) : start])[-1:]
            after = lexicon.tokenize(self.masked[end : end + _WINDOW])[:1]
            out.append(frozenset(lexicon.stem(t) for t in before + after))
        return tuple(out)

    @functools.cached_property
    def paths(self) -> tuple[str, ...]:
        return tuple(lexicon.find_paths(self.text))

    @functools.cached_property
    def dates(self) -> tuple[str, ...]:
        return tuple(lexicon.find_dates(self.text))

    @functools.cached_property
    def comparison(self) -> tuple[str, int] | None:
        return _comparison(self.masked)

    @functools.cached_property
    def unit(self) -> tuple[int, str, str] | None:
        """Where the value of "10 km to miles" starts, and its two units."""
        m = _UNIT_RE.search(self.masked)
        return (m.start(1), m.group(2), m.group(3)) if m else None


@functools.lru_cache(maxsize=512)
def _facts(text: str) -> _TextFacts:
    return _TextFacts(text)


class _Draw:
    """One planning pass over a text's facts: each quote, number, path and date used once."""

    def __init__(self, facts: _TextFacts) -> None:
        self.facts = facts
        self.used_quotes: set[int] = set()
        self.used_numbers: set[int] = set()
        self.used_paths = 0
        self.used_dates = 0

    def take_quote(self, cues: frozenset[str] | None) -> str | None:
        """The first unused quote (after a cue word when ``cues`` is given)."""
        for i, quote in enumerate(self.facts.quotes):
            if i not in self.used_quotes and (cues is None or quote.cue in cues):
                self.used_quotes.add(i)
                return quote.value
        return None

    def free_numbers(self) -> list[int]:
        return [i for i in range(len(self.facts.numbers)) if i not in self.used_numbers]

    def take_number(self, position: int) -> int | float:
        self.used_numbers.add(position)
        return self.facts.numbers[position][2]


def _fits(param: _Param, value: int | float) -> bool:
    if param.kind == "integer" and not isinstance(value, int):
        return False
    if param.minimum is not None and value < param.minimum:
        return False
    return not (param.maximum is not None and value > param.maximum)


def _topic(text: str) -> str | None:
    for pattern in _TOPIC_PATTERNS:
        m = pattern.search(text)
        if m:
            topic = re.split(r"[?!;]|[.,](?:\s|$)", m.group(1), maxsplit=1)[0]
            topic = _LEADING_FILLER_RE.sub("", topic.strip()).strip(" '\"")
            if topic:
                return topic
    return None


def _expression(text: str) -> str | None:
    spoken = text
    for pattern, op in _EXPRESSION_WORDS:
        spoken = pattern.sub(f" {op} ", spoken)
    spoken = _SQRT_RE.sub(r"sqrt(\1)", spoken)
    m = _EXPRESSION_RE.search(spoken)
    if m is None:
        root = re.search(r"sqrt\(\d+(?:\.\d+)?\)", spoken)
        return root.group(0) if root else None
    start, end = m.span()
    if spoken[:start].rstrip().endswith("sqrt("):
        start = spoken.rfind("sqrt(", 0, start)
    return " ".join(spoken[start:end].split()).replace("×", "*").replace("÷", "/")


def _comparison(text: str) -> tuple[str, int] | None:
    """The comparison a text asks for ("greater than 10", ">= 3"): operator, number position."""
    for pattern, op in _COMPARISONS:
        m = pattern.search(text)
        if m:
            return op, m.start(1)
    m = _ANYWHERE_COMPARISON_OPS.search(text)
    return (m.group(1), m.start(2)) if m else None


def _language(tokens: Sequence[str], param: _Param, code_wanted: bool) -> str | None:
    for token in tokens:
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


def _enum_value(tokens: Sequence[str], param: _Param) -> Any:
    values = {str(v).lower(): v for v in param.enum}
    for token in tokens:
        if token in values:
            return values[token]
        for low, value in values.items():
            if len(low) >= 3 and token.startswith(low):
                return value  # "uppercase" -> "upper"
    return None


def _fill(draw: _Draw, param: _Param, schema_text: str) -> Any:
    """A value for ``param`` from the subtask text, or None (quotes and numbers are done)."""
    facts = draw.facts
    role, text, masked = param.role, facts.text, facts.masked
    if role == "path":
        if param.directory:
            m = _DIRECTORY_RE.search(masked)
            if m:
                return next(g for g in m.groups() if g)
            return "." if param.required else None
        if draw.used_paths < len(facts.paths):
            draw.used_paths += 1
            return facts.paths[draw.used_paths - 1]
        return None
    if role == "url":
        urls = lexicon.find_urls(text)
        return urls[0] if urls else None
    if role == "date":
        if draw.used_dates >= len(facts.dates):
            return None
        draw.used_dates += 1
        return facts.dates[draw.used_dates - 1]
    if role == "timezone":
        m = _TIMEZONE_RE.search(masked)
        return m.group(0) if m else None
    if role in ("unit_from", "unit_to"):
        if facts.unit is None:
            return None
        return facts.unit[1] if role == "unit_from" else facts.unit[2]
    if role == "language":
        return _language(facts.tokens, param, "code" in schema_text or "iso" in schema_text)
    if role == "expression":
        return _expression(masked)
    if role == "comparison":
        if facts.comparison is None:
            return None
        op = {"=": "==", "<>": "!="}.get(facts.comparison[0], facts.comparison[0])
        return op if op in {str(v) for v in param.enum} else None
    if role == "enum":
        return _enum_value(facts.tokens, param)
    if role == "glob":
        m = _GLOB_RE.search(masked)
        if m:
            return m.group(0)
        m = _EXTENSION_FILES_RE.search(masked)
        return f"*.{m.group(1).lower()}" if m and m.group(1).lower() in _EXTENSIONS else None
    if role == "flag":
        if param.stems and param.stems <= facts.stems:
            return True
        return False if param.required else None
    if role == "strings":
        values = []
        while (quote := draw.take_quote(None)) is not None:
            values.append(quote)
        return values or None
    if not param.required:
        return None
    if role == "query":
        return _topic(masked) or text
    if role == "id":
        m = re.search(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b", masked)
        return m.group(0) if m else None
    if role == "text":
        colon = masked.find(":")
        if colon >= 0 and text[colon + 1 :].strip():
            return text[colon + 1 :].strip()
        return text
    if role == "find":
        m = re.search(r"\breplace\s+(.+?)\s+with\s+", masked, re.IGNORECASE)
        return m.group(1) if m else None
    if role == "replacement":
        m = re.search(r"\bwith\s+(.+?)(?:\s+in\b|$)", masked, re.IGNORECASE)
        return m.group(1) if m else None
    if role == "string":
        return text
    return None


_EXTENSIONS: Final = lexicon.word_set(
    "txt md csv tsv json jsonl yaml yml xml html log py js ts pdf ini toml cfg sql"
)


def plan_arguments(
    subtask: Subtask, tool: ToolInfo, explicit: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Arguments for calling ``tool`` on ``subtask``, from its text and the tool's input schema.

    Pure. Quoted strings go to string parameters (by the word before the quote: "replace 'a'
    with 'b' in 'text'"), numbers to number and array parameters (a number next to a
    parameter's words first: "in 2 sentences" -> max_sentences=2; "greater than 10" ->
    threshold=10), then paths, URLs, dates, units, time zones, languages, expressions, enum
    values, flags named in the text, and the text after "search for"/"about" for queries.
    Optional parameters are only set when the text names a value; required ones fall back to
    their default, then to the subtask text for free text. ``explicit`` values always win.
    """
    explicit = dict(explicit or {})
    params = [p for p in _params(tool.input_schema) if p.name not in explicit]
    if not params:
        return explicit
    facts = _facts(subtask.text)
    draw = _Draw(facts)
    values: dict[str, Any] = {}

    # 1. quoted strings: first to the parameter the word before the quote points at.
    string_params = [p for p in params if p.role in _QUOTE_ROLES]
    if string_params and facts.quotes:
        for param in string_params:
            quote = draw.take_quote(param.stems | _ROLE_CUES.get(param.role, frozenset()))
            if quote is not None:
                values[param.name] = quote
        for param in string_params:
            if param.name not in values and param.required:
                quote = draw.take_quote(None)
                if quote is not None:
                    values[param.name] = quote

    # 2. numbers: bound by context first (a comparison, a unit, a neighbouring word).
    scalars = [p for p in params if p.role in ("number", "threshold")]
    arrays = [p for p in params if p.role == "numbers"]
    if (scalars or arrays) and facts.numbers:
        comparison, unit = facts.comparison, facts.unit
        for param in scalars:
            for position in draw.free_numbers():
                start, _, value = facts.numbers[position]
                bound = (
                    (
                        param.role == "threshold"
                        and comparison is not None
                        and start == comparison[1]
                    )
                    or (unit is not None and start == unit[0] and param.required)
                    or bool(facts.neighbours[position] & param.cue_stems)
                )
                if bound and _fits(param, value):
                    values[param.name] = draw.take_number(position)
                    break
        for param in arrays:  # the number of "greater than 10" is a threshold, never data
            free = [
                i
                for i in draw.free_numbers()
                if comparison is None or facts.numbers[i][0] != comparison[1]
            ]
            if free:
                values[param.name] = [draw.take_number(i) for i in free]
        for param in scalars:
            if param.name in values or not param.required:
                continue
            for position in draw.free_numbers():
                if _fits(param, facts.numbers[position][2]):
                    values[param.name] = draw.take_number(position)
                    break

    # 3. everything else, then defaults for required parameters still without a value.
    schema_text = tool.input_schema.lower()
    for param in params:
        if param.name in values or param.role in ("number", "threshold", "numbers"):
            if param.name not in values and param.required and param.has_default:
                values[param.name] = param.default
            continue
        value = _fill(draw, param, schema_text)
        if value is None and param.required and param.has_default:
            value = param.default
        if value is not None:
            values[param.name] = value
    values.update(explicit)
    return values


def text_input_parameter(tool: ToolInfo) -> str | None:
    """The parameter that takes the text a tool works on (``text``, ``content``, ...), if any:
    the one a step's input from an earlier step belongs in."""
    for param in _params(tool.input_schema):
        if param.role == "text" and param.required:
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
    if planned is not None and planned != subtask.text:
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


def plan_decision(
    analysis: TaskAnalysis,
    index: ToolIndex,
    arguments: Mapping[int, Mapping[str, Any]] | None = None,
    *,
    min_score: float = MIN_SCORE,
    max_fallbacks: int = MAX_FALLBACKS,
) -> Decision:
    """The whole decision with the default argument planner: pure and synchronous."""
    explicit = check_arguments(analysis, arguments)
    choices, unmatched = choose_tools(
        analysis, index, min_score=min_score, max_fallbacks=max_fallbacks, explicit=explicit
    )
    subtasks = {s.index: s for s in analysis.subtasks}
    planned = {
        (c.subtask_index, k): plan_arguments(
            subtasks[c.subtask_index], tool, explicit.get(c.subtask_index, {})
        )
        for c in choices
        for k, (tool, _) in enumerate(c.candidates)
    }
    return assemble_decision(analysis, choices, unmatched, planned)


# --- the traced shell -----------------------------------------------------------------------------


class DecisionEngine:
    """Decides inside a ``decision_engine.decide`` span; keeps the tool index per environment."""

    def __init__(
        self,
        planner: ArgumentPlanner | None = None,
        *,
        min_score: float = MIN_SCORE,
        max_fallbacks: int = MAX_FALLBACKS,
    ) -> None:
        self.planner: ArgumentPlanner = planner if planner is not None else SchemaArgumentPlanner()
        self.min_score = min_score
        self.max_fallbacks = max_fallbacks
        self._index_key: str | None = None
        self._index: ToolIndex | None = None
        self.index_builds = 0

    def index_for(self, tools: Sequence[ToolInfo], env_fingerprint: str) -> tuple[ToolIndex, bool]:
        """The index of ``tools``, rebuilt only when the environment fingerprint changes
        (with no fingerprint, when the catalogue itself changes)."""
        key = env_fingerprint or "catalogue:" + catalogue_key(tools)
        if self._index is None or key != self._index_key:
            self._index = build_index(tools)
            self._index_key = key
            self.index_builds += 1
            return self._index, True
        return self._index, False

    async def decide(
        self,
        analysis: TaskAnalysis,
        tools: Sequence[ToolInfo],
        env_fingerprint: str,
        arguments: Mapping[int, Mapping[str, Any]] | None = None,
    ) -> Decision:
        """Choose a tool, arguments and fallbacks per subtask, and the execution pattern.

        ``arguments`` maps a subtask index to explicit tool arguments, which win over planned
        ones. Bad explicit arguments raise ``InvalidTaskError`` (span status ERROR).
        """
        with spans.stage_span(semconv.SPAN_DECIDE, cpu_time=True) as span:
            explicit = check_arguments(analysis, arguments)
            index, built = self.index_for(tools, env_fingerprint)
            choices, unmatched = choose_tools(
                analysis,
                index,
                min_score=self.min_score,
                max_fallbacks=self.max_fallbacks,
                explicit=explicit,
            )
            planned = await self._plan(analysis, choices, explicit)
            decision = assemble_decision(analysis, choices, unmatched, planned)
            spans.set_attributes(
                span,
                {
                    semconv.DECISION_PATTERN: decision.pattern.value,
                    semconv.DECISION_CONFIDENCE: decision.confidence,
                    semconv.DECISION_STEPS: len(decision.steps),
                    semconv.DECISION_UNMATCHED: len(decision.unmatched),
                    semconv.DECISION_INDEX_BUILT: built,
                },
            )
            return decision

    async def _plan(
        self,
        analysis: TaskAnalysis,
        choices: Sequence[ToolChoice],
        explicit: Mapping[int, Mapping[str, Any]],
    ) -> dict[tuple[int, int], JsonObject]:
        subtasks = {s.index: s for s in analysis.subtasks}
        calls = [
            (c.subtask_index, k, subtasks[c.subtask_index], tool)
            for c in choices
            for k, (tool, _) in enumerate(c.candidates)
        ]
        if type(self.planner) is SchemaArgumentPlanner:  # pure: no need to schedule anything
            return {
                (i, k): plan_arguments(subtask, tool, explicit.get(i, {}))
                for i, k, subtask, tool in calls
            }
        results = await asyncio.gather(
            *(
                self.planner.plan(subtask, tool, explicit.get(i, {}))
                for i, _, subtask, tool in calls
            )
        )
        planned: dict[tuple[int, int], JsonObject] = {}
        for (i, k, _, tool), result in zip(calls, results, strict=True):
            if not isinstance(result, Mapping):
                raise TypeError(
                    f"argument planner {type(self.planner).__name__} returned "
                    f"{type(result).__name__} for {tool.ref}: it must return a dict of arguments"
                )
            merged = {**result, **explicit.get(i, {})}
            try:
                canonical_json(merged)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"argument planner {type(self.planner).__name__} planned arguments for "
                    f"{tool.ref} that are not JSON ({exc})"
                ) from None
            planned[(i, k)] = merged
        return planned


__all__ = [
    "MIN_SCORE",
    "ArgumentPlanner",
    "Candidate",
    "DecisionEngine",
    "SchemaArgumentPlanner",
    "ToolChoice",
    "ToolIndex",
    "argument_fit",
    "assemble_decision",
    "build_index",
    "catalogue_key",
    "category_match",
    "check_arguments",
    "choose_tools",
    "decision_confidence",
    "decision_pattern",
    "piped_arguments",
    "plan_arguments",
    "plan_decision",
    "rank_tools",
    "score_tools",
    "step_confidence",
    "subtask_terms",
    "text_input_parameter",
    "tool_terms",
]
