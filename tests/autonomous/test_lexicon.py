"""The shared vocabulary: whole-token words, stems, keyword tables, data spans, tool categories."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_agent_otel.autonomous import lexicon
from mcp_agent_otel.autonomous.models import TaskType, ToolCategory


def test_tokens_are_whole_lowercase_words() -> None:
    assert lexicon.tokenize("Help me UNDERSTAND the Research, and then search!") == [
        "help",
        "me",
        "understand",
        "the",
        "research",
        "and",
        "then",
        "search",
    ]
    assert "and" not in lexicon.tokenize("understand")
    assert "search" not in lexicon.tokenize("research")
    assert lexicon.tokenize("snake_case-and.dots") == ["snake", "case", "and", "dots"]


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("word_count", ["word", "count"]),
        ("readFile", ["read", "file"]),
        ("HTTPServerName", ["http", "server", "name"]),
        ("get-document", ["get", "document"]),
        ("sort_numbers2", ["sort", "numbers2"]),
    ],
)
def test_identifier_tokens_split_snake_kebab_and_camel_case(name: str, tokens: list[str]) -> None:
    assert lexicon.identifier_tokens(name) == tokens


@pytest.mark.parametrize(
    ("words", "stem"),
    [
        (("search", "searches", "searching", "searched"), "search"),
        (("summarize", "summarizes", "summarizing", "summarization"), "summariz"),
        (("write", "writes", "writing"), "writ"),
        (("file", "files", "filed"), "fil"),
        (("query", "queries"), "query"),
        (("calculate", "calculation", "calculations", "calculated"), "calculat"),
        (("run", "running"), "run"),
        (("statistic", "statistics"), "statistic"),
    ],
)
def test_stems_merge_inflections(words: tuple[str, ...], stem: str) -> None:
    assert {lexicon.stem(w) for w in words} == {stem}


def test_stems_never_cut_a_word_beginning() -> None:
    assert lexicon.stem("research") == "research"
    assert lexicon.stem("research") != lexicon.stem("search")
    assert lexicon.stem("understand") == "understand"
    assert lexicon.stem("times") != lexicon.stem("time")  # "15 times 4" is not a clock
    assert lexicon.stem("analysis") == "analysis"  # "-is" is not a plural


def test_terms_drop_stopwords_and_numbers() -> None:
    assert lexicon.terms("Search for the 3 best articles about tracing") == [
        "search",
        "best",
        "articl",
        "trac",
    ]


def test_synonyms_widen_a_query() -> None:
    terms = lexicon.terms("15 times 4, the mean")
    assert lexicon.expand_terms(terms) == ["times", "mean", "multiply", "averag"]
    assert lexicon.stem("multiplied") == lexicon.stem("multiply") == "multiply"


def test_keyword_tables_are_looked_up_by_stem() -> None:
    def task_types(word: str) -> set[object]:
        return {label for label, _ in lexicon.TASK_TYPE_KEYWORDS.get(lexicon.stem(word), ())}

    for word in ("summarize", "summarizes", "summarizing", "summarization"):
        assert TaskType.CONTENT_CREATION in task_types(word)
    assert task_types("research") == {TaskType.RESEARCH}
    assert TaskType.RESEARCH not in task_types("search")
    assert dict(lexicon.CATEGORY_KEYWORDS[lexicon.stem("files")])[ToolCategory.FILE] == 2.0
    assert lexicon.stem("and") not in lexicon.TASK_TYPE_KEYWORDS


def test_ranked_categories_best_first_ties_in_enum_order() -> None:
    assert lexicon.ranked_categories(lexicon.terms("count the words in a file")) == [
        (ToolCategory.TEXT, 2.0),
        (ToolCategory.FILE, 2.0),
    ]
    assert lexicon.ranked_categories(lexicon.terms("hello there")) == []


@pytest.mark.parametrize(
    ("name", "description", "schema", "category"),
    [
        ("read_file", "Return a document's text.", {"properties": {"path": {}}}, ToolCategory.FILE),
        ("word_count", "Statistics of a text.", {"properties": {"text": {}}}, ToolCategory.TEXT),
        ("calculate", "Evaluate an expression.", {}, ToolCategory.MATH),
        ("compute_statistics", "Mean, median, deviation.", {}, ToolCategory.DATA),
        ("current_time", "What the clock says now.", {}, ToolCategory.TIME),
        ("fetch", "Fetch a page.", {"properties": {"url": {"type": "string"}}}, ToolCategory.WEB),
        ("send_message", "Send an email to someone.", {}, ToolCategory.COMMUNICATION),
        ("frobnicate", "Does a thing.", {"properties": {"x": {}}}, ToolCategory.GENERAL),
        ("", "", {}, ToolCategory.GENERAL),
    ],
)
def test_categorize_tool(
    name: str, description: str, schema: dict[str, object], category: ToolCategory
) -> None:
    assert lexicon.categorize_tool(name, description, schema) is category


def test_categorize_tool_tolerates_odd_schemas() -> None:
    weird: dict[str, object] = {"properties": ["not", "a", "mapping"]}
    assert lexicon.categorize_tool("read_file", "", weird) is ToolCategory.FILE
    assert lexicon.schema_properties({"properties": {"a": 1, "b": {"type": "string"}}}) == {
        "b": {"type": "string"}
    }


def test_data_spans() -> None:
    text = (
        "Replace 'cat' with \"dog\" in notes/today.txt, see https://example.com/a.html, "
        "between 2024-01-05 and 2024-02-01 take 3.5, -2 and 10 (v1.2, report2.txt, 10:30)"
    )
    assert lexicon.quoted_strings(text) == ["cat", "dog"]
    assert lexicon.find_paths(text) == ["notes/today.txt", "report2.txt"]
    assert lexicon.find_urls(text) == ["https://example.com/a.html"]
    assert lexicon.find_dates(text) == ["2024-01-05", "2024-02-01"]
    assert lexicon.find_numbers(text) == [3.5, -2, 10]
    assert lexicon.find_paths("e.g. this, i.e. that, 3.5 km") == []
    assert lexicon.quoted_strings("don't split Ada's 'real quote' here") == ["real quote"]


def test_masks_keep_offsets() -> None:
    text = "Count the words in 'first search, then summarize' and read a/b.txt"
    masked = lexicon.mask_quotes(text)
    assert len(masked) == len(text)
    assert "search" not in masked
    assert "then" not in masked
    located = lexicon.mask_locators(text)
    assert len(located) == len(text)
    assert "b.txt" not in located


def test_absolute_directories_are_data() -> None:
    text = "Show the status of /srv/repo-2/x and/or ./build, not 3/4"
    located = lexicon.mask_locators(text)
    assert len(located) == len(text)
    assert "srv" not in located
    assert "build" not in located
    assert "and/or" in located
    assert "3/4" in located
    assert lexicon.path_spans("read 'a b.txt' and c/d.md") == [(8, "b.txt"), (19, "c/d.md")]


def test_a_tool_is_what_its_name_says() -> None:
    """git_log's schema talks of dates, its name of git: a code tool (issue 10)."""
    schema = {
        "properties": {
            "start_timestamp": {"description": "ISO 8601 date, e.g. yesterday or 2 weeks ago"},
            "end_timestamp": {"description": "absolute dates such as 2024-01-15"},
        }
    }
    assert lexicon.categorize_tool("git_log", "Shows the commit logs", schema) is ToolCategory.CODE
    assert lexicon.categorize_tool("read_graph", "Read the entire knowledge graph", {}) is (
        ToolCategory.SEARCH
    )


@given(st.text(max_size=300))
def test_masks_and_tokens_hold_for_any_text(text: str) -> None:
    assert len(lexicon.mask_quotes(text)) == len(text)
    assert len(lexicon.mask_locators(text)) == len(text)
    for token in lexicon.tokenize(text):
        assert token
        assert token in text.lower()
        assert all(ch.isalnum() for ch in token)
    lexicon.find_numbers(text)
    lexicon.find_paths(text)
    lexicon.quoted_strings(text)
