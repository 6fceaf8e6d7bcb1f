"""The agent's one vocabulary: tokens, stems, keyword tables and the spans of text that carry data.

TaskAnalyzer, DecisionEngine and ToolDiscovery all read words through this module, so a word
means the same thing everywhere:

- ``tokenize`` gives lowercase whole-word tokens ("understand" is one token and never contains
  "and"; "research" never contains "search"); ``identifier_tokens`` also splits tool names
  (``word_count``, ``readFile``).
- ``stem`` is a small deterministic suffix stripper (``searches``/``searching`` -> ``search``).
  Keyword tables are written as plain words and stemmed once, at import.
- ``TASK_TYPE_KEYWORDS`` and ``CATEGORY_KEYWORDS`` map stems to weighted TaskTypes and
  ToolCategories; ``categorize_tool`` maps a listed MCP tool to its ToolCategory.
- ``mask_quotes``, ``quoted_strings``, ``find_paths``, ``find_urls``, ``find_numbers``: the
  spans of a text that are data (a quoted string, a file path, a URL, a number) rather than
  intent, used to keep data out of keyword matching and to fill tool arguments.

Everything here is a pure function over strings, with tables and regexes built once.

Over 500 lines on purpose: most of it is the word tables themselves, and one vocabulary read
in one place is the point of the module (split, the tables would drift apart).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from mcp_agent_otel.autonomous.models import TaskType, ToolCategory

# --- tokens and stems ------------------------------------------------------------------------

_WORD_RE: Final = re.compile(r"[^\W_]+")
_CAMEL_RE: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def tokenize(text: str) -> list[str]:
    """Lowercase whole-word tokens (letters and digits; punctuation and ``_`` separate words)."""
    return _WORD_RE.findall(text.lower())


def identifier_tokens(name: str) -> list[str]:
    """Tokens of an identifier such as a tool or parameter name: snake, kebab and camel case."""
    return tokenize(_CAMEL_RE.sub(" ", name))


def word_set(words: str) -> frozenset[str]:
    """The whitespace-separated words of ``words`` (for writing vocabulary tables)."""
    return frozenset(words.split())


STOPWORDS: Final = word_set("""
    a an the and or but nor so yet of to in on at by for with from into onto over under about
    as is are was were be been being am do does did done doing have has had having i me my
    mine we us our you your he him his she her it its they them their this that these those
    there here what which who whom whose when where why how all any both each few more most
    other some such no not only own same than too very can could will would shall should may
    might must just also then now please kindly let lets let's make sure using use via per
    up down out off again further once if else while until because s t d ll m o re ve y
    first second third fourth fifth firstly secondly thirdly finally lastly next afterwards
    afterward subsequently
    """)

# (suffix, replacement, shortest stem kept). Checked in order; the first that fits is used.
_SUFFIX_RULES: Final = (
    ("izations", "ize", 3),
    ("ization", "ize", 3),
    ("isations", "ize", 3),
    ("isation", "ize", 3),
    ("ations", "ate", 3),
    ("ation", "ate", 3),
    ("ies", "y", 2),
    ("ied", "y", 2),
    ("sses", "ss", 2),
    ("ing", "", 3),
    ("edly", "", 3),
    ("ed", "", 3),
)
_SIBILANT_ES: Final = ("ches", "shes", "xes", "zes", "sses")


# Words the suffix rules would merge with a different word ("times" is not "time").
_STEM_EXCEPTIONS: Final = {"times": "times", "news": "news", "series": "series", "data": "data"}


@functools.lru_cache(maxsize=16384)
def stem(word: str) -> str:
    """A small deterministic suffix stripper: ``searches``, ``searching``, ``searched`` -> search.

    Only suffixes are removed, so a stem never gains or loses a word's beginning: "research"
    stays "research" and never meets "search".
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word in _STEM_EXCEPTIONS:
        return _STEM_EXCEPTIONS[word]
    stripped_verb_suffix = False
    for suffix, replacement, shortest in _SUFFIX_RULES:
        if word.endswith(suffix) and len(word) - len(suffix) >= shortest:
            word = word[: -len(suffix)] + replacement
            stripped_verb_suffix = suffix in ("ing", "ed", "edly")
            break
    else:
        if word.endswith(_SIBILANT_ES) and len(word) > 5:
            word = word[:-2]
        elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
            word = word[:-1]
    if (
        stripped_verb_suffix
        and len(word) > 3
        and word[-1] == word[-2]
        and word[-1] not in "aeiouslz"
    ):
        word = word[:-1]  # running -> runn -> run
    if len(word) >= 4 and word.endswith("e"):
        word = word[:-1]  # write/writes/writing -> writ
    return word


def terms(text: str) -> list[str]:
    """Stems of the non-stopword, non-numeric tokens of ``text``, in order (the unit of keyword
    matching: numbers are data, never keywords)."""
    return token_terms(tokenize(text))


def token_terms(tokens: Iterable[str]) -> list[str]:
    """Stems of the tokens that are neither stopwords nor numbers, in order."""
    return [stem(t) for t in tokens if t not in STOPWORDS and not t.isdigit()]


def stem_set(words: str) -> frozenset[str]:
    """The stems of the whitespace-separated words of ``words``."""
    return frozenset(stem(w) for w in words.split())


def _stem_table(
    table: Mapping[Any, Mapping[str, float]],
) -> dict[str, tuple[tuple[Any, float], ...]]:
    """Invert ``{label: {word: weight}}`` into ``{stem: ((label, weight), ...)}``."""
    inverted: dict[str, dict[Any, float]] = {}
    for label, words in table.items():
        for word, weight in words.items():
            for token in tokenize(word):
                s = stem(token)
                entry = inverted.setdefault(s, {})
                entry[label] = max(entry.get(label, 0.0), weight)
    return {s: tuple(labels.items()) for s, labels in inverted.items()}


def _weights(strong: str, weak: str = "") -> dict[str, float]:
    table = dict.fromkeys(weak.split(), 1.0)
    table.update(dict.fromkeys(strong.split(), 2.0))
    return table


# --- what a task is about (TaskType) ------------------------------------------------------------

_TASK_TYPE_WORDS: Final[dict[TaskType, dict[str, float]]] = {
    TaskType.INFORMATION_RETRIEVAL: _weights(
        "search find lookup retrieve query define definition look",
        "fetch get list show tell information info fact facts knowledge",
    ),
    TaskType.CONTENT_CREATION: _weights(
        "draft compose generate blog essay story poem haiku summarize summarise summary "
        "brainstorm "
        "translate translation rewrite paraphrase headline slogan tagline caption content "
        "uppercase lowercase capitalize",
        "write create article outline letter description copy text title replace",
    ),
    TaskType.DATA_ANALYSIS: _weights(
        "analyze analyse analysis calculate compute average mean median statistics statistic "
        "stats chart plot trend data dataset correlation variance deviation",
        "sum total csv numbers percent percentage sort count math arithmetic multiply divide "
        "add subtract square root maximum minimum max min convert conversion unit units filter",
    ),
    TaskType.FILE_OPERATIONS: _weights(
        "file files directory folder save delete rename append filename",
        "read copy move path open store disk",
    ),
    TaskType.WEB_AUTOMATION: _weights(
        "website web browse navigate click scrape crawl download url http https html login "
        "browser webpage",
        "form submit page link links",
    ),
    TaskType.CODE_DEVELOPMENT: _weights(
        "code bug debug refactor implement compile python javascript typescript deploy "
        "repository regex lint",
        "function test tests script program class api commit",
    ),
    TaskType.PROJECT_MANAGEMENT: _weights(
        "project milestone deadline roadmap sprint backlog assign prioritize timeline ticket "
        "kanban stakeholder",
        "plan schedule priority track team estimate",
    ),
    TaskType.RESEARCH: _weights(
        "research investigate study compare comparison survey literature sources evidence explore",
        "paper papers review history findings evaluate pros cons differences",
    ),
    TaskType.COMMUNICATION: _weights(
        "email send message reply notify slack announce tweet invite",
        "mail post chat call meeting contact respond",
    ),
    TaskType.REASONING: _weights(
        "why reason reasoning prove proof logic logical deduce infer solve puzzle riddle",
        "decide think explain conclude whether argument",
    ),
}

# --- what a tool is for / what a step needs (ToolCategory) ----------------------------------

_CATEGORY_WORDS: Final[dict[ToolCategory, dict[str, float]]] = {
    # "search"/"find" are weak: what is searched for decides ("find csv files" is a file task).
    ToolCategory.SEARCH: _weights(
        "lookup query retrieve research knowledge encyclopedia wiki wikipedia fact facts "
        "information definition define",
        "search find look article articles document documents info topic topics discover entry "
        "entries",
    ),
    ToolCategory.TEXT: _weights(
        "text summarize summarise summary summarization translate translation word words "
        "sentence sentences paragraph uppercase lowercase capitalize capitalise reverse keyword "
        "keywords sentiment spell spelling grammar rewrite paraphrase tokenize slug slugify "
        "characters vowels proofread rephrase palindrome anagram replace substitute",
        "case title character letters string extract language tone headline shorten french "
        "spanish german italian portuguese english draft compose tagline slogan caption poem "
        "haiku essay story blog write",
    ),
    ToolCategory.MATH: _weights(
        "calculate calculator calculation math arithmetic plus minus subtract multiply divide "
        "divided sqrt factorial prime equation expression percent percentage exponent modulo "
        "fibonacci gcd lcm celsius fahrenheit",
        "compute add sum square root times multiplied power number integer convert km kg lb "
        "kilometers miles meters feet inches pounds ounces liters gallons",
    ),
    ToolCategory.DATA: _weights(
        "data dataset statistics statistic stats average mean median deviation variance stdev "
        "sort table aggregate histogram correlation distribution percentile quartile "
        "outlier trend chart plot",
        "filter json csv minimum maximum min max range analyze analysis analytics numbers values "
        "column row records mode keep greater less larger smaller above below",
    ),
    ToolCategory.FILE: _weights(
        "file files directory folder path save rename append filename filesystem mkdir txt",
        "write store delete remove copy move open disk sandbox contents exists",
    ),
    ToolCategory.WEB: _weights(
        "url http https website web webpage browse browser download scrape crawl html link "
        "links internet navigate",
        "page online click site domain",
    ),
    ToolCategory.CODE: _weights(
        "code python javascript script program compile debug bug lint regex refactor snippet "
        "syntax repository repo git stage staged staging unstage",
        "function test implement class exception execute commit commits branch branches "
        "diff log merge checkout",
    ),
    ToolCategory.COMMUNICATION: _weights(
        "email mail send message notify notification reply chat slack sms announce "
        "announcement invite invitation inbox recipient tweet",
        "post letter meeting contact",
    ),
    ToolCategory.PROJECT: _weights(
        "project milestone deadline roadmap sprint ticket todo backlog assign assignee "
        "prioritize timeline kanban",
        "issue task priority estimate status",
    ),
    ToolCategory.TIME: _weights(
        "time date today tomorrow yesterday clock timezone calendar timestamp utc weekday",
        "now day week month year hour minute schedule",
    ),
}

# Words a request uses for what a tool's description says differently; used to widen a query.
_SYNONYMS: Final = {
    "times": "multiply",
    "multiplied": "multiply",
    "plus": "add",
    "minus": "subtract",
    "divided": "divide",
    "root": "sqrt",
    "mean": "average",
    "average": "mean",
    "lookup": "search",
    "look": "search",
    "find": "search",
    "uppercase": "upper",
    "lowercase": "lower",
    "capitalize": "upper",
    "tone": "sentiment",
    "feeling": "sentiment",
    "folder": "directory",
    "now": "current",
    "stats": "statistics",
    "add": "sum",
    "total": "sum",
    "whole": "entire",
    "history": "log",
    "make": "create",
    "everything": "entire",
    "repeat": "echo",
    "sandbox": "directory",
    "big": "size",
    "large": "size",
    "last": "log",
    "latest": "log",
    "recent": "log",
    "link": "relation",
    "relate": "relation",
    "connect": "relation",
    "memory": "knowledge",
    "keep": "filter",
    "research": "search",
    "investigate": "search",
    "forget": "delete",
}
SYNONYMS: Final[Mapping[str, str]] = {stem(k): stem(v) for k, v in _SYNONYMS.items()}


def expand_terms(stems: Iterable[str]) -> list[str]:
    """``stems`` followed by the synonyms of those that have one, and theirs ("plus": add,
    sum), with no duplicates, in order."""
    out = dict.fromkeys(stems)
    for s in list(out):
        synonym = SYNONYMS.get(s)
        if synonym is not None:
            out.setdefault(synonym)
            further = SYNONYMS.get(synonym)
            if further is not None:
                out.setdefault(further)
    return list(out)


TASK_TYPE_KEYWORDS: Final = _stem_table(_TASK_TYPE_WORDS)
CATEGORY_KEYWORDS: Final = _stem_table(_CATEGORY_WORDS)

# The order ties are broken in: the enum's own order.
TASK_TYPE_ORDER: Final = tuple(TaskType)
CATEGORY_ORDER: Final = tuple(ToolCategory)

# Imperative verbs that open a step. Splitting on ", <verb>" and "and <verb>" only happens
# before one of these (as whole words), so "calculate the mean and median" stays one step.
ACTION_VERBS: Final = word_set("""
    search find look lookup fetch get retrieve query research investigate explore study
    summarize summarise translate count write draft compose create generate make produce
    read open save store delete remove rename copy move list append calculate compute add
    subtract multiply divide sum average sort filter analyze analyse compare plot chart
    convert extract send email notify reply post schedule plan check verify validate review
    refine improve rewrite edit format reverse uppercase lowercase capitalize capitalise
    explain describe define identify classify tell show give return evaluate solve
    estimate predict download browse visit navigate scrape crawl click fill submit run
    execute test debug fix implement build deploy install update detect measure combine merge
    split print display prepare collect gather determine recommend suggest outline organize
    assign track prioritize tag label parse encode decode hash round paraphrase proofread
    shorten tokenize brainstorm draft answer replace substitute keep change debate discuss echo
    """)
ACTION_STEMS: Final = frozenset(stem(v) for v in ACTION_VERBS)

# Verbs that work on something given to them: a step using one with nothing of its own to
# work on takes the previous step's output ("... and compare the approaches").
CONSUMER_STEMS: Final = stem_set(
    "summarize summarise compare analyze analyse evaluate review explain rank sort filter "
    "count translate rewrite refine improve check verify combine merge extract classify format "
    "convert plot chart visualize describe proofread paraphrase shorten critique judge"
)
# Words that only soften or join a request; a step's leading verb comes after them.
FILLER_WORDS: Final = word_set("please kindly now also and then just so next finally lastly")

# Words that make a step read like a question even without an action verb.
QUESTION_WORDS: Final = word_set(
    "what who whom whose where when which why how is are was were does do did can could "
    "should would will"
)

# A step that mentions one of these consumes what an earlier step produced.
SINGULAR_REFERENCES: Final = word_set("it its this result output answer")
PLURAL_REFERENCES: Final = word_set(
    "them their they these those results outputs answers findings both"
)

LANGUAGES: Final[Mapping[str, str]] = {
    "english": "en",
    "french": "fr",
    "spanish": "es",
    "german": "de",
    "italian": "it",
    "portuguese": "pt",
    "dutch": "nl",
    "japanese": "ja",
    "chinese": "zh",
    "russian": "ru",
    "arabic": "ar",
    "hindi": "hi",
    "korean": "ko",
    "swedish": "sv",
    "polish": "pl",
    "turkish": "tr",
}


def score_labels(
    stems: Iterable[str], table: Mapping[str, tuple[tuple[Any, float], ...]]
) -> dict[Any, float]:
    """Sum the weights of every stem's labels in ``table`` (one of the keyword tables)."""
    scores: dict[Any, float] = {}
    for s in stems:
        for label, weight in table.get(s, ()):
            scores[label] = scores.get(label, 0.0) + weight
    return scores


LEAD_VERB_BONUS: Final = 0.5


def ranked_categories(
    stems: Iterable[str], lead: str | None = None
) -> list[tuple[ToolCategory, float]]:
    """Categories the stems point at, best first (ties in enum order); GENERAL never appears.

    ``lead`` is the stem of the verb a step opens with; its categories weigh half again as
    much ("email the summary" is about communication more than text).
    """
    scores = score_labels(stems, CATEGORY_KEYWORDS)
    if lead is not None:
        for category, weight in CATEGORY_KEYWORDS.get(lead, ()):
            scores[category] = scores.get(category, 0.0) + LEAD_VERB_BONUS * weight
    return sorted(scores.items(), key=lambda kv: (-kv[1], CATEGORY_ORDER.index(kv[0])))


# --- tools ------------------------------------------------------------------------------------

_NAME_WEIGHT: Final = 3.0
_SCHEMA_WEIGHT: Final = 1.0
_DESCRIPTION_WEIGHT: Final = 1.0


def schema_properties(input_schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The ``properties`` of a JSON Schema object, or {} when there are none or they are odd."""
    props = input_schema.get("properties") if isinstance(input_schema, Mapping) else None
    if not isinstance(props, Mapping):
        return {}
    return {str(k): v for k, v in props.items() if isinstance(v, Mapping)}


def schema_text(input_schema: Mapping[str, Any]) -> str:
    """The words of a tool's input schema: property names and their descriptions."""
    parts: list[str] = []
    for name, prop in schema_properties(input_schema).items():
        parts.append(" ".join(identifier_tokens(name)))
        description = prop.get("description")
        if isinstance(description, str):
            parts.append(description)
    return " ".join(parts)


def categorize_tool(name: str, description: str, input_schema: Mapping[str, Any]) -> ToolCategory:
    """The ToolCategory of a listed MCP tool, from its name, description and input schema.

    The name weighs most (``read_file`` is a file tool whatever its description says): when
    its words name categories, the tool is one of those (``git_log`` is a code tool however
    many dates its schema mentions); the description and the schema's property names and
    descriptions break ties. A tool none of the tables recognise is GENERAL.
    """
    named = set(score_labels(terms(" ".join(identifier_tokens(name))), CATEGORY_KEYWORDS))
    scores: dict[ToolCategory, float] = {}
    sources = (
        (" ".join(identifier_tokens(name)), _NAME_WEIGHT),
        (description or "", _DESCRIPTION_WEIGHT),
        (schema_text(input_schema), _SCHEMA_WEIGHT),
    )
    for text, factor in sources:
        for category, weight in score_labels(terms(text), CATEGORY_KEYWORDS).items():
            scores[category] = scores.get(category, 0.0) + weight * factor
    if not scores:
        return ToolCategory.GENERAL
    return min(named or scores, key=lambda c: (-scores[c], CATEGORY_ORDER.index(c)))


# --- the spans of a text that are data, not intent ------------------------------------------

_QUOTE_RE: Final = re.compile(
    r"\"(?P<d>[^\"]*)\"|“(?P<c>[^”]*)”|‘(?P<s>[^’]*)’|`(?P<b>[^`]*)`"
    r"|(?<![\w'])'(?P<q>[^'\n]+)'(?![\w'])"
)
_URL_RE: Final = re.compile(r"\bhttps?://[^\s\"'<>`]+", re.IGNORECASE)
_FILE_EXTENSIONS: Final = sorted(
    word_set(
        "txt md markdown csv tsv json jsonl yaml yml xml html htm log py js ts pdf doc docx ini "
        "toml cfg conf rst sql sh png jpg jpeg gif svg xlsx xls pptx zip gz tar dat out ipynb c "
        "h cpp java go rs rb css"
    ),
    key=lambda e: (-len(e), e),
)
_PATH_RE: Final = re.compile(
    r"(?<![\w/.~-])"
    r"(?:(?:~|\.{1,2})?/)?(?:[\w.-]+/)*[\w-][\w.-]*\.(?:" + "|".join(_FILE_EXTENSIONS) + r")"
    r"(?![\w/-])",
    re.IGNORECASE,
)
# An absolute (or ./, ../, ~/) path without an extension: a directory such as /srv/repo.
ABSOLUTE_DIRECTORY_RE: Final = re.compile(r"(?<![\w/.~-])(?:~|\.{1,2})?/(?:[\w.@+-]+/?)+")
_NUMBER_RE: Final = re.compile(r"(?<![\w./:])-?\d+(?:\.\d+)?(?!\.?\w|:\d)")
_DATE_RE: Final = re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])")


def quote_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, contents)`` of each quoted string ("...", '...', “...”, ‘...’, `...`)."""
    return [
        (m.start(), m.end(), next(g for g in m.groups() if g is not None))
        for m in _QUOTE_RE.finditer(text)
    ]


def quoted_strings(text: str) -> list[str]:
    """The contents of the quoted strings of ``text``, in order."""
    return [contents for _, _, contents in quote_spans(text)]


def mask_quotes(text: str) -> str:
    """``text`` with the inside of every quoted string blanked with spaces (same length).

    Splitting and keyword matching run on the masked text, so words inside quotes (data)
    never act as connectives or keywords, while offsets still index the original text.
    """
    if not any(q in text for q in "\"'“‘`"):
        return text

    def blank(m: re.Match[str]) -> str:
        inner = m.group(0)
        return inner[0] + " " * (len(inner) - 2) + inner[-1]

    return _QUOTE_RE.sub(blank, text)


def mask_locators(text: str) -> str:
    """``text`` with every URL, file path and absolute directory path blanked with spaces
    (same length)."""
    if "." not in text and "/" not in text:
        return text
    chars = list(text)
    for m in _URL_RE.finditer(text):
        chars[m.start() : m.end()] = " " * (m.end() - m.start())
    blanked = "".join(chars)
    for m in _PATH_RE.finditer(blanked):
        chars[m.start() : m.end()] = " " * (m.end() - m.start())
    blanked = "".join(chars)
    for m in ABSOLUTE_DIRECTORY_RE.finditer(blanked):
        chars[m.start() : m.end()] = " " * (m.end() - m.start())
    return "".join(chars)


def find_urls(text: str) -> list[str]:
    return [m.group(0).rstrip(".,;:!?)]}") for m in _URL_RE.finditer(text)]


def find_paths(text: str) -> list[str]:
    """File paths with a known extension (``notes.txt``, ``data/sales.csv``), URLs excluded."""
    if "." not in text:
        return []
    without_urls = _URL_RE.sub(" ", text)
    return [m.group(0) for m in _PATH_RE.finditer(without_urls)]


def path_spans(text: str) -> list[tuple[int, str]]:
    """``(start, path)`` of each file path with a known extension, URLs excluded."""
    if "." not in text:
        return []
    without_urls = _URL_RE.sub(lambda m: " " * (m.end() - m.start()), text)
    return [(m.start(), m.group(0)) for m in _PATH_RE.finditer(without_urls)]


def find_dates(text: str) -> list[str]:
    """ISO dates (YYYY-MM-DD) in order."""
    return _DATE_RE.findall(text)


def _blank(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda m: " " * (m.end() - m.start()), text)


def number_spans(text: str) -> list[tuple[int, int, int | float]]:
    """``(start, end, value)`` of each number written in ``text``, in order; ints stay ints.

    Digits inside words, paths, URLs, dates and times are not numbers.
    """
    if "://" in text:
        text = _blank(_URL_RE, text)
    if "-" in text:
        text = _blank(_DATE_RE, text)
    spans: list[tuple[int, int, int | float]] = []
    for m in _NUMBER_RE.finditer(text):
        raw = m.group(0)
        spans.append((m.start(), m.end(), float(raw) if "." in raw else int(raw)))
    return spans


def find_numbers(text: str) -> list[int | float]:
    """The numbers written in ``text``, in order (see ``number_spans``)."""
    return [value for _, _, value in number_spans(text)]


__all__ = [
    "ABSOLUTE_DIRECTORY_RE",
    "ACTION_STEMS",
    "ACTION_VERBS",
    "CATEGORY_KEYWORDS",
    "CONSUMER_STEMS",
    "FILLER_WORDS",
    "LANGUAGES",
    "LEAD_VERB_BONUS",
    "PLURAL_REFERENCES",
    "QUESTION_WORDS",
    "SINGULAR_REFERENCES",
    "STOPWORDS",
    "SYNONYMS",
    "TASK_TYPE_KEYWORDS",
    "categorize_tool",
    "expand_terms",
    "find_dates",
    "find_numbers",
    "find_paths",
    "find_urls",
    "identifier_tokens",
    "mask_locators",
    "mask_quotes",
    "number_spans",
    "path_spans",
    "quote_spans",
    "quoted_strings",
    "ranked_categories",
    "schema_properties",
    "schema_text",
    "score_labels",
    "stem",
    "stem_set",
    "terms",
    "token_terms",
    "tokenize",
    "word_set",
]
