"""The opt-in similarity lookup (level 2): precision on paraphrases and hard negatives.

A similarity hit serves the cached analysis of a near-identical task. It is *correct* when the
served analysis has the decomposition pattern of a fresh analysis of the query (task type,
complexity, structural signature, estimated steps) and the same data (quoted strings, numbers,
paths). The test set: bases built from templates over the demo tool domains; paraphrases
that only add politeness, change case or add an inert word; hard negatives that differ from
their base by exactly one verb.
"""

from __future__ import annotations

import random
from dataclasses import replace

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.autonomous import lexicon
from mcp_agent_otel.autonomous.models import Complexity
from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer, analyze_task
from mcp_agent_otel.caching.cache_manager import decomposition_pattern
from mcp_agent_otel.tracing import semconv
from tests.caching.conftest import CacheFactory
from tests.caching.test_cache_manager import analyze_span, cache_attrs

ENV = "env-a"
_TEMPLATES = [
    ("{verb} the knowledge base for {topic}", ["search", "query", "browse", "list"]),
    ('{verb} the text "{sentence}"', ["summarize", "translate", "count", "analyze", "sort"]),
    ("{verb} {n} kilometers to miles", ["convert", "calculate", "compare", "plot"]),
    ("{verb} the file notes-{n}.txt and then summarize it", ["read", "delete", "write", "open"]),
    ("{verb} the numbers {n}, {m} and 7", ["sort", "sum", "average", "plot", "filter"]),
    ("{verb} the term {topic} and email it to the team", ["define", "explain", "search"]),
]
_TOPICS = ["OpenTelemetry", "span links", "tail sampling", "baggage", "MCP tools", "exemplars"]
_SENTENCES = ["latency is a distribution", "caches trade memory for time", "spans have parents"]


def build_set(seed: int = 1) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    rng = random.Random(seed)
    bases: list[str] = []
    paraphrases: list[tuple[str, str]] = []
    negatives: list[tuple[str, str]] = []
    for template, verbs in _TEMPLATES:
        for _ in range(12):
            verb = rng.choice(verbs)
            values = {
                "topic": rng.choice(_TOPICS),
                "sentence": rng.choice(_SENTENCES),
                "n": rng.randint(2, 500),
                "m": rng.randint(2, 500),
            }
            base = template.format(verb=verb.capitalize(), **values)
            if base in bases:
                continue
            bases.append(base)
            paraphrases += [
                (base, "Please " + base[0].lower() + base[1:]),
                (base, base.lower() if '"' not in base else "Kindly " + base),
                (base, base + ", please"),
            ]
            other = rng.choice([v for v in verbs if v != verb])
            negatives.append((base, template.format(verb=other.capitalize(), **values)))
    return bases, paraphrases, negatives


def data_of(text: str) -> tuple[object, ...]:
    return (
        tuple(lexicon.quoted_strings(text)),
        tuple(lexicon.find_numbers(lexicon.mask_quotes(text))),
        tuple(lexicon.find_paths(text)),
    )


def test_precision_on_paraphrases_and_hard_negatives(
    make_cache: CacheFactory, spans: InMemorySpanExporter
) -> None:
    bases, paraphrases, negatives = build_set()
    assert len(bases) >= 50
    assert len(negatives) == len(bases)
    analyzer = TaskAnalyzer(cache=make_cache(similarity=0.9))
    for base in bases:
        analyzer.analyze(base, ENV)

    hits = correct = paraphrase_hits = negative_hits = 0
    for kind, pairs in (("paraphrase", paraphrases), ("negative", negatives)):
        for _, query in pairs:
            spans.clear()
            served = analyzer.analyze(query, ENV)
            attrs = cache_attrs(analyze_span(spans))
            if attrs[semconv.CACHE_LEVEL] != 2:
                assert served == analyze_task(query)  # everything else is exact
                continue
            assert attrs[semconv.CACHE_HIT] is True
            assert float(attrs[semconv.CACHE_SIMILARITY]) >= 0.9  # type: ignore[arg-type]
            hits += 1
            fresh = analyze_task(query)
            ok = decomposition_pattern(served) == decomposition_pattern(fresh) and data_of(
                " ".join(s.text for s in served.subtasks)
            ) == data_of(" ".join(s.text for s in fresh.subtasks))
            correct += ok
            if kind == "paraphrase":
                paraphrase_hits += 1
            else:
                negative_hits += 1
    precision = correct / hits if hits else 1.0
    recall = paraphrase_hits / len(paraphrases)
    print(
        f"\nsimilarity: {hits} hits, precision {precision:.3f}, paraphrase recall {recall:.2f},"
        f" hard-negative hits {negative_hits}/{len(negatives)}"
    )
    assert negative_hits == 0
    assert precision >= 0.99
    assert recall >= 0.5  # paraphrases do get served


def test_off_by_default_and_exact_lookups_unchanged(
    make_cache: CacheFactory, spans: InMemorySpanExporter
) -> None:
    analyzer = TaskAnalyzer(cache=make_cache())
    analyzer.analyze("Search the knowledge base for OpenTelemetry", ENV)
    spans.clear()
    served = analyzer.analyze("Please search the knowledge base for OpenTelemetry", ENV)
    assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] == "miss"
    assert served == analyze_task("Please search the knowledge base for OpenTelemetry")


def test_a_shape_seen_with_two_patterns_is_never_served(
    make_cache: CacheFactory, spans: InMemorySpanExporter
) -> None:
    """Level 2 serves a shape only while all its tasks had one decomposition pattern. Here a
    compute function that disagrees with the analyzer for one task (as a changed analyzer
    might) makes the shape ambiguous; a near-identical task is then computed, not served."""
    cache = make_cache(similarity=0.85)
    base = "Search the knowledge base for OpenTelemetry"
    cache.fetch(base, ENV, analyze_task)
    odd = base + " quickly"
    cache.fetch(odd, ENV, lambda t: replace(analyze_task(t), complexity=Complexity.VERY_COMPLEX))
    assert cache.stats()["by_kind"] == {"analysis": 2, "pattern": 1}
    spans.clear()
    query = "Please search the knowledge base for OpenTelemetry"
    assert TaskAnalyzer(cache=cache).analyze(query, ENV) == analyze_task(query)
    assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] == "miss"
