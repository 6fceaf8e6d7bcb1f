"""When a cached value stops applying: pure decisions over plain data, no I/O.

Invalidation is exact, never heuristic. A value is served only when its key matches the
current context (version, environment, generation: see ``cache_keys``) and it has not
expired nor been replaced by a tombstone. Global invalidations (an environment change, a
version bump, a manual "invalidate all") bump the *generation*; the record of the last bump
lets a later lookup tell "invalidated" from a plain "miss" and report why. Per-entry
invalidations (a low-confidence decision, a failed plan, a manual drop) replace the entry by
a *tombstone* that says why.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from typing import Any

from mcp_agent_otel.caching.cache_keys import KeyContext
from mcp_agent_otel.errors import InputError

DEFAULT_MIN_CONFIDENCE = 0.5


class CacheResult(str, enum.Enum):
    """The value of ``mcp_agent.cache.result`` on the ``task_analyzer.analyze`` span."""

    HIT = "hit"
    MISS = "miss"
    EXPIRED = "expired"  # an entry was there, past its TTL
    INVALIDATED = "invalidated"  # an entry was there, dropped or superseded; the event says why
    BYPASS = "bypass"  # the cache was not consulted (unknown environment, oversized task)
    ERROR = "error"  # the cache failed; the analysis was computed, a warning says what happened


class InvalidationReason(str, enum.Enum):
    ENVIRONMENT_CHANGED = "environment_changed"  # a tool was added, removed or changed
    CHANGED_DURING_ANALYSIS = "changed_during_analysis"  # the race: not stored, not served
    TTL_EXPIRED = "ttl_expired"
    LOW_CONFIDENCE = "low_confidence"  # the DecisionEngine's confidence fell below the threshold
    EXECUTION_FAILED = "execution_failed"  # executing the plan built on it failed
    VERSION_CHANGED = "version_changed"  # the analyzer or the cache schema changed
    MANUAL = "manual"  # the API or `mcp-agent-otel cache clear`


class EntryKind(str, enum.Enum):
    ANALYSIS = "analysis"  # level 1: a whole TaskAnalysis
    PATTERN = "pattern"  # level 2: a decomposition pattern
    TOMBSTONE = "tombstone"  # an entry dropped by an invalidation, with its reason


class BadEntryError(InputError):
    """A stored row that is not a valid entry (tampered, truncated or from a foreign writer)."""


@dataclass(frozen=True)
class GenerationState:
    """The cache-wide state every lookup reads: generation, writer version, last bump."""

    generation: int = 0
    version: str = ""
    reason: InvalidationReason | None = None
    at: float = 0.0
    previous_version: str | None = None
    env_from: str | None = None
    env_to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "version": self.version,
            "reason": self.reason.value if self.reason else None,
            "at": self.at,
            "previous_version": self.previous_version,
            "env_from": self.env_from,
            "env_to": self.env_to,
        }

    @classmethod
    def from_dict(cls, data: Any) -> GenerationState:
        try:
            generation = data["generation"]
            if not isinstance(generation, int) or isinstance(generation, bool) or generation < 0:
                raise ValueError(f"generation {generation!r}")
            reason = data.get("reason")
            return cls(
                generation=generation,
                version=str(data.get("version", "")),
                reason=InvalidationReason(reason) if reason else None,
                at=float(data.get("at", 0.0)),
                previous_version=_opt_str(data.get("previous_version")),
                env_from=_opt_str(data.get("env_from")),
                env_to=_opt_str(data.get("env_to")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadEntryError(f"the cache's state row is malformed ({exc})") from None


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def bump(
    state: GenerationState,
    reason: InvalidationReason,
    at: float,
    *,
    env_from: str | None = None,
    env_to: str | None = None,
    version: str | None = None,
) -> GenerationState:
    """The state after a global invalidation: next generation, and what caused it."""
    return GenerationState(
        generation=state.generation + 1,
        version=version if version is not None else state.version,
        reason=reason,
        at=at,
        previous_version=state.version,
        env_from=env_from,
        env_to=env_to,
    )


def previous_context(state: GenerationState, current: KeyContext) -> KeyContext | None:
    """Where this lookup's entry lived before the last bump, to report "invalidated" and why.

    After an environment change A → B, a lookup under B finds its predecessor under A; after a
    version bump, under the previous version. None when there was no bump.
    """
    if state.generation == 0 or state.reason is None:
        return None
    env = current.env_fingerprint
    if state.env_to is not None and state.env_from is not None and env == state.env_to:
        env = state.env_from
    version = state.previous_version or current.version
    return replace(current, version=version, env_fingerprint=env, generation=state.generation - 1)


@dataclass(frozen=True)
class StoredEntry:
    """One cached value with the context it was written in. Stored as JSON, nothing else."""

    kind: EntryKind
    created_at: float
    expires_at: float
    generation: int
    env_fingerprint: str
    data: dict[str, Any]
    reason: InvalidationReason | None = None  # tombstones only

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "generation": self.generation,
            "env": self.env_fingerprint,
            "data": self.data,
            "reason": self.reason.value if self.reason else None,
        }

    @classmethod
    def from_dict(cls, data: Any) -> StoredEntry:
        try:
            if not isinstance(data, dict) or not isinstance(data["data"], dict):
                raise TypeError("not an object")
            reason = data.get("reason")
            entry = cls(
                kind=EntryKind(data["kind"]),
                created_at=float(data["created_at"]),
                expires_at=float(data["expires_at"]),
                generation=int(data["generation"]),
                env_fingerprint=str(data["env"]),
                data=data["data"],
                reason=InvalidationReason(reason) if reason else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadEntryError(f"a cache entry is malformed ({exc})") from None
        if not (math.isfinite(entry.created_at) and math.isfinite(entry.expires_at)):
            raise BadEntryError("a cache entry has a non-finite timestamp")
        return entry

    def age(self, now: float) -> float:
        return max(0.0, now - self.created_at)


def verdict(entry: StoredEntry, context: KeyContext, now: float) -> CacheResult:
    """Whether a stored entry found under ``context``'s key may be served now.

    The key already encodes the context; the entry repeats it, so a row copied under another
    key (tampering, a foreign writer) is never served either.
    """
    if entry.kind is EntryKind.TOMBSTONE:
        return CacheResult.INVALIDATED
    if entry.generation != context.generation or entry.env_fingerprint != context.env_fingerprint:
        return CacheResult.INVALIDATED
    if now >= entry.expires_at:
        return CacheResult.EXPIRED
    return CacheResult.HIT


def outcome_reason(
    confidence: float, ok: bool, min_confidence: float = DEFAULT_MIN_CONFIDENCE
) -> InvalidationReason | None:
    """Drop the analysis behind a failed run, or behind a decision made with low confidence."""
    if not ok:
        return InvalidationReason.EXECUTION_FAILED
    if not math.isfinite(confidence) or confidence < min_confidence:
        return InvalidationReason.LOW_CONFIDENCE
    return None


def may_store(started_generation: int, current_generation: int) -> bool:
    """The race rule: a value computed under an older generation is never stored.

    (Its key names the old generation, so it could not be served under the new one anyway;
    not storing it also keeps it from taking a slot.)
    """
    return started_generation == current_generation


__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "BadEntryError",
    "CacheResult",
    "EntryKind",
    "GenerationState",
    "InvalidationReason",
    "StoredEntry",
    "bump",
    "may_store",
    "outcome_reason",
    "previous_context",
    "verdict",
]
