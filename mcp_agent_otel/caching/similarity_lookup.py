"""The analysis cache's lookups beyond the exact key: the previous generation and similar tasks.

- Previous: on a miss soon after a global invalidation, the entry the invalidation hid is found
  (under the previous generation's key), so the span can say ``invalidated`` and why, and the
  stale row is deleted with the next write.
- Level 2, similar tasks (``MCP_AGENT_OTEL_CACHE_SIMILARITY``): per task *shape*
  (``task_similarity``) the decomposition pattern its tasks had, and the members it was seen
  with; a near-identical task is served a member's analysis when the pattern is certain.
"""

from __future__ import annotations

from typing import Any, Final

from mcp_agent_otel.autonomous.models import TaskAnalysis
from mcp_agent_otel.autonomous.task_analyzer import structural_signature
from mcp_agent_otel.caching.cache_keys import CacheLevel, KeyContext, entry_key
from mcp_agent_otel.caching.cache_store import Store
from mcp_agent_otel.caching.invalidation_strategies import (
    BadEntryError,
    CacheResult,
    EntryKind,
    GenerationState,
    previous_context,
    verdict,
)
from mcp_agent_otel.caching.lookup_record import Lookup
from mcp_agent_otel.caching.store_health import ROW_FAULTS, StoreFault
from mcp_agent_otel.caching.store_policy import StorePolicy
from mcp_agent_otel.caching.task_similarity import near_identical, task_shape

PATTERN_MEMBERS: Final = 8  # tasks remembered per shape for the similarity lookup


def decomposition_pattern(analysis: TaskAnalysis) -> dict[str, Any]:
    """Level 2's value: the part of an analysis that its structure decides."""
    return {
        "task_type": analysis.task_type.value,
        "complexity": analysis.complexity.value,
        "signature": structural_signature(analysis),
        "estimated_steps": analysis.estimated_steps,
    }


class SimilarityLookup:
    """The previous-generation probe and the level-2 lookup, over ``policy``'s store."""

    def __init__(self, policy: StorePolicy) -> None:
        self.policy = policy
        self.settings = policy.settings

    def probe_previous(
        self,
        store: Store,
        state: GenerationState,
        context: KeyContext,
        digest: str,
        now: float,
        look: Lookup,
    ) -> str | None:
        """On a miss soon after a global invalidation, find what it invalidated, to say so.

        Returns the key of the row to delete with the next write (None: none)."""
        if state.reason is None or now - state.at > self.settings.ttl_s:
            return None  # anything older would have expired anyway
        previous = previous_context(state, context)
        if previous is None:
            return None
        key = entry_key(previous, CacheLevel.ANALYSIS, digest)
        try:
            with self.policy.health.guard(store):
                row = store.row(key)
        except StoreFault as fault:
            if fault.kind in ROW_FAULTS:
                return key  # delete it with the next write
            raise
        if row is None or row.entry.kind is not EntryKind.ANALYSIS or now >= row.entry.expires_at:
            return None
        look.result = CacheResult.INVALIDATED
        look.events.append((state.reason, 1))
        return key

    def similar(
        self,
        store: Store,
        context: KeyContext,
        normalized: str,
        now: float,
        look: Lookup,
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
        policy = self.policy
        guard = policy.health.guard
        shape = task_shape(normalized)
        try:
            with guard(store):
                row = store.row(entry_key(context, CacheLevel.PATTERN, shape.skeleton))
        except StoreFault:
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
                with guard(store):
                    member = store.row(key)
            except StoreFault:
                return None
            if member is None or verdict(member.entry, context, now) is not CacheResult.HIT:
                continue
            analysis = policy.decode(store, key, member, look)
            if analysis is None or decomposition_pattern(analysis) != pattern:
                continue
            look.result = CacheResult.HIT
            look.level = CacheLevel.PATTERN
            look.key = entry_key(context, CacheLevel.PATTERN, shape.skeleton)
            look.similarity = score
            look.age_s = member.entry.age(now)
            policy.maybe_touch(store, key, member)
            return analysis
        return None

    def put_pattern(
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
        now = self.policy.clock()
        if row is not None and verdict(row.entry, context, now) is CacheResult.HIT:
            old = row.entry.data
            members = [m for m in old.get("members") or [] if isinstance(m, list)]
            if old.get("pattern") != pattern:
                pattern = None  # this shape has had different patterns: ambiguous, never served
        members = [m for m in members if len(m) == 2 and m[1] != member_key]
        members = [[list(shape.tokens), member_key], *members][:PATTERN_MEMBERS]
        data = {"pattern": pattern, "members": members}
        store.put(
            key,
            self.policy.entry(EntryKind.PATTERN, data, context, now),
            self.settings.ttl_s,
        )


__all__ = ["PATTERN_MEMBERS", "SimilarityLookup", "decomposition_pattern"]
