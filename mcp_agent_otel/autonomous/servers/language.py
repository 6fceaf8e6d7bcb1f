"""Word-level language primitives the demo servers share: tokens, stopwords, sentences.

Pure functions, no I/O. The knowledge server ranks with them and the text server
summarizes and extracts keywords with them, so both agree on what a word is.
"""

from __future__ import annotations

import re
from typing import Final

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
# A sentence ends at . ! or ? (possibly followed by closing quotes/brackets) and whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` as a set: how word lists are written here."""
    return frozenset(text.split())


STOPWORDS: Final = word_set(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    one two may might must shall us via per each every many much use used using
    """
)


def words(text: str) -> list[str]:
    """The words of ``text`` in order, lower-cased (apostrophes kept inside words)."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """Words that carry meaning: no stopwords, no single characters."""
    return [w for w in words(text) if len(w) > 1 and w not in STOPWORDS]


def sentences(text: str) -> list[str]:
    """Split ``text`` into sentences (blank lines also end a sentence); empty pieces dropped."""
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        flat = " ".join(paragraph.split())
        pieces.extend(s.strip() for s in _SENTENCE_END.split(flat) if s.strip())
    return pieces


def paragraphs(text: str) -> list[str]:
    """Non-empty blocks of text separated by blank lines."""
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
