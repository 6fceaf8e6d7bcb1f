"""The analysis cache's store health: open the store, turn failures into faults, warn, recover.

A corrupt or truncated database, a read-only or full directory, a lock held by another process
past ``lock_timeout_s``: each becomes a ``StoreFault`` the cache catches (the analysis is
computed instead). One warning per kind of fault says what happened, until a write succeeds
again. A corrupt database is moved aside (``cache.db.corrupt-*``, never deleted) and a fresh one
created; a read-only directory is still read from; after a fault, opening and writing wait
``retry_after_s`` before trying again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator

from diskcache.core import DBNAME

from mcp_agent_otel.caching.cache_settings import CacheSettings
from mcp_agent_otel.caching.cache_store import (
    FAULT_TEXT,
    ReadOnlyStore,
    Row,
    Store,
    classify_fault,
    diagnose,
    preflight,
)
from mcp_agent_otel.errors import AgentError, StoreError

_log = logging.getLogger(__name__)

ROW_FAULTS = frozenset({"unsafe_row", "bad_entry"})  # one row is bad, the store is fine
_PAUSING_FAULTS = frozenset({"locked", "full", "read_only", "io"})


class StoreFault(StoreError):
    """A storage failure, classified (``kind``: a ``FAULT_TEXT`` key) and already warned about.

    It never leaves the cache: a lookup computes the analysis instead, a manual operation
    raises ``CacheUnavailableError``.
    """

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class CacheUnavailableError(AgentError, StoreError):
    """A manual cache operation (clear, warm, stats) could not use the store; says why."""


class StoreHealth:
    """Owns the open ``Store`` of one cache directory and everything that can go wrong with it.

    ``lock`` guards the store handle and the warned-about set (and is shared by the cache).
    """

    def __init__(self, settings: CacheSettings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.store: Store | None = None
        self._retry_open_at = 0.0
        self._last_open_fault = "io"
        self._writes_paused_until = 0.0
        self._warned: set[str] = set()

    # -- opening --------------------------------------------------------------------------------

    def open_store(self) -> Store:
        """The open store, opened (or recovered) first if need be; raises ``StoreFault``."""
        store = self.store
        if store is None:
            with self.lock:
                store = self.store if self.store is not None else self._open_locked()
        return store

    def _open_locked(self) -> Store:
        directory = self.settings.directory
        timeout = self.settings.lock_timeout_s
        if time.monotonic() < self._retry_open_at:
            raise StoreFault(self._last_open_fault)
        try:
            store = Store(directory, timeout)
        except Exception as exc:
            kind = diagnose(classify_fault(exc), directory)
            if kind == "read_only":
                with contextlib.suppress(Exception):
                    store = ReadOnlyStore(directory, timeout)
                    self.warn(kind, exc, serving_reads=True)
                    self.pause_writes()
                    self.store = store
                    return store
            if kind != "corrupt" or not self._quarantine():
                self._open_failed(kind, exc)
                raise StoreFault(kind) from None
            try:
                store = Store(directory, timeout)
            except Exception as exc2:
                self._open_failed(classify_fault(exc2), exc2)
                raise StoreFault(classify_fault(exc2)) from None
            self.warn(kind, exc, recovered=True)
            self.store = store
            # This lookup reports the fault; the next one uses the fresh store.
            raise StoreFault(kind) from None
        self.store = store
        return store

    def _open_failed(self, kind: str, exc: BaseException) -> None:
        self._last_open_fault = kind
        self._retry_open_at = time.monotonic() + self.settings.retry_after_s
        self.warn(kind, exc)

    def close(self) -> None:
        with self.lock:
            if self.store is not None:
                self.store.close()
                self.store = None

    # -- faults ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def guard(self, store: Store | None) -> Iterator[None]:
        """Turn a storage failure into a ``StoreFault``: warn once, recover where possible."""
        try:
            yield
        except StoreFault:
            raise
        except Exception as exc:
            kind = diagnose(classify_fault(exc), self.settings.directory)
            recovered = False
            if kind == "corrupt" and store is not None:
                recovered = self._recover_corrupt(store)
            elif kind in _PAUSING_FAULTS:
                self.pause_writes()
            self.warn(kind, exc, recovered=recovered)
            raise StoreFault(kind) from None

    @contextlib.contextmanager
    def manual(self) -> Iterator[None]:
        """For the manual API: a ``StoreFault`` becomes a ``CacheUnavailableError`` saying why."""
        try:
            yield
        except StoreFault as fault:
            raise CacheUnavailableError(
                f"analysis cache at {self.settings.directory}: {self.describe(fault.kind)}; "
                "nothing was changed"
            ) from None

    def describe(self, kind: str) -> str:
        return FAULT_TEXT.get(kind, kind).format(timeout=self.settings.lock_timeout_s)

    def read_or_drop(self, store: Store, key: str) -> tuple[Row | None, str | None]:
        """The row at ``key`` and None; or, for a refused or malformed row, None and the fault
        (the row is deleted). Other faults raise."""
        try:
            with self.guard(store):
                return store.row(key), None
        except StoreFault as fault:
            if fault.kind not in ROW_FAULTS:
                raise
            self.drop_row(store, key)
            return None, fault.kind

    def drop_row(self, store: Store, key: str) -> None:
        with contextlib.suppress(StoreFault), self.guard(store), store.transaction():
            store.delete(key)

    # -- writing --------------------------------------------------------------------------------

    def pause_writes(self) -> None:
        self._writes_paused_until = time.monotonic() + self.settings.retry_after_s

    def writes_paused(self) -> bool:
        return time.monotonic() < self._writes_paused_until

    def writable(self, store: Store) -> Store | None:
        """The store to write to: a read-only one is swapped for a writable one once the
        directory can be written again (None while it still cannot)."""
        if not isinstance(store, ReadOnlyStore):
            return store
        with self.lock:
            if self.store is not store:
                return self.store
            try:
                fresh = Store(self.settings.directory, self.settings.lock_timeout_s)
            except Exception:
                self.pause_writes()
                return None
            store.close()
            self.store = fresh
            return fresh

    def healthy(self) -> None:
        """A write succeeded: the cache works again, so the next fault gets a warning."""
        if self._warned:
            with self.lock:
                self._warned.clear()

    # -- warning and recovering -----------------------------------------------------------------

    def warn(
        self,
        kind: str,
        exc: BaseException,
        *,
        recovered: bool = False,
        serving_reads: bool = False,
    ) -> None:
        with self.lock:
            if kind in self._warned:
                _log.debug("analysis cache fault again (%s): %s", kind, exc)
                return
            self._warned.add(kind)
        if recovered:
            tail = "the damaged database was moved aside and a fresh one is used"
        elif serving_reads:
            tail = "cached analyses are served from it, new ones are not stored"
        elif kind in ROW_FAULTS:
            tail = "the row was not loaded; the analysis is computed afresh"
        else:
            tail = "analyses are computed without the cache until it works again"
        _log.warning(
            "analysis cache at %s: %s (%s); %s",
            self.settings.directory,
            self.describe(kind),
            exc,
            tail,
        )

    def _quarantine(self) -> bool:
        """Move a corrupt database (and its WAL files) aside; never delete it."""
        db = self.settings.directory / DBNAME
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
        with self.lock:
            if self.store is not store:
                return True  # another thread recovered already
            store.close()
            self.store = None
            try:
                preflight(self.settings.directory / DBNAME, self.settings.lock_timeout_s)
                return True  # the file on disk is sound: another process recovered it
            except Exception as exc:
                if classify_fault(exc) != "corrupt":
                    return False
            return self._quarantine()


__all__ = ["ROW_FAULTS", "CacheUnavailableError", "StoreFault", "StoreHealth"]
