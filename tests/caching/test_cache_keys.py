"""Keys, normalisation and settings: pure functions, and the equality property.

The property: a cached result equals a fresh analysis of the same input in the same
environment. Hypothesis generates tasks and variants that differ only in what the normal form
removes (whitespace, blank lines, Unicode composition); a variant served from the entry of the
original must equal ``analyze_task(variant)``.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_agent_otel.autonomous.models import TaskAnalysis
from mcp_agent_otel.autonomous.task_analyzer import analyze_task, normalize_task
from mcp_agent_otel.caching.cache_keys import (
    CacheLevel,
    KeyContext,
    entry_key,
    key_version,
    short_key,
    task_digest,
)
from mcp_agent_otel.caching.cache_manager import (
    AnalysisCache,
    CacheConfigError,
    CacheSettings,
    cache_from_env,
    settings_from_env,
)

CTX = KeyContext(version=key_version("1"), env_fingerprint="env-a", generation=0)


def test_every_part_of_the_context_changes_the_key() -> None:
    digest = task_digest("count the words")
    base = entry_key(CTX, CacheLevel.ANALYSIS, digest)
    variants = [
        entry_key(KeyContext(key_version("2"), "env-a", 0), CacheLevel.ANALYSIS, digest),
        entry_key(KeyContext(CTX.version, "env-b", 0), CacheLevel.ANALYSIS, digest),
        entry_key(KeyContext(CTX.version, "env-a", 1), CacheLevel.ANALYSIS, digest),
        entry_key(CTX, CacheLevel.PATTERN, digest),
        entry_key(CTX, CacheLevel.ANALYSIS, task_digest("count the word")),
    ]
    assert len({base, *variants}) == 6
    assert entry_key(CTX, CacheLevel.ANALYSIS, digest) == base  # deterministic


def test_keys_never_hold_the_task_text() -> None:
    key = entry_key(CTX, CacheLevel.ANALYSIS, task_digest("secret project falcon"))
    assert "falcon" not in key
    assert short_key(key).startswith("L1:")
    assert len(short_key(key)) == 3 + 16


_WORDS = st.sampled_from(
    [
        "search",
        "summarize",
        "count",
        "the",
        "words",
        "in",
        "report",
        "'alpha",
        "beta'",
        "then",
        "and",
        "also",
        "convert",
        "5",
        "km",
        "to",
        "miles",
        "read",
        "file",
        "notes.txt",
        "write",
        "save",
        "email",
        "compare",
        "them",
        "it",
        "café",
        "naïve",
    ]
)
_SPACE = st.sampled_from([" ", "  ", "\t", " \t "])


@st.composite
def task_and_variant(draw: st.DrawFn) -> tuple[str, str]:
    lines = draw(st.lists(st.lists(_WORDS, min_size=1, max_size=8), min_size=1, max_size=3))
    task = "\n".join(" ".join(line) for line in lines)
    variant_lines = []
    for line in lines:
        sep = draw(_SPACE)
        variant_lines.append(draw(_SPACE) + sep.join(line) + draw(st.sampled_from(["", " ", "\t"])))
        if draw(st.booleans()):
            variant_lines.append(draw(st.sampled_from(["", "   ", "\t"])))  # a blank line
    variant = "\n".join(variant_lines)
    if draw(st.booleans()):
        variant = unicodedata.normalize("NFD", variant)  # decomposed accents
    return task, variant


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pair=task_and_variant())
def test_a_cached_result_equals_a_fresh_analysis(tmp_path: Path, pair: tuple[str, str]) -> None:
    task, variant = pair
    assert normalize_task(task) == normalize_task(variant)
    cache = AnalysisCache(CacheSettings(directory=tmp_path / "prop-cache"))
    try:
        cache.fetch(task, "env-a", analyze_task)
        computed: list[str] = []

        def compute(text: str) -> TaskAnalysis:
            computed.append(text)
            return analyze_task(text)

        served = cache.fetch(variant, "env-a", compute)
        assert computed == []  # served from the original's entry
        assert served == analyze_task(variant)
    finally:
        cache.close()


def test_normal_form_keeps_what_the_analysis_depends_on() -> None:
    """Case and line breaks change analyses, so they change keys."""
    assert task_digest(normalize_task("Read file A.txt")) != task_digest(
        normalize_task("read file a.txt")
    )
    assert analyze_task("search x\nsummarize it") != analyze_task("search x summarize it")
    assert normalize_task("search x\nsummarize it") != normalize_task("search x summarize it")


# --- settings -------------------------------------------------------------------------------


def test_defaults(tmp_path: Path) -> None:
    s = settings_from_env({"MCP_AGENT_OTEL_HOME": str(tmp_path)})
    assert s.enabled
    assert s.directory == tmp_path / "cache"
    assert s.ttl_s == 300.0
    assert s.max_entries == 1000
    assert s.similarity is None


def test_flags(tmp_path: Path) -> None:
    env = {
        "MCP_AGENT_OTEL_CACHE": "OFF",
        "MCP_AGENT_OTEL_CACHE_DIR": str(tmp_path / "c"),
        "MCP_AGENT_OTEL_CACHE_TTL": "12.5",
        "MCP_AGENT_OTEL_CACHE_MAX_ENTRIES": "50",
        "MCP_AGENT_OTEL_CACHE_SIMILARITY": "0.93",
    }
    s = settings_from_env(env)
    assert (s.enabled, s.directory, s.ttl_s, s.max_entries, s.similarity) == (
        False,
        tmp_path / "c",
        12.5,
        50,
        0.93,
    )
    assert cache_from_env(env) is None
    on = cache_from_env({**env, "MCP_AGENT_OTEL_CACHE": "on"})
    assert isinstance(on, AnalysisCache)
    assert not (tmp_path / "c").exists()  # nothing is opened before first use


@pytest.mark.parametrize(
    ("name", "value", "hint"),
    [
        ("MCP_AGENT_OTEL_CACHE", "maybe", "use 'on' or 'off'"),
        ("MCP_AGENT_OTEL_CACHE_TTL", "-1", "positive number of seconds"),
        ("MCP_AGENT_OTEL_CACHE_TTL", "nan", "positive number of seconds"),
        ("MCP_AGENT_OTEL_CACHE_MAX_ENTRIES", "0", "whole number of entries >= 1"),
        ("MCP_AGENT_OTEL_CACHE_MAX_ENTRIES", "1e3", "whole number"),
        ("MCP_AGENT_OTEL_CACHE_SIMILARITY", "0.5", "between 0.85 and 1.0"),
        ("MCP_AGENT_OTEL_CACHE_SIMILARITY", "high", "'off' (default) or a threshold"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, hint: str) -> None:
    with pytest.raises(CacheConfigError) as info:
        settings_from_env({name: value})
    assert f"{name}={value!r}" in str(info.value)
    assert hint in str(info.value)


def test_cache_dir_that_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("")
    with pytest.raises(CacheConfigError, match=r"MCP_AGENT_OTEL_CACHE_DIR.*not a directory"):
        settings_from_env({"MCP_AGENT_OTEL_CACHE_DIR": str(f)})
