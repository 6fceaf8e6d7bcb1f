"""Hits served in process: a hit read from disk is served again without reading or decoding it.

A remembered hit stays current while nothing was written to the database since it was read:
SQLite's ``PRAGMA data_version`` (bumped by every commit of another connection or process) and
this connection's own change count say so in one statement. It also ends when the entry
expires, when its next access is due to be recorded (the LRU touch) and on any in-process
invalidation (the cache's epoch).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from mcp_agent_otel.autonomous.models import TaskAnalysis
from mcp_agent_otel.caching.cache_store import Row, Store
from mcp_agent_otel.caching.invalidation_strategies import CacheResult
from mcp_agent_otel.caching.lookup_record import Lookup

HOT_ENTRIES: Final = 1024  # hits remembered in process

ChangeToken = tuple[int, int, int]


def change_token(store: Store) -> ChangeToken | None:
    """What changes whenever the database does: this thread's connection, SQLite's
    ``data_version`` (bumped by every commit of another connection or process) and the
    rows this connection changed itself. None when it cannot be read."""
    try:
        con = store.cache._con
        (version,) = con.execute("PRAGMA data_version").fetchone()
        return id(con), int(version), con.total_changes
    except Exception:
        return None


@dataclass(frozen=True)
class HotHit:
    """A hit served from disk, kept to be served again while the database is unchanged."""

    analysis: TaskAnalysis
    key: str
    created_at: float
    expires_at: float  # the cache's clock
    touch_due: float  # wall clock: when the next access is due to be recorded (LRU)
    epoch: int
    token: ChangeToken


class HotHits:
    """The remembered hits of one cache, by (normalised task, environment fingerprint)."""

    def __init__(self, touch_interval_s: float, clock: Callable[[], float]) -> None:
        self._touch_interval_s = touch_interval_s
        self._clock = clock
        self._hits: dict[tuple[str, str], HotHit] = {}

    def serve(
        self, store: Store | None, lookup_key: tuple[str, str], epoch: int, look: Lookup
    ) -> TaskAnalysis | None:
        """The remembered analysis, if nothing was written since and the entry is still fresh
        (not expired, and not due the next recorded access): one PRAGMA, no row read."""
        hot = self._hits.get(lookup_key)
        if hot is None or store is None or hot.epoch != epoch:
            return None
        now = self._clock()
        if now >= hot.expires_at or time.time() >= hot.touch_due:
            return None
        if change_token(store) != hot.token:
            return None
        look.result = CacheResult.HIT
        look.key = hot.key
        look.age_s = max(0.0, now - hot.created_at)
        return hot.analysis

    def keep(
        self,
        store: Store,
        before: ChangeToken | None,
        lookup_key: tuple[str, str],
        key: str,
        row: Row,
        analysis: TaskAnalysis,
        touched: float | None,
        epoch: int,
    ) -> None:
        """Remember a hit read from disk, to serve it again without reading or decoding the row.

        ``before`` is the change token taken before the state and the row were read. Only if no
        other connection committed since (the same ``data_version``) is the hit remembered, under
        the token as it is now: this connection's own changes (the touch) included, so the first
        write by anyone after this ends it. (A token taken only now could be newer than the row.)
        ``touched``: the access time now recorded for the entry (None: none is, so not kept).
        """
        if touched is None or row.raw is None or before is None:
            return
        token = change_token(store)
        if token is None or token[:2] != before[:2]:
            return
        if len(self._hits) >= HOT_ENTRIES:
            self._hits.clear()
        self._hits[lookup_key] = HotHit(
            analysis=analysis,
            key=key,
            created_at=row.entry.created_at,
            expires_at=row.entry.expires_at,
            touch_due=touched + self._touch_interval_s,
            epoch=epoch,
            token=token,
        )


__all__ = ["HOT_ENTRIES", "ChangeToken", "HotHit", "HotHits", "change_token"]
