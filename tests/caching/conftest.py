"""Fixtures for the analysis cache tests: real diskcache directories under tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_agent_otel.caching.cache_manager import AnalysisCache, CacheSettings

CacheFactory = Callable[..., AnalysisCache]


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def make_cache(cache_dir: Path) -> Iterator[CacheFactory]:
    """Build caches over ``cache_dir`` (or ``directory=``); all closed at the end of the test."""
    made: list[AnalysisCache] = []

    def make(directory: Path | None = None, **settings: Any) -> AnalysisCache:
        kwargs = {
            k: settings.pop(k)
            for k in ("clock", "analyzer_version", "meter_provider")
            if k in settings
        }
        cache = AnalysisCache(CacheSettings(directory=directory or cache_dir, **settings), **kwargs)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        cache.close()
