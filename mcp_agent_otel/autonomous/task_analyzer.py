"""TaskAnalyzer: what a task asks for, decided by pure, deterministic functions of its text.

``analyze_task(text) -> TaskAnalysis`` validates the text, normalizes it (``normalize_task``)
and derives everything from the normalized form, so two texts with the same normal form get
the same analysis by construction (the analysis cache keys on ``normalize_task``):

- decomposition into ordered subtasks: lines, bullets and enumerations ("1. ... 2. ..."),
  sentences, and connectives ("then", "and then", "after that", "finally", "first ...,
  second ...", ", <verb>", "and <verb>"), matched as whole words on a copy of the text whose
  quoted strings are blanked, so data never splits a step;
- per subtask, the capabilities (ToolCategory) it needs, and ``depends_on`` when its input is
  an earlier step's output ("summarize *it*", "compare *them*", a step with nothing to work
  on, a file an earlier step wrote);
- task type, complexity, estimated steps, the execution pattern, a confidence, keywords.

``TaskAnalyzer`` is the thin traced shell: it opens the ``task_analyzer.analyze`` span and
goes through an optional analysis cache (``AnalysisCacheProtocol``).

Over 500 lines: the splitting, the reading of each piece and the dependencies between steps
share their private types (``_Piece``, ``_Reading``) and cut kinds; the intent of each step is
``effects.subtask_intent``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import unicodedata
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

from mcp_agent_otel.autonomous import effects, lexicon
from mcp_agent_otel.autonomous.errors import InvalidTaskError
from mcp_agent_otel.autonomous.models import (
    Complexity,
    ExecutionPattern,
    Subtask,
    TaskAnalysis,
    TaskType,
    ToolCategory,
)
from mcp_agent_otel.tracing import semconv, spans

# Bump when a change here can change the analysis of some text: cached analyses made by an
# older analyzer then stop matching (the cache keys include it).
ANALYZER_VERSION: Final = "2"  # 2: subtasks carry their intent
DEFAULT_MAX_TASK_CHARS: Final = 20_000
MAX_KEYWORDS: Final = 12
MAX_CAPABILITIES: Final = 3

# --- validation and normal form --------------------------------------------------------------


def max_task_chars() -> int:
    """The task size limit: ``MCP_AGENT_OTEL_MAX_TASK_CHARS``, or 20 000 characters."""
    raw = os.environ.get(semconv.ENV_MAX_TASK_CHARS)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_TASK_CHARS
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise InvalidTaskError(
            f"{semconv.ENV_MAX_TASK_CHARS}={raw!r} is not a positive whole number of "
            f"characters: set it to e.g. 50000, or unset it for the default "
            f"{DEFAULT_MAX_TASK_CHARS}"
        )
    return value


def normalize_task(text: str) -> str:
    """The normal form of a task: NFC, each line's whitespace collapsed, blank lines dropped.

    Idempotent. Case is kept on purpose: subtask texts carry data (file paths, quoted strings,
    names to search for) that tool arguments are taken from, and folding case would change it.
    Line breaks are kept because they separate steps.
    """
    if len(text) <= _REMEMBERED_CHARS:
        return _remembered_normal_form(text)
    return _normal_form(text)


# A workflow normalises its task three times (the run's check, the analyzer's and the cache
# key) and agents repeat tasks: the normal forms of the last 128 short tasks are remembered
# (at most 128 x 4,096 characters). About 8 us less per workflow, measured paired in process.
_REMEMBERED_CHARS: Final = 4096


def _normal_form(text: str) -> str:
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


_remembered_normal_form = functools.lru_cache(maxsize=128)(_normal_form)


def validate_task(text: object, max_chars: int | None = None) -> str:
    """The normal form of ``text``, or ``InvalidTaskError`` saying what is wrong and what to do.

    The size limit is checked on the text as given, before any other work, so a 1 MB task
    costs nothing.
    """
    if not isinstance(text, str):
        raise InvalidTaskError(
            f"the task must be text (str), got {type(text).__name__}: "
            "pass the text of what the agent should do"
        )
    limit = max_task_chars() if max_chars is None else max_chars
    if len(text) > limit:
        raise InvalidTaskError(
            f"the task is {len(text):,} characters long, over the limit of {limit:,}: "
            f"shorten it, or raise the limit with {semconv.ENV_MAX_TASK_CHARS}=<characters>"
        )
    normalized = normalize_task(text)
    if not normalized:
        raise InvalidTaskError("the task is empty: pass the text of what the agent should do")
    return normalized


# --- splitting a task into pieces --------------------------------------------------------------

# Cut kinds, strongest first: the kind of the cut before a piece says how it joins the previous.
_SEQ, _PAR, _AND, _ENUM, _LINE, _SENTENCE = "seq", "par", "and", "enum", "line", "sentence"
_KIND_RANK: Final = {_SEQ: 0, _PAR: 1, _AND: 2, _ENUM: 3, _LINE: 4, _SENTENCE: 5}

_CLAUSE_START: Final = r"(?:^|(?<=[,;.!?:\n])|(?<=[,;.!?:]\s))"

_CUT_PATTERNS: Final = (
    (_LINE, re.compile(r"\s*\n\s*")),
    (_ENUM, re.compile(r"(?:^|\s*\n)\s*(?:[-*•]|\(?\d{1,2}[.)])\s+")),
    (_SENTENCE, re.compile(r"(?<=[.!?;])\s+")),
    (
        _SEQ,
        re.compile(
            r"\b(?:and\s+)?then\b[\s,]*"
            r"|\b(?:and\s+)?after\s+(?:that|this)\b[\s,]*"
            r"|\b(?:and\s+)?afterwards?\b[\s,]*"
            r"|\b(?:and\s+)?subsequently\b[\s,]*"
            r"|\band\s+(?:finally|lastly)\b[\s,]*"
            r"|\bonce\s+(?:that\s+is\s+|that's\s+|it\s+is\s+|it's\s+)?done\b[\s,]*"
            rf"|{_CLAUSE_START}\s*(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|fourth(?:ly)?"
            r"|fifth(?:ly)?|next|finally|lastly)\b[\s,:]*",
            re.IGNORECASE,
        ),
    ),
    (
        _PAR,
        re.compile(
            rf"{_CLAUSE_START}\s*(?:and\s+)?(?:also|additionally|meanwhile|simultaneously"
            r"|in\s+parallel|at\s+the\s+same\s+time)\b[\s,]*",
            re.IGNORECASE,
        ),
    ),
    # ", <verb>" and "and <verb>": candidates here, the verb is checked in _cuts.
    (_AND, re.compile(r"(?:,\s*)?\band\s+|,\s*", re.IGNORECASE)),
)
# A pattern only runs when one of its words is in the text (a substring test is much cheaper
# than a regex scan); the line, enum and sentence patterns always run.
_PREFILTER: Final = {
    _SEQ: sorted(
        lexicon.word_set(
            "then after afterward subsequently finally lastly done first second third fourth "
            "fifth next"
        )
    ),
    _PAR: ["also", "additionally", "meanwhile", "simultaneously", "parallel", "same time"],
    _AND: [",", "and"],
}
_FILE_NAME_AFTER_RE: Final = re.compile(r"[.\-_/][^\W_]")
_WORD_AT_RE: Final = re.compile(r"([^\W_]+)(?:\s+([^\W_]+))?")
_INLINE_ENUM_RE: Final = re.compile(r"(?:^|(?<=\s))\(?(\d{1,2})[.)]\s+")
_ABBREVIATION_RE: Final = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|st|no|fig|approx|inc|ltd|jr|sr|cf)|\b[a-z])\.$",
    re.IGNORECASE,
)
# Used with .match(text, pos): anchored at the clause start, not at the start of the text.
_CONDITIONAL_RE: Final = re.compile(r"\s*(?:if|when|whenever|unless)\b", re.IGNORECASE)
_CONDITIONAL_WORDS: Final = lexicon.word_set("if when whenever unless")
_STRIP_LEAD: Final = " \t\n,;:.!-–—*•"
_STRIP_TAIL: Final = " \t\n,;:.!-–—"


@dataclasses.dataclass(frozen=True)
class _Cut:
    start: int
    end: int
    kind: str


@dataclasses.dataclass
class _Piece:
    start: int
    end: int
    kind: str  # how this piece joins the previous one
    preamble: bool = False


def _cuts(masked: str) -> list[_Cut]:
    found: list[_Cut] = []
    lowered = masked.lower()
    for kind, pattern in _CUT_PATTERNS:
        words = _PREFILTER.get(kind)
        if words is not None and not any(w in lowered for w in words):
            continue
        for m in pattern.finditer(masked):
            if m.end() == m.start():
                continue
            if kind == _AND:  # only before an action verb that is not a noun ("count of")
                nxt = _WORD_AT_RE.match(masked, m.end())  # offsets of masked, not of lowered
                if (
                    nxt is None
                    or nxt.group(1).lower() not in lexicon.ACTION_VERBS
                    or (nxt.group(2) or "").lower() == "of"
                    or _FILE_NAME_AFTER_RE.match(masked, nxt.end(1))  # "and plan.md"
                ):
                    continue
            if kind == _SENTENCE and _ABBREVIATION_RE.search(
                masked, max(0, m.start() - 10), m.start()
            ):
                continue
            found.append(_Cut(m.start(), m.end(), kind))
    expected, enum_cuts = 1, []
    for m in _INLINE_ENUM_RE.finditer(masked):
        if int(m.group(1)) == expected:
            enum_cuts.append(_Cut(m.start(), m.end(), _ENUM))
            expected += 1
    if len(enum_cuts) >= 2:
        found.extend(enum_cuts)
    found.sort(key=lambda c: (c.start, -c.end, _KIND_RANK[c.kind]))
    kept: list[_Cut] = []
    for cut in found:
        if kept and cut.start < kept[-1].end:
            last = kept[-1]
            if cut.end > last.end or _KIND_RANK[cut.kind] < _KIND_RANK[last.kind]:
                kept[-1] = _Cut(
                    last.start,
                    max(last.end, cut.end),
                    min(last.kind, cut.kind, key=_KIND_RANK.__getitem__),
                )
            continue
        kept.append(cut)
    return kept


def _split(masked: str) -> list[_Piece]:
    pieces: list[_Piece] = []
    clause_start, kind, pos = 0, _SENTENCE, 0
    for cut in _cuts(masked):
        if cut.kind == _SEQ and _CONDITIONAL_RE.match(masked, clause_start, cut.start):
            continue  # "if X, then Y" is one step
        if masked[pos : cut.start].strip(_STRIP_TAIL):
            pieces.append(_Piece(pos, cut.start, kind))
            kind = cut.kind
        else:
            kind = min(kind, cut.kind, key=_KIND_RANK.__getitem__)
        if cut.kind == _ENUM and pieces and masked[pos : cut.start].rstrip().endswith(":"):
            pieces[-1].preamble = True
        pos = cut.end
        if cut.kind in (_SENTENCE, _LINE, _ENUM):
            clause_start = cut.end
    if masked[pos:].strip(_STRIP_TAIL):
        pieces.append(_Piece(pos, len(masked), kind))
    return pieces


# --- reading one piece --------------------------------------------------------------------------

_FILE_STEM: Final = lexicon.stem("file")
_URL_STEM: Final = lexicon.stem("url")
_WRITER_STEMS: Final = lexicon.stem_set(
    "save write store append export send email post publish notify record"
)
_CONSUMER_CATEGORIES: Final = frozenset(
    {ToolCategory.TEXT, ToolCategory.DATA, ToolCategory.MATH, ToolCategory.COMMUNICATION}
)
_SWARM_WORDS: Final = lexicon.word_set(
    "swarm agents collaborate collaboratively handoff handoffs perspectives debate"
)
_EVALUATOR_WORDS: Final = lexicon.word_set(
    "improve refine iterate iteratively revise polish critique optimize optimise until feedback"
)
_ROUTER_WORDS: Final = lexicon.word_set("either otherwise depending whichever else route")

# Every word that can change an analysis beyond the lexicon's tables, action verbs, stopwords,
# references and question words: for the cache's similarity lookup, which must treat them
# as structure, never as interchangeable content.
PATTERN_WORDS: Final = _SWARM_WORDS | _EVALUATOR_WORDS | _ROUTER_WORDS
STEERING_WORDS: Final = (
    PATTERN_WORDS
    | _CONDITIONAL_WORDS
    | lexicon.FILLER_WORDS
    | lexicon.word_set(
        "then after that this afterwards afterward subsequently finally lastly once done first "
        "firstly second secondly third thirdly fourth fourthly fifth fifthly next also "
        "additionally meanwhile simultaneously parallel same time and e g i etc vs mr mrs ms dr "
        "st no fig approx inc ltd jr sr cf"
    )
)
STEERING_STEMS: Final = _WRITER_STEMS | lexicon.CONSUMER_STEMS


@dataclasses.dataclass
class _Reading:
    """What one piece of the task says, read once."""

    kind: str  # how the piece joins the previous one (a cut kind)
    text: str  # original text of the piece, trimmed
    tokens: list[str]  # lowercase tokens of the masked piece (quoted data excluded)
    stems: list[str]  # stems of its non-stopword tokens
    has_action: bool
    is_question: bool
    leads_with_action: bool  # opens with an imperative verb, or "if ..." with one
    lead: str | None  # the stem of that verb
    consumer: bool  # uses a verb that works on something given to it
    capabilities: tuple[ToolCategory, ...]
    content_input: bool  # quoted text, numbers or "...: text" to work on
    paths: frozenset[str]
    locator_input: bool  # a path or URL to work on
    writer: bool
    singular_ref: bool
    plural_ref: bool


def _read(original: str, masked: str, piece: _Piece) -> _Reading:
    raw = original[piece.start : piece.end]
    lead = len(raw) - len(raw.lstrip(_STRIP_LEAD))
    tail = len(raw.rstrip(_STRIP_TAIL))
    text = raw[lead:tail] if tail > lead else raw.strip()
    masked_text = masked[piece.start + lead : piece.start + tail] if tail > lead else text
    tokens = lexicon.tokenize(masked_text)
    paths = frozenset(lexicon.find_paths(text))
    has_url = "://" in text
    # A path or URL is data: its words are not keywords, it counts as the word "file"/"url".
    intent = lexicon.tokenize(lexicon.mask_locators(masked_text)) if paths or has_url else tokens
    stems = lexicon.token_terms(intent)
    stems += [_FILE_STEM] * bool(paths) + [_URL_STEM] * has_url
    all_stems = {lexicon.stem(t) for t in tokens}
    is_question = bool(tokens) and (tokens[0] in lexicon.QUESTION_WORDS or text.endswith("?"))
    first = next((t for t in tokens if t not in lexicon.FILLER_WORDS), None)
    verb = lexicon.stem(first) if first is not None else None
    has_action = bool(all_stems & lexicon.ACTION_STEMS)
    leads_with_action = verb in lexicon.ACTION_STEMS
    conditional = first in _CONDITIONAL_WORDS and has_action  # "If it exists, read it"
    ranked = lexicon.ranked_categories(stems, verb if leads_with_action else None)
    if ranked:
        top = ranked[0][1]
        caps = tuple(c for c, score in ranked if score * 2 >= top)[:MAX_CAPABILITIES]
    else:
        caps = (ToolCategory.SEARCH,) if is_question else (ToolCategory.GENERAL,)
    colon = masked_text.find(":")
    after_colon = len(lexicon.tokenize(text[colon + 1 :])) if colon >= 0 else 0
    token_set = set(tokens)
    return _Reading(
        kind=piece.kind,
        text=text,
        tokens=tokens,
        stems=stems,
        has_action=has_action,
        is_question=is_question,
        leads_with_action=leads_with_action or conditional,
        lead=verb if leads_with_action else None,
        consumer=bool(all_stems & lexicon.CONSUMER_STEMS),
        capabilities=caps,
        content_input=bool(
            lexicon.quoted_strings(text) or lexicon.find_numbers(masked_text) or after_colon >= 2
        ),
        paths=paths,
        locator_input=bool(paths) or has_url,
        writer=bool(all_stems & _WRITER_STEMS),
        singular_ref=bool(token_set & lexicon.SINGULAR_REFERENCES),
        plural_ref=bool(token_set & lexicon.PLURAL_REFERENCES),
    )


def _steps(original: str, masked: str) -> list[_Reading]:
    """The steps of a task, each read once. A piece with no action that is not a question
    joins its neighbour; so does a sentence or line that does not open with a verb or a
    question ("Summarize this text: X is a framework. It collects traces." is one step)."""
    pieces = _split(masked)
    readings = [_read(original, masked, p) for p in pieces]
    if any(p.preamble for p in pieces):
        # "Do the following: 1. search X 2. count Y": the items are the steps, the line that
        # introduces them is not; unless the items are data ("Summarize these: - a - b").
        items = [(p, r) for p, r in zip(pieces, readings, strict=True) if not p.preamble]
        if items and all(r.has_action for _, r in items):
            pieces, readings = [p for p, _ in items], [r for _, r in items]
    groups: list[_Piece] = []  # merged spans; ``tokens`` counts words for "search and ..."
    tokens: list[int] = []
    pending: _Piece | None = None  # leading words with no action yet: they join what follows
    pending_tokens = 0
    for piece, reading in zip(pieces, readings, strict=True):
        if not reading.tokens and not reading.text:
            continue
        if pending is not None:
            pending = _Piece(pending.start, piece.end, pending.kind)
            pending_tokens += len(reading.tokens)
            if reading.has_action or reading.is_question:
                groups.append(pending)
                tokens.append(pending_tokens)
                pending = None
            continue
        continues = (
            piece.kind in (_SENTENCE, _LINE)
            and not reading.leads_with_action
            and not reading.is_question
        )
        joins = continues or (not reading.has_action and not reading.is_question)
        lone_verb = piece.kind == _AND and bool(groups) and tokens[-1] == 1  # "search and X"
        if (joins or lone_verb) and groups:
            groups[-1] = _Piece(groups[-1].start, piece.end, groups[-1].kind)
            tokens[-1] += len(reading.tokens)
        elif joins:
            pending, pending_tokens = piece, len(reading.tokens)
        else:
            groups.append(piece)
            tokens.append(len(reading.tokens))
    if pending is not None:
        groups.append(pending)
    if not groups:  # nothing but punctuation: the whole text is the one step
        groups.append(_Piece(0, len(original), _SENTENCE))
    by_span = {(p.start, p.end): r for p, r in zip(pieces, readings, strict=True)}
    return [
        dataclasses.replace(by_span[(g.start, g.end)], kind=g.kind)
        if (g.start, g.end) in by_span
        else _read(original, masked, g)
        for g in groups
    ]


def _dependencies(readings: list[_Reading]) -> list[tuple[int, ...]]:
    """For each step, the earlier steps whose output it consumes."""
    deps: list[tuple[int, ...]] = []
    sinks: dict[int, None] = {}  # steps whose output no later step consumed yet, in order
    last_with_path: dict[str, int] = {}
    for i, r in enumerate(readings):
        found: set[int] = set()
        if i > 0:
            primary = r.capabilities[0]
            consumer = primary in _CONSUMER_CATEGORIES or r.writer or r.consumer
            implicit = consumer and not r.content_input and (not r.locator_input or r.writer)
            if r.plural_ref:
                found.update(sinks or [i - 1])
            elif r.singular_ref or implicit:
                found.add(i - 1)
            shared = [last_with_path[p] for p in r.paths if p in last_with_path]
            if shared:  # a file an earlier step names
                found.add(max(shared))
        for j in found:
            sinks.pop(j, None)
        sinks[i] = None
        for path in r.paths:
            last_with_path[path] = i
        deps.append(tuple(sorted(found)))
    return deps


def _pattern(
    n: int, deps: list[tuple[int, ...]], ordered: bool, words: set[str]
) -> ExecutionPattern:
    if n >= 2 and words & _SWARM_WORDS:
        return ExecutionPattern.SWARM
    if words & _EVALUATOR_WORDS:
        return ExecutionPattern.EVALUATOR_OPTIMIZER
    if words & _ROUTER_WORDS:
        return ExecutionPattern.ROUTER
    if n == 1:
        return ExecutionPattern.DIRECT
    has_deps = any(deps)
    roots = sum(1 for d in deps if not d)
    if has_deps and n >= 3 and (any(len(d) >= 2 for d in deps) or (roots >= 2 and not ordered)):
        return ExecutionPattern.ORCHESTRATOR
    if has_deps or ordered:
        return ExecutionPattern.SEQUENTIAL
    return ExecutionPattern.PARALLEL


def _complexity(n: int, capabilities: int, words: int, pattern: ExecutionPattern) -> Complexity:
    if n == 1 and capabilities <= 1 and words <= 40:
        return Complexity.SIMPLE
    score = n + max(0, capabilities - 2) + words // 60
    if pattern in (
        ExecutionPattern.ORCHESTRATOR,
        ExecutionPattern.EVALUATOR_OPTIMIZER,
        ExecutionPattern.SWARM,
    ):
        score += 1
    if score <= 3:
        return Complexity.MODERATE
    if score <= 6:
        return Complexity.COMPLEX
    return Complexity.VERY_COMPLEX


def _task_type(readings: list[_Reading]) -> tuple[TaskType, float]:
    """The task type and how clearly it won (0.3 when no keyword spoke at all).

    Each step's leading verb weighs half again as much as its other words; a tie goes to a
    type the first step's verb names (a task is what it starts with), then to enum order.
    """
    table = lexicon.TASK_TYPE_KEYWORDS
    scores: dict[TaskType, float] = lexicon.score_labels(
        (s for r in readings for s in r.stems), table
    )
    for r in readings:
        for label, weight in table.get(r.lead or "", ()):
            scores[label] = scores.get(label, 0.0) + lexicon.LEAD_VERB_BONUS * weight
    if readings[0].is_question:
        scores[TaskType.INFORMATION_RETRIEVAL] = scores.get(TaskType.INFORMATION_RETRIEVAL, 0) + 1
    if not scores:
        return TaskType.INFORMATION_RETRIEVAL, 0.3
    first = {label for label, _ in table.get(readings[0].lead or "", ())}
    ranked = sorted(
        scores.items(),
        key=lambda kv: (-kv[1], kv[0] not in first, lexicon.TASK_TYPE_ORDER.index(kv[0])),
    )
    top = ranked[0][1]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    return ranked[0][0], 0.5 + 0.5 * (top - second) / top


def _keywords(tokens: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for t in tokens:
        if t not in lexicon.STOPWORDS and len(t) >= 2 and not t.isdigit():
            seen.setdefault(t)
            if len(seen) >= MAX_KEYWORDS:
                break
    return tuple(seen)


def _analyze_normalized(text: str) -> TaskAnalysis:
    masked = lexicon.mask_quotes(text)
    readings = _steps(text, masked)
    deps = _dependencies(readings)
    n = len(readings)
    ordered = any(r.kind == _SEQ for r in readings[1:])
    tokens = lexicon.tokenize(masked)
    words = set(tokens)
    pattern = _pattern(n, deps, ordered, words)
    subtasks = tuple(
        Subtask(
            index=i,
            text=r.text,
            capabilities=r.capabilities,
            depends_on=deps[i],
            intent=effects.subtask_intent(r.text),
        )
        for i, r in enumerate(readings)
    )
    task_type, type_confidence = _task_type(readings)
    specific = {s.capabilities[0] for s in subtasks} - {ToolCategory.GENERAL}
    covered = sum(1 for s in subtasks if s.capabilities[0] is not ToolCategory.GENERAL) / n
    confidence = round(min(1.0, max(0.0, 0.6 * type_confidence + 0.4 * covered)), 4)
    return TaskAnalysis(
        task_type=task_type,
        complexity=_complexity(n, len(specific), len(tokens), pattern),
        subtasks=subtasks,
        estimated_steps=n + (1 if pattern is ExecutionPattern.EVALUATOR_OPTIMIZER else 0),
        pattern=pattern,
        confidence=confidence,
        keywords=_keywords(tokens),
    )


def analyze_task(text: str, *, max_chars: int | None = None) -> TaskAnalysis:
    """Analyze a task: pure and deterministic, computed from ``normalize_task(text)``.

    Raises ``InvalidTaskError`` for a non-string, empty or whitespace-only task, or one over
    ``max_chars`` (default: ``max_task_chars()``).
    """
    return _analyze_normalized(validate_task(text, max_chars))


def structural_signature(analysis: TaskAnalysis) -> str:
    """The shape of a decomposition, without its text: the pattern, then per subtask its
    capabilities and the steps it depends on. Tasks with the same shape share a signature.
    """
    shape = ";".join(
        "+".join(c.value for c in s.capabilities) + "<" + ",".join(map(str, s.depends_on))
        for s in analysis.subtasks
    )
    return f"v1|{analysis.pattern.value}|{len(analysis.subtasks)}|{shape}"


# --- the traced shell ---------------------------------------------------------------------------


@runtime_checkable
class AnalysisCacheProtocol(Protocol):
    """A cache of analyses. ``fetch`` returns the cached analysis of ``task`` in the environment
    ``env_fingerprint``, or calls ``compute(task)`` and stores the result; it records its
    ``mcp_agent.cache.*`` attributes on the current span itself.
    """

    def fetch(
        self, task: str, env_fingerprint: str, compute: Callable[[str], TaskAnalysis]
    ) -> TaskAnalysis: ...


class TaskAnalyzer:
    """Analyzes tasks inside a ``task_analyzer.analyze`` span, through an optional cache."""

    def __init__(
        self, cache: AnalysisCacheProtocol | None = None, *, max_chars: int | None = None
    ) -> None:
        self.cache = cache
        self.max_chars = max_chars

    def _compute(self, task: str) -> TaskAnalysis:
        return analyze_task(task, max_chars=self.max_chars)

    def analyze(self, task: str, env_fingerprint: str = "") -> TaskAnalysis:
        """The analysis of ``task``; ``InvalidTaskError`` (span status ERROR) for bad input."""
        attributes = spans.content_attributes(task) if isinstance(task, str) else {}
        with spans.stage_span(semconv.SPAN_ANALYZE, attributes, cpu_time=True) as span:
            normalized = validate_task(task, self.max_chars)  # bad input never reaches the cache
            if self.cache is None:
                spans.set_attributes(
                    span,
                    {semconv.CACHE_HIT: False, semconv.CACHE_RESULT: semconv.CACHE_RESULT_BYPASS},
                )
                analysis = _analyze_normalized(normalized)
            else:
                analysis = self.cache.fetch(task, env_fingerprint, self._compute)
            spans.set_attributes(
                span,
                {
                    semconv.TASK_TYPE: analysis.task_type.value,
                    semconv.TASK_COMPLEXITY: analysis.complexity.value,
                    semconv.TASK_SUBTASKS: len(analysis.subtasks),
                    semconv.TASK_CONFIDENCE: analysis.confidence,
                    semconv.TASK_PATTERN: analysis.pattern.value,
                },
            )
            return analysis


__all__ = [
    "ANALYZER_VERSION",
    "DEFAULT_MAX_TASK_CHARS",
    "PATTERN_WORDS",
    "STEERING_STEMS",
    "STEERING_WORDS",
    "AnalysisCacheProtocol",
    "TaskAnalyzer",
    "analyze_task",
    "max_task_chars",
    "normalize_task",
    "structural_signature",
    "validate_task",
]
