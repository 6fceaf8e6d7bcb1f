"""The disk-backed TaskAnalyzer cache: ``AnalysisCache`` and ``cache_from_env``.

Storage is one ``diskcache.Cache`` (SQLite in WAL mode; not FanoutCache, whose timeouts
silently drop writes) in ``$MCP_AGENT_OTEL_HOME/cache`` (mode 0700), shared by the threads
and processes of one machine. Values are JSON only: ``JsonOnlyDisk`` refuses to unpickle a
row (CVE-2025-69872), so a tampered cache cannot run code.

Bounds: at most ``max_entries`` rows, counted in entries, evicted least-recently-used inside
the writing transaction. Recency is recorded with a *throttled touch*: the first read of an
entry after it was stored always records its access time, later reads only when the recorded
time is older than ``touch_interval_s``. So a hit costs a read and, at most once per entry and
interval, a small write; diskcache's own LRU policy writes on every hit (the benchmark
measures both). Each entry expires after ``ttl_s``.

TaskAnalyzer opens the ``task_analyzer.analyze`` span and calls ``fetch`` inside it; the
cache records ``mcp_agent.cache.*`` attributes and invalidation events on that span (no
span of its own) and counts hits, misses, evictions and invalidations through the OTel
metrics API.

Faults (a corrupt or truncated database, a read-only or full directory, a lock held by
another process past ``lock_timeout_s``) never fail an analysis: it is computed and returned,
the span says ``mcp_agent.cache.result=error``, one warning says what happened, and the cache
recovers (a corrupt database is moved aside, never deleted, and a fresh one created).

This module is the policy; its parts live beside it: ``cache_settings`` (the
``MCP_AGENT_OTEL_CACHE*`` settings), ``cache_store`` (the JSON-only diskcache store, its SQL
and fault classification), ``cache_keys``, ``invalidation_strategies``, ``task_similarity``
and ``cache_metrics``. The names tests and commands use are re-exported here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from diskcache.core import DBNAME
from opentelemetry import metrics, trace
from opentelemetry.util.types import AttributeValue

from mcp_agent_otel.autonomous.models import TaskAnalysis
from mcp_agent_otel.autonomous.task_analyzer import (
    ANALYZER_VERSION,
    normalize_task,
    structural_signature,
)
from mcp_agent_otel.caching.cache_keys import (
    CacheLevel,
    KeyContext,
    Normalizer,
    entry_key,
    key_version,
    short_key,
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
    FAULT_TEXT,
    JsonOnlyDisk,
    ReadOnlyStore,
    Row,
    Store,
    UnsafeRowError,
    classify_fault,
    diagnose,
    directory_bytes,
    preflight,
    remember,
)
from mcp_agent_otel.caching.invalidation_strategies import (
    BadEntryError,
    CacheResult,
    EntryKind,
    GenerationState,
    InvalidationReason,
    StoredEntry,
    bump,
    may_store,
    outcome_reason,
    previous_context,
    verdict,
)
from mcp_agent_otel.caching.task_similarity import near_identical, task_shape
from mcp_agent_otel.errors import AgentError, StoreError
from mcp_agent_otel.tracing import semconv, spans

_log = logging.getLogger(__name__)

MAX_TASK_CHARS: Final = 16_384  # longer tasks are analysed but not cached (bypass)

Compute = Callable[[str], TaskAnalysis]


def cache_from_env(environ: Mapping[str, str] | None = None) -> AnalysisCache | None:
    """The cache the environment asks for, or None when ``MCP_AGENT_OTEL_CACHE=off``.

    Nothing is opened yet: the directory and database are created on first use.
    """
    settings = settings_from_env(environ)
    return AnalysisCache(settings) if settings.enabled else None


class _Fault(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# --- the cache ------------------------------------------------------------------------------


@dataclass
class _Lookup:
    """What one ``fetch`` learned and records on its span."""

    result: CacheResult = CacheResult.MISS
    level: CacheLevel = CacheLevel.ANALYSIS
    key: str = ""
    age_s: float | None = None
    similarity: float | None = None
    fault: str | None = None
    events: list[tuple[InvalidationReason, int]] = field(default_factory=list)

    def attributes(self) -> dict[str, AttributeValue | None]:
        return {
            semconv.CACHE_HIT: self.result is CacheResult.HIT,
            semconv.CACHE_RESULT: self.result.value,
            semconv.CACHE_LEVEL: int(self.level),
            semconv.CACHE_KEY: short_key(self.key) if self.key else None,
            semconv.CACHE_AGE_S: round(self.age_s, 6) if self.age_s is not None else None,
            semconv.CACHE_SIMILARITY: (
                round(self.similarity, 4) if self.similarity is not None else None
            ),
            semconv.CACHE_ERROR: self.fault,
        }


@dataclass(frozen=True)
class WarmReport:
    """What ``warm`` did: entries stored, tasks skipped (with why), entries evicted."""

    stored: int
    skipped: tuple[tuple[int, str], ...]
    evicted: int


class CacheUnavailableError(AgentError, StoreError):
    """A manual cache operation (clear, warm, stats) could not use the store; says why."""


class AnalysisCache:
    """A disk-backed, context-aware cache of ``TaskAnalysis`` results.

    Implements TaskAnalyzer's ``AnalysisCacheProtocol`` (``fetch``), MetaCoordinator's
    ``report_outcome`` hook and ToolDiscovery's environment listener
    (``on_environment_change``; ``subscribe(discovery)`` registers it). Safe to share
    between threads; several processes may open the same directory.
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
        self._lock = threading.RLock()
        self._store: Store | None = None
        self._retry_open_at = 0.0
        self._last_open_fault = "io"
        self._writes_paused_until = 0.0
        self._touch_paused_until = 0.0
        self._warned: set[str] = set()
        self._epoch = 0  # in-process count of global invalidations: the race guard
        self._analyses: dict[bytes, TaskAnalysis] = {}
        # Hits served in process: (normalised task, fingerprint) -> _Hot. Current while nothing
        # was written to the database since (see ``_change_token``) and the entry is fresh.
        self._hot: dict[tuple[str, str], _Hot] = {}

    @property
    def directory(self) -> Path:
        return self.settings.directory

    # -- the protocol --------------------------------------------------------------------------

    def fetch(self, task: str, env_fingerprint: str, compute: Compute) -> TaskAnalysis:
        """The analysis of ``task`` in the environment ``env_fingerprint``: cached or computed.

        Exceptions from ``compute`` (bad input) propagate unchanged; cache failures never do.
        An empty fingerprint (environment not discovered yet) or an oversized task bypasses
        the cache.
        """
        span = trace.get_current_span()
        look = _Lookup()
        normalized = self._key_text(task, env_fingerprint)
        if not normalized:
            look.result = CacheResult.BYPASS
            self._record(span, look)
            return compute(task)
        hot = self._hot.get((normalized, env_fingerprint))
        if hot is not None:
            analysis = self._serve_hot(hot, look)
            if analysis is not None:
                self._record(span, look)
                return analysis
        digest = task_digest(normalized)
        epoch = self._epoch
        context: KeyContext | None = None
        previous_key: str | None = None
        # Taken before anything is read: a hit is remembered only if nobody wrote meanwhile.
        before = self._change_token(self._store) if self._store is not None else None
        try:
            store, state = self._open()
            context = KeyContext(self.version, env_fingerprint, state.generation)
            look.key = entry_key(context, CacheLevel.ANALYSIS, digest)
            now = self._clock()
            row = self._read_or_drop(store, look.key, look)
            if row is not None:
                look.result = verdict(row.entry, context, now)
                if look.result is CacheResult.HIT:
                    analysis = self._decode(store, look.key, row, look)
                    if analysis is not None:
                        look.age_s = row.entry.age(now)
                        touched = self._maybe_touch(store, look.key, row)
                        self._keep_hot(
                            store, before, normalized, env_fingerprint, look.key, row, touched
                        )
                        self._record(span, look)
                        return analysis
                elif look.result is CacheResult.EXPIRED:
                    look.events.append((InvalidationReason.TTL_EXPIRED, 1))
                else:
                    look.events.append((row.entry.reason or InvalidationReason.MANUAL, 1))
            elif look.fault is None:
                previous_key = self._probe_previous(store, state, context, digest, now, look)
                if look.result is CacheResult.MISS and self.settings.similarity is not None:
                    similar = self._similar(store, context, normalized, digest, now, look)
                    if similar is not None:
                        self._record(span, look)
                        return similar
        except _Fault as fault:
            look.result = CacheResult.ERROR
            look.fault = fault.kind
            context = None  # the store is not usable: do not try to write either
        self._record(span, look)
        analysis = compute(task)
        if context is not None:
            self._store_computed(span, look, context, analysis, epoch, previous_key, normalized)
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
        with contextlib.suppress(_Fault):  # reported; a cache failure never fails the run
            self._tombstone(normalized, env_fingerprint, reason)

    def on_environment_change(self, old_fingerprint: str, new_fingerprint: str) -> None:
        """ToolDiscovery's listener: the tool set changed; nothing stored before applies."""
        with self._lock:
            self._epoch += 1
        # On a fault (reported) entries stay keyed by the old fingerprint: still never served.
        with contextlib.suppress(_Fault):
            self._bump(
                InvalidationReason.ENVIRONMENT_CHANGED,
                env_from=old_fingerprint,
                env_to=new_fingerprint,
            )

    def subscribe(self, discovery: Any) -> None:
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
        with self._manual():
            return self._tombstone(normalized, env_fingerprint, reason)

    def invalidate_all(self, reason: InvalidationReason = InvalidationReason.MANUAL) -> int:
        """Bump the generation: no entry stored so far is served again. Returns their count."""
        with self._lock:
            self._epoch += 1
        with self._manual():
            return self._bump(reason)

    def clear(self) -> int:
        """Delete every entry and bump the generation. Returns how many entries were deleted."""
        with self._lock:
            self._epoch += 1
        with self._manual():
            store, state = self._open()
            with self._guard(store), store.transaction():
                state = store.state() or state
                removed = store.clear_entries()
                store.put_state(bump(state, InvalidationReason.MANUAL, self._clock()))
        self.metrics.invalidated(removed, InvalidationReason.MANUAL.value)
        self._announce(trace.get_current_span(), InvalidationReason.MANUAL, removed)
        return removed

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
        with self._manual():
            store, state = self._open()
            now = self._clock()
            with self._guard(store), store.transaction():
                state = store.state() or state
                context = KeyContext(self.version, env_fingerprint, state.generation)
                for digest, analysis in computed.items():
                    entry = self._entry(EntryKind.ANALYSIS, analysis.to_dict(), context, now)
                    store.put(entry_key(context, CacheLevel.ANALYSIS, digest), entry, self.ttl_s)
                evicted = store.evict_over(self.settings.max_entries)
        self.metrics.evicted(evicted)
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
        with self._manual():
            store, state = self._open()
            with self._guard(store):
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
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    @property
    def ttl_s(self) -> float:
        return self.settings.ttl_s

    # -- internals: opening, faults, recovery --------------------------------------------------

    def _key_text(self, task: str, env_fingerprint: str) -> str:
        """The normalised task, or "" when this lookup must bypass the cache."""
        if not self.settings.enabled or not env_fingerprint or len(task) > MAX_TASK_CHARS:
            return ""
        return self._normalize(task)

    @contextlib.contextmanager
    def _manual(self) -> Iterator[None]:
        try:
            yield
        except _Fault as fault:
            text = FAULT_TEXT.get(fault.kind, fault.kind).format(
                timeout=self.settings.lock_timeout_s
            )
            raise CacheUnavailableError(
                f"analysis cache at {self.directory}: {text}; nothing was changed"
            ) from None

    def _open(self) -> tuple[Store, GenerationState]:
        """The open store and its current state; raises ``_Fault`` (already warned about)."""
        store = self._store
        if store is None:
            with self._lock:
                store = self._store if self._store is not None else self._open_locked()
        try:
            with self._guard(store):
                state = store.state()
        except _Fault as fault:
            if fault.kind not in ("bad_entry", "unsafe_row"):
                raise
            state = None  # a damaged state row: start over (below), entries are cleared
            with self._guard(store), store.transaction():
                store.clear_entries()
                store.put_state(GenerationState(version=self.version, at=self._clock()))
        if state is None or state.version != self.version:
            state = self._init_state(store)
        return store, state

    def _open_locked(self) -> Store:
        if time.monotonic() < self._retry_open_at:
            raise _Fault(self._last_open_fault)
        try:
            store = Store(self.directory, self.settings.lock_timeout_s)
        except Exception as exc:
            kind = diagnose(classify_fault(exc), self.directory)
            if kind == "read_only":
                with contextlib.suppress(Exception):
                    store = ReadOnlyStore(self.directory, self.settings.lock_timeout_s)
                    self._warn(kind, exc, serving_reads=True)
                    self._writes_paused_until = time.monotonic() + self.settings.retry_after_s
                    self._store = store
                    return store
            if kind != "corrupt" or not self._quarantine():
                self._open_failed(kind, exc)
                raise _Fault(kind) from None
            try:
                store = Store(self.directory, self.settings.lock_timeout_s)
            except Exception as exc2:
                self._open_failed(classify_fault(exc2), exc2)
                raise _Fault(classify_fault(exc2)) from None
            self._warn(kind, exc, recovered=True)
            self._store = store
            # This lookup reports the fault; the next one uses the fresh store.
            raise _Fault(kind) from None
        self._store = store
        return store

    def _open_failed(self, kind: str, exc: BaseException) -> None:
        self._last_open_fault = kind
        self._retry_open_at = time.monotonic() + self.settings.retry_after_s
        self._warn(kind, exc)

    def _init_state(self, store: Store) -> GenerationState:
        """Create the state row, or bump the generation if another version wrote the cache."""
        count = 0
        with self._guard(store), store.transaction():
            state = store.state()
            if state is None:
                state = GenerationState(version=self.version, at=self._clock())
                store.put_state(state)
            elif state.version != self.version:
                state = bump(
                    state, InvalidationReason.VERSION_CHANGED, self._clock(), version=self.version
                )
                store.put_state(state)
                count = store.entry_count() or 0
        if count:
            self.metrics.invalidated(count, InvalidationReason.VERSION_CHANGED.value)
            self._announce(trace.get_current_span(), InvalidationReason.VERSION_CHANGED, count)
        return state

    @contextlib.contextmanager
    def _guard(self, store: Store | None) -> Iterator[None]:
        """Turn a storage failure into a ``_Fault``: warn once, recover where possible."""
        try:
            yield
        except _Fault:
            raise
        except Exception as exc:
            kind = diagnose(classify_fault(exc), self.directory)
            recovered = False
            if kind == "corrupt" and store is not None:
                recovered = self._recover_corrupt(store)
            elif kind in ("locked", "full", "read_only", "io"):
                self._writes_paused_until = time.monotonic() + self.settings.retry_after_s
            self._warn(kind, exc, recovered=recovered)
            raise _Fault(kind) from None

    def _writable(self, store: Store) -> Store | None:
        """The store to write to: a read-only one is swapped for a writable one once the
        directory can be written again (None while it still cannot)."""
        if not isinstance(store, ReadOnlyStore):
            return store
        with self._lock:
            if self._store is not store:
                return self._store
            try:
                fresh = Store(self.directory, self.settings.lock_timeout_s)
            except Exception:
                self._writes_paused_until = time.monotonic() + self.settings.retry_after_s
                return None
            store.close()
            self._store = fresh
            return fresh

    def _healthy(self) -> None:
        """A write succeeded: the cache works again, so the next fault gets a warning."""
        if self._warned:
            with self._lock:
                self._warned.clear()

    def _warn(
        self,
        kind: str,
        exc: BaseException,
        *,
        recovered: bool = False,
        serving_reads: bool = False,
    ) -> None:
        with self._lock:
            if kind in self._warned:
                _log.debug("analysis cache fault again (%s): %s", kind, exc)
                return
            self._warned.add(kind)
        text = FAULT_TEXT.get(kind, kind).format(timeout=self.settings.lock_timeout_s)
        if recovered:
            tail = "the damaged database was moved aside and a fresh one is used"
        elif serving_reads:
            tail = "cached analyses are served from it, new ones are not stored"
        elif kind in ("unsafe_row", "bad_entry"):
            tail = "the row was not loaded; the analysis is computed afresh"
        else:
            tail = "analyses are computed without the cache until it works again"
        _log.warning("analysis cache at %s: %s (%s); %s", self.directory, text, exc, tail)

    def _quarantine(self) -> bool:
        """Move a corrupt database (and its WAL files) aside; never delete it."""
        db = self.directory / DBNAME
        if not db.exists():
            return False
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{threading.get_ident()}"
        try:
            for suffix in ("", "-wal", "-shm"):
                src = db.with_name(DBNAME + suffix)
                if src.exists():
                    src.rename(db.with_name(f"{DBNAME}.corrupt-{stamp}{suffix}"))
        except OSError:
            return False
        return True

    def _recover_corrupt(self, store: Store) -> bool:
        with self._lock:
            if self._store is not store:
                return True  # another thread recovered already
            store.close()
            self._store = None
            try:
                preflight(self.directory / DBNAME, self.settings.lock_timeout_s)
                return True  # the file on disk is sound: another process recovered it
            except Exception as exc:
                if classify_fault(exc) != "corrupt":
                    return False
            return self._quarantine()

    # -- internals: reading --------------------------------------------------------------------

    def _read_or_drop(self, store: Store, key: str, look: _Lookup) -> Row | None:
        """The row at ``key``; a refused or malformed row is deleted and reported as an error."""
        try:
            with self._guard(store):
                return store.row(key)
        except _Fault as fault:
            if fault.kind not in ("unsafe_row", "bad_entry"):
                raise
            look.result = CacheResult.ERROR
            look.fault = fault.kind
            self._drop_row(store, key)
            return None

    def _drop_row(self, store: Store, key: str) -> None:
        with contextlib.suppress(_Fault), self._guard(store), store.transaction():
            store.delete(key)

    def _decode(self, store: Store, key: str, row: Row, look: _Lookup) -> TaskAnalysis | None:
        """The entry's TaskAnalysis (frozen, so one decoded object serves every equal row)."""
        if row.raw is not None:
            cached = self._analyses.get(row.raw)
            if cached is not None:
                return cached
        try:
            analysis = TaskAnalysis.from_dict(row.entry.data)
        except (TypeError, ValueError, KeyError) as exc:
            self._warn("bad_entry", exc)
            look.result = CacheResult.ERROR
            look.fault = "bad_entry"
            self._drop_row(store, key)
            return None
        if row.raw is not None:
            remember(self._analyses, row.raw, analysis)
        return analysis

    def _maybe_touch(self, store: Store, key: str, row: Row) -> float | None:
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

    # -- internals: hits served in process -----------------------------------------------------

    def _change_token(self, store: Store) -> tuple[int, int, int] | None:
        """What changes whenever the database does: this thread's connection, SQLite's
        ``data_version`` (bumped by every commit of another connection or process) and the
        rows this connection changed itself. None when it cannot be read."""
        try:
            con = store.cache._con
            (version,) = con.execute("PRAGMA data_version").fetchone()
            return id(con), int(version), con.total_changes
        except Exception:
            return None

    def _keep_hot(
        self,
        store: Store,
        before: tuple[int, int, int] | None,
        normalized: str,
        env_fingerprint: str,
        key: str,
        row: Row,
        touched: float | None,
    ) -> None:
        """Remember a hit read from disk, to serve it again without reading or decoding the row.

        ``before`` is the change token taken before the state and the row were read. Only if no
        other connection committed since (the same ``data_version``) is the hit remembered, under
        the token as it is now: this connection's own changes (the touch) included, so the first
        write by anyone after this ends it. (A token taken only now could be newer than the row.)
        """
        if touched is None or row.raw is None or before is None:
            return
        analysis = self._analyses.get(row.raw)
        token = self._change_token(store)
        if analysis is None or token is None or token[:2] != before[:2]:
            return
        if len(self._hot) >= _HOT_ENTRIES:
            self._hot.clear()
        self._hot[(normalized, env_fingerprint)] = _Hot(
            analysis=analysis,
            key=key,
            created_at=row.entry.created_at,
            expires_at=row.entry.expires_at,
            touch_due=touched + self.settings.touch_interval_s,
            epoch=self._epoch,
            token=token,
        )

    def _serve_hot(self, hot: _Hot, look: _Lookup) -> TaskAnalysis | None:
        """The remembered analysis, if nothing was written since and the entry is still fresh
        (not expired, and not due the next recorded access): one PRAGMA, no row read."""
        store = self._store
        if store is None or hot.epoch != self._epoch:
            return None
        now = self._clock()
        if now >= hot.expires_at or time.time() >= hot.touch_due:
            return None
        if self._change_token(store) != hot.token:
            return None
        look.result = CacheResult.HIT
        look.key = hot.key
        look.age_s = max(0.0, now - hot.created_at)
        return hot.analysis

    def _probe_previous(
        self,
        store: Store,
        state: GenerationState,
        context: KeyContext,
        digest: str,
        now: float,
        look: _Lookup,
    ) -> str | None:
        """On a miss soon after a global invalidation, find what it invalidated, to say so."""
        if state.reason is None or now - state.at > self.settings.ttl_s:
            return None  # anything older would have expired anyway
        previous = previous_context(state, context)
        if previous is None:
            return None
        key = entry_key(previous, CacheLevel.ANALYSIS, digest)
        try:
            with self._guard(store):
                row = store.row(key)
        except _Fault as fault:
            if fault.kind in ("unsafe_row", "bad_entry"):
                return key  # delete it with the next write
            raise
        if row is None or row.entry.kind is not EntryKind.ANALYSIS or now >= row.entry.expires_at:
            return None
        look.result = CacheResult.INVALIDATED
        look.events.append((state.reason, 1))
        return key

    # -- internals: level 2, the similarity lookup --------------------------------------------

    def _similar(
        self,
        store: Store,
        context: KeyContext,
        normalized: str,
        digest: str,
        now: float,
        look: _Lookup,
    ) -> TaskAnalysis | None:
        """A cached analysis of a near-identical task whose decomposition pattern is certain.

        Level 2 holds, per task *shape* (``task_similarity``), the decomposition pattern —
        (task type, complexity, structural signature) — its tasks had, and the members it was
        seen with (each one's tokens and analysis key). A member is served only when every
        member had the same pattern, the new task has the same shape and the same content
        terms as the member, and their tokens overlap by the threshold.
        """
        threshold = self.settings.similarity
        if threshold is None:
            return None
        shape = task_shape(normalized)
        try:
            with self._guard(store):
                row = store.row(entry_key(context, CacheLevel.PATTERN, shape.skeleton))
        except _Fault:
            return None
        if row is None or verdict(row.entry, context, now) is not CacheResult.HIT:
            return None
        pattern = row.entry.data.get("pattern")
        members = row.entry.data.get("members")
        if not isinstance(pattern, dict) or not isinstance(members, list):
            return None  # mixed patterns for this shape: never served
        scored = sorted(
            (
                (score, str(m[1]))
                for m in members
                if isinstance(m, list) and len(m) == 2 and isinstance(m[0], list)
                for score in [near_identical(shape.tokens, map(str, m[0]), threshold)]
                if score is not None
            ),
            reverse=True,
        )
        for score, key in scored:
            try:
                with self._guard(store):
                    member = store.row(key)
            except _Fault:
                return None
            if member is None or verdict(member.entry, context, now) is not CacheResult.HIT:
                continue
            analysis = self._decode(store, key, member, look)
            if analysis is None or decomposition_pattern(analysis) != pattern:
                continue
            look.result = CacheResult.HIT
            look.level = CacheLevel.PATTERN
            look.key = entry_key(context, CacheLevel.PATTERN, shape.skeleton)
            look.similarity = score
            look.age_s = member.entry.age(now)
            self._maybe_touch(store, key, member)
            return analysis
        return None

    def _put_pattern(
        self,
        store: Store,
        context: KeyContext,
        normalized: str,
        member_key: str,
        analysis: TaskAnalysis,
    ) -> None:
        """Record (inside the store transaction) the decomposition pattern of this task's shape."""
        shape = task_shape(normalized)
        key = entry_key(context, CacheLevel.PATTERN, shape.skeleton)
        pattern: dict[str, Any] | None = decomposition_pattern(analysis)
        members: list[Any] = []
        try:
            row = store.row(key)
        except BadEntryError:
            row = None
        now = self._clock()
        if row is not None and verdict(row.entry, context, now) is CacheResult.HIT:
            old = row.entry.data
            members = [m for m in old.get("members") or [] if isinstance(m, list)]
            if old.get("pattern") != pattern:
                pattern = None  # this shape has had different patterns: ambiguous, never served
        members = [m for m in members if len(m) == 2 and m[1] != member_key]
        members = [[list(shape.tokens), member_key], *members][:_PATTERN_MEMBERS]
        data = {"pattern": pattern, "members": members}
        store.put(key, self._entry(EntryKind.PATTERN, data, context, now), self.settings.ttl_s)

    # -- internals: writing --------------------------------------------------------------------

    def _entry(
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

    def _store_computed(
        self,
        span: trace.Span,
        look: _Lookup,
        context: KeyContext,
        analysis: TaskAnalysis,
        epoch: int,
        previous_key: str | None,
        normalized: str,
    ) -> None:
        store = self._store
        if store is None or time.monotonic() < self._writes_paused_until:
            return
        store = self._writable(store)
        if store is None:
            look.result = CacheResult.ERROR
            look.fault = "read_only"
            spans.set_attributes(span, look.attributes())
            return
        entry = self._entry(EntryKind.ANALYSIS, analysis.to_dict(), context, self._clock())
        raced = False
        evicted = 0
        try:
            with self._guard(store), store.transaction():
                state = store.state()
                current = state.generation if state is not None else -1
                if self._epoch != epoch or not may_store(context.generation, current):
                    raced = True  # computed under an environment that is gone: not stored
                else:
                    store.put(look.key, entry, self.settings.ttl_s)
                    if self.settings.similarity is not None:
                        self._put_pattern(store, context, normalized, look.key, analysis)
                    if previous_key is not None:
                        store.delete(previous_key)
                    evicted = store.evict_over(self.settings.max_entries)
        except _Fault as fault:
            look.result = CacheResult.ERROR
            look.fault = fault.kind
            spans.set_attributes(span, look.attributes())
            return
        self._healthy()
        self.metrics.evicted(evicted)
        if raced:
            self.metrics.invalidated(1, InvalidationReason.CHANGED_DURING_ANALYSIS.value)
            self._announce(span, InvalidationReason.CHANGED_DURING_ANALYSIS, 1)

    def _tombstone(self, normalized: str, env_fingerprint: str, reason: InvalidationReason) -> bool:
        """Replace a task's entry by a tombstone saying why; False if there was no entry."""
        digest = task_digest(normalized)
        store, state = self._open()
        with self._guard(store), store.transaction():
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
                created_at=self._clock(),
                expires_at=row.entry.expires_at,
                generation=state.generation,
                env_fingerprint=env_fingerprint,
                data={},
                reason=reason,
            )
            store.put(key, tomb, self.settings.ttl_s)
        self.metrics.invalidated(1, reason.value)
        self._announce(trace.get_current_span(), reason, 1)
        return True

    def _bump(
        self,
        reason: InvalidationReason,
        *,
        env_from: str | None = None,
        env_to: str | None = None,
    ) -> int:
        store, state = self._open()
        with self._guard(store), store.transaction():
            state = store.state() or state
            store.put_state(bump(state, reason, self._clock(), env_from=env_from, env_to=env_to))
            count = store.entry_count()
        self.metrics.invalidated(count, reason.value)
        self._announce(trace.get_current_span(), reason, count)
        return count

    # -- internals: telemetry ------------------------------------------------------------------

    def _announce(self, span: trace.Span, reason: InvalidationReason, entries: int) -> None:
        spans.add_event(
            span,
            semconv.EVENT_CACHE_INVALIDATED,
            {
                semconv.CACHE_INVALIDATION_REASON: reason.value,
                semconv.CACHE_INVALIDATION_ENTRIES: entries,
            },
        )

    def _record(self, span: trace.Span, look: _Lookup) -> None:
        spans.set_attributes(span, look.attributes())
        for reason, entries in look.events:
            self._announce(span, reason, entries)
            self.metrics.invalidated(entries, reason.value)
        if look.result is CacheResult.HIT:
            self.metrics.hit(int(look.level))
        else:
            self.metrics.miss(look.result.value)


_PATTERN_MEMBERS: Final = 8  # tasks remembered per shape for the similarity lookup
_HOT_ENTRIES: Final = 1024  # hits remembered in process


@dataclass(frozen=True)
class _Hot:
    """A hit served from disk, kept to be served again while the database is unchanged."""

    analysis: TaskAnalysis
    key: str
    created_at: float
    expires_at: float  # the cache's clock
    touch_due: float  # wall clock: when the next access is due to be recorded (LRU)
    epoch: int
    token: tuple[int, int, int]


def decomposition_pattern(analysis: TaskAnalysis) -> dict[str, Any]:
    """Level 2's value: the part of an analysis that its structure decides."""
    return {
        "task_type": analysis.task_type.value,
        "complexity": analysis.complexity.value,
        "signature": structural_signature(analysis),
        "estimated_steps": analysis.estimated_steps,
    }


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
    "directory_bytes",
    "settings_from_env",
]
