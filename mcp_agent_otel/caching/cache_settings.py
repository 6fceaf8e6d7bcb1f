"""The cache's settings: ``CacheSettings`` and ``settings_from_env`` (``MCP_AGENT_OTEL_CACHE*``).

A setting that cannot be used raises ``CacheConfigError`` naming the variable and what to use.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from mcp_agent_otel.caching.invalidation_strategies import DEFAULT_MIN_CONFIDENCE
from mcp_agent_otel.env_flags import FALSE_WORDS, TRUE_WORDS
from mcp_agent_otel.errors import AgentError, ConfigError
from mcp_agent_otel.tracing import semconv
from mcp_agent_otel.tracing.setup import home_dir

DEFAULT_TTL_S: Final = 300.0
DEFAULT_MAX_ENTRIES: Final = 1000
MIN_SIMILARITY: Final = 0.85  # a similarity threshold below this is refused as unsafe
DEFAULT_LOCK_TIMEOUT_S: Final = 0.25
DEFAULT_TOUCH_INTERVAL_S: Final = 1.0
DEFAULT_RETRY_AFTER_S: Final = 2.0


class CacheConfigError(AgentError, ConfigError):
    """A cache setting that cannot be used; the message names the variable and what to use."""


@dataclass(frozen=True)
class CacheSettings:
    """Everything configurable about the cache; ``settings_from_env`` reads it from the env."""

    directory: Path
    enabled: bool = True
    ttl_s: float = DEFAULT_TTL_S
    max_entries: int = DEFAULT_MAX_ENTRIES
    similarity: float | None = None
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
    touch_interval_s: float = DEFAULT_TOUCH_INTERVAL_S
    retry_after_s: float = DEFAULT_RETRY_AFTER_S
    min_confidence: float = DEFAULT_MIN_CONFIDENCE

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (math.isfinite(self.ttl_s) and self.ttl_s > 0, f"ttl_s={self.ttl_s!r}: use > 0"),
            (self.max_entries >= 1, f"max_entries={self.max_entries!r}: use >= 1"),
            (
                self.lock_timeout_s >= 0 and math.isfinite(self.lock_timeout_s),
                f"lock_timeout_s={self.lock_timeout_s!r}: use >= 0",
            ),
            (self.touch_interval_s >= 0, f"touch_interval_s={self.touch_interval_s!r}: use >= 0"),
            (self.retry_after_s >= 0, f"retry_after_s={self.retry_after_s!r}: use >= 0"),
            (
                self.similarity is None or MIN_SIMILARITY <= self.similarity <= 1.0,
                f"similarity={self.similarity!r}: use None (off) or a threshold in "
                f"[{MIN_SIMILARITY}, 1]",
            ),
        ]
        for ok, problem in checks:
            if not ok:
                raise CacheConfigError(f"invalid cache setting {problem}")


def _env_number(environ: Mapping[str, str], name: str, default: float, accepted: str) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise CacheConfigError(f"{name}={raw!r} is not valid: use {accepted}")
    return value


def settings_from_env(environ: Mapping[str, str] | None = None) -> CacheSettings:
    """Read the ``MCP_AGENT_OTEL_CACHE*`` variables; a bad value raises ``CacheConfigError``.

    - ``MCP_AGENT_OTEL_CACHE``: ``on`` (default) or ``off``.
    - ``MCP_AGENT_OTEL_CACHE_DIR``: default ``$MCP_AGENT_OTEL_HOME/cache``.
    - ``MCP_AGENT_OTEL_CACHE_TTL``: seconds an entry lives (default 300).
    - ``MCP_AGENT_OTEL_CACHE_MAX_ENTRIES``: the entry bound (default 1000).
    - ``MCP_AGENT_OTEL_CACHE_SIMILARITY``: ``off`` (default) or a threshold in [0.85, 1].
    """
    env = os.environ if environ is None else environ
    flag = env.get(semconv.ENV_CACHE, "").strip().lower() or "on"
    if flag not in TRUE_WORDS | FALSE_WORDS:
        raise CacheConfigError(
            f"{semconv.ENV_CACHE}={env.get(semconv.ENV_CACHE)!r} is not valid: use 'on' or 'off'"
        )
    raw_dir = env.get(semconv.ENV_CACHE_DIR, "").strip()
    directory = Path(raw_dir).expanduser() if raw_dir else home_dir(env) / "cache"
    if directory.exists() and not directory.is_dir():
        raise CacheConfigError(
            f"{semconv.ENV_CACHE_DIR}={str(directory)!r} is not a directory: point it at a "
            "directory (it is created if missing)"
        )
    ttl = _env_number(env, semconv.ENV_CACHE_TTL, DEFAULT_TTL_S, "a positive number of seconds")
    raw_max = env.get(semconv.ENV_CACHE_MAX_ENTRIES, "").strip()
    max_entries = DEFAULT_MAX_ENTRIES
    if raw_max:
        if not raw_max.isdigit() or int(raw_max) < 1:
            raise CacheConfigError(
                f"{semconv.ENV_CACHE_MAX_ENTRIES}={raw_max!r} is not valid: use a whole number "
                "of entries >= 1 (default 1000)"
            )
        max_entries = int(raw_max)
    raw_sim = env.get(semconv.ENV_CACHE_SIMILARITY, "").strip().lower()
    similarity: float | None = None
    if raw_sim and raw_sim not in FALSE_WORDS:
        try:
            similarity = float(raw_sim)
        except ValueError:
            similarity = math.nan
        if not (MIN_SIMILARITY <= similarity <= 1.0):
            raise CacheConfigError(
                f"{semconv.ENV_CACHE_SIMILARITY}={env.get(semconv.ENV_CACHE_SIMILARITY)!r} is "
                f"not valid: use 'off' (default) or a threshold between {MIN_SIMILARITY} and 1.0"
            )
    return CacheSettings(
        directory=directory,
        enabled=flag in TRUE_WORDS,
        ttl_s=ttl,
        max_entries=max_entries,
        similarity=similarity,
    )


__all__ = [
    "DEFAULT_LOCK_TIMEOUT_S",
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_RETRY_AFTER_S",
    "DEFAULT_TOUCH_INTERVAL_S",
    "DEFAULT_TTL_S",
    "MIN_SIMILARITY",
    "CacheConfigError",
    "CacheSettings",
    "settings_from_env",
]
