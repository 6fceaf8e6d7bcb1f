"""What a subtask's text offers as argument values: quotes, numbers, paths, directories, URLs,
dates, clock times, time zones, revisions, names, units, comparisons, expressions, topics.

``facts(text)`` reads a text once (cached, each fact computed lazily on first use);
``Draw`` is one planning pass over those facts, handing each quote, number and path out once.
The argument planner (``arguments.py``) asks these for the value that fits each parameter.
Pure functions over strings.

A little over 500 lines on purpose: every reader works on the one cached ``Facts`` of a text
and hands values out through the one ``Draw``; split apart, each would need both.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from typing import Final

from mcp_agent_otel.autonomous import lexicon, timezones

_WINDOW: Final = 40  # characters looked at around a quote or a number for its cue word

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
# "... in the knowledge graph": where to look, not what to look for
_TRAILING_PLACE_RE: Final = re.compile(
    r"\s+(?:in|from|within|inside)\s+(?:the\s+|my\s+|our\s+)?(?:memory|knowledge\s+graph|graph"
    r"|knowledge\s+base|database|repository|repo|sandbox)\s*$",
    re.IGNORECASE,
)
_LEADING_FILLER_RE: Final = re.compile(
    r"^(?:(?:the|a|an|some|any|me|us|information|info|documents?|articles?|papers?|details"
    r"|term|word|phrase|concept|entity|entities|nodes?|person|people|company|record)\s+"
    r"|(?:on|about|for)\s+)+",
    re.IGNORECASE,
)
UNIT_RE: Final = re.compile(
    r"(-?\d+(?:\.\d+)?)\s*(°?[A-Za-zµ][\w°/]*)\s+(?:to|into|in|as)\s+(°?[A-Za-zµ][\w°/]*)"
)
GLOB_RE: Final = re.compile(r"(?<![\w*])[\w./-]*\*[\w.*/-]*")
EXTENSION_FILES_RE: Final = re.compile(r"\b([a-z0-9]{1,10})\s+files\b", re.IGNORECASE)
# "markdown files": the extension a kind of file has
KIND_EXTENSIONS: Final = {
    "markdown": "md",
    "text": "txt",
    "python": "py",
    "javascript": "js",
    "typescript": "ts",
    "yaml": "yml",
}
EXTENSIONS: Final = lexicon.word_set(
    "txt md csv tsv json jsonl yaml yml xml html log py js ts pdf ini toml cfg sql"
)
# "the reports folder", "directory reports", "reports/"; "called/named X" is read separately
_DIRECTORY_RE: Final = re.compile(
    r"\b(?:folder|directory|dir)\s+(?!(?:called|named|tree|listing|structure|contents?|info"
    r"|information|sizes?|of|with|and|in|to|for|is|that|which)\b)"
    r"['\"]?([\w.-]+(?:/[\w.-]+)*)/?"
    r"|\b(?:in|into|to|under|inside|of|from)\s+(?:the\s+)?['\"]?([\w.-]+(?:/[\w.-]+)*)/?['\"]?\s+"
    r"(?:folder|directory|dir)\b"
    r"|(?<![\w/.])([\w.-]+(?:/[\w.-]+)*)/(?=\s|$|[,;])"
    r"|\bthe\s+([\w.-]+(?:/[\w.-]+)*)\s+(?:folder|directory|dir)\b",
    re.IGNORECASE,
)
_NOT_DIRECTORIES: Final = (
    lexicon.STOPWORDS | lexicon.QUESTION_WORDS | lexicon.word_set("whole entire")
)
# "archive/2025": a relative path of several parts without an extension
_RELATIVE_DIR_RE: Final = re.compile(r"(?<![\w/.~-])[\w-]+(?:/[\w-]+)+/?(?![\w/.-])")
# Words that, said of a directory, mean the one the server was configured with.
ROOT_WORDS: Final = lexicon.word_set(
    "sandbox workspace repository repo root allowed current working configured this that "
    "my our the base project"
)
_ABSOLUTE_DIR_RE: Final = lexicon.ABSOLUTE_DIRECTORY_RE
_NAMED_RE: Final = re.compile(
    r"\b(?:named|called|titled|name(?:d)?\s+(?:is|=)?)\s+['\"“‘`]?([\w.+@-]+)", re.IGNORECASE
)
# "the entity Alice", "nodes Alice and Bob": capitalized (or hyphenated) names after a noun
_NOUN_NAME_RE: Final = re.compile(
    r"\b(?:entity|entities|node|nodes|person|people|user|users|project|named|called)\s+"
    r"((?:[A-Z][\w.-]*|\w+[-_][\w.-]+)(?:\s*(?:,\s*(?:and\s+)?|\band\s+)(?:[A-Z][\w.-]*))*)"
)
# "branch main", "the tag v1.2": any identifier after a noun that names refs
_REF_NAME_RE: Final = re.compile(
    r"\b(?:branch|tag)\s+(?!(?:called|named|of|with|to|in|from|for|and|is|are|am|i|we|you"
    r"|that|the|a|currently|now|do|does)\b)"
    r"([\w][\w./-]*)",
    re.IGNORECASE,
)
# "the feature-login branch": a ref name before the noun
_REF_BEFORE_RE: Final = re.compile(
    r"\b(?!(?:the|a|an|this|that|current|new|git|other|remote|local)\b)([\w][\w./-]*)\s+(?:branch|tag)\b",
    re.IGNORECASE,
)
# A word that is no name: verbs and small words ("Create branch x": not a branch "Create")
_NOT_NAMES: Final = (
    lexicon.ACTION_VERBS
    | lexicon.STOPWORDS
    | lexicon.word_set("new git current other remote local create switch checkout delete remove")
)
# an identifier: words joined by - or _ ("feature-login", "release_2"), not a path
_IDENTIFIER_RE: Final = re.compile(r"(?<![\w./-])[A-Za-z][\w]*(?:[-_][\w]+)+(?![\w./-])")
# "from Alice", "to Bob": a proper noun after a preposition (not the task's first word)
_PROPER_NOUN_RE: Final = re.compile(
    r"\b(?:from|to|for|of|about|with|and)\s+(?:the\s+)?([A-Z][\w-]*)\b"
)
_LIST_SPLIT_RE: Final = re.compile(r"\s*(?:,\s*(?:and\s+)?|\band\s+)")
_TYPE_RE: Final = re.compile(
    r"\b(?:of|with)\s+(?:\w+\s+)?type\s+['\"“‘`]?([\w-]+)|\btype\s+(?:is\s+)?['\"“‘`]?([\w-]+)"
    r"|\b(?:a|an)\s+(?!new\b)(\w+)\s+(?:entity|node)\b",
    re.IGNORECASE,
)
_CLOCK_RE: Final = re.compile(
    r"\b(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*([ap])\.?m\b|\b([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d)?\b",
    re.IGNORECASE,
)
_REVISION_RE: Final = re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b")
_HEAD_RE: Final = re.compile(r"\bHEAD(?:[~^]\d*)*\b")
# Commits named by their place in the history: the one before the last is HEAD~1.
_PREVIOUS_COMMIT_RE: Final = re.compile(
    r"\b(?:commit\s+before\s+the\s+(?:last|latest|most\s+recent)(?:\s+one)?"
    r"|(?:second[\s-]+(?:to[\s-]+)?last|penultimate)\s+commit"
    r"|one\s+before\s+(?:the\s+)?last)\b",
    re.IGNORECASE,
)
_LAST_COMMIT_RE: Final = re.compile(
    r"\b(?:last|latest|most\s+recent|newest|current)\s+commit\b(?!s)", re.IGNORECASE
)
# Two branches compared: "between main and release-1.0" diffs against release-1.0 (the git
# server takes one target, not a range).
_BETWEEN_RE: Final = re.compile(
    r"\bbetween\s+(?:the\s+)?(?:branch(?:es)?\s+)?((?=[\w.~^-]*[a-zA-Z])[\w./~^-]+)\s+and\s+"
    r"(?:the\s+)?(?:branch\s+)?((?=[\w.~^-]*[a-zA-Z])[\w./~^-]*\w)",
    re.IGNORECASE,
)
EXPRESSION_RE: Final = re.compile(
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
class Quote:
    value: str
    cue: str  # stem of the word before the opening quote


def _blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


class TextFacts:
    """What a subtask's text offers as argument values. Read once per text (cached), lazily:
    only what some parameter asks for is computed. Treated as immutable."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.masked = lexicon.mask_quotes(text)  # quoted data blanked
        self.named: tuple[str, ...] = ()

    @functools.cached_property
    def plain(self) -> str:
        """The masked text with paths, URLs and absolute directories blanked too."""
        return lexicon.mask_locators(self.masked)

    @functools.cached_property
    def tokens(self) -> list[str]:
        return lexicon.tokenize(self.masked)

    @functools.cached_property
    def stems(self) -> frozenset[str]:
        return frozenset(lexicon.stem(t) for t in self.tokens)

    @functools.cached_property
    def quotes(self) -> tuple[Quote, ...]:
        quotes = []
        for start, _, value in lexicon.quote_spans(self.text):
            before = lexicon.tokenize(self.text[max(0, start - _WINDOW) : start])
            quotes.append(Quote(value, lexicon.stem(before[-1]) if before else ""))
        return tuple(quotes)

    @functools.cached_property
    def numbers(self) -> tuple[tuple[int, int, int | float], ...]:
        plain = _blank(self.plain, [m.span() for m in _CLOCK_RE.finditer(self.plain)])
        return tuple(lexicon.number_spans(plain))

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
        """File paths (with an extension), then absolute directories, in order of appearance."""
        files = lexicon.path_spans(self.text)
        for start, _, value in lexicon.quote_spans(self.text):
            if value in self.quoted_paths:  # the whole quoted path, not its last word
                files = [(s, p) for s, p in files if not start <= s <= start + len(value) + 1]
                files.append((start, value))
        covered = [(s, s + len(p)) for s, p in files]
        dirs = [
            (m.start(), m.group(0).rstrip("/") or "/")
            for m in _ABSOLUTE_DIR_RE.finditer(self.text)
            if not any(s <= m.start() < e for s, e in covered) and "://" not in m.group(0)
        ]
        return tuple(p for _, p in sorted(files + dirs))

    @functools.cached_property
    def quoted_paths(self) -> tuple[str, ...]:
        """Quoted strings that are paths ("'my notes.txt'"): taken whole, spaces and all."""
        return tuple(
            q.value
            for q in self.quotes
            if "\n" not in q.value
            and lexicon.path_spans(q.value.replace(" ", "_"))
            and lexicon.path_spans(q.value.replace(" ", "_"))[0][1] == q.value.replace(" ", "_")
        )

    @functools.cached_property
    def file_paths(self) -> tuple[str, ...]:
        return tuple(p for p in self.paths if "." in p.rsplit("/", 1)[-1])

    @functools.cached_property
    def directories(self) -> tuple[str, ...]:
        """Directories the text names: absolute ones, then "the X folder", "X/"; a directory
        that means the configured one ("the sandbox directory") is "."."""
        found = [p for p in self.paths if p not in self.file_paths]
        found += [m.group(0).rstrip("/") for m in _RELATIVE_DIR_RE.finditer(self.masked)]
        for m in _DIRECTORY_RE.finditer(self.masked):
            name = next(g for g in m.groups() if g)
            if name.lower() in _NOT_DIRECTORIES or name in found:
                continue
            found.append("." if name.lower() in ROOT_WORDS else name)
        return tuple(found)

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        """Names given to something, best evidence first: after "named"/"called"; after a
        noun ("the entity Alice", "nodes Alice and Bob", "branch main"); a proper noun after
        a preposition ("from Alice"). Zones and the words of paths are not names."""
        zones = {start for start, _, _ in self.zones}
        ranked: list[tuple[int, int, str]] = []
        for m in _NAMED_RE.finditer(self.text):
            ranked.append((0, m.start(1), m.group(1)))
        for m in _NOUN_NAME_RE.finditer(self.plain):
            for part in _LIST_SPLIT_RE.split(m.group(1)):
                ranked.append((1, m.start(1) + m.group(1).find(part), part))
        for m in _REF_NAME_RE.finditer(self.plain):
            ranked.append((1, m.start(1), m.group(1)))
        for m in _REF_BEFORE_RE.finditer(self.plain):
            if m.group(1).lower() not in _NOT_NAMES:
                ranked.append((1, m.start(1), m.group(1)))
        for m in _IDENTIFIER_RE.finditer(self.plain):  # "switch to feature-login"
            if not _REVISION_RE.fullmatch(m.group(0)):
                ranked.append((3, m.start(), m.group(0)))
        for m in _PROPER_NOUN_RE.finditer(self.plain):
            if m.start(1) not in zones:
                ranked.append((2, m.start(1), m.group(1)))
        seen: dict[str, int] = {}
        for rank, _, name in sorted(ranked):
            seen.setdefault(name.rstrip(".,;:!?"), rank)
        self.named = tuple(n for n, rank in seen.items() if n and rank < 2)
        return tuple(n for n in seen if n)

    @functools.cached_property
    def given_names(self) -> tuple[str, ...]:
        """The names the text gives explicitly ("called X", "the entity X"), not the proper
        nouns merely found after a preposition: the names a tool is expected to use."""
        _ = self.names
        return self.named

    @functools.cached_property
    def ref_only_names(self) -> frozenset[str]:
        """Names the text gives as a branch or tag and as nothing else: a tool that knows no
        branches (a memory server's delete_entities) does not take them."""
        refs = set(self.refs)
        others = {m.group(1) for m in _NAMED_RE.finditer(self.text)}
        for m in _NOUN_NAME_RE.finditer(self.plain):
            others.update(_LIST_SPLIT_RE.split(m.group(1)))
        return frozenset(refs - others)

    @functools.cached_property
    def refs(self) -> tuple[str, ...]:
        """Branch or tag names ("branch main", "the feature-login branch")."""
        found = [(m.start(1), m.group(1)) for m in _REF_NAME_RE.finditer(self.plain)]
        found += [
            (m.start(1), m.group(1))
            for m in _REF_BEFORE_RE.finditer(self.plain)
            if m.group(1).lower() not in _NOT_NAMES
        ]
        return tuple(dict.fromkeys(name for _, name in sorted(found)))

    @functools.cached_property
    def endpoints(self) -> tuple[str | None, str | None]:
        """The names a relation goes from and to ("from Alice to Bob")."""
        source = re.search(r"\bfrom\s+['\"“‘`]?([\w.-]+)", self.text)
        target = re.search(r"\bto\s+['\"“‘`]?([\w.-]+)", self.text)
        return (source.group(1) if source else None, target.group(1) if target else None)

    @functools.cached_property
    def type_label(self) -> str | None:
        """The type something is said to be of ("of type person", "with entity type 'x'")."""
        m = _TYPE_RE.search(self.text)
        return next((g for g in m.groups() if g), None) if m else None

    @functools.cached_property
    def clock_times(self) -> tuple[str, ...]:
        """Clock times as HH:MM ("14:30", "9am" -> "09:00", "2:15 pm" -> "14:15")."""
        out = []
        for m in _CLOCK_RE.finditer(self.plain):
            if m.group(1) is not None:
                hour = int(m.group(1)) % 12 + (12 if m.group(3).lower() == "p" else 0)
                out.append(f"{hour:02d}:{m.group(2) or '00'}")
            else:
                out.append(f"{int(m.group(4)):02d}:{m.group(5)}")
        return tuple(out)

    @functools.cached_property
    def zones(self) -> tuple[tuple[int, str, str], ...]:
        """Time zones named: (start, the word before, zone)."""
        out = []
        for start, _, zone in timezones.find_zones(self.masked):
            before = lexicon.tokenize(self.masked[max(0, start - 20) : start])
            out.append((start, before[-1] if before else "", zone))
        return tuple(out)

    @functools.cached_property
    def revisions(self) -> tuple[str, ...]:
        """Commit ids (7 to 40 hex digits, at least one a digit and one a letter), HEAD~n, the
        second of two compared ("between a and b": b), else a commit named by its place ("the
        last commit": HEAD, "the commit before the last one": HEAD~1)."""
        found = [(m.start(), m.group(0)) for m in _REVISION_RE.finditer(self.masked)]
        found += [(m.start(), m.group(0)) for m in _HEAD_RE.finditer(self.masked)]
        found += [(m.start(), m.group(2)) for m in _BETWEEN_RE.finditer(self.masked)]
        if not found:  # "the commit before the last one", "the last commit"
            previous = _PREVIOUS_COMMIT_RE.search(self.masked)
            last = _LAST_COMMIT_RE.search(self.masked)
            if previous:
                found.append((previous.start(), "HEAD~1"))
            elif last:
                found.append((last.start(), "HEAD"))
        return tuple(v for _, v in sorted(found))

    @functools.cached_property
    def dates(self) -> tuple[str, ...]:
        return tuple(lexicon.find_dates(self.text))

    @functools.cached_property
    def comparison(self) -> tuple[str, int] | None:
        return comparison(self.masked)

    @functools.cached_property
    def unit(self) -> tuple[int, str, str] | None:
        """Where the value of "10 km to miles" starts, and its two units."""
        m = UNIT_RE.search(self.masked)
        return (m.start(1), m.group(2), m.group(3)) if m else None


@functools.lru_cache(maxsize=512)
def facts(text: str) -> TextFacts:
    return TextFacts(text)


class Draw:
    """One planning pass over a text's facts: each quote, number and path used once."""

    def __init__(self, text_facts: TextFacts) -> None:
        self.facts = text_facts
        self.used_quotes: set[int] = set()
        self.used_numbers: set[int] = set()
        self.used_paths: set[int] = set()
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

    def take_path(self, files_only: bool) -> str | None:
        for i, path in enumerate(self.facts.paths):
            if i in self.used_paths or (files_only and path not in self.facts.file_paths):
                continue
            self.used_paths.add(i)
            return path
        return None


def topic(text: str) -> str | None:
    """What a request is about: the text after "for", "about", "search", "what is"..."""
    for pattern in _TOPIC_PATTERNS:
        m = pattern.search(text)
        if m:
            found = re.split(r"[?!;]|[.,](?:\s|$)", m.group(1), maxsplit=1)[0]
            found = _LEADING_FILLER_RE.sub("", found.strip()).strip(" '\"")
            found = _TRAILING_PLACE_RE.sub("", found)
            if found:
                return found
    return None


def expression(text: str) -> str | None:
    """An arithmetic expression written in the text ("15 times 4" -> "15 * 4")."""
    spoken = text
    for pattern, op in _EXPRESSION_WORDS:
        spoken = pattern.sub(f" {op} ", spoken)
    spoken = _SQRT_RE.sub(r"sqrt(\1)", spoken)
    m = EXPRESSION_RE.search(spoken)
    if m is None:
        root = re.search(r"sqrt\(\d+(?:\.\d+)?\)", spoken)
        return root.group(0) if root else None
    start, end = m.span()
    if spoken[:start].rstrip().endswith("sqrt("):
        start = spoken.rfind("sqrt(", 0, start)
    return " ".join(spoken[start:end].split()).replace("×", "*").replace("÷", "/")


def comparison(text: str) -> tuple[str, int] | None:
    """The comparison a text asks for ("greater than 10", ">= 3"): operator, number position."""
    for pattern, op in _COMPARISONS:
        m = pattern.search(text)
        if m:
            return op, m.start(1)
    m = _ANYWHERE_COMPARISON_OPS.search(text)
    return (m.group(1), m.start(2)) if m else None


_LEAD_RE: Final = re.compile(
    r"^\s*(?:(?:please|kindly|now|just|then|and|also)\s+)*[\w-]+\s*", re.IGNORECASE
)


_NAMED_TEXT_RE: Final = re.compile(
    r"^(?:the\s+|a\s+)?(?:word|words|phrase|text|string|sentence|message)\s+(?=\S)", re.IGNORECASE
)


def after_verb(text: str) -> str:
    """The words after a request's leading verb ("Echo hello world" -> "hello world")."""
    rest = _LEAD_RE.sub("", text, count=1).strip().rstrip(".!")
    rest = _NAMED_TEXT_RE.sub("", rest, count=1)  # "Echo the word banana": banana
    return rest or text


__all__ = [
    "EXPRESSION_RE",
    "EXTENSIONS",
    "EXTENSION_FILES_RE",
    "GLOB_RE",
    "KIND_EXTENSIONS",
    "ROOT_WORDS",
    "UNIT_RE",
    "Draw",
    "Quote",
    "TextFacts",
    "after_verb",
    "comparison",
    "expression",
    "facts",
    "topic",
]
