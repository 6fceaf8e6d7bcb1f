"""``spans.shorten``: error texts and status descriptions are cut at word boundaries."""

from __future__ import annotations

from mcp_agent_otel.tracing.spans import shorten


def test_short_text_is_kept_on_one_line() -> None:
    assert shorten("no such\n file:   notes.txt", 80) == "no such file: notes.txt"


def test_long_text_ends_at_a_whole_word_with_a_marker() -> None:
    text = "ENOENT: no such file or directory, open '/sandbox/definitely-missing.txt' again"
    cut = shorten(text, 40)
    assert len(cut) <= 40
    assert cut.endswith(" …")
    kept = cut.removesuffix(" …").split()
    assert kept == text.split()[: len(kept)]  # every word kept is a whole word of the text
