"""The disk-backed TaskAnalyzer cache: ``AnalysisCache`` (the one public facade) and
``cache_from_env`` (the cache the ``MCP_AGENT_OTEL_CACHE*`` settings describe).

Storage is one ``diskcache.Cache`` (SQLite in WAL mode; not FanoutCache, whose timeouts
silently drop writes) in ``$MCP_AGENT_OTEL_HOME/cache`` (mode 0700), shared by the threads
and processes of one machine. Values are JSON only: ``JsonOnlyDisk`` refuses to unpickle a
row (CVE-2025-69872), so a tampered cache cannot run code.

The agent uses no cache unless given one: the application that assembles it (the CLI, the
profiler, a user's script) builds the cache and passes it in —
``MetaCoordinator.from_config(config, cache=cache_from_env())``. The cache plugs into the
agent through ``autonomous.cache_hooks``' Protocols (``fetch``, ``report_outcome``,
``on_environment_change``); ``autonomous`` never imports this package.

TaskAnalyzer opens the ``task_analyzer.analyze`` span and calls ``fetch`` inside it; the
cache records ``mcp_agent.cache.*`` attributes and invalidation events on that span (no
span of its own) and counts hits, misses, evictions and invalidations through the OTel
metrics API. Faults never fail an analysis: it is computed and returned, the span says
``mcp_agent.cache.result=error``, one warning says what happened, and the cache recovers.

This module orchestrates a lookup; the parts live beside it, each behind a typed interface:
``store_policy`` (TTL, LRU bound, generations, tombstones), ``similarity_lookup`` (the
previous-generation probe and the level-2 similar-task lookup), ``store_health`` (opening,
faults, warnings, recovery), ``hot_hits`` (hits served in process), ``lookup_record`` (span
attributes and counters), ``cache_settings``, ``cache_store`` (the JSON-only diskcache store),
``cache_keys``, ``invalidation_strategies``, ``task_similarity`` and ``cache_metrics``. The
names tests and commands use are re-exported here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from diskcache.core import DBNAME
from opentelemetry import metrics, trace

from mcp_agent_otel.autonomous.cache_hooks import EnvironmentSource
from mcp_agent_otel.autonomous.models import TaskAnalysis
from mcp_agent_otel.autonomous.task_analyzer import ANALYZER_VERSION, normalize_task
from mcp_agent_otel.caching.cache_keys import (
    CacheLevel,
    KeyContext,
    Normalizer,
    entry_key,
    key_version,
    task_digest,
)
from mcp_agent_otel.caching.cache_metrics import CacheMetrics
from mcp_agent_otel.caching.cache_settings import (
    DEFAULT_MAX_ENTRIES,
    DEFAULT_TTL_S,
    CacheConfigError,
    CacheSettings,
    settings_from_env,
)
from mcp_agent_otel.caching.cache_store import (
    JsonOnlyDisk,
    UnsafeRowError,
    classify_fault,
    directory_bytes,
)
from mcp_agent_otel.caching.hot_hits import HotHits, change_token
from mcp_agent_otel.caching.invalidation_strategies import (
    CacheResult,
    InvalidationReason,
    outcome_reason,
    verdict,
)
from mcp_agent_otel.caching.lookup_record import Lookup, record
from mcp_agent_otel.caching.similarity_lookup import SimilarityLookup, decomposition_pattern
from mcp_agent_otel.caching.store_health import CacheUnavailableError, StoreFault, StoreHealth
from mcp_agent_otel.caching.store_policy import StorePolicy
from mcp_agent_otel.errors import AgentError

MAX_TASK_CHARS: Final = 16_384  # longer tasks are analysed but not cached (bypass)

Compute = Callable[[str], TaskAnalysis]


def cache_from_env(environ: Mapping[str, str] | None = None) -> AnalysisCache | None:
    """The cache the environment asks for, or None when ``MCP_AGENT_OTEL_CACHE=off``.

    What the CLI and the profiler hand the agent (``MetaCoordinator.from_config(...,
    cache=cache_from_env())``). Nothing is opened yet: the directory and database are created
    on first use. Bad settings raise ``CacheConfigError`` naming the variable.
    """
    settings = settings_from_env(environ)
    return AnalysisCache(settings) if settings.enabled else None


@dataclass(frozen=True)
class WarmReport:
    """What ``warm`` did: entries stored, tasks skipped (with why), entries evicted."""

    stored: int
    skipped: tuple[tuple[int, str], ...]
    evicted: int


class AnalysisCache:
    """A disk-backed, context-aware cache of ``TaskAnalysis`` results.

    Implements TaskAnalyzer's ``AnalysisCacheProtocol`` (``fetch``) and ``cache_hooks``'
    ``OutcomeReporter`` (``report_outcome``) and ``EnvironmentChangeListener``
    (``on_environment_change``; ``subscribe(discovery)`` registers it with a ToolDiscovery,
    as ``MetaCoordinator`` does for the cache it is given). Safe to share between threads;
    several processes may open the same directory.
    """

    def __init__(
        self,
        settings: CacheSettings | None = None,
        *,
        normalize: Normalizer | None = None,
        analyzer_version: str | None = None,
        clock: Callable[[], float] = time.time,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self.settings = settings or settings_from_env()
        # The analyzer's own normaliser: texts it identifies have equal analyses.
        self._normalize = normalize or normalize_task
        self.version = key_version(analyzer_version or ANALYZER_VERSION)
        self._clock = clock
        self.metrics = CacheMetrics(meter_provider)
        self._health = StoreHealth(self.settings)
        self._policy = StorePolicy(
            self.settings, self._health, self.metrics, version=self.version, clock=clock
        )
        self._similarity = SimilarityLookup(self._policy)
        # Hits served in process: current while nothing was written to the database since.
        self._hot = HotHits(self.settings.touch_interval_s, clock)

    @property
    def directory(self) -> Path:
        return self.settings.directory

    @property
    def ttl_s(self) -> float:
        return self.settings.ttl_s

    # -- the protocol --------------------------------------------------------------------------

    def fetch(self, task: str, env_fingerprint: str, compute: Compute) -> TaskAnalysis:
        """The analysis of ``task`` in the environment ``env_fingerprint``: cached or computed.

        Exceptions from ``compute`` (bad input) propagate unchanged; cache failures never do.
        An empty fingerprint (environment not discovered yet) or an oversized task bypasses
        the cache.
        """
        span = trace.get_current_span()
        look = Lookup()
        normalized = self._key_text(task, env_fingerprint)
        if not normalized:
            look.result = CacheResult.BYPASS
            record(span, look, self.metrics)
            return compute(task)
        epoch = self._policy.epoch
        hot = self._hot.serve(self._health.store, (normalized, env_fingerprint), epoch, look)
        if hot is not None:
            record(span, look, self.metrics)
            return hot
        policy = self._policy
        health = self._health
        lookup_key = (normalized, env_fingerprint)
        digest = task_digest(normalized)
        context: KeyContext | None = None
        previous_key: str | None = None
        # Taken before anything is read: a hit is remembered only if nobody wrote meanwhile.
        before = change_token(health.store) if health.store is not None else None
        try:
            store, state = policy.open()
            context = KeyContext(self.version, env_fingerprint, state.generation)
            look.key = entry_key(context, CacheLevel.ANALYSIS, digest)
            now = self._clock()
            row, fault = health.read_or_drop(store, look.key)
            if fault is not None:
                look.failed(fault)
            elif row is not None:
                look.result = verdict(row.entry, context, now)
                if look.result is CacheResult.HIT:
                    analysis = policy.decode(store, look.key, row, look)
                    if analysis is not None:
                        look.age_s = row.entry.age(now)
                        touched = policy.maybe_touch(store, look.key, row)
                        self._hot.keep(
                            store, before, lookup_key, look.key, row, analysis, touched, epoch
                        )
                        record(span, look, self.metrics)
                        return analysis
                elif look.result is CacheResult.EXPIRED:
                    look.events.append((InvalidationReason.TTL_EXPIRED, 1))
                else:
                    look.events.append((row.entry.reason or InvalidationReason.MANUAL, 1))
            else:
                similarity = self._similarity
                previous_key = similarity.probe_previous(store, state, context, digest, now, look)
                if look.result is CacheResult.MISS and self.settings.similarity is not None:
                    similar = similarity.similar(store, context, normalized, now, look)
                    if similar is not None:
                        record(span, look, self.metrics)
                        return similar
        except StoreFault as fault:
            look.failed(fault.kind)
            context = None  # the store is not usable: do not try to write either
        record(span, look, self.metrics)
        analysis = compute(task)
        if context is not None:
            also = self._similarity.put_pattern if self.settings.similarity is not None else None
            policy.store_computed(
                span, look, context, analysis, epoch, previous_key, normalized, also
            )
        return analysis

    def report_outcome(
        self, task: str, env_fingerprint: str, decision_confidence: float, ok: bool
    ) -> None:
        """After a run: drop the cached analysis if its plan failed or had low confidence."""
        reason = outcome_reason(decision_confidence, ok, self.settings.min_confidence)
        if reason is None:
            return
        normalized = self._key_text(task, env_fingerprint)
        if not normalized:
            return
        with contextlib.suppress(StoreFault):  # reported; a cache failure never fails the run
            self._policy.tombstone(normalized, env_fingerprint, reason)

    def on_environment_change(self, old_fingerprint: str, new_fingerprint: str) -> None:
        """ToolDiscovery's listener: the tool set changed; nothing stored before applies."""
        self._policy.new_epoch()
        # On a fault (reported) entries stay keyed by the old fingerprint: still never served.
        with contextlib.suppress(StoreFault):
            self._policy.bump(
                InvalidationReason.ENVIRONMENT_CHANGED,
                env_from=old_fingerprint,
                env_to=new_fingerprint,
            )

    def subscribe(self, discovery: EnvironmentSource) -> None:
        """Listen to a ToolDiscovery's environment changes (``tools/list_changed``)."""
        discovery.add_listener(self.on_environment_change)

    # -- manual API (raises CacheUnavailableError when the store cannot be used) ---------------

    def invalidate(
        self,
        task: str,
        env_fingerprint: str,
        reason: InvalidationReason = InvalidationReason.MANUAL,
    ) -> bool:
        """Drop one task's cached analysis (replaced by a tombstone); True if there was one."""
        normalized = self._key_text(task, env_fingerprint)
        if not normalized:
            return False
        with self._health.manual():
            return self._policy.tombstone(normalized, env_fingerprint, reason)

    def invalidate_all(self, reason: InvalidationReason = InvalidationReason.MANUAL) -> int:
        """Bump the generation: no entry stored so far is served again. Returns their count."""
        self._policy.new_epoch()
        with self._health.manual():
            return self._policy.bump(reason)

    def clear(self) -> int:
        """Delete every entry and bump the generation. Returns how many entries were deleted."""
        self._policy.new_epoch()
        with self._health.manual():
            return self._policy.clear()

    def warm(self, tasks: Iterable[str], env_fingerprint: str, compute: Compute) -> WarmReport:
        """Analyse ``tasks`` and store them all in one transaction (the first N unique ones).

        A task the analyzer refuses is skipped with its error message; so are duplicates and
        tasks past the entry bound.
        """
        if not env_fingerprint:
            raise CacheConfigError(
                "warming needs the environment fingerprint the agent will run under "
                "(ToolDiscovery.fingerprint): an empty fingerprint is never cached"
            )
        skipped: list[tuple[int, str]] = []
        computed: dict[str, TaskAnalysis] = {}
        for index, task in enumerate(tasks):
            normalized = self._key_text(task, env_fingerprint)
            try:
                analysis = compute(task)
            except (AgentError, ValueError) as exc:
                skipped.append((index, str(exc)))
                continue
            if not normalized:
                skipped.append((index, f"longer than {MAX_TASK_CHARS} characters: not cached"))
                continue
            digest = task_digest(normalized)
            if digest in computed:
                skipped.append((index, "same task as an earlier line"))
            elif len(computed) >= self.settings.max_entries:
                skipped.append((index, f"past the entry bound ({self.settings.max_entries})"))
            else:
                computed[digest] = analysis
        with self._health.manual():
            evicted = self._policy.store_all(env_fingerprint, computed)
        return WarmReport(stored=len(computed), skipped=tuple(skipped), evicted=evicted)

    def stats(self) -> dict[str, Any]:
        """What is stored and how the cache is configured, plus this process's counters."""
        info: dict[str, Any] = {
            "directory": str(self.directory),
            "enabled": self.settings.enabled,
            "max_entries": self.settings.max_entries,
            "ttl_s": self.settings.ttl_s,
            "similarity": self.settings.similarity,
            "version": self.version,
        }
        with self._health.manual():
            store, state = self._policy.open()
            with self._health.guard(store):
                kinds = store.kinds()
                state = store.state() or state
        info.update(
            entries=sum(kinds.values()),
            by_kind=kinds,
            generation=state.generation,
            last_invalidation=(
                {"reason": state.reason.value, "at": state.at} if state.reason else None
            ),
            disk_bytes=directory_bytes(self.directory),
            quarantined=sorted(p.name for p in self.directory.glob(f"{DBNAME}.corrupt-*")),
            counters=self.metrics.snapshot(),
        )
        return info

    def close(self) -> None:
        self._health.close()

    def _key_text(self, task: str, env_fingerprint: str) -> str:
        """The normalised task, or "" when this lookup must bypass the cache."""
        if not self.settings.enabled or not env_fingerprint or len(task) > MAX_TASK_CHARS:
            return ""
        return self._normalize(task)


__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_TTL_S",
    "MAX_TASK_CHARS",
    "AnalysisCache",
    "CacheConfigError",
    "CacheSettings",
    "CacheUnavailableError",
    "JsonOnlyDisk",
    "UnsafeRowError",
    "WarmReport",
    "cache_from_env",
    "classify_fault",
    "decomposition_pattern",
    "directory_bytes",
    "settings_from_env",
]
