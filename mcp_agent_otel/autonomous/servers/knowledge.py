"""Demo MCP server ``knowledge``: search and look up a built-in knowledge base.

Run: ``python -m mcp_agent_otel.autonomous.servers.knowledge`` (stdio).

Tools: search_documents, get_document, list_topics, define_term, find_related. The ranking
is BM25 over titles and texts (pure functions below); results are deterministic.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from mcp_agent_otel.autonomous.servers.corpus import DOCUMENTS, GLOSSARY, Document
from mcp_agent_otel.autonomous.servers.language import content_words, words
from mcp_agent_otel.autonomous.servers.runtime import LOG_LEVEL, serve

NAME = "knowledge"
MAX_RESULTS = 20
_SNIPPET_CHARS = 160
_K1 = 1.2
_B = 0.75

# --- pure core --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    """A BM25 index over documents: term frequencies per document and document frequencies."""

    documents: tuple[Document, ...]
    term_counts: tuple[Counter[str], ...]
    lengths: tuple[int, ...]
    document_frequency: Counter[str]

    @property
    def average_length(self) -> float:
        return sum(self.lengths) / len(self.lengths) if self.lengths else 0.0


def _terms(text: str) -> list[str]:
    return content_words(text)


def build_index(documents: Sequence[Document]) -> Index:
    counts = tuple(Counter(_terms(f"{d.title} {d.title} {d.text}")) for d in documents)
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    return Index(tuple(documents), counts, tuple(sum(c.values()) for c in counts), df)


def bm25_scores(index: Index, query: str) -> list[float]:
    """The BM25 score of every document for ``query`` (0.0 where no term matches)."""
    n = len(index.documents)
    avg = index.average_length or 1.0
    scores = [0.0] * n
    for term in set(_terms(query)):
        df = index.document_frequency.get(term, 0)
        if not df:
            continue
        idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        for i, counts in enumerate(index.term_counts):
            tf = counts.get(term, 0)
            if tf:
                norm = tf * (_K1 + 1) / (tf + _K1 * (1 - _B + _B * index.lengths[i] / avg))
                scores[i] += idf * norm
    return scores


def _snippet(document: Document, query_terms: set[str]) -> str:
    text = document.text
    for sentence in text.split(". "):
        if query_terms & set(words(sentence)):
            text = sentence
            break
    return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1].rstrip() + "…"


def _limit(limit: int) -> int:
    if limit < 1 or limit > MAX_RESULTS:
        raise ToolError(f"limit must be between 1 and {MAX_RESULTS}, got {limit}")
    return limit


def search(index: Index, query: str, limit: int = 5) -> dict[str, Any]:
    """Documents ranked by BM25 for ``query``: id, title, topic, score and a snippet."""
    if not _terms(query):
        raise ToolError(
            "the query has no searchable words: pass words to search for, "
            "e.g. 'trace context propagation'"
        )
    limit = _limit(limit)
    scores = bm25_scores(index, query)
    ranked = sorted(
        (i for i, s in enumerate(scores) if s > 0),
        key=lambda i: (-scores[i], index.documents[i].id),
    )
    query_terms = set(_terms(query))
    results = [
        {
            "id": index.documents[i].id,
            "title": index.documents[i].title,
            "topic": index.documents[i].topic,
            "score": round(scores[i], 4),
            "snippet": _snippet(index.documents[i], query_terms),
        }
        for i in ranked[:limit]
    ]
    return {"query": query, "total_matches": len(ranked), "results": results}


def find_document(documents: Sequence[Document], doc_id: str) -> Document:
    key = doc_id.strip().lower()
    for document in documents:
        if document.id == key:
            return document
    ids = [d.id for d in documents]
    close = difflib.get_close_matches(key, ids, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise ToolError(
        f"no document with id {doc_id!r}: {hint}use search_documents or list_topics to find "
        f"document ids (known ids: {', '.join(ids)})"
    )


def document_dict(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "title": document.title,
        "topic": document.topic,
        "text": document.text,
        "words": len(words(document.text)),
    }


def topics(documents: Sequence[Document]) -> dict[str, Any]:
    by_topic: dict[str, list[str]] = {}
    for document in documents:
        by_topic.setdefault(document.topic, []).append(document.id)
    return {
        "topics": [
            {"topic": topic, "documents": len(ids), "ids": ids}
            for topic, ids in sorted(by_topic.items())
        ]
    }


def _normal_term(term: str) -> str:
    return " ".join(words(term.replace("_", " ")))


def define(glossary: dict[str, tuple[str, tuple[str, ...]]], term: str) -> dict[str, Any]:
    """The glossary definition of ``term`` (case-insensitive; plural forms accepted)."""
    wanted = _normal_term(term)
    if not wanted:
        raise ToolError("the term is empty: pass the word or phrase to define, e.g. 'span'")
    entries = {_normal_term(k): k for k in glossary}
    candidates = [wanted]
    if wanted.endswith("es"):
        candidates.append(wanted[:-2])
    if wanted.endswith("s"):
        candidates.append(wanted[:-1])
    for candidate in candidates:
        if candidate in entries:
            key = entries[candidate]
            definition, see_also = glossary[key]
            return {"term": key, "definition": definition, "see_also": list(see_also)}
    close = difflib.get_close_matches(wanted, list(entries), n=3, cutoff=0.6)
    hint = f"close terms: {', '.join(entries[c] for c in close)}. " if close else ""
    raise ToolError(
        f"no definition for {term!r} in the glossary. {hint}"
        "Try search_documents to find documents that mention it."
    )


def related(index: Index, doc_id: str, limit: int = 3) -> dict[str, Any]:
    """Other documents ranked by BM25 against this document's title and text."""
    document = find_document(index.documents, doc_id)
    limit = _limit(limit)
    scores = bm25_scores(index, f"{document.title} {document.text}")
    ranked = sorted(
        (i for i, s in enumerate(scores) if s > 0 and index.documents[i].id != document.id),
        key=lambda i: (-scores[i], index.documents[i].id),
    )
    return {
        "id": document.id,
        "related": [
            {
                "id": index.documents[i].id,
                "title": index.documents[i].title,
                "score": round(scores[i], 4),
            }
            for i in ranked[:limit]
        ],
    }


# --- MCP server ----------------------------------------------------------------------------------

_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True)
Limit = Annotated[
    int, Field(description=f"maximum number of results, 1 to {MAX_RESULTS}", ge=1, le=MAX_RESULTS)
]
DocId = Annotated[
    str,
    Field(description="document id as returned by search_documents, e.g. 'otel-spans'"),
]


def build_server() -> MCPServer:
    index = build_index(DOCUMENTS)
    server = MCPServer(
        NAME,
        log_level=LOG_LEVEL,
        instructions="Search and look up documents about MCP, OpenTelemetry, tracing, caching "
        "and performance analysis.",
    )

    @server.tool(
        description="Search the knowledge base: find documents matching a query (keywords or "
        "a question) and return the best matches ranked by relevance with ids, titles and "
        "snippets. Use it to look up, research or find information about a topic.",
        annotations=_READ_ONLY,
    )
    def search_documents(
        query: Annotated[
            str, Field(description="what to search for: keywords or a question, e.g. 'span kind'")
        ],
        limit: Limit = 5,
    ) -> dict[str, Any]:
        return search(index, query, limit)

    @server.tool(
        description="Get a document: retrieve (fetch, read, open) the full text of one "
        "knowledge-base document by its id.",
        annotations=_READ_ONLY,
    )
    def get_document(doc_id: DocId) -> dict[str, Any]:
        return document_dict(find_document(index.documents, doc_id))

    @server.tool(
        description="List the topics of the knowledge base with the number and ids of the "
        "documents under each topic. Use it to browse what information is available.",
        annotations=_READ_ONLY,
    )
    def list_topics() -> dict[str, Any]:
        return topics(index.documents)

    @server.tool(
        description="Define a term: look up the definition (meaning) of a technical word or "
        "phrase in the glossary, e.g. 'span', 'traceparent', 'ttl', and the documents that "
        "explain it.",
        annotations=_READ_ONLY,
    )
    def define_term(
        term: Annotated[str, Field(description="the word or phrase to define, e.g. 'sampler'")],
    ) -> dict[str, Any]:
        return define(GLOSSARY, term)

    @server.tool(
        description="Find related documents: recommend other knowledge-base documents similar "
        "to a given document, ranked by relevance.",
        annotations=_READ_ONLY,
    )
    def find_related(doc_id: DocId, limit: Limit = 3) -> dict[str, Any]:
        return related(index, doc_id, limit)

    return server


def main() -> None:
    serve(build_server(), NAME)


if __name__ == "__main__":
    main()
