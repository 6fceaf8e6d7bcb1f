"""Context-aware cache keys: pure functions, no I/O.

A key names one cached value *in one context*: the cache schema and analyzer version, the
MCP environment fingerprint, the cache generation (bumped by every global invalidation),
the cache level, and a hash of the normalised task (level 1) or of the task's shape (level 2,
``task_similarity``). Two lookups share a key only when every part is equal, so an entry
written under an older environment, generation or analyzer version can never answer a newer
one.

Keys are hashes: neither the database nor a span ever holds the task text as a key.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from mcp_agent_otel.autonomous.models import canonical_json

# Bump when the layout of a stored entry changes: every older entry stops matching.
CACHE_SCHEMA_VERSION: Final = 2  # 2: level-2 members hold their task's tokens
SHORT_KEY_CHARS: Final = 16  # what a span shows of a key
META_KEY: Final = "meta:state"  # the one non-entry row: generation, version, last invalidation


class CacheLevel(enum.IntEnum):
    """Level 1: a whole analysis by normalised task. Level 2: a decomposition pattern."""

    ANALYSIS = 1
    PATTERN = 2


Normalizer = Callable[[str], str]


def task_digest(normalized_task: str) -> str:
    """The hash of a normalised task: the only trace of the task text in a key."""
    return hashlib.sha256(normalized_task.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class KeyContext:
    """Everything besides the task that decides whether a stored value still applies."""

    version: str  # cache schema + analyzer version, see ``key_version``
    env_fingerprint: str
    generation: int


def key_version(analyzer_version: str) -> str:
    """The version part of every key: the cache schema and the analyzer's own version."""
    return f"{CACHE_SCHEMA_VERSION}/{analyzer_version}"


def entry_key(context: KeyContext, level: CacheLevel, digest: str) -> str:
    """The database key of one value: ``L{level}:`` and a hash over every part of the context."""
    material = canonical_json(
        [context.version, context.env_fingerprint, context.generation, int(level), digest]
    )
    return f"L{int(level)}:" + hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def short_key(key: str) -> str:
    """What a span records of a key: the level prefix and a short prefix of the hash."""
    prefix, _, digest = key.partition(":")
    return f"{prefix}:{digest[:SHORT_KEY_CHARS]}"


__all__ = [
    "CACHE_SCHEMA_VERSION",
    "META_KEY",
    "CacheLevel",
    "KeyContext",
    "Normalizer",
    "entry_key",
    "key_version",
    "short_key",
    "task_digest",
]
