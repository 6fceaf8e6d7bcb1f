"""The opt-in similarity lookup (level 2): precision on paraphrases and hard negatives.

A similarity hit serves the cached analysis of a near-identical task. It is *correct* when it
leads to what a fresh analysis of the query leads to downstream: the same decomposition
pattern (task type, complexity, structural signature, estimated steps) and data (quoted
strings, numbers, paths), and — planned by the real DecisionEngine functions over the real
demo catalogue, listed from the bundled servers over stdio — the same execution pattern, the
same tools and fallbacks per subtask, the same confidences and the same planned arguments.
Arguments are compared exactly except in what the lookup tolerates by design: in string
values, case, politeness words and the inflection of words (a hit for "search ... MCP tool"
may plan the query "MCP tools"); how many hits agree letter for letter is printed too.

The test set, at the lowest threshold the settings accept (0.85, the worst case for precision):
bases built from templates over the demo tool domains, short ones and long ones with many
content words; paraphrases that only add politeness, change case or make one noun plural; hard
negatives that differ from their base by exactly one verb, by exactly one noun among many
(the reviewer's "helm chart sampling" for "helm chart baggage") or by two nouns swapped.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.autonomous import lexicon
from mcp_agent_otel.autonomous.decision_engine import ToolIndex, build_index, plan_decision
from mcp_agent_otel.autonomous.models import Complexity, TaskAnalysis
from mcp_agent_otel.autonomous.task_analyzer import TaskAnalyzer, analyze_task
from mcp_agent_otel.caching.cache_manager import decomposition_pattern
from mcp_agent_otel.caching.cache_settings import MIN_SIMILARITY
from mcp_agent_otel.caching.task_similarity import POLITENESS_WORDS
from mcp_agent_otel.tracing import semconv
from tests.autonomous.test_decision_engine import _list_demo_tools
from tests.caching.conftest import CacheFactory
from tests.caching.test_cache_manager import analyze_span, cache_attrs

ENV = "env-a"
THRESHOLD = MIN_SIMILARITY

# Short templates: each base gets a hard negative with one other verb.
_VERB_TEMPLATES = [
    ("{verb} the knowledge base for {topic}", ["search", "query", "browse", "list"]),
    ('{verb} the text "{sentence}"', ["summarize", "translate", "count", "analyze", "sort"]),
    ("{verb} {n} kilometers to miles", ["convert", "calculate", "compare", "plot"]),
    ("{verb} the file notes-{n}.txt and then summarize it", ["read", "delete", "write", "open"]),
    ("{verb} the numbers {n}, {m} and 7", ["sort", "sum", "average", "plot", "filter"]),
    ("{verb} the term {topic} and email it to the team", ["define", "explain", "search"]),
]
_TOPICS = ["OpenTelemetry", "span links", "tail sampling", "baggage", "MCP tools", "exemplars"]
_SENTENCES = ["latency is a distribution", "caches trade memory for time", "spans have parents"]

# Long templates: each base gets a hard negative with one other noun among many content words,
# and a paraphrase with that noun in the plural.
_NOUN_TEMPLATES = [
    "Search the knowledge base for runbook notes on collector deployment, exporter retry "
    "budgets, batch queue sizing, memory limiter tuning and helm chart {noun} settings",
    "Define the term {noun} as used in collector pipeline configuration, gateway deployment "
    "topology and tail based trace retention policy documents",
    "Summarize the knowledge base articles about checkout latency regressions, payment gateway "
    "timeouts, connection pool exhaustion and {noun} misconfiguration incidents",
    "Search the knowledge base for {noun}",
]
_NOUNS = ["sampler", "exporter", "receiver", "processor", "propagator", "exemplar", "dashboard"]
# Two nouns swapped: the same content words in another order.
_SWAP_TEMPLATE = "Search the knowledge base for {a} settings of the {b}"
# The reviewer's case, literally.
_REVIEWED = (
    "Search the knowledge base for runbook notes on collector deployment, exporter retry "
    "budgets, batch queue sizing, memory limiter tuning and helm chart {} settings"
)

Pairs = list[tuple[str, str]]


def build_set(seed: int = 1) -> tuple[list[str], Pairs, Pairs]:
    rng = random.Random(seed)
    bases: list[str] = []
    paraphrases: Pairs = []
    negatives: Pairs = []

    def add_base(base: str) -> bool:
        if base in bases:
            return False
        bases.append(base)
        paraphrases.extend(
            [
                (base, "Please " + base[0].lower() + base[1:]),
                (base, base.lower() if '"' not in base else "Kindly " + base),
                (base, base + ", please"),
            ]
        )
        return True

    for template, verbs in _VERB_TEMPLATES:
        for _ in range(12):
            verb = rng.choice(verbs)
            values = {
                "topic": rng.choice(_TOPICS),
                "sentence": rng.choice(_SENTENCES),
                "n": rng.randint(2, 500),
                "m": rng.randint(2, 500),
            }
            if add_base(template.format(verb=verb.capitalize(), **values)):
                other = rng.choice([v for v in verbs if v != verb])
                negatives.append((bases[-1], template.format(verb=other.capitalize(), **values)))
    for template in _NOUN_TEMPLATES:
        for noun in _NOUNS:
            base = template.format(noun=noun)
            add_base(base)
            paraphrases.append((base, template.format(noun=noun + "s")))
            for other in rng.sample([n for n in _NOUNS if n != noun], 2):
                negatives.append((base, template.format(noun=other)))
    for a, b in pairwise(_NOUNS):
        base = _SWAP_TEMPLATE.format(a=a, b=b)
        add_base(base)
        negatives.append((base, _SWAP_TEMPLATE.format(a=b, b=a)))
    add_base(_REVIEWED.format("baggage"))
    negatives.append((_REVIEWED.format("baggage"), _REVIEWED.format("sampling")))
    return bases, paraphrases, negatives


def data_of(analysis: TaskAnalysis) -> tuple[object, ...]:
    text = " ".join(s.text for s in analysis.subtasks)
    return (
        tuple(lexicon.quoted_strings(text)),
        tuple(lexicon.find_numbers(lexicon.mask_quotes(text))),
        tuple(lexicon.find_paths(text)),
    )


def _tolerant(value: Any) -> Any:
    """A JSON value with each string reduced to its word stems, politeness words left out."""
    if isinstance(value, str):
        return tuple(lexicon.stem(t) for t in lexicon.tokenize(value) if t not in POLITENESS_WORDS)
    if isinstance(value, dict):
        return tuple(sorted((k, _tolerant(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_tolerant(v) for v in value)
    return value


def decision_of(analysis: TaskAnalysis, index: ToolIndex, *, exact: bool) -> tuple[object, ...]:
    """What the DecisionEngine does with ``analysis``: pattern, tools, fallbacks, confidences and
    planned arguments (exactly, or up to case, politeness and inflection)."""
    decision = plan_decision(analysis, index)

    def args(text: str) -> object:
        return text if exact else _tolerant(json.loads(text))

    return (
        decision.pattern,
        round(decision.confidence, 4),
        tuple((u.subtask_index, u.reason, u.closest) for u in decision.unmatched),
        tuple(
            (
                step.subtask_index,
                step.tool,
                step.fallbacks,
                round(step.confidence, 4),
                args(step.arguments),
                tuple(args(a) for a in step.fallback_arguments),
            )
            for step in decision.steps
        ),
    )


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> ToolIndex:
    """The index of the bundled demo servers' real catalogue, listed over stdio."""
    home: Path = tmp_path_factory.mktemp("demo-home")
    return build_index(asyncio.run(_list_demo_tools(home)))


def test_precision_on_paraphrases_and_hard_negatives(
    make_cache: CacheFactory, spans: InMemorySpanExporter, demo_index: ToolIndex
) -> None:
    bases, paraphrases, negatives = build_set()
    assert len(bases) >= 90
    assert len(negatives) > len(bases)
    # The hard negatives do lead elsewhere: most to another decision, all to other analyses.
    assert all(analyze_task(a) != analyze_task(b) for a, b in negatives)
    analyzer = TaskAnalyzer(cache=make_cache(similarity=THRESHOLD))
    for base in bases:
        analyzer.analyze(base, ENV)

    hits = correct = exact = paraphrase_hits = 0
    served_negatives: list[str] = []
    for kind, pairs in (("paraphrase", paraphrases), ("negative", negatives)):
        for _, query in pairs:
            spans.clear()
            served = analyzer.analyze(query, ENV)
            attrs = cache_attrs(analyze_span(spans))
            if attrs[semconv.CACHE_LEVEL] != 2:
                assert served == analyze_task(query)  # everything else is exact
                continue
            assert attrs[semconv.CACHE_HIT] is True
            assert float(attrs[semconv.CACHE_SIMILARITY]) >= THRESHOLD  # type: ignore[arg-type]
            hits += 1
            fresh = analyze_task(query)
            correct += (
                decomposition_pattern(served) == decomposition_pattern(fresh)
                and data_of(served) == data_of(fresh)
                and decision_of(served, demo_index, exact=False)
                == decision_of(fresh, demo_index, exact=False)
            )
            exact += decision_of(served, demo_index, exact=True) == decision_of(
                fresh, demo_index, exact=True
            )
            if kind == "paraphrase":
                paraphrase_hits += 1
            else:
                served_negatives.append(query)
    precision = correct / hits if hits else 1.0
    recall = paraphrase_hits / len(paraphrases)
    print(
        f"\nsimilarity at {THRESHOLD}: {len(bases)} bases, {hits} hits, precision"
        f" {precision:.3f} ({exact} of {hits} with letter-for-letter equal decisions),"
        f" paraphrase recall {recall:.2f} ({paraphrase_hits}/{len(paraphrases)}),"
        f" hard-negative hits {len(served_negatives)}/{len(negatives)}"
    )
    assert served_negatives == []
    assert precision >= 0.99
    assert recall >= 0.5  # paraphrases do get served


def test_one_noun_among_many_is_never_served(
    make_cache: CacheFactory, spans: InMemorySpanExporter
) -> None:
    """The reviewer's case: at the lowest threshold, "... helm chart sampling settings" must not
    be answered by the analysis of "... helm chart baggage settings", while the same task with
    politeness, another case or a plural is."""
    analyzer = TaskAnalyzer(cache=make_cache(similarity=THRESHOLD))
    analyzer.analyze(_REVIEWED.format("baggage"), ENV)
    for query, served in [
        (_REVIEWED.format("sampling"), False),
        ("Please " + _REVIEWED.format("baggage").lower(), True),
        (_REVIEWED.format("baggage").replace("budgets", "budget"), True),
    ]:
        spans.clear()
        assert analyzer.analyze(query, ENV) is not None
        assert cache_attrs(analyze_span(spans))[semconv.CACHE_HIT] is served, query


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
    odd = "Search the knowledge base for Grafana"  # same shape, other content: computed
    cache.fetch(odd, ENV, lambda t: replace(analyze_task(t), complexity=Complexity.VERY_COMPLEX))
    assert cache.stats()["by_kind"] == {"analysis": 2, "pattern": 1}
    spans.clear()
    query = "Please search the knowledge base for OpenTelemetry"
    assert TaskAnalyzer(cache=cache).analyze(query, ENV) == analyze_task(query)
    assert cache_attrs(analyze_span(spans))[semconv.CACHE_RESULT] == "miss"
