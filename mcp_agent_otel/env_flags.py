"""On/off settings read from the environment: one spelling everywhere.

``OTEL_SDK_DISABLED``, ``MCP_AGENT_OTEL_CAPTURE_CONTENT`` and ``MCP_AGENT_OTEL_CACHE`` all
accept the same words, case-insensitively.
"""

from __future__ import annotations

from typing import Final

TRUE_WORDS: Final = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS: Final = frozenset({"0", "false", "no", "off"})


def env_flag(value: str | None) -> bool:
    """True for a 'yes' word (see ``TRUE_WORDS``); anything else, unset included, is False."""
    return (value or "").strip().lower() in TRUE_WORDS
