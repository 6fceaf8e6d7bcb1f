"""Near-identical tasks: a structural check and a similarity score. Pure functions, no I/O.

Used by the cache's opt-in similarity lookup (``MCP_AGENT_OTEL_CACHE_SIMILARITY``). Two tasks
are candidates only when their *skeletons* are equal: every token that can steer the analyzer
(stop words and connectives such as "then"/"and"/"it", action verbs, words of the analyzer's
task-type and capability tables, question words, the analyzer's pattern words), in order,
plus the exact data (quoted strings, numbers, paths, URLs), the punctuation and line
structure, and the length bucket the complexity rule uses. Only politeness ("please",
"kindly", "just") and case are ignored. What remains, the inert content words, must then
overlap by at least the threshold (Jaccard over their stems).

So a task that differs by one verb never matches (its skeleton differs), and a match can only
differ from the cached task in words the analyzer ignores.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

from mcp_agent_otel.autonomous import lexicon, task_analyzer
from mcp_agent_otel.autonomous.models import canonical_json

_POLITENESS: Final = frozenset({"please", "kindly", "just", "thanks", "thank", "you"})
_TABLE_STEMS: Final = frozenset(
    s for table in (lexicon.TASK_TYPE_KEYWORDS, lexicon.CATEGORY_KEYWORDS) for s in table
)
# The analyzer's pattern words (swarm / evaluator / router cues) steer the pattern too.
_PATTERN_WORDS: Final = task_analyzer.PATTERN_WORDS
_STRUCTURE_WORDS: Final = (
    lexicon.STOPWORDS
    | lexicon.SINGULAR_REFERENCES
    | lexicon.PLURAL_REFERENCES
    | lexicon.QUESTION_WORDS
    | _PATTERN_WORDS
)
_PUNCT_RE: Final = re.compile(r"[\n.,;:!?]")
_TOKENS_PER_COMPLEXITY_STEP: Final = 60  # the analyzer's complexity rule counts tokens // 60


@dataclass(frozen=True)
class TaskShape:
    skeleton: str  # hash of everything that can steer the analysis
    terms: frozenset[str]  # stems of the inert content words


def _steers(token: str) -> bool:
    if token in _STRUCTURE_WORDS:
        return True
    s = lexicon.stem(token)
    return s in lexicon.ACTION_STEMS or s in _TABLE_STEMS


def task_shape(normalized: str) -> TaskShape:
    """The shape of a normalised task (``normalize_task`` output)."""
    masked = lexicon.mask_quotes(normalized)
    tokens = [t for t in lexicon.tokenize(masked) if t not in _POLITENESS]
    skeleton_tokens = [t for t in tokens if _steers(t)]
    terms = frozenset(lexicon.stem(t) for t in tokens if not _steers(t))
    skeleton = [
        skeleton_tokens,
        lexicon.quoted_strings(normalized),
        [str(n) for n in lexicon.find_numbers(masked)],
        lexicon.find_paths(normalized),
        lexicon.find_urls(normalized),
        _PUNCT_RE.findall(masked),
        len(lexicon.tokenize(masked)) // _TOKENS_PER_COMPLEXITY_STEP,
    ]
    digest = hashlib.sha256(canonical_json(skeleton).encode("utf-8", "surrogatepass"))
    return TaskShape(skeleton=digest.hexdigest(), terms=terms)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two term sets (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


__all__ = ["TaskShape", "similarity", "task_shape"]
