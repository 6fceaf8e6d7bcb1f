"""The analysis cache's store policy: what is stored, for how long, and what stops serving it.

- TTL: each entry expires ``ttl_s`` after it was stored.
- Bounded size: at most ``max_entries`` rows, evicted least-recently-used inside the writing
  transaction. Recency is recorded with a *throttled touch*: the first read of an entry after
  it was stored always records its access time, later reads only when the recorded time is
  older than ``touch_interval_s`` (diskcache's own LRU policy writes on every hit).
- Generations: the state row holds a generation that a tool-list change, an analyzer version
  change or a manual invalidation bumps; keys include it, so nothing stored before is served.
  An analysis computed under a generation (or in-process epoch) that is gone is not stored.
- Tombstones: one task's entry is replaced by a tombstone saying why it was dropped.

Reads and writes go through ``StoreHealth``, which turns storage failures into ``StoreFault``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace

from mcp_agent_otel.autonomous.models import TaskAnalysis
from mcp_agent_otel.caching.cache_keys import CacheLevel, KeyContext, entry_key, task_digest
from mcp_agent_otel.caching.cache_metrics import CacheMetrics
from mcp_agent_otel.caching.cache_settings import CacheSettings
from mcp_agent_otel.caching.cache_store import Row, Store, remember
from mcp_agent_otel.caching.invalidation_strategies import (
    BadEntryError,
    EntryKind,
    GenerationState,
    InvalidationReason,
    StoredEntry,
    bump,
    may_store,
)
from mcp_agent_otel.caching.lookup_record import Lookup, invalidated
from mcp_agent_otel.caching.store_health import ROW_FAULTS, StoreFault, StoreHealth
from mcp_agent_otel.tracing import spans

_log = logging.getLogger(__name__)

# Called inside the transaction that stores an analysis: (store, context, normalised task,
# the analysis's key, the analysis). The similarity lookup records the task's pattern with it.
AlsoStore = Callable[[Store, KeyContext, str, str, TaskAnalysis], None]


class StorePolicy:
    """TTL, LRU bound, generations and tombstones over the store ``health`` keeps open."""

    def __init__(
        self,
        settings: CacheSettings,
        health: StoreHealth,
        metrics: CacheMetrics,
        *,
        version: str,
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.health = health
        self.metrics = metrics
        self.version = version
        self.clock = clock
        self.epoch = 0  # in-process count of global invalidations: the race guard
        self._touch_paused_until = 0.0
        self._analyses: dict[bytes, TaskAnalysis] = {}

    def new_epoch(self) -> None:
        """A global invalidation starts: analyses computed before it are not stored."""
        with self.health.lock:
            self.epoch += 1

    # -- the state row --------------------------------------------------------------------------

    def open(self) -> tuple[Store, GenerationState]:
        """The open store and its current state; raises ``StoreFault`` (already warned about)."""
        store = self.health.open_store()
        guard = self.health.guard
        try:
            with guard(store):
                state = store.state()
        except StoreFault as fault:
            if fault.kind not in ROW_FAULTS:
                raise
            state = None  # a damaged state row: start over (below), entries are cleared
            with guard(store), store.transaction():
                store.clear_entries()
                store.put_state(GenerationState(version=self.version, at=self.clock()))
        if state is None or state.version != self.version:
            state = self._init_state(store)
        return store, state

    def _init_state(self, store: Store) -> GenerationState:
        """Create the state row, or bump the generation if another version wrote the cache."""
        count = 0
        with self.health.guard(store), store.transaction():
            state = store.state()
            if state is None:
                state = GenerationState(version=self.version, at=self.clock())
                store.put_state(state)
            elif state.version != self.version:
                state = bump(
                    state, InvalidationReason.VERSION_CHANGED, self.clock(), version=self.version
                )
                store.put_state(state)
                count = store.entry_count() or 0
        if count:
            self._invalidated(InvalidationReason.VERSION_CHANGED, count)
        return state

    # -- reading --------------------------------------------------------------------------------

    def decode(self, store: Store, key: str, row: Row, look: Lookup) -> TaskAnalysis | None:
        """The entry's TaskAnalysis (frozen, so one decoded object serves every equal row)."""
        if row.raw is not None:
            cached = self._analyses.get(row.raw)
            if cached is not None:
                return cached
        try:
            analysis = TaskAnalysis.from_dict(row.entry.data)
        except (TypeError, ValueError, KeyError) as exc:
            self.health.warn("bad_entry", exc)
            look.failed("bad_entry")
            self.health.drop_row(store, key)
            return None
        if row.raw is not None:
            remember(self._analyses, row.raw, analysis)
        return analysis

    def maybe_touch(self, store: Store, key: str, row: Row) -> float | None:
        """Record the access for LRU: first read after a store, then at most once per interval.

        Access times use the wall clock, as diskcache's own ``store_time``/``access_time`` do.
        Returns the access time now recorded for the entry (None: none is).
        """
        now = time.time()
        if row.access_count > 0 and now - row.access_time < self.settings.touch_interval_s:
            return row.access_time
        if time.monotonic() < self._touch_paused_until:
            return None
        try:
            store.touch(key, now)
        except Exception as exc:  # a lost touch only blurs the LRU order; the hit stands
            self._touch_paused_until = time.monotonic() + self.settings.retry_after_s
            _log.debug("analysis cache: could not record an access (%s)", exc)
            return None
        return now

    # -- writing --------------------------------------------------------------------------------

    def entry(
        self, kind: EntryKind, data: dict[str, Any], context: KeyContext, now: float
    ) -> StoredEntry:
        return StoredEntry(
            kind=kind,
            created_at=now,
            expires_at=now + self.settings.ttl_s,
            generation=context.generation,
            env_fingerprint=context.env_fingerprint,
            data=data,
        )

    def store_computed(
        self,
        span: trace.Span,
        look: Lookup,
        context: KeyContext,
        analysis: TaskAnalysis,
        epoch: int,
        previous_key: str | None,
        normalized: str,
        also: AlsoStore | None,
    ) -> None:
        """Store a freshly computed analysis at ``look.key``, unless the environment it was
        computed in is gone (``epoch``/generation moved on); then evict past the bound.
        ``previous_key``: the entry it replaces (invalidated), deleted in the same transaction."""
        health = self.health
        store = health.store
        if store is None or health.writes_paused():
            return
        store = health.writable(store)
        if store is None:
            look.failed("read_only")
            spans.set_attributes(span, look.attributes())
            return
        entry = self.entry(EntryKind.ANALYSIS, analysis.to_dict(), context, self.clock())
        raced = False
        evicted = 0
        try:
            with health.guard(store), store.transaction():
                state = store.state()
                current = state.generation if state is not None else -1
                if self.epoch != epoch or not may_store(context.generation, current):
                    raced = True  # computed under an environment that is gone: not stored
                else:
                    store.put(look.key, entry, self.settings.ttl_s)
                    if also is not None:
                        also(store, context, normalized, look.key, analysis)
                    if previous_key is not None:
                        store.delete(previous_key)
                    evicted = store.evict_over(self.settings.max_entries)
        except StoreFault as fault:
            look.failed(fault.kind)
            spans.set_attributes(span, look.attributes())
            return
        health.healthy()
        self.metrics.evicted(evicted)
        if raced:
            invalidated(span, self.metrics, InvalidationReason.CHANGED_DURING_ANALYSIS, 1)

    def store_all(self, env_fingerprint: str, analyses: Mapping[str, TaskAnalysis]) -> int:
        """Store analyses by task digest in one transaction; returns how many were evicted."""
        store, state = self.open()
        now = self.clock()
        with self.health.guard(store), store.transaction():
            state = store.state() or state
            context = KeyContext(self.version, env_fingerprint, state.generation)
            for digest, analysis in analyses.items():
                entry = self.entry(EntryKind.ANALYSIS, analysis.to_dict(), context, now)
                store.put(
                    entry_key(context, CacheLevel.ANALYSIS, digest), entry, self.settings.ttl_s
                )
            evicted = store.evict_over(self.settings.max_entries)
        self.metrics.evicted(evicted)
        return evicted

    # -- invalidating ---------------------------------------------------------------------------

    def tombstone(self, normalized: str, env_fingerprint: str, reason: InvalidationReason) -> bool:
        """Replace a task's entry by a tombstone saying why; False if there was no entry."""
        digest = task_digest(normalized)
        store, state = self.open()
        with self.health.guard(store), store.transaction():
            state = store.state() or state
            context = KeyContext(self.version, env_fingerprint, state.generation)
            key = entry_key(context, CacheLevel.ANALYSIS, digest)
            try:
                row = store.row(key)
            except BadEntryError:
                row = None
            if row is None or row.entry.kind is not EntryKind.ANALYSIS:
                return False
            tomb = StoredEntry(
                kind=EntryKind.TOMBSTONE,
                created_at=self.clock(),
                expires_at=row.entry.expires_at,
                generation=state.generation,
                env_fingerprint=env_fingerprint,
                data={},
                reason=reason,
            )
            store.put(key, tomb, self.settings.ttl_s)
        self._invalidated(reason, 1)
        return True

    def bump(
        self,
        reason: InvalidationReason,
        *,
        env_from: str | None = None,
        env_to: str | None = None,
    ) -> int:
        """Bump the generation: nothing stored so far is served again. Returns the entries."""
        store, state = self.open()
        with self.health.guard(store), store.transaction():
            state = store.state() or state
            store.put_state(bump(state, reason, self.clock(), env_from=env_from, env_to=env_to))
            count = store.entry_count()
        self._invalidated(reason, count)
        return count

    def clear(self) -> int:
        """Delete every entry and bump the generation. Returns how many entries were deleted."""
        store, state = self.open()
        with self.health.guard(store), store.transaction():
            state = store.state() or state
            removed = store.clear_entries()
            store.put_state(bump(state, InvalidationReason.MANUAL, self.clock()))
        self._invalidated(InvalidationReason.MANUAL, removed)
        return removed

    def _invalidated(self, reason: InvalidationReason, entries: int) -> None:
        invalidated(trace.get_current_span(), self.metrics, reason, entries)


__all__ = ["AlsoStore", "StorePolicy"]
