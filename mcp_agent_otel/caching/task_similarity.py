"""Near-identical tasks: a structural check, a content check and a similarity score. Pure
functions, no I/O.

Used by the cache's opt-in similarity lookup (``MCP_AGENT_OTEL_CACHE_SIMILARITY``). A cached
task may answer a new one only when

1. their *skeletons* are equal: every token that can steer the analyzer (stop words and
   connectives such as "then"/"and"/"it", action verbs, words of the analyzer's task-type and
   capability tables, question words, the analyzer's steering and pattern words), in order and
   with a placeholder where each content word sits, plus the exact data (quoted strings,
   numbers, paths, URLs), the punctuation and line structure, and the length bucket the
   complexity rule uses;
2. their *content terms* are equal: the stems of the remaining (content) words, in order. The
   served analysis carries the cached task's words into the tool arguments (a search query, a
   term to define), so one different noun among many — "helm chart sampling" for "helm chart
   baggage" — or the same nouns swapped ("5 kilometers to miles" for "5 miles to kilometers")
   is a different task, never a near-identical one;
3. their token sets overlap by the threshold (Jaccard over all lowercase tokens, politeness
   words included), which bounds how much surface variation is tolerated.

Politeness words ("please", "kindly", "just", ...) and case are ignored by checks 1 and 2, and
content words are compared by stem, so a hit differs from the cached task only in case,
politeness and the inflection of content words — and, by check 3, not in many of them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from mcp_agent_otel.autonomous import lexicon, task_analyzer
from mcp_agent_otel.autonomous.models import canonical_json

POLITENESS_WORDS: Final = frozenset({"please", "kindly", "just", "thanks", "thank", "you"})
_TABLE_STEMS: Final = frozenset(
    s for table in (lexicon.TASK_TYPE_KEYWORDS, lexicon.CATEGORY_KEYWORDS) for s in table
)
_STRUCTURE_WORDS: Final = (
    lexicon.STOPWORDS
    | lexicon.SINGULAR_REFERENCES
    | lexicon.PLURAL_REFERENCES
    | lexicon.QUESTION_WORDS
    | task_analyzer.STEERING_WORDS  # includes the pattern (swarm / evaluator / router) words
)
_STRUCTURE_STEMS: Final = lexicon.ACTION_STEMS | _TABLE_STEMS | task_analyzer.STEERING_STEMS
_CONTENT: Final = "_"  # where a content word sits in the skeleton
_PUNCT_RE: Final = re.compile(r"[\n.,;:!?]")
_TOKENS_PER_COMPLEXITY_STEP: Final = 60  # the analyzer's complexity rule counts tokens // 60


@dataclass(frozen=True)
class TaskShape:
    skeleton: str  # hash of everything that can steer the analysis
    tokens: tuple[str, ...]  # every lowercase token (quoted data masked), politeness included


def _steers(token: str) -> bool:
    return token in _STRUCTURE_WORDS or lexicon.stem(token) in _STRUCTURE_STEMS


def content_terms(tokens: Iterable[str]) -> tuple[str, ...]:
    """The stems of the content words among ``tokens``, in order: what must be equal for a
    similarity hit. The one definition of "content": not politeness, not steering."""
    return tuple(lexicon.stem(t) for t in tokens if t not in POLITENESS_WORDS and not _steers(t))


def task_shape(normalized: str) -> TaskShape:
    """The shape of a normalised task (``normalize_task`` output)."""
    masked = lexicon.mask_quotes(normalized)
    tokens = lexicon.tokenize(masked)
    skeleton = [
        [t if _steers(t) else _CONTENT for t in tokens if t not in POLITENESS_WORDS],
        lexicon.quoted_strings(normalized),
        [str(n) for n in lexicon.find_numbers(masked)],
        lexicon.find_paths(normalized),
        lexicon.find_urls(normalized),
        _PUNCT_RE.findall(masked),
        len(tokens) // _TOKENS_PER_COMPLEXITY_STEP,
    ]
    digest = hashlib.sha256(canonical_json(skeleton).encode("utf-8", "surrogatepass"))
    return TaskShape(skeleton=digest.hexdigest(), tokens=tuple(tokens))


def similarity(a: Iterable[str], b: Iterable[str]) -> float:
    """Jaccard similarity of the token sets of two tasks (1.0 for two empty sets)."""
    sa, sb = frozenset(a), frozenset(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def near_identical(a: Iterable[str], b: Iterable[str], threshold: float) -> float | None:
    """The similarity of two tasks of one skeleton given as token sequences (``TaskShape.tokens``),
    or None when their content terms differ or the similarity is below ``threshold``."""
    ta, tb = tuple(a), tuple(b)
    if content_terms(ta) != content_terms(tb):
        return None
    score = similarity(ta, tb)
    return score if score >= threshold else None


__all__ = [
    "POLITENESS_WORDS",
    "TaskShape",
    "content_terms",
    "near_identical",
    "similarity",
    "task_shape",
]
