"""Demo MCP server ``text``: deterministic text processing.

Run: ``python -m mcp_agent_otel.autonomous.servers.text`` (stdio).

Tools: summarize_text (extractive), word_count, extract_keywords, change_case, find_replace,
analyze_sentiment (lexicon-based). Pure functions below; no model, no network.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from mcp_agent_otel.autonomous.servers.language import (
    content_words,
    paragraphs,
    sentences,
    word_set,
    words,
)
from mcp_agent_otel.autonomous.servers.runtime import LOG_LEVEL, serve

NAME = "text"
MAX_TEXT_CHARS = 1_000_000

Case = Literal["upper", "lower", "title", "sentence", "snake", "camel", "kebab"]

# --- pure core --------------------------------------------------------------------------------


def _check_size(text: str) -> None:
    if len(text) > MAX_TEXT_CHARS:
        raise ToolError(
            f"the text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}: "
            "split it into smaller pieces"
        )


def _require_text(text: str) -> None:
    if not text.strip():
        raise ToolError("the text is empty: pass the text to process")
    _check_size(text)


def summarize(text: str, max_sentences: int = 3) -> dict[str, Any]:
    """Extractive summary: the sentences whose content words are most frequent, in order."""
    _require_text(text)
    if max_sentences < 1:
        raise ToolError(f"max_sentences must be at least 1, got {max_sentences}")
    found = sentences(text)
    frequency = Counter(content_words(text))
    top = max(frequency.values(), default=1)

    def score(sentence: str) -> float:
        terms = content_words(sentence)
        return sum(frequency[t] / top for t in terms) / (len(terms) ** 0.5) if terms else 0.0

    ranked = sorted(range(len(found)), key=lambda i: (-score(found[i]), i))
    chosen = sorted(ranked[:max_sentences])
    return {
        "summary": " ".join(found[i] for i in chosen),
        "sentences_kept": len(chosen),
        "sentences_total": len(found),
    }


def count(text: str) -> dict[str, Any]:
    """Words, characters, sentences, paragraphs, unique words and average word length."""
    _check_size(text)
    found = words(text)
    return {
        "words": len(found),
        "characters": len(text),
        "characters_no_spaces": len("".join(text.split())),
        "sentences": len(sentences(text)),
        "paragraphs": len(paragraphs(text)),
        "unique_words": len(set(found)),
        "average_word_length": round(sum(map(len, found)) / len(found), 2) if found else 0.0,
    }


def keywords(text: str, limit: int = 10) -> dict[str, Any]:
    """The most frequent content words (no stopwords, at least 3 letters), ties alphabetical."""
    _require_text(text)
    if limit < 1:
        raise ToolError(f"limit must be at least 1, got {limit}")
    counts = Counter(w for w in content_words(text) if len(w) >= 3 and not w.isdigit())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return {"keywords": [{"keyword": k, "count": n} for k, n in ranked]}


def _split_identifier(text: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def convert_case(text: str, case: str) -> str:
    """``text`` in upper, lower, title, sentence, snake, camel or kebab case."""
    _require_text(text)
    if case == "upper":
        return text.upper()
    if case == "lower":
        return text.lower()
    if case == "title":
        return re.sub(r"[A-Za-z]+('[A-Za-z]+)?", lambda m: m.group(0).capitalize(), text)
    if case == "sentence":
        lowered = text.lower()
        return re.sub(r"(^\s*|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), lowered)
    parts = [p.lower() for p in _split_identifier(text)]
    if case == "snake":
        return "_".join(parts)
    if case == "kebab":
        return "-".join(parts)
    if case == "camel":
        return parts[0] + "".join(p.capitalize() for p in parts[1:]) if parts else ""
    raise ToolError(
        f"unknown case {case!r}: use upper, lower, title, sentence, snake, camel or kebab"
    )


def replace(
    text: str, find: str, replacement: str, *, regex: bool = False, ignore_case: bool = False
) -> dict[str, Any]:
    """Replace every occurrence of ``find`` (a literal, or a regular expression) in ``text``."""
    _check_size(text)
    if not find:
        raise ToolError("'find' is empty: pass the text (or pattern) to look for")
    flags = re.IGNORECASE if ignore_case else 0
    try:
        pattern = re.compile(find if regex else re.escape(find), flags)
    except re.error as exc:
        raise ToolError(
            f"'find' is not a valid regular expression ({exc}); pass regex=false to match it "
            "literally"
        ) from None
    try:
        # A literal replacement goes through a function, so its backslashes stay literal.
        result, n = pattern.subn(replacement if regex else (lambda _: replacement), text)
    except (re.error, IndexError) as exc:
        raise ToolError(
            f"the replacement {replacement!r} is not valid for this pattern ({exc}): refer to "
            "groups as \\1 or \\g<name> only when the pattern defines them"
        ) from None
    return {"text": result, "replacements": n}


POSITIVE = word_set(
    """
    good great excellent amazing awesome wonderful fantastic love loved loves like liked enjoy
    enjoyed happy glad pleased delighted fast quick reliable stable easy clear helpful useful
    nice best better perfect brilliant impressive success successful works working fixed
    improve improved improvement smooth efficient robust recommend beautiful elegant
    """
)
NEGATIVE = word_set(
    """
    bad terrible awful horrible poor hate hated hates dislike sad angry annoyed disappointed
    disappointing slow broken bug buggy crash crashes crashed fail fails failed failure error
    errors wrong worse worst useless confusing unclear difficult hard unstable unreliable
    problem problems issue issues regression leak leaks ugly painful frustrating timeout
    """
)
NEGATIONS = word_set(
    "not no never hardly without cannot isn't wasn't aren't don't doesn't didn't can't won't"
)


def sentiment(text: str) -> dict[str, Any]:
    """Lexicon sentiment: positive minus negative words (a negation flips the next word)."""
    _require_text(text)
    positive: list[str] = []
    negative: list[str] = []
    found = words(text)
    for i, word in enumerate(found):
        polarity = 1 if word in POSITIVE else -1 if word in NEGATIVE else 0
        if not polarity:
            continue
        negated = any(w in NEGATIONS for w in found[max(0, i - 2) : i])
        if negated:
            polarity = -polarity
            word = f"not {word}"
        (positive if polarity > 0 else negative).append(word)
    total = len(positive) + len(negative)
    score = (len(positive) - len(negative)) / total if total else 0.0
    label = "positive" if score > 0.1 else "negative" if score < -0.1 else "neutral"
    return {
        "sentiment": label,
        "score": round(score, 4),
        "positive_words": positive,
        "negative_words": negative,
    }


# --- MCP server ----------------------------------------------------------------------------------

_PURE = ToolAnnotations(read_only_hint=True, idempotent_hint=True)
Text = Annotated[str, Field(description="the text to process")]


def build_server() -> MCPServer:
    server = MCPServer(
        NAME,
        log_level=LOG_LEVEL,
        instructions="Process text: summarize, count words, extract keywords, change case, "
        "find and replace, analyze sentiment.",
    )

    @server.tool(
        description="Summarize text: condense a long text into its most important sentences "
        "(an extractive summary, a short overview / digest of the content).",
        annotations=_PURE,
    )
    def summarize_text(
        text: Text,
        max_sentences: Annotated[
            int, Field(description="how many sentences the summary keeps", ge=1, le=50)
        ] = 3,
    ) -> dict[str, Any]:
        return summarize(text, max_sentences)

    @server.tool(
        description="Count the words in a text, plus characters, sentences, paragraphs, unique "
        "words and average word length (text length statistics).",
        annotations=_PURE,
    )
    def word_count(text: Text) -> dict[str, Any]:
        return count(text)

    @server.tool(
        description="Extract keywords from text: the most frequent meaningful words (key "
        "terms, main topics, tags) with their counts.",
        annotations=_PURE,
    )
    def extract_keywords(
        text: Text,
        limit: Annotated[int, Field(description="how many keywords to return", ge=1, le=100)] = 10,
    ) -> dict[str, Any]:
        return keywords(text, limit)

    @server.tool(
        description="Change the case of text: convert or format it to upper case, lower case, "
        "title case, sentence case, snake_case, camelCase or kebab-case.",
        annotations=_PURE,
    )
    def change_case(
        text: Text,
        case: Annotated[
            Case,
            Field(
                description="the target case: upper, lower, title, sentence, snake, camel or kebab"
            ),
        ] = "upper",
    ) -> str:
        return convert_case(text, case)

    @server.tool(
        description="Find and replace in text: substitute every occurrence of a word, phrase "
        "or regular expression with a replacement, and report how many were replaced.",
        annotations=_PURE,
    )
    def find_replace(
        text: Text,
        find: Annotated[str, Field(description="the text (or regular expression) to look for")],
        replace_with: Annotated[str, Field(description="the replacement text")] = "",
        regex: Annotated[bool, Field(description="treat 'find' as a regular expression")] = False,
        ignore_case: Annotated[bool, Field(description="match regardless of letter case")] = False,
    ) -> dict[str, Any]:
        return replace(text, find, replace_with, regex=regex, ignore_case=ignore_case)

    @server.tool(
        description="Analyze the sentiment of text: classify its tone or opinion as positive, "
        "negative or neutral with a score from -1 to 1 and the words that decided it.",
        annotations=_PURE,
    )
    def analyze_sentiment(text: Text) -> dict[str, Any]:
        return sentiment(text)

    return server


def main() -> None:
    serve(build_server(), NAME)


if __name__ == "__main__":
    main()
