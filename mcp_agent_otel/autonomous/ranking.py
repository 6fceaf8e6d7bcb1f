"""Tool ranking: which tools could run a subtask, best first, and which one is chosen.

- ``build_index(tools)``: a BM25 index over each tool's name, description and input-schema
  property names and descriptions, built once per tool catalogue.
- ``score_tools(index, subtask)``: every tool scored by BM25 relevance to the subtask (its
  intent words; quoted data, paths and URLs excluded, a path counting as the word "file")
  combined with the match between the tool's category and the subtask's capabilities.
- ``choose(subtask, scored, fit)``: among the tools whose *effect* fits the subtask's
  *intent* (``effects.eligible``), the best by score scaled by argument fit (how much of
  what the tool requires the text and the server context give), with a calibrated
  confidence and ordered fallbacks of the same kind; or an ``Unmatched`` saying why
  (no eligible tool, or none confident enough) and naming the closest tools.

Pure functions over ``ToolInfo``/``Subtask``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from mcp_agent_otel.autonomous import effects, lexicon
from mcp_agent_otel.autonomous.models import (
    Effect,
    Intent,
    Subtask,
    ToolCategory,
    ToolInfo,
    ToolRef,
    Unmatched,
)

BM25_K1: Final = 1.2
BM25_B: Final = 0.75
NAME_REPEAT: Final = 2  # a tool's name words count twice in its document
RELEVANCE_HALF: Final = 2.5  # the BM25 score at which relevance reaches 0.5
RELEVANCE_WEIGHT: Final = 0.65
CATEGORY_WEIGHT: Final = 0.35
PRIMARY_MATCH: Final = 1.0  # the tool's category is the subtask's first capability
SECONDARY_MATCH: Final = 0.6  # ... one of its other capabilities
MIN_SCORE: Final = 0.2  # below this a tool is not relevant enough to run
CONFIDENCE_FLOOR: Final = 0.3  # below this a step is not run: low confidence
MAX_FALLBACKS: Final = 2
FALLBACK_RATIO: Final = 0.5  # a fallback scores at least half the chosen tool's score
FIT_CANDIDATES: Final = 5  # how many top candidates are checked for argument fit
NOT_PREFERRED: Final = 0.6  # score factor of an eligible tool that does not do what is asked
DEPRECATED: Final = 0.8  # score factor of a tool whose description says it is deprecated
CLOSEST: Final = 3  # how many closest tools an Unmatched names
IGNORES_DATA: Final = 0.5  # score factor of a tool that uses none of the data the task gives

# --- the index ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ToolIndex:
    """A BM25 index over a tool catalogue. ``postings[term]`` holds ``(tool position, weight)``
    with the whole BM25 contribution of the term precomputed, so scoring is a sum."""

    tools: tuple[ToolInfo, ...]
    postings: Mapping[str, tuple[tuple[int, float], ...]]
    average_length: float
    effects: tuple[Effect, ...] = ()  # of each tool, in order (effects.tool_effect)


def tool_terms(tool: ToolInfo) -> list[str]:
    """The words of a tool's BM25 document: name (twice), the server's name, description,
    schema properties ("in memory" and "the git status" name servers)."""
    name_terms = lexicon.token_terms(lexicon.identifier_tokens(tool.name))
    server_terms = lexicon.token_terms(lexicon.identifier_tokens(tool.server))
    try:
        schema = json.loads(tool.input_schema) if tool.input_schema else {}
    except ValueError:
        schema = {}
    schema_words = lexicon.schema_text(schema) if isinstance(schema, dict) else ""
    return (
        name_terms * NAME_REPEAT
        + server_terms
        + lexicon.terms(tool.description)
        + lexicon.terms(schema_words)
    )


def build_index(tools: Sequence[ToolInfo]) -> ToolIndex:
    """Index a tool catalogue for ``score_tools`` (pure; done once per catalogue)."""
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
        effects=tuple(effects.tool_effect(t)[0] for t in tools),
    )


# --- scoring ----------------------------------------------------------------------------------

_FILE_STEM: Final = lexicon.stem("file")
# "changes I have not staged yet" asks for the unstaged ones
_NEGATED_RE: Final = re.compile(
    r"\b(?:not|never|n't)\s+(?:been\s+|yet\s+)?(\w+ed)\b", re.IGNORECASE
)
_READING_STEMS: Final = lexicon.stem_set("read show display print open view cat content contents")
_REVISION_RE: Final = re.compile(r"(?=[0-9a-f]*\d)[0-9a-f]{7,40}")  # a commit id is data
# What the extension of a path the text names says about the file: the word a tool for it uses.
_KIND_OF_FILE: Final = {
    **dict.fromkeys(
        lexicon.word_set(
            "txt md markdown csv tsv json jsonl yaml yml xml html log ini toml cfg rst sql py js ts"
        ),
        "text",
    ),
    **dict.fromkeys(lexicon.word_set("png jpg jpeg gif svg bmp webp mp3 wav ogg"), "image media"),
}
# A question about someone asks for what is known of an entity.
_PERSON_QUESTION: Final = lexicon.word_set("who whom whose")
_OPERATOR_TERMS: Final = {
    "+": "add sum plus",
    "*": "multiply times",
    "/": "divide",
    "-": "subtract",
}


def subtask_terms(subtask: Subtask, extra: Sequence[str] = ()) -> list[str]:
    """The intent words of a subtask (its text without quoted data, paths and URLs), stemmed
    and widened with their synonyms ("times" also asks for "multiply"); a file path counts as
    the word "file" and its kind ("notes.txt": text), an arithmetic operator between numbers
    as its name ("5 + 7": add, sum). ``extra`` are paths the step works on without naming
    them (an earlier step's file, for "read it back")."""
    masked = _NEGATED_RE.sub(r"un\1", lexicon.mask_quotes(subtask.text))  # "not staged"
    located = lexicon.mask_locators(masked)
    found = [t for t in lexicon.terms(located) if not _REVISION_RE.fullmatch(t)]
    reading = bool(_READING_STEMS.intersection(found))
    for path in [*lexicon.find_paths(subtask.text), *extra]:
        found.append(_FILE_STEM)
        extension = path.rsplit(".", 1)[-1].lower() if "." in path else ""
        if reading:  # "read notes.txt" reads text; "how large is notes.txt" does not
            found.extend(lexicon.terms(_KIND_OF_FILE.get(extension, "")))
    if _PERSON_QUESTION.intersection(lexicon.tokenize(located)):  # "who is Marta?"
        found.extend(lexicon.terms("entity"))
    for symbol, words in _OPERATOR_TERMS.items():
        if f" {symbol} " in located and lexicon.find_numbers(located):
            found.extend(lexicon.terms(words))
    return lexicon.expand_terms(found)


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
    effect: Effect = Effect.READ_ONLY


def score_tools(index: ToolIndex, subtask: Subtask, extra: Sequence[str] = ()) -> list[Candidate]:
    """Every tool with a positive score for ``subtask``, best first (ties by server, name).

    score = 0.65 * bm25 / (bm25 + 2.5) + 0.35 * category match, in [0, 1).
    """
    bm25 = [0.0] * len(index.tools)
    for term in subtask_terms(subtask, extra):
        for position, weight in index.postings.get(term, ()):
            bm25[position] += weight
    scored: list[Candidate] = []
    tool_effects = index.effects or tuple(effects.tool_effect(t)[0] for t in index.tools)
    for tool, raw, effect in zip(index.tools, bm25, tool_effects, strict=True):
        relevance = raw / (raw + RELEVANCE_HALF)
        category = category_match(tool, subtask)
        score = RELEVANCE_WEIGHT * relevance + CATEGORY_WEIGHT * category
        if score > 0:
            scored.append(Candidate(tool, round(score, 6), relevance, category, effect))
    scored.sort(key=lambda c: (-c.score, c.tool.server, c.tool.name))
    return scored


def rank_tools(index: ToolIndex, subtask: Subtask) -> list[tuple[ToolInfo, float]]:
    """``(tool, score)`` for every tool with a positive score for ``subtask``, best first."""
    return [(c.tool, c.score) for c in score_tools(index, subtask)]


# --- choosing ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ToolChoice:
    """The tools chosen for one subtask: the best first, then its fallbacks, with scores."""

    subtask_index: int
    candidates: tuple[tuple[ToolInfo, float], ...]
    confidence: float
    intent: Intent = Intent.READ
    effect: Effect = Effect.READ_ONLY  # of the chosen tool


def step_confidence(relevance: float, category: float, margin: float, fit: float) -> float:
    """How sure a choice is, in [0, 1]: text relevance, category agreement and the margin over
    the runner-up (0.45 / 0.30 / 0.25), scaled down by up to a quarter when the text does not
    give the tool's required arguments."""
    raw = 0.45 * relevance + 0.30 * category + 0.25 * max(0.0, min(1.0, margin))
    return round(max(0.0, min(1.0, raw * (0.75 + 0.25 * fit))), 4)


def _names_a_place(text: str) -> bool:
    """Whether a text names a file or a directory (not merely quoted text to work on)."""
    return bool(lexicon.find_paths(text) or lexicon.ABSOLUTE_DIRECTORY_RE.search(text))


def _answers_a_change(subtask: Subtask, tool: ToolInfo) -> bool:
    """Whether a read-only tool may answer a change of a named kind: only one whose name says
    the change's verb ("change case" for "Change 'x' to snake case") or names what is made
    ("tiny image" for "Create a tiny image"). Otherwise it would change nothing and report
    success ("Link Marta to Acme" is not answered by listing resource links)."""
    lead, named = effects.verb_and_object_words(subtask.text)
    words = lexicon.identifier_tokens(tool.name)
    stems = {lexicon.stem(w) for w in words}
    # a plural in a name is what the tool returns ("get-resource-links"), not what it does
    verbs = {lexicon.stem(w) for w in words if not (w.endswith("s") and lead and w != lead)}
    return (lead is not None and lexicon.stem(lead) in verbs) or bool(
        stems.intersection(lexicon.stem(w) for w in named)
    )


def _can_append(tool: ToolInfo) -> bool:
    """Whether an overwriting tool can append instead (it takes an ``append`` flag)."""
    return '"append"' in tool.input_schema


@functools.lru_cache(maxsize=4096)
def _action_words(tool: ToolInfo) -> frozenset[str]:
    """The stems of a tool's name and its description's first sentence: what it says it does
    (the rest of a description and the schema say how, and what it takes)."""
    first = re.split(r"(?<=[.!?])\s", tool.description.strip(), maxsplit=1)[0]
    return frozenset(
        lexicon.token_terms(lexicon.identifier_tokens(tool.name)) + lexicon.terms(first)
    )


def _honours(tool: ToolInfo, verb: str) -> bool:
    """Whether a tool says it does what a step's lead verb asks ("translate", "echo"): the
    verb or one of its synonyms is among the words of its name and first sentence."""
    words = _action_words(tool)
    return any(term in words for term in lexicon.expand_terms([lexicon.stem(verb)]))


def _is_deprecated(tool: ToolInfo) -> bool:
    return "deprecated" in tool.description.lower()


def _adjusted(candidate: Candidate, intent: Intent) -> float:
    factor = 1.0 if candidate.effect in effects.PREFERRED[intent] else NOT_PREFERRED
    if _is_deprecated(candidate.tool):
        factor *= DEPRECATED
    return candidate.score * factor


def _closest(scored: Sequence[Candidate]) -> tuple[ToolRef, ...]:
    return tuple(c.tool.ref for c in scored[:CLOSEST])


def _names(refs: Sequence[ToolRef]) -> str:
    return ", ".join(str(r) for r in refs) if refs else "none"


_INTENT_WORDS: Final = {
    Intent.READ: "reads (changes nothing)",
    Intent.WRITE: "adds or changes something",
    Intent.DELETE: "removes or resets something",
}


def choose(
    subtask: Subtask,
    scored: Sequence[Candidate],
    fit: Callable[[ToolInfo], tuple[float, float, bool]],
    *,
    min_score: float = MIN_SCORE,
    floor: float = CONFIDENCE_FLOOR,
    max_fallbacks: int = MAX_FALLBACKS,
) -> ToolChoice | Unmatched:
    """The tool for ``subtask`` and its fallbacks, or why there is none.

    Only tools whose effect fits the subtask's intent, and that make the kind of change asked
    for ("copy" is never done by a tool that moves), are considered (a write that adds to
    something never runs a tool that overwrites it, unless the tool can append); among those a tool
    that does what is asked (a write for a write) beats one that is merely allowed, and a
    deprecated tool loses to its replacement. A candidate needs some text relevance: the
    category alone never picks a tool. The top candidates' scores are scaled by their
    argument fit (``fit(tool)``: the share of required arguments available, halving the
    score when none is; the share of the text's data the arguments use, up to 15%, halving
    the score of a tool that uses none of it; and a tool that would use none of the values
    the task names, a path or a quote, is not a candidate), so a tool that could not be
    called loses to one that can, and one that ignores the path or number the task gives
    loses to one that uses it. Only a read has fallbacks (a write or a
    delete that fails is reported, never tried another way): read-only tools on the chosen
    tool's server scoring at least ``min_score`` and half the chosen tool's score, matching
    one of the subtask's capabilities when the chosen tool does.
    """
    intent = subtask.intent
    # a change of a named kind ("copy") is made by a tool of that kind; a change to something
    # in the world (a file, a directory) is never answered by a read
    kind = effects.change_kind(subtask.text) if intent is not Intent.READ else None
    no_reads = kind is not None and _names_a_place(subtask.text)
    verb = effects.content_verb(subtask.text)
    allowed = [
        c
        for c in scored
        if effects.eligible(intent, c.effect)
        and not (no_reads and c.effect is Effect.READ_ONLY)
        and not (kind and c.effect is Effect.READ_ONLY and not _answers_a_change(subtask, c.tool))
        and (c.effect is Effect.READ_ONLY or effects.makes_the_change(subtask.text, c.tool))
        and (intent is Intent.READ or effects.acts_on_the_object(subtask.text, c.tool))
        and (verb is None or _honours(c.tool, verb))
    ]
    ranked = sorted(
        ((round(_adjusted(c, intent), 6), c) for c in allowed),
        key=lambda a: (-a[0], a[1].tool.server, a[1].tool.name),
    )
    if effects.adds_to(subtask.text):  # "append 'x' to notes.txt" never overwrites notes.txt
        if (
            ranked
            and ranked[0][1].effect is Effect.OVERWRITE
            and not _can_append(ranked[0][1].tool)
        ):
            return Unmatched(
                subtask_index=subtask.index,
                reason="no_tool",
                message=(
                    f"no tool fits {subtask.text!r}: it adds to something, and the closest tool, "
                    f"{ranked[0][1].tool.ref}, would overwrite it instead; configure a server "
                    "with a tool that appends, or reword the task"
                ),
                closest=(ranked[0][1].tool.ref,),
            )
        ranked = [
            (s, c) for s, c in ranked if c.effect is not Effect.OVERWRITE or _can_append(c.tool)
        ]
    top = [(s, c) for s, c in ranked[:FIT_CANDIDATES] if s >= min_score and c.relevance > 0]
    fitted = []
    for score, c in top:
        share, use, ignores_named = fit(c.tool)
        if ignores_named:  # the task names values, and this tool would use none of them
            continue
        uses = (0.85 + 0.15 * use) if use > 0 else IGNORES_DATA
        fitted.append((round(score * (0.5 + 0.5 * share) * uses, 6), share, c, uses))
    fitted.sort(key=lambda f: (-f[0], f[2].tool.server, f[2].tool.name))
    relevant = [f for f in fitted if f[0] >= min_score]
    if not relevant:
        others = [c for c in scored if c not in allowed and c.relevance]
        closest = _closest(others or scored)
        what = f"asks to {kind or verb}" if kind or verb else _INTENT_WORDS[intent]
        return Unmatched(
            subtask_index=subtask.index,
            reason="no_tool",
            message=(
                f"no tool fits {subtask.text!r}: it {what}, and no configured tool that does "
                f"so is relevant to it and uses what it names (closest: {_names(closest)}); "
                "configure a server with such a tool, or reword the task"
            ),
            closest=closest,
        )
    best_score, best_fit, best, best_uses = relevant[0]
    runner_up = relevant[1][0] if len(relevant) > 1 else 0.0
    if len(ranked) > len(top):
        runner_up = max(runner_up, ranked[len(top)][0])
    confidence = step_confidence(
        best.relevance, best.category, (best_score - runner_up) / best_score, best_fit
    )
    if best_uses == IGNORES_DATA:  # it would ignore every value the task gives
        confidence = round(confidence * IGNORES_DATA, 4)
    if confidence < floor:
        closest = tuple(f[2].tool.ref for f in relevant[:CLOSEST])
        return Unmatched(
            subtask_index=subtask.index,
            reason="low_confidence",
            message=(
                f"no tool fits {subtask.text!r} confidently (best {best.tool.ref} at "
                f"{confidence:.2f}, under the floor {floor:.2f}; closest: {_names(closest)}): "
                "name the tool's action in the task, or pass explicit arguments"
            ),
            closest=closest,
        )
    best_effect = best.effect
    fallback_floor = max(min_score, FALLBACK_RATIO * best_score)
    fallbacks = [
        (f[2].tool, f[0])
        for f in relevant[1:]
        if intent is Intent.READ  # a failed change is reported, never tried another way
        and f[0] >= fallback_floor
        and f[2].tool.server == best.tool.server
        and (f[2].category > 0 or best.category == 0)
    ]
    return ToolChoice(
        subtask_index=subtask.index,
        candidates=((best.tool, best_score), *fallbacks[: max(0, max_fallbacks)]),
        confidence=confidence,
        intent=intent,
        effect=best_effect,
    )


__all__ = [
    "CONFIDENCE_FLOOR",
    "MAX_FALLBACKS",
    "MIN_SCORE",
    "Candidate",
    "ToolChoice",
    "ToolIndex",
    "build_index",
    "category_match",
    "choose",
    "rank_tools",
    "score_tools",
    "step_confidence",
    "subtask_terms",
    "tool_terms",
]
