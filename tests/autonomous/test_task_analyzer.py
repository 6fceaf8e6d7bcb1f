"""TaskAnalyzer: exact analyses of realistic tasks, whole-token matching, properties, bad input,
and the ``task_analyzer.analyze`` span."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mcp_agent_otel.autonomous import task_analyzer
from mcp_agent_otel.autonomous.errors import InvalidTaskError
from mcp_agent_otel.autonomous.lexicon import stem, word_set
from mcp_agent_otel.autonomous.models import (
    Complexity,
    ExecutionPattern,
    Intent,
    TaskAnalysis,
    TaskType,
    ToolCategory,
)
from mcp_agent_otel.autonomous.task_analyzer import (
    DEFAULT_MAX_TASK_CHARS,
    PATTERN_WORDS,
    STEERING_STEMS,
    STEERING_WORDS,
    AnalysisCacheProtocol,
    TaskAnalyzer,
    analyze_task,
    max_task_chars,
    normalize_task,
    structural_signature,
    validate_task,
)
from mcp_agent_otel.tracing import semconv

S, T, M, D, F, W, C, Q, TM, G = (
    ToolCategory.SEARCH,
    ToolCategory.TEXT,
    ToolCategory.MATH,
    ToolCategory.DATA,
    ToolCategory.FILE,
    ToolCategory.WEB,
    ToolCategory.CODE,
    ToolCategory.COMMUNICATION,
    ToolCategory.TIME,
    ToolCategory.GENERAL,
)
P = ExecutionPattern

# task -> (type, complexity, pattern, [(subtask text, capabilities, depends_on), ...])
CASES: list[tuple[str, TaskType, Complexity, ExecutionPattern, list[tuple[str, tuple, tuple]]]] = [
    (
        "Search the knowledge base for span kind",
        TaskType.INFORMATION_RETRIEVAL,
        Complexity.SIMPLE,
        P.DIRECT,
        [("Search the knowledge base for span kind", (S,), ())],
    ),
    (
        "What is a traceparent?",
        TaskType.INFORMATION_RETRIEVAL,
        Complexity.SIMPLE,
        P.DIRECT,
        [("What is a traceparent?", (S,), ())],
    ),
    (
        "Research the history of distributed tracing and compare the approaches",
        TaskType.RESEARCH,
        Complexity.MODERATE,
        P.SEQUENTIAL,
        [
            ("Research the history of distributed tracing", (S,), ()),
            ("compare the approaches", (G,), (0,)),
        ],
    ),
    (
        "Search for OpenTelemetry sampling, then summarize the results in 2 sentences.",
        TaskType.INFORMATION_RETRIEVAL,
        Complexity.MODERATE,
        P.SEQUENTIAL,
        [
            ("Search for OpenTelemetry sampling", (S,), ()),
            ("summarize the results in 2 sentences", (T,), (0,)),
        ],
    ),
    (
        "Calculate the mean of 4, 8, 15 and count the words in 'to be or not to be'",
        TaskType.DATA_ANALYSIS,
        Complexity.MODERATE,
        P.PARALLEL,
        [
            ("Calculate the mean of 4, 8, 15", (M, D), ()),
            ("count the words in 'to be or not to be'", (T,), ()),
        ],
    ),
    (
        "Read reports/latency_ms.csv, then compute statistics of the p95 column and save them "
        "to reports/p95.txt",
        TaskType.FILE_OPERATIONS,
        Complexity.MODERATE,
        P.SEQUENTIAL,
        [
            ("Read reports/latency_ms.csv", (F,), ()),
            ("compute statistics of the p95 column", (D, M), (0,)),
            ("save them to reports/p95.txt", (F,), (1,)),
        ],
    ),
    (
        "Write 'hello world' to out/greeting.txt, then read out/greeting.txt",
        TaskType.FILE_OPERATIONS,
        Complexity.MODERATE,
        P.SEQUENTIAL,
        [
            ("Write 'hello world' to out/greeting.txt", (F,), ()),
            ("read out/greeting.txt", (F,), (0,)),  # the file the previous step wrote
        ],
    ),
    (
        "1. Search for caching\n2. Search for sampling\n3. Compare them",
        TaskType.INFORMATION_RETRIEVAL,
        Complexity.COMPLEX,
        P.ORCHESTRATOR,
        [
            ("Search for caching", (S,), ()),
            ("Search for sampling", (S,), ()),
            ("Compare them", (G,), (0, 1)),  # "them": both searches
        ],
    ),
    (
        "Please do the following:\n- count the words in 'hello big world'\n"
        "- convert 'hello' to uppercase",
        TaskType.DATA_ANALYSIS,
        Complexity.MODERATE,
        P.PARALLEL,
        [
            ("count the words in 'hello big world'", (T,), ()),
            ("convert 'hello' to uppercase", (T, M), ()),
        ],
    ),
    (
        "First, list the files in the sandbox. Second, read README.txt. Finally, compute "
        "statistics of 3, 5, 7.",
        TaskType.FILE_OPERATIONS,
        Complexity.MODERATE,
        P.SEQUENTIAL,  # ordered by the user, though no step consumes another's output
        [
            ("list the files in the sandbox", (F,), ()),
            ("read README.txt", (F,), ()),
            ("compute statistics of 3, 5, 7", (D, M), ()),
        ],
    ),
    (
        "Search for span kind. Search for sampling. Search for caching. Then compare the "
        "results and write a report to out/report.md.",
        TaskType.INFORMATION_RETRIEVAL,
        Complexity.COMPLEX,
        P.ORCHESTRATOR,
        [
            ("Search for span kind", (S,), ()),
            ("Search for sampling", (S,), ()),
            ("Search for caching", (S,), ()),
            ("compare the results", (G,), (0, 1, 2)),
            ("write a report to out/report.md", (F,), (3,)),
        ],
    ),
    (
        "Summarize this text: OpenTelemetry is a framework. It collects traces. It is vendor "
        "neutral.",
        TaskType.CONTENT_CREATION,
        Complexity.SIMPLE,
        P.DIRECT,
        [
            (
                "Summarize this text: OpenTelemetry is a framework. It collects traces. It is "
                "vendor neutral",
                (T,),
                (),
            )
        ],
    ),
    (
        "Write a haiku about tracing and refine it until it has 17 syllables",
        TaskType.CONTENT_CREATION,
        Complexity.MODERATE,
        P.EVALUATOR_OPTIMIZER,
        [
            ("Write a haiku about tracing", (T, F), ()),
            ("refine it until it has 17 syllables", (G,), (0,)),
        ],
    ),
    (
        "Either translate 'bonjour' to English or summarize it, depending on its length",
        TaskType.CONTENT_CREATION,
        Complexity.SIMPLE,
        P.ROUTER,
        [
            (
                "Either translate 'bonjour' to English or summarize it, depending on its length",
                (T,),
                (),
            )
        ],
    ),
    (
        "Brainstorm ideas with several agents and debate the best perspectives",
        TaskType.CONTENT_CREATION,
        Complexity.MODERATE,
        P.SWARM,
        [
            ("Brainstorm ideas with several agents", (G,), ()),
            ("debate the best perspectives", (G,), ()),
        ],
    ),
    (
        "Find the current time in UTC and calculate 12 * 7",
        TaskType.INFORMATION_RETRIEVAL,
        Complexity.MODERATE,
        P.PARALLEL,
        [("Find the current time in UTC", (TM,), ()), ("calculate 12 * 7", (M,), ())],
    ),
    (
        "Draft a project roadmap with milestones and a deadline for the Q3 release",
        TaskType.PROJECT_MANAGEMENT,
        Complexity.SIMPLE,
        P.DIRECT,
        [
            (
                "Draft a project roadmap with milestones and a deadline for the Q3 release",
                (ToolCategory.PROJECT,),
                (),
            )
        ],
    ),
    (
        "Why does sampling lose traces? Explain the reasoning.",
        TaskType.REASONING,
        Complexity.MODERATE,
        P.SEQUENTIAL,
        [("Why does sampling lose traces?", (S,), ()), ("Explain the reasoning", (G,), (0,))],
    ),
    (
        "Fix the bug in the python function and run the unit tests",
        TaskType.CODE_DEVELOPMENT,
        Complexity.MODERATE,
        P.PARALLEL,
        [("Fix the bug in the python function", (C,), ()), ("run the unit tests", (C,), ())],
    ),
    (
        "Scrape https://example.com/news and save it to news.html",
        TaskType.WEB_AUTOMATION,
        Complexity.MODERATE,
        P.SEQUENTIAL,
        [("Scrape https://example.com/news", (W,), ()), ("save it to news.html", (F,), (0,))],
    ),
    (
        "Email the summary to the team",
        TaskType.COMMUNICATION,
        Complexity.SIMPLE,
        P.DIRECT,
        [("Email the summary to the team", (Q, T), ())],
    ),
]


@pytest.mark.parametrize(("task", "task_type", "complexity", "pattern", "subtasks"), CASES)
def test_realistic_tasks(
    task: str,
    task_type: TaskType,
    complexity: Complexity,
    pattern: ExecutionPattern,
    subtasks: list[tuple[str, tuple[ToolCategory, ...], tuple[int, ...]]],
) -> None:
    analysis = analyze_task(task)
    got = [(s.text, s.capabilities, s.depends_on) for s in analysis.subtasks]
    assert got == subtasks
    assert [s.index for s in analysis.subtasks] == list(range(len(subtasks)))
    assert (analysis.task_type, analysis.complexity, analysis.pattern) == (
        task_type,
        complexity,
        pattern,
    )
    assert 0.0 <= analysis.confidence <= 1.0
    assert analysis.estimated_steps == len(subtasks) + (pattern is P.EVALUATOR_OPTIMIZER)


def test_whole_tokens_only() -> None:
    """ "and" never splits inside "understand", "then" never inside "strengthen", and
    "research" is not "search"."""
    one = analyze_task("Help me understand and strengthen the research notes")
    assert [s.text for s in one.subtasks] == [
        "Help me understand and strengthen the research notes"
    ]
    assert analyze_task("Research the causes of the outage").task_type is TaskType.RESEARCH
    assert (
        analyze_task("Search the causes of the outage").task_type is TaskType.INFORMATION_RETRIEVAL
    )
    assert analyze_task("Look for andromeda then summarize it").subtasks[1].text == "summarize it"


def test_and_splits_only_before_a_verb() -> None:
    assert len(analyze_task("Compute the mean and median of 3, 5 and 8").subtasks) == 1
    assert len(analyze_task("Find the sum and count of 3, 5, 8").subtasks) == 1  # "count of"
    steps = analyze_task("Compute the mean of 3, 5, 8 and sort 4, 1, 2").subtasks
    assert [s.text for s in steps] == ["Compute the mean of 3, 5, 8", "sort 4, 1, 2"]
    merged = analyze_task("Search and summarize articles about tracing").subtasks
    assert [s.text for s in merged] == ["Search and summarize articles about tracing"]


@pytest.mark.parametrize(
    ("task", "steps"),
    [
        (
            "List the files in the sandbox and then show the git status",
            [
                ("List the files in the sandbox", Intent.READ, ()),
                ("show the git status", Intent.READ, ()),
            ],
        ),
        (
            "What time is it in UTC and echo done",
            [("What time is it in UTC", Intent.READ, ()), ("echo done", Intent.READ, ())],
        ),
        (
            "Create an entity called Bob of type person, then search memory for Bob",
            [
                ("Create an entity called Bob of type person", Intent.WRITE, ()),
                ("search memory for Bob", Intent.READ, ()),
            ],
        ),
        (
            "Write 'hi' to a.txt and then read it back",
            [("Write 'hi' to a.txt", Intent.WRITE, ()), ("read it back", Intent.READ, (0,))],
        ),
        (
            "Write 'hi' to b.txt and then read b.txt",
            [("Write 'hi' to b.txt", Intent.WRITE, ()), ("read b.txt", Intent.READ, (0,))],
        ),
        ("Delete the entity Alice", [("Delete the entity Alice", Intent.DELETE, ())]),
        # one tool's work: no split
        ("Add 5 and 7", [("Add 5 and 7", Intent.READ, ())]),
        ("Echo hello and goodbye", [("Echo hello and goodbye", Intent.READ, ())]),
        ("Read notes.txt and todo.txt", [("Read notes.txt and todo.txt", Intent.READ, ())]),
    ],
)
def test_steps_and_their_intents(
    task: str, steps: list[tuple[str, Intent, tuple[int, ...]]]
) -> None:
    """Issue 10: "X and Y", "X, then Y", "X and then Y" split when the parts are two actions;
    each step has the intent its wording gives; a step that refers back depends on it."""
    got = [(s.text, s.intent, s.depends_on) for s in analyze_task(task).subtasks]
    assert got == steps


def test_quoted_text_is_data() -> None:
    analysis = analyze_task("Count the words in 'first search, then summarize. And then email it'")
    assert len(analysis.subtasks) == 1
    assert analysis.subtasks[0].capabilities == (T,)
    assert analysis.keywords == ("count", "words")


def test_sentence_punctuation_that_is_not_a_boundary() -> None:
    steps = analyze_task("Calculate 3.5 * 2, e.g. for a quick check. Then read notes.txt").subtasks
    assert [s.text for s in steps] == [
        "Calculate 3.5 * 2, e.g. for a quick check",
        "read notes.txt",
    ]


def test_conditional_then_is_one_step() -> None:
    steps = analyze_task("If the file exists, then read notes.txt").subtasks
    assert [s.text for s in steps] == ["If the file exists, then read notes.txt"]
    steps = analyze_task("Read a.txt. If it is long, then summarize it").subtasks
    assert [(s.text, s.depends_on) for s in steps] == [
        ("Read a.txt", ()),
        ("If it is long, then summarize it", (0,)),
    ]


def test_leading_words_without_a_verb_join_the_next_step_only() -> None:
    steps = analyze_task("The report is in notes.txt. Summarize it. Count the words in 'a b'.")
    assert [s.text for s in steps.subtasks] == [
        "The report is in notes.txt. Summarize it",
        "Count the words in 'a b'",
    ]


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("It is nice. " * 1660, 1),
        ("Search for spans. " * 1111, 1111),
        ("search x and " * 1538, 1538),
        ("count\n" * 3333, 3333),
        ("'a' " * 5000, 1),
        ("1, " * 6666, 1),
        ("a.txt " * 3333, 1),
    ],
)
def test_largest_tasks_are_analysed(text: str, steps: int) -> None:
    """Tasks at the size limit, shaped to provoke quadratic work (a regression made the first
    one take 27 s), are analysed; pytest-timeout guards the time."""
    text = text[:DEFAULT_MAX_TASK_CHARS]
    assert len(analyze_task(text).subtasks) == steps


def test_inline_enumeration_needs_a_run_from_one() -> None:
    steps = analyze_task("Do this: 1) search for spans 2) count the words in 'a b'").subtasks
    assert [s.text for s in steps] == ["search for spans", "count the words in 'a b'"]
    single = analyze_task("Add 2. Then multiply by 3").subtasks
    assert [s.text for s in single] == ["Add 2", "multiply by 3"]


def test_a_list_of_data_belongs_to_the_line_that_introduces_it() -> None:
    steps = analyze_task(
        "Summarize the following:\n- spans nest\n- traces cross processes"
    ).subtasks
    assert [s.text for s in steps] == [
        "Summarize the following:\n- spans nest\n- traces cross processes"
    ]


def test_unknown_words_still_give_one_step() -> None:
    analysis = analyze_task("???")
    assert analysis.subtasks[0].text == "???"
    assert analysis.subtasks[0].capabilities == (G,)
    assert analysis.task_type is TaskType.INFORMATION_RETRIEVAL
    assert analysis.confidence < 0.5


def test_keywords_are_content_words_in_order() -> None:
    analysis = analyze_task("First, search for the OpenTelemetry sampler, then summarize it")
    assert analysis.keywords == ("search", "opentelemetry", "sampler", "summarize")


# --- normal form ----------------------------------------------------------------------------------


def test_normalize_task() -> None:
    assert normalize_task("  Search\t for   spans \n\n\n  then   SUMMARIZE  ") == (
        "Search for spans\nthen SUMMARIZE"
    )
    assert normalize_task("Cafe\u0301") == "Café"  # NFC
    assert normalize_task(" \n\t ") == ""


def test_short_normal_forms_are_remembered_and_long_ones_are_not() -> None:
    """Agents repeat tasks, so short tasks' normal forms are kept (128 of them, each at most
    4,096 characters: a bounded memory), giving the same text as computing them afresh."""
    remembered = task_analyzer._remembered_normal_form
    remembered.cache_clear()
    short = "  Read   notes.txt \n\n then  summarize it "
    assert normalize_task(short) == normalize_task(short) == "Read notes.txt\nthen summarize it"
    assert remembered.cache_info().hits == 1
    long = "word " * 1000 + "\n\n" + "x " * 100  # 5,202 characters
    assert normalize_task(long) == ("word " * 1000).strip() + "\n" + ("x " * 100).strip()
    assert remembered.cache_info().currsize == 1  # the long text was not kept
    for n in range(200):
        normalize_task(f"task {n}")
    assert remembered.cache_info().currsize == 128 == remembered.cache_info().maxsize


def test_case_is_kept_because_it_is_data() -> None:
    upper = analyze_task("Read Notes/Report.TXT")
    assert upper.subtasks[0].text == "Read Notes/Report.TXT"
    assert upper != analyze_task("read notes/report.txt")


# --- structural signature -----------------------------------------------------------------------


def test_structural_signature_is_the_shape_without_text() -> None:
    a = analyze_task("Search for caching, then summarize it")
    b = analyze_task("Look up sampling, then summarize the results")
    c = analyze_task("Search for caching and count the words in 'a b c'")
    assert structural_signature(a) == structural_signature(b) == "v1|sequential|2|search<;text<0"
    assert structural_signature(c) == "v1|parallel|2|search<;text<"
    assert "caching" not in structural_signature(a)


def test_steering_words_are_published_for_the_cache() -> None:
    assert {"swarm", "refine", "until", "otherwise"} <= PATTERN_WORDS <= STEERING_WORDS
    assert {"then", "unless", "please", "meanwhile", "finally"} <= STEERING_WORDS
    assert {stem("compare"), stem("save")} <= STEERING_STEMS
    # A word outside every table does not steer: swapping it keeps the shape.
    a = analyze_task("Search for caching, then summarize it")
    b = analyze_task("Search for sampling, then summarize it")
    assert structural_signature(a) == structural_signature(b)


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["", "   ", "\n\t \r\n", "\u2003\u00a0"])
def test_empty_task(task: str) -> None:
    with pytest.raises(InvalidTaskError) as err:
        analyze_task(task)
    assert str(err.value) == "the task is empty: pass the text of what the agent should do"


def test_not_a_string() -> None:
    with pytest.raises(InvalidTaskError, match="the task must be text \\(str\\), got bytes"):
        analyze_task(b"search for spans")  # type: ignore[arg-type]


def test_task_over_the_limit() -> None:
    assert len(analyze_task("a" * DEFAULT_MAX_TASK_CHARS).subtasks) == 1
    with pytest.raises(InvalidTaskError) as err:
        analyze_task("a" * (DEFAULT_MAX_TASK_CHARS + 1))
    assert str(err.value) == (
        "the task is 20,001 characters long, over the limit of 20,000: shorten it, or raise "
        "the limit with MCP_AGENT_OTEL_MAX_TASK_CHARS=<characters>"
    )


def test_a_megabyte_task_is_refused_before_any_work() -> None:
    with pytest.raises(InvalidTaskError, match="1,000,000 characters long"):
        validate_task("search and summarize " * 47_619 + "x" * 1)


def test_limit_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(semconv.ENV_MAX_TASK_CHARS, "30_000")
    assert max_task_chars() == 30_000
    assert analyze_task("b" * 25_000).subtasks[0].text == "b" * 25_000
    monkeypatch.setenv(semconv.ENV_MAX_TASK_CHARS, "10")
    with pytest.raises(InvalidTaskError, match="over the limit of 10"):
        analyze_task("search for spans")
    assert analyze_task("search for spans", max_chars=100).subtasks


@pytest.mark.parametrize("value", ["lots", "0", "-5", "1.5"])
def test_bad_limit_setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(semconv.ENV_MAX_TASK_CHARS, value)
    with pytest.raises(InvalidTaskError) as err:
        analyze_task("search for spans")
    assert str(err.value) == (
        f"MCP_AGENT_OTEL_MAX_TASK_CHARS={value!r} is not a positive whole number of characters: "
        "set it to e.g. 50000, or unset it for the default 20000"
    )


# --- properties -----------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        *sorted(
            word_set(
                "search find read write summarize count calculate then and after that finally "
                "first second it them the results notes.txt 'quoted text' 3 4.5 , . ; ? : - 1. "
                "2. understand research if either refine agents http://x.org/a"
            )
        ),
        "\n",
    ]
)
task_texts = st.one_of(
    st.text(min_size=1, max_size=400),
    st.lists(_WORDS, min_size=1, max_size=40).map(" ".join),
).filter(lambda t: bool(t.strip()))
_PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@_PROPERTY_SETTINGS
@given(task_texts)
def test_analysis_properties(task: str) -> None:
    """Never raises on non-empty text under the limit; deterministic; normalization-invariant;
    indexes in order, dependencies only backwards; confidence in [0, 1]; exact JSON round trip."""
    if not normalize_task(task):
        with pytest.raises(InvalidTaskError):
            analyze_task(task)
        return
    analysis = analyze_task(task)
    assert analyze_task(task) == analysis
    assert analyze_task(normalize_task(task)) == analysis
    assert normalize_task(normalize_task(task)) == normalize_task(task)
    assert 0.0 <= analysis.confidence <= 1.0
    assert analysis.subtasks
    assert analysis.estimated_steps >= len(analysis.subtasks)
    for i, subtask in enumerate(analysis.subtasks):
        assert subtask.index == i
        assert subtask.text
        assert subtask.capabilities
        assert all(0 <= d < i for d in subtask.depends_on)
        assert list(subtask.depends_on) == sorted(set(subtask.depends_on))
    assert TaskAnalysis.from_json(analysis.to_json()) == analysis
    assert TaskAnalysis.from_dict(json.loads(json.dumps(analysis.to_dict()))) == analysis
    if len(analysis.subtasks) == 1:
        assert analysis.pattern in (P.DIRECT, P.ROUTER, P.EVALUATOR_OPTIMIZER)


@_PROPERTY_SETTINGS
@given(task_texts, st.sampled_from([" ", "  ", "\t", "\n", " \n ", "\u00a0"]))
def test_whitespace_variants_analyse_alike(task: str, gap: str) -> None:
    if not normalize_task(task):
        return
    respaced = gap + gap.join(task.split(" ")) + gap
    if normalize_task(respaced) == normalize_task(task):
        assert analyze_task(respaced) == analyze_task(task)


# --- the traced shell ---------------------------------------------------------------------------


def _only_span(spans: InMemorySpanExporter):  # type: ignore[no-untyped-def]
    finished = spans.get_finished_spans()
    assert [s.name for s in finished] == [semconv.SPAN_ANALYZE]
    return finished[0]


def test_analyze_span_without_cache(spans: InMemorySpanExporter) -> None:
    task = "Search for OpenTelemetry sampling, then summarize the results in 2 sentences."
    analysis = TaskAnalyzer().analyze(task, "env-1")
    assert analysis == analyze_task(task)
    span = _only_span(spans)
    assert span.kind is SpanKind.INTERNAL
    assert span.status.status_code is StatusCode.UNSET
    cpu_ms = dict(span.attributes or {})[semconv.CPU_TIME_MS]  # thread CPU time
    assert isinstance(cpu_ms, float)
    assert cpu_ms >= 0.0
    assert dict(span.attributes or {}) == {
        semconv.CPU_TIME_MS: cpu_ms,
        semconv.TASK_LENGTH: len(task),
        semconv.CACHE_HIT: False,
        semconv.CACHE_RESULT: "bypass",
        semconv.TASK_TYPE: "information_retrieval",
        semconv.TASK_COMPLEXITY: "moderate",
        semconv.TASK_SUBTASKS: 2,
        semconv.TASK_CONFIDENCE: analysis.confidence,
        semconv.TASK_PATTERN: "sequential",
    }


def test_analyze_span_records_text_only_on_opt_in(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_CONTENT, "true")
    task = "Count the words in '" + "x " * 300 + "'"
    TaskAnalyzer().analyze(task)
    attributes = dict(_only_span(spans).attributes or {})
    assert attributes[semconv.TASK_TEXT] == task[: semconv.CONTENT_MAX_CHARS]
    assert attributes[semconv.TASK_LENGTH] == len(task)


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ("   ", "the task is empty: pass the text of what the agent should do"),
        ("x" * 20_001, "the task is 20,001 characters long, over the limit of 20,000"),
    ],
)
def test_analyze_span_on_invalid_input(
    spans: InMemorySpanExporter, task: str, message: str
) -> None:
    with pytest.raises(InvalidTaskError, match=message):
        TaskAnalyzer().analyze(task)
    span = _only_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.status.description or "").startswith(message)
    attributes = dict(span.attributes or {})
    assert attributes == {semconv.TASK_LENGTH: len(task), semconv.ERROR_TYPE: "InvalidTaskError"}
    (event,) = span.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"].endswith("InvalidTaskError")


class _DictCache:
    """A minimal in-memory implementation of AnalysisCacheProtocol, to check how TaskAnalyzer
    drives a cache. The real disk cache (diskcache) is tested in tests/caching."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], TaskAnalysis] = {}
        self.calls: list[tuple[str, str]] = []

    def fetch(
        self, task: str, env_fingerprint: str, compute: Callable[[str], TaskAnalysis]
    ) -> TaskAnalysis:
        self.calls.append((task, env_fingerprint))
        key = (normalize_task(task), env_fingerprint)
        if key not in self.entries:
            self.entries[key] = compute(task)
        return self.entries[key]


def test_cache_protocol_is_used(spans: InMemorySpanExporter) -> None:
    cache = _DictCache()
    assert isinstance(cache, AnalysisCacheProtocol)
    analyzer = TaskAnalyzer(cache)
    first = analyzer.analyze("Define   traceparent", "env-1")
    again = analyzer.analyze("Define traceparent", "env-1")
    assert first == again == analyze_task("Define traceparent")
    assert cache.calls == [("Define   traceparent", "env-1"), ("Define traceparent", "env-1")]
    assert len(cache.entries) == 1
    for span in spans.get_finished_spans():
        attributes = dict(span.attributes or {})
        assert semconv.CACHE_RESULT not in attributes  # the cache records its own
        assert attributes[semconv.TASK_TYPE] == "information_retrieval"


def test_invalid_input_never_reaches_the_cache(spans: InMemorySpanExporter) -> None:
    cache = _DictCache()
    with pytest.raises(InvalidTaskError):
        TaskAnalyzer(cache).analyze(" \n ", "env-1")
    assert cache.calls == []
    assert _only_span(spans).status.status_code is StatusCode.ERROR


def test_analyzer_limit_override(spans: InMemorySpanExporter) -> None:
    analyzer = TaskAnalyzer(max_chars=5)
    with pytest.raises(InvalidTaskError, match="over the limit of 5"):
        analyzer.analyze("search for spans")
    assert _only_span(spans).status.status_code is StatusCode.ERROR
